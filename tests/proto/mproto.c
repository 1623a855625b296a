/*
 * mproto.c - the MTA side of the milter protocol; contract in mproto.h.
 *
 * Owns one socket, its packet buffers, the filter's negotiated options and
 * the modification requests of the current message. Wire format: a 32-bit
 * length in network order (counting the command byte), one command byte,
 * then data; strings end in NUL. Packets to the filter are built in one
 * output buffer and written together (SMFIC_MACRO plus its event), packets
 * from the filter are read whole into one input buffer and parsed there.
 *
 * Where this deliberately differs from Postfix's milter8.c it is stricter:
 * a modification the filter did not negotiate, a reply the filter may not
 * send, trailing bytes after a reply's data, an empty header name, a
 * version outside 2..6 or an un-offered protocol flag are errors here,
 * because this client exists to catch such mistakes in a filter.
 */
#include "mproto.h"
#include "mproto_net.h"

/* Constants only: this client links no libmilter code. */
#include <libmilter/mfapi.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A growable byte buffer; a failed allocation is remembered, checked once. */
struct buf {
	unsigned char *data;
	size_t len, cap;
	bool oom;
};

struct mproto {
	int fd;
	struct mproto_opts o;
	uint32_t offered_protocol;
	struct mproto_neg neg;
	uint32_t np_mask; /* SMFIP_NO* bits for events the filter's version lacks */
	char skip_cmd;	  /* event the filter answered SMFIR_SKIP to, or 0 */
	char *names[MPROTO_CLASS_COUNT];
	struct buf out;
	struct buf in;
	struct buf ev;	/* data of the event being built */
	struct buf mac; /* data of its SMFIC_MACRO packet */
	struct mproto_mod *mods;
	size_t nmods, modcap, mod_bytes;
	char *reply_text;
	char err[512];
	struct mproto_net_rbuf rb;
};

/* Postfix 3.7's milter_*_macros defaults, indexed by enum mproto_class. */
static const char *const default_names[MPROTO_CLASS_COUNT] = {
    "j {daemon_name} {daemon_addr} v _",
    "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}",
    "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}",
    "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",
    "i",
    "i",
    "i",
    "",
};

enum ev { EV_CONN, EV_HELO, EV_MAIL, EV_RCPT, EV_DATA, EV_UNKN, EV_HDR, EV_EOH, EV_BODY, EV_EOM };

/*
 * How Postfix sends each event. Envelope events go through milter8_event()
 * even when the filter set their SMFIP_NO* flag, so their macros still go
 * out; header, end-of-header and body callbacks are not even installed then.
 */
static const struct ev_def {
	char cmd;
	enum mproto_class cls;
	uint32_t no_flag;
	uint32_t nr_flag;
	bool macros_when_no;
	const char *name;
} ev_defs[] = {
    [EV_CONN] = {SMFIC_CONNECT, MPROTO_CLASS_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN, true,
		 "connect"},
    [EV_HELO] = {SMFIC_HELO, MPROTO_CLASS_HELO, SMFIP_NOHELO, SMFIP_NR_HELO, true, "helo"},
    [EV_MAIL] = {SMFIC_MAIL, MPROTO_CLASS_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL, true, "mail"},
    [EV_RCPT] = {SMFIC_RCPT, MPROTO_CLASS_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT, true, "rcpt"},
    [EV_DATA] = {SMFIC_DATA, MPROTO_CLASS_DATA, SMFIP_NODATA, SMFIP_NR_DATA, true, "data"},
    [EV_UNKN] = {SMFIC_UNKNOWN, MPROTO_CLASS_UNKNOWN, SMFIP_NOUNKNOWN, SMFIP_NR_UNKN, true,
		 "unknown"},
    [EV_HDR] = {SMFIC_HEADER, MPROTO_CLASS_EOH, SMFIP_NOHDRS, SMFIP_NR_HDR, false, "header"},
    [EV_EOH] = {SMFIC_EOH, MPROTO_CLASS_EOH, SMFIP_NOEOH, SMFIP_NR_EOH, false, "eoh"},
    [EV_BODY] = {SMFIC_BODY, MPROTO_CLASS_EOM, SMFIP_NOBODY, SMFIP_NR_BODY, false, "body"},
    [EV_EOM] = {SMFIC_BODYEOB, MPROTO_CLASS_EOM, 0, 0, false, "eom"},
};

