/*
 * mproto_msg.c - a message as the MTA holds it, Postfix's header edits on
 * it, and the text helpers of the milter test client; contract in mproto.h.
 *
 * Owns the header list and body of one message. Parsing follows what an
 * MTA does with a message received over SMTP: header continuation lines
 * are joined with "\n" (Postfix's mime_state), the body gets CRLF line
 * ends. Edits follow Postfix's cleanup_milter.c, including its Sendmail
 * compatibility rules for header indexes. No limits of its own: the caller
 * bounds the input size.
 */
#include "mproto.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

/* concat - a followed by b in one new string. */
static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 1);

	if (p != NULL) {
		memcpy(p, a, la);
		memcpy(p + la, b, lb + 1);
	}
	return p;
}

/* insert_hdr - put a header at position at (0..nhdrs); takes name and raw. */
static int insert_hdr(struct mproto_msg *msg, size_t at, char *name, char *raw, bool hidden)
{
	struct mproto_hdr *h;

	if (name == NULL || raw == NULL)
		goto nomem;
	if (msg->nhdrs == msg->cap) {
		size_t cap = msg->cap ? msg->cap * 2 : 32;
		if ((h = realloc(msg->hdrs, cap * sizeof(*h))) == NULL)
			goto nomem;
		msg->hdrs = h;
		msg->cap = cap;
	}
	memmove(msg->hdrs + at + 1, msg->hdrs + at, (msg->nhdrs - at) * sizeof(*msg->hdrs));
	msg->hdrs[at] = (struct mproto_hdr){name, raw, hidden};
	msg->nhdrs++;
	return 0;
nomem:
	free(name);
	free(raw);
	return -1;
}

static void delete_hdr(struct mproto_msg *msg, size_t at)
{
	free(msg->hdrs[at].name);
	free(msg->hdrs[at].raw);
	memmove(msg->hdrs + at, msg->hdrs + at + 1, (msg->nhdrs - at - 1) * sizeof(*msg->hdrs));
	msg->nhdrs--;
}

/* header_name_len - length of the name of a "name [WSP] :" line, else 0
 * (Postfix's is_header(): printable ASCII but ':', then blanks, then ':'). */
static size_t header_name_len(const char *s, size_t len, size_t *colon_r)
{
	size_t n = 0, c;

	while (n < len && s[n] > ' ' && s[n] < 0x7f && s[n] != ':')
		n++;
	for (c = n; c < len && (s[c] == ' ' || s[c] == '\t'); c++)
		;
	if (n == 0 || c >= len || s[c] != ':')
		return 0;
	*colon_r = c;
	return n;
}

/* append_cont - a continuation line joins the previous header with "\n". */
static int append_cont(struct mproto_msg *msg, const char *line, size_t len)
{
	struct mproto_hdr *h = &msg->hdrs[msg->nhdrs - 1];
	size_t old = strlen(h->raw);
	char *p = realloc(h->raw, old + len + 2);

	if (p == NULL)
		return -1;
	p[old] = '\n';
	memcpy(p + old + 1, line, len);
	p[old + 1 + len] = 0;
	h->raw = p;
	return 0;
}

/* parse_body - text from the first body line on, with CRLF line ends. */
static int parse_body(struct mproto_msg *msg, const char *text, size_t len)
{
	size_t i, o = 0;

	if ((msg->body = malloc(2 * len + 3)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
			msg->body[o++] = '\r';
		msg->body[o++] = text[i];
	}
	/* SMTP cannot carry a last line without its end: the MTA has one. */
	if (o > 0 && msg->body[o - 1] != '\n') {
		msg->body[o++] = '\r';
		msg->body[o++] = '\n';
	}
	msg->body_len = o;
	return 0;
}

int mproto_msg_parse(struct mproto_msg **msg_r, const char *text, size_t len, const char **err_r)
{
	struct mproto_msg *msg = calloc(1, sizeof(*msg));
	const char *line, *nl;
	size_t pos = 0, n, ln, colon, hn;
	int rc = 0;

	while (msg != NULL && pos < len && rc == 0) {
		line = text + pos;
		nl = memchr(line, '\n', len - pos);
		ln = n = nl ? (size_t)(nl - line) : len - pos;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0) { /* the empty line between header and body */
			pos += ln + (nl != NULL);
			break;
		}
		if ((line[0] == ' ' || line[0] == '\t') && msg->nhdrs > 0)
			rc = append_cont(msg, line, n);
		else if ((hn = header_name_len(line, n, &colon)) > 0)
			rc = insert_hdr(msg, msg->nhdrs, dup_n(line, hn),
					dup_n(line + colon + 1, n - colon - 1), false);
		else
			break; /* XXX: no empty line; Postfix's MIME-Error: header not emulated */
		pos += ln + (nl != NULL);
	}
	if (msg == NULL || rc < 0 || parse_body(msg, text + pos, len - pos) < 0) {
		mproto_msg_free(&msg);
		*err_r = "out of memory parsing the message";
		return -1;
	}
	*msg_r = msg;
	return 0;
}

