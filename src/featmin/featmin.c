/*
 * featmin: find a minimal set of CPU features a workload needs.
 *
 * Like `git bisect run`, featmin runs a trial command once per candidate
 * mask; the command boots the guest with HETMIG_CPUID as its cpuid= line,
 * runs the workload and exits 0 (works), 1-124, 126 or 127 (does not) or
 * 125 (could not tell).  The search (search.h) hides whole dependency
 * subtrees at once and splits the groups that fail; every finished trial
 * is journaled (journal.h), so a run that is stopped resumes where it was.
 * See featmin(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "journal.h"
#include "jtext.h"
#include "policy.h"
#include "search.h"
#include "util.h"
#include "xen.h"
#include "xlcpuid.h"
#include "xlparse.h"

#define MAX_INPUT (64u << 20)
#define MAX_ITEMS 64
/* After a timeout, SIGTERM; after this many more seconds, SIGKILL. */
#define KILL_GRACE 10

enum output { OUT_JSON, OUT_NAMES, OUT_XL };

struct run {
	struct journal j;
	struct search s;
	char **cmd;		/* the trial command, borrowed from argv */
	char *extra;		/* owned: -e items joined by ',', or NULL */
	int timeout;		/* seconds per trial, 0: none */
	bool verbose;
	bool verifying;		/* the trial being run is the --verify one */
	double t0;		/* when this run started */
	int last_id;		/* the trial that gave the latest answer */
	int ran;		/* trials this run started */
};

/*
 * Whose CPU the policy searched was read from: featmin's output has no
 * leaves to say it, and featcmp compares vendors.
 */
struct ident {
	char vendor[13];	/* "" when unknown (resumed from a journal) */
	unsigned int family, model, stepping;
};

static volatile sig_atomic_t stop_signal;
/* The process group of the trial in flight, 0 when none runs. */
static pid_t trial_pgid;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_stop(int sig)
{
	stop_signal = sig;
}

/*
 * At exit, whatever the way out (die() included), a trial still running
 * is told to stop, as a timeout tells it: trial.sh then destroys its
 * domain.  A kill -9 of featmin runs no code: for that, the trial has
 * PR_SET_PDEATHSIG (spawn).
 */
static void end_trial(void)
{
	if (trial_pgid > 0)
		kill(-trial_pgid, SIGTERM);
}

/*
 * render_cpuid: the cpuid= value hiding HIDE, with EXTRA's items last
 * (xlcpuid.h); the caller frees it.  Every item is checked with the
 * installed libxl; a value it would refuse is fatal, not a trial.
 */
static char *render_cpuid(const struct fset *hide, const char *extra)
{
	struct perr err;
	char *s = xl_cpuid_render(hide, extra, &err);

	if (s == NULL)
		die("%s", err.msg);
	return s;
}

/* "1h02m03s" into BUF. */
static const char *hms(double secs, char *buf, size_t n)
{
	long t = secs < 0 ? 0 : (long)(secs + 0.5);

	if (t >= 3600)
		snprintf(buf, n, "%ldh%02ldm%02lds", t / 3600, t / 60 % 60,
		    t % 60);
	else if (t >= 60)
		snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, n, "%lds", t);
	return buf;
}

/* Take one "HETMIG_METRIC name=value" line into R. */
static void take_metric(struct journal_rec *r, const char *line)
{
	static const char tag[] = "HETMIG_METRIC ";
	const char *eq, *name = line + sizeof(tag) - 1;
	struct metric *m;
	char *end;
	double v;
	size_t len;
	int i;

	if (strncmp(line, tag, sizeof(tag) - 1) != 0 ||
	    (eq = strchr(name, '=')) == NULL)
		return;
	len = (size_t)(eq - name);
	if (len == 0 || len >= sizeof(m->name) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len)
		return;
	errno = 0;
	v = strtod(eq + 1, &end);
	if (errno || end == eq + 1 || strspn(end, " \t\r") != strlen(end))
		return;
	for (i = 0; i < r->nr_metrics; i++)
		if (strncmp(r->metrics[i].name, name, len) == 0 &&
		    r->metrics[i].name[len] == '\0')
			break;
	if (i == JOURNAL_MAX_METRICS)
		return;
	m = &r->metrics[i];
	if (i == r->nr_metrics)
		r->nr_metrics++;
	memcpy(m->name, name, len);
	m->name[len] = '\0';
	m->value = v;
}

