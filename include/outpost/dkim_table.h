/*
 * dkim_table.h - OpenDKIM KeyTable and SigningTable files, loaded unchanged
 * (plugin/dkim_table.c), so a provider migrates from OpenDKIM without
 * rewriting them.
 *
 * Semantics are OpenDKIM 2.11's (opendkim.conf(5); opendkim/opendkim.c
 * dkimf_apply_signtable() and dkimf_add_signrequest(), opendkim-db.c
 * dkimf_db_open() and dkimf_db_get(), util.c dkimf_mkregexp()):
 *
 * Both files: one entry per line, "KEY VALUE": KEY is the first run of
 * non-blank characters, VALUE the rest, blanks trimmed.  '#' anywhere starts
 * a comment; blank lines are skipped; there are no continuation lines.  A
 * CR before the newline is trimmed as a blank.  When two lines have the same
 * KEY in a KeyTable or a plain SigningTable, the first wins (as in OpenDKIM;
 * counted in op_dkim_table_stats).
 *
 * KeyTable:  NAME  DOMAIN:SELECTOR:KEY
 *   DOMAIN is the d= or "%", the domain being signed (the domain of the
 *   address looked up).  KEY is a file when it starts with "/", "./" or
 *   "../" (relative to the working directory, as in OpenDKIM); in an
 *   absolute path, each "%" stands for DOMAIN (or for the domain being
 *   signed when DOMAIN is "%").  Any other KEY is the key itself, base64
 *   (OpenDKIM's inline DER, or an Ed25519 seed: XXX: one seed in 64
 *   encodes with a leading '/' and is then taken for a path, as OpenDKIM
 *   would; use a key file for it); the KeyTable file must then pass the
 *   key file mode rule (dkim_keyload.h).  KEY may hold ':'.
 *   Names are case sensitive.
 *
 * SigningTable:  PATTERN  KEYNAME[:SIGNER]
 *   KEYNAME names a KeyTable entry, or is "%": the KeyTable entry named
 *   like the domain being signed.  SIGNER, optional, is the i= value; each
 *   "%" in it stands for that domain.  Matching ignores ASCII case; an
 *   address with non-ASCII characters matches nothing (OpenDKIM's ASCIIONLY).
 *   - Plain table (OpenDKIM "file:"): PATTERN is a literal key, tried in
 *     this order for user@host: "user@host", "host", then for each parent
 *     of host (foo.example.com: "example.com", then "com"), "user@.parent"
 *     and ".parent", then "user@*", then "*".  So ".example.com" matches
 *     the subdomains of example.com, not example.com itself.  (The man
 *     page lists all user@.parent before all .parent; the code interleaves
 *     them, and this follows the code.)  A PATTERN like "*@example.com" is
 *     literal here and never matches (counted in the stats).
 *   - "refile:" table: PATTERN is a wildcard matched against the whole
 *     "user@host", in file order.  OpenDKIM turns it into an anchored POSIX
 *     extended regular expression, case-insensitive, with '*' -> ".*" and
 *     '.' and '+' literal; other characters keep their regex meaning.
 *     outpost compiles the same expression, except that "*@DOMAIN" (DOMAIN
 *     without wildcard or regex characters) and plain addresses are found
 *     by hash lookup, and "*" matches without a regex: file order is still
 *     honoured across all three kinds.
 *   Without MultipleSignatures only the first match signs; with it, every
 *   match does, in the order above (a plain table gives at most one match
 *   per probe).  SubDomains does not apply to these tables in OpenDKIM.
 *
 * Deliberate differences, all refusing the load with "FILE:LINE: why"
 * where OpenDKIM would fail (tempfail) at message time or act oddly:
 *   - every KeyTable key is loaded and checked at load; a SigningTable entry
 *     naming a missing key is an error (with "%", only when the domain is
 *     known at load: "*@DOMAIN", "DOMAIN", "user@DOMAIN");
 *   - a KEY path with "%" and DOMAIN "%" is loaded once per domain the
 *     SigningTable routes to it; routing a wildcard, a parent-domain
 *     pattern or "*" to it by name is refused (the file would depend on the
 *     message: XXX: outpost loads keys only at load).  Reached through
 *     KEYNAME "%" from a wildcard, such an entry can only sign for the
 *     domain equal to its name, so it is loaded for that domain;
 *   - a line of a refile table that starts with a blank (OpenDKIM silently
 *     ignores it), a line without VALUE, a line over OP_DKIM_TABLE_LINE_MAX
 *     bytes or with a NUL byte, a malformed DOMAIN or SELECTOR.
 *
 * Scale: exact entries sit in hash maps (constant-time lookup whatever the
 * table size); wildcards other than the fast forms above are tried one by
 * one, so XXX: a table of many thousands of regex wildcards costs that many
 * regexec() calls per lookup.  A key file is parsed once however many
 * entries name it; its EVP_PKEY is shared.  Read-only after load: lookups
 * from any number of threads need no lock (glibc's regexec() takes its own
 * lock on a shared regex_t).
 */
