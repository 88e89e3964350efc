/* sercom-runner: the grading daemon (docs/ARCHITECTURE.md sections 1 and 2).
 *
 * Design rationale. One supervisor process and up to -j worker processes.
 * The supervisor never grades: it waits in poll() on the FIFO the MDA pokes
 * (var/runner.fifo, opened O_RDWR so it never sees EOF when the last MDA
 * closes it), a timerfd (lease renewal, expired leases, retries of unsent
 * replies) and a signalfd (SIGCHLD, SIGTERM, SIGINT, SIGHUP), and forks a
 * worker into a free slot when attempts are queued. A worker claims
 * attempts one at a time with a lease (queue.c), grades each (grade.c) with
 * its slot's sandbox uid, commits the outcome, composes the reply into the
 * outbox, and exits when the queue is empty or the supervisor asks it to
 * stop. Replies are sent by one sender process of the supervisor's (like
 * postfix's qmgr beside its smtp clients), woken through a pipe: a slow or
 * hung mail server delays replies, never grading.
 *
 * Why processes and slots: a worker that crashes (a bug a hostile
 * submission triggers) takes only its attempt with it; the supervisor sees
 * it exit abnormally and releases the attempt to the retry budget at once.
 * Each slot has its own uid, so a program of one run cannot signal or
 * ptrace a program of a concurrent run. Why a stop pipe instead of
 * signals to workers: a signal would interrupt the sandbox's waits and the
 * SQLite busy handler mid-way; the pipe is checked between attempts, which
 * is exactly "finish the running work, claim nothing more". A supervisor
 * killed with SIGKILL takes its workers with it (PR_SET_PDEATHSIG), so no
 * orphan keeps grading with a slot uid the next runner reuses; the next
 * runner releases the dead workers' attempts at start-up (their pids are
 * gone) instead of waiting for the leases to expire. */
#define _GNU_SOURCE 1
#include "compose.h"
#include "conf.h"
#include "grade.h"
#include "intake.h"
#include "log.h"
#include "queue.h"
#include "reveal.h"
#include "sandbox.h"
#include "store.h"
#include "transport.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#define LEASE_S 120     /* renewed every TICK_S by the supervisor */
#define TICK_S 10
#define MAX_TRIES 3     /* claims of one attempt before ERROR */
#define MAX_SLOTS 64
#define RETRY_DELAY_S 15 /* after a failed grading */
#define COOLDOWN_MS 1000 /* after a worker died */
#define EXIT_RETIRED 3   /* a worker whose slot cannot be reset */

/* A child the supervisor keeps running (the ingester, the sender): one
 * process, started again when it dies, not in a loop when it dies at once. */
struct service {
	const char *name;
	pid_t pid;                    /* 0 = not running */
	int64_t started, restart_at;  /* ms */
};

struct runner {
	struct sercom_conf *conf;
	struct store *store;
	int nslots;
	bool once, stopping;
	int failures;                 /* workers that failed in a row */
	int64_t cooldown_until;       /* ms: no new worker before (after a crash) */
	int fifo_fd, sig_fd, timer_fd;
	int stop_r, stop_w;           /* EOF on stop_r = stop claiming */
	pid_t slot_pid[MAX_SLOTS];    /* 0 = free */
	bool retired[MAX_SLOTS];      /* a slot whose scratch could not be reset */
	char *scratch;                /* var/work: each worker's own tmpfs */
	char host[256];
	pid_t self;
	struct service intake;        /* the unprivileged ingester */
	int64_t reveal_next;          /* s: reveal_tick's next look */
	struct service sender;        /* composes and sends the replies */
	int wake_r, wake_w;           /* a byte on wake_w: replies to send */
};

static char *worker_name(const struct runner *r, pid_t pid)
{
	return g_strdup_printf("%s:%ld", r->host, (long)pid);
}

static void flush_replies(struct runner *r, struct store *s)
{
	GError *err = NULL;
	int n = compose_pending(r->conf, s, &err);
	if (n < 0) {
		log_error("composing replies: %s", err->message);
		g_clear_error(&err);
	}
	if (transport_flush(r->conf, s, &err) < 0) {
		log_error("sending replies: %s", err->message);
		g_clear_error(&err);
	}
}

/* The after-close final mails (reveal.c): at start, then at most once a
 * minute on the timer, and at the end of --once. Returns the number queued
 * (flush_replies sends them). */