/*
 * runnable: 0 when PATH is a file execvp can run, else why not (an errno
 * value).
 */
static int runnable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
		return EACCES;
	return 0;
}

/*
 * check_command: die unless CMD names something execvp can run: a path
 * (it holds a '/') to an executable file, or a name found so in PATH.
 * Checked before the first trial: a command that cannot run fails every
 * trial, which would read as "the workload fails even unmasked".
 */
static void check_command(const char *cmd)
{
	const char *path = getenv("PATH"), *p;
	char *cand;
	size_t n;
	int why = ENOENT, rc;

	if (*cmd == '\0')
		die("cannot run '': empty command");
	if (strchr(cmd, '/') != NULL) {
		if ((rc = runnable(cmd)) != 0)
			die("cannot run '%s': %s", cmd, strerror(rc));
		return;
	}
	/* execvp's default when PATH is not set. */
	if (path == NULL)
		path = "/bin:/usr/bin";
	for (p = path;; p += n + 1) {
		n = strcspn(p, ":");
		cand = ealloc(n + strlen(cmd) + 3);
		/* An empty entry is the current directory, as for execvp. */
		sprintf(cand, "%.*s/%s", (int)n, n ? p : ".", cmd);
		rc = runnable(cand);
		free(cand);
		if (rc == 0)
			return;
		if (rc == EACCES)
			why = EACCES;
		if (p[n] == '\0')
			break;
	}
	die("cannot run '%s': %s", cmd, why == ENOENT ? "not found in PATH" :
	    strerror(why));
}

/*
 * Start the trial command with its stdout on a pipe, in a process group
 * of its own so that a timeout can end everything it started.  An exec
 * that fails (the command went away since check_command) is an error,
 * not a trial that failed: the child reports its errno through a pipe
 * that a successful exec closes.
 */
