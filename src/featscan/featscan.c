/*
 * featscan: which CPU features a program's instructions need.
 *
 * Without a mode option it scans ELF files and directories (or a file
 * list on standard input) and reports, per feature, file and function,
 * the instructions found and whether their use is required, guarded by a
 * runtime check or blind (scan.h); -o json writes a hetmig policy of the
 * features used blind or required, with the evidence.  --at FILE:OFFSET
 * decodes the instruction at a file offset and names the feature it
 * needs; --trap FILE... reads console text and does the same for each
 * invalid-opcode trap the guest kernel reported in one of FILEs.  See
 * featscan(1).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "elfcode.h"
#include "scan.h"
#include "trap.h"
#include "util.h"

/* Directories deeper than this below an operand are not walked. */
#define MAX_DEPTH 64
#define MAX_JOBS 256

enum output { OUT_DEFAULT, OUT_NAMES, OUT_TABLE, OUT_JSON };

/* A file given to --trap. */
struct given {
	const char *path;
	char *base, *realbase;	/* owned: its basename, and its target's */
	struct elfimg img;
};

/* What --trap has already said, so that a repeated line is said once. */
struct seen {
	char **keys;
	size_t n, alloc;
};

/* A file seen, by device and inode: each is scanned once. */
struct inode {
	dev_t dev;
	ino_t ino;
};

/* The files to scan, in the order found. */
struct files {
	char **path;		/* owned */
	bool *named;		/* an operand: its skipping is worth a warning */
	size_t n, alloc;
	struct inode *seen;	/* open addressing; empty slots have ino 0 */
	size_t nseen, aseen;
	char **skip_path, **skip_why;	/* owned: not scanned, and why */
	size_t nskip, askip;
	size_t not_elf, not_linked;	/* skipped quietly, when not named */
};

/*
 * The scan of the files, shared by the threads.  Results are handed on in
 * the order of the files as soon as they are complete (flush): names and
 * tables are then written and the results let go, so that their memory
 * does not grow with the number of files; JSON keeps them to the end.
 */
struct job {
	struct files *files;
	struct scan_file *res;
	char **why;		/* owned: why file i was not scanned, or NULL */
	bool *done;
	atomic_size_t next;	/* the next file to scan */
	pthread_mutex_t lock;	/* over done, next_out and the output */
	size_t next_out;	/* the next file to hand on */
	enum output out;
	bool blind_only, keep;
	struct fset names;	/* -o names: the features seen so far */
};

static void usage(void)
{
	fprintf(stderr, "usage: featscan [-o names|table|json] [-j jobs] "
	    "[--blind] path ...\n"
	    "       featscan [-o json] --at file:offset\n"
	    "       featscan [-o json] --trap file ... < console\n");
	exit(2);
}