#define REVEAL_EVERY_S 60
static int reveal_tick(struct runner *r)
{
	int64_t now = util_now();
	if (now < r->reveal_next)
		return 0;
	r->reveal_next = now + REVEAL_EVERY_S;
	GError *err = NULL;
	int n = reveal_due(r->conf, r->store, now, &err);
	if (n < 0) {
		log_error("final results: %s", err->message);
		g_clear_error(&err);
	} else if (n > 0) {
		log_info("final results: %d mail(s) queued", n);
	}
	return n;
}

/* ---- the sender --------------------------------------------------------- */

/* Tells the sender there is something to send. Never blocks: a full pipe
 * already says so. --once has no sender: the supervisor sends at the end. */
static void wake_sender(struct runner *r)
{
	if (r->wake_w >= 0 && write(r->wake_w, "", 1) < 0 && errno != EAGAIN)
		log_warn("waking the sender: %s", g_strerror(errno));
}

/* Replies became due in the supervisor (the rejections of an MDA, the
 * INTERNAL_ERROR of released attempts). */
static void replies_due(struct runner *r)
{
	if (r->once)
		flush_replies(r, r->store);
	else
		wake_sender(r);
}

static void drain(int fd);
static bool stop_requested(int stop_r);
static void close_supervisor_fds(struct runner *r);
static void tick_in(struct runner *r, int64_t ms);

/* Reads what the wake-up pipe holds; true when it asks for a reload (the
 * supervisor's SIGHUP, reload()). */
#define WAKE_RELOAD 'R'
static bool drain_wake(int fd)
{
	char buf[512];
	bool reload = false;
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		reload |= memchr(buf, WAKE_RELOAD, (size_t)n) != NULL;
	return reload;
}

/* The sender composes the replies too: a reload (a new prefix, language,
 * transport) reaches the next one. The sender's copy of the configuration
 * is its own (it was forked); a file that no longer loads keeps it. */
static void sender_reload(struct runner *r)
{
	GError *err = NULL;
	struct sercom_conf *n = conf_load(r->conf->path, &err);
	if (!n) {
		log_error("sender: SIGHUP: %s: keeping the configuration in use", err->message);
		g_error_free(err);
		return;
	}
	conf_free(r->conf);
	r->conf = n;
}

/* The sender's loop: compose what is unanswered, send what is due, sleep
 * until woken, the next due row, or the stop pipe's EOF (checked between
 * two messages too, so a stop never cuts a send in half). */
static int sender_main(struct runner *r)
{
	GError *err = NULL;
	struct store *s = store_open(r->conf->db_path, 30000, &err);
	if (!s) {
		log_error("sender: %s", err->message);
		g_clear_error(&err);
		return EX_TEMPFAIL;
	}
	while (!stop_requested(r->stop_r)) {
		if (drain_wake(r->wake_r))
			sender_reload(r);
		if (compose_pending(r->conf, s, &err) < 0) {
			log_error("composing replies: %s", err->message);
			g_clear_error(&err);
		}
		if (transport_flush_until(r->conf, s, r->stop_r, &err) < 0) {
			log_error("sending replies: %s", err->message);
			g_clear_error(&err);
		}
		int64_t due = transport_next_due(s);
		int ms = due < 0 ? TICK_S * 1000 : (int)CLAMP(due * 1000, 1000, TICK_S * 1000);
		struct pollfd p[2] = { { .fd = r->stop_r, .events = POLLIN }, { .fd = r->wake_r, .events = POLLIN } };
		if (poll(p, 2, ms) < 0 && errno != EINTR) {
			log_error("sender: poll: %s", g_strerror(errno));
			break;
		}
	}
	store_close(s);
	return 0;
}

/* Forks c when it is due: false in the supervisor (started, or not now);
 * true in the child, in a process group of its own with SIGTERM, SIGINT
 * and SIGHUP blocked (systemd signals the whole group, and neither a send
 * nor a record may be cut in half: a child stops on EOF of the stop pipe,
 * like a worker) and the supervisor's descriptors closed. */
static bool service_fork(struct runner *r, struct service *c)
{
	if (r->once || r->stopping || c->pid || util_now_ms() < c->restart_at)
		return false;
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork: %s", g_strerror(errno));
		c->restart_at = util_now_ms() + COOLDOWN_MS;
		return false;
	}
	if (pid > 0) {
		c->pid = pid;
		c->started = util_now_ms();
		return false;
	}
	setpgid(0, 0);
	sigset_t keep;
	sigemptyset(&keep);
	sigaddset(&keep, SIGTERM);
	sigaddset(&keep, SIGINT);
	sigaddset(&keep, SIGHUP);
	sigprocmask(SIG_SETMASK, &keep, NULL);
	close_supervisor_fds(r);
	return true;
}