static pid_t spawn(struct run *run, const char *cpuid, int trial, int *fd_r)
{
	char num[16];
	int p[2], e[2], exec_errno = 0;
	ssize_t n;
	pid_t pid, parent = getpid();

	if (pipe(p) < 0 || pipe2(e, O_CLOEXEC) < 0)
		die("cannot make a pipe: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("cannot fork: %s", strerror(errno));
	if (pid == 0) {
		int null;

		/*
		 * The trial must not outlive featmin, however featmin ends: the
		 * kernel sends it SIGTERM when featmin dies, kill -9 included.
		 * featmin may have died before the prctl: then its parent is
		 * another process already, and the trial does not start.
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
			_exit(125);
		null = open("/dev/null", O_RDONLY);
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			close(null);
		}
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		close(e[0]);
		snprintf(num, sizeof(num), "%d", trial);
		setenv("HETMIG_CPUID", cpuid, 1);
		setenv("HETMIG_TRIAL", num, 1);
		execvp(run->cmd[0], run->cmd);
		exec_errno = errno;
		if (write(e[1], &exec_errno, sizeof(exec_errno)) < 0)
			_exit(126);
		_exit(127);
	}
	setpgid(pid, pid);
	trial_pgid = pid;
	close(p[1]);
	close(e[1]);
	do
		n = read(e[0], &exec_errno, sizeof(exec_errno));
	while (n < 0 && errno == EINTR);
	close(e[0]);
	if (n == (ssize_t)sizeof(exec_errno)) {
		waitpid(pid, NULL, 0);
		trial_pgid = 0;
		die("cannot run '%s': %s", run->cmd[0], strerror(exec_errno));
	}
	*fd_r = p[0];
	return pid;
}

/* Feed the complete lines of BUF (LEN bytes) to the metrics; keep the rest. */
static size_t take_lines(struct run *run, struct journal_rec *r, char *buf,
			 size_t len)
{
	char *line = buf, *nl;

	while ((nl = memchr(line, '\n', len - (size_t)(line - buf))) != NULL) {
		*nl = '\0';
		take_metric(r, line);
		if (run->verbose)
			fprintf(stderr, "%s\n", line);
		line = nl + 1;
	}
	len -= (size_t)(line - buf);
	memmove(buf, line, len);
	return len;
}

/*
 * Wait for PID, reading its stdout from FD into R's metrics until it exits
 * or the timeout passes.  Returns the wait status; *timed_out_r says
 * whether featmin had to end it.
 */
static int wait_trial(struct run *run, pid_t pid, int fd,
		      struct journal_rec *r, bool *timed_out_r)
{
	char buf[4096];
	size_t len = 0;
	double deadline = run->timeout ? now() + run->timeout : 0;
	double kill_at = 0;
	int status = 0;
	bool open_fd = true, exited = false;

	*timed_out_r = false;
	while (!exited || open_fd) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		pid_t w;

		if (open_fd && poll(&pfd, 1, 200) > 0) {
			ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

			if (n > 0) {
				len = take_lines(run, r, buf, len + (size_t)n);
				/* A line longer than the buffer is no metric. */
				if (len == sizeof(buf) - 1)
					len = 0;
			} else if (n == 0 || errno != EINTR) {
				open_fd = false;
			}
		} else if (!open_fd) {
			/* Nothing to read: wait a little for the exit. */
			struct timespec ts = { 0, 100000000 };

			nanosleep(&ts, NULL);
		}
		if (!exited) {
			w = waitpid(pid, &status, WNOHANG);
			if (w == pid) {
				exited = true;
				trial_pgid = 0;
			}
		}
		/* A background process that kept the pipe open is not waited for. */
		if (exited && open_fd && poll(&pfd, 1, 0) == 0)
			open_fd = false;
		if (exited)
			continue;
		if (stop_signal && kill_at == 0) {
			kill(-pid, SIGTERM);
			kill_at = now() + KILL_GRACE;
		}
		if (deadline && now() > deadline && kill_at == 0) {
			*timed_out_r = true;
			kill(-pid, SIGTERM);
			kill_at = now() + KILL_GRACE;
		}
		if (kill_at && now() > kill_at)
			kill(-pid, SIGKILL);
	}
	if (len > 0) {
		buf[len] = '\0';
		take_metric(r, buf);
	}
	close(fd);
	return status;
}

static void progress(void *ctx, const struct search *s, int nr,
		     enum verdict v)
{
	struct run *run = ctx;
	const struct journal_rec *r;
	char e[24], eta[24], d[24];
	double mean = journal_mean_seconds(&run->j);
	int left = search_estimate(s);

	(void)nr;
	if (stop_signal || run->j.nr_recs == 0)
		return;
	r = &run->j.recs[run->j.nr_recs - 1];
	if (v == V_UNKNOWN) {
		fprintf(stderr, "%s: trial %d could not tell (%s %d) after %s\n",
		    progname, r->trial, r->status >= 128 ? "signal or status" :
		    "exit", r->status, hms(r->seconds, d, sizeof(d)));
		return;
	}
	fprintf(stderr, "%s: trial %d %s in %s: %d candidates left, about %d "
	    "trials to go, elapsed %s, eta %s\n", progname, r->trial,
	    v == V_PASS ? "passed" : "failed", hms(r->seconds, d, sizeof(d)),
	    search_unknown(s), left, hms(now() - run->t0, e, sizeof(e)),
	    hms(left * mean, eta, sizeof(eta)));
}

/* trial_ops.run: one trial of the command. */
static enum verdict run_one(void *ctx, const struct fset *hide, int nr,
			    int *id_r)
{
	struct run *run = ctx;
	struct journal_rec r;
	struct perr err;
	char *cpuid;
	double t;
	pid_t pid;
	int fd, status;
	bool timed_out;

	(void)nr;
	if (stop_signal)
		return V_UNKNOWN;
	memset(&r, 0, sizeof(r));
	r.trial = run->j.last_trial + 1;
	r.verify = run->verifying;
	r.hide = *hide;
	cpuid = render_cpuid(hide, run->extra);
	r.cpuid = cpuid;
	*id_r = r.trial;
	run->last_id = r.trial;
	run->ran++;
	t = now();
	pid = spawn(run, cpuid, r.trial, &fd);
	status = wait_trial(run, pid, fd, &r, &timed_out);
	r.seconds = now() - t;
	if (stop_signal) {
		/* Interrupted: the trial in flight is not journaled. */
		free(cpuid);
		return V_UNKNOWN;
	}
	if (WIFEXITED(status))
		r.status = WEXITSTATUS(status);
	else
		r.status = 128 + WTERMSIG(status);
	if (timed_out) {
		warning("trial %d timed out after %d s", r.trial, run->timeout);
		r.verdict = V_UNKNOWN;
	} else if (r.status == 0)
		r.verdict = V_PASS;
	else if (r.status == 125 || r.status >= 128)
		r.verdict = V_UNKNOWN;
	else
		r.verdict = V_FAIL;
	if (journal_append(&run->j, &r, &err) < 0)
		die("%s", err.msg);
	free(cpuid);
	return r.verdict;
}

/* trial_ops.known: the journal's verdict for HIDE, if it has one. */
static bool known(void *ctx, const struct fset *hide, bool *pass_r, int *id_r)
{
	struct run *run = ctx;
	const struct journal_rec *r = journal_find(&run->j, hide,
	    run->verifying);

	if (r == NULL)
		return false;
	*pass_r = r->verdict == V_PASS;
	*id_r = r->trial;
	run->last_id = r->trial;
	return true;
}

/* ID_R gets P's vendor and signature. */
static void keep_ident(const struct policy *p, struct ident *id_r)
{
	memcpy(id_r->vendor, p->vendor, sizeof(id_r->vendor));
	id_r->family = p->family;
	id_r->model = p->model;
	id_r->stepping = p->stepping;
}

/* The features of the policy at PATH into FS_R, its identity into ID_R. */
static void load_policy(const char *path, struct fset *fs_r,
			struct ident *id_r)
{
	struct policy p = POLICY_INIT;
	struct perr err;
	char *buf;
	size_t len;

	buf = read_all(path, MAX_INPUT, &len);
	if (buf == NULL)
		die("cannot open '%s': %s", path, errno == EFBIG ?
		    "too large" : strerror(errno));
	policy_init(&p);
	if (policy_parse(&p, buf, len, strcmp(path, "-") ? path : "<stdin>",
	    0, NULL, &err) < 0) {
		free(buf);
		die("%s", err.msg);
	}
	policy_featureset(&p, fs_r);
	fs_known(fs_r);
	if (id_r != NULL)
		keep_ident(&p, id_r);
	policy_release(&p);
	free(buf);
}

/*
 * The trial's config: the argument of the last -c in the trial command
 * CMD (trial.sh's option; "-cFILE" too), or NULL when it has none.
 */
static const char *trial_config(char *const *cmd)
{
	const char *cfg = NULL;
	int i;

	for (i = 1; cmd[i] != NULL; i++)
		if (strcmp(cmd[i], "-c") == 0 && cmd[i + 1] != NULL)
			cfg = cmd[++i];
		else if (strncmp(cmd[i], "-c", 2) == 0 && cmd[i][2] != '\0')
			cfg = cmd[i] + 2;
	return cfg;
}

/*
 * The domain the xl config PATH names (its name=, read by libxlutil as
 * xl reads it); the caller frees it.  Dies with one line when PATH cannot
 * be read or names none.
 */
static char *config_domain(const char *path)
{
	char *buf, *why = NULL, *name = NULL, line[512];
	XLU_Config *cfg;
	const char *v;
	size_t len;

	buf = read_all(path, MAX_INPUT, &len);
	if (buf == NULL)
		die("cannot open '%s': %s", path, errno == EFBIG ?
		    "too large" : strerror(errno));
	if ((cfg = xlparse_text(buf, len, path, &why)) == NULL) {
		/* Freed first: LeakSanitizer counts what die() leaves. */
		xlparse_complaint(why, path, line, sizeof(line));
		free(why);
		free(buf);
		die("'%s' does not parse with libxlutil: %s", path, line);
	}
	if (xlu_cfg_get_string(cfg, "name", &v, 1) == 0 && *v != '\0')
		name = estrdup(v);
	xlu_cfg_destroy(cfg);
	free(buf);
	if (name == NULL)
		die("'%s' names no domain (no name=)", path);
	return name;
}

/*
 * With no -p and no journal: the policy of the domain the trial's config
 * names, as featdump -d reads it.  That config can be the VM's own, when
 * it names no disks: trial.sh -n boots it under another name while the VM
 * runs on.
 */
static void domain_policy(char *const *cmd, struct fset *fs_r,
			  struct ident *id_r)
{
	struct policy p = POLICY_INIT;
	const char *path = trial_config(cmd);
	char *dom;

	if (path == NULL)
		die("no policy: give -p FILE (e.g. the output of 'featdump -d "
		    "DOMAIN -o json' while the guest runs), or a trial "
		    "command with -c CONFIG whose domain runs");
	dom = config_domain(path);
	fprintf(stderr, "%s: the policy of domain '%s', named in '%s' (the "
	    "trial's -c)\n", progname, dom, path);
	policy_init(&p);
	xen_read_domain(dom, &p);
	policy_featureset(&p, fs_r);
	fs_known(fs_r);
	keep_ident(&p, id_r);
	policy_release(&p);
	free(dom);
}

/* The first line of a run: how many candidates, and which are fixed. */
static void say_candidates(const struct fset *cand, const struct fset *fixed)
{
	int f, n = 0;

	fprintf(stderr, "%s: %d candidate features, %d kept fixed", progname,
	    fs_count(cand), fs_count(fixed));
	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(fixed, f))
			fprintf(stderr, "%s%s", n++ ? " " : " (",
			    hm_features[f].name);
	fprintf(stderr, "%s\n", n ? ")" : "");
}

/* Add the comma-separated feature names of LIST to FS. */
static void add_names(struct fset *fs, const char *list)
{
	char *copy = estrdup(list), *tok, *save = NULL;
	int f;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if ((f = feat_lookup(tok)) < 0)
			die("unknown feature '%s'", tok);
		fs_set(fs, f);
	}
	free(copy);
}

