/*
 * milter_engine.c - the filter side of the milter protocol; contract and
 * the reason it exists in milter_engine.h.
 *
 * Wire format (both ways): a 32-bit length in network order counting the
 * command byte, the command byte, then its data; strings end in NUL.
 *
 * The socket side (reading batches, writing the replies of a batch
 * together) is milter_serve.c; this file turns bytes into callbacks and
 * replies.
 *
 * Order checks are those libmilter makes where a wrong order could reach a
 * callback with state it does not expect: nothing before negotiation, no
 * second negotiation.  Everything else (a header without MAIL, two MAILs)
 * reaches the callbacks, which handle it (plugin/milter.c).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter_engine_int.h"
#include "outpost/log.h"

struct op_mctx *op_mctx_new(const struct op_mcallbacks *cb)
{
	struct op_mctx *ctx = calloc(1, sizeof(*ctx));

	if (ctx == NULL)
		return NULL;
	ctx->cb = cb;
	return ctx;
}

void op_mctx_clear_macros(struct op_mctx *ctx, int from)
{
	for (int i = from; i < MAC__COUNT; i++) {
		free(ctx->mac[i]);
		ctx->mac[i] = NULL;
		ctx->maclen[i] = 0;
	}
}

void op_mctx_free(struct op_mctx **ctxp)
{
	struct op_mctx *ctx = *ctxp;

	if (ctx == NULL)
		return;
	op_mctx_clear_macros(ctx, 0);
	for (int i = 0; i <= SMFIM_LAST; i++)
		free(ctx->symlist[i]);
	free(ctx->argv);
	free(ctx->in);
	free(ctx);
	*ctxp = NULL;
}

bool op_mctx_agreed(const struct op_mctx *ctx, uint32_t *steps_r)
{
	*steps_r = ctx->steps;
	return ctx->phase != PH_NEW || ctx->renewing;
}

void op_mctx_setpriv(struct op_mctx *ctx, void *priv)
{
	ctx->priv = priv;
}

void *op_mctx_getpriv(const struct op_mctx *ctx)
{
	return ctx->priv;
}

/* --- replies --- */

/* Append one packet (cmd, then the n parts of data) to the batch. */
static int put_packet(struct op_mctx *ctx, char cmd, const void *const *part, const size_t *plen,
		      int n)
{
	size_t total = 1;
	uint32_t len;
	size_t mark = ctx->out->len;

	for (int i = 0; i < n; i++)
		total += plen[i];
	if (total > UINT32_MAX)
		return -1;
	len = htonl((uint32_t)total);
	if (op_buf_append(ctx->out, &len, 4) < 0 || op_buf_append(ctx->out, &cmd, 1) < 0)
		goto fail;
	for (int i = 0; i < n; i++)
		if (op_buf_append(ctx->out, part[i], plen[i]) < 0)
			goto fail;
	return 0;
fail:
	op_buf_truncate(ctx->out, mark);
	return -1;
}

static int put_simple(struct op_mctx *ctx, char cmd)
{
	return put_packet(ctx, cmd, NULL, NULL, 0);
}

/* The reply for callback status st; nothing for SMFIS_NOREPLY. */
static int put_status(struct op_mctx *ctx, int st)
{
	int r = 0;

	switch (st) {
	case SMFIS_NOREPLY:
		break;
	case SMFIS_REJECT:
	case SMFIS_TEMPFAIL:
		if (ctx->reply[0]) {
			const void *p[1] = {ctx->reply};
			size_t l[1] = {strlen(ctx->reply) + 1};

			r = put_packet(ctx, SMFIR_REPLYCODE, p, l, 1);
		} else
			r = put_simple(ctx, st == SMFIS_REJECT ? SMFIR_REJECT : SMFIR_TEMPFAIL);
		break;
	case SMFIS_ACCEPT:
		r = put_simple(ctx, SMFIR_ACCEPT);
		break;
	case SMFIS_DISCARD:
		r = put_simple(ctx, SMFIR_DISCARD);
		break;
	default: /* SMFIS_CONTINUE; SMFIS_SKIP is not negotiated */
		r = put_simple(ctx, SMFIR_CONTINUE);
		break;
	}
	ctx->reply[0] = '\0';
	return r;
}

