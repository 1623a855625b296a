/*
 * dkim_index.c - the per-snapshot map from signing domain to keys
 * (see include/outpost/dkim_index.h).
 *
 * Build order: global dkim.keys, then each tenant's dkim_keys, then the
 * OpenDKIM tables.  A key file is loaded once per build (cache by path), so
 * a thousand domains sharing one key cost one parse.  Limits: at most
 * OP_DKIM_MAX_SIGS keys per domain (a config error beyond).
 */
#include "config.h"

#include <ctype.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outpost/dkim_index.h"
#include "outpost/dkim_keyload.h"
#include "outpost/map.h"

struct dkim_entry {
	char *domain; /* lower case, the d= of every key here */
	size_t n;
	struct op_dkim_sign_key k[OP_DKIM_MAX_SIGS];
	bool off[OP_DKIM_MAX_SIGS]; /* kept out of use (dkim.check_dns) */
};

struct op_dkim_index {
	struct op_map *by_domain;  /* domain -> struct dkim_entry * */
	struct op_map *by_path;	   /* key path -> EVP_PKEY * (build only) */
	struct op_dkim_key **keys; /* owned */
	size_t nkeys;
	struct dkim_entry **entries; /* owned */
	size_t nentries;
	struct op_dkim_keyloader *loader;
	struct op_dkim_table *table; /* OpenDKIM KeyTable + SigningTable, or NULL */
	struct op_dkim_table_stats table_stats;
};

/* Build-time context for error messages. */
struct build {
	struct op_dkim_index *idx;
	const struct op_config *cfg;
	char *err;
	size_t errsize;
};

