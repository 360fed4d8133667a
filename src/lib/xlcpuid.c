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

/*
 * plain_number: the LEN bytes at S are a number as hetmig spells one: "0",
 * decimal without a leading zero, or "0x" and 1 to 16 hex digits; its
 * value into *V_R.  libxl reads numbers with strtoul(l)(..., 0), which
 * also takes blanks and a sign before them, octal, and anything after
 * them, unread: none of that passes here.
 */
static bool plain_number(const char *s, size_t len, unsigned long long *v_r)
{
	unsigned long long v = 0;
	size_t i;

	if (len > 2 && s[0] == '0' && s[1] == 'x') {
		if (len > 18)
			return false;
		for (i = 2; i < len; i++) {
			int c = s[i], d;

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				return false;
			v = v << 4 | (unsigned long long)d;
		}
	} else {
		if (len == 0 || len > 19 || (s[0] == '0' && len > 1))
			return false;
		for (i = 0; i < len; i++) {
			if (s[i] < '0' || s[i] > '9')
				return false;
			v = v * 10 + (unsigned long long)(s[i] - '0');
		}
	}
	*v_r = v;
	return true;
}

static bool layout_ok(void);

/*
 * field_width: how many bits libxl sets for the flag NAME: the 'k's of
 * "NAME=k" as it parses it (it fills the flag's bits with the letter and
 * leaves the rest 'x').  1 when the parsed list cannot be inspected.
 */
static int field_width(const char *name)
{
	libxl_cpuid_policy_list list = NULL;
	char item[64];
	int i, r, n = 0;
	const char *c;

	if (!layout_ok() || strlen(name) + 3 > sizeof(item))
		return 1;
	snprintf(item, sizeof(item), "%s=k", name);
	if (libxl_cpuid_parse_config(&list, item) != 0 || list == NULL)
		goto out;
	for (i = 0; list->cpuid != NULL &&
	    list->cpuid[i].leaf != XEN_CPUID_INPUT_UNUSED; i++)
		for (r = 0; r < 4; r++)
			for (c = list->cpuid[i].policy[r]; c && *c; c++)
				n += *c == 'k';
	for (i = 0; list->msr != NULL &&
	    list->msr[i].index != XC_MSR_INPUT_UNUSED; i++)
		for (c = list->msr[i].policy; *c; c++)
			n += *c == 'k';
out:
	libxl_cpuid_dispose(&list);
	return n > 0 ? n : 1;
}

/*
 * check_whole_value: ITEM ("name=value") passed libxl_cpuid_parse_config;
 * its value must also be all that libxl read.  libxl takes "avx=0\"x" as
 * avx=0 and drops the rest unread, "x..." as x, and keeps the low bits of
 * a number only ("avx=2" clears avx), so it is the judge of names but not
 * of values: a value is one of x k s, or a plain number (plain_number)
 * that fits the flag's bits.  Where the parsed list cannot be inspected
 * (layout_ok), every flag is taken for one bit: 0 and 1 only.
 */
static int check_whole_value(const char *item, struct perr *err)
{
	const char *eq = strchr(item, '='), *v = eq + 1;
	unsigned long long n, max = 1;
	char name[48];
	int width = 1;

	if (strcmp(v, "x") == 0 || strcmp(v, "k") == 0 || strcmp(v, "s") == 0)
		return 0;
	if ((size_t)(eq - item) >= sizeof(name))
		goto bad;
	memcpy(name, item, (size_t)(eq - item));
	name[eq - item] = '\0';
	width = field_width(name);
	max = width >= 64 ? ~0ull : (1ull << width) - 1;
	if (plain_number(v, strlen(v), &n) && n <= max)
		return 0;
bad:
	if (width == 1)
		perr_printf(err, "cpuid item '%.120s': bad value: expected 0, "
		    "1, x, k or s", item);
	else
		perr_printf(err, "cpuid item '%.120s': bad value: expected x, "
		    "k, s or a number from 0 to %llu", item, max);
	return -1;
}

