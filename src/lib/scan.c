/*
 * scan.c: see scan.h.
 *
 * One file is scanned in three steps: the sweep decodes every instruction
 * once and records only what the classes need (uses of features beyond
 * the baseline, CPU checks, calls, jumps and address references); the
 * functions are then delimited and each gets its guard signal from the
 * references between them; last, the uses are gathered per function and
 * feature and classed.  What the sweep records is freed when the file is
 * done, so memory follows the largest file, not the number of files.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"
#include "search.h"
#include "util.h"

/* The CPU-feature data objects one file can hold (cpu_data_names). */
#define MAX_CPU_DATA 8
/* The sweep lets go of the code behind it in steps of this size. */
#define DROP_STEP (1u << 20)

/* What the sweep records. */
struct use_rec {
	uint64_t addr;
	int32_t feat;		/* -1: an unnamed ISA set */
	uint16_t mn, set;
};

struct ref_rec {
	uint64_t from, to;
};

struct edge {
	size_t from, to;
};

struct u64s {
	uint64_t *v;
	size_t n, alloc;
};

/* One file's scan in progress. */
struct ctx {
	const struct elfimg *img;
	struct scan_file *r;
	struct use_rec *uses;
	size_t nuses, ause;
	struct ref_rec *refs;
	size_t nrefs, aref;
	struct u64s checks, starts, escapes, resolvers;
	struct u64s cpu_slots, cpu_stubs, cpu_funcs;	/* sorted */
	uint64_t cpu_lo[MAX_CPU_DATA], cpu_hi[MAX_CPU_DATA];
	int ncpu;
	bool absolute;		/* ET_EXEC: immediates can be addresses */
};

/*
 * Symbols whose use is a CPU check: the data __builtin_cpu_supports
 * reads (libgcc's __cpu_model, __cpu_features2) and static glibc's
 * cpu_features; the functions that fill or answer them.
 */
static const char *const cpu_data_names[] = {
	"__cpu_model", "__cpu_features2", "_dl_x86_cpu_features",
	/* Go: the runtime's and golang.org/x/sys's CPUID results. */
	"internal/cpu.X86", "runtime.x86HasPOPCNT", "runtime.x86HasSSE41",
	"runtime.x86HasFMA", "golang.org/x/sys/cpu.X86",
};
static const char *const cpu_func_names[] = {
	"__cpu_indicator_init", "__x86_get_cpuid_feature_leaf",
	"__get_cpu_features", "_dl_x86_get_cpu_features",
};

/*
 * glibc functions that use instructions beyond the baseline only when
 * glibc's cpu_features allow them, through a variable no ELF signal
 * shows: lock elision (RTM; elision-conf.c) and the lazy-binding
 * trampolines (XSAVE, XSAVEC; chosen in dl-machine.h).  Static binaries
 * keep their names; in libc.so.6 the glibc rule covers them.
 */
static const char *const glibc_guarded[] = {
	"__lll_lock_elision", "__lll_unlock_elision", "__lll_trylock_elision",
	"__lll_clocklock_elision", "__lll_timedlock_elision",
	"_dl_runtime_resolve_xsave", "_dl_runtime_resolve_xsavec",
	"_dl_runtime_resolve_fxsave", "_dl_tlsdesc_dynamic_xsavec",
};

/* Features whose instructions fault unless the kernel enabled them. */
static const struct {
	int feat;
	const char *gate;
} os_gated[] = {
	{ HM_F_PKU, "pkey_alloc" },
	{ HM_F_CET_SS, "arch_prctl" },
};

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static struct fset baseline;
/* Sets the sweep need not look up: no feature beyond the baseline. */
static bool quiet_set[ZYDIS_ISA_SET_MAX_VALUE + 1];

static void tables_init(void)
{
	int s, i;

	search_default_fixed(&baseline);
	for (s = 0; s <= ZYDIS_ISA_SET_MAX_VALUE; s++) {
		const struct isa_need *n = isa_set_entry((ZydisISASet)s);
		bool quiet = n->kind == ISA_BASE && !n->by_mnemonic;

		if (n->kind == ISA_FEATURE && !n->by_mnemonic) {
			quiet = true;
			for (i = 0; i < n->nfeat; i++)
				quiet &= fs_has(&baseline, n->feat[i]);
		}
		quiet_set[s] = quiet;
	}
}