static int parse_u64(const char *s, uint64_t *v_r)
{
	unsigned long long v;
	char *end;

	if (*s == '+')
		s++;
	if (*s == '\0' || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0')
		return -1;
	*v_r = v;
	return 0;
}

/*
 * need_label: what IN needs, in a word: "bmi2", "avx512bw,avx512vl",
 * "no feature" (base), or the ISA set's name when Xen names no feature.
 */
static void need_label(const struct elf_insn *in, char *buf, size_t len)
{
	const struct isa_need *n = in->need;
	int i;

	buf[0] = '\0';
	if (in->len == 0) {
		snprintf(buf, len, "undecodable bytes");
		return;
	}
	switch (n->kind) {
	case ISA_FEATURE:
		for (i = 0; i < n->nfeat; i++) {
			if (i > 0)
				strncat(buf, ",", len - strlen(buf) - 1);
			strncat(buf, hm_features[n->feat[i]].name,
			    len - strlen(buf) - 1);
		}
		break;
	case ISA_UNNAMED:
		snprintf(buf, len, "%s", ZydisISASetGetString(in->isa_set));
		break;
	default:
		snprintf(buf, len, "no feature");
		break;
	}
}

static const char *kind_name(const struct elf_insn *in)
{
	if (in->len == 0)
		return "undecodable";
	switch (in->need->kind) {
	case ISA_FEATURE:
		return "feature";
	case ISA_UNNAMED:
		return "unnamed";
	default:
		return "base";
	}
}

/* "bmi2 (pdep) in PATH at +0x1553 (main+0x13)" */
static void insn_line(const struct elf_insn *in, const char *path)
{
	char label[256];

	need_label(in, label, sizeof(label));
	printf("%s (%s) in %s at +0x%llx", label,
	    in->len ? ZydisMnemonicGetString(in->mnemonic) : in->text, path,
	    (unsigned long long)in->offset);
	if (in->func != NULL && in->vaddr == in->func->addr)
		printf(" (%s)", in->func->name);
	else if (in->func != NULL)
		printf(" (%s+0x%llx)", in->func->name,
		    (unsigned long long)(in->vaddr - in->func->addr));
	putchar('\n');
}

static json_t *insn_json(const struct elf_insn *in, const char *path)
{
	char hex[2 * ZYDIS_MAX_INSTRUCTION_LENGTH + 1];
	unsigned int i, n = in->len ? in->len : 1;
	json_t *o, *feats = json_array();

	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", in->bytes[i]);
	if (in->len && in->need->kind == ISA_FEATURE)
		for (i = 0; i < (unsigned int)in->need->nfeat; i++)
			json_array_append_new(feats,
			    json_string(hm_features[in->need->feat[i]].name));
	o = json_pack("{s:s, s:I, s:I, s:s, s:s?, s:I, s:s, s:s, s:s?, "
	    "s:s?, s:s, s:o, s:s?}",
	    "path", path,
	    "offset", (json_int_t)in->offset,
	    "address", (json_int_t)in->vaddr,
	    "section", in->where,
	    "function", in->func ? in->func->name : NULL,
	    "function_offset",
	    (json_int_t)(in->func ? in->vaddr - in->func->addr : 0),
	    "bytes", hex,
	    "text", in->text,
	    "mnemonic", in->len ? ZydisMnemonicGetString(in->mnemonic) : NULL,
	    "isa_set", in->len ? ZydisISASetGetString(in->isa_set) : NULL,
	    "kind", kind_name(in),
	    "features", feats,
	    "why", in->len && in->need->kind != ISA_FEATURE ?
	    in->need->why : NULL);
	if (o == NULL)
		die("out of memory");
	return o;
}

static void json_out(json_t *root)
{
	if (json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER |
	    JSON_ENSURE_ASCII) < 0)
		die("cannot write to stdout: %s", strerror(errno));
	putchar('\n');
	json_decref(root);
}

/*
 * cmd_at: --at FILE:OFFSET.  Exit status: 0 decoded, 1 the bytes there
 * are not an instruction; dies (2) on an unreadable file or an offset
 * outside its code.
 */
static int cmd_at(const char *arg, enum output out)
{
	struct elfimg img = ELFIMG_INIT;
	struct elf_insn in;
	struct perr err;
	const char *colon = strrchr(arg, ':');
	char *path;
	uint64_t off;
	int rc;

	if (colon == NULL || colon == arg || parse_u64(colon + 1, &off) < 0)
		die("bad location '%s': expected FILE:OFFSET", arg);
	path = estrdup(arg);
	path[colon - arg] = '\0';
	if (elfimg_open(&img, path, &err) < 0 ||
	    (rc = elfimg_decode_at(&img, off, &in, &err)) < 0) {
		elfimg_release(&img);
		free(path);
		die("%s", err.msg);
	}
	if (out == OUT_JSON)
		json_out(insn_json(&in, path));
	else
		insn_line(&in, path);
	elfimg_release(&img);
	free(path);
	return rc == 0 ? 0 : 1;
}

static void given_init(struct given *g, const char *path)
{
	char real[PATH_MAX], *copy;

	memset(g, 0, sizeof(*g));
	g->img = (struct elfimg)ELFIMG_INIT;
	g->path = path;
	copy = estrdup(path);
	g->base = estrdup(basename(copy));
	free(copy);
	g->realbase = realpath(path, real) ? estrdup(basename(real)) : NULL;
}

static void given_release(struct given *g)
{
	elfimg_release(&g->img);
	free(g->base);
	free(g->realbase);
}

/*
 * The given file a trap names: the kernel prints the basename of the
 * mapped file, which is the target of any symbolic link given.
 */