/*
 * Add the comma-separated cpuid= items of LIST to *EXTRA; an item
 * "feature=0" also goes into HIDDEN, since every trial hides it.
 */
static void add_items(char **extra, struct fset *hidden, const char *list)
{
	struct perr err;
	char *copy = estrdup(list), *tok, *save = NULL, *eq;
	size_t len;
	int f;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		/*
		 * A whole libxl-form value ("host,rdtscp=0", a VM's current
		 * line as xlcfg prints it) is taken as its items: every line
		 * featmin writes starts with host already.
		 */
		if (tok == copy && strcmp(tok, "host") == 0)
			continue;
		eq = strchr(tok, '=');
		if (eq == NULL || eq == tok || eq[1] == '\0' ||
		    strchr(eq + 1, '=') != NULL)
			die("bad cpuid item '%s': expected name=value", tok);
		if (xl_cpuid_check_item(tok, &err) < 0)
			die("%s", err.msg);
		*eq = '\0';
		f = feat_lookup(tok);
		if (f >= 0 && strcmp(eq + 1, "0") == 0)
			fs_set(hidden, f);
		*eq = '=';
		len = (*extra ? strlen(*extra) + 1 : 0) + strlen(tok) + 1;
		if (*extra) {
			*extra = erealloc(*extra, len);
			strcat(*extra, ",");
			strcat(*extra, tok);
		} else
			*extra = estrdup(tok);
	}
	free(copy);
}