static void *grow(void *p, size_t *alloc, size_t n, size_t size)
{
	if (n < *alloc)
		return p;
	*alloc = *alloc ? *alloc * 2 : 256;
	return erealloc(p, *alloc * size);
}

static void push(struct u64s *a, uint64_t v)
{
	a->v = grow(a->v, &a->alloc, a->n, sizeof(*a->v));
	a->v[a->n++] = v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void sort_unique(struct u64s *a)
{
	size_t i, n = 0;

	if (a->n == 0)
		return;
	qsort(a->v, a->n, sizeof(*a->v), cmp_u64);
	for (i = 0; i < a->n; i++)
		if (n == 0 || a->v[n - 1] != a->v[i])
			a->v[n++] = a->v[i];
	a->n = n;
}

static bool has(const struct u64s *a, uint64_t v)
{
	return a->n > 0 && bsearch(&v, a->v, a->n, sizeof(*a->v), cmp_u64);
}

static void free_u64s(struct u64s *a)
{
	free(a->v);
	memset(a, 0, sizeof(*a));
}

static bool in_code(const struct ctx *c, uint64_t a)
{
	return elfimg_region_at(c->img, a) != NULL;
}

static bool cpu_data(const struct ctx *c, uint64_t a)
{
	int i;

	for (i = 0; i < c->ncpu; i++)
		if (a >= c->cpu_lo[i] && a < c->cpu_hi[i])
			return true;
	return false;
}

static bool is_plt(const struct elf_region *r)
{
	return r->name != NULL && strncmp(r->name, ".plt", 4) == 0;
}

/* The relocations the classes need; see elfimg_relocs. */
static int on_reloc(void *arg, uint64_t offset, unsigned int type,
		    int64_t addend, const char *sym)
{
	struct ctx *c = arg;
	size_t i;

	switch (type) {
	case R_X86_64_IRELATIVE:
		push(&c->resolvers, (uint64_t)addend);
		push(&c->starts, (uint64_t)addend);
		break;
	case R_X86_64_RELATIVE:
		/* A pointer to code in data: callable from anywhere. */
		if (in_code(c, (uint64_t)addend)) {
			push(&c->escapes, (uint64_t)addend);
			push(&c->starts, (uint64_t)addend);
		}
		break;
	case R_X86_64_GLOB_DAT:
	case R_X86_64_JUMP_SLOT:
	case R_X86_64_64:
		for (i = 0; i < sizeof(cpu_data_names) / sizeof(*cpu_data_names); i++)
			if (strcmp(sym, cpu_data_names[i]) == 0)
				push(&c->cpu_slots, offset);
		for (i = 0; i < sizeof(cpu_func_names) / sizeof(*cpu_func_names); i++)
			if (strcmp(sym, cpu_func_names[i]) == 0)
				push(&c->cpu_slots, offset);
		break;
	}
	return 0;
}

/* The CPU-check symbols this file defines. */
static void find_cpu_symbols(struct ctx *c)
{
	GElf_Sym s;
	size_t i;

	for (i = 0; i < sizeof(cpu_data_names) / sizeof(*cpu_data_names); i++)
		if (elfimg_find_symbol(c->img, cpu_data_names[i], &s) &&
		    s.st_shndx != SHN_UNDEF && c->ncpu < MAX_CPU_DATA) {
			c->cpu_lo[c->ncpu] = s.st_value;
			c->cpu_hi[c->ncpu++] = s.st_value +
			    (s.st_size ? s.st_size : 1);
		}
	for (i = 0; i < sizeof(cpu_func_names) / sizeof(*cpu_func_names); i++)
		if (elfimg_find_symbol(c->img, cpu_func_names[i], &s) &&
		    s.st_shndx != SHN_UNDEF && s.st_value != 0)
			push(&c->cpu_funcs, s.st_value);
}

/* Constructors and destructors of a non-PIE file: addresses in data. */
static void find_init_arrays(struct ctx *c)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(c->img->elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i;

		if (gelf_getshdr(scn, &sh) == NULL ||
		    (sh.sh_type != SHT_INIT_ARRAY &&
		    sh.sh_type != SHT_FINI_ARRAY &&
		    sh.sh_type != SHT_PREINIT_ARRAY) ||
		    (d = elf_getdata(scn, NULL)) == NULL || d->d_buf == NULL)
			continue;
		for (i = 0; i + 8 <= d->d_size; i += 8) {
			uint64_t a;

			memcpy(&a, (const char *)d->d_buf + i, 8);
			if (in_code(c, a)) {
				push(&c->escapes, a);
				push(&c->starts, a);
			}
		}
	}
}

