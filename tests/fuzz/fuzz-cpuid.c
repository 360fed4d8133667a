/*
 * fuzz-cpuid.c: libFuzzer target for the reader of cpuid= values
 * (xl_cpuid_parse in xlcpuid.c), which featcmp -e uses.
 *
 * Beyond never crashing, leaking or reading out of bounds: what it reads
 * must be known features only, and the value xl_cpuid_render writes for
 * them must read back as the same set, so that featcmp -e answers for
 * exactly what featcmp -x hid.  The settings xl_cpuid_items reads (what
 * featplan carries from a VM's current line) must render to a value that
 * reads back: the same settings for a libxl-form value, the same hidden
 * set for any.  Any disagreement aborts, as a crash would.
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

/* Whether A and B (N settings each) are the same settings, in order. */
static int same_items(const struct xl_item *a, const struct xl_item *b,
		      size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].feature != b[i].feature || a[i].value != b[i].value ||
		    a[i].legacy != b[i].legacy ||
		    strcmp(a[i].text, b[i].text) != 0)
			return 0;
	return 1;
}

/* TEXT's settings rendered alone, read back. */
static void items_round_trip(const char *text, const struct fset *hide)
{
	struct fset none = { { 0 } }, back;
	struct xl_item *it, *it2;
	struct perr err;
	size_t n, n2;
	char *line;

	if (xl_cpuid_items(text, &it, &n, &err) < 0)
		abort();	/* xl_cpuid_parse took it */
	line = xl_cpuid_render_items(&none, it, n, false, &err);
	if (line != NULL) {
		if (xl_cpuid_items(line, &it2, &n2, &err) < 0 ||
		    xl_cpuid_parse(line, &back, &err) < 0 ||
		    !fs_equal(&back, hide))
			abort();
		if (text[0] != '[' && (n2 != n || !same_items(it, it2, n)))
			abort();
		free(it2);
		free(line);
	}
	free(it);
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
		items_round_trip(text, &hide);
	}
	free(text);
	return 0;
}