/*
 * evidence: why each feature of the answer is in it: kept fixed (with
 * "scan" when --scan found a program using it blind), or the trials that
 * showed it needed.  The caller owns the object returned.
 */
static json_t *evidence(const struct run *run, const struct fset *fixed,
			const struct fset *scanned, const struct fset *needed)
{
	json_t *ev = json_object(), *o;
	int f;

	for (f = 0; f < HM_NR_FEATURES; f++) {
		const struct evidence *e = &run->s.ev[f];

		if (fs_has(scanned, f)) {
			o = json_pack("{s:b, s:b}", "fixed", 1, "scan", 1);
		} else if (fs_has(fixed, f)) {
			o = json_pack("{s:b}", "fixed", 1);
		} else if (fs_has(needed, f)) {
			o = json_object();
			if (e->via >= 0)
				json_object_set_new(o, "via",
				    json_string(hm_features[e->via].name));
			if (e->fail >= 0)
				json_object_set_new(o, "fail",
				    json_integer(e->fail));
			else
				json_object_set_new(o, "fails_on",
				    json_true());
			if (e->pass >= 0 && e->via < 0)
				json_object_set_new(o, "pass",
				    json_integer(e->pass));
		} else
			continue;
		json_object_set_new(ev, hm_features[f].name, o);
	}
	return ev;
}

