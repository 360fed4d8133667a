/* journal.c: see journal.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "journal.h"
#include "util.h"

/* A journal of a few hundred trials is tens of kilobytes. */
#define JOURNAL_MAX_SIZE (16u << 20)

void fset_hex(const struct fset *fs, char *buf, size_t n)
{
	size_t off = 0;
	int w;

	buf[0] = '\0';
	for (w = 0; w < HM_NR_WORDS && off < n; w++)
		off += (size_t)snprintf(buf + off, n - off, "%s%08" PRIx32,
		    w ? ":" : "", fs->w[w]);
}

int fset_unhex(const char *s, struct fset *fs_r)
{
	int w;

	memset(fs_r, 0, sizeof(*fs_r));
	for (w = 0; w < HM_NR_WORDS; w++) {
		char *end;
		unsigned long v;

		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return -1;
		errno = 0;
		v = strtoul(s, &end, 16);
		if (errno || end - s != 8 || v > UINT32_MAX)
			return -1;
		fs_r->w[w] = (uint32_t)v;
		s = end;
		if (*s == '\0')
			return w == HM_NR_WORDS - 1 ? 0 : -1;
		if (*s++ != ':')
			return -1;
	}
	return -1;
}

static const char *verdict_name(enum verdict v)
{
	return v == V_PASS ? "pass" : v == V_FAIL ? "fail" : "unknown";
}

static int verdict_parse(const char *s, enum verdict *v_r)
{
	if (strcmp(s, "pass") == 0)
		*v_r = V_PASS;
	else if (strcmp(s, "fail") == 0)
		*v_r = V_FAIL;
	else if (strcmp(s, "unknown") == 0)
		*v_r = V_UNKNOWN;
	else
		return -1;
	return 0;
}

static int head_field(json_t *o, const char *key, struct fset *fs_r)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? fset_unhex(json_string_value(v), fs_r) : -1;
}

static int parse_head(json_t *o, struct journal_head *h)
{
	json_t *fmt = json_object_get(o, "journal"), *extra;

	if (!json_is_string(fmt) ||
	    strcmp(json_string_value(fmt), JOURNAL_FORMAT) != 0)
		return -1;
	if (head_field(o, "policy", &h->policy) < 0 ||
	    head_field(o, "fixed", &h->fixed) < 0 ||
	    head_field(o, "candidates", &h->cand) < 0)
		return -1;
	/* "fails" came with featmin -f; a journal without it has none. */
	memset(&h->fails, 0, sizeof(h->fails));
	if (json_object_get(o, "fails") != NULL &&
	    head_field(o, "fails", &h->fails) < 0)
		return -1;
	/* "scan" came with featmin --scan; the same. */
	memset(&h->scan, 0, sizeof(h->scan));
	if (json_object_get(o, "scan") != NULL &&
	    head_field(o, "scan", &h->scan) < 0)
		return -1;
	extra = json_object_get(o, "extra");
	if (json_is_string(extra))
		h->extra = estrdup(json_string_value(extra));
	else if (extra != NULL && !json_is_null(extra))
		return -1;
	return 0;
}

static int parse_rec(json_t *o, struct journal_rec *r)
{
	json_t *trial = json_object_get(o, "trial");
	json_t *kind = json_object_get(o, "kind");
	json_t *hide = json_object_get(o, "hide");
	json_t *verdict = json_object_get(o, "verdict");
	json_t *status = json_object_get(o, "status");
	json_t *secs = json_object_get(o, "seconds");
	json_t *metrics = json_object_get(o, "metrics"), *v;
	const char *key;

	memset(r, 0, sizeof(*r));
	if (!json_is_integer(trial) || json_integer_value(trial) < 1 ||
	    json_integer_value(trial) > 1000000 || !json_is_string(kind) ||
	    !json_is_string(hide) || !json_is_string(verdict))
		return -1;
	r->trial = (int)json_integer_value(trial);
	if (strcmp(json_string_value(kind), "verify") == 0)
		r->verify = true;
	else if (strcmp(json_string_value(kind), "search") != 0)
		return -1;
	if (fset_unhex(json_string_value(hide), &r->hide) < 0 ||
	    verdict_parse(json_string_value(verdict), &r->verdict) < 0)
		return -1;
	r->status = json_is_integer(status) ?
	    (int)json_integer_value(status) : -1;
	r->seconds = json_is_number(secs) ? json_number_value(secs) : 0;
	if (json_is_object(metrics)) {
		json_object_foreach(metrics, key, v) {
			struct metric *m;

			if (!json_is_number(v) ||
			    r->nr_metrics == JOURNAL_MAX_METRICS)
				continue;
			m = &r->metrics[r->nr_metrics++];
			snprintf(m->name, sizeof(m->name), "%s", key);
			m->value = json_number_value(v);
		}
	}
	return 0;
}

