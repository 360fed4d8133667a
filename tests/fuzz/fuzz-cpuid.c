/*
 * fuzz-cpuid.c: libFuzzer target for the reader of cpuid= values
 * (xl_cpuid_parse in xlcpuid.c), which featcmp -e uses.
 *
 * Beyond never crashing, leaking or reading out of bounds: what it reads
 * must be known features only, and the value xl_cpuid_render writes for
 * them must read back as the same set, so that featcmp -e answers for
 * exactly what featcmp -x hid.  Any disagreement aborts, as a crash would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xlcpuid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);
const char *__lsan_default_options(void);

/*
 * libxl 4.17's libxl_cpuid_parse_config_xend leaks a register string on
 * some items (a leaf number wider than 32 bits), which
 * libxl_cpuid_dispose does not free.  The leak is libxl's; hetmig's own
 * allocations are still checked.
 */
const char *__lsan_default_suppressions(void)
{
	return "leak:libxenlight.so\n";
}

/* Keep the run's last line libFuzzer's own summary. */
const char *__lsan_default_options(void)
{
	return "print_suppressions=0";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fset hide, known, back;
	struct perr err;
	char *text, *line;

	if (size > 4096)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (xl_cpuid_parse(text, &hide, &err) == 0) {
		known = hide;
		fs_known(&known);
		if (!fs_equal(&known, &hide))
			abort();
		line = xl_cpuid_render(&hide, NULL, &err);
		if (line != NULL) {
			if (xl_cpuid_parse(line, &back, &err) < 0 ||
			    !fs_equal(&back, &hide))
				abort();
			free(line);
		}
	}
	free(text);
	return 0;
}