static int build_err(struct build *b, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int build_err(struct build *b, const config_setting_t *s, const char *fmt, ...)
{
	int n = snprintf(b->err, b->errsize, "%s:%d: ",
			 s && config_setting_source_file(s) ? config_setting_source_file(s)
							    : b->cfg->path,
			 s ? config_setting_source_line(s) : 0);
	va_list ap;

	if (n > 0 && (size_t)n < b->errsize) {
		va_start(ap, fmt);
		vsnprintf(b->err + n, b->errsize - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool domain_valid(const char *d)
{
	size_t n = strlen(d);

	if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.')
		return false;
	for (const char *p = d; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return false;
	return true;
}

/* Add (key, domain) to the domain's entry. */
static int index_add(struct build *b, const config_setting_t *s, const struct op_dkim_key *k,
		     const char *domain)
{
	struct op_dkim_index *idx = b->idx;
	struct dkim_entry *e = op_map_get(idx->by_domain, domain);

	if (e == NULL) {
		struct dkim_entry **v = realloc(idx->entries, (idx->nentries + 1) * sizeof(*v));

		if (v == NULL)
			return build_err(b, s, "out of memory");
		idx->entries = v;
		e = calloc(1, sizeof(*e));
		if (e == NULL || (e->domain = strdup(domain)) == NULL) {
			free(e);
			return build_err(b, s, "out of memory");
		}
		for (char *p = e->domain; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		idx->entries[idx->nentries++] = e;
		if (op_map_put(idx->by_domain, e->domain, e) < 0)
			return build_err(b, s, "out of memory");
	}
	if (e->n == OP_DKIM_MAX_SIGS)
		return build_err(b, s, "%s has more than %d keys", domain, OP_DKIM_MAX_SIGS);
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->k[i].key->selector, k->selector) == 0)
			return build_err(b, s, "selector %s of %s is defined twice", k->selector,
					 domain);
	e->k[e->n].key = k;
	e->k[e->n].domain = e->domain;
	e->n++;
	return 0;
}

/* One throwaway signature: OpenSSL finishes setting up a freshly parsed
 * key (RSA blinding, Montgomery contexts) on its first use, which would
 * otherwise double the cost of the first message signed with it. */
static void key_warm_up(EVP_PKEY *pkey)
{
	static const unsigned char digest[32];
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_PKEY_CTX *pc;

	if (EVP_PKEY_id(pkey) == EVP_PKEY_ED25519) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		if (md != NULL && EVP_DigestSignInit(md, NULL, NULL, NULL, pkey) == 1)
			(void)EVP_DigestSign(md, sig, &siglen, digest, sizeof(digest));
		EVP_MD_CTX_free(md);
		return;
	}
	pc = EVP_PKEY_CTX_new(pkey, NULL);
	if (pc != NULL && EVP_PKEY_sign_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
	    EVP_PKEY_get_size(pkey) <= (int)sizeof(sig))
		(void)EVP_PKEY_sign(pc, sig, &siglen, digest, sizeof(digest));
	EVP_PKEY_CTX_free(pc);
}

/* Load (or reuse) the key file into a new key owned by the index. */
static struct op_dkim_key *index_key(struct build *b, const config_setting_t *s, const char *domain,
				     const char *selector, const char *path, int alg)
{
	struct op_dkim_index *idx = b->idx;
	struct op_dkim_key *k, **v;
	EVP_PKEY *cached = op_map_get(idx->by_path, path);
	char name[300];

	snprintf(name, sizeof(name), "%s:%s", domain ? domain : "*", selector);
	k = op_dkim_key_new(name, domain, selector, path, (unsigned)config_setting_source_line(s));
	v = k ? realloc(idx->keys, (idx->nkeys + 1) * sizeof(*v)) : NULL;
	if (v == NULL) {
		op_dkim_key_free(&k);
		build_err(b, s, "out of memory");
		return NULL;
	}
	idx->keys = v;
	idx->keys[idx->nkeys++] = k;
	if (cached != NULL && EVP_PKEY_up_ref(cached) == 1) {
		k->pkey = cached;
		k->alg = EVP_PKEY_id(cached) == EVP_PKEY_ED25519 ? OP_DKIM_ED25519_SHA256
								 : OP_DKIM_RSA_SHA256;
		k->bits = (unsigned)EVP_PKEY_get_bits(cached);
		if (alg == OP_DKIM_ALG_ANY || (int)k->alg == alg)
			return k;
		build_err(b, s, "%s: the key is %s, not %s", path, op_dkim_alg_name(k->alg),
			  op_dkim_alg_name((enum op_dkim_alg)alg));
		return NULL;
	}
	if (op_dkim_key_load_file(idx->loader, path, alg, (unsigned)b->cfg->dkim_minimum_key_bits,
				  k, b->err, b->errsize) < 0) {
		char why[512];

		snprintf(why, sizeof(why), "%s", b->err);
		build_err(b, s, "%s", why);
		return NULL;
	}
	if (k->alg == OP_DKIM_RSA_SHA256 && k->bits > 8192) {
		build_err(b, s, "%s: RSA keys over 8192 bits are not supported (this one has %u)",
			  path, k->bits);
		return NULL;
	}
	key_warm_up(k->pkey);
	if (op_map_put(idx->by_path, path, k->pkey) < 0) {
		build_err(b, s, "out of memory");
		return NULL;
	}
	return k;
}

static const char *const key_fields[] = {"domain", "selector", "key", "algorithm", NULL};

/* Check a key group's members and read its strings. */
static int key_fields_read(struct build *b, const config_setting_t *s, const char **domain,
			   const char **selector, const char **path, int *alg)
{
	const char *a = NULL;

	if (!config_setting_is_group(s))
		return build_err(b, s, "a key must be a group { selector = ...; key = ...; }");
	for (int i = 0; i < config_setting_length(s); i++) {
		const char *n = config_setting_name(config_setting_get_elem(s, (unsigned)i));
		bool known = false;

		for (size_t j = 0; key_fields[j]; j++)
			known = known || strcmp(n, key_fields[j]) == 0;
		if (!known)
			return build_err(
			    b, config_setting_get_elem(s, (unsigned)i),
			    "unknown key setting '%s' (domain, selector, key, algorithm)", n);
	}
	*domain = NULL;
	config_setting_lookup_string(s, "domain", domain);
	if (!config_setting_lookup_string(s, "selector", selector) || !**selector)
		return build_err(b, s, "a key needs a selector");
	if (!config_setting_lookup_string(s, "key", path) || !**path)
		return build_err(b, s, "a key needs a key file (key = \"/path\")");
	*alg = OP_DKIM_ALG_ANY;
	if (config_setting_lookup_string(s, "algorithm", &a) && (*alg = op_dkim_alg_parse(a)) < 0)
		return build_err(b, s, "algorithm must be rsa-sha256 or ed25519-sha256, not \"%s\"",
				 a);
	if (*domain && !domain_valid(*domain))
		return build_err(b, s, "\"%s\" is not a domain name", *domain);
	for (const char *p = *selector; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != '_')
			return build_err(b, s, "\"%s\" is not a valid selector", *selector);
	return 0;
}

/* One key of a list; domains used when the key names none (tenant). */
static int key_one(struct build *b, const config_setting_t *s, const struct op_strlist *domains)
{
	const char *domain, *selector, *path;
	const struct op_dkim_key *k;
	int alg = OP_DKIM_ALG_ANY;

	if (key_fields_read(b, s, &domain, &selector, &path, &alg) < 0)
		return -1;
	if (domain == NULL && domains == NULL)
		return build_err(b, s, "a key in dkim.keys needs a domain");
	if (domain == NULL && domains->n == 0)
		return build_err(b, s, "this tenant has no domains for its key to sign");
	k = index_key(b, s, domain, selector, path, alg);
	if (k == NULL)
		return -1;
	if (domain != NULL)
		return index_add(b, s, k, domain);
	for (size_t i = 0; i < domains->n; i++)
		if (index_add(b, s, k, domains->v[i]) < 0)
			return -1;
	return 0;
}

static int key_list(struct build *b, const config_setting_t *list, const struct op_strlist *domains)
{
	if (list == NULL)
		return 0;
	if (!config_setting_is_list(list))
		return build_err(b, list, "keys must be a list: ( { ... }, { ... } )");
	for (int i = 0; i < config_setting_length(list); i++)
		if (key_one(b, config_setting_get_elem(list, (unsigned)i), domains) < 0)
			return -1;
	return 0;
}

/* The OpenDKIM tables, when configured: both or neither. */
static int index_tables(struct build *b)
{
	const struct op_config *cfg = b->cfg;
	struct op_dkim_table_stats st;

	if (!cfg->dkim_keytable[0] && !cfg->dkim_signingtable[0])
		return 0;
	if (!cfg->dkim_keytable[0] || !cfg->dkim_signingtable[0])
		return build_err(b, NULL,
				 "dkim.keytable and dkim.signingtable go together: set both");
	b->idx->table =
	    op_dkim_table_load(cfg->dkim_keytable, cfg->dkim_signingtable, false,
			       (unsigned)cfg->dkim_minimum_key_bits, b->err, b->errsize);
	if (b->idx->table == NULL)
		return -1;
	op_dkim_table_stats(b->idx->table, &st);
	b->idx->table_stats = st;
	return 0;
}

int op_dkim_index_build(const struct op_config *cfg, const void *raw, struct op_dkim_index **idx_r,
			char *err, size_t errsize)
{
	const config_t *lc = raw;
	const config_setting_t *tenants = config_lookup(lc, "tenants");
	struct op_dkim_index *idx = calloc(1, sizeof(*idx));
	struct build b = {idx, cfg, err, errsize};
	int r = -1;

	*idx_r = idx;
	if (idx == NULL || (idx->by_domain = op_map_new(true)) == NULL ||
	    (idx->by_path = op_map_new(false)) == NULL ||
	    (idx->loader = op_dkim_keyloader_new()) == NULL)
		return build_err(&b, NULL, "out of memory");
	if (key_list(&b, config_lookup(lc, "dkim.keys"), NULL) < 0)
		goto out;
	for (size_t i = 0; tenants && i < cfg->ntenants; i++) {
		const config_setting_t *t = config_setting_get_elem(tenants, (unsigned)i);

		if (key_list(&b, config_setting_get_member(t, "dkim_keys"),
			     &cfg->tenants[i].domains) < 0)
			goto out;
	}
	if (index_tables(&b) < 0)
		goto out;
	r = 0;
out:
	op_dkim_keyloader_free(&idx->loader);
	op_map_free(&idx->by_path);
	return r;
}

/* The entry for domain, or for a parent with subdomains. */
static const struct dkim_entry *index_entry(const struct op_dkim_index *idx, const char *domain,
					    bool subdomains)
{
	const struct dkim_entry *e;

	for (const char *d = domain; d != NULL && *d;) {
		if ((e = op_map_get(idx->by_domain, d)) != NULL || !subdomains)
			return e;
		d = strchr(d, '.');
		if (d != NULL && strchr(d + 1, '.') == NULL)
			return NULL; /* never sign with a top-level domain's keys */
		d = d ? d + 1 : NULL;
	}
	return NULL;
}

int op_dkim_index_lookup(const struct op_dkim_index *idx, const struct op_config *cfg,
			 const char *domain, const char *address, struct op_dkim_sigreq *out,
			 size_t max, char *err, size_t errsize)
{
	const struct dkim_entry *e = index_entry(idx, domain, cfg->dkim_subdomains);
	int n = 0;

	for (size_t i = 0; e != NULL && i < e->n && (size_t)n < max; i++) {
		if (e->off[i])
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		out[n].key = e->k[i].key;
		op_strlcpy(out[n].domain, e->domain, sizeof(out[n].domain));
		n++;
	}
	if (n > 0 || idx->table == NULL)
		return n;
	return op_dkim_table_lookup(idx->table, address && *address ? address : domain, out,
				    cfg->dkim_multiple_signatures ? max : 1, err, errsize);
}

size_t op_dkim_index_domains(const struct op_dkim_index *idx)
{
	return idx ? idx->nentries : 0;
}

size_t op_dkim_index_keys(const struct op_dkim_index *idx)
{
	return idx ? idx->nkeys : 0;
}

void op_dkim_index_each(const struct op_dkim_index *idx,
			void (*fn)(const char *domain, const struct op_dkim_key *k, void *arg),
			void *arg)
{
	for (size_t i = 0; idx != NULL && i < idx->nentries; i++)
		for (size_t j = 0; j < idx->entries[i]->n; j++)
			fn(idx->entries[i]->domain, idx->entries[i]->k[j].key, arg);
}

size_t op_dkim_index_filter(struct op_dkim_index *idx,
			    bool (*keep)(const char *domain, const struct op_dkim_key *k,
					 void *arg),
			    void *arg)
{
	size_t dropped = 0;

	for (size_t i = 0; idx != NULL && i < idx->nentries; i++) {
		struct dkim_entry *e = idx->entries[i];

		/* Marked, not removed: keycheck still lists the pair. */
		for (size_t j = 0; j < e->n; j++)
			if (!keep(e->domain, e->k[j].key, arg)) {
				e->off[j] = true;
				dropped++;
			}
	}
	return dropped;
}

const struct op_dkim_table_stats *op_dkim_index_table_stats(const struct op_dkim_index *idx)
{
	return idx && idx->table ? &idx->table_stats : NULL;
}

void op_dkim_index_free(struct op_dkim_index **ip)
{
	struct op_dkim_index *idx;

	if (ip == NULL || *ip == NULL)
		return;
	idx = *ip;
	for (size_t i = 0; i < idx->nkeys; i++)
		op_dkim_key_free(&idx->keys[i]);
	for (size_t i = 0; i < idx->nentries; i++) {
		free(idx->entries[i]->domain);
		free(idx->entries[i]);
	}
	free(idx->keys);
	free(idx->entries);
	op_map_free(&idx->by_domain);
	op_map_free(&idx->by_path);
	op_dkim_keyloader_free(&idx->loader);
	op_dkim_table_free(&idx->table);
	free(idx);
	*ip = NULL;
}
