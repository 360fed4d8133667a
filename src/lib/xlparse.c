/* xlparse.c: see xlparse.h. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xlparse.h"

/*
 * libxlutil's complaints, kept for the life of the process: a config
 * holds on to its report stream, so this one is never closed.
 */
static FILE *xlu_report;
static char *xlu_report_buf;
static size_t xlu_report_len;

XLU_Config *xlparse_text(const char *text, size_t len, const char *name,
			 char **why_r)
{
	XLU_Config *cfg = NULL;
	const char *nul, *p;
	size_t start;
	int line = 1;

	if (xlu_report == NULL) {
		xlu_report = open_memstream(&xlu_report_buf, &xlu_report_len);
		if (xlu_report == NULL)
			die("out of memory");
	}
	fflush(xlu_report);
	start = xlu_report_len;
	if ((nul = memchr(text, '\0', len)) != NULL) {
		for (p = text; p < nul; p++)
			line += *p == '\n';
		fprintf(xlu_report, "%s:%d: a NUL byte\n", name, line);
	} else if (len > INT_MAX) {
		fprintf(xlu_report, "%s: larger than 2 GiB\n", name);
	} else {
		cfg = xlu_cfg_init(xlu_report, name);
		if (cfg == NULL)
			die("out of memory");
		if (xlu_cfg_readdata(cfg, text, (int)len) == 0)
			return cfg;
		xlu_cfg_destroy(cfg);
		cfg = NULL;
	}
	fflush(xlu_report);
	if (why_r != NULL) {
		*why_r = ealloc(xlu_report_len - start + 1);
		memcpy(*why_r, xlu_report_buf + start, xlu_report_len - start);
	}
	return NULL;
}

const char *xlparse_complaint(const char *why, const char *name, char *buf,
			     size_t n)
{
	size_t nlen = strlen(name), d;
	int w = (int)strcspn(why, "\n");

	if (strncmp(why, name, nlen) == 0 && why[nlen] == ':') {
		d = strspn(why + nlen + 1, "0123456789");
		if (d > 0 && why[nlen + 1 + d] == ':') {
			snprintf(buf, n, "line %.*s", w - (int)nlen - 1,
			    why + nlen + 1);
			return buf;
		}
	}
	snprintf(buf, n, "%.*s", w > 0 ? w : 1, w > 0 ? why : "?");
	return buf;
}