int op_mctx_setreply(struct op_mctx *ctx, const char *rcode, const char *xcode, const char *text)
{
	if (rcode == NULL || strlen(rcode) != 3 || (rcode[0] != '4' && rcode[0] != '5') ||
	    rcode[1] < '0' || rcode[1] > '9' || rcode[2] < '0' || rcode[2] > '9')
		return -1;
	if (xcode != NULL && xcode[0]) {
		size_t i = 0;
		int dots = 0;

		if (xcode[0] != rcode[0] || xcode[1] != '.')
			return -1;
		for (i = 1; xcode[i]; i++) {
			if (xcode[i] == '.')
				dots++;
			else if (xcode[i] < '0' || xcode[i] > '9')
				return -1;
		}
		if (dots != 2 || xcode[i - 1] == '.' || strstr(xcode, "..") != NULL)
			return -1;
	}
	if (text != NULL && strpbrk(text, "\r\n") != NULL)
		return -1;
	if ((size_t)snprintf(ctx->reply, sizeof(ctx->reply), "%s %s %s", rcode,
			     xcode && xcode[0] ? xcode : (rcode[0] == '4' ? "4.0.0" : "5.0.0"),
			     text ? text : "") >= sizeof(ctx->reply)) {
		ctx->reply[0] = '\0';
		return -1;
	}
	return 0;
}

/* A change is allowed in the eom callback when its action was negotiated. */
static bool may_change(const struct op_mctx *ctx, uint32_t action)
{
	return ctx->phase == PH_EOM && (ctx->actions & action);
}

static int put_header_edit(struct op_mctx *ctx, char cmd, const uint32_t *index, const char *name,
			   const char *value)
{
	uint32_t ni = index ? htonl(*index) : 0;
	const void *p[3] = {&ni, name, value};
	size_t l[3] = {4, strlen(name) + 1, strlen(value) + 1};

	if (index == NULL)
		return put_packet(ctx, cmd, p + 1, l + 1, 2);
	return put_packet(ctx, cmd, p, l, 3);
}

int op_mctx_addheader(struct op_mctx *ctx, const char *name, const char *value)
{
	if (!may_change(ctx, SMFIF_ADDHDRS) || name == NULL || !name[0] || value == NULL)
		return -1;
	return put_header_edit(ctx, SMFIR_ADDHEADER, NULL, name, value);
}

int op_mctx_insheader(struct op_mctx *ctx, int index, const char *name, const char *value)
{
	uint32_t i = index < 0 ? 0 : (uint32_t)index;

	if (!may_change(ctx, SMFIF_ADDHDRS) || name == NULL || !name[0] || value == NULL)
		return -1;
	return put_header_edit(ctx, SMFIR_INSHEADER, &i, name, value);
}

int op_mctx_chgheader(struct op_mctx *ctx, const char *name, int index, const char *value)
{
	uint32_t i = index < 0 ? 0 : (uint32_t)index;

	if (!may_change(ctx, SMFIF_CHGHDRS) || name == NULL || !name[0] || index < 0)
		return -1;
	return put_header_edit(ctx, SMFIR_CHGHEADER, &i, name, value ? value : "");
}

int op_mctx_quarantine(struct op_mctx *ctx, const char *reason)
{
	const void *p[1] = {reason};
	size_t l[1];

	if (!may_change(ctx, SMFIF_QUARANTINE) || reason == NULL || !reason[0])
		return -1;
	l[0] = strlen(reason) + 1;
	return put_packet(ctx, SMFIR_QUARANTINE, p, l, 1);
}

int op_mctx_setsymlist(struct op_mctx *ctx, int stage, const char *list)
{
	if (ctx->phase != PH_NEW || stage < SMFIM_FIRST || stage > SMFIM_LAST || list == NULL ||
	    ctx->symlist[stage] != NULL)
		return -1;
	ctx->symlist[stage] = strdup(list);
	return ctx->symlist[stage] ? 0 : -1;
}

/* --- macros --- */

static int mac_slot(char cmd)
{
	switch (cmd) {
	case SMFIC_CONNECT:
		return MAC_CONNECT;
	case SMFIC_HELO:
		return MAC_HELO;
	case SMFIC_MAIL:
		return MAC_MAIL;
	case SMFIC_RCPT:
		return MAC_RCPT;
	case SMFIC_DATA:
		return MAC_DATA;
	case SMFIC_BODYEOB:
		return MAC_EOM;
	case SMFIC_EOH:
		return MAC_EOH;
	default:
		return -1;
	}
}

