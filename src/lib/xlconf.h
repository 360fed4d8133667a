/*
 * xlconf.h: the settings of an xl config text, found by a scanner that
 * follows libxlutil's lexer (libxlu_cfg_l.l) and grammar (libxlu_cfg_y.y),
 * and edits that touch the bytes of one key's settings only.
 *
 * libxlutil has no writer and keeps no positions, so in-place edits need
 * their own reader.  It is the judge of nothing: xlcfg reads every text
 * this scanner accepts and every edit it makes back through libxlutil.
 * Pure: no I/O, no libxl header, so that the fuzzer can drive it.
 */
#ifndef HETMIG_XLCONF_H
#define HETMIG_XLCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"

/* One KEY = VALUE (or KEY += VALUE) of a config text, as byte offsets. */
struct xlconf_setting {
	char *key;		/* owned, NUL-terminated */
	size_t start, klen;	/* the key's first byte, its length */
	size_t opstart;		/* the '=' or '+=' */
	size_t vstart, vend;	/* the value's bytes */
	int line;		/* of the key, from 1 */
	bool add;		/* += */
};

/* Every setting of a text, in file order. */
struct xlconf {
	struct xlconf_setting *v;	/* owned */
	size_t n, alloc;
};

#define XLCONF_INIT { NULL, 0, 0 }

/*
 * xlconf_scan: find every setting of TEXT (LEN bytes, which need not end
 * in NUL).  Returns 0, or -1 with ERR naming the line when TEXT is not an
 * xl config.  SC is filled either way; the caller releases it.
 */
int xlconf_scan(const char *text, size_t len, struct xlconf *sc,
		struct perr *err);

/* Free what SC owns and leave it empty. */
void xlconf_release(struct xlconf *sc);

/* The last setting of KEY in SC (the one libxlutil returns), or NULL. */
const struct xlconf_setting *xlconf_find(const struct xlconf *sc,
					 const char *key);

/*
 * xlconf_edit: TEXT with KEY set to the right-hand side RHS (NULL: KEY
 * removed) into *OUT_R (malloc'd, NUL-terminated, *OUTLEN_R bytes before
 * the NUL; the caller frees it).  The last setting of KEY is replaced in
 * place (a += made a =) and earlier ones removed; a missing KEY is
 * appended.  Every other
 * byte is kept.  RHS is written as it is: the caller makes it a value.
 * Returns 0, or -1 with ERR filled when TEXT is not an xl config.
 */
int xlconf_edit(const char *text, size_t len, const char *key,
		const char *rhs, char **out_r, size_t *outlen_r,
		struct perr *err);

/*
 * xlconf_quote: VALUE as an xl string, between double quotes with '\'
 * and '"' escaped, into *RHS_R (malloc'd; the caller frees it).  Returns
 * 0, or -1 with ERR filled when VALUE holds a control character, which
 * an xl string cannot carry as it is.
 */
int xlconf_quote(const char *value, char **rhs_r, struct perr *err);

/* Whether KEY is a name the xl lexer reads as one identifier. */
bool xlconf_good_key(const char *key);

#endif