static void spawn_sender(struct runner *r)
{
	if (!service_fork(r, &r->sender))
		return;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != r->self)
		_exit(EXIT_FAILURE);
	_exit(sender_main(r));
}

/* The sender's wake-up pipe: non-blocking both ends (a worker never
 * waits on it, the sender drains it). */
static bool open_wake_pipe(struct runner *r)
{
	int fd[2];
	if (pipe2(fd, O_CLOEXEC | O_NONBLOCK) < 0) {
		log_error("pipe: %s", g_strerror(errno));
		return false;
	}
	r->wake_r = fd[0];
	r->wake_w = fd[1];
	return true;
}

/* ---- the worker --------------------------------------------------------- */

static bool stop_requested(int stop_r)
{
	struct pollfd p = { .fd = stop_r, .events = POLLIN };
	/* the supervisor never writes: readable means it closed its end
	 * (stop) or died */
	return poll(&p, 1, 0) > 0;
}

/* false when the slot must retire (its scratch cannot be reset): the
 * attempt went back to the queue without a try counted, so the failure
 * of a slot never becomes a student's INTERNAL_ERROR */
static bool grade_one(struct runner *r, struct store *s, const char *worker, int slot,
                      int64_t id)
{
	struct grade_ctx g = { .conf = r->conf, .store = s, .worker = worker,
	                       .lease_s = LEASE_S, .slot = slot,
	                       .scratch = r->scratch };
	struct queue_outcome o;
	GError *err = NULL;
	int64_t t0 = util_now_ms();
	if (!grade_attempt(&g, id, &o, &err)) {
		if (err && err->domain == GRADE_SLOT_ERROR) {
			log_error("slot %d retires: %s; attempt %lld goes back to the queue", slot,
			          err->message, (long long)id);
			GError *e2 = NULL;
			/* not counted: the next slot grades it as if for the first time */
			if (!queue_requeue(s, id, worker, &e2)) {
				log_error("attempt %lld: requeue: %s", (long long)id, e2->message);
				g_clear_error(&e2);
			}
			g_clear_error(&err);
			return false;
		}
		if (err && err->code == ESTALE) {
			log_warn("attempt %lld: %s", (long long)id, err->message);
		} else {
			log_error("attempt %lld: grading failed: %s", (long long)id,
			          err ? err->message : "?");
			GError *e2 = NULL;
			if (!queue_note_failure(s, id, err ? err->message : "?", &e2)) {
				log_error("attempt %lld: history: %s", (long long)id, e2->message);
				g_clear_error(&e2);
			}
			/* retried later, counted against the budget like a crash:
			 * a failing sandbox (a cgroup still busy, a full disk) gets
			 * time to recover instead of three failures in a second */
			bool ok = r->once
				/* --once must end with nothing pending: retry now */
				? queue_release(s, worker, util_now(), MAX_TRIES, NULL, &e2) >= 0
				: queue_defer(s, id, worker, RETRY_DELAY_S, &e2);
			if (!ok) {
				log_error("attempt %lld: defer: %s", (long long)id, e2->message);
				g_clear_error(&e2);
			}
		}
		g_clear_error(&err);
		return true;
	}
	if (!queue_finish(s, id, worker, &o, &err)) {
		log_error("attempt %lld: %s", (long long)id, err->message);
		g_clear_error(&err);
		queue_outcome_clear(&o);
		return true;
	}
	log_info("attempt %lld: %s (build %s, %u cases) in %lld ms, slot %d", (long long)id,
	         verdict_name(o.verdict), o.build ? o.build : "-", o.results ? o.results->len : 0,
	         (long long)(util_now_ms() - t0), slot);
	queue_outcome_clear(&o);
	int64_t outbox_id = 0;
	if (!compose_reply(r->conf, s, id, &outbox_id, &err)) {
		/* the attempt stays DONE and unanswered: compose_pending retries */
		log_error("attempt %lld: composing the reply: %s", (long long)id, err->message);
		g_clear_error(&err);
		return true;
	}
	/* composed, never sent here: the sender does it (see the rationale) */
	if (outbox_id)
		wake_sender(r);
	return true;
}

static int worker_main(struct runner *r, int slot)
{
	GError *err = NULL;
	struct store *s = store_open(r->conf->db_path, 30000, &err);
	if (!s) {
		log_error("worker %d: %s", slot, err->message);
		g_clear_error(&err);
		return 1;
	}
	g_autofree char *worker = worker_name(r, getpid());
	while (!stop_requested(r->stop_r)) {
		int64_t id;
		int c = queue_claim(s, worker, LEASE_S, &id, &err);
		if (c < 0) {
			log_error("worker %d: claim: %s", slot, err->message);
			g_clear_error(&err);
			store_close(s);
			return 1;
		}
		if (c == 0)
			break;
		log_debug("worker %s (slot %d): attempt %lld", worker, slot, (long long)id);
		if (!grade_one(r, s, worker, slot, id)) {
			store_close(s);
			return EXIT_RETIRED;
		}
	}
	store_close(s);
	return 0;
}