/* name equals want, ignoring braces around either ("i" == "{i}"). */
static bool mac_name_eq(const char *name, const char *want)
{
	size_t nl = strlen(name), wl = strlen(want);

	if (nl >= 2 && name[0] == '{' && name[nl - 1] == '}')
		name++, nl -= 2;
	if (wl >= 2 && want[0] == '{' && want[wl - 1] == '}')
		want++, wl -= 2;
	return nl == wl && memcmp(name, want, nl) == 0;
}

const char *op_mctx_macro(const struct op_mctx *ctx, const char *name)
{
	/* The latest stage first: a value the MTA gave again later wins. */
	static const int order[] = {MAC_EOM,  MAC_EOH,	MAC_DATA,   MAC_RCPT,
				    MAC_MAIL, MAC_HELO, MAC_CONNECT};

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		const char *p = ctx->mac[order[o]], *end;

		if (p == NULL)
			continue;
		end = p + ctx->maclen[order[o]];
		while (p < end) {
			const char *v = p + strlen(p) + 1;

			if (v >= end)
				break;
			if (mac_name_eq(p, name))
				return v;
			p = v + strlen(v) + 1;
		}
	}
	return NULL;
}

/* SMFIC_MACRO: the command letter, then name/value pairs; the data ends
 * in NUL (checked by the caller). */
static int on_macro(struct op_mctx *ctx, const char *data, size_t len)
{
	int slot = len > 0 ? mac_slot(data[0]) : -1;
	char *copy;

	if (slot < 0)
		return 0; /* libmilter ignores macros for other commands too */
	copy = malloc(len - 1 ? len - 1 : 1);
	if (copy == NULL)
		return -1;
	memcpy(copy, data + 1, len - 1);
	free(ctx->mac[slot]);
	ctx->mac[slot] = copy;
	ctx->maclen[slot] = len - 1;
	return 0;
}

/* --- commands --- */

/* Split NUL-terminated strings of data into ctx->argv (NULL ended). */
static int split_args(struct op_mctx *ctx, const char *data, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += data[i] == '\0';
	if (n + 1 > ctx->argvcap) {
		char **a = realloc(ctx->argv, (n + 1) * sizeof(*a));

		if (a == NULL)
			return -1;
		ctx->argv = a;
		ctx->argvcap = n + 1;
	}
	for (size_t i = 0, k = 0; k < n; k++) {
		ctx->argv[k] = (char *)data + i;
		i += strlen(data + i) + 1;
	}
	ctx->argv[n] = NULL;
	return 0;
}

static uint32_t get32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* SMFIC_OPTNEG: version, actions and protocol steps offered. */
static int on_optneg(struct op_mctx *ctx, const char *data, size_t len)
{
	uint32_t version, actions = 0, steps = 0, v[3];
	int st = SMFIS_CONTINUE;
	struct op_buf sym;
	int r;

	if (ctx->phase != PH_NEW || len < MILTER_OPTLEN) {
		op_log(LOG_ERR, "milter: %s; closing the connection",
		       len < MILTER_OPTLEN ? "short negotiation packet" : "negotiation repeated");
		return -1;
	}
	version = get32(data);
	ctx->mta_actions = get32(data + 4);
	ctx->mta_steps = get32(data + 8);
	if (version < 2) {
		op_log(LOG_ERR, "milter: the MTA speaks protocol version %u, at least 2 is needed",
		       version);
		return -1;
	}
	if (ctx->cb->negotiate != NULL)
		st = ctx->cb->negotiate(ctx, ctx->mta_actions, ctx->mta_steps, &actions, &steps);
	if (st != SMFIS_CONTINUE)
		return -1;
	ctx->actions = actions & ctx->mta_actions;
	ctx->steps = steps & ctx->mta_steps;
	v[0] = htonl(version < SMFI_PROT_VERSION ? version : SMFI_PROT_VERSION);
	v[1] = htonl(ctx->actions);
	v[2] = htonl(ctx->steps);
	op_buf_init(&sym, 1 << 16);
	for (uint32_t i = 0; i <= SMFIM_LAST && (ctx->actions & SMFIF_SETSYMLIST); i++) {
		uint32_t ni = htonl(i);

		if (ctx->symlist[i] != NULL &&
		    (op_buf_append(&sym, &ni, 4) < 0 ||
		     op_buf_append(&sym, ctx->symlist[i], strlen(ctx->symlist[i]) + 1) < 0)) {
			op_buf_free(&sym);
			return -1;
		}
	}
	{
		const void *p[2] = {v, op_buf_str(&sym)};
		size_t l[2] = {sizeof(v), sym.len};

		r = put_packet(ctx, SMFIC_OPTNEG, p, l, 2);
	}
	op_buf_free(&sym);
	ctx->phase = PH_READY;
	return r;
}

