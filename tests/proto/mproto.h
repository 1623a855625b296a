/*
 * mproto.h - the MTA side of the Sendmail milter protocol, version 6, for tests.
 *
 * This module speaks to a milter the way Postfix's milter8 client does: it
 * offers every action and protocol flag a version 6 MTA offers, honours the
 * filter's SMFIP_NO* (stage not sent) and SMFIP_NR_* (no reply) flags, sends
 * an SMFIC_MACRO packet before each event exactly where Postfix does, and
 * collects the modification requests of the end-of-message stage. A second
 * part (mproto_msg.c) holds an RFC 5322 message as headers plus a CRLF body
 * and applies header edits with Postfix's cleanup(8) semantics, so that a
 * test can compare the delivered message byte for byte.
 *
 * Limits it enforces: no packet from the filter longer than MPROTO_MAX_PACKET,
 * no more than MPROTO_MAX_EOM_BYTES of modification data per message, every
 * read and write bounded by the per-connection timeout. Any violation of the
 * protocol closes the connection and yields one line of error text.
 *
 * Thread use: there is no global state; one struct mproto per connection,
 * used by one thread at a time. Error text lives in the struct and stays
 * valid until the next call on it.
 *
 * Read more: libmilter/mfdef.h (codes), Postfix src/milter/milter8.c (MTA
 * behaviour), Postfix src/cleanup/cleanup_milter.c (header edit semantics).
 */
#ifndef OUTPOST_TESTS_MPROTO_H
#define OUTPOST_TESTS_MPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MPROTO_VERSION 6
/* SMFIF_ADDHDRS .. SMFIF_SETSYMLIST: every action Postfix offers. */
#define MPROTO_ACTIONS_ALL 0x000001ffu
/* Every SMFIP_ bit of version 6 (SMFI_CURR_PROT), as Postfix offers it. */
#define MPROTO_PROTOCOL_ALL 0x001fffffu
/* Largest packet accepted from a filter: a 1 MiB data size plus slack. */
#define MPROTO_MAX_PACKET (1024u * 1024u + 64u * 1024u)
/* Largest SMFIC_BODY chunk (MILTER_CHUNK_SIZE). */
#define MPROTO_CHUNK_MAX 65535u
/* Total modification data accepted at end of message. */
#define MPROTO_MAX_EOM_BYTES (64u * 1024u * 1024u)
/* Modification requests accepted at end of message. */
#define MPROTO_MAX_EOM_REPLIES 100000u

/* Macro classes, numbered as the SMFIM_* values of the negotiation reply. */
enum mproto_class {
	MPROTO_CLASS_CONNECT = 0,
	MPROTO_CLASS_HELO = 1,
	MPROTO_CLASS_MAIL = 2,
	MPROTO_CLASS_RCPT = 3,
	MPROTO_CLASS_DATA = 4,
	MPROTO_CLASS_EOM = 5,
	MPROTO_CLASS_EOH = 6,
	MPROTO_CLASS_UNKNOWN = 7, /* MTA-side only: macros for SMFIC_UNKNOWN */
	MPROTO_CLASS_COUNT = 8
};

/* What became of one event. */
enum mproto_action {
	MPROTO_CONTINUE, /* SMFIR_CONTINUE */
	MPROTO_ACCEPT,	 /* SMFIR_ACCEPT */
	MPROTO_REJECT,	 /* SMFIR_REJECT, or SMFIR_REPLYCODE with a 5xx code */
	MPROTO_TEMPFAIL, /* SMFIR_TEMPFAIL, or SMFIR_REPLYCODE with a 4xx code */
	MPROTO_DISCARD,	 /* SMFIR_DISCARD */
	MPROTO_SKIP,	 /* SMFIR_SKIP: no more events of this kind */
	MPROTO_SHUTDOWN, /* SMFIR_SHUTDOWN: the MTA answers 421 */
	MPROTO_NOREPLY,	 /* sent; the filter negotiated SMFIP_NR_* for it */
	MPROTO_NOTSENT	 /* not sent: SMFIP_NO*, older version, or after SKIP */
};

struct mproto_reply {
	enum mproto_action action;
	int code;	  /* SMTP code of an SMFIR_REPLYCODE, else 0 */
	const char *text; /* its text after "ddd ", "%%" undone; else NULL */
};

enum mproto_mod_type {
	MPROTO_MOD_ADDHEADER,	/* name, value */
	MPROTO_MOD_INSHEADER,	/* index, name, value */
	MPROTO_MOD_CHGHEADER,	/* index, name, value ("" deletes) */
	MPROTO_MOD_REPLBODY,	/* value, value_len: one chunk of the new body */
	MPROTO_MOD_ADDRCPT,	/* name = address */
	MPROTO_MOD_ADDRCPT_PAR, /* name = address, value = ESMTP args or NULL */
	MPROTO_MOD_DELRCPT,	/* name = address */
	MPROTO_MOD_QUARANTINE,	/* name = reason */
	MPROTO_MOD_CHGFROM	/* name = address, value = ESMTP args or NULL */
};

