/*
 * opbench_conn.c - one load thread of opbench: its connections to the
 * milter and the transactions it runs on them (contract in opbench.h).
 *
 * Each transaction goes as Postfix's smtpd sends it: MAIL, RCPT, DATA,
 * every header, end of headers, the body in chunks, end of message (reading
 * every modification request), then SMFIC_ABORT (Postfix's mail_reset()).
 * A decision before end of message ends the transaction there. A decision
 * at connect or HELO holds for the connection: that transaction ends with
 * it and the next one opens a new connection.
 *
 * Commands are written as Postfix writes them (mproto delay_writes): those
 * that need no reply wait for the next one that does, so the headers, the
 * body and end of message go out together; --sendmail-writes writes each
 * at once.
 *
 * Latency: from MAIL to the ABORT written (or, with Postfix's writes,
 * buffered: it goes out with the next MAIL); with one connection per
 * message (per_conn 1) from the connect() to SMFIC_QUIT written, as an MTA
 * without connection reuse pays it.
 *
 * Limits: none of its own; mproto bounds packets, replies and waits.
 */
#include "opbench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* What the MTA side of one connection knows. */
struct conn {
	struct opbench_shared *sh;
	struct mproto *mp;	   /* NULL: not connected */
	unsigned long done;	   /* transactions on this connection */
	int stage;		   /* 0 connection, 1 after MAIL, 2 after RCPT */
	char qid[24];		   /* {i} of the current transaction */
	char under[300];	   /* {_} */
	char from[300], rcpt[300]; /* "<addr>" as sent */
	const char *mail_host, *rcpt_host;
};

long long opbench_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Macro values the MTA has at the current stage ({i} only once a recipient
 * was accepted: Postfix delays the queue file until then). */
static const char *lookup(const char *name, void *ctx)
{
	const struct conn *c = ctx;
	const struct opbench_opts *o = c->sh->o;
	const struct {
		const char *name, *value;
		int stage;
	} vals[] = {
	    {"{j}", "bench.example.test", 0},	  {"{daemon_name}", "opbench", 0},
	    {"{daemon_addr}", "127.0.0.1", 0},	  {"{daemon_port}", "25", 0},
	    {"{v}", "Postfix 3.7.11", 0},	  {"{_}", c->under, 0},
	    {"{client_addr}", o->client_addr, 0}, {"{client_name}", o->client_name, 0},
	    {"{client_ptr}", o->client_name, 0},  {"{client_port}", "4711", 0},
	    {"{client_resolve}", "OK", 0},	  {"{auth_type}", o->auth ? "PLAIN" : NULL, 1},
	    {"{auth_authen}", o->auth, 1},	  {"{mail_addr}", o->from, 1},
	    {"{mail_host}", c->mail_host, 1},	  {"{mail_mailer}", "smtp", 1},
	    {"{rcpt_addr}", o->rcpt, 2},	  {"{rcpt_host}", c->rcpt_host, 2},
	    {"{rcpt_mailer}", "smtp", 2},	  {"{i}", c->qid, 2},
	};
	size_t i;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		if (strcmp(vals[i].name, name) == 0)
			return c->stage >= vals[i].stage ? vals[i].value : NULL;
	return NULL;
}

/* ends - does this reply decide the transaction? */
static bool ends(const struct mproto_reply *r)
{
	return r->action != MPROTO_CONTINUE && r->action != MPROTO_NOREPLY &&
	       r->action != MPROTO_NOTSENT && r->action != MPROTO_SKIP;
}

static enum opbench_final final_of(enum mproto_action a)
{
	switch (a) {
	case MPROTO_ACCEPT:
		return OPBENCH_ACCEPT;
	case MPROTO_REJECT:
		return OPBENCH_REJECT;
	case MPROTO_TEMPFAIL:
		return OPBENCH_TEMPFAIL;
	case MPROTO_DISCARD:
		return OPBENCH_DISCARD;
	case MPROTO_SHUTDOWN:
		return OPBENCH_SHUTDOWN;
	default:
		return OPBENCH_CONTINUE;
	}
}

static void conn_close(struct conn *c, bool quit)
{
	const char *err;

	if (c->mp != NULL && quit)
		(void)mproto_quit(c->mp, &err); /* a failure here loses nothing */
	mproto_free(&c->mp);
	c->done = 0;
}

/*
 * conn_open - socket, negotiation, connect and HELO events. Returns 0
 * (open), 1 when the filter decided the connection at connect or HELO
 * (*f set; the connection is closed), -1 with *err_r (closed).
 */
