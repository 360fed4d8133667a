/*
 * xlread: settings of an xl config as libxlutil reads them, written apart
 * from xlcfg so that the two can disagree.  The file is read with
 * xlu_cfg_readfile(), the way xl reads a domain's config; each KEY given
 * is printed on one line as KEY: VALUE, a string between double quotes
 * with every byte outside printable ASCII, '"' and '\' escaped, a list
 * as [ITEM, ITEM], a key that is not set as KEY: unset.
 *
 * usage: xlread FILE [KEY ...]; exit 0, 1 when FILE does not parse (the
 * complaint of libxlutil on stderr), 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <libxlutil.h>

static void print_string(const char *s)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	putchar('"');
}

static void print_value(const XLU_Config *cfg, XLU_ConfigValue *v)
{
	XLU_ConfigValue *item;
	XLU_ConfigList *list;
	char *s;
	int i;

	if (xlu_cfg_value_type(v) == XLU_STRING) {
		xlu_cfg_value_get_string(cfg, v, &s, 1);
		print_string(s);
		return;
	}
	xlu_cfg_value_get_list(cfg, v, &list, 1);
	putchar('[');
	for (i = 0; (item = xlu_cfg_get_listitem2(list, i)) != NULL; i++) {
		if (i > 0)
			fputs(", ", stdout);
		print_value(cfg, item);
	}
	putchar(']');
}

int main(int argc, char *argv[])
{
	XLU_ConfigValue *item;
	XLU_ConfigList *list;
	XLU_Config *cfg;
	const char *s;
	int i, j, rc;

	if (argc < 2) {
		fprintf(stderr, "usage: xlread file [key ...]\n");
		return 2;
	}
	cfg = xlu_cfg_init(stderr, argv[1]);
	if (cfg == NULL) {
		perror("xlread");
		return 2;
	}
	if (xlu_cfg_readfile(cfg, argv[1]) != 0) {
		xlu_cfg_destroy(cfg);
		return 1;
	}
	for (i = 2; i < argc; i++) {
		printf("%s: ", argv[i]);
		if (xlu_cfg_get_string(cfg, argv[i], &s, 1) == 0) {
			print_string(s);
		} else if ((rc = xlu_cfg_get_list(cfg, argv[i], &list, NULL,
		    1)) == 0) {
			putchar('[');
			for (j = 0; (item = xlu_cfg_get_listitem2(list, j)) !=
			    NULL; j++) {
				if (j > 0)
					fputs(", ", stdout);
				print_value(cfg, item);
			}
			putchar(']');
		} else if (rc == ESRCH) {
			fputs("unset", stdout);
		} else {
			printf("error %d", rc);
		}
		putchar('\n');
	}
	xlu_cfg_destroy(cfg);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 2;
}
