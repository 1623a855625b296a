/*
 * fuzz_milter_wire.c - the milter protocol engine (plugin/milter_engine.c)
 * and the callbacks behind it (plugin/milter.c, session.c, the modules) fed
 * raw bytes as an MTA's side of one connection.
 *
 * Input: milter packets as they come over the socket (a 32-bit length in
 * network order counting the command byte, the command, its data), at most
 * 256 KiB.  Unless the input starts with a negotiation (its fifth byte is
 * SMFIC_OPTNEG), the target first sends one as Postfix does (version 6,
 * every action and protocol step offered), so that the fuzzer need not
 * find it.  One fixed config snapshot: DKIM signing, SPF from the test
 * zone, Authentication-Results and tracking, with small limits.
 *
 * The input is cut into packets here and each complete one is fed alone to
 * op_mctx_feed(), so that each reply can be checked against the packet it
 * answers (tests/fuzz/mcheck.h): the engine must use it whole or end the
 * connection, and write no reply when it ends it.  A length the engine
 * refuses (0, or over OP_MILTER_MAX_PACKET) must end the connection; an
 * incomplete packet at the end must be left unused, with no reply.  Then
 * op_mctx_finish(), after which the callbacks keep no connection state.
 * fuzz_milter.c covers the callbacks with event scripts; the seeds in
 * tests/fuzz/corpus/milter_wire/ are its seeds, encoded.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h> /* constants only */

#include "fuzz.h"
#include "mcheck.h"
#include "milter_engine.h"
#include "milter_int.h"
#include "outpost/buf.h"
#include "outpost/config.h"

#define WIRE_INPUT_MAX (256 * 1024)

static struct op_buf out;

static const char conf[] =
    "milter: { socket = \"unix:@DIR@/outpost.sock\"; };\n"
    "log: { level = \"debug\"; };\n"
    "limits: { max_headers = 20; max_header_bytes = \"8K\"; max_header_length = \"2K\";\n"
    "          max_recipients = 4; max_messages_per_connection = 3; max_macro_length = 100; "
    "};\n"
    "classify: { internal_hosts = [\"127.0.0.0/8\", \"192.0.2.0/24\"]; };\n"
    "dkim: { enabled = true; on_long_lines = \"wrap\"; wrap_length = 100;\n"
    "  keys = ( { domain = \"example.org\"; selector = \"ed\"; key = "
    "\"@DIR@/test-ed25519.pem\";\n"
    "             algorithm = \"ed25519-sha256\"; } ); };\n"
    "spf: { enabled = true; test_zone = \"@SRCDIR@/tests/proto/conf/spf.zone\";\n"
    "  check_helo = true; on_softfail = \"hold\"; on_fail = \"reject\"; };\n"
    "auth: { enabled = true; authserv_id = \"mx.example.net\"; received_spf = true;\n"
    "  test_dkim_keys = \"@DIR@/dns.txt\"; };\n"
    "track: { enabled = true; header = \"X-Track\"; };\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[4096], err[1024];
	size_t n;
	char *t;
	struct op_config *cfg;

	(void)argc;
	(void)argv;
	fuzz_init();
	fuzz_install_keys();
	t = fuzz_subst((const uint8_t *)conf, strlen(conf), &n);
	fuzz_write(fuzz_path(path, sizeof(path), "outpost.conf"), t, n);
	free(t);
	cfg = op_config_load(path, 1, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "fuzz_milter_wire: config: %s\n", err);
		abort();
	}
	op_config_set_current(cfg);
	op_buf_init(&out, 64u << 20);
	return 0;
}

/* Feed in[0..len), at most one complete packet, and check the replies.
 * Returns whether the connection goes on. */
static bool feed_one(struct op_mctx *ctx, struct mcheck_neg *neg, const uint8_t *in, size_t len)
{
	uint32_t plen = 0;
	long r;

	op_buf_reset(&out);
	r = op_mctx_feed(ctx, in, len, &out);
	if (len >= 5) {
		memcpy(&plen, in, 4);
		plen = ntohl(plen);
	}
	if (len >= 5 && (plen == 0 || plen - 1 > OP_MILTER_MAX_PACKET)) {
		FUZZ_CHECK(r < 0 && out.len == 0, "a bad packet length did not end the connection");
		return false;
	}
	if (len < 5 || len - 4 < plen) {
		FUZZ_CHECK(r == 0 && out.len == 0, "an incomplete packet was used");
		return false;
	}
	FUZZ_CHECK(r < 0 || (size_t)r == len, "a complete packet not used whole");
	mcheck_replies(neg, (char)in[4], in + 5, plen - 1, (const unsigned char *)out.data, out.len,
		       r < 0);
	return r >= 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t offer[3] = {SMFI_PROT_VERSION, 0x1ff, 0x1fffff};
	struct mcheck_neg neg = {0};
	struct op_mctx *ctx;
	bool on = true;
	size_t i = 0;

	if (size > WIRE_INPUT_MAX)
		return -1;
	ctx = op_mctx_new(op_milter_callbacks());
	FUZZ_CHECK(ctx != NULL, "out of memory");
	if (size < 5 || data[4] != SMFIC_OPTNEG) {
		uint8_t p[5 + sizeof(offer)];
		uint32_t v = htonl(1 + sizeof(offer));

		memcpy(p, &v, 4);
		p[4] = SMFIC_OPTNEG;
		for (size_t k = 0; k < 3; k++) {
			v = htonl(offer[k]);
			memcpy(p + 5 + 4 * k, &v, 4);
		}
		on = feed_one(ctx, &neg, p, sizeof(p));
	}
	while (on && i < size) {
		size_t n = size - i;

		if (n >= 5) {
			uint32_t plen;

			memcpy(&plen, data + i, 4);
			plen = ntohl(plen);
			if (plen != 0 && n - 4 >= plen)
				n = 4 + (size_t)plen;
		}
		on = feed_one(ctx, &neg, data + i, n);
		i += n;
	}
	op_mctx_finish(ctx);
	FUZZ_CHECK(op_mctx_getpriv(ctx) == NULL, "connection state kept after close");
	op_mctx_free(&ctx);
	return 0;
}
