/*
 * test_auth_module.c - the auth module (plugin/mod_auth.c) driven through
 * the daemon's pipeline, for what a misbehaving MTA can do to it: end of
 * headers twice for one message.  The DKIM verifiers the module starts are
 * counted by wrapping op_dkimv_new() and op_dkimv_free() at link time
 * (-Wl,--wrap, see Makefile.am): once the message is freed, none may be
 * left.
 */
#include "config.h"

#include "unit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "outpost/config.h"
#include "outpost/dkim_verify.h"
#include "outpost/message.h"
#include "outpost/pipeline.h"
#include "outpost/pool.h"

/* ---- the verifier count (link-time wrappers) ---------------------------- */

int __real_op_dkimv_new(struct op_dkimv_lib *lib, const char *id, struct op_dkimv **v_r,
			const char **err_r);
void __real_op_dkimv_free(struct op_dkimv **v);
int __wrap_op_dkimv_new(struct op_dkimv_lib *lib, const char *id, struct op_dkimv **v_r,
			const char **err_r);
void __wrap_op_dkimv_free(struct op_dkimv **v);

static int live; /* verifiers started and not freed */

int __wrap_op_dkimv_new(struct op_dkimv_lib *lib, const char *id, struct op_dkimv **v_r,
			const char **err_r)
{
	int r = __real_op_dkimv_new(lib, id, v_r, err_r);

	if (r == 0 && *v_r != NULL)
		live++;
	return r;
}

void __wrap_op_dkimv_free(struct op_dkimv **v)
{
	if (v != NULL && *v != NULL)
		live--;
	__real_op_dkimv_free(v);
}

/* ---- the config -------------------------------------------------------------- */

static char keys_path[] = "/tmp/test-auth-keys.XXXXXX";

static struct op_config *load(void)
{
	char path[] = "/tmp/test-auth.XXXXXX", err[512], text[512];
	int fd = mkstemp(path), kfd = mkstemp(keys_path);
	struct op_config *c;
	int n;

	assert_true(fd >= 0 && kfd >= 0);
	close(kfd); /* no keys: verification of a signature would fail, none is sent */
	n = snprintf(text, sizeof(text),
		     "auth: { enabled = true; authserv_id = \"mx.example.net\";\n"
		     "  test_dkim_keys = \"%s\"; };\n",
		     keys_path);
	assert_true(write(fd, text, (size_t)n) == n);
	close(fd);
	c = op_config_load(path, 1, err, sizeof(err));
	unlink(path);
	if (c == NULL) {
		print_error("config: %s\n", err);
		fail();
	}
	return c;
}

/* ---- end of headers twice ------------------------------------------------------ */

static void eoh_twice(const char *label, bool internal, struct op_config *cfg)
{
	struct op_conn conn = {0};
	struct op_msg m = {0};
	struct op_ctx ctx = {0};
	struct op_verdict v;
	struct op_header hdrs[2] = {
	    {.name = "From", .value = " a@example.org"},
	    {.name = "Authentication-Results", .value = " mx.example.net; spf=pass (forged)"},
	};
	size_t deletes = 0;

	conn.client_addr = internal ? "127.0.0.1" : "192.0.2.9";
	conn.client_name = conn.helo = conn.mta_name = "";
	m.pool = op_pool_new();
	m.cfg = cfg;
	m.conn = &conn;
	m.mail_from = "a@example.org";
	m.mail_domain = "example.org";
	m.class = internal ? OP_CLASS_HOST : OP_CLASS_EXTERNAL;
	snprintf(m.queue_id, sizeof(m.queue_id), "Q");
	for (size_t i = 0; i < NROWS(hdrs); i++)
		hdrs[i].value_len = strlen(hdrs[i].value);
	m.hdrs = hdrs;
	m.nhdrs = NROWS(hdrs);
	ctx.conn = &conn;
	ctx.msg = &m;
	live = 0;
	op_pipeline_run(OP_STAGE_EOH, &ctx, &v);
	WANT_INT(label, v.action, OP_ACT_CONTINUE);
	WANT_INT(label, live, internal ? 0 : 1);
	op_pipeline_run(OP_STAGE_EOH, &ctx, &v); /* again: the MTA repeats itself */
	WANT_INT(label, v.action, OP_ACT_CONTINUE);
	WANT_INT(label, live, internal ? 0 : 1);
	for (size_t i = 0; i < m.nedits; i++)
		deletes += m.edits[i].kind == OP_EDIT_DELETE;
	/* the forged header is deleted once: a second deletion of index 1
	 * would take out the next Authentication-Results in the MTA */
	WANT_SIZE(label, deletes, 1);
	op_pipeline_run(OP_STAGE_EOM, &ctx, &v);
	WANT_INT(label, v.action, OP_ACT_CONTINUE);
	op_pipeline_msg_free(&m);
	WANT_INT(label, live, 0);
	op_pool_free(&m.pool);
}

static void test_eoh_twice_leaks_nothing(void **state)
{
	struct op_config *cfg = load();

	(void)state;
	eoh_twice("external client, EOH twice", false, cfg);
	eoh_twice("internal client, EOH twice", true, cfg);
	op_config_unref(&cfg);
	unlink(keys_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eoh_twice_leaks_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