/* In a child: the supervisor's signals, timer, FIFO and the write end of
 * the stop pipe are not its own (its EOF must come when the supervisor
 * closes it). */
static void close_supervisor_fds(struct runner *r)
{
	close(r->sig_fd);
	close(r->timer_fd);
	close(r->fifo_fd);
	if (r->stop_w >= 0)
		close(r->stop_w);
}

static pid_t spawn_worker(struct runner *r, int slot)
{
	pid_t pid = fork();
	if (pid < 0) {
		log_error("fork: %s", g_strerror(errno));
		return -1;
	}
	if (pid > 0)
		return pid;
	/* child: die with the supervisor (see the rationale above) */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != r->self)
		_exit(EXIT_FAILURE);
	/* Ctrl-C on a terminal goes to the supervisor, which decides */
	setpgid(0, 0);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_supervisor_fds(r);
	/* the supervisor's SQLite connection is not ours to use after fork;
	 * it is left alone, the worker opens its own */
	GError *err = NULL;
	/* no build or case without its tmpfs areas (grade.c): on the spool's
	 * disk, a build could fill it and a case poison the next one */
	if (!grade_scratch_mount(r->scratch, &err)) {
		log_error("slot %d retires: %s", slot, err->message);
		g_clear_error(&err);
		_exit(EXIT_RETIRED);
	}
	int rc = worker_main(r, slot);
	/* _exit skips atexit(): remove the slot's cgroups ourselves, or the
	 * next worker of this slot finds them with this one's limits */
	sandbox_cleanup();
	_exit(rc);
}

/* The ingester (intake.h) records what sercom-deliver queues in
 * var/mail/new. It is a child of ours, so one daemon is all a teacher
 * runs, but not one of us: it parses hostile mail, so it drops root and
 * keeps no sandbox rights. */
static void spawn_intake(struct runner *r)
{
	if (!service_fork(r, &r->intake))
		return;
	GError *err = NULL;
	if (!intake_drop_privileges(r->conf, &err)) {
		log_error("ingester: %s", err->message);
		_exit(EX_TEMPFAIL);
	}
	/* after the uid change, which clears it */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != r->self)
		_exit(EXIT_FAILURE);
	_exit(intake_serve(r->conf, r->stop_r));
}

/* ---- the supervisor ------------------------------------------------------ */

static int busy_slots(const struct runner *r)
{
	int n = 0;
	for (int i = 0; i < r->nslots; i++)
		n += r->slot_pid[i] != 0;
	return n;
}

static bool all_retired(const struct runner *r)
{
	for (int i = 0; i < r->nslots; i++)
		if (!r->retired[i])
			return false;
	return true;
}

static bool cooling_down(const struct runner *r)
{
	return util_now_ms() < r->cooldown_until;
}

static void spawn_workers(struct runner *r)
{
	if (r->stopping || cooling_down(r))
		return;
	GError *err = NULL;
	int64_t queued = queue_length(r->store, &err);
	if (queued < 0) {
		log_error("%s", err->message);
		g_clear_error(&err);
		return;
	}
	/* a running worker drains the queue itself: only add workers for the
	 * attempts it cannot take yet */
	int64_t want = queued;
	for (int i = 0; i < r->nslots && want > 0; i++) {
		if (r->slot_pid[i] || r->retired[i])
			continue;
		pid_t pid = spawn_worker(r, i);
		if (pid < 0)
			return;
		r->slot_pid[i] = pid;
		want--;
		log_debug("slot %d: worker %ld", i, (long)pid);
	}
}

static void renew_leases(struct runner *r)
{
	for (int i = 0; i < r->nslots; i++) {
		if (!r->slot_pid[i])
			continue;
		g_autofree char *w = worker_name(r, r->slot_pid[i]);
		GError *err = NULL;
		if (queue_renew(r->store, w, LEASE_S, &err) < 0) {
			log_error("renewing the lease of %s: %s", w, err->message);
			g_clear_error(&err);
		}
	}
}