static struct given *match(struct given *g, int n, const struct trap *t)
{
	int i;

	if (!t->has_file)
		return NULL;
	for (i = 0; i < n; i++)
		if (strcmp(g[i].base, t->file) == 0 ||
		    (g[i].realbase && strcmp(g[i].realbase, t->file) == 0))
			return &g[i];
	return NULL;
}

/* seen_add: false when KEY was already added (then KEY is freed). */
static bool seen_add(struct seen *s, char *key)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->keys[i], key) == 0) {
			free(key);
			return false;
		}
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? 2 * s->alloc : 16;
		s->keys = erealloc(s->keys, s->alloc * sizeof(*s->keys));
	}
	s->keys[s->n++] = key;
	return true;
}

static char *keyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *keyf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die("out of memory");
	va_end(ap);
	return s;
}

/* The line for a trap whose instruction cannot be decoded, and why. */
static void unnamed_line(const struct trap *t, const char *why)
{
	printf("%s[%ld]: invalid opcode at 0x%llx", t->comm, t->pid,
	    (unsigned long long)t->ip);
	if (t->has_file)
		printf(", 0x%llx into %s[%llx+%llx]",
		    (unsigned long long)(t->ip - t->base), t->file,
		    (unsigned long long)t->base, (unsigned long long)t->size);
	printf(": not decoded, %s\n", why);
}

static json_t *trap_json(const struct trap *t)
{
	json_t *o = json_pack("{s:s, s:I, s:I, s:I}", "comm", t->comm,
	    "pid", (json_int_t)t->pid, "ip", (json_int_t)t->ip,
	    "sp", (json_int_t)t->sp);

	if (o == NULL)
		die("out of memory");
	if (t->has_file) {
		json_object_set_new(o, "file", json_string(t->file));
		json_object_set_new(o, "base", json_integer((json_int_t)t->base));
		json_object_set_new(o, "size", json_integer((json_int_t)t->size));
		json_object_set_new(o, "deleted", json_boolean(t->deleted));
	} else {
		json_object_set_new(o, "file", json_null());
	}
	return o;
}

/*
 * One trap line: decode its instruction from the given file it names.
 * Returns 1 when an instruction was named, 0 otherwise; appends to ARR
 * with -o json, else prints a line.
 */
static int one_trap(const struct trap *t, struct given *g, int n,
		    struct seen *seen, json_t *arr)
{
	struct given *f = match(g, n, t);
	struct elf_insn in;
	struct perr err;
	uint64_t off;
	const char *why = NULL;
	json_t *o;
	int rc = 0;

	if (f == NULL)
		why = t->has_file ? "the file is not at hand" :
		    "no file is mapped there";
	else if (trap_file_offset(&f->img, t, &off, &err) < 0)
		why = err.msg;
	else if (elfimg_decode_at(&f->img, off, &in, &err) < 0)
		why = err.msg;
	if (why == NULL && in.len == 0)
		why = "the bytes there are not an instruction";
	if (!seen_add(seen, why ? keyf("%s|%s|%llx", t->comm, t->file,
	    (unsigned long long)(t->ip - t->base)) :
	    keyf("%s|%llx", f->path, (unsigned long long)off)))
		return why == NULL;
	if (why == NULL)
		rc = 1;
	if (arr != NULL) {
		o = trap_json(t);
		json_object_set_new(o, "path", f ? json_string(f->path) :
		    json_null());
		json_object_set_new(o, "instruction", why ? json_null() :
		    insn_json(&in, f->path));
		json_object_set_new(o, "reason", why ? json_string(why) :
		    json_null());
		json_array_append_new(arr, o);
	} else if (why == NULL) {
		insn_line(&in, f->path);
	} else {
		unnamed_line(t, why);
	}
	return rc;
}

/*
 * cmd_trap: --trap FILE...: every invalid-opcode trap line of standard
 * input.  Exit status: 0 when an instruction was named, 1 when none was;
 * dies (2) on a read error.
 */
