/*
 * test-trap.c: the trap-line parser on the formats Linux 5.x and 6.x
 * print, and the file offset of a trap worked out against this very
 * process: an instruction of this test binary and a function of the C
 * library, at the addresses they are mapped at, must come back as the
 * same instruction and function when decoded from the files.
 */
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfcode.h"
#include "harness.h"
#include "trap.h"

/*
 * A BMI2 instruction that never runs: only its bytes matter.  It is a
 * function of its own so that the symbol table names it.
 */
__asm__(".text\n"
	".globl hm_test_pdep\n"
	".type hm_test_pdep, @function\n"
	"hm_test_pdep:\n"
	"\tpdep %edx, %ecx, %eax\n"
	"\tret\n"
	".size hm_test_pdep, . - hm_test_pdep\n");
extern void hm_test_pdep(void);

struct want {
	int match;
	const char *comm;
	long pid;
	uint64_t ip, sp, error;
	int has_file;
	const char *file;
	int deleted;
	uint64_t base, size;
};

static void test_parse(void)
{
	static const struct {
		const char *what, *line;
		struct want w;
	} cases[] = {
		/* Linux 5.10 (Debian 11), the serial console with printk time. */
		{ "5.10 console",
		  "[ 1234.567890] traps: app[2345] trap invalid opcode "
		  "ip:55d0c8f0f153 sp:7ffd6c1b1e40 error:0 in "
		  "app[55d0c8f0e000+1000]\r\n",
		  { 1, "app", 2345, 0x55d0c8f0f153, 0x7ffd6c1b1e40, 0, 1,
		    "app", 0, 0x55d0c8f0e000, 0x1000 } },
		/* dmesg -r keeps the log level. */
		{ "5.x dmesg -r",
		  "<6>[   88.000001] traps: pdep-test[77] trap invalid opcode "
		  "ip:401136 sp:7ffe3a5c8d10 error:0 in pdep-test[401000+1000]",
		  { 1, "pdep-test", 77, 0x401136, 0x7ffe3a5c8d10, 0, 1,
		    "pdep-test", 0, 0x401000, 0x1000 } },
		/* Linux 6.1 (Debian 12) through journald; a shared library. */
		{ "6.1 journal, shared library",
		  "Dec 05 19:17:01 guest kernel: traps: pgbench[812] trap "
		  "invalid opcode ip:7f3a2b1dd153 sp:7ffc2d9a1e58 error:0 in "
		  "libpq.so.5.15[7f3a2b1c4000+1e000]",
		  { 1, "pgbench", 812, 0x7f3a2b1dd153, 0x7ffc2d9a1e58, 0, 1,
		    "libpq.so.5.15", 0, 0x7f3a2b1c4000, 0x1e000 } },
		/* 6.x with CONFIG_PRINTK_CALLER; COMM cut at 15 bytes. */
		{ "6.x printk caller, long name",
		  "[    5.123456][  T345] traps: a-very-long-pro[345] trap "
		  "invalid opcode ip:5581aa2c1190 sp:7ffcb1e0a7c0 error:0 in "
		  "a-very-long-program-name[5581aa2c1000+2000]",
		  { 1, "a-very-long-pro", 345, 0x5581aa2c1190, 0x7ffcb1e0a7c0,
		    0, 1, "a-very-long-program-name", 0, 0x5581aa2c1000,
		    0x2000 } },
		/* JIT code: no file is mapped at ip, nothing after error. */
		{ "anonymous memory",
		  "traps: java[999] trap invalid opcode ip:7f0000001000 "
		  "sp:7ffd00000000 error:0",
		  { 1, "java", 999, 0x7f0000001000, 0x7ffd00000000, 0, 0, "",
		    0, 0, 0 } },
		/* A binary replaced while it ran (file_path's suffix). */
		{ "deleted file",
		  "traps: app[12] trap invalid opcode ip:55d0c8f0f153 "
		  "sp:7ffd6c1b1e40 error:0 in app (deleted)[55d0c8f0e000+1000]",
		  { 1, "app", 12, 0x55d0c8f0f153, 0x7ffd6c1b1e40, 0, 1, "app",
		    1, 0x55d0c8f0e000, 0x1000 } },
		/* COMM and FILE may hold blanks and brackets. */
		{ "brackets in names",
		  "traps: a b[c][77] trap invalid opcode ip:1153 sp:2000 "
		  "error:0 in my [x] app[1000+3000]",
		  { 1, "a b[c]", 77, 0x1153, 0x2000, 0, 1, "my [x] app", 0,
		    0x1000, 0x3000 } },
		/* What follows the mapping (as 6.x's segfault line has) is
		 * not part of it. */
		{ "trailing text",
		  "traps: app[5] trap invalid opcode ip:1153 sp:2000 error:0 "
		  "in app[1000+1000] likely on CPU 1 (core 1, socket 0)",
		  { 1, "app", 5, 0x1153, 0x2000, 0, 1, "app", 0, 0x1000,
		    0x1000 } },
		/* Not invalid-opcode traps. */
		{ "6.x segfault",
		  "app[123]: segfault at 0 ip 000055d0c8f0f153 sp "
		  "00007ffd6c1b1e40 error 4 in app[55d0c8f0e000+1000] likely "
		  "on CPU 1 (core 1, socket 0)", { 0 } },
		{ "int3",
		  "traps: app[123] trap int3 ip:55d0c8f0f153 sp:7ffd6c1b1e40 "
		  "error:0 in app[55d0c8f0e000+1000]", { 0 } },
		{ "general protection",
		  "traps: app[123] general protection fault ip:55d0c8f0f153 "
		  "sp:7ffd6c1b1e40 error:0 in app[55d0c8f0e000+1000]", { 0 } },
		{ "no pid", "traps: app[] trap invalid opcode ip:1 sp:2 error:0",
		  { 0 } },
		{ "bad ip", "traps: app[1] trap invalid opcode ip:zz sp:2 error:0",
		  { 0 } },
		{ "ip too long",
		  "traps: app[1] trap invalid opcode ip:11112222333344445 sp:2 "
		  "error:0", { 0 } },
		{ "cut short", "traps: app[1] trap invalid opcode ip:1153 sp:",
		  { 0 } },
		{ "empty", "", { 0 } },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct want *w = &cases[i].w;
		struct trap t;
		int m = trap_parse(cases[i].line, &t);

		check(m == w->match, "%s: match %d", cases[i].what, m);
		if (m != 1 || w->match != 1)
			continue;
		check(strcmp(t.comm, w->comm) == 0, "%s: comm '%s'",
		    cases[i].what, t.comm);
		check(t.pid == w->pid && t.ip == w->ip && t.sp == w->sp &&
		    t.error == w->error, "%s: pid %ld ip %" PRIx64 " sp %"
		    PRIx64 " error %" PRIx64, cases[i].what, t.pid, t.ip, t.sp,
		    t.error);
		check(t.has_file == !!w->has_file, "%s: has_file %d",
		    cases[i].what, t.has_file);
		if (!w->has_file)
			continue;
		check(strcmp(t.file, w->file) == 0 &&
		    t.deleted == !!w->deleted, "%s: file '%s' deleted %d",
		    cases[i].what, t.file, t.deleted);
		check(t.base == w->base && t.size == w->size,
		    "%s: base %" PRIx64 " size %" PRIx64, cases[i].what, t.base,
		    t.size);
	}
}

