/*
 * util.h: small helpers shared by every hetmig binary, in the style of
 * git's usage.c and sbase's libutil: one way to die, allocations that
 * cannot fail, and a checked close of stdout.
 */
#ifndef HETMIG_UTIL_H
#define HETMIG_UTIL_H

#include <stddef.h>
#include <stdio.h>

/* Set by each binary's main() before anything can fail. */
extern const char *progname;

/* die: "PROG: MESSAGE" on stderr, exit 2.  MESSAGE is lower case, no dot. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* warnx-style: "PROG: warning: MESSAGE" on stderr. */
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Allocations that die on failure; the caller owns the result. */
void *ealloc(size_t n);
void *erealloc(void *p, size_t n);
char *estrdup(const char *s);

/*
 * read_all: read the whole of PATH ("-" is stdin) into a NUL-terminated
 * buffer the caller frees; *len_r gets its length.  At most MAX bytes are
 * accepted.  Returns NULL with errno set on failure: the open's or the
 * read's own (EISDIR for a directory), EFBIG when too big.
 */
char *read_all(const char *path, size_t max, size_t *len_r);

/* read_fd: the same from the open descriptor FD, which stays open. */
char *read_fd(int fd, size_t max, size_t *len_r);

/*
 * A growing NUL-terminated string: start it as { NULL, 0, 0 }; the owner
 * frees s (NULL while nothing was added).
 */
struct sbuf {
	char *s;
	size_t len, alloc;
};

/* sb_addn, sb_add: append N bytes of S, or the string S. */
void sb_addn(struct sbuf *b, const char *s, size_t n);
void sb_add(struct sbuf *b, const char *s);

/* fshut: flush and close FP; die naming NAME if writing failed. */
void fshut(FILE *fp, const char *name);

#endif
