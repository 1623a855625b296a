/*
 * dkim_keyload.h - loading, checking and generating DKIM private keys, and
 * the DNS TXT record of their public half (plugin/dkim_key.c).
 *
 * A key is read and parsed once, when a config snapshot is built; the
 * EVP_PKEY it yields is then shared read-only by every signing thread (see
 * dkim_key.h).  Leaf code: nothing here logs; a failure returns -1 and
 * writes "PATH: what is wrong" into err (size errsize).
 *
 * Key file formats accepted (the file's content decides, not its name):
 *   - PEM "BEGIN RSA PRIVATE KEY" (PKCS#1, `openssl genrsa` before 3.0,
 *     opendkim-genkey) and "BEGIN PRIVATE KEY" (PKCS#8: RSA or Ed25519,
 *     `openssl genpkey`, OpenDKIM 2.11's `opendkim-genkey --ed25519`);
 *   - base64 text of a 32-byte Ed25519 seed (dkimpy's `dknewkey --ktype
 *     ed25519`: the seed, base64, no newline);
 *   - base64 text of a DER key, and a binary DER key (what OpenDKIM also
 *     accepts in a key file).
 * Encrypted keys are refused: the daemon has nobody to ask for a passphrase.
 *
 * Rules a key file must pass, checked with fstat() on the opened descriptor
 * (so the file checked is the file read, symlinks followed):
 *   - it is a regular file of at most OP_DKIM_KEY_FILE_MAX bytes;
 *   - mode & (S_IROTH | S_IWOTH | S_IWGRP) == 0: nobody but the owner and
 *     the file's group may read it, and only the owner may write it (the
 *     usual layouts root:root 0600 and root:outpost 0640 pass).  Unlike
 *     OpenDKIM's RequireSafeKeys, the owner and the directories above are
 *     not checked.
 *   - it parses as RSA (not RSA-PSS) or Ed25519; an RSA modulus has at least
 *     minimum_key_bits bits (Ed25519 keys are 256 bits and always pass);
 *   - when the configuration names an algorithm, the key has it.
 */
#ifndef OUTPOST_DKIM_KEYLOAD_H
#define OUTPOST_DKIM_KEYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "outpost/buf.h"
#include "outpost/dkim_key.h"

/* Largest key file read, in bytes.  A 16384-bit RSA key in PEM is about
 * 13 KB; anything much bigger is not a key. */
#define OP_DKIM_KEY_FILE_MAX 65536

/* Longest TXT record text produced or checked (a 16384-bit RSA p= is about
 * 2.8 KB of base64). */
#define OP_DKIM_TXT_MAX 8192

/* want_alg value: accept RSA or Ed25519, whichever the key is. */
#define OP_DKIM_ALG_ANY (-1)

/* Smallest and largest RSA size op_dkim_keygen() makes (RFC 8301 forbids
 * signing with fewer than 1024 bits). */
#define OP_DKIM_KEYGEN_RSA_MIN 1024
#define OP_DKIM_KEYGEN_RSA_MAX 16384

/* Reusable parsing state for loading many keys in a row (a KeyTable of
 * 100,000 lines): OpenSSL 3 spends most of a key parse setting up its
 * decoder, so one decoder is set up per loader instead of per key (about
 * 40 us per RSA key instead of 300 us).  One thread at a time. */
struct op_dkim_keyloader;

/* A new loader, or NULL when memory is short. */
struct op_dkim_keyloader *op_dkim_keyloader_new(void);

/* Free a loader; accepts NULL; sets *l = NULL. */
void op_dkim_keyloader_free(struct op_dkim_keyloader **l);

/* The mode rule above: true when a file of this st_mode may hold a key. */
bool op_dkim_key_mode_ok(mode_t mode);

/* A new key with copies of the given strings (each may be NULL), no pkey,
 * or NULL when memory is short.  Free it with op_dkim_key_free(). */
struct op_dkim_key *op_dkim_key_new(const char *name, const char *domain, const char *selector,
				    const char *path, unsigned line);

/* Free a key made by op_dkim_key_new(): its strings and its reference to
 * pkey.  Accepts NULL; sets *k = NULL. */
