/*
 * harness.h: a tiny counting test harness, in the manner of Xen's
 * tools/tests/cpu-policy: fail() reports and counts, main() ends with
 * harness_done() which prints "N passed, N failed" and sets the exit code.
 */
#ifndef HETMIG_HARNESS_H
#define HETMIG_HARNESS_H

#include <stdio.h>
#include <stdlib.h>

static unsigned int nr_failures, nr_checks;

#define fail(fmt, ...) do {						\
	nr_failures++;							\
	fprintf(stderr, "FAIL %s:%d: " fmt "\n", __FILE__, __LINE__,	\
	    ##__VA_ARGS__);						\
} while (0)

/* check(COND, fmt, ...): count a check; fail with the message if !COND. */
#define check(cond, fmt, ...) do {					\
	nr_checks++;							\
	if (!(cond))							\
		fail(fmt, ##__VA_ARGS__);				\
} while (0)

static inline int harness_done(const char *name)
{
	printf("%s: %u passed, %u failed\n", name, nr_checks - nr_failures,
	    nr_failures);
	return nr_failures ? 1 : 0;
}

#endif
