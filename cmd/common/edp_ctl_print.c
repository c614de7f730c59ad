#include "edp_ctl_print.h"

#include <string.h>
#include <yaml.h>

/* JSON is YAML's flow style: libyaml reads the reply. */
static int load(yaml_document_t *doc, const char *json)
{
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)json, strlen(json));
	int ok = yaml_parser_load(&p, doc);
	yaml_parser_delete(&p);
	if (!ok)
		return -1;
	yaml_node_t *root = yaml_document_get_root_node(doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		yaml_document_delete(doc);
		return -1;
	}
	return 0;
}

static const char *scalar(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
		if (k && v && k->type == YAML_SCALAR_NODE && v->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, key))
			return (const char *)v->data.scalar.value;
	}
	return NULL;
}

int edp_reply_parse(const char *json, struct edp_reply *r)
{
	memset(r, 0, sizeof(*r));
	yaml_document_t doc;
	if (load(&doc, json))
		return -1;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	const char *ok = scalar(&doc, root, "ok"), *usage = scalar(&doc, root, "usage"), *e = scalar(&doc, root, "error");
	r->ok = ok && !strcmp(ok, "true");
	r->usage = usage && !strcmp(usage, "true");
	snprintf(r->error, sizeof(r->error), "%s", e ? e : "the reply says no more");
	yaml_document_delete(&doc);
	return ok ? 0 : -1;
}

/* A value that is a scalar: printed as read, null as "-". */
static const char *text(yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(s, "null") ? "-" : s;
}

static void print_node(FILE *f, yaml_document_t *doc, yaml_node_t *n, int indent);

/* A mapping of scalars only (a list's items: ports, flows, MACs). */
static bool flat(yaml_document_t *doc, yaml_node_t *n)
{
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		if (!v || v->type != YAML_SCALAR_NODE)
			return false;
	}
	return true;
}

/* Such a list item on one line, "- key: value, key: value", the nulls left out. */
static void print_flat(FILE *f, yaml_document_t *doc, yaml_node_t *n, int indent)
{
	const char *sep = "- ";
	fprintf(f, "%*s", indent, "");
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
		if (!k || k->type != YAML_SCALAR_NODE || !strcmp(text(v), "-"))
			continue;
		fprintf(f, "%s%s: %s", sep, (const char *)k->data.scalar.value, text(v));
		sep = ", ";
	}
	fprintf(f, "\n");
}

/* A mapping's pairs, one a line at `indent`; the first after `lead` when
 * one is given (a list's "- "). `top`: the reply itself, whose schema and
 * ok are left out. */
static void print_pairs(FILE *f, yaml_document_t *doc, yaml_node_t *n, int indent, const char *lead, bool top)
{
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key), *v = yaml_document_get_node(doc, p->value);
		if (!k || !v || k->type != YAML_SCALAR_NODE)
			continue;
		const char *key = (const char *)k->data.scalar.value;
		if (top && (!strcmp(key, "schema") || !strcmp(key, "ok")))
			continue;
		if (lead) {
			fprintf(f, "%*s%s%s:", indent - (int)strlen(lead), "", lead, key);
			lead = NULL;
		} else {
			fprintf(f, "%*s%s:", indent, "", key);
		}
		print_node(f, doc, v, indent + 2);
	}
}

/* A value after its key: a scalar on the key's line, a mapping or a list
 * (or "(none)" when empty) on the lines after it. */
static void print_node(FILE *f, yaml_document_t *doc, yaml_node_t *n, int indent)
{
	if (n->type == YAML_SCALAR_NODE) {
		fprintf(f, " %s\n", text(n));
		return;
	}
	if (n->type == YAML_MAPPING_NODE) {
		fprintf(f, "%s\n", n->data.mapping.pairs.top == n->data.mapping.pairs.start ? " (none)" : "");
		print_pairs(f, doc, n, indent, NULL, false);
		return;
	}
	fprintf(f, "%s\n", n->data.sequence.items.top == n->data.sequence.items.start ? " (none)" : "");
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
		yaml_node_t *v = yaml_document_get_node(doc, *i);
		if (v && v->type == YAML_SCALAR_NODE)
			fprintf(f, "%*s- %s\n", indent, "", text(v));
		else if (v && v->type == YAML_MAPPING_NODE && flat(doc, v))
			print_flat(f, doc, v, indent);
		else if (v && v->type == YAML_MAPPING_NODE)
			print_pairs(f, doc, v, indent + 2, "- ", false);
	}
}

int edp_print_reply(FILE *f, const char *json)
{
	yaml_document_t doc;
	if (load(&doc, json))
		return -1;
	print_pairs(f, &doc, yaml_document_get_root_node(&doc), 0, NULL, true);
	yaml_document_delete(&doc);
	return 0;
}
