/*
 * xlcpuid.c: see xlcpuid.h.
 *
 * The installed libxl is the judge of what xl will accept: every item is
 * parsed by libxl_cpuid_parse_config() or libxl_cpuid_parse_config_xend()
 * exactly as xl would, one item per call.  Acceptance is not enough for a
 * feature name, though: libxl 4.17 takes "clflush" for the 8-bit line size
 * field of leaf 1 EBX, so "clflush=0" is accepted and clears the wrong
 * bits.  Where the parsed result can be inspected, a name is used only when
 * it clears exactly the feature's own bit.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h>
#include <xenctrl.h>

#include "util.h"
#include "xlcpuid.h"

/*
 * The parsed list is opaque in libxl.h.  Since the MSR parsing was added
 * (upstream 4.18, backported to Debian's 4.17), it points to this pair,
 * libxl_internal.h's struct libxl__cpu_policy.  It is only read after
 * layout_ok() has checked it against a known item, and only when the
 * installed libxl.h declares the list as a pointer to that struct.
 */
struct libxl__cpu_policy {
	struct xc_xend_cpuid *cpuid;
	struct xc_msr *msr;
};

/* Other names libxl has used for features; each is verified before use. */
static const struct {
	const char *xen;
	const char *libxl;
} libxl_aliases[] = {
	{ "clflush", "clfsh" },
	{ "cx8", "cmpxchg8" },
	{ "cx16", "cmpxchg16" },
	{ "sep", "sysenter" },
	{ "eist", "est" },
	{ "aesni", "aes" },
	{ "lahf-lm", "lahfsahf" },
	{ "tm1", "tm" },
	{ "cmp-legacy", "cmplegacy" },
	{ "cr8-legacy", "altmovcr8" },
	{ "itsc", "invtsc" },
	{ "ibrsb", "ibrs" },
};

/* Per feature: 0 not yet probed, 1 named (names[f]), -1 libxl has no name. */
static signed char probed[HM_NR_FEATURES];
static char names[HM_NR_FEATURES][32];
static int layout_state;	/* 0 unknown, 1 inspectable, -1 not */

/* xl's words for libxl_cpuid_parse_config()'s return codes. */
static const char *libxl_reason(int rc)
{
	switch (rc) {
	case 1:
		return "missing '=' in key=value";
	case 2:
		return "unknown cpuid flag name";
	case 3:
		return "illegal cpuid value (must be: [0|1|x|k|s])";
	default:
		return "unknown error";
	}
}

/* xl's words for libxl_cpuid_parse_config_xend()'s return codes. */
static const char *xend_reason(int rc)
{
	switch (rc) {
	case 1:
		return "illegal leaf number";
	case 2:
		return "illegal subleaf number";
	case 3:
		return "missing colon";
	case 4:
		return "invalid register name (must be e[abcd]x)";
	case 5:
		return "policy string must be exactly 32 characters long";
	default:
		return "unknown error";
	}
}

/* A legacy leaf item starts with a number and has its ':' before any '='. */
static bool is_xend_item(const char *item)
{
	const char *colon = strchr(item, ':'), *eq = strchr(item, '=');

	return item[0] >= '0' && item[0] <= '9' && colon != NULL &&
	    (eq == NULL || colon < eq);
}

int xl_cpuid_check_item(const char *item, struct perr *err)
{
	libxl_cpuid_policy_list list = NULL;
	int rc;

	if (strcmp(item, "host") == 0)
		return 0;
	if (*item == '\0') {
		perr_printf(err, "empty cpuid item");
		return -1;
	}
	/*
	 * xl gives every item of a "host,..." value to
	 * libxl_cpuid_parse_config(), which has no legacy leaf syntax: such an
	 * item belongs in the list form only.
	 */
	if (is_xend_item(item)) {
		perr_printf(err, "cpuid item '%.120s': a legacy leaf item "
		    "belongs in the list form (cpuid = [ ... ]), not in a "
		    "'host,...' value", item);
		return -1;
	}
	if (strchr(item, ',') != NULL) {
		perr_printf(err, "cpuid item '%.120s' holds a ','", item);
		return -1;
	}
	rc = libxl_cpuid_parse_config(&list, item);
	libxl_cpuid_dispose(&list);
	if (rc != 0) {
		perr_printf(err, "cpuid item '%.120s' refused by libxl: %s",
		    item, libxl_reason(rc));
		return -1;
	}
	return 0;
}