static int cmd_trap(char **paths, int n, enum output out)
{
	struct given *g = ealloc((size_t)n * sizeof(*g));
	struct seen seen = { NULL, 0, 0 };
	json_t *arr = out == OUT_JSON ? json_array() : NULL;
	char *line = NULL;
	size_t cap = 0;
	int i, named = 0;
	struct perr err;
	struct trap t;

	for (i = 0; i < n; i++)
		given_init(&g[i], paths[i]);
	/* A file that cannot be read is a mistake of the caller's: say so now. */
	for (i = 0; i < n; i++)
		if (elfimg_open(&g[i].img, g[i].path, &err) < 0)
			die("%s", err.msg);
	while (getline(&line, &cap, stdin) >= 0)
		if (trap_parse(line, &t) == 1)
			named += one_trap(&t, g, n, &seen, arr);
	if (ferror(stdin))
		die("cannot read standard input: %s", strerror(errno));
	if (arr != NULL)
		json_out(json_pack("{s:o, s:i}", "traps", arr, "named", named));
	free(line);
	for (i = 0; i < n; i++)
		given_release(&g[i]);
	free(g);
	for (i = 0; i < (int)seen.n; i++)
		free(seen.keys[i]);
	free(seen.keys);
	return named > 0 ? 0 : 1;
}

/* --- the scan ----------------------------------------------------------- */

static size_t inode_hash(const struct inode *k, size_t mask)
{
	return ((size_t)k->ino * 0x9e3779b97f4a7c15u ^ (size_t)k->dev) & mask;
}

/* seen_inode: false when ST's file was seen already; records it. */
static bool seen_inode(struct files *f, const struct stat *st)
{
	struct inode k = { st->st_dev, st->st_ino ? st->st_ino : 1 };
	size_t i;

	if (2 * (f->nseen + 1) > f->aseen) {
		struct inode *old = f->seen;
		size_t n = f->aseen;

		f->aseen = f->aseen ? 2 * f->aseen : 1024;
		f->seen = ealloc(f->aseen * sizeof(*f->seen));
		for (i = 0; i < n; i++)
			if (old[i].ino != 0) {
				size_t j = inode_hash(&old[i], f->aseen - 1);

				while (f->seen[j].ino != 0)
					j = (j + 1) & (f->aseen - 1);
				f->seen[j] = old[i];
			}
		free(old);
	}
	for (i = inode_hash(&k, f->aseen - 1); f->seen[i].ino != 0;
	    i = (i + 1) & (f->aseen - 1))
		if (f->seen[i].ino == k.ino && f->seen[i].dev == k.dev)
			return false;
	f->seen[i] = k;
	f->nseen++;
	return true;
}

static void add_file(struct files *f, const char *path, bool named)
{
	if (f->n == f->alloc) {
		f->alloc = f->alloc ? 2 * f->alloc : 256;
		f->path = erealloc(f->path, f->alloc * sizeof(*f->path));
		f->named = erealloc(f->named, f->alloc * sizeof(*f->named));
	}
	f->path[f->n] = estrdup(path);
	f->named[f->n++] = named;
}

static void add_skip(struct files *f, const char *path, const char *why)
{
	if (f->nskip == f->askip) {
		f->askip = f->askip ? 2 * f->askip : 16;
		f->skip_path = erealloc(f->skip_path,
		    f->askip * sizeof(*f->skip_path));
		f->skip_why = erealloc(f->skip_why,
		    f->askip * sizeof(*f->skip_why));
	}
	f->skip_path[f->nskip] = estrdup(path);
	f->skip_why[f->nskip++] = estrdup(why);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(struct files *f, const char *dir, int depth);

/*
 * add_path: PATH, followed if it is a symbolic link: a regular file is
 * added, a directory walked, each once.  Returns -1 (errno set) when
 * PATH cannot be reached.
 */
static int add_path(struct files *f, const char *path, bool named, int depth)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		if (depth <= MAX_DEPTH && seen_inode(f, &st))
			walk(f, path, depth + 1);
	} else if (S_ISREG(st.st_mode)) {
		if (seen_inode(f, &st))
			add_file(f, path, named);
	} else if (named) {
		warning("'%s' is not a file or a directory: skipped", path);
	}
	return 0;
}

