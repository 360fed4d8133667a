/*
 * xlcfg: read, check and edit xl config files.
 *
 *   xlcfg get FILE KEY		the value, as libxlutil reads it
 *   xlcfg check FILE		parses with libxlutil; cpuid= checked by libxl
 *   xlcfg set FILE KEY VALUE	replace KEY in place, or append it
 *   xlcfg unset FILE KEY		remove KEY
 *
 * An edit touches the bytes of KEY's setting only: every other line,
 * comment and blank stays as it was.  libxlutil has no writer, so the
 * settings are found by a scanner that follows its lexer
 * (libxlu_cfg_l.l) and grammar (libxlu_cfg_y.y); the result is then read
 * back through libxlutil and must give KEY's new value and every other
 * key's old one, or nothing is written.  Writing is a temporary file in
 * the same directory, fsync, rename, under a lock on the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxlutil.h>

#include "policy.h"
#include "util.h"
#include "xlcpuid.h"

#define MAX_CFG (16u << 20)
#define MAX_DEPTH 64
#define MAX_KEY 128

/* One KEY = VALUE (or KEY += VALUE) of a config text, as byte offsets. */
struct setting {
	char key[MAX_KEY];
	size_t start;		/* the key's first byte */
	size_t vstart, vend;	/* the value's bytes */
	int line;		/* of the key, from 1 */
	bool add;		/* += */
};

struct scan {
	struct setting *v;
	size_t n, alloc;
};

enum tok {
	T_EOF, T_ERR, T_IDENT, T_NUMBER, T_STRING, T_NL, T_EQ, T_ADD,
	T_LBRACK, T_RBRACK, T_COMMA, T_SEMI
};

struct lexer {
	const char *s;
	size_t len, pos;
	size_t tstart, tend;	/* the last token */
	int line;
};