/* The protocol step flag that says the MTA waits for no reply to cmd; 0
 * when it always waits. */
static uint32_t noreply_flag(char cmd)
{
	switch (cmd) {
	case SMFIC_CONNECT:
		return SMFIP_NR_CONN;
	case SMFIC_HELO:
		return SMFIP_NR_HELO;
	case SMFIC_MAIL:
		return SMFIP_NR_MAIL;
	case SMFIC_RCPT:
		return SMFIP_NR_RCPT;
	case SMFIC_HEADER:
		return SMFIP_NR_HDR;
	case SMFIC_EOH:
		return SMFIP_NR_EOH;
	case SMFIC_BODY:
		return SMFIP_NR_BODY;
	case SMFIC_DATA:
		return SMFIP_NR_DATA;
	case SMFIC_UNKNOWN:
		return SMFIP_NR_UNKN;
	default:
		return 0;
	}
}

/* Call the callback of a command that has one, and queue its reply.  At a
 * stage negotiated as no-reply nothing is sent, whatever the callback
 * returned: a reply the MTA does not read would be taken as the answer to
 * its next command. */
static int run_cb(struct op_mctx *ctx, char cmd, const char *data, size_t len)
{
	const struct op_mcallbacks *cb = ctx->cb;
	int st = SMFIS_CONTINUE;

	switch (cmd) {
	case SMFIC_CONNECT:
		if (cb->connect)
			st = cb->connect(ctx, data);
		break;
	case SMFIC_HELO:
		if (cb->helo)
			st = cb->helo(ctx, data);
		break;
	case SMFIC_MAIL:
	case SMFIC_RCPT:
		if (split_args(ctx, data, len) < 0)
			return -1;
		if (cmd == SMFIC_MAIL) {
			ctx->phase = PH_MESSAGE;
			if (cb->envfrom)
				st = cb->envfrom(ctx, ctx->argv);
		} else if (cb->envrcpt)
			st = cb->envrcpt(ctx, ctx->argv);
		break;
	case SMFIC_HEADER: {
		const char *value = data + strlen(data) + 1;

		if (value >= data + len)
			return -1; /* no value string */
		if (cb->header)
			st = cb->header(ctx, data, value);
		break;
	}
	case SMFIC_EOH:
		if (cb->eoh)
			st = cb->eoh(ctx);
		break;
	case SMFIC_BODY:
		if (cb->body)
			st = cb->body(ctx, (const unsigned char *)data, len);
		break;
	case SMFIC_BODYEOB:
		if (len > 0 && cb->body)
			st = cb->body(ctx, (const unsigned char *)data, len);
		if (st == SMFIS_CONTINUE || st == SMFIS_NOREPLY) {
			ctx->phase = PH_EOM;
			st = cb->eom ? cb->eom(ctx) : SMFIS_CONTINUE;
		} /* else the body's verdict is the message's */
		ctx->phase = PH_READY;
		op_mctx_clear_macros(ctx, MAC_MAIL);
		break;
	}
	if (ctx->steps & noreply_flag(cmd)) {
		if (st != SMFIS_NOREPLY)
			op_log(LOG_DEBUG, "milter: a reply at no-reply stage '%c' dropped", cmd);
		st = SMFIS_NOREPLY;
	}
	return put_status(ctx, st);
}

/* Commands whose data must end in NUL (strings). */
static bool wants_strings(char cmd)
{
	return cmd == SMFIC_MACRO || cmd == SMFIC_CONNECT || cmd == SMFIC_HELO ||
	       cmd == SMFIC_MAIL || cmd == SMFIC_RCPT || cmd == SMFIC_HEADER ||
	       cmd == SMFIC_UNKNOWN;
}

/* Renew the callbacks' connection after SMFIC_QUIT_NC: the MTA goes on
 * with SMFIC_CONNECT on the same socket, with the same negotiation (the
 * negotiate callback runs again for its state; op_mctx_agreed() tells it
 * what was agreed, and what it answers is ignored). */
