/*
 * elfcode.c: see elfcode.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfcode.h"
#include "util.h"

/* The size of a GNU property note's array entries' alignment (ELF64). */
#define PROP_ALIGN 8

static pthread_once_t libelf_once = PTHREAD_ONCE_INIT;
static bool libelf_ok;

static void libelf_init(void)
{
	libelf_ok = elf_version(EV_CURRENT) != EV_NONE;
}

bool is_elf(const unsigned char *buf, size_t len)
{
	return len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
}

/* [off, off + len) lies inside the image. */
static bool in_image(const struct elfimg *img, uint64_t off, uint64_t len)
{
	return off <= img->size && len <= img->size - off;
}

static int add_region(struct elfimg *img, size_t *alloc, uint64_t vaddr,
		      uint64_t off, uint64_t size, const char *name)
{
	struct elf_region *r;

	if (size == 0 || !in_image(img, off, size))
		return 0;
	if (img->ncode == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 8;
		img->code = erealloc(img->code, *alloc * sizeof(*img->code));
	}
	r = &img->code[img->ncode++];
	r->vaddr = vaddr;
	r->offset = off;
	r->size = size;
	r->name = name;
	r->bytes = img->image + off;
	return 0;
}

static int cmp_region(const void *a, const void *b)
{
	const struct elf_region *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

/*
 * The code is what the executable sections hold; a file without section
 * headers (or without an executable one) is read by its executable
 * segments, as the loader sees it.
 */
static void find_code(struct elfimg *img)
{
	Elf_Scn *scn = NULL;
	size_t alloc = 0, shstrndx, n, i;

	if (elf_getshdrstrndx(img->elf, &shstrndx) != 0)
		shstrndx = SHN_UNDEF;
	while ((scn = elf_nextscn(img->elf, scn)) != NULL) {
		GElf_Shdr sh;
		const char *name = NULL;

		if (gelf_getshdr(scn, &sh) == NULL ||
		    sh.sh_type != SHT_PROGBITS ||
		    (sh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) !=
		    (SHF_ALLOC | SHF_EXECINSTR))
			continue;
		if (shstrndx != SHN_UNDEF)
			name = elf_strptr(img->elf, shstrndx, sh.sh_name);
		add_region(img, &alloc, sh.sh_addr, sh.sh_offset, sh.sh_size,
		    name ? name : "?");
	}
	if (img->ncode == 0 && elf_getphdrnum(img->elf, &n) == 0) {
		img->code_from_segments = true;
		for (i = 0; i < n; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(img->elf, (int)i, &ph) == NULL ||
			    ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
				continue;
			add_region(img, &alloc, ph.p_vaddr, ph.p_offset,
			    ph.p_filesz, NULL);
		}
	}
	if (img->ncode > 0)
		qsort(img->code, img->ncode, sizeof(*img->code), cmp_region);
}

static size_t underscores(const char *s)
{
	return strspn(s, "_");
}

/*
 * By address; among the names of one address the best first: from the
 * symbol table, then the public spelling (getpid before __getpid), then
 * global before local.
 */
static int cmp_sym(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->dynamic != y->dynamic)
		return x->dynamic ? 1 : -1;
	if (underscores(x->name) != underscores(y->name))
		return underscores(x->name) < underscores(y->name) ? -1 : 1;
	if ((x->bind == STB_LOCAL) != (y->bind == STB_LOCAL))
		return x->bind == STB_LOCAL ? 1 : -1;
	return strcmp(x->name, y->name);
}

