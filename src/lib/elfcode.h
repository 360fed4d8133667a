/*
 * elfcode.h: the code of an x86-64 ELF file, read through libelf
 * (elfutils), and the instruction at a file offset, decoded by Zydis.
 *
 * An image is the whole file in memory (mapped, or a buffer the caller
 * owns); libelf reads its headers, symbols, notes and relocations, and the
 * code bytes are taken from the image where the section or segment headers
 * say they are, after checking that they lie inside it.  Nothing here
 * trusts the file: every offset and size is checked, and a malformed file
 * gets -1 and one message, never a crash.
 */
#ifndef HETMIG_ELFCODE_H
#define HETMIG_ELFCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gelf.h>
#include <Zydis/Zydis.h>

#include "isa.h"
#include "policy.h"

/* A run of code: an executable section, or an executable segment. */
struct elf_region {
	uint64_t vaddr, offset, size;
	const char *name;	/* the section's name (in the image), or NULL */
	const unsigned char *bytes;	/* into the image */
};

/* A defined function symbol (STT_FUNC or STT_GNU_IFUNC). */
struct elf_sym {
	uint64_t addr, size;
	const char *name;	/* in the image's string table */
	unsigned char type, bind, vis;
	bool dynamic;		/* from .dynsym (else .symtab) */
};

/* Why an image could not be read, for callers that skip such files. */
enum elf_fail { ELF_OK, ELF_UNREADABLE, ELF_NOT_ELF, ELF_MALFORMED,
		ELF_OTHER_ARCH };

struct elfimg {
	char *name;		/* owned: the path or name given, for messages */
	enum elf_fail fail;	/* set when elfimg_open or _memory fails */
	unsigned char *image;	/* the file; owned when mapped */
	size_t size;
	bool mapped;
	Elf *elf;
	GElf_Ehdr ehdr;
	struct elf_region *code;	/* owned, sorted by vaddr */
	size_t ncode;
	struct elf_sym *funcs;	/* owned, sorted by addr, then symtab first */
	size_t nfuncs;
	bool code_from_segments;	/* no executable section: PT_LOADs */
};

#define ELFIMG_INIT { .name = NULL }

/* x86-64 Linux maps files in pages of this size. */
#define ELF_PAGE_SIZE 4096u

/*
 * elfimg_open: map PATH and read it as an x86-64 ELF file.  Returns 0;
 * -1 with ERR set when PATH cannot be read or is not a 64-bit x86 ELF
 * file (err->msg names PATH).  IMG starts as ELFIMG_INIT and is released
 * with elfimg_release on both paths.
 */
int elfimg_open(struct elfimg *img, const char *path, struct perr *err);

/*
 * elfimg_memory: the same over BUF (LEN bytes), which the caller owns and
 * keeps, writable (libelf may convert in place), until elfimg_release.
 * NAME names it in messages.
 */
int elfimg_memory(struct elfimg *img, const char *name, unsigned char *buf,
		  size_t len, struct perr *err);

void elfimg_release(struct elfimg *img);

/*
 * elfimg_drop: the caller is done with bytes [OFF, OFF + LEN) of a mapped
 * image for now: their pages leave the process's memory (they come back
 * from the file if read again).  Scanning a large file then takes memory
 * for what it records, not for the file.
 */
void elfimg_drop(const struct elfimg *img, uint64_t off, uint64_t len);

/* is_elf: BUF (LEN bytes) starts with the ELF magic. */
bool is_elf(const unsigned char *buf, size_t len);

/*
 * elfimg_func_at: the function symbol holding VADDR: the last one starting
 * at or before it whose size covers it (or that has no size); NULL if
 * none.  The pointer is into IMG.
 */
const struct elf_sym *elfimg_func_at(const struct elfimg *img, uint64_t vaddr);

/* elfimg_region_at: the code region holding VADDR, or NULL. */
const struct elf_region *elfimg_region_at(const struct elfimg *img,
					  uint64_t vaddr);

/*
 * elfimg_offset_region: the code region holding file OFFSET, and in
 * *vaddr_r (may be NULL) the address it is loaded at; NULL if none.
 */
const struct elf_region *elfimg_offset_region(const struct elfimg *img,
					      uint64_t offset,
					      uint64_t *vaddr_r);

/*
 * elfimg_find_symbol: look NAME up in .symtab, then .dynsym; *sym_r gets
 * it when found (defined or not: st_shndx says).  Returns true if found.
 */
bool elfimg_find_symbol(const struct elfimg *img, const char *name,
			GElf_Sym *sym_r);

/*
 * elfimg_isa_needed: the x86-64 level (2..4) the GNU property note says
 * the file needs (GNU_PROPERTY_X86_ISA_1_NEEDED), or 0 (none, baseline
 * only, or no note); *used_r (may be NULL) gets the level of
 * GNU_PROPERTY_X86_ISA_1_USED the same way.
 */
int elfimg_isa_needed(const struct elfimg *img, int *used_r);

/* elfimg_defines_version: the file defines symbol version NAME. */
bool elfimg_defines_version(const struct elfimg *img, const char *name);

/* elfimg_soname: DT_SONAME, or NULL (a string in the image). */
const char *elfimg_soname(const struct elfimg *img);

/* elfimg_is_shared_library: ET_DYN and not a PIE executable. */
bool elfimg_is_shared_library(const struct elfimg *img);

/*
 * elfimg_relocs: call FN for every relocation of every SHT_RELA section
 * (ARG passed through): its offset, type, addend and symbol name ("" for
 * none).  Stops when FN returns non-zero and returns that value.
 */
int elfimg_relocs(const struct elfimg *img,
		  int (*fn)(void *arg, uint64_t offset, unsigned int type,
			    int64_t addend, const char *sym),
		  void *arg);

/* One decoded instruction at a file offset. */
struct elf_insn {
	uint64_t offset, vaddr;
	const char *where;	/* section name, or "segment" */
	const struct elf_sym *func;	/* the function holding it, or NULL */
	unsigned char bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
	unsigned int len;	/* 0 when the bytes do not decode */
	ZydisMnemonic mnemonic;
	ZydisISASet isa_set;
	const struct isa_need *need;
	char text[128];		/* Intel syntax, "(bad)" when not decoded */
};

/*
 * elfimg_decode_at: decode the instruction at file OFFSET of IMG.
 * Returns 0 (decoded), 1 (OFFSET is in code but its bytes are not an
 * instruction Zydis knows: r->len is 0) or -1 with ERR set (OFFSET is not
 * in any code region).
 */
int elfimg_decode_at(const struct elfimg *img, uint64_t offset,
		     struct elf_insn *r, struct perr *err);

#endif
