/* jtext.c: see jtext.h. */
#include <stdlib.h>
#include <string.h>

#include "jtext.h"
#include "util.h"

/*
 * seq_len: the length of the valid UTF-8 sequence at S, or 0 when S does
 * not start one.  The ranges are RFC 3629's table: the second byte's
 * range depends on the first, which rules out overlong forms, surrogates
 * and code points past U+10FFFF.
 */
static size_t seq_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		if ((n = seq_len(p)) == 0)
			return false;
		p += n;
	}
	return true;
}

json_t *json_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	struct sbuf b = { NULL, 0, 0 };
	json_t *j;
	size_t n;

	if (utf8_valid(s)) {
		j = json_string(s);
	} else {
		sb_add(&b, "");
		while (*p != '\0') {
			if ((n = seq_len(p)) == 0) {
				sb_add(&b, "\xef\xbf\xbd");
				p++;
				continue;
			}
			sb_addn(&b, (const char *)p, n);
			p += n;
		}
		j = json_string(b.s);
		free(b.s);
	}
	if (j == NULL)
		die("out of memory");
	return j;
}