/* The complaint about a legacy item that is not whole. */
static int xend_bad(const char *item, struct perr *err)
{
	perr_printf(err, "cpuid item '%.120s': expected LEAF[,SUBLEAF]:"
	    "eXx=POLICY,... with 32 of 0 1 x k s per register", item);
	return -1;
}

/*
 * xend_leaf_ok: ITEM starts with a plain number below 0xffffffff.  libxl
 * stores the leaf as strtoul reads it ("-1" included), and 0xffffffff is
 * the end marker of its list: the entry would be lost, and leak.  So the
 * leaf is checked before libxl sees the item.
 */
static bool xend_leaf_ok(const char *item)
{
	unsigned long long v;

	return plain_number(item, strcspn(item, ",:"), &v) && v < UINT32_MAX;
}

/*
 * check_whole_xend: ITEM passed libxl_cpuid_parse_config_xend; it must
 * also be all that libxl read: "LEAF[,SUBLEAF]:eXx=POLICY[,eXx=POLICY...]"
 * with plain numbers (plain_number) of 32 bits, a register name of three
 * letters, and 32 characters from 0 1 x k s per register (libxl copies
 * any 32 bytes, quotes and newlines included, and skips blanks and
 * newlines after a ',').  One space may follow a ','.
 */
static int check_whole_xend(const char *item, struct perr *err)
{
	const char *p = item, *end;
	unsigned long long v;
	int field;

	if (!xend_leaf_ok(item))
		return xend_bad(item, err);
	for (field = 0; field < 2; field++) {
		end = p + strcspn(p, ",:");
		if (!plain_number(p, (size_t)(end - p), &v) || v > UINT32_MAX)
			goto bad;
		p = end;
		if (*p == ':')
			break;
		p++;
	}
	if (*p++ != ':')
		goto bad;
	for (;;) {
		if (p[0] != 'e' || p[1] < 'a' || p[1] > 'd' || p[2] != 'x' ||
		    p[3] != '=' || strspn(p + 4, "01xks") != 32)
			goto bad;
		p += 4 + 32;
		if (*p == '\0')
			return 0;
		if (*p++ != ',')
			goto bad;
		if (*p == ' ')
			p++;
	}
bad:
	return xend_bad(item, err);
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
	return check_whole_value(item, err);
}

int xl_cpuid_check_list_item(const char *item, struct perr *err)
{
	libxl_cpuid_policy_list list = NULL;
	int rc;

	if (!xend_leaf_ok(item))
		return xend_bad(item, err);
	rc = libxl_cpuid_parse_config_xend(&list, item);
	libxl_cpuid_dispose(&list);
	if (rc != 0) {
		perr_printf(err, "cpuid item '%.120s' refused by libxl: %s",
		    item, xend_reason(rc));
		return -1;
	}
	return check_whole_xend(item, err);
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

/*
 * The grammar of a value hetmig reads (the scripts' is_cpuid_value asks
 * it through featcmp -e): a value goes into xl configs and, through them,
 * to xl, so nothing but these characters may reach it.  libxl alone is
 * not enough: it takes "avx=0\"" or a register string of 32 bytes of
 * anything as valid.
 */
static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

static bool value_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/*
 * show: S for a message on one line, cut to fit BUF: printable ASCII as
 * it is, anything else as \xNN.
 */
static const char *show(const char *s, char *buf, size_t n)
{
	size_t len = 0;

	for (; *s != '\0' && len + 8 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f)
			buf[len++] = (char)c;
		else
			len += (size_t)snprintf(buf + len, n - len, "\\x%02x", c);
	}
	if (*s != '\0')
		len += (size_t)snprintf(buf + len, n - len, "...");
	buf[len] = '\0';
	return buf;
}

