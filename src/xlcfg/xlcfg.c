/*
 * xlcfg: read, check and edit xl config files.
 *
 *   xlcfg get FILE KEY		the value, as libxlutil reads it
 *   xlcfg check FILE		parses with libxlutil; cpuid= checked by libxl
 *   xlcfg set FILE KEY VALUE	replace KEY in place, or append it
 *   xlcfg unset FILE KEY		remove KEY
 *
 * An edit touches the bytes of KEY's setting only: every other line,
 * comment and blank stays as it was.  libxlutil has no writer, so the
 * settings are found by a scanner that follows its lexer and grammar
 * (xlconf.c, in the library so that the fuzzer reaches it); the result
 * is then read back through libxlutil and must give KEY's new value and
 * every other key's old one, or nothing is written.  Writing is a
 * temporary file in the same directory, fsync, rename, under a lock on
 * the directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxlutil.h>

#include "policy.h"
#include "util.h"
#include "xlconf.h"
#include "xlcpuid.h"
#include "xlparse.h"

#define MAX_CFG (16u << 20)
/* Deeper than libxlutil's parser stack (bison's 10000) can nest lists. */
#define MAX_DEPTH 10000

/* A value as libxlutil holds it, in a form that compares: s<len>:bytes or [..]. */
static int canon_value(const XLU_Config *cfg, XLU_ConfigValue *v,
		       struct sbuf *b, int depth)
{
	XLU_ConfigList *list;
	XLU_ConfigValue *item;
	char *str, num[32];
	int i;

	if (depth > MAX_DEPTH)
		return -1;
	if (xlu_cfg_value_type(v) == XLU_STRING) {
		if (xlu_cfg_value_get_string(cfg, v, &str, 1) != 0)
			return -1;
		snprintf(num, sizeof(num), "s%zu:", strlen(str));
		sb_add(b, num);
		sb_add(b, str);
		return 0;
	}
	if (xlu_cfg_value_get_list(cfg, v, &list, 1) != 0)
		return -1;
	sb_add(b, "[");
	for (i = 0; (item = xlu_cfg_get_listitem2(list, i)) != NULL; i++)
		if (canon_value(cfg, item, b, depth + 1) < 0)
			return -1;
	sb_add(b, "]");
	return 0;
}

/* KEY's value in CFG in canonical form into B; -1 when it is not set. */
static int canon_key(const XLU_Config *cfg, const char *key, struct sbuf *b)
{
	XLU_ConfigList *list;
	XLU_ConfigValue *item;
	const char *str;
	char num[32];
	int i;

	b->len = 0;
	sb_add(b, "");
	if (xlu_cfg_get_string(cfg, key, &str, 1) == 0) {
		snprintf(num, sizeof(num), "s%zu:", strlen(str));
		sb_add(b, num);
		sb_add(b, str);
		return 0;
	}
	if (xlu_cfg_get_list(cfg, key, &list, NULL, 1) != 0)
		return -1;
	sb_add(b, "[");
	for (i = 0; (item = xlu_cfg_get_listitem2(list, i)) != NULL; i++)
		if (canon_value(cfg, item, b, 1) < 0)
			return -1;
	sb_add(b, "]");
	return 0;
}

/*
 * check_cpuid: CFG's cpuid=, if any, item by item through the installed
 * libxl, as xl parses it.  0, or -1 with ERR filled.
 */
static int check_cpuid(const XLU_Config *cfg, struct perr *err)
{
	XLU_ConfigList *list;
	const char *str;
	int i;

	if (xlu_cfg_get_string(cfg, "cpuid", &str, 1) == 0)
		return xl_cpuid_check_value(str, err);
	if (xlu_cfg_get_list(cfg, "cpuid", &list, NULL, 1) != 0)
		return 0;
	for (i = 0; (str = xlu_cfg_get_listitem(list, i)) != NULL; i++)
		if (xl_cpuid_check_list_item(str, err) < 0)
			return -1;
	if (xlu_cfg_get_listitem2(list, i) != NULL) {
		perr_printf(err, "cpuid list item %d is not a string", i + 1);
		return -1;
	}
	return 0;
}

/*
 * verify: NEW (the edit of OLD) must parse with libxlutil, hold every key
 * of OLD but KEY with the same value, hold KEY with WANT's value (WANT is
 * the canonical form; NULL: KEY unset), hold no other key, and have a
 * cpuid= the installed libxl accepts.  0, or -1 with ERR filled.
 */
