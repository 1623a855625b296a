/*
 * main.c - the outpost daemon: command line, start-up order, signals.
 *
 * Start-up: load and check the config; open the milter socket and set its
 * owner and mode; write the pid file; drop privileges; run the milter on its
 * own thread.  The main thread waits for signals: SIGHUP reloads (a bad new
 * config is refused and logged, the old one keeps serving), SIGTERM/SIGINT
 * stop taking connections and wait up to milter.shutdown_timeout for the
 * messages in flight.
 * Only the main thread takes signals (every other thread blocks them); a
 * reload runs on a reload thread, so that the signal loop never waits.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libconfig.h>
#include <openssl/crypto.h>

#include "daemon.h"
#include "milter_int.h"
#include "ops.h"
#include "outpost/event.h"
#include "outpost/log.h"
#include "outpost/metrics.h"
#include "outpost/pipeline.h"

#define DEFAULT_CONFIG SYSCONFDIR "/outpost/outpost.conf"

struct opts {
	const char *config;
	bool check, foreground, print, print_help;
	bool config_given; /* -c was used */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: outpost [-c FILE] [-f] [-n] [-p [-v]] [-V] [-h]\n"
		"  -c FILE  configuration file (default %s)\n"
		"  -f       stay in the foreground and log to stderr\n"
		"  -n       check the configuration and exit\n"
		"  -p       print every setting with its value (defaults without -c)\n"
		"  -v       with -p: explain each setting\n"
		"  -V       print the version and the libraries' versions\n"
		"  -h       this help\n",
		DEFAULT_CONFIG);
}

static void version(void)
{
	char mv[64];

	op_milter_version(mv, sizeof(mv));
	printf("outpost %s\n", PACKAGE_VERSION);
	printf("milter: %s\n", mv);
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("libconfig %d.%d.%d\n", LIBCONFIG_VER_MAJOR, LIBCONFIG_VER_MINOR,
	       LIBCONFIG_VER_REVISION);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int ch;

	o->config = DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, "c:fnpvVh")) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			o->config_given = true;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'n':
			o->check = true;
			break;
		case 'p':
			o->print = true;
			break;
		case 'v':
			o->print_help = true;
			break;
		case 'V':
			version();
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static struct {
	const char *path;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool wanted, quit;
	unsigned generation;
} reloader = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void warn_static(const char *key)
{
	op_log_warning("reload: %s changed; the new value takes effect after a restart", key);
}

static pthread_mutex_t reload_run_lock = PTHREAD_MUTEX_INITIALIZER;

/* Load the file again; publish it, or keep the old snapshot and say why
 * (also into why, when not NULL).  SIGHUP's thread and the control socket
 * (op_reload_fn) both run it, one at a time.  0 or -1. */
static int reload_once(char *why, size_t whysize)
{
	char err[512];
	struct op_config *old, *c;

	pthread_mutex_lock(&reload_run_lock);
	old = op_config_current();
	c = op_config_load(reloader.path, reloader.generation + 1, err, sizeof(err));
	if (c == NULL) {
		op_log_error("reload refused, generation %u keeps serving: %s", reloader.generation,
			     err);
		if (why != NULL)
			snprintf(why, whysize, "%s", err);
		op_metrics_reload(false);
		op_config_unref(&old);
		pthread_mutex_unlock(&reload_run_lock);
		return -1;
	}
	op_config_static_changes(old, c, warn_static);
	reloader.generation++;
	op_log_set_level(c->log_level);
	op_config_set_current(c);
	op_log_notice("reload: configuration generation %u from %s is active", c->generation,
		      c->path);
	op_metrics_reload(true);
	op_config_unref(&c);
	op_config_unref(&old);
	pthread_mutex_unlock(&reload_run_lock);
	return 0;
}

/* The reload thread: runs reloads the signal loop asks for. */
static void *reload_thread(void *arg)
{
	pthread_mutex_lock(&reloader.lock);
	for (;;) {
		while (!reloader.wanted && !reloader.quit)
			pthread_cond_wait(&reloader.cond, &reloader.lock);
		if (reloader.quit)
			break;
		reloader.wanted = false;
		pthread_mutex_unlock(&reloader.lock);
		reload_once(NULL, 0);
		pthread_mutex_lock(&reloader.lock);
	}
	pthread_mutex_unlock(&reloader.lock);
	return arg;
}

static void reload_request(bool quit)
{
	pthread_mutex_lock(&reloader.lock);
	if (quit)
		reloader.quit = true;
	else
		reloader.wanted = true;
	pthread_cond_signal(&reloader.cond);
	pthread_mutex_unlock(&reloader.lock);
}

static volatile int milter_done;

static void *milter_thread(void *arg)
{
	int r = op_milter_run();

	if (r != 0)
		op_log_error("the milter loop ended with an error");
	__atomic_store_n(&milter_done, 1, __ATOMIC_RELEASE);
	kill(getpid(), SIGTERM); /* wake the signal loop if it ended on its own */
	return arg;
}

/* Stop taking connections, then wait for messages in flight; the
 * workers go on serving their connections meanwhile. */