/* The error for VALUE at P, which the grammar does not allow. */
static int grammar_error(const char *value, const char *p, struct perr *err)
{
	char v[128], c[2] = { *p, '\0' }, cs[16];

	if (*p == '\0')
		perr_printf(err, "cpuid value '%s': unexpected end",
		    show(value, v, sizeof(v)));
	else
		perr_printf(err, "cpuid value '%s': unexpected '%s' at "
		    "character %zu", show(value, v, sizeof(v)),
		    show(c, cs, sizeof(cs)), (size_t)(p - value) + 1);
	return -1;
}

/*
 * grammar_libxl: VALUE is "host" followed by ",NAME=VALUE" items, NAME
 * of [A-Za-z0-9_.-], VALUE of [A-Za-z0-9].  The first word is checked
 * before anything else, for xl_cpuid_check_value's message.
 */
static int grammar_libxl(const char *value, struct perr *err)
{
	const char *p = value;

	if (strncmp(value, "host", 4) != 0 || (value[4] != ',' &&
	    value[4] != '\0')) {
		char v[128];

		perr_printf(err, "cpuid value '%s': the first word must be "
		    "'host'", show(value, v, sizeof(v)));
		return -1;
	}
	for (p += 4; *p == ','; ) {
		const char *start = ++p;

		while (name_char(*p))
			p++;
		if (p == start || *p != '=')
			return grammar_error(value, p, err);
		start = ++p;
		while (value_char_ok(*p))
			p++;
		if (p == start)
			return grammar_error(value, p, err);
	}
	return *p == '\0' ? 0 : grammar_error(value, p, err);
}

static bool hex_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F') || c == 'x';
}

/*
 * grammar_list: VALUE is "[" then double-quoted legacy items separated
 * by commas, then "]", with spaces around them: an item is
 * LEAF[,SUBLEAF]:eXx=BITS[,eXx=BITS...] with 32 of [01xks] per register.
 */
static int grammar_list(const char *value, struct perr *err)
{
	const char *p = value + 1;
	int i, nitems = 0;

	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == ']' && nitems == 0)
			break;
		if (*p++ != '"')
			return grammar_error(value, p - 1, err);
		if (!hex_char(*p))
			return grammar_error(value, p, err);
		while (hex_char(*p))
			p++;
		if (*p == ',') {
			if (!hex_char(*++p))
				return grammar_error(value, p, err);
			while (hex_char(*p))
				p++;
		}
		if (*p != ':')
			return grammar_error(value, p, err);
		do {
			p++;
			if (p[0] != 'e' || p[1] < 'a' || p[1] > 'd' ||
			    p[2] != 'x' || p[3] != '=')
				return grammar_error(value, p, err);
			p += 4;
			for (i = 0; i < 32; i++, p++)
				if (*p == '\0' || strchr("01xks", *p) == NULL)
					return grammar_error(value, p, err);
		} while (*p == ',');
		if (*p++ != '"')
			return grammar_error(value, p - 1, err);
		nitems++;
		while (*p == ' ')
			p++;
		if (*p == ']')
			break;
		if (*p++ != ',')
			return grammar_error(value, p - 1, err);
	}
	p++;
	while (*p == ' ')
		p++;
	return *p == '\0' ? 0 : grammar_error(value, p, err);
}

/*
 * value_setting: what libxl sets a one-bit field to with "NAME=VAL", as
 * libxl_cpuid_parse_config decides it: a number (strtoull, base 0) gives
 * its lowest bit; otherwise 'x', 'k' or 's' by the first character.
 * Returns '0', '1', 'x', 'k', 's', or '\0' when libxl refuses VAL.
 */
static char value_setting(const char *val)
{
	unsigned long long num;
	char *end;

	num = strtoull(val, &end, 0);
	if (end != val)
		return "01"[num & 1];
	if (val[0] == 'x' || val[0] == 'k' || val[0] == 's')
		return val[0];
	return '\0';
}

/*
 * libxl_feature: the feature libxl sets with the item name NAME: Xen's
 * name, an alias of the table above, or a spelling feat_lookup knows,
 * verified with try_name() so that "clflush" (the line size field) is
 * no feature; or -1.
 */
