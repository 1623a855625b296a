/*
 * test_rate_store.c - the embedded store (plugin/store_lmdb.c through the
 * interface of include/outpost/store.h) on a fake clock: one check of
 * several keys, the refused attempt that consumes nothing, holds,
 * refunds, the operator's scan/reset, reclaiming keys at rest, the file
 * kept across a close, two processes sharing one file, and a full disk
 * (as root: a small tmpfs in a mount namespace of a child process).
 */
#include "config.h"

#include "unit.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "outpost/gcra.h"
#include "outpost/store.h"

#define T0  1700000000000000LL
#define SEC 1000000LL

static int64_t fake_now = T0;

static int64_t fake_clock(void)
{
	return fake_now;
}

static char dir[64];

static struct op_store *open_store(const char *name, long long map)
{
	char path[128];
	struct op_store_conf sc = {0};
	const char *err = NULL;
	struct op_store *st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	sc.kind = OP_STORE_LMDB;
	sc.lmdb_path = path;
	sc.lmdb_map_size = map;
	st = op_store_get(&sc, &err);
	WANT_INT("op_store_get", st != NULL, 1);
	return st;
}

/* A rule as the module makes it: "LIMIT/WINDOW" with burst = limit. */
static void item(struct op_store_item *it, const char *key, const char *rate, uint64_t n,
		 bool blocking)
{
	struct op_gcra_rate r;
	const char *err;

	memset(it, 0, sizeof(*it));
	assert_int_equal(op_gcra_parse(rate, &r, &err), 0);
	r.burst = r.limit;
	it->key = key;
	it->cost = op_gcra_cost(&r, n);
	it->tau = op_gcra_tolerance(&r);
	it->blocking = blocking;
}

static void check(struct op_store *st, struct op_store_check *c)
{
	const char *err = NULL;
	int rc = op_store_check(st, c, &err);

	if (rc != 0)
		print_error("op_store_check: %s\n", err ? err : "?");
	WANT_INT("op_store_check", rc, 0);
}

/* Steps of one scenario: a check of up to 3 items at a time. */
struct row {
	const char *label;
	int64_t at;
	struct {
		const char *key, *rate;
		uint64_t n;
		bool blocking;
	} it[3];
	size_t n;
	bool refused;
	bool allowed[3];
};

/* clang-format off */
static const struct row rows[] = {
	{"two rules pass", 0, {{"login:a#m", "2/1m", 1, true}, {"login:a#d", "3/1d", 1, true}}, 2, false, {true, true}},
	{"both again", 0, {{"login:a#m", "2/1m", 1, true}, {"login:a#d", "3/1d", 1, true}}, 2, false, {true, true}},
	{"minute full: refused, the day not counted", 0, {{"login:a#m", "2/1m", 1, true}, {"login:a#d", "3/1d", 1, true}}, 2, true, {false, true}},
	{"a minute later: the day has one left", 60 * SEC, {{"login:a#m", "2/1m", 1, true}, {"login:a#d", "3/1d", 1, true}}, 2, false, {true, true}},
	{"the day is full", 60 * SEC + 30 * SEC, {{"login:a#m", "2/1m", 1, true}, {"login:a#d", "3/1d", 1, true}}, 2, true, {true, false}},
	{"a non-blocking rule over its limit does not refuse", 60 * SEC + 30 * SEC, {{"login:a#m", "2/1m", 1, true}, {"login:a#d", "3/1d", 1, false}}, 2, false, {true, false}},
	{"another key is separate", 60 * SEC + 30 * SEC, {{"login:b#m", "2/1m", 2, true}}, 1, false, {true}},
};
/* clang-format on */

static void test_store_lmdb_checks_several_keys_at_once(void **state)
{
	struct op_store *st = open_store("a.mdb", 1 << 20);

	(void)state;
	for (size_t r = 0; r < NROWS(rows); r++) {
		struct op_store_item items[3];
		struct op_store_check c = {0};

		fake_now = T0 + rows[r].at;
		for (size_t i = 0; i < rows[r].n; i++)
			item(&items[i], rows[r].it[i].key, rows[r].it[i].rate, rows[r].it[i].n,
			     rows[r].it[i].blocking);
		c.items = items;
		c.nitems = rows[r].n;
		check(st, &c);
		WANT_INT(rows[r].label, c.refused, rows[r].refused);
		WANT_INT(rows[r].label, c.now, fake_now);
		for (size_t i = 0; i < rows[r].n; i++)
			WANT_INT(rows[r].label, items[i].allowed, rows[r].allowed[i]);
	}
	op_store_put(&st);
}

struct collect {
	char keys[16][128];
	int level[16];
	size_t n;
};

static int collect_cb(const struct op_store_entry *e, void *arg)
{
	struct collect *c = arg;

	if (c->n < 16) {
		snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s", e->key);
		c->level[c->n] = op_gcra_level(e->tat, e->now, e->tau);
		c->n++;
	}
	return 0;
}

