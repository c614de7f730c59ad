#include "edp_yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The document is built from libyaml's events rather than by
 * yaml_parser_load, whose per-node tag copies and small allocations took
 * half of a large config's load time: the nodes in one growing array, and
 * every scalar's text and every collection's items in one arena (freed at
 * once). Only the first document of a stream is read, as yaml_parser_load
 * does; aliases resolve to their anchor's node. */
struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char mem[];
};

static void *arena_alloc(struct edp_yaml *y, size_t n)
{
	n = (n + 15u) & ~(size_t)15u;
	struct arena_chunk *c = y->arena;
	if (!c || c->size - c->used < n) {
		size_t size = n > 65536 - sizeof(*c) ? n : 65536 - sizeof(*c);
		if (!(c = malloc(sizeof(*c) + size)))
			return NULL;
		c->next = y->arena;
		c->used = 0;
		c->size = size;
		y->arena = c;
	}
	void *p = c->mem + c->used;
	c->used += n;
	return p;
}

struct builder {
	struct edp_yaml *y;
	yaml_node_t *nodes; /* the document's, once it is complete */
	size_t n_nodes, cap_nodes;
	int *pending; /* the children of the open collections, innermost last */
	size_t n_pending, cap_pending;
	struct open {
		int node;
		size_t first; /* its first child in pending */
	} *open;
	size_t n_open, cap_open;
	struct anchor {
		char *name;
		int node;
	} *anchors;
	size_t n_anchors, cap_anchors;
	const char *problem;
	yaml_mark_t problem_mark;
	bool refused; /* the problem is ours (what edp takes), not the YAML's */
};

/* v with room for `need` elements (v itself, or grown), or NULL. */
static void *grown(void *v, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return v;
	size_t c = *cap ? *cap * 2 : 64;
	while (c < need)
		c *= 2;
	void *n = realloc(v, c * elem);
	if (n)
		*cap = c;
	return n;
}

static int add_node(struct builder *b, const yaml_node_t *n)
{
	yaml_node_t *nodes = grown(b->nodes, &b->cap_nodes, b->n_nodes + 1, sizeof(*nodes));
	if (!nodes)
		return 0;
	b->nodes = nodes;
	nodes[b->n_nodes++] = *n;
	return (int)b->n_nodes;
}

/* A node is done: it becomes a child of the innermost open collection. */
static bool add_child(struct builder *b, int id)
{
	if (!b->n_open)
		return true; /* the root */
	int *pending = grown(b->pending, &b->cap_pending, b->n_pending + 1, sizeof(*pending));
	if (!pending)
		return false;
	b->pending = pending;
	pending[b->n_pending++] = id;
	return true;
}

static bool add_anchor(struct builder *b, const yaml_char_t *name, int id)
{
	if (!name)
		return true;
	struct anchor *anchors = grown(b->anchors, &b->cap_anchors, b->n_anchors + 1, sizeof(*anchors));
	if (!anchors)
		return false;
	b->anchors = anchors;
	char *copy = arena_alloc(b->y, strlen((const char *)name) + 1);
	if (!copy)
		return false;
	strcpy(copy, (const char *)name);
	b->anchors[b->n_anchors++] = (struct anchor){ copy, id };
	return true;
}

static int find_anchor(const struct builder *b, const yaml_char_t *name)
{
	for (size_t i = b->n_anchors; i-- > 0;) /* the latest definition wins */
		if (strcmp(b->anchors[i].name, (const char *)name) == 0)
			return b->anchors[i].node;
	return 0;
}

/* Close the innermost collection: its children move from pending to the arena. */
static bool close_collection(struct builder *b)
{
	struct open o = b->open[--b->n_open];
	yaml_node_t *n = &b->nodes[o.node - 1];
	size_t k = b->n_pending - o.first;
	const int *kids = k ? b->pending + o.first : NULL; /* pending is NULL before the first child */
	if (n->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *items = arena_alloc(b->y, (k ? k : 1) * sizeof(*items));
		if (!items)
			return false;
		if (k) /* pending may be NULL then */
			memcpy(items, kids, k * sizeof(*items));
		n->data.sequence.items.start = items;
		n->data.sequence.items.end = n->data.sequence.items.top = items + k;
	} else {
		yaml_node_pair_t *pairs = arena_alloc(b->y, (k / 2 ? k / 2 : 1) * sizeof(*pairs));
		if (!pairs)
			return false;
		for (size_t i = 0; i + 1 < k; i += 2)
			pairs[i / 2] = (yaml_node_pair_t){ kids[i], kids[i + 1] };
		n->data.mapping.pairs.start = pairs;
		n->data.mapping.pairs.end = n->data.mapping.pairs.top = pairs + k / 2;
	}
	b->n_pending = o.first;
	return add_child(b, o.node);
}