/* Modification requests: data layout ('i' uint32, 's' string, 'o' optional
 * string, 'b' the remaining bytes) and the action that permits them. */
static const struct mod_def {
	char cmd;
	enum mproto_mod_type type;
	uint32_t action;
	const char *layout;
} mod_defs[] = {
    {SMFIR_ADDHEADER, MPROTO_MOD_ADDHEADER, SMFIF_ADDHDRS, "ss"},
    {SMFIR_INSHEADER, MPROTO_MOD_INSHEADER, SMFIF_ADDHDRS, "iss"},
    {SMFIR_CHGHEADER, MPROTO_MOD_CHGHEADER, SMFIF_CHGHDRS, "iss"},
    {SMFIR_REPLBODY, MPROTO_MOD_REPLBODY, SMFIF_CHGBODY, "b"},
    {SMFIR_ADDRCPT, MPROTO_MOD_ADDRCPT, SMFIF_ADDRCPT, "s"},
    {SMFIR_ADDRCPT_PAR, MPROTO_MOD_ADDRCPT_PAR, SMFIF_ADDRCPT_PAR, "so"},
    {SMFIR_DELRCPT, MPROTO_MOD_DELRCPT, SMFIF_DELRCPT, "s"},
    {SMFIR_QUARANTINE, MPROTO_MOD_QUARANTINE, SMFIF_QUARANTINE, "s"},
    {SMFIR_CHGFROM, MPROTO_MOD_CHGFROM, SMFIF_CHGFROM, "so"},
};

/* Replies without data that end an event. */
static const struct {
	char cmd;
	enum mproto_action action;
} simple_replies[] = {
    {SMFIR_CONTINUE, MPROTO_CONTINUE}, {SMFIR_ACCEPT, MPROTO_ACCEPT},
    {SMFIR_REJECT, MPROTO_REJECT},     {SMFIR_TEMPFAIL, MPROTO_TEMPFAIL},
    {SMFIR_DISCARD, MPROTO_DISCARD},   {SMFIR_SKIP, MPROTO_SKIP},
    {SMFIR_SHUTDOWN, MPROTO_SHUTDOWN},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void buf_need(struct buf *b, size_t more)
{
	size_t cap;
	unsigned char *p;

	if (b->oom || b->cap - b->len > more)
		return;
	for (cap = b->cap ? b->cap : 256; cap - b->len <= more; cap *= 2)
		;
	if ((p = realloc(b->data, cap)) == NULL) {
		b->oom = true;
		return;
	}
	b->data = p;
	b->cap = cap;
}

static void buf_add(struct buf *b, const void *p, size_t n)
{
	buf_need(b, n);
	if (b->oom)
		return;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0; /* room for it was kept by buf_need() */
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s) + 1);
}

static void close_fd(struct mproto *mp)
{
	if (mp->fd >= 0)
		(void)close(mp->fd);
	mp->fd = -1;
	mp->rb.pos = mp->rb.len = 0;
	mp->out.len = 0; /* unwritten commands die with the connection */
}

/* set_err - error text without closing: the caller misused the API. */
__attribute__((format(printf, 3, 4))) static int set_err(struct mproto *mp, const char **err_r,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(mp->err, sizeof(mp->err), fmt, ap);
	va_end(ap);
	*err_r = mp->err;
	return -1;
}

/* fail - protocol or I/O failure: the stream is out of sync, so close it
 * (after formatting: the text may use errno). */
#define fail(mp, err_r, ...) (set_err((mp), (err_r), __VA_ARGS__), close_fd(mp), -1)

static void trace_packet(struct mproto *mp, char dir, char cmd, const void *data, size_t len)
{
	if (mp->o.trace == NULL)
		return;
	fprintf(mp->o.trace, "%c %c len=%zu \"", dir, cmd, len);
	mproto_print_escaped(mp->o.trace, data, len > 200 ? 200 : len);
	fprintf(mp->o.trace, "%s\"\n", len > 200 ? "..." : "");
}