/* The entries of DIR in name order, so that the output is stable. */
static void walk(struct files *f, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL, *path;
	size_t n = 0, alloc = 0, i, len = strlen(dir);

	if (d == NULL) {
		warning("cannot read '%s': %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			names = erealloc(names, alloc * sizeof(*names));
		}
		names[n++] = estrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		path = ealloc(len + strlen(names[i]) + 2);
		sprintf(path, "%s%s%s", dir,
		    len > 0 && dir[len - 1] == '/' ? "" : "/", names[i]);
		/* A link that leads nowhere is no file to scan. */
		add_path(f, path, false, depth);
		free(path);
		free(names[i]);
	}
	free(names);
}

/*
 * A line of the list on standard input: a path, or a line of
 * /proc/PID/maps (its path is from the first '/'; mappings without one
 * are skipped).
 */
static void add_listed(struct files *f, char *line)
{
	char *p = line, *dash;
	size_t n;

	line[strcspn(line, "\n")] = '\0';
	dash = strchr(line, '-');
	if (dash != NULL && dash > line && strspn(line, "0123456789abcdef") ==
	    (size_t)(dash - line) && strchr(line, ' ') != NULL) {
		if ((p = strchr(line, '/')) == NULL)
			return;
	}
	n = strlen(p);
	if (n > 10 && strcmp(p + n - 10, " (deleted)") == 0)
		p[n - 10] = '\0';
	if (*p == '\0')
		return;
	if (add_path(f, p, false, 0) < 0)
		add_skip(f, p, strerror(errno));
}

static void collect(struct files *f, char **ops, int n)
{
	char *line = NULL;
	size_t cap = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (strcmp(ops[i], "-") == 0) {
			while (getline(&line, &cap, stdin) >= 0)
				add_listed(f, line);
			if (ferror(stdin))
				die("cannot read standard input: %s",
				    strerror(errno));
		} else if (add_path(f, ops[i], true, 0) < 0) {
			die("cannot open '%s': %s", ops[i], strerror(errno));
		}
	}
	free(line);
}

static void flush(struct job *j);

static void *worker(void *arg)
{
	struct job *j = arg;
	size_t i;

	while ((i = atomic_fetch_add(&j->next, 1)) < j->files->n) {
		struct perr err;

		if (scan_path(j->files->path[i], &j->res[i], &err) < 0)
			j->why[i] = estrdup(err.msg);
		pthread_mutex_lock(&j->lock);
		j->done[i] = true;
		flush(j);
		pthread_mutex_unlock(&j->lock);
	}
	return NULL;
}