/* One event into the document. Returns 1 at the document's end, 0 to go
 * on, -1 on failure (b->problem set). */
static int build(struct builder *b, yaml_event_t *e)
{
	yaml_node_t n = { .start_mark = e->start_mark, .end_mark = e->end_mark };
	int id;
	switch (e->type) {
	case YAML_SCALAR_EVENT: {
		size_t len = e->data.scalar.length;
		for (size_t i = 0; i < len; i++) /* names, paths and addresses never hold one; a terminal acts on it */
			if (e->data.scalar.value[i] < 0x20 || e->data.scalar.value[i] == 0x7f) {
				b->problem = "a value holds a control character (a tab, a newline, an escape)";
				b->problem_mark = e->start_mark;
				b->refused = true;
				return -1;
			}
		yaml_char_t *v = arena_alloc(b->y, len + 1);
		if (!v)
			goto oom;
		memcpy(v, e->data.scalar.value, len);
		v[len] = 0;
		n.type = YAML_SCALAR_NODE;
		n.data.scalar.value = v;
		n.data.scalar.length = len;
		n.data.scalar.style = e->data.scalar.style;
		if (!(id = add_node(b, &n)) || !add_anchor(b, e->data.scalar.anchor, id) || !add_child(b, id))
			goto oom;
		return 0;
	}
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		n.type = e->type == YAML_SEQUENCE_START_EVENT ? YAML_SEQUENCE_NODE : YAML_MAPPING_NODE;
		if (n.type == YAML_SEQUENCE_NODE)
			n.data.sequence.style = e->data.sequence_start.style;
		else
			n.data.mapping.style = e->data.mapping_start.style;
		if (b->n_open == EDP_YAML_MAX_DEPTH) { /* before libyaml spends its time on more */
			b->problem = "collections nested deeper than " EDP_YAML_STR(EDP_YAML_MAX_DEPTH);
			b->problem_mark = e->start_mark;
			return -1;
		}
		struct open *open = grown(b->open, &b->cap_open, b->n_open + 1, sizeof(*open));
		if (open)
			b->open = open;
		if (!open || !(id = add_node(b, &n)) ||
		    !add_anchor(b, n.type == YAML_SEQUENCE_NODE ? e->data.sequence_start.anchor
								 : e->data.mapping_start.anchor, id))
			goto oom;
		b->open[b->n_open++] = (struct open){ id, b->n_pending };
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		b->nodes[b->open[b->n_open - 1].node - 1].end_mark = e->end_mark;
		return close_collection(b) ? 0 : (b->problem = "out of memory", -1);
	case YAML_ALIAS_EVENT:
		if (!(id = find_anchor(b, e->data.alias.anchor))) {
			b->problem = "found undefined alias";
			b->problem_mark = e->start_mark;
			return -1;
		}
		return add_child(b, id) ? 0 : (b->problem = "out of memory", -1);
	case YAML_DOCUMENT_END_EVENT:
	case YAML_STREAM_END_EVENT:
		return 1;
	default: /* stream and document starts */
		return 0;
	}
oom:
	b->problem = "out of memory";
	return -1;
}

/* libyaml's input: the file's bytes, hashed as they are read. */
static int read_hashed(void *data, unsigned char *buf, size_t size, size_t *n)
{
	struct edp_yaml *y = data;
	*n = fread(buf, 1, size, y->file);
	for (size_t i = 0; i < *n; i++)
		y->hash = (y->hash ^ buf[i]) * 0x100000001b3ull;
	return !ferror(y->file);
}

/* Whether the parser's problem is a tab where a token or an indentation
 * was expected (the byte at its mark, or its own words). */
static bool tab_at(FILE *f, const yaml_parser_t *p)
{
	if (p->error != YAML_SCANNER_ERROR || !p->problem)
		return false;
	if (strstr(p->problem, "tab character"))
		return true;
	return strcmp(p->problem, "found character that cannot start any token") == 0 &&
	       fseeko(f, (off_t)p->problem_mark.index, SEEK_SET) == 0 && fgetc(f) == '\t';
}