/*
 * The executable mapping of this process that holds ADDR, as the kernel
 * would print it: its path, start and length.
 */
static int mapping_of(uintptr_t addr, char *path, size_t n,
		      uint64_t *base_r, uint64_t *size_r)
{
	char line[4096];
	FILE *fp = fopen("/proc/self/maps", "r");
	int rc = -1;

	if (fp == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL) {
		unsigned long long lo, hi;
		char perms[8];
		int off = 0;

		if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &lo, &hi,
		    perms, &off) < 3 || off == 0)
			continue;
		if (addr < lo || addr >= hi || perms[2] != 'x')
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, n, "%s", line + off);
		*base_r = lo;
		*size_r = hi - lo;
		rc = 0;
		break;
	}
	fclose(fp);
	return rc;
}

/*
 * A trap line for ADDR as the kernel would print it, parsed back, the
 * offset worked out and the instruction decoded from the file: the
 * function there must be WANT_FUNC (or ALT_FUNC).
 */
static void check_roundtrip(const char *what, uintptr_t addr,
			    const char *want_func, const char *alt_func,
			    const char *want_mnemonic)
{
	char path[2048], line[4096], *base_name;
	uint64_t base, size, off;
	struct elfimg img = ELFIMG_INIT;
	struct elf_insn in;
	struct perr err;
	struct trap t;
	const char *got;

	if (mapping_of(addr, path, sizeof(path), &base, &size) < 0) {
		check(0, "%s: no mapping holds %#lx", what,
		    (unsigned long)addr);
		return;
	}
	base_name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	snprintf(line, sizeof(line), "[   12.000000] traps: test-trap[%d] "
	    "trap invalid opcode ip:%lx sp:7ffc00000000 error:0 in "
	    "%s[%" PRIx64 "+%" PRIx64 "]\n", (int)getpid(),
	    (unsigned long)addr, base_name, base, size);
	check(trap_parse(line, &t) == 1, "%s: line not parsed: %s", what,
	    line);
	check(strcmp(t.file, base_name) == 0, "%s: file '%s'", what, t.file);
	if (elfimg_open(&img, path, &err) < 0) {
		check(0, "%s: %s", what, err.msg);
		goto out;
	}
	if (trap_file_offset(&img, &t, &off, &err) < 0) {
		check(0, "%s: %s", what, err.msg);
		goto out;
	}
	check(elfimg_decode_at(&img, off, &in, &err) == 0, "%s: no "
	    "instruction at +%#" PRIx64, what, off);
	got = in.func ? in.func->name : "(none)";
	check(strcmp(got, want_func) == 0 ||
	    (alt_func && strcmp(got, alt_func) == 0),
	    "%s: function '%s' at +%#" PRIx64 ", want '%s'", what, got, off,
	    want_func);
	check(in.func == NULL || in.vaddr == in.func->addr,
	    "%s: not at the function's start", what);
	if (want_mnemonic != NULL)
		check(strcmp(ZydisMnemonicGetString(in.mnemonic),
		    want_mnemonic) == 0 && in.need->kind == ISA_FEATURE &&
		    strcmp(hm_features[in.need->feat[0]].name, "bmi2") == 0,
		    "%s: %s, not pdep (bmi2)", what, in.text);
out:
	elfimg_release(&img);
}

