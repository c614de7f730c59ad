/* edp_yaml: reading YAML files (libyaml events, built into a node table) with errors that point
 * at the input: "file:line:column: message" (EDP_ERR_USAGE).
 *
 * A mapping is walked key by key; a duplicate key is refused, and the
 * caller refuses unknown ones with edp_yaml_unknown, which names the key.
 * Values are taken as strings or bounded decimal integers; no scalar may
 * hold a control character (refused at load, with its position). Collections
 * nest at most EDP_YAML_MAX_DEPTH deep: a deeper one is refused as soon as
 * it is met (libyaml's time grows with the square of the depth).
 */
#ifndef EDP_YAML_H
#define EDP_YAML_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <yaml.h>

#include "edp_error.h"

#define EDP_YAML_MAX_DEPTH 64
#define EDP_YAML_STR_(x) #x
#define EDP_YAML_STR(x) EDP_YAML_STR_(x)

struct edp_yaml {
	yaml_document_t doc; /* its nodes only (no tags or directives); built by edp_yaml_load */
	struct arena_chunk *arena; /* the nodes' text and items */
	const char *path;
	struct edp_error *err;
	yaml_node_t *key_node; /* the key being handled */
	bool loaded;
	uint64_t hash; /* FNV-1a (64 bits) of the file's bytes, as read */
	FILE *file;    /* while loading */
};

/* Load `path` (`what` it is, for "cannot open config: ..."). EDP_ERR_USAGE
 * when it cannot be opened, or with the position when it is not YAML. */
int edp_yaml_load(struct edp_yaml *y, const char *path, const char *what, struct edp_error *err);
void edp_yaml_free(struct edp_yaml *y);

/* The root node, or NULL for an empty document. */
yaml_node_t *edp_yaml_root(struct edp_yaml *y);
yaml_node_t *edp_yaml_node(struct edp_yaml *y, int id);
/* The text of a scalar, or NULL for a collection. */
const char *edp_yaml_scalar(const yaml_node_t *n);

int edp_yaml_fail(struct edp_yaml *y, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int edp_yaml_vfail(struct edp_yaml *y, const yaml_node_t *n, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* An empty plain scalar (nothing, ~ or null) */
bool edp_yaml_is_empty(const yaml_node_t *n);

typedef int (*edp_yaml_key_fn)(struct edp_yaml *y, const char *key, yaml_node_t *val, void *arg);
/* Call fn for each key of mapping `map` (`what` names it in errors); an
 * empty value is an empty mapping. */
int edp_yaml_each_key(struct edp_yaml *y, yaml_node_t *map, const char *what, edp_yaml_key_fn fn, void *arg);
int edp_yaml_unknown(struct edp_yaml *y, const char *what, const char *key, const char *known);
int edp_yaml_string(struct edp_yaml *y, yaml_node_t *v, const char *key, const char **out);
int edp_yaml_int(struct edp_yaml *y, yaml_node_t *v, const char *key, long long lo, long long hi, long long *out);
/* The same, or hexadecimal when written 0x... (an EtherType). */
int edp_yaml_hex(struct edp_yaml *y, yaml_node_t *v, const char *key, long long lo, long long hi, long long *out);

#endif