static int flush(struct mproto *mp, const char **err_r)
{
	char eb[128];

	if (mp->out.oom)
		return fail(mp, err_r, "out of memory building a packet");
	if (mp->fd < 0)
		return set_err(mp, err_r, "not connected");
	if (mproto_net_write(mp->fd, mp->out.data, mp->out.len,
			     mproto_net_now_ms() + mp->o.timeout_ms) < 0)
		return fail(mp, err_r, "write to filter: %s",
			    mproto_net_strerror(errno, eb, sizeof(eb)));
	mp->out.len = 0;
	return 0;
}

/* Postfix's VSTREAM_BUFSIZE: with delay_writes, output waiting in the
 * buffer goes out once it reaches this size. */
#define WRITE_BUF 4096

/* flush_unless_delayed - flush now, unless delay_writes lets the output
 * wait for the next read (read_packet flushes it) or a full buffer. */
static int flush_unless_delayed(struct mproto *mp, const char **err_r)
{
	if (mp->o.delay_writes && !mp->out.oom && mp->out.len < WRITE_BUF)
		return 0;
	return flush(mp, err_r);
}

/* read_fail - the text for a failed read: EOF, timeout or I/O error. */
static int read_fail(struct mproto *mp, const char *after, bool mid, const char **err_r)
{
	char eb[128];

	if (errno == ETIMEDOUT)
		return fail(mp, err_r, "reading reply to %s: no %s within %u ms", after,
			    mid ? "complete packet" : "reply", mp->o.timeout_ms);
	return fail(mp, err_r, "reading reply to %s: %s%s", after,
		    errno == ECONNRESET ? "filter closed the connection"
					: mproto_net_strerror(errno, eb, sizeof(eb)),
		    mid ? " mid-packet" : "");
}

/* read_packet - one whole packet into mp->in (NUL-terminated for parsing). */
static int read_packet(struct mproto *mp, const char *after, char *cmd_r, const char **err_r)
{
	long long deadline = mproto_net_now_ms() + mp->o.timeout_ms;
	uint32_t len;

	if (mp->fd < 0)
		return set_err(mp, err_r, "not connected");
	if (mp->out.len > 0 && flush(mp, err_r) < 0) /* what delay_writes kept */
		return -1;
	if (mproto_net_read(mp->fd, &mp->rb, &len, 4, deadline) < 0)
		return read_fail(mp, after, false, err_r);
	len = ntohl(len);
	if (len < 1 || len > MPROTO_MAX_PACKET)
		return fail(mp, err_r, "reply to %s: packet length %u outside 1..%u", after, len,
			    MPROTO_MAX_PACKET);
	mp->in.len = 0;
	buf_need(&mp->in, len);
	if (mp->in.oom)
		return fail(mp, err_r, "out of memory reading a packet");
	if (mproto_net_read(mp->fd, &mp->rb, cmd_r, 1, deadline) < 0 ||
	    mproto_net_read(mp->fd, &mp->rb, mp->in.data, len - 1, deadline) < 0)
		return read_fail(mp, after, true, err_r);
	mp->in.len = len - 1;
	mp->in.data[mp->in.len] = 0;
	trace_packet(mp, '<', *cmd_r, mp->in.data, mp->in.len);
	return 0;
}

/* put_packet - append one packet (cmd + data) to the output buffer. */
static void put_packet(struct mproto *mp, char cmd, const void *data, size_t len)
{
	uint32_t nlen = htonl((uint32_t)len + 1);

	buf_add(&mp->out, &nlen, 4);
	buf_add(&mp->out, &cmd, 1);
	buf_add(&mp->out, data, len);
	trace_packet(mp, '>', cmd, data, len);
}

struct mproto *mproto_new(const struct mproto_opts *opts)
{
	struct mproto *mp = calloc(1, sizeof(*mp));
	int i;

	if (mp == NULL)
		return NULL;
	mp->fd = -1;
	mp->o = *opts;
	mp->rb.quickack = opts->quickack;
	for (i = 0; i < MPROTO_CLASS_COUNT; i++) {
		if ((mp->names[i] = strdup(default_names[i])) == NULL) {
			mproto_free(&mp);
			return NULL;
		}
	}
	return mp;
}

