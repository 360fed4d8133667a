/*
 * test-jtext.c: text from outside as JSON strings: utf8_valid agrees
 * with jansson's own check, byte for byte, and json_text always gives a
 * string, with U+FFFD where a byte is not UTF-8.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "harness.h"
#include "jtext.h"

/* Every string of one to three bytes from a set that covers each range. */
static void test_agrees_with_jansson(void)
{
	static const unsigned char bytes[] = {
		0x01, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
		0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0,
		0xf1, 0xf3, 0xf4, 0xf5, 0xff,
	};
	size_t n = sizeof(bytes), i, j, k, len;
	char s[5];
	json_t *js;

	for (i = 0; i < n; i++)
		for (j = 0; j <= n; j++)
			for (k = 0; k <= n; k++) {
				len = 0;
				s[len++] = (char)bytes[i];
				if (j < n) {
					s[len++] = (char)bytes[j];
					if (k < n)
						s[len++] = (char)bytes[k];
				}
				s[len] = '\0';
				js = json_string(s);
				check(utf8_valid(s) == (js != NULL),
				    "%02x %02x %02x: utf8_valid %d, jansson %d",
				    bytes[i], j < n ? bytes[j] : 0,
				    k < n ? bytes[k] : 0, utf8_valid(s),
				    js != NULL);
				json_decref(js);
			}
}

static void test_json_text(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "plain.txt", "plain.txt" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
		{ "\xff.txt", "\xef\xbf\xbd.txt" },
		{ "a\xc3", "a\xef\xbf\xbd" },
		/* An overlong '/', and a surrogate: a byte at a time. */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xed\xa0\x80x", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx" },
		{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" },
		{ "", "" },
	};
	size_t i;
	json_t *j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = json_text(cases[i].in);
		check(json_is_string(j) &&
		    strcmp(json_string_value(j), cases[i].want) == 0,
		    "json_text case %zu: '%s'", i,
		    json_is_string(j) ? json_string_value(j) : "(null)");
		json_decref(j);
	}
}

int main(void)
{
	test_agrees_with_jansson();
	test_json_text();
	return harness_done("test-jtext");
}
