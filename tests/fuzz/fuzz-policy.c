/*
 * fuzz-policy.c: libFuzzer target for the policy parser, every format.
 * A parser must never crash, leak or read out of bounds on any input; on
 * success the result must survive every writer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy p = POLICY_INIT;
	struct perr err;
	char *buf, *differ = NULL;
	FILE *null;

	/* The parser's contract: a NUL-terminated buffer, as read_all gives. */
	buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	policy_init(&p);
	if (policy_parse(&p, buf, size, "fuzz", size % 3, &differ, &err) == 0) {
		null = fopen("/dev/null", "w");
		if (null != NULL) {
			policy_write_names(&p, null);
			policy_write_table(&p, null);
			policy_write_raw(&p, null);
			policy_write_json(&p, null);
			policy_write_featureset(&p, null);
			fclose(null);
		}
	} else if (err.msg[0] == '\0' || strchr(err.msg, '\n') != NULL) {
		/* Every failure must say why, in one line. */
		abort();
	}
	free(differ);
	policy_release(&p);
	free(buf);
	return 0;
}