static int verify(const char *old, size_t oldlen, const char *new,
		  size_t newlen, const char *key, const char *want,
		  struct perr *err)
{
	XLU_Config *a = NULL, *b = NULL;
	struct xlconf so = XLCONF_INIT, sn = XLCONF_INIT;
	struct sbuf va = { NULL, 0, 0 }, vb = { NULL, 0, 0 };
	char *why = NULL, line[200];
	size_t i;
	int rc = -1;

	a = xlparse_text(old, oldlen, "old", &why);
	if (a == NULL) {
		perr_printf(err, "does not parse with libxlutil: %s",
		    xlparse_complaint(why, "old", line, sizeof(line)));
		goto out;
	}
	b = xlparse_text(new, newlen, "new", &why);
	if (b == NULL) {
		perr_printf(err, "the result would not parse with libxlutil: "
		    "%s", xlparse_complaint(why, "new", line, sizeof(line)));
		goto out;
	}
	if (xlconf_scan(old, oldlen, &so, err) < 0 ||
	    xlconf_scan(new, newlen, &sn, err) < 0)
		goto out;
	for (i = 0; i < so.n; i++) {
		if (strcmp(so.v[i].key, key) == 0)
			continue;
		if (canon_key(a, so.v[i].key, &va) < 0 ||
		    canon_key(b, so.v[i].key, &vb) < 0 ||
		    strcmp(va.s, vb.s) != 0) {
			perr_printf(err, "the edit would change key '%s'",
			    so.v[i].key);
			goto out;
		}
	}
	for (i = 0; i < sn.n; i++)
		if (strcmp(sn.v[i].key, key) != 0 &&
		    xlconf_find(&so, sn.v[i].key) == NULL) {
			perr_printf(err, "the edit would add key '%s'",
			    sn.v[i].key);
			goto out;
		}
	if (want == NULL ? canon_key(b, key, &vb) == 0 :
	    canon_key(b, key, &vb) < 0 || strcmp(vb.s, want) != 0) {
		perr_printf(err, "the result would not read back as the "
		    "value given");
		goto out;
	}
	if (check_cpuid(b, err) < 0)
		goto out;
	rc = 0;
out:
	if (a)
		xlu_cfg_destroy(a);
	if (b)
		xlu_cfg_destroy(b);
	xlconf_release(&so);
	xlconf_release(&sn);
	free(va.s);
	free(vb.s);
	free(why);
	return rc;
}

/* The canonical form of the value RHS, as libxlutil would read it. */
static int canon_rhs(const char *rhs, char **out, struct perr *err)
{
	struct sbuf t = { NULL, 0, 0 }, v = { NULL, 0, 0 };
	struct xlconf sc = XLCONF_INIT;
	XLU_Config *cfg;
	int rc = -1;

	sb_add(&t, "k = ");
	sb_add(&t, rhs);
	sb_add(&t, "\n");
	cfg = xlparse_text(t.s, t.len, "value", NULL);
	if (cfg == NULL || xlconf_scan(t.s, t.len, &sc, err) < 0 || sc.n != 1 ||
	    canon_key(cfg, "k", &v) < 0) {
		perr_printf(err, "'%.100s' is not an xl value", rhs);
		goto out;
	}
	*out = v.s;
	v.s = NULL;
	rc = 0;
out:
	xlconf_release(&sc);
	if (cfg)
		xlu_cfg_destroy(cfg);
	free(t.s);
	free(v.s);
	return rc;
}

static char *load(const char *path, size_t *len)
{
	char *text = read_all(path, MAX_CFG, len);

	if (text == NULL) {
		if (errno == EFBIG)
			die("cannot read '%s': larger than %u MiB", path,
			    MAX_CFG >> 20);
		die("cannot open '%s': %s", path, strerror(errno));
	}
	return text;
}

/*
 * load_regular: the text of REAL (FILE as the user named it, resolved),
 * which must be a regular file: an edit replaces the file with a new one,
 * and would turn a device node or a FIFO (/dev/null, as root) into a
 * regular file.  Its status into *ST_R.  O_NONBLOCK keeps the open of a
 * FIFO from waiting for a writer before it is refused.
 */
static char *load_regular(const char *real, const char *file,
			  struct stat *st_r, size_t *len_r)
{
	char *text;
	int fd;

	fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, st_r) < 0)
		die("cannot open '%s': %s", file, strerror(errno));
	if (!S_ISREG(st_r->st_mode))
		die("cannot edit '%s': not a regular file", file);
	text = read_fd(fd, MAX_CFG, len_r);
	if (text == NULL) {
		if (errno == EFBIG)
			die("cannot read '%s': larger than %u MiB", file,
			    MAX_CFG >> 20);
		die("cannot read '%s': %s", file, strerror(errno));
	}
	close(fd);
	return text;
}

/* The temporaries replace_file makes: TMP_PREFIX and mkstemp's six. */
#define TMP_PREFIX ".xlcfg-"

/*
 * sweep: remove the temporaries of runs killed before their rename from
 * the directory DIRFD.  Only under its lock, when no other run can be
 * writing one.
 */
static void sweep(int dirfd)
{
	struct dirent *e;
	struct stat st;
	DIR *dir;
	int fd;

	fd = dup(dirfd);
	if (fd < 0)
		return;
	dir = fdopendir(fd);
	if (dir == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(dir)) != NULL)
		if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 &&
		    strlen(e->d_name) == strlen(TMP_PREFIX) + 6 &&
		    fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			unlinkat(dirfd, e->d_name, 0);
	closedir(dir);
}

/*
 * replace_file: write LEN bytes of TEXT to a new file next to DST (in the
 * directory DIRFD, with ST's mode and owner), sync it and rename it over
 * DST, then sync the directory.  Returns 0; -1 with ERR filled when DST
 * was not replaced (the temporary is removed); 1 with ERR filled when DST
 * was replaced but the directory could not be synced.
 */
static int replace_file(int dirfd, const char *dst, const char *text,
			size_t len, const struct stat *st, struct perr *err)
{
	char *tmp, *d = estrdup(dst), *dir;
	size_t n = strlen(dst) + 32, off = 0;
	ssize_t w;
	int fd, rc = -1;
	bool made;

	dir = dirname(d);
	tmp = ealloc(n);
	snprintf(tmp, n, "%s/" TMP_PREFIX "XXXXXX", dir);
	fd = mkstemp(tmp);
	made = fd >= 0;
	if (fd < 0) {
		perr_printf(err, "cannot create a file in '%s': %s", dir,
		    strerror(errno));
		goto out;
	}
	while (off < len) {
		w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			perr_printf(err, "cannot write '%s': %s", dst,
			    w < 0 ? strerror(errno) : "short write");
			goto out;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, st->st_mode & 07777) < 0)
		warning("cannot set the mode of '%s': %s", dst, strerror(errno));
	/* Keep the owner where we may (root); not an error elsewhere. */
	if (fchown(fd, st->st_uid, st->st_gid) < 0 && errno != EPERM)
		warning("cannot set the owner of '%s': %s", dst,
		    strerror(errno));
	if (fsync(fd) < 0) {
		perr_printf(err, "cannot write '%s': %s", dst, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		perr_printf(err, "cannot write '%s': %s", dst, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, dst) < 0) {
		perr_printf(err, "cannot rename '%s' to '%s': %s", tmp, dst,
		    strerror(errno));
		goto out;
	}
	rc = 0;
	if (fsync(dirfd) < 0) {
		perr_printf(err, "cannot sync '%s': %s", dir, strerror(errno));
		rc = 1;
	}
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && made)
		unlink(tmp);
	free(tmp);
	free(d);
	return rc;
}

/*
 * write_edit: under a lock on FILE's directory, read FILE, edit it (RHS
 * NULL: unset), verify the result, keep the backup, replace FILE.  With
 * DRY, print the result instead.  Dies with nothing written on any error.
 */
