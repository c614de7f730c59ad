#include "edp_json.h"

#include <assert.h>
#include <math.h>
#include <string.h>

/* The key (or the comma) before a value at the current depth. */
static void lead(struct edp_json *j, const char *key)
{
	if (j->more[j->depth])
		fputc(',', j->f);
	j->more[j->depth] = true;
	if (key)
		fprintf(j->f, "\"%s\":", key);
}

/* Bytes of the UTF-8 sequence at s (RFC 3629: no overlong form, no
 * surrogate, nothing past U+10FFFF), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 && s[0] < 0xf0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
	    (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

static void quoted(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', f);
	while (*s) {
		if (*s == '"' || *s == '\\') {
			fprintf(f, "\\%c", *s++);
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s++);
		} else if (*s < 0x80) {
			fputc(*s++, f);
		} else { /* UTF-8 as it is; a byte that is not part of it: U+FFFD */
			size_t n = utf8_len(s);
			if (n) {
				fwrite(s, 1, n, f);
				s += n;
			} else {
				fputs("\\ufffd", f);
				s++;
			}
		}
	}
	fputc('"', f);
}

static void open_with(struct edp_json *j, const char *key, char c)
{
	assert(j->depth + 1 < EDP_JSON_MAX_DEPTH);
	lead(j, key);
	fputc(c, j->f);
	j->depth++;
	j->more[j->depth] = false;
	j->close[j->depth] = c == '[' ? ']' : '}';
}

void edp_json_begin(struct edp_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	fputc('{', f);
	j->depth = 1;
	j->close[1] = '}';
	edp_json_uint(j, "schema", EDP_JSON_SCHEMA);
}

void edp_json_finish(struct edp_json *j)
{
	while (j->depth > 0)
		edp_json_end(j);
	fputc('\n', j->f);
}

void edp_json_object(struct edp_json *j, const char *key) { open_with(j, key, '{'); }

void edp_json_array(struct edp_json *j, const char *key) { open_with(j, key, '['); }

void edp_json_end(struct edp_json *j)
{
	fputc(j->close[j->depth], j->f);
	j->depth--;
}

void edp_json_string(struct edp_json *j, const char *key, const char *s)
{
	lead(j, key);
	if (s)
		quoted(j->f, s);
	else
		fputs("null", j->f);
}

void edp_json_uint(struct edp_json *j, const char *key, uint64_t v)
{
	lead(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void edp_json_int(struct edp_json *j, const char *key, int64_t v)
{
	lead(j, key);
	fprintf(j->f, "%lld", (long long)v);
}

void edp_json_bool(struct edp_json *j, const char *key, bool v)
{
	lead(j, key);
	fputs(v ? "true" : "false", j->f);
}

void edp_json_null(struct edp_json *j, const char *key)
{
	lead(j, key);
	fputs("null", j->f);
}

void edp_json_fixed(struct edp_json *j, const char *key, double v, int decimals)
{
	lead(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.*f", decimals, v == 0 ? 0.0 : v); /* never "-0.000" */
	else
		fputs("null", j->f);
}

void edp_json_lines(struct edp_json *j, const char *key, const char *text)
{
	edp_json_array(j, key);
	for (const char *s = text; s && *s;) {
		size_t n = strcspn(s, "\n");
		char line[2048];
		snprintf(line, sizeof(line), "%.*s", (int)n, s);
		edp_json_string(j, NULL, line);
		s += n + (s[n] == '\n');
	}
	edp_json_end(j);
}