static int renew(struct op_mctx *ctx)
{
	uint32_t a, s;
	int r;

	if (ctx->cb->close)
		ctx->cb->close(ctx);
	op_mctx_clear_macros(ctx, 0);
	ctx->phase = PH_READY;
	if (ctx->cb->negotiate == NULL)
		return 0;
	ctx->phase = PH_NEW; /* setsymlist is allowed (and ignored) again */
	for (int i = 0; i <= SMFIM_LAST; i++) {
		free(ctx->symlist[i]);
		ctx->symlist[i] = NULL;
	}
	ctx->renewing = true;
	r = ctx->cb->negotiate(ctx, ctx->mta_actions, ctx->mta_steps, &a, &s);
	ctx->renewing = false;
	ctx->phase = PH_READY;
	return r == SMFIS_CONTINUE ? 0 : -1;
}

/* One packet.  0 to go on, 1 after QUIT, -1 on a protocol error. */
static int dispatch(struct op_mctx *ctx, char cmd, const char *data, size_t len)
{
	/* Strings end in NUL; a macro packet may be only its command letter;
	 * a connect packet ends in the family letter when the family is
	 * unknown (SMFIA_UNKNOWN: no port, no address). */
	if (wants_strings(cmd) && (len == 0 || data[len - 1] != '\0') &&
	    !(cmd == SMFIC_MACRO && len == 1) &&
	    !(cmd == SMFIC_CONNECT && memchr(data, '\0', len) != NULL)) {
		op_log(LOG_ERR,
		       "milter: command '%c' without its NUL-terminated data; "
		       "closing the connection",
		       cmd);
		return -1;
	}
	if (cmd == SMFIC_OPTNEG)
		return on_optneg(ctx, data, len);
	if (ctx->phase == PH_NEW) {
		op_log(LOG_ERR, "milter: command '%c' before negotiation; closing the connection",
		       cmd);
		return -1;
	}
	switch (cmd) {
	case SMFIC_MACRO:
		return on_macro(ctx, data, len);
	case SMFIC_CONNECT:
	case SMFIC_HELO:
	case SMFIC_MAIL:
	case SMFIC_RCPT:
	case SMFIC_HEADER:
	case SMFIC_EOH:
	case SMFIC_BODY:
	case SMFIC_BODYEOB:
		return run_cb(ctx, cmd, data, len);
	case SMFIC_ABORT: /* no reply */
		if (ctx->cb->abort)
			ctx->cb->abort(ctx);
		ctx->phase = PH_READY;
		op_mctx_clear_macros(ctx, MAC_MAIL);
		return 0;
	case SMFIC_DATA:
	case SMFIC_UNKNOWN:
		return (ctx->steps & noreply_flag(cmd)) ? 0 : put_simple(ctx, SMFIR_CONTINUE);
	case SMFIC_QUIT:
		return 1;
	case SMFIC_QUIT_NC:
		return renew(ctx);
	default:
		op_log(LOG_ERR, "milter: unknown command 0x%02x; closing the connection",
		       (unsigned char)cmd);
		return -1;
	}
}

size_t op_mctx_handle(struct op_mctx *ctx, const unsigned char *in, size_t len, int *end)
{
	size_t used = 0;

	*end = 0;
	ctx->handled = 0;
	while (len - used >= 5) {
		uint32_t plen;

		memcpy(&plen, in + used, 4);
		plen = ntohl(plen);
		if (plen == 0 || plen - 1 > OP_MILTER_MAX_PACKET) {
			op_log(LOG_ERR,
			       "milter: packet of %u bytes (at most %u); closing the "
			       "connection",
			       plen, OP_MILTER_MAX_PACKET + 1);
			*end = -1;
			return used;
		}
		if (len - used - 4 < plen)
			break;
		*end = dispatch(ctx, (char)in[used + 4], (const char *)in + used + 5, plen - 1);
		used += 4 + (size_t)plen;
		ctx->handled++;
		if (*end != 0)
			break;
	}
	return used;
}

long op_mctx_feed(struct op_mctx *ctx, const unsigned char *in, size_t len, struct op_buf *out)
{
	int end;
	size_t used;

	ctx->out = out;
	used = op_mctx_handle(ctx, in, len, &end);
	ctx->out = NULL;
	return end != 0 ? -1 : (long)used;
}

void op_mctx_finish(struct op_mctx *ctx)
{
	if (ctx->phase == PH_MESSAGE && ctx->cb->abort)
		ctx->cb->abort(ctx);
	if (ctx->phase != PH_NEW && ctx->cb->close)
		ctx->cb->close(ctx);
	ctx->phase = PH_NEW;
}