static int libxl_feature(const char *name)
{
	size_t i;
	int f;

	f = feat_lookup(name);
	if (f >= 0 && try_name(f, name))
		return f;
	for (i = 0; i < sizeof(libxl_aliases) / sizeof(libxl_aliases[0]); i++)
		if (strcmp(libxl_aliases[i].libxl, name) == 0 &&
		    (f = feat_lookup(libxl_aliases[i].xen)) >= 0 &&
		    try_name(f, name))
			return f;
	return -1;
}

/* A growing array of items. */
struct items {
	struct xl_item *v;
	size_t n, alloc;
};

static struct xl_item *items_add(struct items *it)
{
	if (it->n == it->alloc) {
		it->alloc = it->alloc ? it->alloc * 2 : 16;
		it->v = erealloc(it->v, it->alloc * sizeof(it->v[0]));
	}
	memset(&it->v[it->n], 0, sizeof(it->v[0]));
	return &it->v[it->n++];
}

/*
 * classify: ITEM (one libxl-form item, checked) as a setting: the
 * feature it sets, if it sets exactly one, and to what.
 */
static void classify(const char *item, struct xl_item *it)
{
	const char *eq = strchr(item, '=');
	char name[XL_ITEM_MAX];
	size_t len = eq != NULL ? (size_t)(eq - item) : 0;

	snprintf(it->text, sizeof(it->text), "%s", item);
	it->feature = -1;
	it->value = '\0';
	it->legacy = false;
	if (eq == NULL || len >= sizeof(name))
		return;
	memcpy(name, item, len);
	name[len] = '\0';
	it->value = value_setting(eq + 1);
	if (it->value != '\0')
		it->feature = libxl_feature(name);
	if (it->feature < 0)
		it->value = '\0';
}

/* One entry of a legacy list: a leaf, and its registers as libxl has them. */
struct xleaf {
	uint32_t leaf, subleaf;
	bool anysub;		/* no subleaf given */
	char reg[4][33];	/* 32 characters, bit 31 first; "" when unset */
};

/* A growing array of legacy entries. */
struct xleaves {
	struct xleaf *v;
	size_t n, alloc;
};

/* The entry for LEAF/SUBLEAF (libxl's key: a missing subleaf is its own). */
static struct xleaf *xleaf_get(struct xleaves *l, uint32_t leaf,
			       uint32_t subleaf, bool anysub)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].leaf == leaf && l->v[i].anysub == anysub &&
		    (anysub || l->v[i].subleaf == subleaf))
			return &l->v[i];
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 8;
		l->v = erealloc(l->v, l->alloc * sizeof(l->v[0]));
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	l->v[l->n].leaf = leaf;
	l->v[l->n].subleaf = anysub ? 0 : subleaf;
	l->v[l->n].anysub = anysub;
	return &l->v[l->n++];
}

/*
 * xleaf_parse: read one legacy item (grammar and libxl checked) into L:
 * each register it names replaces that register's string, as
 * libxl_cpuid_parse_config_xend does.  With MERGE, only its characters
 * other than 'x' are written over what is there.
 */
static void xleaf_parse(struct xleaves *l, const char *item, bool merge)
{
	unsigned long leaf, sub = 0;
	const char *p;
	char *end;
	bool anysub = true;
	struct xleaf *x;
	int r, i;

	leaf = strtoul(item, &end, 0);
	if (*end == ',') {
		sub = strtoul(end + 1, &end, 0);
		anysub = false;
	}
	x = xleaf_get(l, (uint32_t)leaf, (uint32_t)sub, anysub);
	/* p: "eXx=" and 32 characters, then ',' and the next, or the end. */
	for (p = end + 1;; p += 37) {
		r = p[1] - 'a';
		if (!merge) {
			memcpy(x->reg[r], p + 4, 32);
		} else {
			if (x->reg[r][0] == '\0')
				memset(x->reg[r], 'x', 32);
			for (i = 0; i < 32; i++)
				if (p[4 + i] != 'x')
					x->reg[r][i] = p[4 + i];
		}
		if (p[36] != ',')
			break;
	}
}

