/*
 * fuzz-xlconf.c: libFuzzer target for xlcfg's reader (xlconf.c): the
 * scanner that finds the settings of an xl config and the in-place edit.
 *
 * Beyond never crashing, leaking or reading out of bounds, the scanner is
 * held to libxlutil itself, the parser xl uses: on every text libxlutil
 * accepts, it must find the settings, and the edits xlcfg makes (cpuid=
 * set and unset) must give a text that libxlutil accepts, with cpuid=
 * read back as written and every other key unchanged.  Any disagreement
 * aborts, as a crash would.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxlutil.h>

#include "util.h"
#include "xlconf.h"
#include "xlcpuid.h"

#define RHS "\"host,avx2=0\""
#define RHS_VALUE "host,avx2=0"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);
const char *__lsan_default_options(void);

/*
 * libxlutil 4.17 leaks a value on some texts it refuses ('n=["",""' and a
 * byte its lexer refuses, at the end of the text).  Its leaks are not the
 * scanner's, which never calls it; xlcfg's own use of libxlutil is held
 * to LeakSanitizer by its tests on the SANITIZE build.
 */
const char *__lsan_default_suppressions(void)
{
	return "leak:libxlutil.so\n";
}

/* Keep the run's last line libFuzzer's own summary. */
const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}

static FILE *devnull;

/* The text through libxlutil, or NULL when it refuses it. */
static XLU_Config *xlu(const char *text, size_t len)
{
	XLU_Config *cfg;

	if (len > 1u << 24)
		return NULL;
	cfg = xlu_cfg_init(devnull, "fuzz");
	if (cfg == NULL)
		abort();
	if (xlu_cfg_readdata(cfg, text, (int)len) != 0) {
		xlu_cfg_destroy(cfg);
		return NULL;
	}
	return cfg;
}

static int same_value(const XLU_Config *a, XLU_ConfigValue *va,
		      const XLU_Config *b, XLU_ConfigValue *vb);

/* Whether two lists hold equal items, in the same order. */
static int same_list(const XLU_Config *a, XLU_ConfigList *la,
		     const XLU_Config *b, XLU_ConfigList *lb)
{
	XLU_ConfigValue *ia, *ib;
	int i;

	for (i = 0;; i++) {
		ia = xlu_cfg_get_listitem2(la, i);
		ib = xlu_cfg_get_listitem2(lb, i);
		if (ia == NULL || ib == NULL)
			return ia == ib;
		if (!same_value(a, ia, b, ib))
			return 0;
	}
}

/* Whether two values are equal, as libxlutil holds them. */
static int same_value(const XLU_Config *a, XLU_ConfigValue *va,
		      const XLU_Config *b, XLU_ConfigValue *vb)
{
	XLU_ConfigList *la, *lb;
	char *sa, *sb;

	if (xlu_cfg_value_type(va) != xlu_cfg_value_type(vb))
		return 0;
	if (xlu_cfg_value_type(va) == XLU_STRING) {
		xlu_cfg_value_get_string(a, va, &sa, 1);
		xlu_cfg_value_get_string(b, vb, &sb, 1);
		return strcmp(sa, sb) == 0;
	}
	xlu_cfg_value_get_list(a, va, &la, 1);
	xlu_cfg_value_get_list(b, vb, &lb, 1);
	return same_list(a, la, b, lb);
}

/* Whether KEY reads the same from A and B (both unset counts). */
static int same_key(const XLU_Config *a, const XLU_Config *b, const char *key)
{
	XLU_ConfigList *la, *lb;
	const char *sa, *sb;
	int ra, rb;

	ra = xlu_cfg_get_string(a, key, &sa, 1);
	rb = xlu_cfg_get_string(b, key, &sb, 1);
	if (ra == 0 || rb == 0)
		return ra == rb && strcmp(sa, sb) == 0;
	ra = xlu_cfg_get_list(a, key, &la, NULL, 1);
	rb = xlu_cfg_get_list(b, key, &lb, NULL, 1);
	if (ra != 0 || rb != 0)
		return ra == rb;
	return same_list(a, la, b, lb);
}

/* The scanner's own invariants on an accepted TEXT. */
static void check_scan(const char *text, size_t len, const struct xlconf *sc)
{
	size_t i, klen;
	int line = 0;

	for (i = 0; i < sc->n; i++) {
		const struct xlconf_setting *s = &sc->v[i];

		klen = strlen(s->key);
		if (!xlconf_good_key(s->key) || s->start + klen > s->vstart ||
		    s->vstart >= s->vend || s->vend > len ||
		    memcmp(text + s->start, s->key, klen) != 0 ||
		    s->line < line)
			abort();
		line = s->line;
	}
}

