/*
 * scan.h: which CPU features the code of an ELF file uses, per function,
 * and whether each use is required, guarded by a runtime check, or blind.
 *
 * Every executable section is decoded from start to end by Zydis (a
 * linear sweep); each instruction's ISA set gives its features (isa.h).
 * The x86-64 baseline every 64-bit guest has (search_default_fixed) is
 * counted, not reported.  Functions are delimited by the addresses that
 * symbols, calls, address-taking instructions and relocations point at,
 * and named by the symbols that exist.  Each use of a feature is then
 * classed by the first signal that applies, in this order:
 *
 *  1. glibc-hwcaps: the file is in a glibc-hwcaps/x86-64-vN directory and
 *     the feature is part of level N: the loader picks the file only on a
 *     CPU of that level (guarded);
 *  2. isa-needed: the GNU property note says the file needs level N and
 *     the feature is part of it (required);
 *  3. ifunc: the function is an IFUNC resolver (STT_GNU_IFUNC symbol,
 *     R_X86_64_IRELATIVE relocation) or one the resolver calls, jumps to
 *     or takes the address of (guarded);
 *  4. cpu-check: the function executes CPUID or XGETBV, reads
 *     __cpu_model/__cpu_features2 (__builtin_cpu_supports) or glibc's
 *     cpu_features, or calls __cpu_indicator_init or
 *     __x86_get_cpuid_feature_leaf; or such a function calls it, jumps to
 *     it or takes its address (guarded);
 *  5. reached: every call, jump and address reference to the function
 *     comes from functions guarded so, and nothing outside can reach it
 *     (not exported, no relocation points at it) (guarded);
 *  6. glibc: the file is part of glibc (it defines GLIBC_PRIVATE), or the
 *     function is one of glibc's lock-elision functions (static
 *     binaries): glibc checks its cpu_features before any instruction
 *     beyond the baseline (guarded);
 *  7. os-gated: pku and cet-ss instructions fault unless the kernel
 *     enabled the feature, which a program asks for first (pkey_alloc,
 *     arch_prctl) and gets only where the CPU has it (guarded);
 *  8. cpuid-in-object: the file is a shared library and some function in
 *     it checks the CPU (weak: the library may guard its code with it);
 *  9. otherwise blind.
 *
 * These are heuristics, and each use says which signal decided.
 */
#ifndef HETMIG_SCAN_H
#define HETMIG_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elfcode.h"
#include "policy.h"

enum scan_class { CLASS_BLIND, CLASS_REQUIRED, CLASS_GUARDED };

enum scan_signal {
	SIG_NONE,
	SIG_HWCAPS,
	SIG_ISA_NEEDED,
	SIG_IFUNC,
	SIG_CPU_CHECK,
	SIG_REACHED,
	SIG_GLIBC,
	SIG_OS_GATED,
	SIG_CPUID_OBJECT,
};

#define SCAN_MNEMONICS 4

/* The uses of one feature in one function. */
struct scan_use {
	int feat;		/* index into hm_features, or -1: isa_set */
	ZydisISASet isa_set;	/* an instruction's set (the unnamed one) */
	char *func;		/* owned: the function's name, or NULL */
	uint64_t func_addr;	/* where the function starts */
	uint64_t first;		/* the address of the first use */
	unsigned long count;
	ZydisMnemonic mn[SCAN_MNEMONICS];	/* the first distinct ones */
	int nmn;
	enum scan_class cls;
	enum scan_signal sig;
	char *by;		/* owned: what the signal names, or NULL */
};

/* Why a file was not scanned. */
enum scan_skip { SKIP_NONE, SKIP_UNREADABLE, SKIP_NOT_ELF, SKIP_MALFORMED,
		 SKIP_OTHER_ARCH, SKIP_NOT_LINKED };

struct scan_file {
	char *path;		/* owned */
	enum scan_skip skip;	/* when scan_path failed */
	const char *kind;	/* "executable", "static-executable",
				   "shared-library" */
	uint64_t code_bytes, insns, undecodable;
	int isa_needed, hwcaps;	/* x86-64 levels 2..4, 0 for none */
	bool glibc;
	size_t nfuncs, resolvers, checks;
	struct scan_use *uses;	/* owned, by function then feature */
	size_t nuses;
};

/*
 * scan_path: scan the file at PATH into *r (which the caller releases
 * with scan_file_release).  Returns 0, or -1 with ERR saying why the file
 * is not scanned: it cannot be read, is not an ELF file, not x86-64, or
 * not linked (an object file); r->skip says which.
 */
int scan_path(const char *path, struct scan_file *r, struct perr *err);

/*
 * scan_image: the same over an opened image; PATH is where the file lies
 * (the glibc-hwcaps rule reads it).  The image stays IMG's.
 */
int scan_image(const struct elfimg *img, const char *path,
	       struct scan_file *r, struct perr *err);

void scan_file_release(struct scan_file *r);

/* "blind", "required", "guarded". */
const char *scan_class_name(enum scan_class c);
/* "none", "glibc-hwcaps", "isa-needed", "ifunc", ... */
const char *scan_signal_name(enum scan_signal s);

/* The level a glibc-hwcaps directory in PATH names (2..4), or 0. */
int scan_hwcaps_level(const char *path);

#endif
