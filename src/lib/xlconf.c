/*
 * xlconf.c: see xlconf.h.
 *
 * The scanner follows libxlu_cfg_l.l token for token: identifiers, numbers
 * (anything from a digit on that the lexer's number rule takes), strings
 * in single or double quotes with backslash escapes and no newline, and a
 * comment that runs to its newline and counts as one.  The grammar is
 * libxlu_cfg_y.y's: KEY = VALUE or KEY += VALUE, ended by a newline or
 * ';', the last setting of a file allowed to end at the end of the text;
 * a value is an atom or a list of values, newlines allowed inside the
 * brackets and a trailing comma after the last item.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xlconf.h"

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

static bool is_lower(int c) { return c >= 'a' && c <= 'z'; }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }

/* After its first letter, an identifier is [._0-9a-z]* (libxlu 4.17). */
static bool is_ident(int c)
{
	return is_lower(c) || is_digit(c) || c == '_' || c == '.';
}

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
		while (l->pos < l->len && is_ident(s[l->pos]))
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
 * the offset after it.  Returns 0, or -1 on a syntax error.  Iterative,
 * so that no nesting of lists can exhaust the stack.
 */
static int value(struct lexer *l, enum tok t, size_t *end_r)
{
	size_t depth = 0;

	for (;;) {
		/* T starts a value. */
		if (t == T_LBRACK) {
			depth++;
			t = lex_nl(l);
			if (t != T_RBRACK)
				continue;
			depth--;	/* [] */
		} else if (t != T_STRING && t != T_NUMBER) {
			return -1;
		}
		/* A value ended: close lists, or find the next item. */
		for (;;) {
			if (depth == 0) {
				*end_r = l->tend;
				return 0;
			}
			t = lex_nl(l);
			if (t == T_RBRACK) {
				depth--;
				continue;
			}
			if (t != T_COMMA)
				return -1;
			t = lex_nl(l);
			if (t != T_RBRACK)
				break;
			depth--;	/* a ',' after the last item */
		}
	}
}

void xlconf_release(struct xlconf *sc)
{
	size_t i;

	for (i = 0; i < sc->n; i++)
		free(sc->v[i].key);
	free(sc->v);
	sc->v = NULL;
	sc->n = sc->alloc = 0;
}

int xlconf_scan(const char *text, size_t len, struct xlconf *sc,
		struct perr *err)
{
	struct lexer l = { text, len, 0, 0, 0, 1 };
	struct xlconf_setting s;
	enum tok t;

	memset(sc, 0, sizeof(*sc));
	for (;;) {
		t = lex(&l);
		if (t == T_EOF)
			return 0;
		if (t == T_NL || t == T_SEMI)
			continue;
		if (t != T_IDENT)
			goto bad;
		s.start = l.tstart;
		s.key = NULL;
		s.klen = l.tend - l.tstart;
		s.line = l.line;
		t = lex(&l);
		if (t != T_EQ && t != T_ADD)
			goto bad;
		s.add = t == T_ADD;
		s.opstart = l.tstart;
		t = lex(&l);
		s.vstart = l.tstart;
		if (value(&l, t, &s.vend) < 0)
			goto bad;
		if (sc->n == sc->alloc) {
			sc->alloc = sc->alloc ? sc->alloc * 2 : 16;
			sc->v = erealloc(sc->v, sc->alloc * sizeof(*sc->v));
		}
		s.key = ealloc(s.klen + 1);
		memcpy(s.key, text + s.start, s.klen);
		sc->v[sc->n++] = s;
		t = lex(&l);
		if (t != T_NL && t != T_SEMI && t != T_EOF)
			goto bad;
		if (t == T_EOF)
			return 0;
	}
bad:
	perr_printf(err, "line %d: not an xl config setting", l.line);
	return -1;
}

const struct xlconf_setting *xlconf_find(const struct xlconf *sc,
					 const char *key)
{
	size_t i;

	for (i = sc->n; i-- > 0;)
		if (strcmp(sc->v[i].key, key) == 0)
			return &sc->v[i];
	return NULL;
}

int xlconf_quote(const char *value, char **rhs_r, struct perr *err)
{
	struct sbuf b = { NULL, 0, 0 };
	const char *p;

	sb_add(&b, "\"");
	for (p = value; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			perr_printf(err, "value holds a control character");
			free(b.s);
			return -1;
		}
		if (*p == '\\' || *p == '"')
			sb_add(&b, "\\");
		sb_addn(&b, p, 1);
	}
	sb_add(&b, "\"");
	*rhs_r = b.s;
	return 0;
}

int xlconf_edit(const char *text, size_t len, const char *key,
		const char *rhs, char **out_r, size_t *outlen_r,
		struct perr *err)
{
	struct xlconf sc;
	struct sbuf b = { NULL, 0, 0 };
	const struct xlconf_setting *last;
	size_t i, pos = 0, ls, e;
	bool semi;
	int rc = -1;

	if (xlconf_scan(text, len, &sc, err) < 0)
		goto out;
	last = xlconf_find(&sc, key);
	for (i = 0; i < sc.n; i++) {
		const struct xlconf_setting *s = &sc.v[i];

		if (strcmp(s->key, key) != 0)
			continue;
		if (s == last && rhs != NULL) {
			/*
			 * The earlier settings go, so a += would add to
			 * nothing: it becomes a plain =.
			 */
			if (s->add) {
				sb_addn(&b, text + pos, s->opstart - pos);
				sb_add(&b, "=");
				pos = s->opstart + 2;
			}
			sb_addn(&b, text + pos, s->vstart - pos);
			sb_add(&b, rhs);
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
		sb_addn(&b, text + pos, ls - pos);
		pos = e;
	}
	sb_addn(&b, text + pos, len - pos);
	if (last == NULL && rhs != NULL) {
		if (b.len > 0 && b.s[b.len - 1] != '\n')
			sb_add(&b, "\n");
		sb_add(&b, key);
		sb_add(&b, " = ");
		sb_add(&b, rhs);
		sb_add(&b, "\n");
	}
	if (b.s == NULL)
		sb_add(&b, "");
	*out_r = b.s;
	*outlen_r = b.len;
	b.s = NULL;
	rc = 0;
out:
	free(b.s);
	xlconf_release(&sc);
	return rc;
}

bool xlconf_good_key(const char *key)
{
	const char *p;

	if (!is_lower(*key))
		return false;
	for (p = key; *p != '\0'; p++)
		if (!is_ident(*p))
			return false;
	return true;
}