static void release(struct runner *r, const char *worker)
{
	GError *err = NULL;
	int errored = 0;
	if (queue_release(r->store, worker, util_now(), MAX_TRIES, &errored, &err) < 0) {
		log_error("releasing leases: %s", err->message);
		g_clear_error(&err);
	}
	if (errored)
		/* the ERROR attempts get their INTERNAL_ERROR reply (and the
		 * admin is told by the composer) */
		replies_due(r);
}

/* Whether pid is a live process: a zombie counts as dead (kill(pid, 0)
 * succeeds on one, and in a container whose pid 1 does not reap, the
 * workers of a killed runner stay zombies forever). A pid reused by another
 * process looks alive: that attempt waits for its lease to expire. */
static bool process_alive(pid_t pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%ld/stat", (long)pid);
	gchar *stat = NULL;
	if (!g_file_get_contents(path, &stat, NULL, NULL))
		return kill(pid, 0) == 0 || errno == EPERM;
	const char *p = strrchr(stat, ')');
	bool alive = !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
	g_free(stat);
	return alive;
}

/* At start-up: attempts held by workers of this host whose process is gone
 * (the previous runner was killed) go back now, not when the lease ends. */
static void release_dead_workers(struct runner *r)
{
	GError *err = NULL;
	g_autofree char *prefix = g_strdup_printf("%s:", r->host);
	char **workers = queue_running_workers(r->store, prefix, &err);
	if (!workers) {
		log_error("%s", err->message);
		g_clear_error(&err);
		return;
	}
	for (char **w = workers; *w; w++) {
		long pid = strtol(*w + strlen(prefix), NULL, 10);
		if (pid > 0 && !process_alive((pid_t)pid)) {
			log_warn("worker %s is gone: releasing its attempt", *w);
			release(r, *w);
		}
	}
	g_strfreev(workers);
}

/* The next tick in ms, then every TICK_S again. */
static void tick_in(struct runner *r, int64_t ms)
{
	struct itimerspec its = { .it_interval = { TICK_S, 0 },
	                          .it_value = { ms / 1000, (ms % 1000) * 1000000L } };
	timerfd_settime(r->timer_fd, 0, &its, NULL);
}

/* Meanwhile mail waits in var/mail/new and replies in the outbox (the
 * sender's row hold makes the next sender resend the one it was sending,
 * marked "may already have been sent"); a child that fails at once (a
 * var/ owned by root) is not restarted in a loop. */
static void service_died(struct runner *r, struct service *c, int status)
{
	c->pid = 0;
	if (r->stopping)
		return;
	if (WIFSIGNALED(status))
		log_error("%s killed by signal %d: starting another", c->name, WTERMSIG(status));
	else
		log_error("%s exited with %d: starting another", c->name, WEXITSTATUS(status));
	bool quick = WIFEXITED(status) && util_now_ms() - c->started < 10000;
	int64_t delay = quick ? 30000 : COOLDOWN_MS;
	c->restart_at = util_now_ms() + delay;
	tick_in(r, delay);
}

/* A slot whose worker could not reset its scratch (the log says why) is
 * not used again by this runner: another student's attempt must not meet
 * it. With every slot retired nothing is graded, but the supervisor keeps
 * its other duties (the intake, the replies, the leases) until staff fix
 * the cause and restart it. */
static void slot_retired(struct runner *r, int slot)
{
	r->retired[slot] = true;
	int left = 0;
	for (int i = 0; i < r->nslots; i++)
		left += !r->retired[i];
	if (left)
		log_error("slot %d retired: %d slot(s) left", slot, left);
	else
		log_error("slot %d retired: every slot is retired, nothing will be graded until the "
		          "runner is restarted (mail is still recorded and replies sent)", slot);
}

static void reap(struct runner *r)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == r->intake.pid) {
			service_died(r, &r->intake, status);
			continue;
		}
		if (pid == r->sender.pid) {
			service_died(r, &r->sender, status);
			continue;
		}
		int slot = -1;
		for (int i = 0; i < r->nslots; i++)
			if (r->slot_pid[i] == pid)
				slot = i;
		if (slot < 0)
			continue;
		r->slot_pid[slot] = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			r->failures = 0;
			continue;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_RETIRED) {
			slot_retired(r, slot);
			continue;
		}
		r->failures++;
		/* the dead worker's boxes are being killed (PDEATHSIG) and reaped
		 * by us; a worker started now in the same slot could meet their
		 * cgroup before it is gone. A second also stops crash loops from
		 * spending the retry budget in a blink. */
		r->cooldown_until = util_now_ms() + COOLDOWN_MS;
		tick_in(r, COOLDOWN_MS);
		g_autofree char *w = worker_name(r, pid);
		if (WIFSIGNALED(status))
			log_error("worker %s (slot %d) killed by signal %d", w, slot, WTERMSIG(status));
		else
			log_error("worker %s (slot %d) exited with %d", w, slot, WEXITSTATUS(status));
		release(r, w);
		/* a worker that died without sandbox_cleanup() leaves its slot's
		 * cgroups behind */
		sandbox_release_slot(slot, r->conf->uid_base);
	}
}