static void drain(long long timeout_ms)
{
	struct timespec start, now, nap = {0, 20 * 1000000}, flush = {0, 100 * 1000000};
	long long waited = 0;

	if (op_milter_close_listener() < 0)
		op_log_errno(LOG_ERR,
			     "cannot close the milter socket; it takes connections until exit");
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (op_milter_inflight_msgs() > 0 && waited < timeout_ms) {
		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited =
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
	}
	if (op_milter_inflight_msgs() > 0)
		op_log_warning(
		    "stopping with %u messages unfinished after %lld ms: the MTA applies "
		    "its milter_default_action to them",
		    op_milter_inflight_msgs(), waited);
	else {
		/* The last reply is written after our callback returns. */
		nanosleep(&flush, NULL);
		op_log_notice("stopped after %lld ms; no message in flight", waited);
	}
}

/* Wait for signals until asked to stop.  Returns the stop signal. */
static int signal_loop(const sigset_t *set)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(set, &si);

		if (sig < 0) {
			if (errno == EINTR)
				continue;
			op_log_errno(LOG_ERR, "sigwaitinfo");
			return SIGTERM;
		}
		if (sig == SIGHUP)
			reload_request(false);
		else if (sig == SIGUSR1)
			op_event_reopen(); /* logrotate moved the event file */
		else if (sig == SIGTERM || sig == SIGINT)
			return sig;
	}
}

/* Load the config for -n/-p or for the daemon; NULL after printing why. */
static struct op_config *load_or_say(const struct opts *o, bool explicit_config)
{
	char err[512];
	const char *path = (o->print && !explicit_config) ? "/dev/null" : o->config;
	struct op_config *c = op_config_load(path, 1, err, sizeof(err));

	if (c == NULL)
		fprintf(stderr, "%s\n", err);
	return c;
}

/* Socket, daemon, pid file, privileges: the order matters (see top). */
static int start_daemon(const struct opts *o, struct op_config *c)
{
	char err[512];
	const char *path = op_milter_socket_path(c->milter_socket);

	if (op_milter_setup(c, err, sizeof(err)) < 0) {
		op_log_error("%s", err);
		return -1;
	}
	if (path && op_daemon_socket_perms(path, c->milter_socket_owner, c->milter_socket_group,
					   c->milter_socket_mode) < 0)
		return -1;
	if (op_ctl_server_open(c, err, sizeof(err)) < 0)
		op_log_warning("%s: outpostctl status and reload cannot reach this daemon", err);
	if (op_metrics_http_open(c, err, sizeof(err)) < 0)
		op_log_error("%s: no metrics endpoint", err);
	if (!o->foreground && daemon(0, 0) < 0) {
		op_log_errno(LOG_ERR, "daemon");
		return -1;
	}
	if (op_daemon_pidfile(c->milter_pidfile, c->milter_user) < 0 ||
	    op_daemon_drop(c->milter_user, c->milter_group) < 0)
		return -1;
	return 0;
}

static void cleanup_files(const struct op_config *c)
{
	const char *path = op_milter_socket_path(c->milter_socket);

	if (path != NULL && unlink(path) < 0 && errno != ENOENT)
		op_log_errno(LOG_WARNING, "unlink %s", path);
	if (c->milter_pidfile[0] && unlink(c->milter_pidfile) < 0 && errno != ENOENT)
		op_log_errno(LOG_WARNING, "unlink %s", c->milter_pidfile);
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct op_config *c;
	pthread_t mt, rt;
	sigset_t set;
	int sig;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	op_log_open("outpost", o.foreground || o.check || o.print);
	c = load_or_say(&o, o.config_given);
	if (c == NULL)
		return 1;
	if (o.check || o.print) {
		if (o.print)
			op_config_print(c, o.print_help, stdout);
		else
			printf("configuration OK\n");
		op_config_unref(&c);
		return 0;
	}
	op_log_set_level(c->log_level);
	op_config_set_current(c);
	op_metrics_default(); /* its start time is the daemon's */
	reloader.path = o.config;
	reloader.generation = c->generation;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (start_daemon(&o, c) < 0)
		return 1;
	op_event_start(); /* after daemon() and the privilege drop: it opens event.file */
	op_metrics_http_start();
	op_ctl_server_start(reload_once);
	if (pthread_create(&rt, NULL, reload_thread, NULL) != 0 ||
	    pthread_create(&mt, NULL, milter_thread, NULL) != 0) {
		op_log_error("cannot start threads");
		return 1;
	}
	op_log_notice("outpost %s started: socket %s, config %s generation %u", PACKAGE_VERSION,
		      c->milter_socket, c->path, c->generation);
	sig = signal_loop(&set);
	if (!__atomic_load_n(&milter_done, __ATOMIC_ACQUIRE))
		op_log_notice("signal %d: stopping", sig);
	reload_request(true);
	pthread_join(rt, NULL);
	{
		struct op_config *now = op_config_current();

		drain(now->milter_shutdown_timeout_ms);
		op_event_stop(5000);
		op_config_unref(&now);
	}
	op_ctl_server_stop();
	op_metrics_http_stop();
	cleanup_files(c);
	op_config_set_current(NULL);
	op_config_unref(&c);
	return 0;
}
