/*
 * ctl_track.c - `outpostctl unsub verify|make` and `outpostctl trace`.
 *
 * Both work without the daemon.  They read only the keys they need from
 * the configuration file (track.unsubscribe_secrets, track.unsubscribe_ttl,
 * event.file), parsed and bounded by the same table code as the daemon's,
 * so a web endpoint calling `unsub verify` per request neither loads DKIM
 * keys nor needs to read them: give it read access to the configuration
 * (or to the file the secrets are @included from) only.
 *
 * unsub verify prints the token's fields ("valid tenant=... list=...
 * rcpt=... expires=...") and exits 0, or says why it is refused (malformed,
 * bad signature, expired) and exits 1.  trace prints every event line of
 * event.file (and of its rotated copy FILE.1) whose tracking_id or
 * queue_id is the given ID; exit 0 when one was found, 1 otherwise.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config_int.h"
#include "ctl.h"
#include "outpost/buf.h"
#include "outpost/event.h"
#include "outpost/unsub.h"

/* Read the named keys of path into c (defaults for those not set).
 * Returns 0, or -1 after printing why. */
static int read_keys(const char *path, const char *const *names, struct op_config *c)
{
	config_t lc;
	int r = 0;

	config_init(&lc);
	{
		/* @include is relative to the file, as for the daemon */
		char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;

		if (slash != NULL) {
			*slash = '\0';
			config_set_include_dir(&lc, dir[0] ? dir : "/");
		}
		free(dir);
	}
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		fprintf(stderr, "outpostctl: %s:%d: %s\n",
			config_error_file(&lc) ? config_error_file(&lc) : path,
			config_error_line(&lc),
			config_error_type(&lc) == CONFIG_ERR_FILE_IO ? "cannot read the file"
								     : config_error_text(&lc));
		config_destroy(&lc);
		return -1;
	}
	for (size_t i = 0; names[i] && r == 0; i++) {
		const struct op_conf_key *k = op_conftab_find(names[i]);
		const config_setting_t *s = config_lookup(&lc, names[i]);
		const char *err = "";

		if (k == NULL)
			continue;
		r = s ? op_cv_from_setting(k, s, (char *)c + k->offset, &err)
		      : op_cv_from_text(k, k->def, (char *)c + k->offset, &err);
		if (r < 0)
			fprintf(stderr, "outpostctl: %s:%d: %s: %s\n", path,
				s ? config_setting_source_line(s) : 0, names[i], err);
	}
	config_destroy(&lc);
	return r;
}

static void free_keys(const char *const *names, struct op_config *c)
{
	for (size_t i = 0; names[i]; i++) {
		const struct op_conf_key *k = op_conftab_find(names[i]);

		if (k != NULL)
			op_cv_free(k, (char *)c + k->offset);
	}
}

static void print_time(uint64_t t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, n, "%llu", (unsigned long long)t);
}

static void print_unsub(const struct ctl_opts *o, enum op_unsub_status st, const struct op_unsub *u)
{
	char exp[40];

	print_time(u->expires, exp, sizeof(exp));
	if (o->json) {
		printf("{\"valid\":%s,\"status\":", st == OP_UNSUB_VALID ? "true" : "false");
		ctl_json_str(op_unsub_status_name(st));
		if (st == OP_UNSUB_VALID || st == OP_UNSUB_EXPIRED) {
			printf(",\"version\":%u,\"tenant\":", u->version);
			ctl_json_str(u->tenant);
			printf(",\"list\":");
			ctl_json_str(u->list);
			printf(",\"rcpt\":");
			ctl_json_str(u->rcpt);
			printf(",\"expires\":\"%s\",\"expires_unix\":%llu", exp,
			       (unsigned long long)u->expires);
		}
		printf("}\n");
		return;
	}
	if (st != OP_UNSUB_VALID && st != OP_UNSUB_EXPIRED) {
		printf("invalid: %s\n", op_unsub_status_name(st));
		return;
	}
	/* Fields are printed escaped (they were chosen by senders). */
	{
		struct op_buf b;

		op_buf_init(&b, 4096);
		op_buf_printf(&b, "%s version=%u tenant=\"",
			      st == OP_UNSUB_VALID ? "valid" : "expired", u->version);
		op_buf_put_escaped(&b, u->tenant, strlen(u->tenant));
		op_buf_puts(&b, "\" list=\"");
		op_buf_put_escaped(&b, u->list, strlen(u->list));
		op_buf_puts(&b, "\" rcpt=\"");
		op_buf_put_escaped(&b, u->rcpt, strlen(u->rcpt));
		op_buf_printf(&b, "\" expires=%s", exp);
		printf("%s\n", op_buf_str(&b));
		op_buf_free(&b);
	}
}

static const char *const unsub_keys[] = {"track.unsubscribe_secrets", "track.unsubscribe_ttl",
					 NULL};