/*
 * xleaf_feature: the feature at BIT of register R of X, by the words of
 * the feature table (a legacy item without a subleaf sets subleaf 0 of a
 * leaf that has subleaves), or -1.
 */
static int xleaf_feature(const struct xleaf *x, int r, int bit)
{
	int w;

	for (w = 0; w < HM_NR_WORDS; w++) {
		const struct hm_word *hw = &hm_words[w];

		if (hw->src != HM_SRC_CPUID || hw->leaf != x->leaf ||
		    (int)hw->reg != r)
			continue;
		if (!hw->anysub && hw->subleaf != (x->anysub ? 0 : x->subleaf))
			continue;
		return feat_by_value((unsigned int)w * 32 + (unsigned int)bit);
	}
	return -1;
}

/*
 * xleaf_item: X's registers as one legacy item into BUF ("" when none is
 * set).  Registers that are all 'x' are left out.
 */
static void xleaf_item(const struct xleaf *x, char *buf, size_t n)
{
	size_t off;
	int r;
	bool first = true;

	if (x->anysub)
		off = (size_t)snprintf(buf, n, "0x%08x:", x->leaf);
	else
		off = (size_t)snprintf(buf, n, "0x%08x,%u:", x->leaf,
		    x->subleaf);
	for (r = 0; r < 4; r++) {
		if (x->reg[r][0] == '\0' || strspn(x->reg[r], "x") == 32)
			continue;
		off += (size_t)snprintf(buf + off, n - off, "%se%cx=%s",
		    first ? "" : ",", "abcd"[r], x->reg[r]);
		first = false;
	}
	if (first)
		buf[0] = '\0';
}

/*
 * legacy_feature_item: feature F set to C, as an item: "NAME=C" under its
 * libxl name, or when libxl has none a legacy item of that one bit.
 */
static int legacy_feature_item(struct items *out, int f, char c,
			       struct perr *err)
{
	const struct hm_word *w = &hm_words[feat_word(f)];
	struct xl_item *it = items_add(out);
	const char *name = xl_cpuid_libxl_name(f);
	struct xleaf x;

	it->feature = f;
	it->value = c;
	if (name != NULL) {
		snprintf(it->text, sizeof(it->text), "%s=%c", name, c);
		return xl_cpuid_check_item(it->text, err);
	}
	memset(&x, 0, sizeof(x));
	x.leaf = w->leaf;
	x.subleaf = w->anysub ? 0 : w->subleaf;
	x.anysub = w->anysub;
	memset(x.reg[w->reg], 'x', 32);
	x.reg[w->reg][31 - feat_bit(f)] = c;
	xleaf_item(&x, it->text, sizeof(it->text));
	it->legacy = true;
	return xl_cpuid_check_list_item(it->text, err);
}

/*
 * items_list: the settings of a legacy list VALUE (grammar checked): its
 * items checked by libxl and merged as libxl merges them, then each
 * entry split into one item per feature bit it sets and one legacy item
 * for its other bits, if any is set.
 */