/* Every trial of the journal, for what each mask costs. */
static json_t *trials_json(const struct journal *j)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < j->nr_recs; i++) {
		const struct journal_rec *r = &j->recs[i];
		json_t *m = json_object();
		int k;

		for (k = 0; k < r->nr_metrics; k++)
			json_object_set_new(m, r->metrics[k].name,
			    json_real(r->metrics[k].value));
		json_array_append_new(a, json_pack("{s:i, s:s, s:i, s:s, "
		    "s:f, s:o}", "trial", r->trial, "kind", r->verify ?
		    "verify" : "search", "hidden", fs_count(&r->hide),
		    "verdict", r->verdict == V_PASS ? "pass" :
		    r->verdict == V_FAIL ? "fail" : "unknown", "seconds",
		    r->seconds, "metrics", m));
	}
	return a;
}

/*
 * write_output: the answer, as OUT asks.  In JSON it is a policy of
 * features alone, with ID's vendor and signature when they are known.
 */
static int write_output(const struct run *run, enum output out,
			const struct fset *fixed, const char *jpath,
			const struct ident *id, bool verified)
{
	struct fset all, hide;
	json_t *root, *feats;
	char *cpuid;
	int f, rc = 0;

	fs_or(&all, fixed, search_needed(&run->s));
	search_final_mask(&run->s, &hide);
	switch (out) {
	case OUT_NAMES:
		return fset_write_names(&all, stdout);
	case OUT_XL:
		cpuid = render_cpuid(&hide, run->extra);
		if (printf("%s\n", cpuid) < 0)
			rc = -1;
		free(cpuid);
		return rc;
	case OUT_JSON:
		break;
	}
	feats = json_array();
	for (f = 0; f < HM_NR_FEATURES; f++)
		if (fs_has(&all, f))
			json_array_append_new(feats,
			    json_string(hm_features[f].name));
	cpuid = render_cpuid(&hide, run->extra);
	root = json_pack("{s:s, s:{s:s, s:o?}}", "format", "hetmig-policy/1",
	    "source", "kind", "featmin", "name", jpath ? json_text(jpath) : NULL);
	if (root != NULL && id->vendor[0] != '\0' &&
	    strchr(id->vendor, '?') == NULL)
		json_object_update_new(root, json_pack("{s:s, s:I, s:I, s:I}",
		    "vendor", id->vendor, "family", (json_int_t)id->family,
		    "model", (json_int_t)id->model,
		    "stepping", (json_int_t)id->stepping));
	if (root != NULL)
		json_object_update_new(root, json_pack("{s:o, s:o, s:s, s:b, s:o}",
		    "features", feats, "evidence",
		    evidence(run, fixed, &run->j.head.scan,
		    search_needed(&run->s)), "cpuid",
		    cpuid, "verified", verified, "trials",
		    trials_json(&run->j)));
	free(cpuid);
	if (root == NULL)
		die("out of memory");
	if (json_dumpf(root, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER |
	    JSON_COMPACT | JSON_REAL_PRECISION(9)) < 0)
		rc = -1;
	json_decref(root);
	if (putchar('\n') == EOF)
		rc = -1;
	return rc;
}

/*
 * The mean of metric NAME over the passing trials hiding exactly HIDE into
 * *MEAN_R, their numbers into LIST ("3, 4"); returns how many there are.
 * A figure moves from one boot to the next (by up to a third in the lab's
 * emulation), so every trial with the mask counts, not only the last.
 */
static int metric_mean(const struct journal *j, const struct fset *hide,
		       const char *name, double *mean_r, char *list,
		       size_t size)
{
	size_t i, len = 0;
	double sum = 0.0;
	int n = 0, k;

	list[0] = '\0';
	for (i = 0; i < j->nr_recs; i++) {
		const struct journal_rec *r = &j->recs[i];

		if (r->verdict != V_PASS || !fs_equal(&r->hide, hide))
			continue;
		for (k = 0; k < r->nr_metrics; k++)
			if (strcmp(r->metrics[k].name, name) == 0)
				break;
		if (k == r->nr_metrics)
			continue;
		sum += r->metrics[k].value;
		if (len < size)
			len += (size_t)snprintf(list + len, size - len, "%s%d",
			    n ? ", " : "", r->trial);
		n++;
	}
	if (n > 0)
		*mean_r = sum / n;
	return n;
}

/*
 * What the mask costs: each metric of the passing unmasked trials beside
 * the same metric of the passing trials with the final mask, on stderr.
 */