static void clear_mods(struct mproto *mp)
{
	size_t i;

	for (i = 0; i < mp->nmods; i++) {
		free(mp->mods[i].name);
		free(mp->mods[i].value);
	}
	mp->nmods = 0;
	mp->mod_bytes = 0;
}

void mproto_free(struct mproto **mpp)
{
	struct mproto *mp = *mpp;
	int i;

	if (mp == NULL)
		return;
	close_fd(mp);
	for (i = 0; i < MPROTO_CLASS_COUNT; i++) {
		free(mp->names[i]);
		free(mp->neg.macros[i]);
	}
	clear_mods(mp);
	free(mp->mods);
	free(mp->out.data);
	free(mp->in.data);
	free(mp->ev.data);
	free(mp->mac.data);
	free(mp->reply_text);
	free(mp);
	*mpp = NULL;
}

int mproto_open(struct mproto *mp, const char *spec, const char **err_r)
{
	if (mp->fd >= 0)
		return set_err(mp, err_r, "already connected");
	if (mproto_net_open(spec, mp->o.timeout_ms, &mp->fd, mp->err, sizeof(mp->err)) < 0) {
		*err_r = mp->err;
		return -1;
	}
	return 0;
}

/* A read cursor over the data of the packet in mp->in. */
struct cur {
	const unsigned char *p;
	size_t left;
};

static bool take_u32(struct cur *c, uint32_t *v)
{
	if (c->left < 4)
		return false;
	memcpy(v, c->p, 4);
	*v = ntohl(*v);
	c->p += 4;
	c->left -= 4;
	return true;
}

static bool take_str(struct cur *c, const char **s)
{
	const unsigned char *nul = memchr(c->p, 0, c->left);

	if (nul == NULL)
		return false;
	*s = (const char *)c->p;
	c->left -= (size_t)(nul + 1 - c->p);
	c->p = nul + 1;
	return true;
}

static int read_symlists(struct mproto *mp, struct cur *c, const char **err_r)
{
	uint32_t cls;
	const char *list;

	while (c->left > 0) {
		if (!take_u32(c, &cls) || !take_str(c, &list))
			return fail(mp, err_r, "negotiation reply: truncated macro list");
		/* Postfix ignores an unknown class (with a warning); so do we. */
		if (cls >= MPROTO_CLASS_UNKNOWN)
			continue;
		free(mp->neg.macros[cls]);
		if ((mp->neg.macros[cls] = strdup(list)) == NULL)
			return fail(mp, err_r, "out of memory");
	}
	return 0;
}

int mproto_negotiate(struct mproto *mp, uint32_t actions, uint32_t protocol, const char **err_r)
{
	struct cur c;
	char cmd;
	uint32_t opt[3] = {htonl(MPROTO_VERSION), htonl(actions), htonl(protocol)};

	mp->offered_protocol = protocol;
	put_packet(mp, SMFIC_OPTNEG, opt, sizeof(opt));
	if (flush(mp, err_r) < 0 || read_packet(mp, "SMFIC_OPTNEG", &cmd, err_r) < 0)
		return -1;
	if (cmd != SMFIC_OPTNEG)
		return fail(mp, err_r, "negotiation reply 0x%02x, want 'O'", (unsigned char)cmd);
	c = (struct cur){mp->in.data, mp->in.len};
	if (!take_u32(&c, &mp->neg.version) || !take_u32(&c, &mp->neg.actions) ||
	    !take_u32(&c, &mp->neg.protocol))
		return fail(mp, err_r, "negotiation reply of %zu bytes, want at least 12",
			    mp->in.len);
	if (mp->neg.version < 2 || mp->neg.version > MPROTO_VERSION)
		return fail(mp, err_r, "filter protocol version %u outside 2..6", mp->neg.version);
	if ((mp->neg.actions & ~actions) != 0)
		return fail(mp, err_r, "filter wants actions 0x%x not offered (offer 0x%x)",
			    mp->neg.actions & ~actions, actions);
	if ((mp->neg.protocol & ~protocol) != 0)
		return fail(mp, err_r, "filter wants protocol flags 0x%x not offered (offer 0x%x)",
			    mp->neg.protocol & ~protocol, protocol);
	/* As Postfix: never send an event the filter's version does not know. */
	if (mp->neg.version < 3)
		mp->np_mask = SMFIP_NOUNKNOWN | SMFIP_NODATA;
	else if (mp->neg.version < 4)
		mp->np_mask = SMFIP_NODATA;
	return read_symlists(mp, &c, err_r);
}