void op_dkim_key_free(struct op_dkim_key **k);

/* Read path, check it against the rules above and parse it.
 *   l: a loader, or NULL (a temporary one is made: slower, fine for one key).
 *   want_alg: an enum op_dkim_alg the key must have, or OP_DKIM_ALG_ANY.
 *   minimum_key_bits: smallest RSA modulus accepted.
 *   k: k->pkey must be NULL; on success k->pkey (a new reference, owned by
 *      k), k->alg and k->bits are set; nothing else of k is touched.
 * Returns 0, or -1 with "path: reason" in err and k unchanged.  Config
 * load only (it reads a file). */
int op_dkim_key_load_file(struct op_dkim_keyloader *l, const char *path, int want_alg,
			  unsigned minimum_key_bits, struct op_dkim_key *k, char *err,
			  size_t errsize);

/* Parse len bytes of key text (any format above) held in memory, e.g. an
 * inline key of an OpenDKIM KeyTable.  label names the data in errors
 * ("/etc/opendkim/KeyTable:12").  Same parameters and returns as
 * op_dkim_key_load_file(), without the file checks. */
int op_dkim_key_parse(struct op_dkim_keyloader *l, const void *data, size_t len, const char *label,
		      int want_alg, unsigned minimum_key_bits, struct op_dkim_key *k, char *err,
		      size_t errsize);

/* Append the DNS TXT record text for the public half of pkey to out:
 *   RSA:     "v=DKIM1; k=rsa; p=<base64 of the SubjectPublicKeyInfo DER>"
 *   Ed25519: "v=DKIM1; k=ed25519; p=<base64 of the raw 32-byte key>" (RFC 8463)
 * One string: splitting it into 255-byte character-strings for a zone file
 * is the caller's business.  Returns 0, or -1 with err set (out unchanged:
 * memory, out's maximum, or a key that is neither RSA nor Ed25519). */
int op_dkim_txt_record(const EVP_PKEY *pkey, struct op_buf *out, char *err, size_t errsize);

enum op_dkim_txt_status {
	OP_DKIM_TXT_OK = 0,   /* p= is our public key, k= and h= and s= allow our signatures */
	OP_DKIM_TXT_REVOKED,  /* p= is empty: the selector was revoked */
	OP_DKIM_TXT_MISMATCH, /* a well-formed record for another key, or one excluding ours */
	OP_DKIM_TXT_INVALID,  /* not a DKIM key record: bad tag list, v=, p= */
};

/* Compare a DKIM key record, as DNS serves it (the TXT record's strings
 * concatenated, len bytes), with the public half of pkey.  Tags are parsed
 * as RFC 6376 section 3.2 says (white space around tags and inside p=
 * ignored, duplicate tags invalid, unknown tags ignored); v= must be DKIM1
 * if present; k= (default rsa) must name our key type; h=, if present, must
 * list sha256; s=, if present, must list * or email; p= must decode to our
 * public key.  Returns the status; for anything but OK, err says why. */
enum op_dkim_txt_status op_dkim_txt_check(const EVP_PKEY *pkey, const char *txt, size_t len,
					  char *err, size_t errsize);

/* "ok", "revoked", "mismatch", "invalid". */
const char *op_dkim_txt_status_name(enum op_dkim_txt_status s);

/* Generate a key and write it to path, mode 0600, atomically: it is written
 * to a new file beside path (O_EXCL), synced, then renamed over path
 * (overwrite) or hard-linked to path, which fails if path exists (no
 * overwrite).  RSA keys have bits bits (OP_DKIM_KEYGEN_RSA_MIN..MAX) and
 * Ed25519 keys ignore bits; both are written as PEM PKCS#8 ("BEGIN PRIVATE
 * KEY"), which OpenSSL, OpenDKIM and outpost read.  On success appends the
 * TXT record text (op_dkim_txt_record()) to txt_r and returns 0; on failure
 * returns -1 with err set and leaves no file behind.  Backs `outpostctl
 * keygen`. */
int op_dkim_keygen(const char *path, enum op_dkim_alg alg, unsigned bits, bool overwrite,
		   struct op_buf *txt_r, char *err, size_t errsize);

#endif