/* A second signal: the send in progress is cut; its row keeps the hold
 * and is resent later as "may already have been sent". */
static void service_kill(struct service *c)
{
	if (!c->pid)
		return;
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
}

static void stop(struct runner *r, int sig)
{
	if (!r->stopping) {
		log_info("signal %d: stopping; %d worker(s) finish their attempt", sig, busy_slots(r));
		r->stopping = true;
		close(r->stop_w);
		r->stop_w = -1;
		return;
	}
	/* a second signal: do not wait, give the work back to the queue */
	log_warn("signal %d again: killing %d worker(s), their attempts go back to the queue",
	         sig, busy_slots(r));
	service_kill(&r->sender);
	/* the mail it was recording stays in var/mail/new */
	service_kill(&r->intake);
	for (int i = 0; i < r->nslots; i++) {
		if (!r->slot_pid[i])
			continue;
		kill(r->slot_pid[i], SIGKILL);
		waitpid(r->slot_pid[i], NULL, 0);
		g_autofree char *w = worker_name(r, r->slot_pid[i]);
		GError *err = NULL;
		if (!queue_requeue(r->store, 0, w, &err)) {
			log_error("requeue %s: %s", w, err->message);
			g_clear_error(&err);
		}
		r->slot_pid[i] = 0;
	}
}

static void log_metrics(struct runner *r)
{
	GError *err = NULL;
	GPtrArray *m = queue_metrics(r->store, util_now() - 86400, &err);
	if (!m) {
		g_clear_error(&err);
		return;
	}
	for (guint i = 0; i < m->len; i++) {
		struct queue_metrics *q = g_ptr_array_index(m, i);
		log_debug("metrics %s (24h): queued %lld running %lld done %lld error %lld; "
		          "queue time avg %.1fs max %.0fs; run time avg %.1fs max %.0fs",
		          q->exercise, (long long)q->queued, (long long)q->running, (long long)q->done,
		          (long long)q->error, q->queue_avg, q->queue_max, q->run_avg, q->run_max);
	}
	g_ptr_array_free(m, TRUE);
}

static int open_fifo(const char *path)
{
	if (mkfifo(path, 0622) < 0 && errno != EEXIST) {
		log_error("%s: cannot create the FIFO: %s", path, g_strerror(errno));
		return -1;
	}
	/* O_RDWR: we are a writer too, so the FIFO never reports EOF (and
	 * poll() never spins) after an MDA closes it */
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		log_error("%s: %s", path, g_strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		log_error("%s: not a FIFO", path);
		close(fd);
		return -1;
	}
	return fd;
}

static void drain(int fd)
{
	char buf[512];
	while (read(fd, buf, sizeof buf) > 0)
		;
}

/* SIGHUP (the unit's ExecReload): sercom.conf read again, for the workers
 * forked from now on and the replies the supervisor sends; the exercises
 * are read at each grading anyway, and the ingester rereads the file when
 * it changes. What the running process is built on stays: var/ (the FIFO,
 * the database, the scratch), the slots' uids and their number. A file
 * that does not load, or whose templates are broken, changes nothing: a
 * typo must not stop the grading. */
static void reload(struct runner *r)
{
	GError *err = NULL;
	struct sercom_conf *n = conf_load(r->conf->path, &err);
	if (n && !conf_check_templates(n, &err)) {
		conf_free(n);
		n = NULL;
	}
	if (!n) {
		log_error("SIGHUP: %s: keeping the configuration in use", err->message);
		g_error_free(err);
		return;
	}
	if (strcmp(n->var, r->conf->var) || n->uid_base != r->conf->uid_base) {
		log_error("SIGHUP: %s: [general] var and [sandbox] uid_base change only with a restart "
		          "(systemctl restart sercom-runner): keeping the configuration in use", n->path);
		conf_free(n);
		return;
	}
	if (n->workers != r->conf->workers)
		log_warn("SIGHUP: [general] workers changes only with a restart: still %d", r->nslots);
	conf_free(r->conf);
	r->conf = n;
	/* the sender (it composes the replies) reads the file again too */
	if (r->wake_w >= 0 && write(r->wake_w, (char[]){ WAKE_RELOAD }, 1) < 0 && errno != EAGAIN)
		log_warn("telling the sender to reload: %s", g_strerror(errno));
	log_info("SIGHUP: reloaded %s (exercises are read at each grading)", n->path);
}

