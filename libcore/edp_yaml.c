#include "edp_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int edp_yaml_load(struct edp_yaml *y, const char *path, const char *what, struct edp_error *err)
{
	memset(y, 0, sizeof(*y));
	y->path = path;
	y->err = err;
	FILE *f = fopen(path, "rb");
	if (!f)
		return edp_error_set(err, EDP_ERR_USAGE, "%s: cannot open %s: %s", path, what, strerror(errno));
	yaml_parser_t parser;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	int rc = 0;
	if (!yaml_parser_load(&parser, &y->doc))
		rc = edp_error_set(err, EDP_ERR_USAGE, "%s:%zu:%zu: YAML error: %s", path, parser.problem_mark.line + 1,
				   parser.problem_mark.column + 1, parser.problem ? parser.problem : "unreadable");
	else
		y->loaded = true;
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

void edp_yaml_free(struct edp_yaml *y)
{
	if (y->loaded)
		yaml_document_delete(&y->doc);
	y->loaded = false;
}

yaml_node_t *edp_yaml_root(struct edp_yaml *y)
{
	return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL;
}

yaml_node_t *edp_yaml_node(struct edp_yaml *y, int id)
{
	return yaml_document_get_node(&y->doc, id);
}

const char *edp_yaml_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int edp_yaml_vfail(struct edp_yaml *y, const yaml_node_t *n, const char *fmt, va_list ap)
{
	char msg[400];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	return edp_error_set(y->err, EDP_ERR_USAGE, "%s:%zu:%zu: %s", y->path, n ? n->start_mark.line + 1 : 1,
			     n ? n->start_mark.column + 1 : 1, msg);
}

int edp_yaml_fail(struct edp_yaml *y, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = edp_yaml_vfail(y, n, fmt, ap);
	va_end(ap);
	return rc;
}

bool edp_yaml_is_empty(const yaml_node_t *n)
{
	const char *s = edp_yaml_scalar(n);
	return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && (!*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0);
}

int edp_yaml_each_key(struct edp_yaml *y, yaml_node_t *map, const char *what, edp_yaml_key_fn fn, void *arg)
{
	if (edp_yaml_is_empty(map))
		return 0;
	if (!map || map->type != YAML_MAPPING_NODE)
		return edp_yaml_fail(y, map, "%s must be a mapping", what);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = edp_yaml_node(y, p->key), *v = edp_yaml_node(y, p->value);
		const char *ks = edp_yaml_scalar(k);
		if (!ks)
			return edp_yaml_fail(y, k, "%s: keys must be plain names", what);
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			const char *qs = edp_yaml_scalar(edp_yaml_node(y, q->key));
			if (qs && strcmp(qs, ks) == 0)
				return edp_yaml_fail(y, k, "%s: duplicate key '%s'", what, ks);
		}
		y->key_node = k;
		int rc = fn(y, ks, v, arg);
		if (rc)
			return rc;
	}
	return 0;
}

int edp_yaml_unknown(struct edp_yaml *y, const char *what, const char *key, const char *known)
{
	return edp_yaml_fail(y, y->key_node, "%s: unknown key '%s' (known: %s)", what, key, known);
}

int edp_yaml_string(struct edp_yaml *y, yaml_node_t *v, const char *key, const char **out)
{
	const char *s = edp_yaml_scalar(v);
	*out = "";
	if (!s || !*s)
		return edp_yaml_fail(y, v, "%s must be a non-empty string", key);
	*out = s;
	return 0;
}

int edp_yaml_int(struct edp_yaml *y, yaml_node_t *v, const char *key, long long lo, long long hi, long long *out)
{
	const char *s = edp_yaml_scalar(v);
	char *end;
	errno = 0;
	long long x = s ? strtoll(s, &end, 0) : 0;
	if (!s || !*s || *end || errno || x < lo || x > hi)
		return edp_yaml_fail(y, v, "%s must be an integer from %lld to %lld, not '%s'", key, lo, hi,
				     s ? s : "(a collection)");
	*out = x;
	return 0;
}
