/*
 * daemon.c - process-level chores: socket ownership, privilege drop, pid
 * file.  Called from main.c before the milter starts; logs its own errors
 * (this is not leaf code: it runs once at start).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "outpost/log.h"

int op_daemon_socket_perms(const char *path, const char *owner, const char *group, long long mode)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (owner[0]) {
		struct passwd *pw = getpwnam(owner);

		if (pw == NULL)
			return op_log_error("milter.socket_owner: no such user \"%s\"", owner), -1;
		uid = pw->pw_uid;
	}
	if (group[0]) {
		struct group *gr = getgrnam(group);

		if (gr == NULL)
			return op_log_error("milter.socket_group: no such group \"%s\"", group), -1;
		gid = gr->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) < 0)
		return op_log_errno(LOG_ERR, "chown %s", path), -1;
	if (chmod(path, (mode_t)mode) < 0)
		return op_log_errno(LOG_ERR, "chmod %s", path), -1;
	return 0;
}

int op_daemon_drop(const char *user, const char *group)
{
	struct passwd *pw;
	gid_t gid;

	if (user[0] == '\0')
		return 0;
	pw = getpwnam(user);
	if (pw == NULL)
		return op_log_error("milter.user: no such user \"%s\"", user), -1;
	gid = pw->pw_gid;
	if (group[0]) {
		struct group *gr = getgrnam(group);

		if (gr == NULL)
			return op_log_error("milter.group: no such group \"%s\"", group), -1;
		gid = gr->gr_gid;
	}
	if (getuid() == pw->pw_uid && getgid() == gid)
		return 0;
	if (initgroups(pw->pw_name, gid) < 0 || setgid(gid) < 0 || setuid(pw->pw_uid) < 0)
		return op_log_errno(LOG_ERR, "cannot run as %s", user), -1;
	if (setuid(0) == 0) /* paranoia: dropping must be permanent */
		return op_log_error("privileges could be regained after dropping them"), -1;
	op_log_info("running as user %s (uid %u, gid %u)", user, (unsigned)pw->pw_uid,
		    (unsigned)gid);
	return 0;
}

int op_daemon_pidfile(const char *path, const char *user)
{
	char line[32];
	int fd, n;

	if (path[0] == '\0')
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return op_log_errno(LOG_ERR, "pid file %s", path), -1;
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (write(fd, line, (size_t)n) != n) {
		op_log_errno(LOG_ERR, "pid file %s", path);
		close(fd);
		return -1;
	}
	if (user[0] && getuid() == 0) {
		struct passwd *pw = getpwnam(user);

		/* So the unprivileged daemon can remove it at exit. */
		if (pw != NULL && fchown(fd, pw->pw_uid, (gid_t)-1) < 0)
			op_log_errno(LOG_WARNING, "chown pid file %s", path);
	}
	close(fd);
	return 0;
}