static void decoder_init(ZydisDecoder *dec)
{
	ZydisDecoderInit(dec, ZYDIS_MACHINE_MODE_LONG_64,
	    ZYDIS_STACK_WIDTH_64);
	ZydisDecoderEnableMode(dec, ZYDIS_DECODER_MODE_MINIMAL, ZYAN_TRUE);
}

/* The target of a RIP-relative memory operand, if IN has one. */
static bool rip_target(const ZydisDecodedInstruction *in, uint64_t next,
		       uint64_t *t_r)
{
	if (!(in->attributes & ZYDIS_ATTRIB_HAS_MODRM) ||
	    in->raw.modrm.mod != 0 || in->raw.modrm.rm != 5)
		return false;
	*t_r = next + (uint64_t)in->raw.disp.value;
	return true;
}

/*
 * PLT stubs that jump through a GOT slot of a CPU-check symbol: a call
 * to such a stub is a call to the symbol.  The stub starts at its jump,
 * or at the ENDBR64 right before it.
 */
static void sweep_plt(struct ctx *c, const struct elf_region *reg,
		      const ZydisDecoder *dec)
{
	static const unsigned char endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	ZydisDecodedInstruction in;
	uint64_t at = 0, t;

	while (at < reg->size) {
		if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(dec, NULL,
		    reg->bytes + at, reg->size - at, &in))) {
			c->r->undecodable++;
			at++;
			continue;
		}
		c->r->insns++;
		if (in.mnemonic == ZYDIS_MNEMONIC_JMP &&
		    rip_target(&in, reg->vaddr + at + in.length, &t) &&
		    has(&c->cpu_slots, t)) {
			push(&c->cpu_stubs, reg->vaddr + at);
			if (at >= 4 && memcmp(reg->bytes + at - 4, endbr64, 4) == 0)
				push(&c->cpu_stubs, reg->vaddr + at - 4);
		}
		at += in.length;
	}
}

static void add_use(struct ctx *c, uint64_t addr, int feat,
		    const ZydisDecodedInstruction *in)
{
	struct use_rec *u;

	c->uses = grow(c->uses, &c->ause, c->nuses, sizeof(*c->uses));
	u = &c->uses[c->nuses++];
	u->addr = addr;
	u->feat = feat;
	u->mn = (uint16_t)in->mnemonic;
	u->set = (uint16_t)in->meta.isa_set;
}

static void add_ref(struct ctx *c, uint64_t from, uint64_t to)
{
	c->refs = grow(c->refs, &c->aref, c->nrefs, sizeof(*c->refs));
	c->refs[c->nrefs].from = from;
	c->refs[c->nrefs++].to = to;
}

/* The features of one decoded instruction, beyond the baseline. */
static void note_features(struct ctx *c, uint64_t addr,
			  const ZydisDecodedInstruction *in)
{
	const struct isa_need *n = isa_need(in->meta.isa_set, in->mnemonic);
	int i;

	if (n->kind == ISA_UNNAMED) {
		add_use(c, addr, -1, in);
		return;
	}
	if (n->kind != ISA_FEATURE)
		return;
	for (i = 0; i < n->nfeat; i++)
		if (!fs_has(&baseline, n->feat[i]))
			add_use(c, addr, n->feat[i], in);
}