static int hold_cb(const struct op_store_hold *h, void *arg)
{
	struct collect *c = arg;

	if (c->n < 16)
		snprintf(c->keys[c->n++], sizeof(c->keys[0]), "%s %s %lld", h->account, h->why,
			 (long long)(h->since_us - T0));
	return 0;
}

static void test_store_lmdb_holds_refunds_scans_and_resets(void **state)
{
	struct op_store *st = open_store("b.mdb", 1 << 20);
	struct op_store_item items[2];
	struct op_store_check c = {0};
	struct collect col = {0};
	const char *err;
	size_t n;
	bool found;

	(void)state;
	fake_now = T0;
	item(&items[0], "login:carol#h", "1/1h", 1, false);
	items[0].hold_on_deny = true;
	c.items = items;
	c.nitems = 1;
	c.account = "login:carol";
	c.query_held = true;
	c.hold_why = "rule h";
	check(st, &c);
	WANT_INT("first passes", items[0].allowed, 1);
	WANT_INT("not held yet", c.held || c.now_held, 0);
	fake_now = T0 + 5 * SEC;
	check(st, &c);
	WANT_INT("second is over", items[0].allowed, 0);
	WANT_INT("and holds the account", c.now_held, 1);
	fake_now = T0 + 7200 * SEC;
	check(st, &c);
	WANT_INT("held: nothing is checked", c.held, 1);
	assert_int_equal(op_store_hold_list(st, hold_cb, &col, &err), 0);
	WANT_SIZE("held accounts", col.n, 1);
	WANT_STR("held account", col.keys[0], "login:carol rule h 5000000");
	assert_int_equal(op_store_hold_release(st, "login:carol", &found, &err), 0);
	WANT_INT("released", found, 1);
	assert_int_equal(op_store_hold_release(st, "login:carol", &found, &err), 0);
	WANT_INT("released twice", found, 0);
	check(st, &c);
	WANT_INT("after release: checked again", c.held == false && items[0].allowed, 1);

	/* refund: three recipients counted, the transaction aborted */
	fake_now = T0 + 10000 * SEC;
	item(&items[0], "login:dave#r", "3/1h", 1, true);
	c.account = NULL;
	for (int i = 0; i < 3; i++)
		check(st, &c);
	check(st, &c);
	WANT_INT("fourth refused", c.refused, 1);
	assert_int_equal(op_store_refund(st, items, 1, &err), 0);
	assert_int_equal(op_store_refund(st, items, 1, &err), 0);
	check(st, &c);
	WANT_INT("after a refund of two: passes", items[0].allowed, 1);

	/* the operator's view: exact key, key prefix, everything */
	memset(&col, 0, sizeof(col));
	assert_int_equal(op_store_scan(st, "login:dave", collect_cb, &col, &err), 0);
	WANT_SIZE("scan login:dave", col.n, 1);
	WANT_STR("scan login:dave", col.keys[0], "login:dave#r");
	WANT_INT("level of login:dave#r", col.level[0], 666);
	memset(&col, 0, sizeof(col));
	assert_int_equal(op_store_scan(st, "login:dav", collect_cb, &col, &err), 0);
	WANT_SIZE("scan login:dav (not a key)", col.n, 0);
	memset(&col, 0, sizeof(col));
	assert_int_equal(op_store_scan(st, "login:dave#r", collect_cb, &col, &err), 0);
	WANT_SIZE("scan exact", col.n, 1);
	memset(&col, 0, sizeof(col));
	assert_int_equal(op_store_scan(st, NULL, collect_cb, &col, &err), 0);
	WANT_SIZE("scan all (login:carol#h, login:dave#r)", col.n, 2);
	assert_int_equal(op_store_reset(st, "login:dave", &n, &err), 0);
	WANT_SIZE("reset", n, 1);
	check(st, &c);
	WANT_INT("after reset: passes", items[0].allowed, 1);
	op_store_put(&st);
}

/* Keys at rest are reclaimed: a 1 MiB file takes far more keys over time
 * than it could hold at once. */
static void test_store_lmdb_reclaims_keys_at_rest(void **state)
{
	struct op_store *st = open_store("c.mdb", 1 << 20);
	char key[64];
	struct op_store_item it;
	struct op_store_check c = {0};
	struct collect col = {0};
	const char *err = NULL;
	int failures = 0;

	(void)state;
	c.items = &it;
	c.nitems = 1;
	for (int round = 0; round < 20; round++) {
		fake_now = T0 + round * 120 * SEC;
		for (int i = 0; i < 4000; i++) {
			snprintf(key, sizeof(key), "client_ip:10.%d.%d.0/24#relay", round, i);
			item(&it, key, "10/1m", 1, true);
			if (op_store_check(st, &c, &err) != 0)
				failures++;
		}
	}
	if (failures)
		print_error("last error: %s\n", err);
	WANT_INT("checks failed on a full map", failures, 0);
	assert_int_equal(op_store_scan(st, NULL, collect_cb, &col, &err), 0);
	WANT_SIZE("counters in use (the last round's, listed up to 16)", col.n, 16);
	op_store_put(&st);
}