/* Scan every file with JOBS threads. */
static void run_jobs(struct job *j, int jobs)
{
	pthread_t tid[MAX_JOBS];
	int i, started = 0, rc;

	for (i = 1; i < jobs; i++) {
		if ((rc = pthread_create(&tid[i], NULL, worker, j)) != 0) {
			warning("cannot start a thread: %s; going on with %d",
			    strerror(rc), i);
			break;
		}
		started++;
	}
	worker(j);
	for (i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
}

/*
 * Files a directory or a list holds in numbers and that are no programs:
 * they are counted, not listed.
 */
static bool quiet(const struct scan_file *r)
{
	return r->skip == SKIP_NOT_ELF || r->skip == SKIP_NOT_LINKED;
}

/* The uses shown: with --blind, the blind and required ones. */
static bool shown(const struct scan_use *u, bool blind_only)
{
	return !blind_only || u->cls != CLASS_GUARDED;
}

static const char *use_name(const struct scan_use *u)
{
	return u->feat >= 0 ? hm_features[u->feat].name :
	    ZydisISASetGetString(u->isa_set);
}

static void mnemonics(const struct scan_use *u, char *buf, size_t len)
{
	int k;

	buf[0] = '\0';
	for (k = 0; k < u->nmn; k++) {
		if (k > 0)
			strncat(buf, ",", len - strlen(buf) - 1);
		strncat(buf, ZydisMnemonicGetString(u->mn[k]),
		    len - strlen(buf) - 1);
	}
}

static void func_label(const struct scan_use *u, char *buf, size_t len)
{
	if (u->func != NULL)
		snprintf(buf, len, "%s", u->func);
	else
		snprintf(buf, len, "0x%llx", (unsigned long long)u->func_addr);
}

static void table_header(void)
{
	printf("%-8s %-20s %7s  %-15s %-24s %s\n", "class", "feature", "count",
	    "signal", "by", "file: function (mnemonics)");
}

static void table_rows(const struct scan_file *r, bool blind_only)
{
	size_t k;

	for (k = 0; k < r->nuses; k++) {
		const struct scan_use *u = &r->uses[k];
		char mn[128], fn[256];

		if (!shown(u, blind_only))
			continue;
		mnemonics(u, mn, sizeof(mn));
		func_label(u, fn, sizeof(fn));
		printf("%-8s %-20s %7lu  %-15s %-24s %s: %s (%s)\n",
		    scan_class_name(u->cls), use_name(u), u->count,
		    scan_signal_name(u->sig), u->by ? u->by : "-", r->path, fn,
		    mn);
	}
}

static void add_names(struct fset *fs, const struct scan_file *r,
		      bool blind_only)
{
	size_t k;

	for (k = 0; k < r->nuses; k++)
		if (r->uses[k].feat >= 0 && shown(&r->uses[k], blind_only))
			fs_set(fs, r->uses[k].feat);
}

/*
 * flush: hand on the complete results that come next in the files'
 * order (the caller holds j->lock): count what was skipped, warn about
 * named files, and write and free the results unless JSON keeps them.
 */
static void flush(struct job *j)
{
	struct files *f = j->files;

	for (; j->next_out < f->n && j->done[j->next_out]; j->next_out++) {
		size_t i = j->next_out;

		if (j->why[i] != NULL) {
			f->not_elf += j->res[i].skip == SKIP_NOT_ELF;
			f->not_linked += j->res[i].skip == SKIP_NOT_LINKED;
			if (f->named[i])
				warning("%s: skipped", j->why[i]);
		} else if (j->out == OUT_TABLE) {
			table_rows(&j->res[i], j->blind_only);
		} else if (j->out == OUT_NAMES) {
			add_names(&j->names, &j->res[i], j->blind_only);
		}
		if (!j->keep) {
			scan_file_release(&j->res[i]);
			free(j->why[i]);
			j->why[i] = NULL;
		}
	}
}

static json_t *use_json(const struct scan_use *u)
{
	json_t *mns = json_array(), *o;
	int k;

	for (k = 0; k < u->nmn; k++)
		json_array_append_new(mns,
		    json_string(ZydisMnemonicGetString(u->mn[k])));
	o = json_pack("{s:s?, s:s, s:s, s:s, s:s?, s:s?, s:I, s:I, s:I, s:o}",
	    "feature", u->feat >= 0 ? hm_features[u->feat].name : NULL,
	    "isa_set", ZydisISASetGetString(u->isa_set),
	    "class", scan_class_name(u->cls),
	    "signal", scan_signal_name(u->sig),
	    "by", u->by,
	    "function", u->func,
	    "function_address", (json_int_t)u->func_addr,
	    "first", (json_int_t)u->first,
	    "count", (json_int_t)u->count,
	    "mnemonics", mns);
	if (o == NULL)
		die("out of memory");
	return o;
}

static json_t *file_json(const struct scan_file *r, bool blind_only)
{
	json_t *uses = json_array(), *o;
	size_t k;

	for (k = 0; k < r->nuses; k++)
		if (shown(&r->uses[k], blind_only))
			json_array_append_new(uses, use_json(&r->uses[k]));
	o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s?, s:s?, s:b, s:I, s:I, "
	    "s:I, s:o}",
	    "path", r->path,
	    "kind", r->kind,
	    "code_bytes", (json_int_t)r->code_bytes,
	    "instructions", (json_int_t)r->insns,
	    "undecodable", (json_int_t)r->undecodable,
	    "isa_needed", r->isa_needed ? isa_level_name(r->isa_needed) : NULL,
	    "hwcaps", r->hwcaps ? isa_level_name(r->hwcaps) : NULL,
	    "glibc", r->glibc,
	    "functions", (json_int_t)r->nfuncs,
	    "ifunc_resolvers", (json_int_t)r->resolvers,
	    "cpu_checks", (json_int_t)r->checks,
	    "uses", uses);
	if (o == NULL)
		die("out of memory");
	return o;
}