static void xerr(struct perr *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void xerr(struct perr *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static bool is_lower(int c) { return c >= 'a' && c <= 'z'; }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* The next token, as libxlu's lexer would see it. */
static enum tok lex(struct lexer *l)
{
	const char *s = l->s;
	char q;

	while (l->pos < l->len && (s[l->pos] == ' ' || s[l->pos] == '\t'))
		l->pos++;
	l->tstart = l->pos;
	if (l->pos >= l->len)
		return T_EOF;
	switch (s[l->pos]) {
	case '\n':
		l->pos++;
		l->tend = l->pos;
		l->line++;
		return T_NL;
	case '#':
		/* A comment is a newline; one without its newline is an error. */
		while (l->pos < l->len && s[l->pos] != '\n')
			l->pos++;
		if (l->pos >= l->len)
			return T_ERR;
		l->pos++;
		l->tend = l->pos;
		l->line++;
		return T_NL;
	case '=':
		l->tend = ++l->pos;
		return T_EQ;
	case '+':
		if (l->pos + 1 < l->len && s[l->pos + 1] == '=') {
			l->pos += 2;
			l->tend = l->pos;
			return T_ADD;
		}
		return T_ERR;
	case '[':
		l->tend = ++l->pos;
		return T_LBRACK;
	case ']':
		l->tend = ++l->pos;
		return T_RBRACK;
	case ',':
		l->tend = ++l->pos;
		return T_COMMA;
	case ';':
		l->tend = ++l->pos;
		return T_SEMI;
	case '"':
	case '\'':
		q = s[l->pos++];
		while (l->pos < l->len && s[l->pos] != q) {
			if (s[l->pos] == '\n' || s[l->pos] == '\0')
				return T_ERR;
			if (s[l->pos] == '\\') {
				l->pos++;
				if (l->pos >= l->len || s[l->pos] == '\n')
					return T_ERR;
			}
			l->pos++;
		}
		if (l->pos >= l->len)
			return T_ERR;
		l->tend = ++l->pos;
		return T_STRING;
	}
	if (is_lower(s[l->pos])) {
		while (l->pos < l->len && (is_lower(s[l->pos]) ||
		    is_digit(s[l->pos]) || s[l->pos] == '_'))
			l->pos++;
		l->tend = l->pos;
		return T_IDENT;
	}
	if (is_digit(s[l->pos])) {
		while (l->pos < l->len && (is_digit(s[l->pos]) ||
		    (s[l->pos] >= 'a' && s[l->pos] <= 'f') || s[l->pos] == 'x'))
			l->pos++;
		l->tend = l->pos;
		return T_NUMBER;
	}
	return T_ERR;
}

/* Skip newlines; the first other token. */
static enum tok lex_nl(struct lexer *l)
{
	enum tok t;

	while ((t = lex(l)) == T_NL)
		;
	return t;
}

/*
 * value: parse one value whose first token T was just read; *END_R gets
 * the offset after it.  Returns 0, or -1 on a syntax error.
 */
static int value(struct lexer *l, enum tok t, int depth, size_t *end_r)
{
	if (t == T_STRING || t == T_NUMBER) {
		*end_r = l->tend;
		return 0;
	}
	if (t != T_LBRACK || depth >= MAX_DEPTH)
		return -1;
	t = lex_nl(l);
	if (t == T_RBRACK) {
		*end_r = l->tend;
		return 0;
	}
	for (;;) {
		if (value(l, t, depth + 1, end_r) < 0)
			return -1;
		t = lex_nl(l);
		if (t == T_RBRACK) {
			*end_r = l->tend;
			return 0;
		}
		if (t != T_COMMA)
			return -1;
		t = lex_nl(l);
		if (t == T_RBRACK) {
			*end_r = l->tend;
			return 0;
		}
	}
}

static void scan_release(struct scan *sc)
{
	free(sc->v);
	sc->v = NULL;
	sc->n = sc->alloc = 0;
}

/*
 * scan: find every setting of TEXT (LEN bytes).  Returns 0, or -1 with
 * ERR naming the line when TEXT is not an xl config.  SC is filled either
 * way and the caller releases it.
 */
static int scan(const char *text, size_t len, struct scan *sc, struct perr *err)
{
	struct lexer l = { text, len, 0, 0, 0, 1 };
	struct setting *s;
	enum tok t;
	size_t klen;

	memset(sc, 0, sizeof(*sc));
	for (;;) {
		t = lex(&l);
		if (t == T_EOF)
			return 0;
		if (t == T_NL || t == T_SEMI)
			continue;
		if (t != T_IDENT)
			goto bad;
		if (sc->n == sc->alloc) {
			sc->alloc = sc->alloc ? sc->alloc * 2 : 16;
			sc->v = erealloc(sc->v, sc->alloc * sizeof(*sc->v));
		}
		s = &sc->v[sc->n];
		klen = l.tend - l.tstart;
		if (klen >= MAX_KEY)
			goto bad;
		memcpy(s->key, text + l.tstart, klen);
		s->key[klen] = '\0';
		s->start = l.tstart;
		s->line = l.line;
		t = lex(&l);
		if (t != T_EQ && t != T_ADD)
			goto bad;
		s->add = t == T_ADD;
		t = lex(&l);
		s->vstart = l.tstart;
		if (value(&l, t, 0, &s->vend) < 0)
			goto bad;
		sc->n++;
		t = lex(&l);
		if (t != T_NL && t != T_SEMI && t != T_EOF)
			goto bad;
		if (t == T_EOF)
			return 0;
	}
bad:
	xerr(err, "line %d: not an xl config setting", l.line);
	return -1;
}

/* The last setting of KEY in SC, or NULL. */
static const struct setting *find(const struct scan *sc, const char *key)
{
	size_t i;

	for (i = sc->n; i-- > 0;)
		if (strcmp(sc->v[i].key, key) == 0)
			return &sc->v[i];
	return NULL;
}

/* A growing buffer. */
struct buf {
	char *s;
	size_t len, alloc;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->alloc) {
		b->alloc = (b->len + n + 1) * 2;
		b->s = erealloc(b->s, b->alloc);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/*
 * parse_xlu: TEXT through libxlutil; NULL when it refuses it (its
 * complaint goes to REPORT, naming NAME).  The caller destroys the result.
 */
static XLU_Config *parse_xlu(const char *text, size_t len, const char *name,
			     FILE *report)
{
	XLU_Config *cfg;

	if (len > INT_MAX)
		return NULL;
	cfg = xlu_cfg_init(report, name);
	if (cfg == NULL)
		die("out of memory");
	if (xlu_cfg_readdata(cfg, text, (int)len) != 0) {
		xlu_cfg_destroy(cfg);
		return NULL;
	}
	return cfg;
}

/* A value as libxlutil holds it, in a form that compares: s<len>:bytes or [..]. */
static int canon_value(const XLU_Config *cfg, XLU_ConfigValue *v,
		       struct buf *b, int depth)
{
	XLU_ConfigList *list;
	XLU_ConfigValue *item;
	char *str, num[32];
	int i;

	if (depth > MAX_DEPTH)
		return -1;
	if (xlu_cfg_value_type(v) == XLU_STRING) {
		if (xlu_cfg_value_get_string(cfg, v, &str, 1) != 0)
			return -1;
		snprintf(num, sizeof(num), "s%zu:", strlen(str));
		buf_str(b, num);
		buf_str(b, str);
		return 0;
	}
	if (xlu_cfg_value_get_list(cfg, v, &list, 1) != 0)
		return -1;
	buf_str(b, "[");
	for (i = 0; (item = xlu_cfg_get_listitem2(list, i)) != NULL; i++)
		if (canon_value(cfg, item, b, depth + 1) < 0)
			return -1;
	buf_str(b, "]");
	return 0;
}

/* KEY's value in CFG in canonical form into B; -1 when it is not set. */
static int canon_key(const XLU_Config *cfg, const char *key, struct buf *b)
{
	XLU_ConfigList *list;
	XLU_ConfigValue *item;
	const char *str;
	char num[32];
	int i;

	b->len = 0;
	buf_str(b, "");
	if (xlu_cfg_get_string(cfg, key, &str, 1) == 0) {
		snprintf(num, sizeof(num), "s%zu:", strlen(str));
		buf_str(b, num);
		buf_str(b, str);
		return 0;
	}
	if (xlu_cfg_get_list(cfg, key, &list, NULL, 1) != 0)
		return -1;
	buf_str(b, "[");
	for (i = 0; (item = xlu_cfg_get_listitem2(list, i)) != NULL; i++)
		if (canon_value(cfg, item, b, 1) < 0)
			return -1;
	buf_str(b, "]");
	return 0;
}

/*
 * check_cpuid: CFG's cpuid=, if any, item by item through the installed
 * libxl, as xl parses it.  0, or -1 with ERR filled.
 */
static int check_cpuid(const XLU_Config *cfg, struct perr *err)
{
	XLU_ConfigList *list;
	const char *str;
	int i;

	if (xlu_cfg_get_string(cfg, "cpuid", &str, 1) == 0)
		return xl_cpuid_check_value(str, err);
	if (xlu_cfg_get_list(cfg, "cpuid", &list, NULL, 1) != 0)
		return 0;
	for (i = 0; (str = xlu_cfg_get_listitem(list, i)) != NULL; i++)
		if (xl_cpuid_check_list_item(str, err) < 0)
			return -1;
	if (xlu_cfg_get_listitem2(list, i) != NULL) {
		xerr(err, "cpuid list item %d is not a string", i + 1);
		return -1;
	}
	return 0;
}

/* VALUE as an xl string: double quotes, with \ and " escaped. */
static int quote(const char *value, struct buf *b, struct perr *err)
{
	const char *p;

	buf_str(b, "\"");
	for (p = value; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			xerr(err, "value holds a control character");
			return -1;
		}
		if (*p == '\\' || *p == '"')
			buf_str(b, "\\");
		buf_add(b, p, 1);
	}
	buf_str(b, "\"");
	return 0;
}

/*
 * edit: TEXT with KEY set to the right-hand side RHS (NULL: KEY removed)
 * into *OUT (malloc'd).  The last setting of KEY is replaced in place and
 * earlier ones removed; a missing KEY is appended.  Returns 0, or -1 with
 * ERR filled.  Pure: no I/O, so that the fuzzer can drive it.
 */
static int edit(const char *text, size_t len, const char *key, const char *rhs,
		char **out, size_t *outlen, struct perr *err)
{
	struct scan sc;
	struct buf b = { NULL, 0, 0 };
	const struct setting *last;
	size_t i, pos = 0, ls, e;
	bool semi;
	int rc = -1;

	if (scan(text, len, &sc, err) < 0)
		goto out;
	last = find(&sc, key);
	for (i = 0; i < sc.n; i++) {
		const struct setting *s = &sc.v[i];

		if (strcmp(s->key, key) != 0)
			continue;
		if (s == last && rhs != NULL) {
			buf_add(&b, text + pos, s->vstart - pos);
			buf_str(&b, rhs);
			pos = s->vend;
			continue;
		}
		/*
		 * Removal: a setting alone on its line goes with its line
		 * (and a comment after it); otherwise only the setting and
		 * a ';' after it.
		 */
		ls = s->start;
		while (ls > 0 && (text[ls - 1] == ' ' || text[ls - 1] == '\t'))
			ls--;
		e = s->vend;
		while (e < len && (text[e] == ' ' || text[e] == '\t'))
			e++;
		semi = e < len && text[e] == ';';
		if (semi) {
			e++;
			while (e < len && (text[e] == ' ' || text[e] == '\t'))
				e++;
		}
		if ((ls == 0 || text[ls - 1] == '\n') &&
		    (e == len || text[e] == '\n' || text[e] == '#')) {
			while (e < len && text[e] != '\n')
				e++;
			if (e < len)
				e++;
		} else {
			ls = s->start;
			if (!semi)
				e = s->vend;
		}
		if (ls < pos)
			ls = pos;
		buf_add(&b, text + pos, ls - pos);
		pos = e;
	}
	buf_add(&b, text + pos, len - pos);
	if (last == NULL && rhs != NULL) {
		if (b.len > 0 && b.s[b.len - 1] != '\n')
			buf_str(&b, "\n");
		buf_str(&b, key);
		buf_str(&b, " = ");
		buf_str(&b, rhs);
		buf_str(&b, "\n");
	}
	if (b.s == NULL)
		buf_str(&b, "");
	*out = b.s;
	*outlen = b.len;
	b.s = NULL;
	rc = 0;
out:
	free(b.s);
	scan_release(&sc);
	return rc;
}

/*
 * verify: NEW (the edit of OLD) must parse with libxlutil, hold every key
 * of OLD but KEY with the same value, hold KEY with WANT's value (WANT is
 * the canonical form; NULL: KEY unset), hold no other key, and have a
 * cpuid= the installed libxl accepts.  0, or -1 with ERR filled.
 */
static int verify(const char *old, size_t oldlen, const char *new,
		  size_t newlen, const char *key, const char *want,
		  struct perr *err)
{
	XLU_Config *a = NULL, *b = NULL;
	struct scan so = { NULL, 0, 0 }, sn = { NULL, 0, 0 };
	struct buf va = { NULL, 0, 0 }, vb = { NULL, 0, 0 };
	size_t i;
	int rc = -1;

	a = parse_xlu(old, oldlen, "old", NULL);
	b = parse_xlu(new, newlen, "new", NULL);
	if (a == NULL || b == NULL) {
		xerr(err, "the result would not parse with libxlutil");
		goto out;
	}
	if (scan(old, oldlen, &so, err) < 0 || scan(new, newlen, &sn, err) < 0)
		goto out;
	for (i = 0; i < so.n; i++) {
		if (strcmp(so.v[i].key, key) == 0)
			continue;
		if (canon_key(a, so.v[i].key, &va) < 0 ||
		    canon_key(b, so.v[i].key, &vb) < 0 ||
		    strcmp(va.s, vb.s) != 0) {
			xerr(err, "the edit would change key '%s'",
			    so.v[i].key);
			goto out;
		}
	}
	for (i = 0; i < sn.n; i++)
		if (strcmp(sn.v[i].key, key) != 0 &&
		    find(&so, sn.v[i].key) == NULL) {
			xerr(err, "the edit would add key '%s'", sn.v[i].key);
			goto out;
		}
	if (want == NULL ? canon_key(b, key, &vb) == 0 :
	    canon_key(b, key, &vb) < 0 || strcmp(vb.s, want) != 0) {
		xerr(err, "the result would not read back as the value given");
		goto out;
	}
	if (check_cpuid(b, err) < 0)
		goto out;
	rc = 0;
out:
	if (a)
		xlu_cfg_destroy(a);
	if (b)
		xlu_cfg_destroy(b);
	scan_release(&so);
	scan_release(&sn);
	free(va.s);
	free(vb.s);
	return rc;
}

/* The canonical form of the value RHS, as libxlutil would read it. */
static int canon_rhs(const char *rhs, char **out, struct perr *err)
{
	struct buf t = { NULL, 0, 0 }, v = { NULL, 0, 0 };
	struct scan sc = { NULL, 0, 0 };
	XLU_Config *cfg;
	int rc = -1;

	buf_str(&t, "k = ");
	buf_str(&t, rhs);
	buf_str(&t, "\n");
	cfg = parse_xlu(t.s, t.len, "value", NULL);
	if (cfg == NULL || scan(t.s, t.len, &sc, err) < 0 || sc.n != 1 ||
	    canon_key(cfg, "k", &v) < 0) {
		xerr(err, "'%.100s' is not an xl value", rhs);
		goto out;
	}
	*out = v.s;
	v.s = NULL;
	rc = 0;
out:
	scan_release(&sc);
	if (cfg)
		xlu_cfg_destroy(cfg);
	free(t.s);
	free(v.s);
	return rc;
}

static char *load(const char *path, size_t *len)
{
	char *text = read_all(path, MAX_CFG, len);

	if (text == NULL) {
		if (errno == EFBIG)
			die("cannot read '%s': larger than %u MiB", path,
			    MAX_CFG >> 20);
		die("cannot open '%s': %s", path, strerror(errno));
	}
	return text;
}

/* Write LEN bytes of TEXT to a new file next to DST and rename it there. */
static void replace_file(int dirfd, const char *dst, const char *text,
			 size_t len, const struct stat *st)
{
	char *tmp, *d = estrdup(dst), *dir;
	size_t n = strlen(dst) + 32, off = 0;
	ssize_t w;
	int fd;

	dir = dirname(d);
	tmp = ealloc(n);
	snprintf(tmp, n, "%s/.xlcfg-XXXXXX", dir);
	fd = mkstemp(tmp);
	if (fd < 0)
		die("cannot create a file in '%s': %s", dir, strerror(errno));
	while (off < len) {
		w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			unlink(tmp);
			die("cannot write '%s': %s", tmp, strerror(errno));
		}
		off += (size_t)w;
	}
	if (fchmod(fd, st->st_mode & 07777) < 0)
		warning("cannot set the mode of '%s': %s", dst, strerror(errno));
	/* Keep the owner where we may (root); not an error elsewhere. */
	if (fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EPERM)
		warning("cannot set the owner of '%s': %s", dst,
		    strerror(errno));
	if (fsync(fd) < 0 || close(fd) < 0) {
		unlink(tmp);
		die("cannot write '%s': %s", tmp, strerror(errno));
	}
	if (rename(tmp, dst) < 0) {
		unlink(tmp);
		die("cannot rename '%s' to '%s': %s", tmp, dst, strerror(errno));
	}
	if (fsync(dirfd) < 0)
		die("cannot sync '%s': %s", dir, strerror(errno));
	free(tmp);
	free(d);
}

/*
 * write_edit: under a lock on FILE's directory, read FILE, edit it (RHS
 * NULL: unset), verify the result, keep the backup, replace FILE.  With
 * DRY, print the result instead.  Dies with nothing written on any error.
 */
static int write_edit(const char *file, const char *key, const char *rhs,
		      const char *suffix, bool dry)
{
	char real[PATH_MAX], *d, *text, *new = NULL, *want = NULL, *bak;
	size_t len, newlen;
	struct perr err;
	struct stat st;
	XLU_Config *cfg;
	int dirfd;

	if (realpath(file, real) == NULL)
		die("cannot open '%s': %s", file, strerror(errno));
	d = estrdup(real);
	dirfd = open(dirname(d), O_RDONLY | O_DIRECTORY);
	if (dirfd < 0)
		die("cannot open the directory of '%s': %s", file,
		    strerror(errno));
	if (!dry && flock(dirfd, LOCK_EX) < 0)
		die("cannot lock the directory of '%s': %s", file,
		    strerror(errno));
	if (stat(real, &st) < 0)
		die("cannot open '%s': %s", file, strerror(errno));
	text = load(real, &len);
	cfg = parse_xlu(text, len, file, stderr);
	if (cfg == NULL)
		die("'%s' does not parse with libxlutil: not edited", file);
	xlu_cfg_destroy(cfg);
	if (rhs != NULL && canon_rhs(rhs, &want, &err) < 0)
		die("%s", err.msg);
	if (edit(text, len, key, rhs, &new, &newlen, &err) < 0)
		die("%s: %s", file, err.msg);
	if (verify(text, len, new, newlen, key, want, &err) < 0)
		die("%s: %s: not written", file, err.msg);
	if (dry) {
		fwrite(new, 1, newlen, stdout);
	} else if (newlen != len || memcmp(new, text, len) != 0) {
		bak = ealloc(strlen(real) + strlen(suffix ? suffix : ".orig") + 1);
		sprintf(bak, "%s%s", real, suffix ? suffix : ".orig");
		if (suffix != NULL || access(bak, F_OK) < 0)
			replace_file(dirfd, bak, text, len, &st);
		replace_file(dirfd, real, new, newlen, &st);
		free(bak);
	}
	close(dirfd);
	free(d);
	free(text);
	free(new);
	free(want);
	return 0;
}

static bool good_key(const char *key)
{
	const char *p;

	if (!is_lower(*key) || strlen(key) >= MAX_KEY)
		return false;
	for (p = key; *p != '\0'; p++)
		if (!is_lower(*p) && !is_digit(*p) && *p != '_')
			return false;
	return true;
}

/* get: print KEY's value; 1 when it is not set. */
static int cmd_get(const char *file, const char *key, bool raw)
{
	XLU_ConfigList *list;
	XLU_ConfigValue *item;
	struct buf b = { NULL, 0, 0 };
	struct scan sc;
	struct perr err;
	const struct setting *s;
	const char *str;
	XLU_Config *cfg;
	char *text, *istr;
	size_t len;
	int i, rc = 1;

	text = load(file, &len);
	cfg = parse_xlu(text, len, file, stderr);
	if (cfg == NULL)
		die("'%s' does not parse with libxlutil", file);
	if (raw) {
		if (scan(text, len, &sc, &err) < 0)
			die("%s: %s", file, err.msg);
		if ((s = find(&sc, key)) != NULL) {
			printf("%.*s\n", (int)(s->vend - s->vstart),
			    text + s->vstart);
			rc = 0;
		}
		scan_release(&sc);
	} else if (xlu_cfg_get_string(cfg, key, &str, 1) == 0) {
		printf("%s\n", str);
		rc = 0;
	} else if (xlu_cfg_get_list(cfg, key, &list, NULL, 1) == 0) {
		/* One item a line; a nested list in its canonical form. */
		for (i = 0; (item = xlu_cfg_get_listitem2(list, i)) != NULL;
		    i++) {
			if (xlu_cfg_value_type(item) == XLU_STRING &&
			    xlu_cfg_value_get_string(cfg, item, &istr, 1) == 0) {
				printf("%s\n", istr);
				continue;
			}
			b.len = 0;
			buf_str(&b, "");
			if (canon_value(cfg, item, &b, 1) == 0)
				printf("%s\n", b.s);
		}
		rc = 0;
	}
	free(b.s);
	xlu_cfg_destroy(cfg);
	free(text);
	return rc;
}

/* check: 0 when FILE parses and its cpuid= passes, 1 when not. */
static int cmd_check(const char *file)
{
	struct scan sc;
	struct perr err;
	const struct setting *s;
	XLU_Config *cfg;
	char *text;
	size_t len;
	int rc = 0;

	text = load(file, &len);
	cfg = parse_xlu(text, len, file, stderr);
	if (cfg == NULL) {
		free(text);
		return 1;
	}
	if (check_cpuid(cfg, &err) < 0) {
		struct perr serr;

		scan(text, len, &sc, &serr);
		s = find(&sc, "cpuid");
		fprintf(stderr, "%s:%d: %s\n", file, s ? s->line : 0, err.msg);
		scan_release(&sc);
		rc = 1;
	}
	xlu_cfg_destroy(cfg);
	free(text);
	return rc;
}

static void usage(void)
{
	fprintf(stderr,
	    "usage: xlcfg get [-r] file key\n"
	    "       xlcfg check file\n"
	    "       xlcfg set [-n] [-r] [-b suffix] file key value\n"
	    "       xlcfg unset [-n] [-b suffix] file key\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	const char *cmd, *suffix = NULL;
	struct buf rhs = { NULL, 0, 0 };
	struct perr err;
	bool raw = false, dry = false;
	int c, rc;

	progname = "xlcfg";
	if (argc < 2)
		usage();
	cmd = argv[1];
	argv++;
	argc--;
	while ((c = getopt(argc, argv, "+b:hnr")) != -1) {
		switch (c) {
		case 'b':
			suffix = optarg;
			if (*suffix == '\0' || strchr(suffix, '/') != NULL)
				die("bad backup suffix '%s'", suffix);
			break;
		case 'n':
			dry = true;
			break;
		case 'r':
			raw = true;
			break;
		default:
			usage();
		}
	}
	argv += optind;
	argc -= optind;
	if (strcmp(cmd, "check") == 0) {
		if (argc != 1 || raw || dry || suffix)
			usage();
		rc = cmd_check(argv[0]);
	} else if (strcmp(cmd, "get") == 0) {
		if (argc != 2 || dry || suffix)
			usage();
		if (!good_key(argv[1]))
			die("bad key '%s'", argv[1]);
		rc = cmd_get(argv[0], argv[1], raw);
	} else if (strcmp(cmd, "set") == 0) {
		if (argc != 3)
			usage();
		if (!good_key(argv[1]))
			die("bad key '%s'", argv[1]);
		/*
		 * VALUE is a string to quote, unless -r says it is the raw
		 * right-hand side; a list ([...]) and a decimal number are
		 * always written as they are.
		 */
		if (raw || argv[2][0] == '[' ||
		    (argv[2][0] != '\0' &&
		    strspn(argv[2], "0123456789") == strlen(argv[2])))
			buf_str(&rhs, argv[2]);
		else if (quote(argv[2], &rhs, &err) < 0)
			die("%s", err.msg);
		rc = write_edit(argv[0], argv[1], rhs.s, suffix, dry);
	} else if (strcmp(cmd, "unset") == 0) {
		if (argc != 2 || raw)
			usage();
		if (!good_key(argv[1]))
			die("bad key '%s'", argv[1]);
		rc = write_edit(argv[0], argv[1], NULL, suffix, dry);
	} else {
		usage();
	}
	free(rhs.s);
	fshut(stdout, "<stdout>");
	return rc;
}