static void find_funcs(struct elfimg *img)
{
	Elf_Scn *scn = NULL;
	size_t alloc = 0;

	while ((scn = elf_nextscn(img->elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i, n;

		if (gelf_getshdr(scn, &sh) == NULL ||
		    (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) ||
		    (d = elf_getdata(scn, NULL)) == NULL)
			continue;
		n = d->d_size / gelf_fsize(img->elf, ELF_T_SYM, 1, EV_CURRENT);
		for (i = 0; i < n; i++) {
			GElf_Sym s;
			const char *name;
			unsigned char type;
			struct elf_sym *e;

			if (gelf_getsym(d, (int)i, &s) == NULL)
				break;
			type = GELF_ST_TYPE(s.st_info);
			if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
			    s.st_shndx == SHN_UNDEF || s.st_value == 0)
				continue;
			name = elf_strptr(img->elf, sh.sh_link, s.st_name);
			if (name == NULL || name[0] == '\0')
				continue;
			if (img->nfuncs == alloc) {
				alloc = alloc ? alloc * 2 : 256;
				img->funcs = erealloc(img->funcs,
				    alloc * sizeof(*img->funcs));
			}
			e = &img->funcs[img->nfuncs++];
			e->addr = s.st_value;
			e->size = s.st_size;
			e->name = name;
			e->type = type;
			e->bind = GELF_ST_BIND(s.st_info);
			e->vis = GELF_ST_VISIBILITY(s.st_other);
			e->dynamic = sh.sh_type == SHT_DYNSYM;
		}
	}
	if (img->nfuncs > 0)
		qsort(img->funcs, img->nfuncs, sizeof(*img->funcs), cmp_sym);
}

/* The shared part of elfimg_open and elfimg_memory. */
static int load(struct elfimg *img, struct perr *err)
{
	pthread_once(&libelf_once, libelf_init);
	if (!libelf_ok) {
		img->fail = ELF_UNREADABLE;
		perr_printf(err, "libelf: %s", elf_errmsg(-1));
		return -1;
	}
	if (!is_elf(img->image, img->size)) {
		img->fail = ELF_NOT_ELF;
		perr_printf(err, "'%s' is not an ELF file", img->name);
		return -1;
	}
	img->elf = elf_memory((char *)img->image, img->size);
	if (img->elf == NULL || elf_kind(img->elf) != ELF_K_ELF ||
	    gelf_getehdr(img->elf, &img->ehdr) == NULL) {
		img->fail = ELF_MALFORMED;
		perr_printf(err, "'%s' is not a readable ELF file: %s",
		    img->name, elf_errmsg(-1));
		return -1;
	}
	if (img->ehdr.e_ident[EI_CLASS] != ELFCLASS64 ||
	    img->ehdr.e_machine != EM_X86_64) {
		img->fail = ELF_OTHER_ARCH;
		perr_printf(err, "'%s' is not an x86-64 ELF file", img->name);
		return -1;
	}
	find_code(img);
	find_funcs(img);
	return 0;
}

int elfimg_open(struct elfimg *img, const char *path, struct perr *err)
{
	struct stat st;
	void *p;
	int fd;

	img->name = estrdup(path);
	img->fail = ELF_UNREADABLE;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		perr_printf(err, "cannot open '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
		img->fail = ELF_NOT_ELF;
		perr_printf(err, "'%s' is not an ELF file", path);
		goto fail;
	}
	/*
	 * Private and writable: libelf may write into the image (it does
	 * not for native-endian files), and no write may reach the file.
	 */
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		perr_printf(err, "cannot map '%s': %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	img->image = p;
	img->size = (size_t)st.st_size;
	img->mapped = true;
	img->fail = ELF_OK;
	return load(img, err);
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

int elfimg_memory(struct elfimg *img, const char *name, unsigned char *buf,
		  size_t len, struct perr *err)
{
	img->name = estrdup(name);
	img->image = buf;
	img->size = len;
	return load(img, err);
}

void elfimg_release(struct elfimg *img)
{
	if (img->elf != NULL)
		elf_end(img->elf);
	if (img->mapped)
		munmap(img->image, img->size);
	free(img->code);
	free(img->funcs);
	free(img->name);
	*img = (struct elfimg)ELFIMG_INIT;
}

void elfimg_drop(const struct elfimg *img, uint64_t off, uint64_t len)
{
	uint64_t lo, hi;

	if (!img->mapped || !in_image(img, off, len))
		return;
	/* Whole pages inside the range only: the ends may hold other data. */
	lo = (off + ELF_PAGE_SIZE - 1) & ~(uint64_t)(ELF_PAGE_SIZE - 1);
	hi = (off + len) & ~(uint64_t)(ELF_PAGE_SIZE - 1);
	if (hi > lo)
		madvise(img->image + lo, hi - lo, MADV_DONTNEED);
}

const struct elf_sym *elfimg_func_at(const struct elfimg *img, uint64_t vaddr)
{
	size_t lo = 0, hi = img->nfuncs;
	const struct elf_sym *s;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (img->funcs[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	s = &img->funcs[lo - 1];
	while (s > img->funcs && s[-1].addr == s->addr)
		s--;
	if (s->size != 0 && vaddr - s->addr >= s->size)
		return NULL;
	return s;
}

const struct elf_region *elfimg_region_at(const struct elfimg *img,
					  uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < img->ncode; i++)
		if (vaddr >= img->code[i].vaddr &&
		    vaddr - img->code[i].vaddr < img->code[i].size)
			return &img->code[i];
	return NULL;
}

const struct elf_region *elfimg_offset_region(const struct elfimg *img,
					      uint64_t offset,
					      uint64_t *vaddr_r)
{
	size_t i;

	for (i = 0; i < img->ncode; i++) {
		const struct elf_region *r = &img->code[i];

		if (offset >= r->offset && offset - r->offset < r->size) {
			if (vaddr_r != NULL)
				*vaddr_r = r->vaddr + (offset - r->offset);
			return r;
		}
	}
	return NULL;
}

bool elfimg_find_symbol(const struct elfimg *img, const char *name,
			GElf_Sym *sym_r)
{
	static const Elf64_Word types[] = { SHT_SYMTAB, SHT_DYNSYM };
	size_t t;

	for (t = 0; t < 2; t++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(img->elf, scn)) != NULL) {
			GElf_Shdr sh;
			Elf_Data *d;
			size_t i, n;

			if (gelf_getshdr(scn, &sh) == NULL ||
			    sh.sh_type != types[t] ||
			    (d = elf_getdata(scn, NULL)) == NULL)
				continue;
			n = d->d_size /
			    gelf_fsize(img->elf, ELF_T_SYM, 1, EV_CURRENT);
			for (i = 0; i < n; i++) {
				const char *s;

				if (gelf_getsym(d, (int)i, sym_r) == NULL)
					break;
				s = elf_strptr(img->elf, sh.sh_link,
				    sym_r->st_name);
				if (s != NULL && strcmp(s, name) == 0)
					return true;
			}
		}
	}
	return false;
}

/* The highest level bit set in an ISA_1 bitmask: 2..4, or 0. */
static int level_of(uint32_t bits)
{
	if (bits & GNU_PROPERTY_X86_ISA_1_V4)
		return 4;
	if (bits & GNU_PROPERTY_X86_ISA_1_V3)
		return 3;
	if (bits & GNU_PROPERTY_X86_ISA_1_V2)
		return 2;
	return 0;
}

/*
 * The properties of one NT_GNU_PROPERTY_TYPE_0 descriptor: an array of
 * { u32 type, u32 size, data[size] } padded to 8 bytes.
 */
static void read_properties(const unsigned char *p, size_t len,
			    int *needed, int *used)
{
	size_t at = 0;

	while (len - at >= 8) {
		uint32_t type, size, v;

		memcpy(&type, p + at, 4);
		memcpy(&size, p + at + 4, 4);
		at += 8;
		if (size > len - at)
			return;
		if (size == 4 && (type == GNU_PROPERTY_X86_ISA_1_NEEDED ||
		    type == GNU_PROPERTY_X86_ISA_1_USED)) {
			memcpy(&v, p + at, 4);
			if (type == GNU_PROPERTY_X86_ISA_1_NEEDED)
				*needed = level_of(v);
			else
				*used = level_of(v);
		}
		at += (size + PROP_ALIGN - 1) & ~(size_t)(PROP_ALIGN - 1);
		if (at > len)
			return;
	}
}

static void read_notes(Elf_Data *d, int *needed, int *used)
{
	GElf_Nhdr nh;
	size_t off = 0, next, name_off, desc_off;

	while (off < d->d_size &&
	    (next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (nh.n_type == NT_GNU_PROPERTY_TYPE_0 && nh.n_namesz == 4 &&
		    memcmp((const char *)d->d_buf + name_off, "GNU", 4) == 0)
			read_properties((const unsigned char *)d->d_buf +
			    desc_off, nh.n_descsz, needed, used);
		off = next;
	}
}

int elfimg_isa_needed(const struct elfimg *img, int *used_r)
{
	Elf_Scn *scn = NULL;
	int needed = 0, used = 0;
	size_t n, i;

	while ((scn = elf_nextscn(img->elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (gelf_getshdr(scn, &sh) != NULL && sh.sh_type == SHT_NOTE &&
		    (d = elf_getdata(scn, NULL)) != NULL)
			read_notes(d, &needed, &used);
	}
	/* Without section headers, the loader's view: PT_GNU_PROPERTY. */
	if (elf_getshdrnum(img->elf, &n) == 0 && n == 0 &&
	    elf_getphdrnum(img->elf, &n) == 0) {
		for (i = 0; i < n; i++) {
			GElf_Phdr ph;
			Elf_Data *d;

			if (gelf_getphdr(img->elf, (int)i, &ph) == NULL ||
			    ph.p_type != PT_GNU_PROPERTY ||
			    !in_image(img, ph.p_offset, ph.p_filesz))
				continue;
			d = elf_getdata_rawchunk(img->elf, (int64_t)ph.p_offset,
			    ph.p_filesz, ELF_T_NHDR8);
			if (d != NULL)
				read_notes(d, &needed, &used);
		}
	}
	if (used_r != NULL)
		*used_r = used;
	return needed;
}

bool elfimg_defines_version(const struct elfimg *img, const char *name)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(img->elf, scn)) != NULL) {
		GElf_Shdr sh;
		GElf_Verdef vd;
		Elf_Data *d;
		size_t off = 0, k;

		if (gelf_getshdr(scn, &sh) == NULL ||
		    sh.sh_type != SHT_GNU_verdef ||
		    (d = elf_getdata(scn, NULL)) == NULL)
			continue;
		/* sh_info counts the entries; a malformed chain stops early. */
		for (k = 0; k < sh.sh_info && gelf_getverdef(d, (int)off, &vd);
		    k++) {
			GElf_Verdaux va;
			const char *s;

			if (gelf_getverdaux(d, (int)(off + vd.vd_aux), &va) &&
			    (s = elf_strptr(img->elf, sh.sh_link, va.vda_name))
			    != NULL && strcmp(s, name) == 0)
				return true;
			if (vd.vd_next == 0 || vd.vd_next > d->d_size - off)
				break;
			off += vd.vd_next;
		}
	}
	return false;
}

/* The dynamic entry TAG's value, or false when there is none. */
static bool dynamic_entry(const struct elfimg *img, int64_t tag,
			  uint64_t *val_r, size_t *strsec_r)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(img->elf, scn)) != NULL) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i, n;

		if (gelf_getshdr(scn, &sh) == NULL ||
		    sh.sh_type != SHT_DYNAMIC ||
		    (d = elf_getdata(scn, NULL)) == NULL)
			continue;
		n = d->d_size / gelf_fsize(img->elf, ELF_T_DYN, 1, EV_CURRENT);
		for (i = 0; i < n; i++) {
			GElf_Dyn dyn;

			if (gelf_getdyn(d, (int)i, &dyn) == NULL ||
			    dyn.d_tag == DT_NULL)
				break;
			if (dyn.d_tag == tag) {
				*val_r = dyn.d_un.d_val;
				if (strsec_r != NULL)
					*strsec_r = sh.sh_link;
				return true;
			}
		}
	}
	return false;
}

