/*
 * jtext.h: text from outside (a path, a domain name) as a JSON string.
 *
 * jansson takes valid UTF-8 only: json_string() returns NULL for
 * anything else, which json_pack() reports as a failure the callers took
 * for "out of memory", and json_object_set_new() drops in silence.  A
 * path is bytes.  Such text is written with each byte that does not
 * belong to a valid UTF-8 sequence replaced by U+FFFD: the output stays
 * JSON, and the field says what it names to a person (formats.md).
 */
#ifndef HETMIG_JTEXT_H
#define HETMIG_JTEXT_H

#include <stdbool.h>

#include <jansson.h>

/*
 * utf8_valid: whether the NUL-terminated S is UTF-8 as jansson takes it:
 * shortest forms only, no surrogates, nothing past U+10FFFF.
 */
bool utf8_valid(const char *s);

/*
 * json_text: a new JSON string of S, with U+FFFD for each byte of S that
 * is not part of a valid sequence; the caller owns the reference.  Never
 * NULL: dies when out of memory.
 */
json_t *json_text(const char *s);

#endif
