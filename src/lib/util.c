/* util.c: see util.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

const char *progname = "hetmig";

/*
 * say: "PROG: PREFIX MESSAGE" on stderr as one line.  The message often
 * quotes what the user gave (a name, a path, a cpuid item); a control
 * character in it is written as a C escape (\n, \t, \x1b), so that an
 * error stays one line whatever its subject holds.
 */
static void __attribute__((format(printf, 2, 0)))
say(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024], *msg = buf;
	const unsigned char *p;
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(buf, sizeof(buf), fmt, aq);
	va_end(aq);
	if (n < 0) {
		buf[0] = '\0';
		n = 0;
	}
	/* A longer message is cut rather than lost when memory is short. */
	if ((size_t)n >= sizeof(buf) && (msg = malloc((size_t)n + 1)) != NULL)
		vsnprintf(msg, (size_t)n + 1, fmt, ap);
	else if (msg == NULL)
		msg = buf;
	fprintf(stderr, "%s: %s", progname, prefix);
	for (p = (const unsigned char *)msg; *p != '\0'; p++) {
		if (*p == '\n')
			fputs("\\n", stderr);
		else if (*p == '\t')
			fputs("\\t", stderr);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(stderr, "\\x%02x", *p);
		else
			fputc(*p, stderr);
	}
	fputc('\n', stderr);
	if (msg != buf)
		free(msg);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("", fmt, ap);
	va_end(ap);
	exit(2);
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("warning: ", fmt, ap);
	va_end(ap);
}

void *ealloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

void *erealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

char *estrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		die("out of memory");
	return p;
}

char *read_fd(int fd, size_t max, size_t *len_r)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int saved;

	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			buf = erealloc(buf, cap + 1);
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		len += (size_t)n;
		if (len > max) {
			errno = EFBIG;
			goto fail;
		}
		if (n == 0)
			break;
	}
	buf[len] = '\0';
	*len_r = len;
	return buf;
fail:
	saved = errno;
	free(buf);
	errno = saved;
	return NULL;
}

char *read_all(const char *path, size_t max, size_t *len_r)
{
	char *buf;
	int fd, saved;

	if (strcmp(path, "-") == 0)
		return read_fd(STDIN_FILENO, max, len_r);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = read_fd(fd, max, len_r);
	saved = errno;
	close(fd);
	errno = saved;
	return buf;
}

void fshut(FILE *fp, const char *name)
{
	int bad = ferror(fp);

	bad |= fflush(fp) != 0;
	if (fp != stdout && fp != stderr)
		bad |= fclose(fp) != 0;
	if (bad)
		die("cannot write '%s': %s", name, strerror(errno ? errno : EIO));
}

void sb_addn(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->alloc) {
		b->alloc = (b->len + n + 1) * 2;
		b->s = erealloc(b->s, b->alloc);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sb_add(struct sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}