static int supervise(struct runner *r)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* the sandboxes of a worker that crashed or was killed are
	 * reparented to us, not to a pid 1 that may never reap them (a
	 * container's): a zombie box init still counts in its pids cgroup and
	 * would make the slot's next box fail to fork */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		log_warn("PR_SET_CHILD_SUBREAPER: %s", g_strerror(errno));
	r->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int pipefd[2];
	if (r->sig_fd < 0 || r->timer_fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		log_error("signalfd/timerfd/pipe: %s", g_strerror(errno));
		return EX_TEMPFAIL;
	}
	r->stop_r = pipefd[0];
	r->stop_w = pipefd[1];
	r->fifo_fd = open_fifo(r->conf->fifo_path);
	if (r->fifo_fd < 0 || (!r->once && !open_wake_pipe(r)))
		return EX_TEMPFAIL;
	tick_in(r, TICK_S * 1000);

	release_dead_workers(r);
	release(r, NULL);
	if (!r->once)
		reveal_tick(r);
	/* it composes and sends what a previous runner left, and the
	 * final mails reveal_tick queued */
	spawn_sender(r);
	spawn_intake(r);
	spawn_workers(r);

	for (;;) {
		if (busy_slots(r) == 0) {
			if (r->stopping && !r->intake.pid && !r->sender.pid)
				break;
			if (r->once && r->failures > 2 * r->nslots + MAX_TRIES) {
				log_error("workers keep failing: giving up");
				return EX_TEMPFAIL;
			}
			if (r->once && !cooling_down(r)) {
				/* drained: nothing running, nothing claimable */
				GError *err = NULL;
				int64_t q = queue_length(r->store, &err);
				g_clear_error(&err);
				if (q <= 0)
					break;
				spawn_workers(r);
				if (busy_slots(r) == 0) {
					log_error("cannot start a worker%s", all_retired(r) ? ": every slot is retired" : "");
					return EX_TEMPFAIL;
				}
				continue;
			}
		}
		struct pollfd p[3] = {
			{ .fd = r->sig_fd, .events = POLLIN },
			{ .fd = r->fifo_fd, .events = POLLIN },
			{ .fd = r->timer_fd, .events = POLLIN },
		};
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", g_strerror(errno));
			return EX_TEMPFAIL;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(r->sig_fd, &si, sizeof si) == sizeof si) {
				if (si.ssi_signo == SIGCHLD)
					continue;
				if (si.ssi_signo == SIGHUP) {
					reload(r);
					continue;
				}
				stop(r, (int)si.ssi_signo);
			}
			/* SIGCHLD coalesces: reap everything that exited */
			reap(r);
			spawn_workers(r);
			spawn_intake(r);
			spawn_sender(r);
		}
		if (p[1].revents & POLLIN) {
			drain(r->fifo_fd);
			log_debug("poked");
			/* a rejection of the MDA is answered here, a queued attempt
			 * by the worker that grades it */
			if (!r->once)
				wake_sender(r);
			spawn_workers(r);
		}
		if (p[2].revents & POLLIN) {
			uint64_t ticks;
			if (read(r->timer_fd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
				log_warn("timerfd: %s", g_strerror(errno));
			renew_leases(r);
			release(r, NULL);
			if (!r->once) {
				reveal_tick(r);
				wake_sender(r);
				log_metrics(r);
			}
			spawn_workers(r);
			spawn_intake(r);
			spawn_sender(r);
		}
	}
	if (r->once) {
		flush_replies(r, r->store);
		/* after the replies: a final mail waits for them */
		if (reveal_tick(r) > 0)
			flush_replies(r, r->store);
	}
	log_info("stopped");
	return 0;
}