static void keep_rec(struct journal *j, const struct journal_rec *r)
{
	if (j->nr_recs == j->alloc_recs) {
		j->alloc_recs = j->alloc_recs ? 2 * j->alloc_recs : 64;
		j->recs = erealloc(j->recs, j->alloc_recs * sizeof(*j->recs));
	}
	j->recs[j->nr_recs] = *r;
	j->recs[j->nr_recs].cpuid = NULL;
	j->nr_recs++;
	if (r->trial > j->last_trial)
		j->last_trial = r->trial;
}

/* Load BUF (LEN bytes, every line complete) into J. */
static int load(struct journal *j, char *buf, size_t len, struct perr *err)
{
	char *line = buf, *nl;
	int lineno = 0;

	while ((size_t)(line - buf) < len) {
		json_error_t jerror;
		json_t *o;
		int rc;

		nl = memchr(line, '\n', len - (size_t)(line - buf));
		*nl = '\0';
		lineno++;
		o = json_loads(line, JSON_REJECT_DUPLICATES, &jerror);
		if (!json_is_object(o)) {
			json_decref(o);
			perr_printf(err, "%s:%d: not a featmin journal line",
			    j->path, lineno);
			return -1;
		}
		if (lineno == 1) {
			rc = parse_head(o, &j->head);
			j->has_head = rc == 0;
		} else {
			struct journal_rec r;

			rc = parse_rec(o, &r);
			if (rc == 0)
				keep_rec(j, &r);
		}
		json_decref(o);
		if (rc < 0) {
			perr_printf(err, "%s:%d: %s", j->path, lineno,
			    lineno == 1 ? "not a featmin journal (no "
			    JOURNAL_FORMAT " header)" : "bad trial record");
			return -1;
		}
		line = nl + 1;
	}
	return 0;
}

int journal_open(struct journal *j, const char *path, struct perr *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, keep;
	ssize_t n;

	memset(j, 0, sizeof(*j));
	j->path = estrdup(path);
	/*
	 * The journal is written as whoever runs featmin, often root: a
	 * symbolic link planted under its name must not redirect the writes,
	 * and a device or FIFO is no journal.  O_NONBLOCK keeps the open of
	 * such a node from waiting; it is cleared once the file is known to
	 * be a regular one.
	 */
	j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK, 0644);
	if (j->fd < 0) {
		if (errno == ELOOP)
			perr_printf(err, "journal '%s' is a symbolic link: give "
			    "the path of the file itself", path);
		else
			perr_printf(err, "cannot open journal '%s': %s", path,
			    strerror(errno));
		goto fail;
	}
	if (fstat(j->fd, &st) < 0 || fcntl(j->fd, F_SETFL, O_APPEND) < 0) {
		perr_printf(err, "cannot open journal '%s': %s", path,
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		perr_printf(err, "journal '%s' is not a regular file", path);
		goto fail;
	}
	if (flock(j->fd, LOCK_EX | LOCK_NB) < 0) {
		perr_printf(err, errno == EWOULDBLOCK ? "journal '%s' is in "
		    "use by another featmin" : "cannot lock journal '%s'",
		    path);
		goto fail;
	}
	if (fstat(j->fd, &st) < 0) {
		perr_printf(err, "cannot read journal '%s': %s", path,
		    strerror(errno));
		goto fail;
	}
	if (st.st_size > (off_t)JOURNAL_MAX_SIZE) {
		perr_printf(err, "cannot read journal '%s': larger than %u MiB",
		    path, JOURNAL_MAX_SIZE >> 20);
		goto fail;
	}
	buf = ealloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		n = pread(j->fd, buf + len, (size_t)st.st_size - len,
		    (off_t)len);
		if (n <= 0) {
			perr_printf(err, "cannot read journal '%s': %s", path,
			    n < 0 ? strerror(errno) : "file shrank");
			goto fail;
		}
		len += (size_t)n;
	}
	/*
	 * A line without its newline is a record a crash cut short: it was
	 * never complete, so its trial counts as not run.  Cut it off so the
	 * next record starts on a line of its own.
	 */
	for (keep = len; keep > 0 && buf[keep - 1] != '\n'; keep--)
		;
	if (keep < len && ftruncate(j->fd, (off_t)keep) < 0) {
		perr_printf(err, "cannot repair journal '%s': %s", path,
		    strerror(errno));
		goto fail;
	}
	if (load(j, buf, keep, err) < 0)
		goto fail;
	free(buf);
	return 0;
fail:
	free(buf);
	journal_close(j);
	return -1;
}

void journal_memory(struct journal *j)
{
	memset(j, 0, sizeof(*j));
	j->fd = -1;
}

void journal_head_release(struct journal_head *h)
{
	free(h->extra);
	h->extra = NULL;
}

void journal_close(struct journal *j)
{
	if (j->fd >= 0)
		close(j->fd);	/* closing drops the flock */
	j->fd = -1;
	journal_head_release(&j->head);
	free(j->recs);
	free(j->path);
	j->recs = NULL;
	j->path = NULL;
	j->nr_recs = j->alloc_recs = 0;
}