static int unsub_verify(const struct ctl_opts *o, const struct op_config *c, const char *token)
{
	struct op_unsub u;
	enum op_unsub_status st;

	st = op_unsub_verify(token, (const char *const *)c->track_unsubscribe_secrets.v,
			     c->track_unsubscribe_secrets.n, time(NULL), &u);
	if (st == OP_UNSUB_NO_SECRET) {
		fprintf(stderr, "outpostctl: %s: track.unsubscribe_secrets is empty\n", o->config);
		return 2;
	}
	print_unsub(o, st, &u);
	return st == OP_UNSUB_VALID ? 0 : 1;
}

static int unsub_make(const struct ctl_opts *o, const struct op_config *c, int argc, char **argv)
{
	struct op_unsub u = {0};
	char token[OP_UNSUB_TOKEN_MAX];
	const char *err, *secret;

	if (c->track_unsubscribe_secrets.n == 0) {
		fprintf(stderr, "outpostctl: %s: track.unsubscribe_secrets is empty\n", o->config);
		return 2;
	}
	secret = c->track_unsubscribe_secrets.v[0];
	u.expires = (uint64_t)time(NULL) + (uint64_t)(c->track_unsubscribe_ttl_ms / 1000);
	if (!op_strlcpy(u.tenant, argv[0], sizeof(u.tenant)) ||
	    (argc > 1 && !op_strlcpy(u.list, argv[1], sizeof(u.list))) ||
	    (argc > 2 && !op_strlcpy(u.rcpt, argv[2], sizeof(u.rcpt))) ||
	    op_unsub_encode(&u, secret, strlen(secret), token, sizeof(token), &err) < 0) {
		fprintf(stderr, "outpostctl unsub make: a field is longer than 255 octets\n");
		return 2;
	}
	printf("%s\n", token);
	return 0;
}

int ctl_unsub(const struct ctl_opts *o, int argc, char **argv)
{
	struct op_config c = {0};
	bool verify = argc == 2 && strcmp(argv[0], "verify") == 0;
	bool make = argc >= 2 && argc <= 4 && strcmp(argv[0], "make") == 0;
	int r;

	if (!verify && !make) {
		fprintf(stderr, "usage: outpostctl unsub verify TOKEN\n"
				"       outpostctl unsub make TENANT [LIST [RECIPIENT]]\n");
		return 2;
	}
	if (read_keys(o->config, unsub_keys, &c) < 0)
		return 2;
	r = verify ? unsub_verify(o, &c, argv[1]) : unsub_make(o, &c, argc - 1, argv + 1);
	free_keys(unsub_keys, &c);
	return r;
}

/* Print the lines of path that carry "key":"id" for key tracking_id or
 * queue_id.  Returns how many, or -1 when the file cannot be read. */
static long trace_file(const char *path, const char *id)
{
	struct op_buf want_t, want_q;
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	long found = 0;

	if (f == NULL)
		return -1;
	op_buf_init(&want_t, 4096);
	op_buf_init(&want_q, 4096);
	op_buf_puts(&want_t, "\"tracking_id\":");
	op_json_str(&want_t, id, strlen(id));
	op_buf_puts(&want_q, "\"queue_id\":");
	op_json_str(&want_q, id, strlen(id));
	while (getline(&line, &cap, f) > 0) {
		if (strstr(line, op_buf_str(&want_t)) == NULL &&
		    strstr(line, op_buf_str(&want_q)) == NULL)
			continue;
		fputs(line, stdout);
		found++;
	}
	free(line);
	fclose(f);
	op_buf_free(&want_t);
	op_buf_free(&want_q);
	return found;
}

int ctl_trace(const struct ctl_opts *o, int argc, char **argv)
{
	static const char *const keys[] = {"event.file", NULL};
	struct op_config c = {0};
	const char *files[2], *id;
	char rotated[4096];
	long n = 0, any = 0;
	int readable = 0;

	if (argc == 3 && strcmp(argv[0], "-f") == 0) {
		files[0] = argv[1];
		files[1] = NULL;
		id = argv[2];
	} else if (argc == 1 && argv[0][0] != '-') {
		if (read_keys(o->config, keys, &c) < 0)
			return 2;
		if (c.event_file[0] == '\0') {
			fprintf(stderr, "outpostctl trace: %s sets no event.file\n", o->config);
			free_keys(keys, &c);
			return 2;
		}
		snprintf(rotated, sizeof(rotated), "%s.1", c.event_file);
		files[0] = rotated; /* older events first */
		files[1] = c.event_file;
		id = argv[0];
	} else {
		fprintf(stderr, "usage: outpostctl trace [-f FILE] TRACKING_ID|QUEUE_ID\n");
		return 2;
	}
	for (size_t i = 0; i < 2 && files[i]; i++) {
		n = trace_file(files[i], id);
		if (n >= 0) {
			readable++;
			any += n;
		} else if (i == 1 || files[1] == NULL) {
			fprintf(stderr, "outpostctl trace: cannot read %s\n", files[i]);
		}
	}
	free_keys(keys, &c);
	if (readable == 0)
		return 2;
	if (any == 0)
		fprintf(stderr, "outpostctl trace: no event for %s\n", id);
	return any > 0 ? 0 : 1;
}
