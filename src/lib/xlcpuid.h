/*
 * xlcpuid.h: the cpuid= value of xl configs, checked by the installed
 * libxl.
 *
 * xl reads cpuid= in one of two forms, and a value cannot mix them:
 *
 *   cpuid = "host,avx2=0,sse4-2=0"	the libxl form: the first word is
 *	"host", every other comma-separated item goes through
 *	libxl_cpuid_parse_config() on its own;
 *   cpuid = [ "7,0:ebx=xx...x0xxxxx", ... ]	the legacy (xend) form: one
 *	leaf per list item, each through libxl_cpuid_parse_config_xend().
 *
 * xl prints a complaint for an item libxl refuses and then goes on to
 * create the domain without it: a mistyped mask silently shows the guest
 * the feature.  That is why every item hetmig writes is checked here first.
 *
 * This header includes no libxl header, so that users can stay ISO C.
 */
#ifndef HETMIG_XLCPUID_H
#define HETMIG_XLCPUID_H

#include "feat.h"
#include "policy.h"

/*
 * xl_cpuid_check_item: check one item of the libxl form the way xl parses
 * it: "host" (its first word) or "avx2=0" (libxl_cpuid_parse_config).  A
 * legacy leaf item ("0x00000007,0:ebx=xxxx...") is refused: xl accepts it
 * in the list form only (xl_cpuid_check_list_item).
 * libxl reads a value's first characters and drops the rest unread
 * ("avx=0\"x" is avx=0), and keeps a number's low bits only ("avx=2"
 * clears avx); so the value must also be whole: one of x k s, or "0",
 * decimal without a leading zero, or 0x and hex digits, that fits the
 * flag's bits (one bit where the parsed list cannot be inspected).
 * Returns 0 when the installed libxl accepts it and the value is whole,
 * -1 otherwise (ERR says which item, and libxl's reason or what a value
 * may be).
 */
int xl_cpuid_check_item(const char *item, struct perr *err);

/*
 * xl_cpuid_check_list_item: check one item of the legacy list form
 * (cpuid = [ ... ]) with libxl_cpuid_parse_config_xend, as xl does; it
 * must also be whole, as libxl copies any 32 bytes as a register's
 * policy: "LEAF[,SUBLEAF]:eXx=P[,eXx=P...]" with leaf and subleaf
 * written as above, below 2^32 (the leaf below 0xffffffff, libxl's end
 * marker), each P 32 characters from 0 1 x k s, at most one space after
 * a ','.
 */
int xl_cpuid_check_list_item(const char *item, struct perr *err);

/*
 * xl_cpuid_check_value: check a whole libxl-form value ("host,avx2=0,...")
 * item by item, as xl does (the first word must be "host").  0 or -1 with
 * ERR naming the first item refused.
 */
int xl_cpuid_check_value(const char *value, struct perr *err);

/*
 * xl_cpuid_libxl_name: the name under which the installed libxl knows
 * feature F (an index into hm_features) such that "NAME=0" clears exactly
 * F's bit, or NULL when it has none.  Usually Xen's own name; "clfsh" for
 * clflush, whose own name libxl takes for the 8-bit line size field.
 * The string is static.
 */
const char *xl_cpuid_libxl_name(int f);

/* The longest item read or written: a legacy leaf with four registers. */
#define XL_ITEM_MAX 200

/*
 * One setting of a cpuid= value, as xl applies it (xl_cpuid_items).
 */
struct xl_item {
	int feature;		/* the one feature it sets, or -1 */
	char value;		/* a feature's setting: '0' hides it; '1', */
				/* 'x', 'k', 's' show it; '\0' for no feature */
	bool legacy;		/* TEXT is a legacy leaf item, for the list */
				/* form only */
	char text[XL_ITEM_MAX];	/* the item as it is written in a value */
};