int xl_cpuid_check_list_item(const char *item, struct perr *err)
{
	libxl_cpuid_policy_list list = NULL;
	int rc;

	rc = libxl_cpuid_parse_config_xend(&list, item);
	libxl_cpuid_dispose(&list);
	if (rc != 0) {
		perr_printf(err, "cpuid item '%.120s' refused by libxl: %s",
		    item, xend_reason(rc));
		return -1;
	}
	return 0;
}

int xl_cpuid_check_value(const char *value, struct perr *err)
{
	char *copy = estrdup(value), *tok, *save = NULL;
	int rc = 0;

	tok = strtok_r(copy, ",", &save);
	if (tok == NULL)
		goto out;	/* xl ignores an empty value */
	if (strcmp(tok, "host") != 0) {
		perr_printf(err, "cpuid value '%.120s': the first word must be "
		    "'host'", value);
		rc = -1;
		goto out;
	}
	while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
		if (xl_cpuid_check_item(tok, err) < 0) {
			rc = -1;
			goto out;
		}
	}
out:
	free(copy);
	return rc;
}

/* "xxx...x" with '0' at BIT, bit 0 last: libxl's picture of a register. */
static void bits_string(char *s, size_t len, unsigned int bit)
{
	memset(s, 'x', len);
	s[len] = '\0';
	s[len - 1 - bit] = '0';
}

/*
 * clears_exactly: LIST holds what "name=0" for feature F parsed to; true
 * when it touches F's register only, and only F's bit, setting it to 0.
 */
static bool clears_exactly(libxl_cpuid_policy_list list, int f)
{
	const struct hm_word *w = &hm_words[feat_word(f)];
	const struct xc_xend_cpuid *c;
	const struct xc_msr *m;
	char want[65];
	int i, r;

	if (list == NULL)
		return false;
	c = list->cpuid;
	m = list->msr;
	if (w->src == HM_SRC_MSR) {
		if (c != NULL && c[0].leaf != XEN_CPUID_INPUT_UNUSED)
			return false;
		if (m == NULL || m[0].index != w->leaf ||
		    m[1].index != XC_MSR_INPUT_UNUSED)
			return false;
		bits_string(want, 64, feat_bit(f) + (w->reg == HM_EDX ? 32 : 0));
		return strcmp(m[0].policy, want) == 0;
	}
	if (m != NULL && m[0].index != XC_MSR_INPUT_UNUSED)
		return false;
	if (c == NULL || c[0].leaf != w->leaf ||
	    c[1].leaf != XEN_CPUID_INPUT_UNUSED)
		return false;
	if (w->anysub ? c[0].subleaf != XEN_CPUID_INPUT_UNUSED &&
	    c[0].subleaf != 0 : c[0].subleaf != w->subleaf)
		return false;
	bits_string(want, 32, feat_bit(f));
	for (r = 0; r < 4; r++) {
		if (r == (int)w->reg) {
			if (c[0].policy[r] == NULL ||
			    strcmp(c[0].policy[r], want) != 0)
				return false;
		} else if (c[0].policy[r] != NULL) {
			for (i = 0; c[0].policy[r][i] != '\0'; i++)
				if (c[0].policy[r][i] != 'x')
					return false;
		}
	}
	return true;
}

/*
 * layout_ok: whether parsed lists can be inspected: the installed libxl.h
 * declares the list as a pointer to struct libxl__cpu_policy, and "fpu=0"
 * parses to exactly leaf 1 EDX bit 0 through the layout above.
 */
static bool layout_ok(void)
{
	libxl_cpuid_policy_list list = NULL;
	int fpu;

	if (layout_state != 0)
		return layout_state > 0;
	layout_state = -1;
	if (!__builtin_types_compatible_p(libxl_cpuid_policy_list,
	    struct libxl__cpu_policy *))
		return false;
	fpu = feat_lookup("fpu");
	if (fpu < 0 || libxl_cpuid_parse_config(&list, "fpu=0") != 0)
		goto out;
	if (clears_exactly(list, fpu))
		layout_state = 1;
out:
	libxl_cpuid_dispose(&list);
	return layout_state > 0;
}