static void test_roundtrip(void)
{
	check_roundtrip("this executable", (uintptr_t)hm_test_pdep,
	    "hm_test_pdep", NULL, "pdep");
	check_roundtrip("the C library", (uintptr_t)getpid, "getpid",
	    "__getpid", NULL);
}

/* The offset rule on a hand-made trap against this executable. */
static void test_offsets(void)
{
	struct elfimg img = ELFIMG_INIT;
	struct perr err;
	struct trap t = { .has_file = true, .file = "x" };
	char path[2048];
	uint64_t base, size, off;

	if (mapping_of((uintptr_t)hm_test_pdep, path, sizeof(path), &base,
	    &size) < 0 || elfimg_open(&img, path, &err) < 0) {
		check(0, "cannot open this executable");
		goto out;
	}
	t.base = base;
	t.size = size;
	t.ip = base - 1;
	check(trap_file_offset(&img, &t, &off, &err) < 0,
	    "an ip below the mapping has an offset");
	t.ip = base + size;
	check(trap_file_offset(&img, &t, &off, &err) < 0,
	    "an ip past the mapping has an offset");
	t.ip = (uintptr_t)hm_test_pdep;
	t.has_file = false;
	check(trap_file_offset(&img, &t, &off, &err) < 0 &&
	    strstr(err.msg, "no file") != NULL, "no file: '%s'", err.msg);
out:
	elfimg_release(&img);
}

int main(void)
{
	test_parse();
	test_roundtrip();
	test_offsets();
	return harness_done("test-trap");
}