/* What one instruction refers to: calls, jumps, addresses, CPU checks. */
static void note_refs(struct ctx *c, uint64_t addr, uint64_t next,
		      const ZydisDecodedInstruction *in)
{
	uint64_t t;

	if (!(in->attributes & ZYDIS_ATTRIB_IS_RELATIVE)) {
		/* Non-PIE code takes addresses as immediates. */
		if (c->absolute && in->mnemonic == ZYDIS_MNEMONIC_MOV &&
		    in->raw.imm[0].size >= 32 &&
		    in_code(c, in->raw.imm[0].value.u)) {
			add_ref(c, addr, in->raw.imm[0].value.u);
			push(&c->starts, in->raw.imm[0].value.u);
		}
		return;
	}
	if (rip_target(in, next, &t)) {
		if (in->mnemonic == ZYDIS_MNEMONIC_LEA && in_code(c, t)) {
			add_ref(c, addr, t);
			push(&c->starts, t);
		} else if (cpu_data(c, t) || has(&c->cpu_slots, t)) {
			push(&c->checks, addr);
		}
		return;
	}
	if (in->mnemonic != ZYDIS_MNEMONIC_CALL &&
	    in->mnemonic != ZYDIS_MNEMONIC_JMP)
		return;
	t = next + (uint64_t)in->raw.imm[0].value.s;
	if (has(&c->cpu_stubs, t) || has(&c->cpu_funcs, t))
		push(&c->checks, addr);
	if (!in_code(c, t))
		return;
	add_ref(c, addr, t);
	if (in->mnemonic == ZYDIS_MNEMONIC_CALL)
		push(&c->starts, t);
}

/* The linear sweep of one region; the hot loop of featscan. */
static void sweep(struct ctx *c, const struct elf_region *reg,
		  const ZydisDecoder *dec)
{
	ZydisDecodedInstruction in;
	uint64_t at = 0, dropped = 0;

	while (at < reg->size) {
		uint64_t addr = reg->vaddr + at;

		if (at - dropped >= DROP_STEP) {
			elfimg_drop(c->img, reg->offset + dropped, at - dropped);
			dropped = at;
		}

		if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(dec, NULL,
		    reg->bytes + at, reg->size - at, &in))) {
			c->r->undecodable++;
			at++;
			continue;
		}
		c->r->insns++;
		at += in.length;
		if (!quiet_set[in.meta.isa_set])
			note_features(c, addr, &in);
		if (in.mnemonic == ZYDIS_MNEMONIC_CPUID ||
		    in.mnemonic == ZYDIS_MNEMONIC_XGETBV)
			push(&c->checks, addr);
		note_refs(c, addr, reg->vaddr + at, &in);
	}
	elfimg_drop(c->img, reg->offset + dropped, reg->size - dropped);
}

/* --- functions ----------------------------------------------------------- */