static int items_list(const char *value, struct items *out, struct perr *err)
{
	struct xleaves l = { NULL, 0, 0 };
	struct xleaf rest;
	const char *p = value, *q;
	char item[XL_ITEM_MAX];
	size_t i;
	int r, b, f, rc = -1;

	while ((p = strchr(p, '"')) != NULL) {
		q = strchr(p + 1, '"');
		if ((size_t)(q - p - 1) >= sizeof(item)) {
			perr_printf(err, "cpuid item '%.60s...': too long", p + 1);
			goto out;
		}
		memcpy(item, p + 1, (size_t)(q - p - 1));
		item[q - p - 1] = '\0';
		if (xl_cpuid_check_list_item(item, err) < 0)
			goto out;
		xleaf_parse(&l, item, false);
		p = q + 1;
	}
	for (i = 0; i < l.n; i++) {
		rest = l.v[i];
		for (r = 0; r < 4; r++) {
			if (rest.reg[r][0] == '\0')
				continue;
			for (b = 0; b < 32; b++) {
				char c = rest.reg[r][31 - b];

				if (c == 'x' || (f = xleaf_feature(&rest, r,
				    b)) < 0)
					continue;
				if (legacy_feature_item(out, f, c, err) < 0)
					goto out;
				rest.reg[r][31 - b] = 'x';
			}
		}
		xleaf_item(&rest, item, sizeof(item));
		if (item[0] != '\0') {
			struct xl_item *it = items_add(out);

			snprintf(it->text, sizeof(it->text), "%s", item);
			it->feature = -1;
			it->legacy = true;
		}
	}
	rc = 0;
out:
	free(l.v);
	return rc;
}

/* items_libxl: the settings of a libxl-form VALUE, each checked by libxl. */
static int items_libxl(const char *value, struct items *out,
		       struct perr *err)
{
	char *copy = estrdup(value), *tok, *save = NULL;
	int rc = -1;