const struct mproto_neg *mproto_negotiated(const struct mproto *mp)
{
	return &mp->neg;
}

int mproto_set_macro_names(struct mproto *mp, enum mproto_class cls, const char *names,
			   const char **err_r)
{
	char *copy;

	if ((unsigned)cls >= MPROTO_CLASS_COUNT)
		return set_err(mp, err_r, "bad macro class %d", (int)cls);
	if ((copy = strdup(names)) == NULL)
		return set_err(mp, err_r, "out of memory");
	free(mp->names[cls]);
	mp->names[cls] = copy;
	return 0;
}

/*
 * put_macros - SMFIC_MACRO for one event. The filter's list for the class
 * replaces the MTA's; each name with a value is sent as written in the list
 * and looked up in braces (Postfix's milter_macro_lookup()). The packet goes
 * out even when no macro has a value, as in Postfix.
 */
static void put_macros(struct mproto *mp, enum mproto_class cls, char cmd)
{
	const char *list =
	    mp->neg.macros[cls] && *mp->neg.macros[cls] ? mp->neg.macros[cls] : mp->names[cls];
	const char *sep = " ,\t\r\n", *value;
	char name[256];
	size_t n;

	mp->mac.len = 0;
	buf_add(&mp->mac, &cmd, 1);
	for (list += strspn(list, sep); *list; list += n, list += strspn(list, sep)) {
		n = strcspn(list, sep);
		/* XXX: a name of 250 bytes or more cannot be a real macro; skip it. */
		if (n >= sizeof(name) - 3 || mp->o.lookup == NULL)
			continue;
		(void)snprintf(name, sizeof(name), *list == '{' ? "%.*s" : "{%.*s}", (int)n, list);
		if ((value = mp->o.lookup(name, mp->o.lookup_ctx)) == NULL)
			continue;
		buf_add(&mp->mac, list, n);
		buf_add(&mp->mac, "", 1);
		buf_str(&mp->mac, value);
	}
	put_packet(mp, SMFIC_MACRO, mp->mac.data, mp->mac.len);
}

static int add_mod(struct mproto *mp, const struct mod_def *d, uint32_t index, const char *name,
		   const void *value, size_t value_len, const char **err_r)
{
	struct mproto_mod *m;

	mp->mod_bytes += value_len + (name ? strlen(name) : 0);
	if (mp->nmods >= MPROTO_MAX_EOM_REPLIES || mp->mod_bytes > MPROTO_MAX_EOM_BYTES)
		return fail(mp, err_r, "more than %u requests or %u bytes of modifications",
			    MPROTO_MAX_EOM_REPLIES, MPROTO_MAX_EOM_BYTES);
	if (mp->nmods == mp->modcap) {
		size_t cap = mp->modcap ? mp->modcap * 2 : 16;
		if ((m = realloc(mp->mods, cap * sizeof(*m))) == NULL)
			return fail(mp, err_r, "out of memory");
		mp->mods = m;
		mp->modcap = cap;
	}
	m = &mp->mods[mp->nmods];
	*m = (struct mproto_mod){.type = d->type, .index = index, .value_len = value_len};
	m->name = name ? strdup(name) : NULL;
	if (value != NULL && (m->value = malloc(value_len + 1)) != NULL) {
		memcpy(m->value, value, value_len);
		m->value[value_len] = 0;
	}
	if ((name && !m->name) || (value && !m->value)) {
		free(m->name);
		free(m->value);
		return fail(mp, err_r, "out of memory");
	}
	mp->nmods++;
	return 0;
}