int edp_yaml_load(struct edp_yaml *y, const char *path, const char *what, struct edp_error *err)
{
	memset(y, 0, sizeof(*y));
	y->path = path;
	y->err = err;
	FILE *f = fopen(path, "rb");
	if (!f)
		return edp_error_set(err, EDP_ERR_USAGE, "%s: cannot open %s: %s", path, what, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) { /* fopen takes one; reading it fails */
		fclose(f);
		return edp_error_set(err, EDP_ERR_USAGE, "%s: cannot read %s: it is a directory", path, what);
	}
	yaml_parser_t parser;
	yaml_parser_initialize(&parser);
	y->file = f;
	y->hash = 0xcbf29ce484222325ull;
	yaml_parser_set_input(&parser, read_hashed, y);
	struct builder b = { .y = y };
	y->loaded = true; /* from here edp_yaml_free releases the arena */
	int done = 0;
	while (!done) {
		yaml_event_t e;
		if (!yaml_parser_parse(&parser, &e)) {
			b.problem = parser.problem ? parser.problem : "unreadable";
			b.problem_mark = parser.problem_mark;
			if (tab_at(f, &parser)) /* libyaml's words for it do not say "tab" every time */
				b.problem = "tab characters are not allowed for indentation: indent with spaces";
			break;
		}
		done = build(&b, &e);
		yaml_event_delete(&e);
	}
	int rc = 0;
	if (done < 0 || b.problem) {
		rc = edp_error_set(err, EDP_ERR_USAGE, "%s:%zu:%zu: %s%s", path, b.problem_mark.line + 1,
				   b.problem_mark.column + 1, b.refused ? "" : "YAML error: ", b.problem);
		free(b.nodes);
		edp_yaml_free(y);
	} else {
		y->doc.nodes.start = y->doc.nodes.top = y->doc.nodes.end = b.nodes; /* NULL for an empty document */
		if (b.nodes) {
			y->doc.nodes.top += b.n_nodes;
			y->doc.nodes.end += b.cap_nodes;
		}
	}
	free(b.pending);
	free(b.open);
	free(b.anchors);
	yaml_parser_delete(&parser);
	fclose(f);
	y->file = NULL;
	return rc;
}

void edp_yaml_free(struct edp_yaml *y)
{
	if (!y->loaded)
		return;
	free(y->doc.nodes.start);
	memset(&y->doc, 0, sizeof(y->doc));
	while (y->arena) {
		struct arena_chunk *next = y->arena->next;
		free(y->arena);
		y->arena = next;
	}
	y->loaded = false;
}

yaml_node_t *edp_yaml_root(struct edp_yaml *y)
{
	return y->loaded && y->doc.nodes.top > y->doc.nodes.start ? y->doc.nodes.start : NULL;
}

yaml_node_t *edp_yaml_node(struct edp_yaml *y, int id)
{
	return id > 0 && id <= y->doc.nodes.top - y->doc.nodes.start ? &y->doc.nodes.start[id - 1] : NULL;
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
	/* decimal only: 010 is ten (YAML 1.2), 0x10 is refused, not sixteen */
	bool digits = s && (isdigit((unsigned char)s[0]) || ((s[0] == '-' || s[0] == '+') && isdigit((unsigned char)s[1])));
	long long x = digits ? strtoll(s, &end, 10) : 0;
	if (!digits || *end || errno || x < lo || x > hi)
		return edp_yaml_fail(y, v, "%s must be an integer from %lld to %lld, not '%s'", key, lo, hi,
				     s ? s : "(a collection)");
	*out = x;
	return 0;
}

int edp_yaml_hex(struct edp_yaml *y, yaml_node_t *v, const char *key, long long lo, long long hi, long long *out)
{
	const char *s = edp_yaml_scalar(v);
	if (!s || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return edp_yaml_int(y, v, key, lo, hi, out);
	char *end;
	errno = 0;
	long long x = isxdigit((unsigned char)s[2]) ? strtoll(s + 2, &end, 16) : -1;
	if (x < 0 || *end || errno || x < lo || x > hi)
		return edp_yaml_fail(y, v, "%s must be a number from 0x%llx to 0x%llx, not '%s'", key, lo, hi, s);
	*out = x;
	return 0;
}