int mproto_msg_prepend_hidden(struct mproto_msg *msg, const char *name, const char *raw,
			      const char **err_r)
{
	const char *space = raw[0] == ' ' || raw[0] == '\t' ? "" : " ";

	if (insert_hdr(msg, 0, strdup(name), concat(space, raw), true) < 0) {
		*err_r = "out of memory";
		return -1;
	}
	return 0;
}

/* find_named - position of the n-th (1-based) header called name, not
 * counting hidden ones (Postfix matches only what the filter saw), or
 * nhdrs. */
static size_t find_named(const struct mproto_msg *msg, const char *name, uint32_t n)
{
	size_t i;

	for (i = 0; i < msg->nhdrs; i++)
		if (!msg->hdrs[i].hidden && strcasecmp(msg->hdrs[i].name, name) == 0 && --n == 0)
			break;
	return i;
}

/* apply_one - one header edit; what Postfix's cleanup_{add,ins,upd,del}_header do. */
static int apply_one(struct mproto_msg *msg, const struct mproto_mod *m, const char *space)
{
	size_t at;

	switch (m->type) {
	case MPROTO_MOD_ADDHEADER:
		return insert_hdr(msg, msg->nhdrs, strdup(m->name), concat(space, m->value), false);
	case MPROTO_MOD_INSHEADER:
		/* Index 0 is the top; it counts hidden headers: the message "as
		 * delivered". Past the end means append. */
		at = m->index < msg->nhdrs ? m->index : msg->nhdrs;
		return insert_hdr(msg, at, strdup(m->name), concat(space, m->value), false);
	case MPROTO_MOD_CHGHEADER:
		/* Sendmail compatibility: index 0 means 1. Changing a header that
		 * is not there adds it; deleting one is a no-op. */
		at = find_named(msg, m->name, m->index ? m->index : 1);
		if (m->value[0] == 0) {
			if (at < msg->nhdrs)
				delete_hdr(msg, at);
			return 0;
		}
		if (at < msg->nhdrs)
			delete_hdr(msg, at);
		return insert_hdr(msg, at, strdup(m->name), concat(space, m->value), false);
	default:
		return 0;
	}
}

/* replace_body - the concatenated SMFIR_REPLBODY chunks become the body. */
static int replace_body(struct mproto_msg *msg, const struct mproto_mod *mods, size_t n)
{
	size_t i, len = 0;
	char *body;

	for (i = 0; i < n; i++)
		len += mods[i].type == MPROTO_MOD_REPLBODY ? mods[i].value_len : 0;
	if ((body = malloc(len + 1)) == NULL)
		return -1;
	for (len = 0, i = 0; i < n; i++) {
		if (mods[i].type != MPROTO_MOD_REPLBODY)
			continue;
		memcpy(body + len, mods[i].value, mods[i].value_len);
		len += mods[i].value_len;
	}
	free(msg->body);
	msg->body = body;
	msg->body_len = len;
	return 0;
}

int mproto_msg_apply(struct mproto_msg *msg, const struct mproto_mod *mods, size_t n, bool leadspc,
		     const char **err_r)
{
	const char *space = leadspc ? "" : " ";
	bool new_body = false;
	size_t i;

	for (i = 0; i < n; i++) {
		new_body |= mods[i].type == MPROTO_MOD_REPLBODY;
		if (apply_one(msg, &mods[i], space) < 0) {
			*err_r = "out of memory applying modifications";
			return -1;
		}
	}
	if (new_body && replace_body(msg, mods, n) < 0) {
		*err_r = "out of memory replacing the body";
		return -1;
	}
	return 0;
}

/* write_lines - text with each "\n" or "\r\n" written as eol; a last line
 * without one gets eol when final_eol is set (Postfix stores lines). */
