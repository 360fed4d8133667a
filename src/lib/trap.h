/*
 * trap.h: the guest kernel's report of an invalid opcode, and where in a
 * file the instruction it names is.
 *
 * When a user task executes an instruction the CPU does not have, x86
 * Linux (arch/x86/kernel/traps.c, do_trap -> show_signal, the same in 5.x
 * and 6.x) prints, with the "traps: " prefix of that file's pr_fmt:
 *
 *	traps: COMM[PID] trap invalid opcode ip:IP sp:SP error:ERR in FILE[BASE+SIZE]
 *
 * IP, SP, ERR, BASE and SIZE in lower-case hex without 0x.  The part from
 * " in " on is mm/memory.c's print_vma_addr: FILE is only the basename of
 * the file mapped at IP (the file itself, after symbolic links: libc.so.6
 * is printed under its real name), BASE and SIZE are the start and length
 * of that mapping (the VMA), not of the file; it is missing when IP is in
 * memory no file backs (JIT code).  COMM is the task's name, cut to 15
 * bytes.  Consoles and logs add their own prefix (a timestamp, the
 * printk caller "[T123]", syslog's "kernel: "), which is skipped.
 *
 * From BASE to a file offset: the loader maps each PT_LOAD segment from
 * its page-aligned file offset, p_offset & ~(PAGE - 1), to its
 * page-aligned address, so the executable segment's VMA starts at that
 * file offset and
 *
 *	offset = IP - BASE + (p_offset & ~(PAGE - 1))
 *
 * of the executable PT_LOAD that holds the result.  This holds for
 * executables (PIE or not) and shared libraries alike, since BASE already
 * includes the load bias; only the segment, not the bias, must be known.
 */
#ifndef HETMIG_TRAP_H
#define HETMIG_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#include "elfcode.h"
#include "policy.h"

struct trap {
	char comm[64];		/* as printed (the kernel cuts it at 15) */
	long pid;
	uint64_t ip, sp, error;
	bool has_file;		/* " in FILE[BASE+SIZE]" was printed */
	char file[256];		/* FILE, without a " (deleted)" suffix */
	bool deleted;		/* it had one */
	uint64_t base, size;
};

/*
 * trap_parse: read LINE (one console line, with or without its newline);
 * returns 1 and fills *t_r when it is an invalid-opcode trap report, else
 * 0 (*t_r is then undefined).
 */
int trap_parse(const char *line, struct trap *t_r);

/*
 * trap_file_offset: the offset in IMG (the file T names) of the
 * instruction at T's IP, by the rule above; the executable PT_LOAD whose
 * mapping is SIZE long is preferred when several hold the offset.
 * Returns 0, or -1 with ERR set when T has no file or IP is not in an
 * executable segment of IMG (the wrong file, or another version of it).
 */
int trap_file_offset(const struct elfimg *img, const struct trap *t,
		     uint64_t *off_r, struct perr *err);

#endif
