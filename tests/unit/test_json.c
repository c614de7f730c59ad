#include "unit.h"
#include "edp_json.h"

#include <math.h>

/* What a document written by fn comes out as. */
static char *written(void (*fn)(struct edp_json *))
{
	static char *buf;
	size_t len;
	free(buf);
	FILE *f = open_memstream(&buf, &len);
	struct edp_json j;
	edp_json_begin(&j, f);
	fn(&j);
	edp_json_finish(&j);
	fclose(f);
	return buf;
}

static void nested(struct edp_json *j)
{
	edp_json_uint(j, "n", UINT64_MAX);
	edp_json_int(j, "i", -5);
	edp_json_object(j, "o");
	edp_json_array(j, "a");
	edp_json_object(j, NULL);
	edp_json_end(j);
	edp_json_object(j, NULL);
	edp_json_bool(j, "t", true);
	edp_json_end(j);
	edp_json_end(j);
	edp_json_array(j, "empty");
	edp_json_end(j);
	edp_json_null(j, "z");
	/* left open: finish closes it */
}

/* Commas only between values, at every depth; the schema first; every
 * open object closed by finish; integers exact. */
static void test_structure(void **state)
{
	(void)state;
	assert_string_equal(written(nested),
			    "{\"schema\":1,\"n\":18446744073709551615,\"i\":-5,"
			    "\"o\":{\"a\":[{},{\"t\":true}],\"empty\":[],\"z\":null}}\n");
}

static void numbers(struct edp_json *j)
{
	edp_json_fixed(j, "rate", 253445000.0, 3);
	edp_json_fixed(j, "ratio", 0.5, 6);
	edp_json_fixed(j, "zero", -0.0, 2);
	edp_json_fixed(j, "nan", NAN, 3);
	edp_json_fixed(j, "inf", INFINITY, 3);
}

/* Fixed decimals, never an exponent; what is not finite is null. */
static void test_numbers(void **state)
{
	(void)state;
	assert_string_equal(written(numbers), "{\"schema\":1,\"rate\":253445000.000,\"ratio\":0.500000,\"zero\":0.00,"
					      "\"nan\":null,\"inf\":null}\n");
}

static void strings(struct edp_json *j)
{
	edp_json_string(j, "q", "a \"b\" \\ c");
	edp_json_string(j, "ctl", "tab\tnl\n\x1b\x7f");
	edp_json_string(j, "utf8", "caf\xc3\xa9 \xe2\x82\xac");
	edp_json_string(j, "bad", "\xff\xc3(\xe2\x82");
	edp_json_string(j, "forms", "\xed\xa0\x80\xe0\x80\xaf\xf4\x90\x80\x80\xf0\x9f\x98\x80");
	edp_json_string(j, "none", NULL);
	edp_json_lines(j, "lines", "one\ntwo\n");
}

/* Quotes and backslashes escaped, control characters as \u00XX, UTF-8
 * kept, bytes that are not UTF-8 as U+FFFD; a text's lines as a list. */
static void test_strings(void **state)
{
	(void)state;
	assert_string_equal(written(strings),
			    "{\"schema\":1,\"q\":\"a \\\"b\\\" \\\\ c\",\"ctl\":\"tab\\u0009nl\\u000a\\u001b\\u007f\","
			    "\"utf8\":\"caf\xc3\xa9 \xe2\x82\xac\",\"bad\":\"\\ufffd\\ufffd(\\ufffd\\ufffd\","
			    /* a surrogate, an overlong "/", past U+10FFFF: each byte U+FFFD; an emoji kept */
			    "\"forms\":\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\xf0\x9f\x98\x80\","
			    "\"none\":null,\"lines\":[\"one\",\"two\"]}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
