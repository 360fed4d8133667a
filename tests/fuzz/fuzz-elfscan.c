/*
 * fuzz-elfscan.c: libFuzzer target for the ELF walker: libelf's reading
 * as elfcode.c drives it, and featscan's whole scan of the file
 * (truncated files, huge section and symbol counts, sections that overlap
 * or point outside the file).  It must never crash, leak or read out of
 * bounds; a file it refuses must say why, in one line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elfcode.h"
#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elfimg img = ELFIMG_INIT;
	struct scan_file r;
	struct elf_insn in;
	struct perr err;
	unsigned char *buf;
	size_t i;

	/* elfimg_memory's contract: a writable buffer the caller keeps. */
	buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	err.msg[0] = '\0';
	if (elfimg_memory(&img, "fuzz", buf, size, &err) == 0) {
		if (scan_image(&img, "fuzz", &r, &err) < 0 &&
		    (err.msg[0] == '\0' || strchr(err.msg, '\n') != NULL))
			abort();
		scan_file_release(&r);
		/* The instruction at a few offsets, as --at would ask. */
		for (i = 0; i < 4; i++)
			elfimg_decode_at(&img, size * i / 4, &in, &err);
	} else if (err.msg[0] == '\0' || strchr(err.msg, '\n') != NULL) {
		abort();
	}
	elfimg_release(&img);
	free(buf);
	return 0;
}
