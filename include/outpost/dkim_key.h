/*
 * dkim_key.h - a DKIM private key, parsed and checked once at config load.
 *
 * Keys are loaded (plugin/dkim_key.c) when a snapshot is built, never per
 * message: the OpenSSL EVP_PKEY is kept in the snapshot and shared read-only
 * by every signing thread (EVP_PKEY is safe for concurrent signing with
 * per-call EVP_MD_CTX / EVP_PKEY_CTX).
 */
#ifndef OUTPOST_DKIM_KEY_H
#define OUTPOST_DKIM_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

enum op_dkim_alg {
	OP_DKIM_RSA_SHA256 = 0,
	OP_DKIM_ED25519_SHA256,
};

struct op_dkim_key {
	char *name;	/* KeyTable key name, or "domain:selector" for config keys */
	char *domain;	/* d=; "%" means "the signing domain" (OpenDKIM KeyTable) */
	char *selector; /* s= */
	enum op_dkim_alg alg;
	EVP_PKEY *pkey; /* owned */
	unsigned bits;	/* RSA modulus bits; 256 for Ed25519 */
	char *path;	/* file it came from */
	unsigned line;	/* line in the table or config, 0 if none */
	bool dns_ok;	/* public half seen in DNS (or the check is off) */
};

/* "rsa-sha256" / "ed25519-sha256" (the a= tag). */
const char *op_dkim_alg_name(enum op_dkim_alg a);

/* Parse "rsa-sha256", "rsa", "ed25519-sha256", "ed25519"; -1 when unknown. */
int op_dkim_alg_parse(const char *s);

#endif