static void report_costs(const struct run *run)
{
	const struct journal_rec *base;
	struct fset none = { { 0 } }, hide;
	int i;

	search_final_mask(&run->s, &hide);
	base = journal_find(&run->j, &none, false);
	if (base == NULL || base->verdict != V_PASS)
		return;
	for (i = 0; i < base->nr_metrics; i++) {
		const char *name = base->metrics[i].name;
		char bl[128], fl[128];
		double b = 0.0, f = 0.0;
		int nb, nf;

		nb = metric_mean(&run->j, &none, name, &b, bl, sizeof(bl));
		nf = metric_mean(&run->j, &hide, name, &f, fl, sizeof(fl));
		if (nb > 0 && nf > 0)
			fprintf(stderr, "%s: %s %g unmasked (%s %s), %g with "
			    "the final mask (%s %s)\n", progname, name, b,
			    nb > 1 ? "mean of trials" : "trial", bl, f,
			    nf > 1 ? "mean of trials" : "trial", fl);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: featmin [-av] [-p policy] [-f policy] "
	    "[-j journal] [-r retries]\n"
	    "               [-t seconds] [-e item[,item...]] "
	    "[-k feature[,feature...]]\n"
	    "               [-o json|names|xl] [--scan scan] [--verify] "
	    "-- command "
	    "[argument ...]\n");
	exit(2);
}

static int parse_int(const char *s, const char *what, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < 0 || v > max)
		die("bad %s '%s'", what, s);
	return (int)v;
}