struct mproto_mod {
	enum mproto_mod_type type;
	uint32_t index;
	char *name;
	char *value;
	size_t value_len;
};

/* The filter's answer to SMFIC_OPTNEG. */
struct mproto_neg {
	uint32_t version;
	uint32_t actions;		  /* SMFIF_* the filter may use */
	uint32_t protocol;		  /* SMFIP_* the filter chose */
	char *macros[MPROTO_CLASS_COUNT]; /* its macro list per class or NULL */
};

/*
 * Macro value lookup. name is always in braces ("{j}", "{auth_authen}").
 * Return the value, or NULL when the macro has no value at this point (it
 * is then left out of the packet, as Postfix does). The string must stay
 * valid until the event call returns.
 */
typedef const char *(*mproto_lookup_fn)(const char *name, void *ctx);

struct mproto;

/* Settings of one connection. */
struct mproto_opts {
	unsigned timeout_ms;	 /* bounds each packet read or write, and connect */
	mproto_lookup_fn lookup; /* macro values; NULL sends none */
	void *lookup_ctx;
	FILE *trace; /* every packet sent and received, or NULL */
	/*
	 * TCP_QUICKACK after each read. Off, as in Postfix: a filter that
	 * writes two small replies then waits ~40 ms for our delayed ACK
	 * (Nagle on its side). A benchmark of the filter may want it on.
	 */
	bool quickack;
	/*
	 * Write as Postfix does: its milter stream is double-buffered, so a
	 * command that needs no reply (SMFIP_NR_*, SMFIC_ABORT) waits in a
	 * 4096-byte buffer and goes out with the next command whose reply is
	 * read, or when the buffer fills. Off: every command is written at
	 * once, as Sendmail does.
	 */
	bool delay_writes;
};

/*
 * mproto_new - a closed connection with Postfix's default macro lists;
 * opts is copied. Returns NULL only when out of memory. Free with
 * mproto_free().
 */
struct mproto *mproto_new(const struct mproto_opts *opts);

/* mproto_free - close without SMFIC_QUIT and free; accepts NULL. */
void mproto_free(struct mproto **mp);

/*
 * mproto_open - connect to spec: "unix:/path", "local:/path",
 * "inet:PORT@HOST", "inet6:PORT@HOST" (HOST defaults to loopback) or
 * Postfix's "inet:HOST:PORT". TCP sockets get TCP_NODELAY.
 * Returns 0, or -1 with *err_r set.
 */
int mproto_open(struct mproto *mp, const char *spec, const char **err_r);

/*
 * mproto_negotiate - send SMFIC_OPTNEG (version 6 with the given action and
 * protocol offers; Postfix offers MPROTO_ACTIONS_ALL, MPROTO_PROTOCOL_ALL)
 * and read the filter's choice. Fails when the filter asks for an action or
 * a protocol flag not offered, or names a version outside 2..6.
 * Returns 0, or -1 with *err_r set. Call once, right after mproto_open().
 */
int mproto_negotiate(struct mproto *mp, uint32_t actions, uint32_t protocol, const char **err_r);

/* mproto_negotiated - the filter's choice; valid after mproto_negotiate(). */
const struct mproto_neg *mproto_negotiated(const struct mproto *mp);

/*
 * mproto_set_macro_names - the MTA's macro list for one class, names
 * separated by spaces or commas (like Postfix's milter_*_macros). A list
 * the filter sends via SMFIR_SETSYMLIST replaces it for that class, as in
 * Postfix. Returns 0, or -1 with *err_r set (out of memory).
 */
int mproto_set_macro_names(struct mproto *mp, enum mproto_class cls, const char *names,
			   const char **err_r);

/*
 * The events. Each sends the macros of its class first (Postfix does so
 * even for SMFIC_CONNECT..SMFIC_DATA when the filter asked not to get the
 * event itself), then the event unless the filter asked to skip it, then
 * reads the reply unless the filter negotiated no reply for it. *r is
 * filled; r->text stays valid until the next call on mp.
 * Each returns 0, or -1 with *err_r set after a protocol violation, a
 * timeout or an I/O error; the connection is then closed.
 *
 * mproto_connect: family is '4', '6', 'L' (port ignored) or 'U' (port and
 *	addr not sent). host is sent as given ("[addr]" for an unknown name).
 * mproto_mail, mproto_rcpt: argv[0] is "<address>", then ESMTP
 *	arguments; NULL-terminated. mproto_mail forgets earlier modifications.
 * mproto_header: value is the raw text after the colon, continuation lines
 *	joined by "\n"; one leading space is removed unless the filter
 *	negotiated SMFIP_HDR_LEADSPC (what Postfix does).
 * mproto_body: one chunk of at most MPROTO_CHUNK_MAX bytes of CRLF text.
 * mproto_eom: reads every modification request (see mproto_mods()) until
 *	the final reply; SMFIR_PROGRESS is skipped.
 */