const char *elfimg_soname(const struct elfimg *img)
{
	uint64_t v;
	size_t strsec;

	if (!dynamic_entry(img, DT_SONAME, &v, &strsec))
		return NULL;
	return elf_strptr(img->elf, strsec, v);
}

bool elfimg_is_shared_library(const struct elfimg *img)
{
	uint64_t flags = 0;

	if (img->ehdr.e_type != ET_DYN)
		return false;
	return !dynamic_entry(img, DT_FLAGS_1, &flags, NULL) ||
	    !(flags & DF_1_PIE);
}

int elfimg_relocs(const struct elfimg *img,
		  int (*fn)(void *arg, uint64_t offset, unsigned int type,
			    int64_t addend, const char *sym),
		  void *arg)
{
	Elf_Scn *scn = NULL;
	int rc;

	while ((scn = elf_nextscn(img->elf, scn)) != NULL) {
		GElf_Shdr sh, symsh;
		Elf_Scn *symscn;
		Elf_Data *d, *symd = NULL;
		size_t i, n;

		if (gelf_getshdr(scn, &sh) == NULL || sh.sh_type != SHT_RELA ||
		    (d = elf_getdata(scn, NULL)) == NULL)
			continue;
		symscn = elf_getscn(img->elf, sh.sh_link);
		if (symscn != NULL && gelf_getshdr(symscn, &symsh) != NULL &&
		    (symsh.sh_type == SHT_DYNSYM || symsh.sh_type == SHT_SYMTAB))
			symd = elf_getdata(symscn, NULL);
		n = d->d_size / gelf_fsize(img->elf, ELF_T_RELA, 1, EV_CURRENT);
		for (i = 0; i < n; i++) {
			GElf_Rela r;
			GElf_Sym s;
			const char *name = "";
			size_t si;

			if (gelf_getrela(d, (int)i, &r) == NULL)
				break;
			si = GELF_R_SYM(r.r_info);
			if (si != 0 && symd != NULL &&
			    gelf_getsym(symd, (int)si, &s) != NULL &&
			    (name = elf_strptr(img->elf, symsh.sh_link,
			    s.st_name)) == NULL)
				name = "";
			rc = fn(arg, r.r_offset, GELF_R_TYPE(r.r_info),
			    r.r_addend, name);
			if (rc != 0)
				return rc;
		}
	}
	return 0;
}