	tok = strtok_r(copy, ",", &save);	/* "host" */
	while (tok != NULL && (tok = strtok_r(NULL, ",", &save)) != NULL) {
		if (strlen(tok) >= XL_ITEM_MAX) {
			perr_printf(err, "cpuid item '%.60s...': too long", tok);
			goto out;
		}
		if (xl_cpuid_check_item(tok, err) < 0)
			goto out;
		classify(tok, items_add(out));
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

int xl_cpuid_items(const char *value, struct xl_item **items_r, size_t *n_r,
		   struct perr *err)
{
	struct items out = { NULL, 0, 0 };
	int rc;

	*items_r = NULL;
	*n_r = 0;
	if (value[0] == '\0')
		return 0;	/* xl ignores an empty value */
	if (value[0] == '[')
		rc = grammar_list(value, err) < 0 ? -1 :
		    items_list(value, &out, err);
	else
		rc = grammar_libxl(value, err) < 0 ? -1 :
		    items_libxl(value, &out, err);
	if (rc < 0) {
		free(out.v);
		return -1;
	}
	*items_r = out.v;
	*n_r = out.n;
	return 0;
}

int xl_cpuid_parse(const char *value, struct fset *hide_r, struct perr *err)
{
	struct xl_item *items;
	size_t n, i;

	memset(hide_r, 0, sizeof(*hide_r));
	if (xl_cpuid_items(value, &items, &n, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (items[i].feature < 0)
			continue;
		if (items[i].value == '0')
			fs_set(hide_r, items[i].feature);
		else
			fs_clear(hide_r, items[i].feature);
	}
	free(items);
	return 0;
}

/* Set feature F's bit to C ('0', '1', 'x', 'k', 's') in the legacy leaves. */
static int set_bit(struct xleaves *l, int f, char c, struct perr *err)
{
	const struct hm_word *w = &hm_words[feat_word(f)];
	struct xleaf *x;

	if (w->src != HM_SRC_CPUID) {
		perr_printf(err, "feature '%s' is an msr bit: the installed "
		    "libxl has no name for it and the legacy form has no msrs",
		    hm_features[f].name);
		return -1;
	}
	x = xleaf_get(l, w->leaf, w->subleaf, w->anysub);
	if (x->reg[w->reg][0] == '\0')
		memset(x->reg[w->reg], 'x', 32);
	x->reg[w->reg][31 - feat_bit(f)] = c;
	return 0;
}

/*
 * render_legacy: the whole value as an xl list of legacy leaf items:
 * HIDE's bits '0', then each of EXTRA's settings: a feature's bit, or a
 * legacy item's bits other than 'x'.  Returns malloc'd text or NULL.
 */
static char *render_legacy(const struct fset *hide, const struct xl_item *extra,
			   size_t n, struct perr *err)
{
	struct xleaves l = { NULL, 0, 0 };
	struct sbuf b = { NULL, 0, 0 };
	char item[XL_ITEM_MAX];
	size_t i, k = 0;
	int f;

	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(hide, f) && set_bit(&l, f, '0', err) < 0)
			goto fail;
	for (i = 0; i < n; i++) {
		if (extra[i].legacy && extra[i].feature < 0) {
			xleaf_parse(&l, extra[i].text, true);
		} else if (extra[i].feature >= 0) {
			if (set_bit(&l, extra[i].feature, extra[i].value,
			    err) < 0)
				goto fail;
		} else {
			perr_printf(err, "cpuid item '%.120s' cannot go into "
			    "the legacy form (feature=0|1|x|k|s only)",
			    extra[i].text);
			goto fail;
		}
	}
	sb_add(&b, "[");
	for (i = 0; i < l.n; i++) {
		xleaf_item(&l.v[i], item, sizeof(item));
		if (item[0] == '\0')
			continue;
		if (xl_cpuid_check_list_item(item, err) < 0)
			goto fail;
		sb_add(&b, k++ ? ", \"" : " \"");
		sb_add(&b, item);
		sb_add(&b, "\"");
	}
	sb_add(&b, k ? " ]" : "]");
	free(l.v);
	return b.s;
fail:
	free(l.v);
	free(b.s);
	return NULL;
}

char *xl_cpuid_render_items(const struct fset *hide,
			    const struct xl_item *extra, size_t n,
			    bool legacy, struct perr *err)
{
	struct sbuf b = { NULL, 0, 0 };
	char item[64];
	size_t i;
	int f;

	for (i = 0; i < n && !legacy; i++)
		legacy = extra[i].legacy;
	for (f = 0; f < HM_NR_FEATURES && !legacy; f++)
		legacy = fs_has(hide, f) && xl_cpuid_libxl_name(f) == NULL;
	if (legacy)
		return render_legacy(hide, extra, n, err);
	sb_add(&b, "host");
	for (f = 0; f < HM_NR_FEATURES; f++) {
		if (!fs_has(hide, f))
			continue;
		snprintf(item, sizeof(item), "%s=0", xl_cpuid_libxl_name(f));
		if (xl_cpuid_check_item(item, err) < 0)
			goto fail;
		sb_add(&b, ",");
		sb_add(&b, item);
	}
	for (i = 0; i < n; i++) {
		if (xl_cpuid_check_item(extra[i].text, err) < 0)
			goto fail;
		sb_add(&b, ",");
		sb_add(&b, extra[i].text);
	}
	/* The whole value once more, split as xl splits it. */
	if (xl_cpuid_check_value(b.s, err) < 0)
		goto fail;
	return b.s;
fail:
	free(b.s);
	return NULL;
}

/*
 * render_extra: xl_cpuid_render's EXTRA, a list of libxl-form items, as
 * settings, rendered with HIDE.
 */
static char *render_extra(const struct fset *hide, const char *extra,
			  bool legacy, struct perr *err)
{
	struct items it = { NULL, 0, 0 };
	char *copy = NULL, *tok, *save = NULL, *line = NULL;

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
				goto out;
			}
			if (strlen(tok) >= XL_ITEM_MAX) {
				perr_printf(err, "cpuid item '%.60s...': too "
				    "long", tok);
				goto out;
			}
			if (xl_cpuid_check_item(tok, err) < 0)
				goto out;
			classify(tok, items_add(&it));
		}
	}
	line = xl_cpuid_render_items(hide, it.v, it.n, legacy, err);
out:
	free(copy);
	free(it.v);
	return line;
}

char *xl_cpuid_render(const struct fset *hide, const char *extra,
		      struct perr *err)
{
	return render_extra(hide, extra, false, err);
}

char *xl_cpuid_render_legacy(const struct fset *hide, const char *extra,
			     struct perr *err)
{
	return render_extra(hide, extra, true, err);
}