/* A quota survives closing and opening the file (a restart), and two
 * processes on one file share it. */
static void test_store_lmdb_is_kept_and_shared_between_processes(void **state)
{
	struct op_store *st = open_store("d.mdb", 1 << 20);
	struct op_store_item it;
	struct op_store_check c = {0};
	int allowed = 0, status = 0, child_allowed;
	pid_t pid;

	(void)state;
	fake_now = T0;
	item(&it, "login:erin#day", "10/1d", 1, true);
	c.items = &it;
	c.nitems = 1;
	for (int i = 0; i < 4; i++)
		check(st, &c);
	op_store_put(&st); /* "restart" */
	st = open_store("d.mdb", 1 << 20);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct op_store *cs =
		    open_store("d.mdb", 1 << 20); /* the child's own environment */
		const char *err;
		int n = 0;

		op_store_put(&st); /* never opened in the parent: nothing crosses the fork */
		for (int i = 0; i < 10; i++)
			if (op_store_check(cs, &c, &err) == 0 && it.allowed)
				n++;
		op_store_put(&cs);
		_exit(n);
	}
	for (int i = 0; i < 10; i++) {
		check(st, &c);
		allowed += it.allowed;
	}
	waitpid(pid, &status, 0);
	child_allowed = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	WANT_INT("parent + child after 4 before the restart", allowed + child_allowed, 6);
	op_store_put(&st);
}

/* The child of the full-disk test: fill a 6 MiB tmpfs with counters of
 * a 64 MiB map.  Exit 0 when the checks failed with ENOSPC and worked
 * again once the disk grew; 77 when it may not mount; else 1 with why on
 * stderr.  A page of the map written without disk blocks would end it
 * with SIGBUS instead. */
static int full_disk_child(void)
{
	char mnt[128], key[64];
	struct op_store *st;
	struct op_store_item it;
	struct op_store_check c = {0};
	struct op_store_conf sc = {0};
	const char *err = NULL;
	long ok = 0;

	snprintf(mnt, sizeof(mnt), "%s/full", dir);
	if (unshare(CLONE_NEWNS) < 0)
		return errno == EPERM ? 77 : 1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mkdir(mnt, 0700) < 0 ||
	    mount("tmpfs", mnt, "tmpfs", 0, "size=6m") < 0)
		return perror("mount tmpfs"), 1;
	snprintf(mnt + strlen(mnt), sizeof(mnt) - strlen(mnt), "/rate.mdb");
	sc.kind = OP_STORE_LMDB;
	sc.lmdb_path = mnt;
	sc.lmdb_map_size = 64 << 20;
	if ((st = op_store_get(&sc, &err)) == NULL)
		return fprintf(stderr, "open: %s\n", err), 1;
	c.items = &it;
	c.nitems = 1;
	for (; ok < 1000000; ok++) {
		snprintf(key, sizeof(key), "login:user%07ld@example.org#login-day", ok);
		item(&it, key, "10/1d", 1, true);
		if (op_store_check(st, &c, &err) != 0)
			break;
	}
	fprintf(stderr, "%ld checks done, then: %s\n", ok, ok < 1000000 ? err : "(no error)");
	if (ok < 10000 || ok == 1000000 || strstr(err, "No space left") == NULL)
		return fprintf(stderr, "want: over 10000 checks, then No space left on device\n"),
		       1;
	*strrchr(mnt, '/') = '\0';
	if (mount(NULL, mnt, NULL, MS_REMOUNT, "size=128m") < 0)
		return perror("remount tmpfs"), 1;
	if (op_store_check(st, &c, &err) != 0 || !it.allowed)
		return fprintf(stderr, "after the disk grew: %s\n", err ? err : "refused"), 1;
	op_store_put(&st);
	return 0;
}

/* A full disk fails the checks with ENOSPC (the caller answers per
 * actions.on_store_error), never kills the process. */
static void test_store_lmdb_full_disk_fails_checks_never_crashes(void **state)
{
	int status = 0;
	pid_t pid = fork();

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka's handlers would go on with the other tests in here */
		signal(SIGBUS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		_exit(full_disk_child());
	}
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		skip(); /* not root: no tmpfs to fill */
	if (WIFSIGNALED(status))
		print_error("the child died of signal %d (%s)\n", WTERMSIG(status),
			    strsignal(WTERMSIG(status)));
	WANT_INT("the child's exit status (its stderr says why)",
		 WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_rate_store.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	op_store_lmdb_set_clock(fake_clock);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_store_lmdb_checks_several_keys_at_once),
	    cmocka_unit_test(test_store_lmdb_holds_refunds_scans_and_resets),
	    cmocka_unit_test(test_store_lmdb_reclaims_keys_at_rest),
	    cmocka_unit_test(test_store_lmdb_is_kept_and_shared_between_processes),
	    cmocka_unit_test(test_store_lmdb_full_disk_fails_checks_never_crashes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