/* Whether libxl takes "CAND=0" as hiding feature F. */
static bool try_name(int f, const char *cand)
{
	libxl_cpuid_policy_list list = NULL;
	char item[48];
	bool ok = false;

	if (strlen(cand) + 3 > sizeof(item) || strlen(cand) >= sizeof(names[0]))
		return false;
	snprintf(item, sizeof(item), "%s=0", cand);
	if (libxl_cpuid_parse_config(&list, item) != 0)
		goto out;
	if (layout_ok())
		ok = clears_exactly(list, f);
	else
		/* Blind: acceptance only, minus the one known collision. */
		ok = strcmp(cand, "clflush") != 0;
out:
	libxl_cpuid_dispose(&list);
	return ok;
}

const char *xl_cpuid_libxl_name(int f)
{
	const char *xen;
	char cand[32];
	size_t i;

	if (f < 0 || f >= HM_NR_FEATURES)
		return NULL;
	if (probed[f] != 0)
		return probed[f] > 0 ? names[f] : NULL;
	probed[f] = -1;
	xen = hm_features[f].name;
	if (try_name(f, xen)) {
		snprintf(names[f], sizeof(names[f]), "%s", xen);
		probed[f] = 1;
		return names[f];
	}
	for (i = 0; i < sizeof(libxl_aliases) / sizeof(libxl_aliases[0]); i++)
		if (strcmp(libxl_aliases[i].xen, xen) == 0 &&
		    try_name(f, libxl_aliases[i].libxl)) {
			snprintf(names[f], sizeof(names[f]), "%s",
			    libxl_aliases[i].libxl);
			probed[f] = 1;
			return names[f];
		}
	/* Older libxl spelled some names with '_' or '.' (sse4_2, sse4.2). */
	for (i = 0; i < 2; i++) {
		char *p;

		if (strlen(xen) >= sizeof(cand) || strchr(xen, '-') == NULL)
			break;
		snprintf(cand, sizeof(cand), "%s", xen);
		for (p = cand; *p != '\0'; p++)
			if (*p == '-')
				*p = i == 0 ? '_' : '.';
		if (try_name(f, cand)) {
			snprintf(names[f], sizeof(names[f]), "%s", cand);
			probed[f] = 1;
			return names[f];
		}
	}
	return NULL;
}

/* A growing string. */
/* One legacy leaf: its registers as 32-character strings, or empty. */
struct xleaf {
	uint32_t leaf, subleaf;
	bool anysub;
	char reg[4][33];
};

#define MAX_XLEAVES HM_NR_WORDS

static struct xleaf *xleaf_get(struct xleaf *v, size_t *n,
			       const struct hm_word *w)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (v[i].leaf == w->leaf &&
		    (w->anysub || v[i].subleaf == w->subleaf))
			return &v[i];
	memset(&v[*n], 0, sizeof(v[*n]));
	v[*n].leaf = w->leaf;
	v[*n].subleaf = w->subleaf;
	v[*n].anysub = w->anysub;
	return &v[(*n)++];
}

/* Set feature F's bit to C ('0', '1', 'x', 'k', 's') in the legacy leaves. */
static int xleaf_set(struct xleaf *v, size_t *n, int f, char c,
		     struct perr *err)
{
	const struct hm_word *w = &hm_words[feat_word(f)];
	struct xleaf *l;

	if (w->src != HM_SRC_CPUID) {
		perr_printf(err, "feature '%s' is an msr bit: the installed "
		    "libxl has no name for it and the legacy form has no msrs",
		    hm_features[f].name);
		return -1;
	}
	l = xleaf_get(v, n, w);
	if (l->reg[w->reg][0] == '\0')
		memset(l->reg[w->reg], 'x', 32);
	l->reg[w->reg][31 - feat_bit(f)] = c;
	return 0;
}

/*
 * render_legacy: the whole value as an xl list of legacy leaf items.
 * EXTRA items must be feature=0|1|x|k|s.  Returns malloc'd text or NULL.
 */