/* The index of the function holding ADDR in sorted STARTS, or -1. */
static long func_of(const struct u64s *starts, uint64_t addr)
{
	size_t lo = 0, hi = starts->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (starts->v[mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

/*
 * The function starts: every address found, inside the code, but not
 * inside a function a symbol gives a size (a label, not a function).
 */
static void settle_starts(struct ctx *c)
{
	const struct elfimg *img = c->img;
	size_t i, n = 0;

	for (i = 0; i < img->nfuncs; i++)
		push(&c->starts, img->funcs[i].addr);
	for (i = 0; i < img->ncode; i++)
		push(&c->starts, img->code[i].vaddr);
	push(&c->starts, img->ehdr.e_entry);
	sort_unique(&c->starts);
	for (i = 0; i < c->starts.n; i++) {
		uint64_t s = c->starts.v[i];
		const struct elf_sym *f;

		if (!in_code(c, s))
			continue;
		f = elfimg_func_at(img, s);
		if (f != NULL && f->addr != s && f->size != 0)
			continue;
		c->starts.v[n++] = s;
	}
	c->starts.n = n;
}

struct func {
	enum scan_signal sig;
	long by;		/* the function the signal names, or -1 */
	long guarded_caller;	/* for SIG_REACHED: one caller, or -1 */
	bool resolver, check, escaped;
	size_t unguarded_in, in;
};

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return x->to < y->to ? -1 : x->to > y->to;
}

/* The references between distinct functions, sorted, each once. */
static struct edge *make_edges(struct ctx *c, size_t *n_r)
{
	struct edge *e = ealloc((c->nrefs ? c->nrefs : 1) * sizeof(*e));
	size_t i, n = 0, m = 0;

	for (i = 0; i < c->nrefs; i++) {
		long from = func_of(&c->starts, c->refs[i].from);
		long to = func_of(&c->starts, c->refs[i].to);

		if (from < 0 || to < 0 || from == to)
			continue;
		e[n].from = (size_t)from;
		e[n++].to = (size_t)to;
	}
	qsort(e, n, sizeof(*e), cmp_edge);
	for (i = 0; i < n; i++)
		if (m == 0 || cmp_edge(&e[m - 1], &e[i]) != 0)
			e[m++] = e[i];
	*n_r = m;
	return e;
}

static void mark(struct func *f, size_t i, enum scan_signal sig, long by)
{
	if (f[i].sig == SIG_NONE) {
		f[i].sig = sig;
		f[i].by = by;
	}
}

/*
 * Guard signals per function: resolvers and checkers themselves, what
 * they reach directly, then (the worklist) functions every reference to
 * which comes from a guarded function.
 */
static void guard_functions(struct func *f, size_t nf, const struct edge *e,
			    size_t ne)
{
	size_t *first = ealloc((nf + 1) * sizeof(*first));
	size_t *work = ealloc((nf ? nf : 1) * sizeof(*work));
	size_t i, nwork = 0;

	for (i = 0; i < nf; i++)
		if (f[i].resolver)
			mark(f, i, SIG_IFUNC, (long)i);
		else if (f[i].check)
			mark(f, i, SIG_CPU_CHECK, (long)i);
	for (i = 0; i < ne; i++)
		if (f[e[i].from].resolver)
			mark(f, e[i].to, SIG_IFUNC, (long)e[i].from);
	for (i = 0; i < ne; i++)
		if (f[e[i].from].check)
			mark(f, e[i].to, SIG_CPU_CHECK, (long)e[i].from);
	/* Outgoing edges of function k: e[first[k]] .. e[first[k + 1] - 1]. */
	for (i = 0; i < ne; i++) {
		first[e[i].from + 1]++;
		f[e[i].to].in++;
		if (f[e[i].from].sig == SIG_NONE)
			f[e[i].to].unguarded_in++;
		else
			f[e[i].to].guarded_caller = (long)e[i].from;
	}
	for (i = 0; i < nf; i++)
		first[i + 1] += first[i];
	for (i = 0; i < nf; i++)
		if (f[i].sig == SIG_NONE && !f[i].escaped && f[i].in > 0 &&
		    f[i].unguarded_in == 0)
			work[nwork++] = i;
	while (nwork > 0) {
		size_t k = work[--nwork], j;

		f[k].sig = SIG_REACHED;
		f[k].by = f[k].guarded_caller;
		for (j = first[k]; j < first[k + 1]; j++) {
			struct func *g = &f[e[j].to];

			g->guarded_caller = (long)k;
			if (g->sig == SIG_NONE && --g->unguarded_in == 0 &&
			    !g->escaped)
				work[nwork++] = e[j].to;
		}
	}
	free(first);
	free(work);
}

/* --- classes ------------------------------------------------------------- */

/* Within one function: by feature (unnamed sets apart), then address. */
static int cmp_use(const void *a, const void *b)
{
	const struct use_rec *x = a, *y = b;

	if (x->feat != y->feat)
		return x->feat < y->feat ? -1 : 1;
	if (x->set != y->set && (x->feat < 0 || y->feat < 0))
		return (int)x->set - (int)y->set;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static const char *func_name(const struct ctx *c, uint64_t start)
{
	const struct elf_sym *s = elfimg_func_at(c->img, start);

	return s != NULL && s->addr == start ? s->name : NULL;
}

/* A function's name for "by": its symbol, or its address. */
static char *by_name(const struct ctx *c, long k)
{
	const char *n;
	char buf[32];

	if (k < 0)
		return NULL;
	n = func_name(c, c->starts.v[k]);
	if (n != NULL)
		return estrdup(n);
	snprintf(buf, sizeof(buf), "0x%llx",
	    (unsigned long long)c->starts.v[k]);
	return estrdup(buf);
}

static bool in_glibc_table(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(glibc_guarded) / sizeof(*glibc_guarded); i++)
		if (strcmp(name, glibc_guarded[i]) == 0)
			return true;
	return false;
}

/* The class of use U (its function's guard in F), by scan.h's rules. */
static void classify(struct ctx *c, struct scan_use *u, const struct func *f,
		     long fi, long first_check)
{
	struct fset lv;
	size_t i;

	u->cls = CLASS_GUARDED;
	if (c->r->hwcaps && u->feat >= 0) {
		isa_level_features(c->r->hwcaps, true, &lv);
		if (fs_has(&lv, u->feat)) {
			u->sig = SIG_HWCAPS;
			u->by = estrdup(isa_level_name(c->r->hwcaps));
			return;
		}
	}
	if (c->r->isa_needed && u->feat >= 0) {
		isa_level_features(c->r->isa_needed, true, &lv);
		if (fs_has(&lv, u->feat)) {
			u->cls = CLASS_REQUIRED;
			u->sig = SIG_ISA_NEEDED;
			u->by = estrdup(isa_level_name(c->r->isa_needed));
			return;
		}
	}
	if (f[fi].sig != SIG_NONE) {
		u->sig = f[fi].sig;
		u->by = by_name(c, f[fi].by);
		return;
	}
	if (c->r->glibc) {
		u->sig = SIG_GLIBC;
		u->by = estrdup("GLIBC_PRIVATE");
		return;
	}
	for (i = 0; i < sizeof(os_gated) / sizeof(*os_gated); i++)
		if (u->feat == os_gated[i].feat) {
			u->sig = SIG_OS_GATED;
			u->by = estrdup(os_gated[i].gate);
			return;
		}
	if (strcmp(c->r->kind, "shared-library") == 0 && first_check >= 0) {
		u->sig = SIG_CPUID_OBJECT;
		u->by = by_name(c, first_check);
		return;
	}
	u->cls = CLASS_BLIND;
	u->sig = SIG_NONE;
}

/* One function's uses, sorted by cmp_use, into r->uses. */
static void gather_run(struct ctx *c, const struct func *f, long fi,
		       const struct use_rec *u, size_t n, long first_check,
		       size_t *alloc)
{
	struct scan_file *r = c->r;
	const char *name = func_name(c, c->starts.v[fi]);
	struct scan_use *s = NULL;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		if (s == NULL || s->feat != u[i].feat ||
		    (u[i].feat < 0 && s->isa_set != u[i].set)) {
			r->uses = grow(r->uses, alloc, r->nuses,
			    sizeof(*r->uses));
			s = &r->uses[r->nuses++];
			memset(s, 0, sizeof(*s));
			s->feat = u[i].feat;
			s->isa_set = (ZydisISASet)u[i].set;
			s->func = name ? estrdup(name) : NULL;
			s->func_addr = c->starts.v[fi];
			s->first = u[i].addr;
			classify(c, s, f, fi, first_check);
		}
		s->count++;
		for (k = 0; k < s->nmn && s->mn[k] != (ZydisMnemonic)u[i].mn; k++)
			;
		if (k == s->nmn && k < SCAN_MNEMONICS)
			s->mn[s->nmn++] = (ZydisMnemonic)u[i].mn;
	}
}

/*
 * Gather the sweep's uses per function and feature, and class them.  The
 * sweep went through the code in address order, so each function's uses
 * are one run of the array; each run is sorted by feature.
 */
static void gather_uses(struct ctx *c, const struct func *f, long first_check)
{
	size_t i, j, alloc = 0;

	for (i = 0; i < c->nuses; i = j) {
		long fi = func_of(&c->starts, c->uses[i].addr);

		for (j = i + 1; j < c->nuses &&
		    func_of(&c->starts, c->uses[j].addr) == fi; j++)
			;
		if (fi < 0)
			continue;
		qsort(c->uses + i, j - i, sizeof(*c->uses), cmp_use);
		gather_run(c, f, fi, c->uses + i, j - i, first_check, &alloc);
	}
}

/* --- the file ------------------------------------------------------------ */

int scan_hwcaps_level(const char *path)
{
	static const char dir[] = "glibc-hwcaps/";
	const char *p = path;
	char level[32];
	size_t n;

	/* A path component named glibc-hwcaps, the first or after a '/'. */
	while ((p = strstr(p, dir)) != NULL && p != path && p[-1] != '/')
		p++;
	if (p == NULL)
		return 0;
	p += strlen(dir);
	n = strcspn(p, "/");
	if (n >= sizeof(level) || p[n] != '/')
		return 0;
	memcpy(level, p, n);
	level[n] = '\0';
	return isa_level_by_name(level);
}

static const char *file_kind(const struct elfimg *img)
{
	size_t n, i;
	bool interp = false;

	if (elfimg_is_shared_library(img))
		return "shared-library";
	if (elf_getphdrnum(img->elf, &n) == 0)
		for (i = 0; i < n; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(img->elf, (int)i, &ph) != NULL &&
			    ph.p_type == PT_INTERP)
				interp = true;
		}
	return interp ? "executable" : "static-executable";
}

