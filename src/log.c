/* log: stderr and syslog (facility mail) output. See log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static const char *log_prog = "sercom";
static bool log_syslog;
static bool log_verbose;
static bool log_stderr = true;

const char *log_syslog_socket(void)
{
	const char *p = getenv("SERCOM_SYSLOG_SOCKET");
	return p && *p ? p : "/dev/log";
}

bool log_syslog_present(void)
{
	struct stat st;
	return stat(log_syslog_socket(), &st) == 0 && S_ISSOCK(st.st_mode);
}

void log_init(const char *prog, bool use_syslog, bool verbose)
{
	log_prog = prog;
	log_syslog = use_syslog;
	log_verbose = verbose;
	/* a daemon or an MDA run by the MTA writes stderr nobody reads unless
	 * asked; interactive use always sees it. Without a syslog daemon
	 * (a container, a minimal install) syslog(3) drops every line: stderr
	 * then, which systemd's journal or the service's output keeps (README
	 * "Where the log is") */
	log_stderr = verbose || !use_syslog || isatty(2) || !log_syslog_present();
	if (use_syslog)
		openlog(prog, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

static void log_v(int prio, const char *tag, const char *fmt, va_list ap)
{
	if (prio == LOG_DEBUG && !log_verbose)
		return;
	if (log_syslog) {
		va_list ap2;
		va_copy(ap2, ap);
		vsyslog(prio, fmt, ap2);
		va_end(ap2);
	}
	/* errors always reach stderr: under postfix local(8) and pipe(8) the
	 * command's output is the deferral reason an admin sees in mailq */
	if (log_stderr || prio <= LOG_WARNING) {
		fprintf(stderr, "%s: %s", log_prog, tag);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
}

#define LOG_FN(name, prio, tag) \
	void name(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		log_v(prio, tag, fmt, ap); \
		va_end(ap); \
	}

LOG_FN(log_debug, LOG_DEBUG, "debug: ")
LOG_FN(log_info, LOG_INFO, "")
LOG_FN(log_warn, LOG_WARNING, "warning: ")
LOG_FN(log_error, LOG_ERR, "error: ")