#ifndef OUTPOST_DKIM_TABLE_H
#define OUTPOST_DKIM_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "outpost/dkim_key.h"

/* Longest line of a table file (an inline RSA-4096 key is about 3.2 KB). */
#define OP_DKIM_TABLE_LINE_MAX 8192
/* Longest domain name (RFC 1035, without the final dot). */
#define OP_DKIM_DOMAIN_MAX 253
/* Longest i= value after "%" is replaced. */
#define OP_DKIM_SIGNER_MAX 511

struct op_dkim_table;

/* One signature to make: what a lookup returns. */
struct op_dkim_sigreq {
	const struct op_dkim_key *key;	     /* selector, algorithm, EVP_PKEY; owned by the table */
	char domain[OP_DKIM_DOMAIN_MAX + 1]; /* d=, lower case: the KeyTable's DOMAIN, or for "%"
					       * the domain of the address looked up */
	char signer[OP_DKIM_SIGNER_MAX + 1]; /* i= with "%" replaced, or "" for none; the caller
					       * drops it when it is not within d= (as OpenDKIM) */
	unsigned line;			     /* SigningTable line that matched, for log lines */
};

struct op_dkim_table_stats {
	size_t keys;		     /* KeyTable entries kept */
	size_t key_files;	     /* key files (and inline keys) parsed */
	size_t exact;		     /* SigningTable entries found by hash lookup */
	size_t wildcards;	     /* SigningTable entries tried one by one */
	size_t kt_duplicates;	     /* KeyTable lines ignored: an earlier line had the same name */
	unsigned kt_first_duplicate; /* line of the first of them, 0 if none */
	size_t st_duplicates;	     /* plain SigningTable lines ignored: same PATTERN earlier */
	unsigned st_first_duplicate;
	/* SigningTable patterns OpenDKIM can never match: with '*' in a plain
	 * table (other than "*" and "user@*"), without '*' and '@' in refile. */
	size_t dead;
	unsigned first_dead;
};

/* Load keytable_path and signingtable_path, and every key they name.
 *   Each path may carry OpenDKIM's "file:" or "refile:" prefix, which then
 *   decides the table type; without one, refile decides for the
 *   SigningTable and the KeyTable is plain.  A "refile:" KeyTable (some
 *   guides write so) matches a name without wildcard characters as a plain
 *   one would, so it is read as plain; a name with them is refused.  Other OpenDKIM data set types (csl:, db:, dsn:, ldap:, ...)
 *   are refused.
 *   minimum_key_bits: smallest RSA key accepted (dkim_keyload.h).
 * Returns the table, or NULL with "FILE:LINE: what is wrong" in err.
 * Config load only: it reads files and may take seconds for 100,000 keys. */
struct op_dkim_table *op_dkim_table_load(const char *keytable_path, const char *signingtable_path,
					 bool refile, unsigned minimum_key_bits, char *err,
					 size_t errsize);

/* The signatures for address_or_domain ("user@host", or a bare domain,
 * looked up as if its local part were empty), in OpenDKIM's order, at most
 * max of them into out[] (further matches are not reported): max = 1 is
 * OpenDKIM without MultipleSignatures.  Returns how many were stored (0: the table does not sign this address),
 * or -1 with err set when the first matches cannot be served: KEYNAME "%"
 * on a wildcard names a key the KeyTable lacks (OpenDKIM: "signing table
 * references unknown key", tempfail), or i= would be too long.  Any stage,
 * any thread. */
int op_dkim_table_lookup(const struct op_dkim_table *t, const char *address_or_domain,
			 struct op_dkim_sigreq *out, size_t max, char *err, size_t errsize);

/* Counters for the load log line and the warnings it should carry. */
void op_dkim_table_stats(const struct op_dkim_table *t, struct op_dkim_table_stats *s);

/* Free the table and its keys; accepts NULL; sets *t = NULL.  Only when no
 * lookup runs any more (the snapshot owning it is gone). */
void op_dkim_table_free(struct op_dkim_table **t);

#endif
