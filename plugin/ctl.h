/*
 * ctl.h - outpostctl's commands (plugin/outpostctl.c dispatches them).
 * Each command gets its arguments after the command name and the common
 * options, prints its result (JSON with --json), and returns the process
 * exit status: 0 success, 1 the check or operation failed, 2 usage or
 * configuration error.
 */
#ifndef OUTPOST_CTL_H
#define OUTPOST_CTL_H

#include <stdbool.h>

struct ctl_opts {
	const char *config; /* -c FILE */
	bool json;	    /* --json */
};

int ctl_keygen(const struct ctl_opts *o, int argc, char **argv);
int ctl_keycheck(const struct ctl_opts *o, int argc, char **argv);
int ctl_rate(const struct ctl_opts *o, int argc, char **argv);	 /* ctl_rate.c */
int ctl_hold(const struct ctl_opts *o, int argc, char **argv);	 /* ctl_rate.c */
int ctl_unsub(const struct ctl_opts *o, int argc, char **argv);	 /* ctl_track.c */
int ctl_trace(const struct ctl_opts *o, int argc, char **argv);	 /* ctl_track.c */
int ctl_status(const struct ctl_opts *o, int argc, char **argv); /* ctl_daemon.c */
int ctl_reload(const struct ctl_opts *o, int argc, char **argv); /* ctl_daemon.c */

/* Print s as a JSON string (quotes included) on stdout. */
void ctl_json_str(const char *s);

#endif