/* parse_mod - one modification request laid out as its mod_def says. */
static int parse_mod(struct mproto *mp, const struct mod_def *d, const char **err_r)
{
	struct cur c = {mp->in.data, mp->in.len};
	const char *l, *name = NULL, *val = NULL;
	const void *bytes = NULL;
	size_t blen = 0;
	uint32_t index = 0;
	bool ok = true;

	if ((mp->neg.actions & d->action) == 0)
		return fail(mp, err_r, "filter sent %s without negotiating action 0x%x",
			    mproto_mod_name(d->type), d->action);
	for (l = d->layout; *l && ok; l++) {
		if (*l == 'i')
			ok = take_u32(&c, &index);
		else if (*l == 's' || (*l == 'o' && c.left > 0))
			ok = take_str(&c, name == NULL ? &name : &val);
		else if (*l == 'b')
			bytes = c.p, blen = c.left, c.left = 0;
	}
	if (!ok || c.left != 0)
		return fail(mp, err_r, "malformed %s request (%zu bytes)", mproto_mod_name(d->type),
			    mp->in.len);
	if (d->type <= MPROTO_MOD_CHGHEADER && *name == 0)
		return fail(mp, err_r, "%s request with an empty header name",
			    mproto_mod_name(d->type));
	if (val != NULL)
		bytes = val, blen = strlen(val);
	return add_mod(mp, d, index, name, bytes, blen, err_r);
}

/* valid_smtp_reply - Postfix's milter8_valid_smtp_reply(): 4xx/5xx lines,
 * "ddd-" joined by CRLF, "ddd " last, enhanced code class matching. */
static bool valid_smtp_reply(const char *s, size_t len)
{
	const char *end = s + len;
	size_t n;
	bool last;

	while (s < end) {
		n = strcspn(s, "\r\n");
		last = s + n == end;
		if (n < 4 || (s[0] != '4' && s[0] != '5') || !isdigit((unsigned char)s[1]) ||
		    !isdigit((unsigned char)s[2]) || s[3] != (last ? ' ' : '-'))
			return false;
		if (n > 4 && isdigit((unsigned char)s[4]) && s[4] != s[0])
			return false;
		if (last)
			return true;
		if (s + n + 2 > end || s[n] != '\r' || s[n + 1] != '\n')
			return false;
		s += n + 2;
	}
	return false;
}

static int parse_replycode(struct mproto *mp, struct mproto_reply *r, const char **err_r)
{
	char *s = (char *)mp->in.data, *rp, *cp;
	size_t len = mp->in.len;

	if (len > 0 && s[len - 1] == 0)
		len--; /* one terminating NUL belongs to the protocol */
	if (memchr(s, 0, len) != NULL || !valid_smtp_reply(s, len))
		return fail(mp, err_r, "malformed SMFIR_REPLYCODE text \"%.100s\"", s);
	/* Sendmail treats the text as a format: Postfix turns "%%" into "%"
	 * and drops a lone "%"; the SMTP client sees the result. */
	for (rp = cp = s; *cp; cp++) {
		if (*cp == '%' && cp[1] != 0)
			cp++;
		else if (*cp == '%')
			continue;
		*rp++ = *cp;
	}
	*rp = 0;
	free(mp->reply_text);
	if ((mp->reply_text = strdup(s + 4)) == NULL)
		return fail(mp, err_r, "out of memory");
	r->code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	r->action = s[0] == '4' ? MPROTO_TEMPFAIL : MPROTO_REJECT;
	r->text = mp->reply_text;
	return 1;
}

/*
 * handle_reply - 1: final reply in *r; 0: read on; -1: error. *body tracks
 * SMFIR_REPLBODY: 0 none yet, 1 the last request, 2 ended by another one.
 */
static int handle_reply(struct mproto *mp, enum ev kind, char cmd, int *body,
			struct mproto_reply *r, const char **err_r)
{
	const struct ev_def *ev = &ev_defs[kind];
	size_t i;