static void ctx_release(struct ctx *c)
{
	free(c->uses);
	free(c->refs);
	free_u64s(&c->checks);
	free_u64s(&c->starts);
	free_u64s(&c->escapes);
	free_u64s(&c->resolvers);
	free_u64s(&c->cpu_slots);
	free_u64s(&c->cpu_stubs);
	free_u64s(&c->cpu_funcs);
}

/* The per-function facts: resolver, CPU check, reachable from outside. */
static struct func *func_facts(struct ctx *c, long *first_check_r)
{
	const struct elfimg *img = c->img;
	size_t nf = c->starts.n, i;
	struct func *f = ealloc((nf ? nf : 1) * sizeof(*f));
	long k;

	for (i = 0; i < nf; i++)
		f[i].by = f[i].guarded_caller = -1;
	for (i = 0; i < c->resolvers.n; i++)
		if ((k = func_of(&c->starts, c->resolvers.v[i])) >= 0)
			f[k].resolver = true;
	*first_check_r = -1;
	for (i = 0; i < c->checks.n; i++)
		if ((k = func_of(&c->starts, c->checks.v[i])) >= 0) {
			if (!f[k].check)
				c->r->checks++;
			f[k].check = true;
			if (*first_check_r < 0)
				*first_check_r = k;
		}
	for (i = 0; i < c->escapes.n; i++)
		if ((k = func_of(&c->starts, c->escapes.v[i])) >= 0)
			f[k].escaped = true;
	for (i = 0; i < img->nfuncs; i++)
		if (img->funcs[i].dynamic && img->funcs[i].bind != STB_LOCAL &&
		    (k = func_of(&c->starts, img->funcs[i].addr)) >= 0 &&
		    c->starts.v[k] == img->funcs[i].addr)
			f[k].escaped = true;
	if ((k = func_of(&c->starts, img->ehdr.e_entry)) >= 0)
		f[k].escaped = true;
	for (i = 0; i < nf; i++)
		c->r->resolvers += f[i].resolver;
	return f;
}