int mproto_connect(struct mproto *mp, const char *host, char family, uint16_t port,
		   const char *addr, struct mproto_reply *r, const char **err_r);
int mproto_helo(struct mproto *mp, const char *helo, struct mproto_reply *r, const char **err_r);
int mproto_mail(struct mproto *mp, const char *const *argv, struct mproto_reply *r,
		const char **err_r);
int mproto_rcpt(struct mproto *mp, const char *const *argv, struct mproto_reply *r,
		const char **err_r);
int mproto_data(struct mproto *mp, struct mproto_reply *r, const char **err_r);
int mproto_unknown(struct mproto *mp, const char *command, struct mproto_reply *r,
		   const char **err_r);
int mproto_header(struct mproto *mp, const char *name, const char *value, struct mproto_reply *r,
		  const char **err_r);
int mproto_eoh(struct mproto *mp, struct mproto_reply *r, const char **err_r);
int mproto_body(struct mproto *mp, const void *chunk, size_t len, struct mproto_reply *r,
		const char **err_r);
int mproto_eom(struct mproto *mp, struct mproto_reply *r, const char **err_r);

/*
 * mproto_abort - SMFIC_ABORT (no reply). Postfix sends it after every
 * transaction that got as far as MAIL, whatever its outcome; with
 * delay_writes it goes out with the next command written.
 * mproto_quit - SMFIC_QUIT (no reply), then close.
 * Both return 0, or -1 with *err_r set.
 */
int mproto_abort(struct mproto *mp, const char **err_r);
int mproto_quit(struct mproto *mp, const char **err_r);

/*
 * mproto_mods - the modification requests received since the last
 * mproto_mail(), in order (SMFIR_QUARANTINE may come at any stage). The
 * array belongs to mp and stays valid until the next mproto_mail() or
 * mproto_free().
 */
const struct mproto_mod *mproto_mods(const struct mproto *mp, size_t *n_r);

/* Names for output: "continue", "addheader", "connect", "NR_HDR", ... */
const char *mproto_action_name(enum mproto_action a);
const char *mproto_mod_name(enum mproto_mod_type t);
const char *mproto_class_name(enum mproto_class c);
/* mproto_flag_names - comma-separated names of the set SMFIP_ (protocol)
 * or SMFIF_ bits, written into buf (truncated to size); returns buf. */
const char *mproto_flag_names(uint32_t bits, bool protocol, char *buf, size_t size);
/* mproto_print_escaped - s as C-style escaped text: \" \\ \r \n \t \xNN. */
void mproto_print_escaped(FILE *fp, const void *s, size_t len);

/*
 * A message as the MTA holds it: headers in order and the body in CRLF
 * form. raw is the text after the colon (leading space included,
 * continuation lines joined by "\n"). A hidden header is in the delivered
 * message but not shown to the filter (Postfix's own Received: header).
 */
struct mproto_hdr {
	char *name;
	char *raw;
	bool hidden;
};

struct mproto_msg {
	struct mproto_hdr *hdrs;
	size_t nhdrs;
	size_t cap;
	char *body; /* CRLF line ends; ends in CRLF unless empty */
	size_t body_len;
};

/*
 * mproto_msg_parse - split an RFC 5322 message (LF or CRLF line ends) into
 * headers and a CRLF body, as an MTA receiving it over SMTP would. The
 * header block ends at the first empty line or at the first line that is
 * neither a header nor a continuation. Returns 0 with *msg_r set (free with
 * mproto_msg_free()), or -1 with *err_r set to a static text.
 */
int mproto_msg_parse(struct mproto_msg **msg_r, const char *text, size_t len, const char **err_r);

/* mproto_msg_prepend_hidden - put "name: raw" on top, hidden from the filter
 * (one space added unless raw starts with a blank). 0, or -1 with *err_r. */
int mproto_msg_prepend_hidden(struct mproto_msg *msg, const char *name, const char *raw,
			      const char **err_r);

/*
 * mproto_msg_apply - apply header edits and body replacement in order, the
 * way Postfix's cleanup(8) does: addheader appends; insheader at index N
 * goes before the (N+1)-th header of the current list, hidden ones counted,
 * or at the end; chgheader N changes the N-th (0 counts as 1) header of that
 * name, hidden ones not counted, appends when there is none, deletes on an
 * empty value. A new header is "name:" + (" " unless leadspc) + value.
 * Recipient, sender and quarantine requests do not touch the message.
 * Returns 0, or -1 with *err_r set to a static text (out of memory).
 */
int mproto_msg_apply(struct mproto_msg *msg, const struct mproto_mod *mods, size_t n, bool leadspc,
		     const char **err_r);

/*
 * mproto_msg_write - headers, an empty line and the body, every line
 * ending in eol ("\r\n" or "\n"). Returns 0, or -1 on a write error.
 */
int mproto_msg_write(const struct mproto_msg *msg, FILE *fp, const char *eol);

/* mproto_msg_free - accepts NULL and sets *msg_r = NULL. */
void mproto_msg_free(struct mproto_msg **msg_r);

#endif
