/*
 * mcheck.c - the milter reply promises, checked on the wire; what they
 * are in mcheck.h.  Constants only from libmilter's headers.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>

#include "fuzz.h"
#include "mcheck.h"

/* Fail with what, the command and the agreed steps. */
static void fail_at(const char *file, int line, const char *what, char cmd,
		    const struct mcheck_neg *neg)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s (command '%c' 0x%02x, actions 0x%x, steps 0x%x)", what,
		 cmd >= 0x20 && cmd < 0x7f ? cmd : '?', (unsigned char)cmd, neg->actions,
		 neg->steps);
	fuzz_fail(file, line, msg);
}

#define MCHECK(cond, what)                                                                         \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_at(__FILE__, __LINE__, (what), cmd, neg);                             \
	} while (0)

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* How many NUL-terminated strings data[0..len) is; -1 unless it ends in NUL. */
static int nstrings(const unsigned char *data, size_t len)
{
	int n = 0;

	if (len == 0 || data[len - 1] != '\0')
		return -1;
	for (size_t i = 0; i < len; i++)
		n += data[i] == '\0';
	return n;
}

/* The SMFIP_NR_* flag of cmd's stage; 0 when it always wants a reply. */
static uint32_t nr_flag(char cmd)
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

/* Final replies cmd wants after negotiation: 0 or 1; -1 for a command the
 * engine must refuse (unknown). */
static int finals_wanted(const struct mcheck_neg *neg, char cmd)
{
	switch (cmd) {
	case SMFIC_MACRO:
	case SMFIC_ABORT:
	case SMFIC_QUIT:
	case SMFIC_QUIT_NC:
		return 0;
	case SMFIC_BODYEOB:
		return 1;
	case SMFIC_OPTNEG:
		return -1; /* a second one */
	default:
		if (nr_flag(cmd) == 0)
			return -1;
		return (neg->steps & nr_flag(cmd)) ? 0 : 1;
	}
}

/* SMFIR_REPLYCODE: "rcode SP xcode SP text" NUL. */
static void check_replycode(const struct mcheck_neg *neg, char cmd, const unsigned char *d,
			    size_t n)
{
	char buf[1024], *xcode, *text;

	MCHECK(nstrings(d, n) == 1, "SMFIR_REPLYCODE not one string");
	MCHECK(n <= sizeof(buf), "SMFIR_REPLYCODE longer than 1023 bytes");
	memcpy(buf, d, n);
	MCHECK(n >= 5 && buf[3] == ' ', "SMFIR_REPLYCODE without \"NNN \"");
	buf[3] = '\0';
	xcode = buf + 4;
	text = strchr(xcode, ' ');
	MCHECK(text != NULL, "SMFIR_REPLYCODE without an enhanced code and a space");
	*text++ = '\0';
	fuzz_check_reply(buf, xcode, text);
}

/* SMFIR_ADDHEADER (index NULL) or INSHEADER/CHGHEADER: [index] name value. */
static void check_edit(const struct mcheck_neg *neg, char cmd, char code, const unsigned char *d,
		       size_t n)
{
	const char *name, *value;

	if (code != SMFIR_ADDHEADER) {
		MCHECK(n >= 4, "header change without its index");
		MCHECK(get32(d) < 0x80000000u, "negative header index");
		d += 4;
		n -= 4;
	}
	MCHECK(nstrings(d, n) == 2, "header change not a name and a value");
	name = (const char *)d;
	value = name + strlen(name) + 1;
	MCHECK(code != SMFIR_CHGHEADER || name[0] != '\0', "header change without a name");
	fuzz_check_header(name, value, true);
}