static int conn_open(struct conn *c, enum opbench_final *f, const char **err_r)
{
	const struct opbench_opts *o = c->sh->o;
	struct mproto_opts mo = {(unsigned)o->timeout * 1000, lookup, c, NULL, o->quickack,
				 !o->sendmail_writes};
	struct mproto_reply r;
	char fam = strchr(o->client_addr, ':') ? '6' : '4';

	c->stage = 0;
	if ((c->mp = mproto_new(&mo)) == NULL) {
		*err_r = "out of memory";
		return -1;
	}
	if (mproto_open(c->mp, o->socket, err_r) < 0 ||
	    mproto_negotiate(c->mp, MPROTO_ACTIONS_ALL, MPROTO_PROTOCOL_ALL, err_r) < 0 ||
	    mproto_connect(c->mp, o->client_name, fam, 4711, o->client_addr, &r, err_r) < 0)
		goto fail;
	if (!ends(&r) || r.action == MPROTO_DISCARD) {
		if (mproto_helo(c->mp, o->client_name, &r, err_r) < 0)
			goto fail;
	}
	if (ends(&r) && r.action != MPROTO_DISCARD) {
		*f = final_of(r.action);
		conn_close(c, false);
		return 1;
	}
	return 0;
fail:
	conn_close(c, false);
	return -1;
}

/* envelope - MAIL, RCPT, DATA. 1: decided (*r), 0: go on, -1: error. */
static int envelope(struct conn *c, struct mproto_reply *r, const char **err_r)
{
	const char *argv[2] = {c->from, NULL};

	c->stage = 1;
	if (mproto_mail(c->mp, argv, r, err_r) < 0)
		return -1;
	if (ends(r))
		return 1;
	c->stage = 2;
	argv[0] = c->rcpt;
	if (mproto_rcpt(c->mp, argv, r, err_r) < 0)
		return -1;
	if (ends(r))
		return 1;
	if (mproto_data(c->mp, r, err_r) < 0)
		return -1;
	return ends(r) ? 1 : 0;
}

/* content - headers, end of headers, body chunks, end of message.
 * 1: decided before end of message, 0: *r is the end-of-message reply. */
static int content(struct conn *c, struct mproto_reply *r, const char **err_r)
{
	const struct mproto_msg *m = c->sh->msg;
	size_t i, off, n, chunk = c->sh->o->chunk;

	for (i = 0; i < m->nhdrs; i++) {
		if (m->hdrs[i].hidden)
			continue;
		if (mproto_header(c->mp, m->hdrs[i].name, m->hdrs[i].raw, r, err_r) < 0)
			return -1;
		if (r->action == MPROTO_NOTSENT)
			break; /* SMFIP_NOHDRS */
		if (ends(r))
			return 1;
	}
	if (mproto_eoh(c->mp, r, err_r) < 0)
		return -1;
	if (ends(r))
		return 1;
	for (off = 0; off < m->body_len; off += n) {
		n = m->body_len - off < chunk ? m->body_len - off : chunk;
		if (mproto_body(c->mp, m->body + off, n, r, err_r) < 0)
			return -1;
		if (r->action == MPROTO_NOTSENT || r->action == MPROTO_SKIP)
			break;
		if (ends(r))
			return 1;
	}
	return mproto_eom(c->mp, r, err_r);
}

/* count_sigs - DKIM-Signature headers the filter asked to add. */
static unsigned long count_sigs(const struct conn *c)
{
	const struct mproto_mod *mods;
	size_t n, i;
	unsigned long sigs = 0;

	mods = mproto_mods(c->mp, &n);
	for (i = 0; i < n; i++)
		if ((mods[i].type == MPROTO_MOD_INSHEADER ||
		     mods[i].type == MPROTO_MOD_ADDHEADER) &&
		    strcasecmp(mods[i].name, "DKIM-Signature") == 0)
			sigs++;
	return sigs;
}

/* transaction - one message on the open connection; 0 with *f and *sigs,
 * or -1 with *err_r (the connection is then closed). */
