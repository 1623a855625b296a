/*
 * fuzz_unsub.c - the unsubscribe token decoder (plugin/unsub.c): base64url
 * and the token's fields, as `outpostctl unsub verify` and a provider's web
 * endpoint feed it untrusted links.
 *
 * Input: a mode byte, then
 *   even: the token text, verified against two secrets;
 *   odd:  a payload (version, expiry, length-prefixed fields), which the
 *         harness signs with the first secret and encodes, so that the field
 *         parser also runs on tokens whose MAC is right.
 *
 * Promises checked: base64url decoding is canonical (decode then encode
 * gives the text back); a token accepted as valid or expired encodes back
 * to exactly itself with one of the secrets (no two texts carry one
 * token); a correctly signed payload is never "bad signature".
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz.h"
#include "outpost/unsub.h"

#define SECRET_NEW "new-secret-0123456789abcdef"
#define SECRET_OLD "old-secret-0123456789abcdef"
#define NOW	   1700000000

static const char *const secrets[] = {SECRET_NEW, SECRET_OLD};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

/* Decode then encode token: the text must come back unchanged. */
static void check_b64(const char *token)
{
	size_t n = strlen(token);
	unsigned char *raw = malloc(n + 1);
	char *text = malloc(n + 8);
	long len, back;

	FUZZ_CHECK(raw != NULL && text != NULL, "out of memory");
	len = op_b64url_decode(token, n, raw, n + 1);
	if (len >= 0) {
		back = op_b64url_encode(raw, (size_t)len, text, n + 8);
		FUZZ_CHECK(back == (long)n && memcmp(text, token, n) == 0,
			   "base64url decoding is not canonical");
	}
	free(raw);
	free(text);
}

static void check_token(const char *token, bool signed_by_us)
{
	struct op_unsub u;
	enum op_unsub_status st = op_unsub_verify(token, secrets, 2, NOW, &u);
	char again[OP_UNSUB_TOKEN_MAX];
	const char *err;
	bool same = false;

	FUZZ_CHECK(op_unsub_status_name(st)[0] != '?', "status without a name");
	if (signed_by_us)
		FUZZ_CHECK(st != OP_UNSUB_BAD_SIGNATURE, "a correct MAC refused");
	if (st != OP_UNSUB_VALID && st != OP_UNSUB_EXPIRED)
		return;
	FUZZ_CHECK(u.version == OP_UNSUB_VERSION, "accepted an unknown version");
	for (size_t i = 0; i < 2 && !same; i++)
		if (op_unsub_encode(&u, secrets[i], strlen(secrets[i]), again, sizeof(again),
				    &err) == 0)
			same = strcmp(again, token) == 0;
	FUZZ_CHECK(same, "an accepted token does not encode back to itself");
}

/* Sign payload p[0..n) with the first secret and verify the token. */
static void signed_payload(const uint8_t *p, size_t n)
{
	unsigned char buf[2048], mac[EVP_MAX_MD_SIZE];
	char token[4096];
	unsigned maclen = 0;

	if (n + OP_UNSUB_MAC_LEN > sizeof(buf))
		return;
	memcpy(buf, p, n);
	FUZZ_CHECK(HMAC(EVP_sha256(), SECRET_NEW, (int)strlen(SECRET_NEW), buf, n, mac, &maclen) !=
			   NULL &&
		       maclen == OP_UNSUB_MAC_LEN,
		   "HMAC failed");
	memcpy(buf + n, mac, OP_UNSUB_MAC_LEN);
	FUZZ_CHECK(op_b64url_encode(buf, n + OP_UNSUB_MAC_LEN, token, sizeof(token)) > 0,
		   "encode failed");
	check_token(token, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *token;

	if (size < 1 || size > 4096)
		return -1;
	if (data[0] & 1) {
		signed_payload(data + 1, size - 1);
		return 0;
	}
	token = strndup((const char *)data + 1, size - 1);
	FUZZ_CHECK(token != NULL, "out of memory");
	check_b64(token);
	check_token(token, false);
	free(token);
	return 0;
}