static char *render_legacy(const struct fset *hide, const char *extra,
			   struct perr *err)
{
	struct xleaf v[MAX_XLEAVES];
	struct sbuf b = { NULL, 0, 0 };
	char *copy = NULL, *tok, *save = NULL, *eq, item[200];
	size_t n = 0, i;
	int f, r;
	bool first_reg;

	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(hide, f) && xleaf_set(v, &n, f, '0', err) < 0)
			goto fail;
	if (extra != NULL) {
		copy = estrdup(extra);
		for (tok = strtok_r(copy, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			eq = strchr(tok, '=');
			if (eq != NULL)
				*eq = '\0';
			f = feat_lookup(tok);
			if (eq == NULL || f < 0 || strlen(eq + 1) != 1 ||
			    strchr("01xks", eq[1]) == NULL) {
				if (eq != NULL)
					*eq = '=';
				perr_printf(err, "cpuid item '%.120s' cannot "
				    "go into the legacy form "
				    "(feature=0|1|x|k|s only)", tok);
				goto fail;
			}
			if (xleaf_set(v, &n, f, eq[1], err) < 0)
				goto fail;
		}
	}
	sb_add(&b, "[");
	for (i = 0; i < n; i++) {
		int off;

		if (v[i].anysub)
			off = snprintf(item, sizeof(item), "0x%08x:", v[i].leaf);
		else
			off = snprintf(item, sizeof(item), "0x%08x,%u:",
			    v[i].leaf, v[i].subleaf);
		first_reg = true;
		for (r = 0; r < 4; r++) {
			if (v[i].reg[r][0] == '\0')
				continue;
			off += snprintf(item + off, sizeof(item) - (size_t)off,
			    "%se%cx=%s", first_reg ? "" : ",", "abcd"[r],
			    v[i].reg[r]);
			first_reg = false;
		}
		if (xl_cpuid_check_list_item(item, err) < 0)
			goto fail;
		sb_add(&b, i ? ", \"" : " \"");
		sb_add(&b, item);
		sb_add(&b, "\"");
	}
	sb_add(&b, n ? " ]" : "]");
	free(copy);
	return b.s;
fail:
	free(copy);
	free(b.s);
	return NULL;
}

char *xl_cpuid_render_legacy(const struct fset *hide, const char *extra,
			     struct perr *err)
{
	return render_legacy(hide, extra, err);
}

char *xl_cpuid_render(const struct fset *hide, const char *extra,
		      struct perr *err)
{
	struct sbuf b = { NULL, 0, 0 };
	char *copy = NULL, *tok, *save = NULL;
	const char *name;
	char item[64];
	int f;

	sb_add(&b, "host");
	for (f = 0; f < HM_NR_FEATURES; f++) {
		if (!fs_has(hide, f))
			continue;
		name = xl_cpuid_libxl_name(f);
		if (name == NULL) {
			free(b.s);
			return render_legacy(hide, extra, err);
		}
		snprintf(item, sizeof(item), "%s=0", name);
		if (xl_cpuid_check_item(item, err) < 0)
			goto fail;
		sb_add(&b, ",");
		sb_add(&b, item);
	}
	if (extra != NULL) {
		copy = estrdup(extra);
		for (tok = strtok_r(copy, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save)) {
			if (strcmp(tok, "host") == 0)
				continue;
			if (is_xend_item(tok)) {
				perr_printf(err, "cpuid item '%.120s': a "
				    "legacy leaf item cannot join a 'host,...' "
				    "value", tok);
				goto fail;
			}
			if (xl_cpuid_check_item(tok, err) < 0)
				goto fail;
			sb_add(&b, ",");
			sb_add(&b, tok);
		}
	}
	/* The whole value once more, split as xl splits it. */
	if (xl_cpuid_check_value(b.s, err) < 0)
		goto fail;
	free(copy);
	return b.s;
fail:
	free(copy);
	free(b.s);
	return NULL;
}

/* Set or clear feature F in *HIDE as C says ('0' hides, '1' shows). */
static void apply_bit(struct fset *hide, int f, char c)
{
	if (f < 0)
		return;
	if (c == '0')
		fs_set(hide, f);
	else if (c == '1')
		fs_clear(hide, f);
}

/*
 * parse_libxl_item: apply one libxl-form item (checked already) to *HIDE.
 * The feature is the one libxl clears with that name: Xen's name, an
 * alias of the table above, or a spelling feat_lookup knows, verified with
 * try_name() so that "clflush" (the line size field) hides nothing.
 */