int main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "extra", required_argument, NULL, 'e' },
		{ "fails-on", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "journal", required_argument, NULL, 'j' },
		{ "keep", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "policy", required_argument, NULL, 'p' },
		{ "retries", required_argument, NULL, 'r' },
		{ "scan", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "verify", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct run run;
	struct journal_head head;
	struct trial_ops ops = { run_one, known, progress };
	struct drive_stats st = { 0 };
	struct sigaction sa;
	struct fset policy, fixed = { { 0 } }, keep = { { 0 } };
	struct ident ident = { "", 0, 0, 0 };
	struct fset hidden = { { 0 } }, cand, hide, fails = { { 0 } };
	struct perr err;
	enum output out = OUT_JSON;
	enum drive_result dr;
	const char *ppath = NULL, *jpath = NULL, *fpath = NULL, *spath = NULL;
	struct fset scanned = { { 0 } };
	int c, retries = 3, id, rc = 0;
	bool all = false, verify = false, verified = false;

	progname = "featmin";
	memset(&run, 0, sizeof(run));
	journal_memory(&run.j);
	while ((c = getopt_long(argc, argv, "+ae:f:hj:k:o:p:r:t:v", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'e':
			add_items(&run.extra, &hidden, optarg);
			break;
		case 'f':
			fpath = optarg;
			break;
		case 'j':
			jpath = optarg;
			break;
		case 'k':
			add_names(&keep, optarg);
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				out = OUT_JSON;
			else if (strcmp(optarg, "names") == 0)
				out = OUT_NAMES;
			else if (strcmp(optarg, "xl") == 0)
				out = OUT_XL;
			else
				die("unknown output '%s': expected json, names "
				    "or xl", optarg);
			break;
		case 'p':
			ppath = optarg;
			break;
		case 'r':
			retries = parse_int(optarg, "number of retries", 1000);
			break;
		case 't':
			run.timeout = parse_int(optarg, "timeout", 86400 * 7);
			break;
		case 'v':
			run.verbose = true;
			break;
		case 'S':
			spath = optarg;
			break;
		case 'V':
			verify = true;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	run.cmd = argv + optind;
	check_command(run.cmd[0]);

	if (jpath != NULL && journal_open(&run.j, jpath, &err) < 0)
		die("%s", err.msg);
	if (ppath != NULL) {
		load_policy(ppath, &policy, &ident);
	} else if (run.j.has_head) {
		/* Resuming with -j alone: the journal says what the search is. */
		policy = run.j.head.policy;
		if (run.extra == NULL && run.j.head.extra != NULL)
			add_items(&run.extra, &hidden, run.j.head.extra);
		if (!all && fs_empty(&keep))
			keep = run.j.head.fixed;
		if (spath == NULL)
			scanned = run.j.head.scan;
	} else
		domain_policy(run.cmd, &policy, &ident);
	if (spath != NULL) {
		/*
		 * What featscan found used blind or required: a program runs it
		 * without asking CPUID, so no masked trial can show it unneeded
		 * (the mask does not stop the instruction).  Kept exposed.
		 */
		load_policy(spath, &scanned, NULL);
	}
	fs_and(&scanned, &scanned, &policy);
	fs_or(&keep, &keep, &scanned);
	if (!all)
		search_default_fixed(&fixed);
	fs_or(&fixed, &fixed, &keep);
	fs_close_needed(&fixed);
	fs_and(&fixed, &fixed, &policy);
	search_candidates(&policy, &fixed, &hidden, &cand);
	if (fpath != NULL) {
		/* Hiding what the failing guest lacks fails: one is needed. */
		struct fset there;

		load_policy(fpath, &there, NULL);
		fs_andnot(&fails, &cand, &there);
		if (fs_empty(&fails))
			die("'%s' has every candidate feature: a workload that "
			    "fails there fails for something else", fpath);
	} else if (ppath == NULL && run.j.has_head)
		fails = run.j.head.fails;

	head.policy = policy;
	head.fixed = fixed;
	head.cand = cand;
	head.extra = run.extra;
	head.fails = fails;
	head.scan = scanned;
	if (journal_start(&run.j, &head, &err) < 0)
		die("%s", err.msg);
	if (run.j.nr_recs > 0)
		fprintf(stderr, "%s: resuming from '%s': %zu trials on "
		    "record\n", progname, jpath, run.j.nr_recs);
	say_candidates(&cand, &fixed);

	atexit(end_trial);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	run.t0 = now();
	search_init(&run.s, &cand);
	if (!fs_empty(&fails))
		fprintf(stderr, "%s: the workload is known to fail without "
		    "%d of them (-f): one of those is needed, and they are "
		    "searched first\n", progname,
		    search_given_fail(&run.s, &fails));
	dr = search_drive(&run.s, &ops, &run, retries, &st);
	if (dr == D_DONE && verify) {
		bool pass;

		run.verifying = true;
		search_final_mask(&run.s, &hide);
		if (known(&run, &hide, &pass, &id)) {
			verified = pass;
		} else {
			enum verdict v = search_trial(&ops, &run, &run.s, &hide,
			    retries, &st, &id);

			if (v == V_UNKNOWN)
				dr = D_GAVE_UP;
			else {
				verified = v == V_PASS;
				progress(&run, &run.s, st.attempts, v);
			}
		}
		if (dr == D_DONE && !verified) {
			fprintf(stderr, "%s: verification failed: trial %d "
			    "failed with every feature not found needed "
			    "hidden; is the workload flaky?\n", progname, id);
			rc = 1;
		}
	}
	if (stop_signal) {
		fprintf(stderr, "%s: stopped by signal %d; %s\n", progname,
		    (int)stop_signal, jpath ? "run again with the same journal "
		    "to resume" : "no journal (-j) to resume from");
		rc = 128 + stop_signal;
	} else if (dr == D_UNMASKED_FAILS) {
		fprintf(stderr, "%s: the workload fails even unmasked (trial "
		    "%d, asked %d time%s): nothing to search\n", progname,
		    run.last_id, st.confirmed + 1, st.confirmed ? "s" : "");
		rc = 1;
	} else if (dr == D_GAVE_UP) {
		fprintf(stderr, "%s: trial %d could not tell (exit 125) %d "
		    "times: stopping; %s\n", progname, run.j.last_trial,
		    retries + 1, jpath ? "the journal keeps every finished "
		    "trial, run again with it to resume" : "no journal (-j) to "
		    "resume from");
		rc = 3;
	} else {
		fprintf(stderr, "%s: %d features needed of %d candidates, %d "
		    "kept fixed; %d trials run, %d from the journal, %d could "
		    "not tell\n", progname, fs_count(search_needed(&run.s)),
		    fs_count(&cand), fs_count(&fixed), run.ran, st.cached,
		    st.unknown);
		report_costs(&run);
		if (rc == 0 && write_output(&run, out, &fixed, jpath, &ident,
		    verified) < 0)
			die("cannot write to stdout: %s", strerror(errno));
	}
	journal_close(&run.j);
	free(run.extra);
	fshut(stdout, "<stdout>");
	return rc;
}
