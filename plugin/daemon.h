/*
 * daemon.h - process chores run once at start (daemon.c).
 */
#ifndef OUTPOST_DAEMON_H
#define OUTPOST_DAEMON_H

/* chown/chmod the unix socket at path.  0, or -1 (logged). */
int op_daemon_socket_perms(const char *path, const char *owner, const char *group, long long mode);

/* Become user (and group, or the user's primary group); no-op for "".
 * 0, or -1 (logged). */
int op_daemon_drop(const char *user, const char *group);

/* Write our pid into path ("" = none), owned by user when we are root.
 * 0, or -1 (logged). */
int op_daemon_pidfile(const char *path, const char *user);

#endif