static int write_edit(const char *file, const char *key, const char *rhs,
		      const char *suffix, bool dry)
{
	char real[PATH_MAX], *d, *text, *new = NULL, *want = NULL, *bak;
	char *why, line[200];
	size_t len, newlen;
	struct perr err;
	struct stat st, bst;
	XLU_Config *cfg;
	bool made_backup = false;
	int dirfd, rc;

	if (realpath(file, real) == NULL)
		die("cannot open '%s': %s", file, strerror(errno));
	d = estrdup(real);
	dirfd = open(dirname(d), O_RDONLY | O_DIRECTORY);
	if (dirfd < 0)
		die("cannot open the directory of '%s': %s", file,
		    strerror(errno));
	if (!dry) {
		if (flock(dirfd, LOCK_EX) < 0)
			die("cannot lock the directory of '%s': %s", file,
			    strerror(errno));
		sweep(dirfd);
	}
	text = load_regular(real, file, &st, &len);
	cfg = xlparse_text(text, len, file, &why);
	if (cfg == NULL)
		die("'%s' does not parse with libxlutil: %s", file,
		    xlparse_complaint(why, file, line, sizeof(line)));
	xlu_cfg_destroy(cfg);
	if (rhs != NULL && canon_rhs(rhs, &want, &err) < 0)
		die("%s", err.msg);
	if (xlconf_edit(text, len, key, rhs, &new, &newlen, &err) < 0)
		die("%s: %s", file, err.msg);
	if (verify(text, len, new, newlen, key, want, &err) < 0)
		die("'%s' not written: %s", file, err.msg);
	if (dry) {
		fwrite(new, 1, newlen, stdout);
	} else if (newlen != len || memcmp(new, text, len) != 0) {
		bak = ealloc(strlen(real) + strlen(suffix ? suffix : ".orig") + 1);
		sprintf(bak, "%s%s", real, suffix ? suffix : ".orig");
		/*
		 * The backup is the file as it was before the first edit:
		 * never replaced, whatever the suffix.  Only a regular file
		 * counts as one: a symbolic link (dangling, or to any file)
		 * or anything else in its place is refused, not taken for
		 * a backup that was never made, and not replaced.
		 */
		if (lstat(bak, &bst) == 0 && !S_ISREG(bst.st_mode))
			die("backup '%s' is not a regular file: remove it, or "
			    "give -b another suffix", bak);
		if (lstat(bak, &bst) < 0) {
			if (errno != ENOENT)
				die("cannot check the backup '%s': %s", bak,
				    strerror(errno));
			rc = replace_file(dirfd, bak, text, len, &st, &err);
			if (rc < 0)
				die("'%s' not written: %s", file, err.msg);
			if (rc > 0)
				die("%s", err.msg);
			made_backup = true;
		}
		rc = replace_file(dirfd, real, new, newlen, &st, &err);
		if (rc > 0)
			die("%s", err.msg);
		if (rc < 0) {
			/*
			 * Nothing was written: a backup this run made goes
			 * too, or it would pass for the file before an edit
			 * that never happened (and a later edit would keep
			 * it).
			 */
			if (made_backup && unlink(bak) == 0)
				(void)fsync(dirfd);
			die("'%s' not written: %s", file, err.msg);
		}
		free(bak);
	}
	close(dirfd);
	free(d);
	free(text);
	free(new);
	free(want);
	return 0;
}

/* get: print KEY's value; 1 when it is not set. */
static int cmd_get(const char *file, const char *key, bool raw)
{
	XLU_ConfigList *list;
	XLU_ConfigValue *item;
	struct sbuf b = { NULL, 0, 0 };
	struct xlconf sc;
	struct perr err;
	const struct xlconf_setting *s;
	const char *str;
	XLU_Config *cfg;
	char *text, *istr, *why, line[200];
	size_t len;
	int i, rc = 1;

	text = load(file, &len);
	cfg = xlparse_text(text, len, file, &why);
	if (cfg == NULL)
		die("'%s' does not parse with libxlutil: %s", file,
		    xlparse_complaint(why, file, line, sizeof(line)));
	if (raw) {
		if (xlconf_scan(text, len, &sc, &err) < 0)
			die("%s: %s", file, err.msg);
		if ((s = xlconf_find(&sc, key)) != NULL) {
			printf("%.*s\n", (int)(s->vend - s->vstart),
			    text + s->vstart);
			rc = 0;
		}
		xlconf_release(&sc);
	} else if (xlu_cfg_get_string(cfg, key, &str, 1) == 0) {
		printf("%s\n", str);
		rc = 0;
	} else if (xlu_cfg_get_list(cfg, key, &list, NULL, 1) == 0) {
		/* One item a line; a nested list in its canonical form. */
		for (i = 0; (item = xlu_cfg_get_listitem2(list, i)) != NULL;
		    i++) {
			if (xlu_cfg_value_type(item) == XLU_STRING &&
			    xlu_cfg_value_get_string(cfg, item, &istr, 1) == 0) {
				printf("%s\n", istr);
				continue;
			}
			b.len = 0;
			sb_add(&b, "");
			if (canon_value(cfg, item, &b, 1) == 0)
				printf("%s\n", b.s);
		}
		rc = 0;
	}
	free(b.s);
	xlu_cfg_destroy(cfg);
	free(text);
	return rc;
}

