/* doctor: `sercom doctor`, the instance checked the way a new sysadmin
 * would need it checked (README "Installing for a real course"): the
 * config, the templates, the exercises, the permissions of var/ against
 * the user the MTA delivers as, the postfix route to sercom-deliver, the
 * runner, the log. Each problem is printed with the command that fixes
 * it. */
#ifndef SERCOM_DOCTOR_H
#define SERCOM_DOCTOR_H

#include "conf.h"
#include <glib.h>

/* The first file or directory under dir (dir included) that every user of
 * the machine can read: each directory on the way, its ancestors too, is
 * searchable by others. NULL when none (g_free). */
char *doctor_world_readable(const char *dir);
/* The command that makes the exercises private and still readable by the
 * owner of var/ (the ingester reads them) (g_free). */
char *doctor_fix_world_readable(const struct sercom_conf *c);
/* Runs the checks: c is NULL when the config did not load (conf_err says
 * why). Exit status: 0 nothing wrong, 1 a problem, 64 usage. */
int doctor_main(const char *conf_path, const struct sercom_conf *c, const GError *conf_err,
                int argc, char **argv);

#endif