static int transaction(struct conn *c, unsigned long seq, enum opbench_final *f,
		       unsigned long *sigs, const char **err_r)
{
	struct mproto_reply r;
	int rc;

	(void)snprintf(c->qid, sizeof(c->qid), "4B%010lX", seq);
	*sigs = 0;
	rc = envelope(c, &r, err_r);
	if (rc == 0)
		rc = content(c, &r, err_r);
	if (rc < 0) {
		conn_close(c, false);
		return -1;
	}
	*f = final_of(r.action);
	if (*f == OPBENCH_CONTINUE || *f == OPBENCH_ACCEPT)
		*sigs = count_sigs(c);
	c->done++;
	if (*f == OPBENCH_SHUTDOWN) {
		conn_close(c, false); /* Postfix closes the socket, answers 421 */
		return 0;
	}
	if (mproto_abort(c->mp, err_r) < 0) {
		conn_close(c, false);
		return -1;
	}
	return 0;
}

/* claim - the sequence number of the next transaction, or false when all
 * are handed out or the time is up. */
static bool claim(struct opbench_shared *sh, unsigned long *seq)
{
	if (sh->deadline_ns != 0 && opbench_now_ns() >= sh->deadline_ns)
		return false;
	*seq = atomic_fetch_add(&sh->claimed, 1);
	return *seq < sh->o->messages;
}

/* one - one claimed transaction, with whatever (re)connecting it needs;
 * records it in t. Returns false on an error. */
static bool one(struct conn *c, struct opbench_tally *t, unsigned long seq)
{
	const struct opbench_opts *o = c->sh->o;
	bool per_msg = o->per_conn == 1;
	enum opbench_final f = OPBENCH_ERROR;
	unsigned long sigs = 0;
	const char *err = NULL;
	long long t0 = opbench_now_ns();
	int rc = 0;

	if (c->mp != NULL && o->per_conn != 0 && c->done >= o->per_conn)
		conn_close(c, true);
	if (c->mp == NULL) {
		rc = conn_open(c, &f, &err);
		t->connections += rc >= 0;
		if (!per_msg)
			t0 = opbench_now_ns(); /* connect excluded */
	}
	if (rc == 0 && transaction(c, seq, &f, &sigs, &err) < 0)
		rc = -1;
	if (rc == 0 && per_msg)
		conn_close(c, true);
	if (rc < 0) {
		f = OPBENCH_ERROR;
		if (t->errtext[0] == 0)
			(void)snprintf(t->errtext, sizeof(t->errtext), "%s", err);
	}
	if (t->first_ns == 0)
		t->first_ns = t0;
	t->last_ns = opbench_now_ns();
	opbench_tally_add(t, f, t->last_ns - t0, sigs, o->expect_sigs);
	return rc >= 0;
}

struct opbench_load {
	struct conn c;
	struct opbench_tally *t;
};

struct opbench_load *opbench_load_new(struct opbench_shared *sh)
{
	const struct opbench_opts *o = sh->o;
	struct opbench_load *l = calloc(1, sizeof(*l));
	struct conn *c;
	enum opbench_final f;
	const char *err = NULL;

	if (l == NULL || (l->t = calloc(1, sizeof(*l->t))) == NULL) {
		free(l);
		return NULL;
	}
	c = &l->c;
	c->sh = sh;
	(void)snprintf(c->from, sizeof(c->from), "<%s>", o->from);
	(void)snprintf(c->rcpt, sizeof(c->rcpt), "<%s>", o->rcpt);
	(void)snprintf(c->under, sizeof(c->under), "%s [%s]", o->client_name, o->client_addr);
	c->mail_host = strchr(o->from, '@') ? strchr(o->from, '@') + 1 : "bench.example.test";
	c->rcpt_host = strchr(o->rcpt, '@') ? strchr(o->rcpt, '@') + 1 : "bench.example.test";
	/* First connection outside the measured time; a decision or error
	 * there is met again, and counted, by the first transaction. */
	if (o->per_conn != 1 && conn_open(c, &f, &err) == 0)
		l->t->connections++;
	return l;
}

void opbench_load_run(struct opbench_load *l)
{
	unsigned long seq, bad_in_a_row = 0;

	while (bad_in_a_row < OPBENCH_MAX_ERRORS_IN_A_ROW && claim(l->c.sh, &seq))
		bad_in_a_row = one(&l->c, l->t, seq) ? 0 : bad_in_a_row + 1;
	conn_close(&l->c, true);
}

struct opbench_tally *opbench_load_free(struct opbench_load **l)
{
	struct opbench_tally *t = NULL;

	if (*l != NULL) {
		conn_close(&(*l)->c, false);
		t = (*l)->t;
		free(*l);
		*l = NULL;
	}
	return t;
}
