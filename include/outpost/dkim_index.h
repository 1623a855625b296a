/*
 * dkim_index.h - which keys sign for which domain, built once per config
 * snapshot (plugin/dkim_index.c) and read without locks by every message.
 *
 * Sources, all merged into one domain -> keys map (constant-time lookup):
 *   dkim.keys = ( { domain; selector; key; [algorithm] } )      global keys
 *   tenants = ( { ...; dkim_keys = ( { selector; key; [algorithm]; [domain] } ) } )
 *       a tenant key without domain signs for every domain of the tenant
 *   dkim.keytable + dkim.signingtable                            OpenDKIM tables
 * Every key file is read, checked and parsed once per load, however many
 * domains share it.  Several keys for one domain give several signatures.
 */
#ifndef OUTPOST_DKIM_INDEX_H
#define OUTPOST_DKIM_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "outpost/config.h"
#include "outpost/dkim_sign.h"
#include "outpost/dkim_table.h"

#define OP_DKIM_MAX_SIGS 8 /* signatures per message, at most */

struct op_dkim_index;

/* Build the index from cfg and the raw libconfig tree (config_t *).
 * Returns 0 with *idx_r, or -1 with "FILE:LINE: what" in err. */
int op_dkim_index_build(const struct op_config *cfg, const void *raw, struct op_dkim_index **idx_r,
			char *err, size_t errsize);

/* The signatures to make for a signing domain (lower case): the domain's
 * own keys (dkim.keys, tenants), trying parent domains when subdomains is
 * set; when it has none, the OpenDKIM SigningTable's matches for address
 * (the sender address, or NULL to look the domain up), at most one unless
 * dkim.multiple_signatures.  Fills out[0..max) and returns how many (0:
 * nothing signs for it), or -1 with err filled when the table cannot serve
 * the address (a SigningTable line naming a key the KeyTable lacks). */
int op_dkim_index_lookup(const struct op_dkim_index *idx, const struct op_config *cfg,
			 const char *domain, const char *address, struct op_dkim_sigreq *out,
			 size_t max, char *err, size_t errsize);

/* Number of signing domains and of distinct keys (for the start-up log). */
size_t op_dkim_index_domains(const struct op_dkim_index *idx);
size_t op_dkim_index_keys(const struct op_dkim_index *idx);

/* Call fn for every (domain, key) pair, domains in load order. */
void op_dkim_index_each(const struct op_dkim_index *idx,
			void (*fn)(const char *domain, const struct op_dkim_key *k, void *arg),
			void *arg);

/* Take out of use the (domain, key) pairs for which keep() returns false
 * (the DNS check of dkim.check_dns): lookups skip them, op_dkim_index_each()
 * still lists them.  Returns how many pairs were taken out. */
size_t op_dkim_index_filter(struct op_dkim_index *idx,
			    bool (*keep)(const char *domain, const struct op_dkim_key *k,
					 void *arg),
			    void *arg);

/* The dkim module's index in a loaded snapshot, or NULL when dkim is off
 * (plugin/mod_dkim.c). */
const struct op_dkim_index *op_mod_dkim_index(const struct op_config *cfg);

/* Counters of the OpenDKIM tables, or NULL when none are configured. */
const struct op_dkim_table_stats *op_dkim_index_table_stats(const struct op_dkim_index *idx);

void op_dkim_index_free(struct op_dkim_index **idx);

#endif