int elfimg_decode_at(const struct elfimg *img, uint64_t offset,
		     struct elf_insn *r, struct perr *err)
{
	const struct elf_region *reg;
	ZydisDecoder dec;
	ZydisFormatter fmt;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	uint64_t at, avail;

	memset(r, 0, sizeof(*r));
	reg = elfimg_offset_region(img, offset, &r->vaddr);
	if (reg == NULL) {
		perr_printf(err, "offset 0x%llx of '%s' is not in its code",
		    (unsigned long long)offset, img->name);
		return -1;
	}
	r->offset = offset;
	r->where = reg->name ? reg->name : "segment";
	r->func = elfimg_func_at(img, r->vaddr);
	at = offset - reg->offset;
	avail = reg->size - at;
	ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64,
	    ZYDIS_STACK_WIDTH_64);
	if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, reg->bytes + at,
	    avail, &in, ops))) {
		memcpy(r->bytes, reg->bytes + at,
		    avail < sizeof(r->bytes) ? avail : sizeof(r->bytes));
		snprintf(r->text, sizeof(r->text), "(bad)");
		r->need = isa_set_entry(ZYDIS_ISA_SET_INVALID);
		return 1;
	}
	r->len = in.length;
	memcpy(r->bytes, reg->bytes + at, in.length);
	r->mnemonic = in.mnemonic;
	r->isa_set = in.meta.isa_set;
	r->need = isa_need(in.meta.isa_set, in.mnemonic);
	ZydisFormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL);
	if (!ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&fmt, &in, ops,
	    in.operand_count_visible, r->text, sizeof(r->text), r->vaddr,
	    NULL)))
		snprintf(r->text, sizeof(r->text), "%s",
		    ZydisMnemonicGetString(in.mnemonic));
	return 0;
}