/*
 * One edit: KEY set to RHS (NULL: unset).  It must succeed on a text the
 * scanner accepts, and the result must scan with KEY as asked.  With OLD
 * (TEXT as libxlutil reads it), libxlutil must read the result the same
 * but for KEY.
 */
static void check_edit(const char *text, size_t len, const struct xlconf *sc,
		       const char *key, const char *rhs, const XLU_Config *old)
{
	struct xlconf nsc = XLCONF_INIT;
	const struct xlconf_setting *s;
	XLU_Config *cfg;
	struct perr err;
	const char *str;
	char *out = NULL;
	size_t outlen, i;

	if (xlconf_edit(text, len, key, rhs, &out, &outlen, &err) < 0)
		abort();
	if (out[outlen] != '\0' || xlconf_scan(out, outlen, &nsc, &err) < 0)
		abort();
	s = xlconf_find(&nsc, key);
	if (rhs == NULL ? s != NULL : s == NULL || s->add ||
	    s->vend - s->vstart != strlen(rhs) ||
	    memcmp(out + s->vstart, rhs, strlen(rhs)) != 0)
		abort();
	for (i = 0; s != NULL && i < nsc.n; i++)
		if (&nsc.v[i] != s && strcmp(nsc.v[i].key, key) == 0)
			abort();
	if (old != NULL) {
		cfg = xlu(out, outlen);
		if (cfg == NULL)
			abort();
		if (rhs == NULL ? xlu_cfg_get_string(cfg, key, &str, 1) !=
		    ESRCH || xlu_cfg_get_list(cfg, key, NULL, NULL, 1) !=
		    ESRCH : xlu_cfg_get_string(cfg, key, &str, 1) != 0 ||
		    strcmp(str, RHS_VALUE) != 0)
			abort();
		for (i = 0; i < sc->n; i++)
			if (strcmp(sc->v[i].key, key) != 0 &&
			    !same_key(old, cfg, sc->v[i].key))
				abort();
		xlu_cfg_destroy(cfg);
	}
	xlconf_release(&nsc);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xlconf sc = XLCONF_INIT;
	XLU_Config *old = NULL;
	XLU_ConfigList *list;
	struct perr err;
	const char *str;
	char *text, *out;
	size_t outlen;
	int rc, i;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	/* No NUL after the text: the scanner must keep to LEN bytes. */
	text = malloc(size ? size : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	/*
	 * libxlutil asserts on a NUL byte inside a quoted string, so xlcfg
	 * refuses a text with a NUL byte before libxlutil sees it.  It also
	 * accepts garbage on a last line without its newline (its lexer's
	 * error state ends at the end of input without a word): only texts
	 * that end in a newline are held to it.
	 */
	if (memchr(text, '\0', size) == NULL &&
	    (size == 0 || text[size - 1] == '\n'))
		old = xlu(text, size);
	err.msg[0] = '\0';
	rc = xlconf_scan(text, size, &sc, &err);
	if (rc < 0) {
		if (err.msg[0] == '\0' || strchr(err.msg, '\n') != NULL)
			abort();
		if (old != NULL)
			abort();	/* libxlutil reads it, the scanner not */
		if (xlconf_edit(text, size, "cpuid", RHS, &out, &outlen,
		    &err) == 0)
			abort();
		goto out;
	}
	check_scan(text, size, &sc);
	check_edit(text, size, &sc, "cpuid", RHS, old);
	check_edit(text, size, &sc, "cpuid", NULL, old);
	if (sc.n > 0) {
		check_edit(text, size, &sc, sc.v[0].key, RHS, old);
		check_edit(text, size, &sc, sc.v[sc.n - 1].key, NULL, old);
	}
	/*
	 * xlcfg check's reading of the value, in either form: any string,
	 * never a crash nor a leak (libxl's own included: a legacy item it
	 * would lose is refused before it sees it).
	 */
	if (old != NULL && xlu_cfg_get_string(old, "cpuid", &str, 1) == 0)
		xl_cpuid_check_value(str, &err);
	else if (old != NULL &&
	    xlu_cfg_get_list(old, "cpuid", &list, NULL, 1) == 0)
		for (i = 0; (str = xlu_cfg_get_listitem(list, i)) != NULL; i++)
			xl_cpuid_check_list_item(str, &err);
out:
	if (old != NULL)
		xlu_cfg_destroy(old);
	xlconf_release(&sc);
	free(text);
	return 0;
}