	if (*body == 1 && cmd != SMFIR_REPLBODY)
		*body = 2;
	for (i = 0; i < COUNT(simple_replies); i++) {
		if (simple_replies[i].cmd != cmd)
			continue;
		if (mp->in.len != 0)
			return fail(mp, err_r, "reply '%c' to %s carries %zu data bytes", cmd,
				    ev->name, mp->in.len);
		if (cmd == SMFIR_SKIP && (mp->offered_protocol & SMFIP_SKIP) == 0)
			return fail(mp, err_r, "SMFIR_SKIP after %s, but SMFIP_SKIP not offered",
				    ev->name);
		mp->skip_cmd = cmd == SMFIR_SKIP ? ev->cmd : 0;
		r->action = simple_replies[i].action;
		return 1;
	}
	if (cmd == SMFIR_PROGRESS && mp->in.len == 0)
		return 0; /* still working: wait for the real reply */
	if (cmd == SMFIR_REPLYCODE)
		return parse_replycode(mp, r, err_r);
	for (i = 0; i < COUNT(mod_defs); i++) {
		if (mod_defs[i].cmd != cmd)
			continue;
		/* Postfix takes a quarantine request at any stage, edits only at EOM. */
		if (kind != EV_EOM && cmd != SMFIR_QUARANTINE)
			break;
		/* Postfix cannot resume a body replacement: an error there. */
		if (cmd == SMFIR_REPLBODY && *body == 2)
			return fail(mp, err_r, "SMFIR_REPLBODY after other requests");
		*body = cmd == SMFIR_REPLBODY ? 1 : *body;
		return parse_mod(mp, &mod_defs[i], err_r);
	}
	return fail(mp, err_r, "unexpected reply '%c' (0x%02x, %zu bytes) to %s",
		    isprint((unsigned char)cmd) ? cmd : '?', (unsigned char)cmd, mp->in.len,
		    ev->name);
}

/*
 * run_event - macros, event and reply for the event data in mp->ev, in
 * Postfix's order: version mask, SMFIR_SKIP, macros, SMFIP_NO*, the event,
 * SMFIP_NR_*, replies.
 */
static int run_event(struct mproto *mp, enum ev kind, struct mproto_reply *r, const char **err_r)
{
	const struct ev_def *ev = &ev_defs[kind];
	bool no = (mp->neg.protocol & ev->no_flag) != 0;
	char cmd;
	int rc, body = 0;
	unsigned n = 0;

	*r = (struct mproto_reply){.action = MPROTO_NOTSENT};
	if (mp->fd < 0)
		return set_err(mp, err_r, "not connected");
	if ((no && !ev->macros_when_no) || (mp->np_mask & ev->no_flag) || mp->skip_cmd == ev->cmd)
		return 0;
	mp->skip_cmd = 0;
	put_macros(mp, ev->cls, ev->cmd);
	if (!no)
		put_packet(mp, ev->cmd, mp->ev.data, mp->ev.len);
	if (mp->ev.oom || mp->mac.oom)
		return fail(mp, err_r, "out of memory building %s", ev->name);
	if (no || (mp->neg.protocol & ev->nr_flag) != 0) {
		if (flush_unless_delayed(mp, err_r) < 0)
			return -1;
	}
	if (no)
		return 0;
	if ((mp->neg.protocol & ev->nr_flag) != 0) {
		r->action = MPROTO_NOREPLY;
		return 0;
	}
	do {
		/* Bounded: SMFIR_PROGRESS forever would never hit the timeout. */
		if (++n > MPROTO_MAX_EOM_REPLIES)
			return fail(mp, err_r, "over %u replies to %s", MPROTO_MAX_EOM_REPLIES,
				    ev->name);
		if (read_packet(mp, ev->name, &cmd, err_r) < 0)
			return -1;
	} while ((rc = handle_reply(mp, kind, cmd, &body, r, err_r)) == 0);
	return rc < 0 ? -1 : 0;
}

