/* log: messages to stderr (interactive) and syslog (daemons, facility mail).
 * Library code logs and returns errors; only main() decides to exit. */
#ifndef SERCOM_LOG_H
#define SERCOM_LOG_H

#include <stdbool.h>

/* The syslog socket (/dev/log; $SERCOM_SYSLOG_SOCKET names another for
 * tests) and whether a syslog daemon listens there. */
const char *log_syslog_socket(void);
bool log_syslog_present(void);
/* Sets the program name; stderr as well when there is no syslog socket; syslog when use_syslog, stderr always when verbose
 * or when stderr is a terminal. */
void log_init(const char *prog, bool use_syslog, bool verbose);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));


#endif
