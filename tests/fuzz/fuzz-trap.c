/*
 * fuzz-trap.c: libFuzzer target for the kernel trap-line parser: any
 * console text, NUL-terminated as featscan's getline gives it.  A parsed
 * line must hold a NUL-terminated COMM and FILE within their buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "trap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trap t;
	char *line = malloc(size + 1);

	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (trap_parse(line, &t) == 1 &&
	    (memchr(t.comm, '\0', sizeof(t.comm)) == NULL ||
	    memchr(t.file, '\0', sizeof(t.file)) == NULL ||
	    (t.has_file && t.file[0] == '\0' && strstr(line, " in [") == NULL)))
		abort();
	free(line);
	return 0;
}
