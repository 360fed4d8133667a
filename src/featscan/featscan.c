/*
 * featscan: which CPU features a program's instructions need.
 *
 * --at FILE:OFFSET decodes the instruction at a file offset and names the
 * feature it needs; --trap FILE... reads console text and does the same
 * for each invalid-opcode trap the guest kernel reported in one of FILEs.
 * See featscan(1).
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "elfcode.h"
#include "trap.h"
#include "util.h"

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

static void usage(void)
{
	fprintf(stderr, "usage: featscan [-o json] --at file:offset\n"
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
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "trap", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	enum output out = OUT_DEFAULT;
	const char *at = NULL;
	bool trap = false;
	int c, rc;

	progname = "featscan";
	while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
		switch (c) {
		case 'A':
			at = optarg;
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
	if (out == OUT_NAMES || out == OUT_TABLE)
		die("--at and --trap write lines or json, not %s",
		    out == OUT_NAMES ? "names" : "a table");
	if (at != NULL && !trap && optind == argc)
		rc = cmd_at(at, out);
	else if (trap && at == NULL && optind < argc)
		rc = cmd_trap(argv + optind, argc - optind, out);
	else
		usage();
	fshut(stdout, "<stdout>");
	return rc;
}
