/*
 * harness.h: a tiny counting test harness, in the manner of Xen's
 * tools/tests/cpu-policy: check() counts, reports a failure with its place,
 * and main() ends with harness_done(), which prints "N passed, N failed"
 * and gives the exit code.
 */
#ifndef HETMIG_HARNESS_H
#define HETMIG_HARNESS_H

#include <stdarg.h>
#include <stdio.h>

static unsigned int nr_failures, nr_checks;

static void check_(int ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), unused));

static void check_(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	nr_checks++;
	if (ok)
		return;
	nr_failures++;
	fprintf(stderr, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* check(COND, FMT, ...): count one check; report FMT when COND is false. */
#define check(cond, ...) check_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static int harness_done(const char *name) __attribute__((unused));

static int harness_done(const char *name)
{
	printf("%s: %u passed, %u failed\n", name, nr_checks - nr_failures,
	    nr_failures);
	return nr_failures ? 1 : 0;
}

#endif
