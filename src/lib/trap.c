/*
 * trap.c: see trap.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "trap.h"

#define TRAP_MARK "] trap invalid opcode ip:"
#define DELETED " (deleted)"

/* Lower-case or upper-case hex, 1 to 16 digits, an optional 0x. */
static const char *hex(const char *s, uint64_t *v_r)
{
	uint64_t v = 0;
	int n = 0;

	if (s[0] == '0' && s[1] == 'x')
		s += 2;
	while (isxdigit((unsigned char)*s)) {
		int c = tolower((unsigned char)*s++);

		if (++n > 16)
			return NULL;
		v = v * 16 + (uint64_t)(isdigit(c) ? c - '0' : c - 'a' + 10);
	}
	if (n == 0)
		return NULL;
	*v_r = v;
	return s;
}

/* "[BASE+SIZE]" at S: its end, or NULL. */
static const char *vma(const char *s, uint64_t *base_r, uint64_t *size_r)
{
	if (*s++ != '[' || (s = hex(s, base_r)) == NULL || *s++ != '+' ||
	    (s = hex(s, size_r)) == NULL || *s != ']')
		return NULL;
	return s + 1;
}

/* Copy [from, to) into DST (size N), cut to fit. */
static void copy(char *dst, size_t n, const char *from, const char *to)
{
	size_t len = (size_t)(to - from);

	if (len >= n)
		len = n - 1;
	memcpy(dst, from, len);
	dst[len] = '\0';
}

/*
 * " in FILE[BASE+SIZE]": FILE may hold anything, brackets too, so the
 * last '[' that opens a well-formed [BASE+SIZE] ends it.
 */
static void parse_file(const char *s, struct trap *t)
{
	const char *p, *open = NULL;
	uint64_t base = 0, size = 0;
	size_t n;

	if (strncmp(s, " in ", 4) != 0)
		return;
	s += 4;
	for (p = strchr(s, '['); p != NULL; p = strchr(p + 1, '['))
		if (p > s && vma(p, &base, &size) != NULL) {
			open = p;
			t->base = base;
			t->size = size;
		}
	if (open == NULL)
		return;
	n = strlen(DELETED);
	if ((size_t)(open - s) > n && strncmp(open - n, DELETED, n) == 0) {
		t->deleted = true;
		open -= n;
	}
	copy(t->file, sizeof(t->file), s, open);
	t->has_file = true;
}

int trap_parse(const char *line, struct trap *t_r)
{
	const char *p, *mark, *q;

	memset(t_r, 0, sizeof(*t_r));
	if ((p = strstr(line, "traps: ")) == NULL)
		return 0;
	p += strlen("traps: ");
	if ((mark = strstr(p, TRAP_MARK)) == NULL)
		return 0;
	/* COMM[PID]: PID's digits end at the mark, '[' opens them. */
	for (q = mark; q > p && isdigit((unsigned char)q[-1]); q--)
		;
	if (q == mark || q - p < 2 || q[-1] != '[' || mark - q > 9)
		return 0;
	t_r->pid = strtol(q, NULL, 10);
	copy(t_r->comm, sizeof(t_r->comm), p, q - 1);
	p = mark + strlen(TRAP_MARK);
	if ((p = hex(p, &t_r->ip)) == NULL || strncmp(p, " sp:", 4) != 0 ||
	    (p = hex(p + 4, &t_r->sp)) == NULL ||
	    strncmp(p, " error:", 7) != 0 ||
	    (p = hex(p + 7, &t_r->error)) == NULL)
		return 0;
	parse_file(p, t_r);
	return 1;
}

int trap_file_offset(const struct elfimg *img, const struct trap *t,
		     uint64_t *off_r, struct perr *err)
{
	size_t n, i;
	bool found = false;

	if (!t->has_file) {
		perr_printf(err, "ip 0x%llx is in memory no file backs",
		    (unsigned long long)t->ip);
		return -1;
	}
	if (t->ip < t->base || t->ip - t->base >= t->size ||
	    elf_getphdrnum(img->elf, &n) != 0)
		n = 0;
	for (i = 0; i < n; i++) {
		GElf_Phdr ph;
		uint64_t page_off, off, span;

		if (gelf_getphdr(img->elf, (int)i, &ph) == NULL ||
		    ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		page_off = ph.p_offset & ~(uint64_t)(ELF_PAGE_SIZE - 1);
		off = page_off + (t->ip - t->base);
		if (off < page_off || off < ph.p_offset ||
		    off - ph.p_offset >= ph.p_filesz)
			continue;
		/* The mapping's length, from its first page to its last. */
		span = ((ph.p_vaddr + ph.p_memsz + ELF_PAGE_SIZE - 1) &
		    ~(uint64_t)(ELF_PAGE_SIZE - 1)) -
		    (ph.p_vaddr & ~(uint64_t)(ELF_PAGE_SIZE - 1));
		if (!found || span == t->size)
			*off_r = off;
		found = true;
		if (span == t->size)
			break;
	}
	if (!found) {
		perr_printf(err, "ip 0x%llx (%s[%llx+%llx]) is not in an "
		    "executable segment of '%s'", (unsigned long long)t->ip,
		    t->file, (unsigned long long)t->base,
		    (unsigned long long)t->size, img->name);
		return -1;
	}
	return 0;
}