/*
 * The policy: the features used blind or required anywhere, with their
 * prerequisites; the evidence says, per feature, its class and the files,
 * or which feature brought it in.
 */
static json_t *policy_json(const struct job *j, size_t n, json_t **ev_r)
{
	struct fset direct = { { 0 } }, blind = { { 0 } }, all, one;
	json_t *feats = json_array(), *ev = json_object(), *files[HM_NR_FEATURES];
	size_t i, k;
	int f, d, via, best;

	memset(files, 0, sizeof(files));
	for (i = 0; i < n; i++)
		for (k = 0; k < j->res[i].nuses; k++) {
			const struct scan_use *u = &j->res[i].uses[k];
			json_t *a;
			size_t m;

			if (u->feat < 0 || u->cls == CLASS_GUARDED)
				continue;
			fs_set(&direct, u->feat);
			if (u->cls == CLASS_BLIND)
				fs_set(&blind, u->feat);
			if (files[u->feat] == NULL)
				files[u->feat] = json_array();
			a = files[u->feat];
			m = json_array_size(a);
			if (m == 0 || strcmp(json_string_value(json_array_get(a,
			    m - 1)), j->res[i].path) != 0)
				json_array_append_new(a, json_string(j->res[i].path));
		}
	all = direct;
	fs_close_needed(&all);
	for (f = 0; f < HM_NR_FEATURES; f++) {
		if (!fs_has(&all, f))
			continue;
		json_array_append_new(feats, json_string(hm_features[f].name));
		if (fs_has(&direct, f)) {
			json_object_set_new(ev, hm_features[f].name,
			    json_pack("{s:s, s:o}", "class", fs_has(&blind, f) ?
			    "blind" : "required", "files", files[f]));
			continue;
		}
		/* The nearest: the used feature with the fewest prerequisites. */
		for (d = 0, via = f, best = HM_NR_FEATURES + 1; d < HM_NR_FEATURES;
		    d++) {
			if (!fs_has(&direct, d))
				continue;
			memset(&one, 0, sizeof(one));
			fs_set(&one, d);
			fs_close_needed(&one);
			if (fs_has(&one, f) && fs_count(&one) < best) {
				best = fs_count(&one);
				via = d;
			}
		}
		json_object_set_new(ev, hm_features[f].name, json_pack("{s:s}",
		    "via", hm_features[via].name));
	}
	*ev_r = ev;
	return feats;
}

static void write_json(const struct job *j, const struct files *fl,
		       bool blind_only)
{
	json_t *ev, *feats, *files = json_array(), *skipped = json_array();
	uint64_t bytes = 0, insns = 0;
	size_t i, scanned = 0;

	feats = policy_json(j, fl->n, &ev);
	for (i = 0; i < fl->n; i++) {
		if (j->why[i] != NULL)
			continue;
		scanned++;
		bytes += j->res[i].code_bytes;
		insns += j->res[i].insns;
		json_array_append_new(files, file_json(&j->res[i], blind_only));
	}
	for (i = 0; i < fl->nskip; i++)
		json_array_append_new(skipped, json_pack("{s:s, s:s}", "path",
		    fl->skip_path[i], "reason", fl->skip_why[i]));
	for (i = 0; i < fl->n; i++)
		if (j->why[i] != NULL && (fl->named[i] || !quiet(&j->res[i])))
			json_array_append_new(skipped, json_pack("{s:s, s:s}",
			    "path", fl->path[i], "reason", j->why[i]));
	json_out(json_pack("{s:s, s:{s:s}, s:o, s:o, s:b, s:o, s:o, s:{s:I, "
	    "s:I, s:I, s:I, s:I}}",
	    "format", "hetmig-policy/1",
	    "source", "kind", "featscan",
	    "features", feats,
	    "evidence", ev,
	    "blind_only", blind_only,
	    "files", files,
	    "skipped", skipped,
	    "totals", "files", (json_int_t)scanned,
	    "not_elf", (json_int_t)fl->not_elf,
	    "not_linked", (json_int_t)fl->not_linked,
	    "code_bytes", (json_int_t)bytes,
	    "instructions", (json_int_t)insns));
}