/* The soft limit of descriptors up to the hard one (a service gets 1,024
 * by default; the unit sets LimitNOFILE): a margin for SQLite, the
 * sandbox and the walks of trees (util_rm_rf needs only two whatever the
 * depth; see the attack it names). The boxes get their own limit. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		log_warn("RLIMIT_NOFILE: %s", g_strerror(errno));
}

int main(int argc, char **argv)
{
	/* the database, attempts, reports and replies are the students': the
	 * instance owner's and its group's only (the workers chown what the
	 * sandbox uid must write) */
	umask(027);
	gchar *conf_path = NULL;
	gint jobs = 0;
	gboolean once = FALSE, verbose = FALSE, version = FALSE;
	GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "instance configuration", "CONF" },
		{ "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "worker processes (default: [general] workers)", "N" },
		{ "once", 0, 0, G_OPTION_ARG_NONE, &once, "grade everything queued, send the replies, exit", NULL },
		{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "log details to stderr too", NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, "print the version", NULL },
		{ NULL },
	};
	GOptionContext *ctx = g_option_context_new("- grade queued sercom attempts");
	g_option_context_add_main_entries(ctx, entries, NULL);
	GError *err = NULL;
	bool parsed = g_option_context_parse(ctx, &argc, &argv, &err);
	g_option_context_free(ctx);
	if (!parsed) {
		fprintf(stderr, "sercom-runner: %s\n", err->message);
		g_error_free(err);
		return EX_USAGE;
	}
	if (version) {
		printf("sercom-runner %s\n", SERCOM_VERSION);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "sercom-runner: unexpected argument: %s\n", argv[1]);
		return EX_USAGE;
	}
	/* the daemon logs to syslog (and stderr with -v); --once is a command
	 * run by hand, by cron or by tests: its errors belong on stderr */
	log_init("sercom-runner", !once, verbose);
	struct runner r = { .once = once, .stop_w = -1, .stop_r = -1, .self = getpid(), .wake_r = -1, .wake_w = -1,
	                    .intake = { .name = "ingester" }, .sender = { .name = "sender" } };
	r.conf = conf_load(conf_path, &err);
	if (!r.conf) {
		/* started by hand or by systemd: say it where it is seen */
		fprintf(stderr, "sercom-runner: %s\n", err->message);
		log_error("%s", err->message);
		g_error_free(err);
		g_free(conf_path);
		return EX_TEMPFAIL;
	}
	/* a course without its reply texts would answer no one: refused
	 * here, once, not once per reply in the log */
	if (!conf_check_templates(r.conf, &err)) {
		log_error("%s", err->message);   /* errors always reach stderr too */
		g_error_free(err);
		conf_free(r.conf);
		g_free(conf_path);
		return EX_CONFIG;
	}
	r.nslots = jobs > 0 ? jobs : r.conf->workers > 0 ? r.conf->workers : 1;
	if (r.nslots > MAX_SLOTS) {
		log_error("-j %d: at most %d workers", r.nslots, MAX_SLOTS);
		return EX_USAGE;
	}
	if (gethostname(r.host, sizeof r.host - 1) < 0)
		strcpy(r.host, "localhost");
	/* the answers must stay out of every sandbox: an exercise dir under a
	 * read-only bind would let a program read tests/NAME/stdout (var/ is
	 * checked by conf_load: a configuration error) */
	const char *bind = conf_bind_exposing(r.conf, r.conf->exercises);
	if (bind)
		log_warn("%s: the exercises dir and the sandbox bind %s contain one another: "
		         "programs can read the expected outputs; move it", r.conf->exercises, bind);
	raise_nofile();
	int rc = util_mkdir_p(r.conf->attempts_dir, 0755);
	if (rc < 0) {
		log_error("%s: %s", r.conf->attempts_dir, g_strerror(-rc));
		return EX_TEMPFAIL;
	}
	/* the mount point of the workers' scratch tmpfs (each its own) */
	r.scratch = g_build_filename(r.conf->var, "work", NULL);
	if ((rc = util_mkdir_p(r.scratch, 0700)) < 0) {
		log_error("%s: %s", r.scratch, g_strerror(-rc));
		return EX_TEMPFAIL;
	}
	r.store = store_open(r.conf->db_path, 30000, &err);
	if (!r.store) {
		fprintf(stderr, "sercom-runner: %s\n", err->message);
		log_error("%s", err->message);
		return EX_TEMPFAIL;
	}
	/* what a previous runner killed with SIGKILL left: its slots'
	 * cgroups */
	for (int i = 0; i < r.nslots; i++)
		sandbox_release_slot(i, r.conf->uid_base);
	/* --once: the mail waiting in var/mail/new first, recorded by the
	 * same unprivileged ingester as the daemon's (the daemon's child
	 * does it itself) */
	g_auto(GStrv) waiting = once ? intake_list(r.conf, "new") : NULL;
	if (waiting && *waiting && !intake_run(r.conf, NULL, NULL, &err)) {
		log_error("recording var/mail/new: %s", err->message);
		g_clear_error(&err);
	}
	log_info("started: %d worker slot(s)%s", r.nslots, once ? ", once" : "");
	int ret = supervise(&r);
	store_close(r.store);
	conf_free(r.conf);
	g_free(r.scratch);
	g_free(conf_path);
	return ret;
}