int scan_image(const struct elfimg *img, const char *path,
	       struct scan_file *r, struct perr *err)
{
	struct ctx c;
	ZydisDecoder dec;
	struct func *f = NULL;
	struct edge *e = NULL;
	size_t i, ne;
	long first_check;

	pthread_once(&tables_once, tables_init);
	memset(r, 0, sizeof(*r));
	memset(&c, 0, sizeof(c));
	r->path = estrdup(path);
	if (img->ehdr.e_type != ET_EXEC && img->ehdr.e_type != ET_DYN) {
		r->skip = SKIP_NOT_LINKED;
		perr_printf(err, "'%s' is not a linked program or library",
		    path);
		return -1;
	}
	c.img = img;
	c.r = r;
	c.absolute = img->ehdr.e_type == ET_EXEC;
	r->kind = file_kind(img);
	r->hwcaps = scan_hwcaps_level(path);
	r->isa_needed = elfimg_isa_needed(img, NULL);
	r->glibc = elfimg_defines_version(img, "GLIBC_PRIVATE");
	elfimg_relocs(img, on_reloc, &c);
	for (i = 0; i < img->nfuncs; i++)
		if (img->funcs[i].type == STT_GNU_IFUNC)
			push(&c.resolvers, img->funcs[i].addr);
	find_cpu_symbols(&c);
	find_init_arrays(&c);
	sort_unique(&c.cpu_slots);
	sort_unique(&c.cpu_funcs);
	decoder_init(&dec);
	for (i = 0; i < img->ncode; i++)
		if (is_plt(&img->code[i]))
			sweep_plt(&c, &img->code[i], &dec);
	sort_unique(&c.cpu_stubs);
	for (i = 0; i < img->ncode; i++) {
		r->code_bytes += img->code[i].size;
		if (!is_plt(&img->code[i]))
			sweep(&c, &img->code[i], &dec);
	}
	push(&c.escapes, img->ehdr.e_entry);
	settle_starts(&c);
	r->nfuncs = c.starts.n;
	f = func_facts(&c, &first_check);
	e = make_edges(&c, &ne);
	for (i = 0; i < c.starts.n; i++)
		if (in_glibc_table(func_name(&c, c.starts.v[i])))
			mark(f, i, SIG_GLIBC, (long)i);
	guard_functions(f, c.starts.n, e, ne);
	gather_uses(&c, f, first_check);
	free(e);
	free(f);
	ctx_release(&c);
	return 0;
}