/* check: 0 when FILE parses and its cpuid= passes, 1 when not. */
static int cmd_check(const char *file)
{
	struct xlconf sc;
	struct perr err;
	const struct xlconf_setting *s;
	XLU_Config *cfg;
	char *text, *why;
	size_t len;
	int rc = 0;

	text = load(file, &len);
	cfg = xlparse_text(text, len, file, &why);
	if (cfg == NULL) {
		fputs(why, stderr);
		free(why);
		free(text);
		return 1;
	}
	if (check_cpuid(cfg, &err) < 0) {
		struct perr serr;

		xlconf_scan(text, len, &sc, &serr);
		s = xlconf_find(&sc, "cpuid");
		fprintf(stderr, "%s:%d: %s\n", file, s ? s->line : 0, err.msg);
		xlconf_release(&sc);
		rc = 1;
	}
	xlu_cfg_destroy(cfg);
	free(text);
	return rc;
}

/*
 * good_suffix: whether SUFFIX may end a backup's name: not empty, and
 * only letters, digits and . _ - ~ + (no '/', which would put the backup
 * elsewhere, and no blank, quote or control character, which would make
 * a name no script quotes safely).
 */
static bool good_suffix(const char *suffix)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-~+";

	return *suffix != '\0' && strspn(suffix, ok) == strlen(suffix);
}

static void usage(void)
{
	fprintf(stderr,
	    "usage: xlcfg get [-r] file key\n"
	    "       xlcfg check file\n"
	    "       xlcfg set [-n] [-r] [-b suffix] file key value\n"
	    "       xlcfg unset [-n] [-b suffix] file key\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	const char *cmd, *suffix = NULL;
	char *rhs = NULL;
	struct perr err;
	bool raw = false, dry = false;
	int c, rc;

	progname = "xlcfg";
	if (argc < 2)
		usage();
	cmd = argv[1];
	argv++;
	argc--;
	while ((c = getopt(argc, argv, "+b:hnr")) != -1) {
		switch (c) {
		case 'b':
			suffix = optarg;
			if (!good_suffix(suffix))
				die("bad backup suffix '%s': expected letters, "
				    "digits and . _ - ~ +", suffix);
			break;
		case 'n':
			dry = true;
			break;
		case 'r':
			raw = true;
			break;
		default:
			usage();
		}
	}
	argv += optind;
	argc -= optind;
	if (strcmp(cmd, "check") == 0) {
		if (argc != 1 || raw || dry || suffix)
			usage();
		rc = cmd_check(argv[0]);
	} else if (strcmp(cmd, "get") == 0) {
		if (argc != 2 || dry || suffix)
			usage();
		if (!xlconf_good_key(argv[1]))
			die("bad key '%s'", argv[1]);
		rc = cmd_get(argv[0], argv[1], raw);
	} else if (strcmp(cmd, "set") == 0) {
		if (argc != 3)
			usage();
		if (!xlconf_good_key(argv[1]))
			die("bad key '%s'", argv[1]);
		/*
		 * VALUE is a string to quote, unless -r says it is the raw
		 * right-hand side; a list ([...]) and a decimal number are
		 * always written as they are.
		 */
		if (raw || argv[2][0] == '[' ||
		    (argv[2][0] != '\0' &&
		    strspn(argv[2], "0123456789") == strlen(argv[2])))
			rhs = estrdup(argv[2]);
		else if (xlconf_quote(argv[2], &rhs, &err) < 0)
			die("%s", err.msg);
		rc = write_edit(argv[0], argv[1], rhs, suffix, dry);
	} else if (strcmp(cmd, "unset") == 0) {
		if (argc != 2 || raw)
			usage();
		if (!xlconf_good_key(argv[1]))
			die("bad key '%s'", argv[1]);
		rc = write_edit(argv[0], argv[1], NULL, suffix, dry);
	} else {
		usage();
	}
	free(rhs);
	fshut(stdout, "<stdout>");
	return rc;
}