int mproto_connect(struct mproto *mp, const char *host, char family, uint16_t port,
		   const char *addr, struct mproto_reply *r, const char **err_r)
{
	uint16_t nport = htons(family == SMFIA_UNIX ? 0 : port);

	if (family != SMFIA_INET && family != SMFIA_INET6 && family != SMFIA_UNIX &&
	    family != SMFIA_UNKNOWN)
		return set_err(mp, err_r, "bad address family '%c'", family);
	mp->ev.len = 0;
	buf_str(&mp->ev, host);
	buf_add(&mp->ev, &family, 1);
	/* Postfix sends neither port nor address for an unknown family. */
	if (family != SMFIA_UNKNOWN) {
		buf_add(&mp->ev, &nport, 2);
		buf_str(&mp->ev, addr);
	}
	return run_event(mp, EV_CONN, r, err_r);
}

int mproto_helo(struct mproto *mp, const char *helo, struct mproto_reply *r, const char **err_r)
{
	mp->ev.len = 0;
	buf_str(&mp->ev, helo);
	return run_event(mp, EV_HELO, r, err_r);
}

/* argv_event - MAIL or RCPT: the address in "<>", then ESMTP arguments. */
static int argv_event(struct mproto *mp, enum ev kind, const char *const *argv,
		      struct mproto_reply *r, const char **err_r)
{
	if (argv == NULL || argv[0] == NULL)
		return set_err(mp, err_r, "%s event without an address", ev_defs[kind].name);
	for (mp->ev.len = 0; *argv != NULL; argv++)
		buf_str(&mp->ev, *argv);
	return run_event(mp, kind, r, err_r);
}

int mproto_mail(struct mproto *mp, const char *const *argv, struct mproto_reply *r,
		const char **err_r)
{
	clear_mods(mp);
	return argv_event(mp, EV_MAIL, argv, r, err_r);
}

int mproto_rcpt(struct mproto *mp, const char *const *argv, struct mproto_reply *r,
		const char **err_r)
{
	return argv_event(mp, EV_RCPT, argv, r, err_r);
}

int mproto_data(struct mproto *mp, struct mproto_reply *r, const char **err_r)
{
	mp->ev.len = 0;
	return run_event(mp, EV_DATA, r, err_r);
}

int mproto_unknown(struct mproto *mp, const char *command, struct mproto_reply *r,
		   const char **err_r)
{
	mp->ev.len = 0;
	buf_str(&mp->ev, command);
	return run_event(mp, EV_UNKN, r, err_r);
}

int mproto_header(struct mproto *mp, const char *name, const char *value, struct mproto_reply *r,
		  const char **err_r)
{
	/* Sendmail eats one space (not a tab) after the colon; Postfix too,
	 * unless the filter asked for the value as is. */
	if ((mp->neg.protocol & SMFIP_HDR_LEADSPC) == 0 && value[0] == ' ')
		value++;
	mp->ev.len = 0;
	buf_str(&mp->ev, name);
	buf_str(&mp->ev, value);
	return run_event(mp, EV_HDR, r, err_r);
}

int mproto_eoh(struct mproto *mp, struct mproto_reply *r, const char **err_r)
{
	mp->ev.len = 0;
	return run_event(mp, EV_EOH, r, err_r);
}

int mproto_body(struct mproto *mp, const void *chunk, size_t len, struct mproto_reply *r,
		const char **err_r)
{
	if (len == 0 || len > MPROTO_CHUNK_MAX)
		return set_err(mp, err_r, "body chunk of %zu bytes outside 1..%u", len,
			       MPROTO_CHUNK_MAX);
	mp->ev.len = 0;
	buf_add(&mp->ev, chunk, len);
	return run_event(mp, EV_BODY, r, err_r);
}

int mproto_eom(struct mproto *mp, struct mproto_reply *r, const char **err_r)
{
	mp->ev.len = 0;
	return run_event(mp, EV_EOM, r, err_r);
}

int mproto_abort(struct mproto *mp, const char **err_r)
{
	put_packet(mp, SMFIC_ABORT, "", 0);
	return flush_unless_delayed(mp, err_r);
}

int mproto_quit(struct mproto *mp, const char **err_r)
{
	int rc;

	put_packet(mp, SMFIC_QUIT, "", 0);
	rc = flush(mp, err_r);
	close_fd(mp);
	return rc;
}

const struct mproto_mod *mproto_mods(const struct mproto *mp, size_t *n_r)
{
	*n_r = mp->nmods;
	return mp->mods;
}