/* Write LINE (with its newline) and make it durable. */
static int put_line(struct journal *j, const char *line, struct perr *err)
{
	size_t len = strlen(line), off = 0;
	ssize_t n;

	if (j->fd < 0)
		return 0;	/* an in-memory journal */
	while (off < len) {
		n = write(j->fd, line + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perr_printf(err, "cannot write journal '%s': %s",
			    j->path, n < 0 ? strerror(errno) : "short write");
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(j->fd) < 0) {
		perr_printf(err, "cannot sync journal '%s': %s", j->path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Dump O as one line, write it and free O. */
static int put_json(struct journal *j, json_t *o, struct perr *err)
{
	char *s, *line;
	int rc;

	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(9));
	json_decref(o);
	if (s == NULL)
		die("out of memory");
	line = ealloc(strlen(s) + 2);
	strcpy(line, s);
	strcat(line, "\n");
	free(s);
	rc = put_line(j, line, err);
	free(line);
	return rc;
}

/*
 * A new journal's directory entry must outlive a crash too: sync the
 * directory once the header is written.  Best effort: some file systems
 * refuse to open or sync a directory, and the records themselves are
 * synced anyway.
 */
static void sync_dir(const char *path)
{
	char *copy = estrdup(path), *slash = strrchr(copy, '/');
	int fd;

	if (slash == copy)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	fd = open(slash ? copy : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

int journal_start(struct journal *j, const struct journal_head *head,
		  struct perr *err)
{
	char hex[5][HM_NR_WORDS * 9 + 1];
	json_t *o;

	if (j->has_head) {
		const char *a = j->head.extra ? j->head.extra : "";
		const char *b = head->extra ? head->extra : "";

		if (!fs_equal(&j->head.cand, &head->cand) || strcmp(a, b) ||
		    !fs_equal(&j->head.fails, &head->fails)) {
			perr_printf(err, "journal '%s' belongs to another "
			    "search (other candidates, -e items or -f "
			    "policy): use another journal", j->path);
			return -1;
		}
		return 0;
	}
	if (j->nr_recs > 0) {
		perr_printf(err, "journal '%s' has trials but no header",
		    j->path);
		return -1;
	}
	fset_hex(&head->policy, hex[0], sizeof(hex[0]));
	fset_hex(&head->fixed, hex[1], sizeof(hex[1]));
	fset_hex(&head->cand, hex[2], sizeof(hex[2]));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "journal", JOURNAL_FORMAT,
	    "policy", hex[0], "fixed", hex[1], "candidates", hex[2],
	    "extra", head->extra);
	if (o == NULL)
		die("out of memory");
	if (!fs_empty(&head->fails)) {
		fset_hex(&head->fails, hex[3], sizeof(hex[3]));
		json_object_set_new(o, "fails", json_string(hex[3]));
	}
	if (!fs_empty(&head->scan)) {
		fset_hex(&head->scan, hex[4], sizeof(hex[4]));
		json_object_set_new(o, "scan", json_string(hex[4]));
	}
	if (put_json(j, o, err) < 0)
		return -1;
	if (j->fd >= 0)
		sync_dir(j->path);
	j->has_head = true;
	j->head.policy = head->policy;
	j->head.fixed = head->fixed;
	j->head.cand = head->cand;
	j->head.fails = head->fails;
	j->head.scan = head->scan;
	j->head.extra = head->extra ? estrdup(head->extra) : NULL;
	return 0;
}

int journal_append(struct journal *j, const struct journal_rec *r,
		   struct perr *err)
{
	char hex[HM_NR_WORDS * 9 + 1], when[32];
	json_t *o, *metrics;
	struct tm tm;
	time_t now = time(NULL);
	int i;

	fset_hex(&r->hide, hex, sizeof(hex));
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	metrics = json_object();
	for (i = 0; metrics && i < r->nr_metrics; i++)
		json_object_set_new(metrics, r->metrics[i].name,
		    json_real(r->metrics[i].value));
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:i, s:f, s:o, s:s}",
	    "trial", r->trial, "kind", r->verify ? "verify" : "search",
	    "hide", hex, "cpuid", r->cpuid ? r->cpuid : "",
	    "verdict", verdict_name(r->verdict), "status", r->status,
	    "seconds", r->seconds, "metrics", metrics, "time", when);
	if (o == NULL)
		die("out of memory");
	if (put_json(j, o, err) < 0)
		return -1;
	keep_rec(j, r);
	return 0;
}

const struct journal_rec *journal_find(const struct journal *j,
				       const struct fset *hide, bool verify)
{
	size_t i;

	for (i = j->nr_recs; i-- > 0;) {
		const struct journal_rec *r = &j->recs[i];

		if (r->verify == verify && r->verdict != V_UNKNOWN &&
		    fs_equal(&r->hide, hide))
			return r;
	}
	return NULL;
}

double journal_mean_seconds(const struct journal *j)
{
	double sum = 0;
	size_t i, n = 0;

	for (i = 0; i < j->nr_recs; i++) {
		sum += j->recs[i].seconds;
		n++;
	}
	return n ? sum / (double)n : 0;
}