static void write_lines(FILE *fp, const char *s, size_t len, const char *eol, bool final_eol)
{
	const char *nl;
	size_t n;

	while (len > 0) {
		nl = memchr(s, '\n', len);
		n = nl ? (size_t)(nl - s) : len;
		(void)fwrite(s, 1, n > 0 && nl && s[n - 1] == '\r' ? n - 1 : n, fp);
		if (nl != NULL || final_eol)
			fputs(eol, fp);
		n += nl != NULL;
		s += n;
		len -= n;
	}
}

int mproto_msg_write(const struct mproto_msg *msg, FILE *fp, const char *eol)
{
	size_t i;

	for (i = 0; i < msg->nhdrs; i++) {
		fprintf(fp, "%s:", msg->hdrs[i].name);
		write_lines(fp, msg->hdrs[i].raw, strlen(msg->hdrs[i].raw), eol, false);
		fputs(eol, fp);
	}
	fputs(eol, fp);
	write_lines(fp, msg->body, msg->body_len, eol, true);
	return ferror(fp) ? -1 : 0;
}

void mproto_msg_free(struct mproto_msg **msg_r)
{
	struct mproto_msg *msg = *msg_r;
	size_t i;

	if (msg == NULL)
		return;
	for (i = 0; i < msg->nhdrs; i++) {
		free(msg->hdrs[i].name);
		free(msg->hdrs[i].raw);
	}
	free(msg->hdrs);
	free(msg->body);
	free(msg);
	*msg_r = NULL;
}

void mproto_print_escaped(FILE *fp, const void *s, size_t len)
{
	const unsigned char *p = s;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(fp, "\\%c", p[i]);
		else if (p[i] == '\n')
			fputs("\\n", fp);
		else if (p[i] == '\r')
			fputs("\\r", fp);
		else if (p[i] == '\t')
			fputs("\\t", fp);
		else if (p[i] < 0x20 || p[i] >= 0x7f)
			fprintf(fp, "\\x%02x", p[i]);
		else
			fputc(p[i], fp);
	}
}

const char *mproto_action_name(enum mproto_action a)
{
	static const char *const names[] = {"continue", "accept",  "reject",
					    "tempfail", "discard", "skip",
					    "shutdown", "noreply", "notsent"};

	return (unsigned)a < COUNT(names) ? names[a] : "?";
}

const char *mproto_mod_name(enum mproto_mod_type t)
{
	static const char *const names[] = {"addheader", "insheader",  "chgheader",
					    "replbody",	 "addrcpt",    "addrcpt_par",
					    "delrcpt",	 "quarantine", "chgfrom"};

	return (unsigned)t < COUNT(names) ? names[t] : "?";
}

const char *mproto_class_name(enum mproto_class c)
{
	static const char *const names[] = {"connect", "helo", "mail", "rcpt",
					    "data",    "eom",  "eoh",  "unknown"};

	return (unsigned)c < COUNT(names) ? names[c] : "?";
}

const char *mproto_flag_names(uint32_t bits, bool protocol, char *buf, size_t size)
{
	static const char *const pnames[] = {
	    "NOCONNECT", "NOHELO",    "NOMAIL",	 "NORCPT",  "NOBODY",	"NOHDRS",  "NOEOH",
	    "NR_HDR",	 "NOUNKNOWN", "NODATA",	 "SKIP",    "RCPT_REJ", "NR_CONN", "NR_HELO",
	    "NR_MAIL",	 "NR_RCPT",   "NR_DATA", "NR_UNKN", "NR_EOH",	"NR_BODY", "HDR_LEADSPC"};
	static const char *const anames[] = {"ADDHDRS", "CHGBODY",     "ADDRCPT",
					     "DELRCPT", "CHGHDRS",     "QUARANTINE",
					     "CHGFROM", "ADDRCPT_PAR", "SETSYMLIST"};
	const char *const *names = protocol ? pnames : anames;
	size_t count = protocol ? COUNT(pnames) : COUNT(anames), len = 0;
	unsigned i;
	int n;

	buf[0] = 0;
	for (i = 0; i < 32 && len < size; i++) {
		if ((bits & (1u << i)) == 0)
			continue;
		if (i < count)
			n = snprintf(buf + len, size - len, "%s%s", len ? "," : "", names[i]);
		else
			n = snprintf(buf + len, size - len, "%s0x%x", len ? "," : "", 1u << i);
		len += n > 0 ? (size_t)n : 0;
	}
	return buf;
}