/* One packet of the reply to cmd; *finals counts the final replies so far. */
static void check_packet(const struct mcheck_neg *neg, char cmd, char code, const unsigned char *d,
			 size_t n, int *finals)
{
	switch (code) {
	case SMFIR_CONTINUE:
	case SMFIR_ACCEPT:
	case SMFIR_REJECT:
	case SMFIR_TEMPFAIL:
	case SMFIR_DISCARD:
		MCHECK(n == 0, "data in a simple reply");
		(*finals)++;
		return;
	case SMFIR_REPLYCODE:
		check_replycode(neg, cmd, d, n);
		(*finals)++;
		return;
	case SMFIR_ADDHEADER:
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
	case SMFIR_QUARANTINE:
		MCHECK(cmd == SMFIC_BODYEOB, "message change outside end of message");
		MCHECK(*finals == 0, "message change after the final reply");
		break;
	default:
		MCHECK(false, "unknown reply code");
	}
	if (code == SMFIR_QUARANTINE) {
		MCHECK(neg->actions & SMFIF_QUARANTINE, "quarantine not agreed");
		MCHECK(nstrings(d, n) == 1 && d[0] != '\0', "quarantine reason not one string");
		MCHECK(strpbrk((const char *)d, "\r\n") == NULL, "line end in a quarantine reason");
		return;
	}
	MCHECK(neg->actions & (code == SMFIR_CHGHEADER ? SMFIF_CHGHDRS : SMFIF_ADDHDRS),
	       "header change not agreed");
	check_edit(neg, cmd, code, d, n);
}

/* The reply to SMFIC_OPTNEG (offer in data): one packet, a subset. */
static void check_optneg(struct mcheck_neg *neg, char cmd, const unsigned char *data, size_t len,
			 const unsigned char *out, size_t outlen)
{
	const unsigned char *d = out + 5;
	size_t n;

	MCHECK(len >= 12, "short negotiation accepted");
	MCHECK(get32(data) >= 2, "negotiation of protocol version 1 accepted");
	MCHECK(outlen >= 5 + 12 && out[4] == SMFIC_OPTNEG, "negotiation not answered");
	n = get32(out) - 1;
	MCHECK(5 + n == outlen, "negotiation answered with more than one packet");
	MCHECK(get32(d) >= 2 && get32(d) <= get32(data), "negotiated version not offered");
	neg->actions = get32(d + 4);
	neg->steps = get32(d + 8);
	MCHECK((neg->actions & ~get32(data + 4)) == 0, "negotiated actions not offered");
	MCHECK((neg->steps & ~get32(data + 8)) == 0, "negotiated steps not offered");
	for (size_t i = 12; i < n;) {
		const unsigned char *nul;

		MCHECK(neg->actions & SMFIF_SETSYMLIST, "macro lists without SMFIF_SETSYMLIST");
		MCHECK(n - i > 4 && get32(d + i) <= SMFIM_LAST, "macro list of no stage");
		nul = memchr(d + i + 4, '\0', n - i - 4);
		MCHECK(nul != NULL, "macro list without its NUL");
		i = (size_t)(nul - d) + 1;
	}
	neg->done = true;
}

void mcheck_replies(struct mcheck_neg *neg, char cmd, const unsigned char *data, size_t len,
		    const unsigned char *out, size_t outlen, bool ended)
{
	int finals = 0, want;

	if (ended) {
		MCHECK(outlen == 0, "a reply to a packet that ended the connection");
		return;
	}
	MCHECK(cmd != SMFIC_QUIT, "the connection goes on after QUIT");
	if (!neg->done) {
		MCHECK(cmd == SMFIC_OPTNEG, "a command accepted before negotiation");
		check_optneg(neg, cmd, data, len, out, outlen);
		return;
	}
	want = finals_wanted(neg, cmd);
	MCHECK(want >= 0, "a command accepted that the engine does not know, or a second "
			  "negotiation");
	for (size_t i = 0; i < outlen;) {
		size_t n;

		MCHECK(outlen - i >= 5, "reply packet shorter than its header");
		n = get32(out + i);
		MCHECK(n >= 1 && n - 1 <= outlen - i - 5, "reply packet length wrong");
		check_packet(neg, cmd, (char)out[i + 4], out + i + 5, n - 1, &finals);
		MCHECK(finals <= 1, "two final replies to one command");
		i += 4 + n;
	}
	MCHECK(finals == want, want ? "no final reply where the MTA waits for one"
				    : "a reply at a stage negotiated as no-reply");
}