int scan_path(const char *path, struct scan_file *r, struct perr *err)
{
	struct elfimg img = ELFIMG_INIT;
	int rc;

	static const enum scan_skip why[] = {
		[ELF_OK] = SKIP_NONE, [ELF_UNREADABLE] = SKIP_UNREADABLE,
		[ELF_NOT_ELF] = SKIP_NOT_ELF, [ELF_MALFORMED] = SKIP_MALFORMED,
		[ELF_OTHER_ARCH] = SKIP_OTHER_ARCH,
	};

	memset(r, 0, sizeof(*r));
	if (elfimg_open(&img, path, err) < 0) {
		r->path = estrdup(path);
		r->skip = why[img.fail];
		elfimg_release(&img);
		return -1;
	}
	rc = scan_image(&img, path, r, err);
	elfimg_release(&img);
	return rc;
}

void scan_file_release(struct scan_file *r)
{
	size_t i;

	for (i = 0; i < r->nuses; i++) {
		free(r->uses[i].func);
		free(r->uses[i].by);
	}
	free(r->uses);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

const char *scan_class_name(enum scan_class cls)
{
	static const char *const names[] = {
		[CLASS_BLIND] = "blind",
		[CLASS_REQUIRED] = "required",
		[CLASS_GUARDED] = "guarded",
	};

	return names[cls];
}

const char *scan_signal_name(enum scan_signal s)
{
	static const char *const names[] = {
		[SIG_NONE] = "none",
		[SIG_HWCAPS] = "glibc-hwcaps",
		[SIG_ISA_NEEDED] = "isa-needed",
		[SIG_IFUNC] = "ifunc",
		[SIG_CPU_CHECK] = "cpu-check",
		[SIG_REACHED] = "reached",
		[SIG_GLIBC] = "glibc",
		[SIG_OS_GATED] = "os-gated",
		[SIG_CPUID_OBJECT] = "cpuid-in-object",
	};

	return names[s];
}