/*
 * xl_cpuid_items: the settings of a cpuid= value, in the order xl applies
 * them (a later one wins).  VALUE is in the libxl form ("host,avx2=0,...")
 * or the legacy list form as xl_cpuid_render writes it ("[ \"0x00000007,
 * 0:ebx=...\", ... ]"); "" is no value (xl ignores it).
 *
 * VALUE must first match hetmig's grammar (the scripts' is_cpuid_value
 * asks it through featcmp -e): items NAME=VALUE of [A-Za-z0-9_.-] and [A-Za-z0-9], legacy
 * items of 32 characters [01xks] per register, spaces only around list
 * items; no quote, backslash or control character can get through.  Then
 * every item is checked with the installed libxl, as xl parses it.
 *
 * A libxl-form item is kept as it is, with the feature libxl sets with
 * its name (verified as xl_cpuid_libxl_name does: libxl's "clflush" is the
 * line size field, no feature) and the setting libxl reads from its value
 * (a number's lowest bit, or 'x', 'k', 's').  A legacy list is merged as
 * libxl merges it (a later item's register replaces an earlier one's),
 * then split: one item per feature bit it sets, "NAME=C" under libxl's
 * name (or, when libxl has none, a legacy item of that bit), and one
 * legacy item per leaf with its other bits (those of no feature) that are
 * not 'x', such as a family in leaf 1's EAX.
 *
 * Returns 0 with *ITEMS_R (malloc'd, the caller frees it; NULL when
 * there are none) and *N_R, or -1 with ERR filled; a value is shown in
 * a message with anything unprintable as \xNN, so it stays one line.
 */
int xl_cpuid_items(const char *value, struct xl_item **items_r, size_t *n_r,
		   struct perr *err);

/*
 * xl_cpuid_parse: the features a cpuid= value hides, as xl applies it:
 * its settings (xl_cpuid_items, same checks) applied in order, a feature
 * set to '0' hidden and to anything else shown.  Settings of no feature
 * hide nothing.  Only the features named are returned: Xen hides their
 * dependents too (fs_close_hidden).  Returns 0 with *HIDE_R filled, or
 * -1 with ERR filled.
 */
int xl_cpuid_parse(const char *value, struct fset *hide_r, struct perr *err);

/*
 * xl_cpuid_render: the cpuid= value that hides every feature of HIDE (in
 * table order), with EXTRA's items (a comma-separated list of libxl-form
 * items, or NULL) appended, so that an explicit item wins over the mask.
 *
 * The result is "host,feat=0,..." whenever the installed libxl has a name
 * for every hidden feature; then it goes between double quotes.  Only when
 * it lacks one, the whole value goes out in the legacy form, as an xl list
 * text "[ \"1:ecx=...\", ... ]" to be written as the right-hand side as it
 * is (it starts with '['); EXTRA items must then be feature names.
 *
 * Every item is checked with xl_cpuid_check_item().  Returns a malloc'd
 * string the caller frees, or NULL with ERR filled (which item, and why):
 * a line the installed libxl would refuse is never returned.
 */
char *xl_cpuid_render(const struct fset *hide, const char *extra,
		      struct perr *err);

/*
 * xl_cpuid_render_legacy: the same value, always in the legacy list form
 * (for configs that already use it, and for tests).  Same contract.
 */
char *xl_cpuid_render_legacy(const struct fset *hide, const char *extra,
			     struct perr *err);

/*
 * xl_cpuid_render_items: the same, with the N settings EXTRA (from
 * xl_cpuid_items, or NULL when N is 0) as the extra items, in order.  The
 * value is in the legacy form when LEGACY is true, when libxl has no name
 * for a feature of HIDE, or when an item of EXTRA is a legacy one; then
 * an extra item that sets no feature must be a legacy one.  A legacy
 * item's bits other than 'x' are written over what HIDE sets there.
 */
char *xl_cpuid_render_items(const struct fset *hide,
			    const struct xl_item *extra, size_t n,
			    bool legacy, struct perr *err);

#endif