static void files_release(struct files *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->path[i]);
	for (i = 0; i < f->nskip; i++) {
		free(f->skip_path[i]);
		free(f->skip_why[i]);
	}
	free(f->path);
	free(f->named);
	free(f->seen);
	free(f->skip_path);
	free(f->skip_why);
}

/*
 * cmd_scan: scan the files and directories OPS (N of them) with JOBS
 * threads and write what they use.  Exit status 0; dies (2) on an
 * operand that does not exist.
 */
static int cmd_scan(char **ops, int n, enum output out, int jobs,
		    bool blind_only)
{
	struct files fl;
	struct job j;
	size_t i;
	int f;

	memset(&fl, 0, sizeof(fl));
	memset(&j, 0, sizeof(j));
	collect(&fl, ops, n);
	j.files = &fl;
	j.res = ealloc((fl.n ? fl.n : 1) * sizeof(*j.res));
	j.why = ealloc((fl.n ? fl.n : 1) * sizeof(*j.why));
	j.done = ealloc((fl.n ? fl.n : 1) * sizeof(*j.done));
	j.out = out;
	j.blind_only = blind_only;
	j.keep = out == OUT_JSON;
	atomic_init(&j.next, 0);
	pthread_mutex_init(&j.lock, NULL);
	if (out == OUT_TABLE)
		table_header();
	run_jobs(&j, jobs);
	pthread_mutex_destroy(&j.lock);
	if (out == OUT_JSON)
		write_json(&j, &fl, blind_only);
	for (f = 0; out == OUT_NAMES && f < HM_NR_FEATURES; f++)
		if (fs_has(&j.names, f))
			printf("%s\n", hm_features[f].name);
	for (i = 0; j.keep && i < fl.n; i++) {
		scan_file_release(&j.res[i]);
		free(j.why[i]);
	}
	free(j.res);
	free(j.why);
	free(j.done);
	files_release(&fl);
	return 0;
}

static enum output parse_output(const char *s)
{
	static const struct {
		const char *name;
		enum output out;
	} outputs[] = {
		{ "names", OUT_NAMES }, { "table", OUT_TABLE },
		{ "json", OUT_JSON },
	};
	size_t i;

	for (i = 0; i < sizeof(outputs) / sizeof(outputs[0]); i++)
		if (strcmp(outputs[i].name, s) == 0)
			return outputs[i].out;
	die("unknown output '%s': expected names, table or json", s);
}

int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "at", required_argument, NULL, 'A' },
		{ "blind", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "trap", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	enum output out = OUT_DEFAULT;
	const char *at = NULL;
	bool trap = false, blind = false;
	int c, rc, jobs = 1;
	char *end;
	long v;

	progname = "featscan";
	/*
	 * What a file's scan records lives in arrays of megabytes that are
	 * freed when the file is done.  glibc raises its mmap threshold when
	 * such a block is freed, and the next ones then stay on the heap
	 * after use: a fixed threshold gives them back, so that memory
	 * follows the largest file, not the files seen.
	 */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	while ((c = getopt_long(argc, argv, "hj:o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'A':
			at = optarg;
			break;
		case 'B':
			blind = true;
			break;
		case 'j':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *optarg == '\0' || *end != '\0' || v < 1 ||
			    v > MAX_JOBS)
				die("bad number of jobs '%s': expected 1 to %d",
				    optarg, MAX_JOBS);
			jobs = (int)v;
			break;
		case 'o':
			out = parse_output(optarg);
			break;
		case 'T':
			trap = true;
			break;
		default:
			usage();
		}
	}
	if ((at != NULL || trap) && (out == OUT_NAMES || out == OUT_TABLE))
		die("--at and --trap write lines or json, not %s",
		    out == OUT_NAMES ? "names" : "a table");
	if (at != NULL && !trap && optind == argc)
		rc = cmd_at(at, out);
	else if (trap && at == NULL && optind < argc)
		rc = cmd_trap(argv + optind, argc - optind, out);
	else if (at == NULL && !trap && optind < argc)
		rc = cmd_scan(argv + optind, argc - optind,
		    out == OUT_DEFAULT ? OUT_NAMES : out, jobs, blind);
	else
		usage();
	fshut(stdout, "<stdout>");
	return rc;
}