static void parse_libxl_item(const char *item, struct fset *hide)
{
	const char *eq = strchr(item, '=');
	char name[32];
	size_t i;
	int f;

	if (eq == NULL || (eq[1] != '0' && eq[1] != '1') || eq[2] != '\0' ||
	    (size_t)(eq - item) >= sizeof(name))
		return;
	memcpy(name, item, (size_t)(eq - item));
	name[eq - item] = '\0';
	f = feat_lookup(name);
	if (f >= 0 && try_name(f, name)) {
		apply_bit(hide, f, eq[1]);
		return;
	}
	for (i = 0; i < sizeof(libxl_aliases) / sizeof(libxl_aliases[0]); i++)
		if (strcmp(libxl_aliases[i].libxl, name) == 0 &&
		    (f = feat_lookup(libxl_aliases[i].xen)) >= 0 &&
		    try_name(f, name)) {
			apply_bit(hide, f, eq[1]);
			return;
		}
}

/*
 * parse_xend_item: apply one legacy item (checked already by libxl:
 * "LEAF[,SUBLEAF]:REG=32 characters[,REG=...]", bit 31 first) to *HIDE.
 */
static int parse_xend_item(const char *item, struct fset *hide,
			   struct perr *err)
{
	unsigned long leaf, sub = 0;
	const char *p = item;
	char *end;
	bool anysub = true;
	int w, r, i;

	leaf = strtoul(p, &end, 0);
	if (*end == ',') {
		sub = strtoul(end + 1, &end, 0);
		anysub = false;
	}
	if (*end != ':')
		goto bad;
	p = end + 1;
	while (*p != '\0') {
		if (p[0] != 'e' || strchr("abcd", p[1]) == NULL ||
		    p[2] != 'x' || p[3] != '=' || strlen(p + 4) < 32 ||
		    (p[36] != '\0' && p[36] != ','))
			goto bad;
		r = p[1] - 'a';
		for (w = 0; w < HM_NR_WORDS; w++) {
			const struct hm_word *hw = &hm_words[w];

			if (hw->src != HM_SRC_CPUID || hw->leaf != leaf ||
			    (int)hw->reg != r ||
			    (!hw->anysub && !anysub && hw->subleaf != sub) ||
			    (!hw->anysub && anysub && hw->subleaf != 0))
				continue;
			for (i = 0; i < 32; i++)
				apply_bit(hide, feat_by_value((unsigned int)w *
				    32 + (unsigned int)(31 - i)), p[4 + i]);
		}
		p += p[36] == ',' ? 37 : 36;
	}
	return 0;
bad:
	perr_printf(err, "cpuid item '%.120s': not a legacy leaf item", item);
	return -1;
}

/*
 * parse_list: the legacy list text "[ \"item\", ... ]": each double-quoted
 * item checked with libxl and applied.
 */
static int parse_list(const char *value, struct fset *hide, struct perr *err)
{
	const char *p = value + 1, *q;
	char item[256];

	for (;;) {
		p += strspn(p, " \t\n,");
		if (*p == ']' && p[1 + strspn(p + 1, " \t\n")] == '\0')
			return 0;
		if (*p != '"' || (q = strchr(p + 1, '"')) == NULL ||
		    (size_t)(q - p - 1) >= sizeof(item)) {
			perr_printf(err, "cpuid value '%.120s': expected "
			    "\"item\", ... ]", value);
			return -1;
		}
		memcpy(item, p + 1, (size_t)(q - p - 1));
		item[q - p - 1] = '\0';
		if (xl_cpuid_check_list_item(item, err) < 0 ||
		    parse_xend_item(item, hide, err) < 0)
			return -1;
		p = q + 1;
	}
}

int xl_cpuid_parse(const char *value, struct fset *hide_r, struct perr *err)
{
	char *copy = NULL, *tok, *save = NULL;
	int rc = -1;

	memset(hide_r, 0, sizeof(*hide_r));
	value += strspn(value, " \t\n");
	if (value[0] == '[')
		return parse_list(value, hide_r, err);
	if (xl_cpuid_check_value(value, err) < 0)
		goto out;
	copy = estrdup(value);
	tok = strtok_r(copy, ",", &save);	/* "host", checked */
	while (tok != NULL && (tok = strtok_r(NULL, ",", &save)) != NULL)
		parse_libxl_item(tok, hide_r);
	rc = 0;
out:
	free(copy);
	return rc;
}
