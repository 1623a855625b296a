/*
 * dkim_table.c - OpenDKIM KeyTable and SigningTable files (semantics and
 * deliberate differences: include/outpost/dkim_table.h).
 *
 * Owns: reading both files (lines bounded by OP_DKIM_TABLE_LINE_MAX),
 * loading every key they need once per distinct file (through one
 * op_dkim_keyloader, sharing the EVP_PKEY between entries), and answering
 * lookups without locks.  Entries and their strings live in one pool freed
 * with the table; the keys' EVP_PKEY references are dropped one by one.
 * Leaf code: returns -1 / NULL and "FILE:LINE: what" text, never logs.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "outpost/dkim_keyload.h"
#include "outpost/dkim_table.h"
#include "outpost/map.h"
#include "outpost/pool.h"

#define ADDR_MAX 1024 /* longest user@host looked up; longer ones match nothing */

/* One KeyTable line. */
struct kt_entry {
	struct op_dkim_key *key;  /* loaded key; when templated, the template (pkey NULL) */
	struct op_dkim_key *self; /* templated entry loaded for the domain equal to its name */
	bool templated; /* DOMAIN "%" and "%" in the path: the file depends on the domain */
};

/* One SigningTable line. */
struct st_entry {
	struct st_entry *next;	       /* next line under the same map key, file order */
	const struct op_dkim_key *key; /* NULL: KEYNAME "%" on a wildcard, found per lookup */
	const char *signer;	       /* i= template, or NULL */
	unsigned line;		       /* line number: also the order of a refile table */
	regex_t *re;		       /* refile wildcard other than "*"; else NULL */
};

struct ptrvec {
	void **v;
	size_t n, cap;
};

struct op_dkim_table {
	struct op_pool *pool;	/* entries and their strings */
	struct op_map *kt;	/* KeyTable name -> struct kt_entry (case sensitive) */
	struct op_map *exact;	/* plain: PATTERN; refile: plain addresses -> struct st_entry */
	struct op_map *domains; /* refile "*@DOMAIN" -> struct st_entry */
	struct ptrvec wild;	/* refile wildcards (struct st_entry) in file order */
	struct ptrvec keys;	/* every struct op_dkim_key made, to drop their EVP_PKEY */
	bool refile;
	struct op_dkim_table_stats stats;
};

/* State of one load. */
struct load {
	struct op_dkim_table *t;
	struct op_dkim_keyloader *loader;
	struct op_map *files; /* key path -> first struct op_dkim_key loaded from it */
	unsigned min_bits;
	const char *path; /* file being read */
	unsigned line;	  /* line being read */
	FILE *f;
	char *buf; /* its current line */
	size_t cap;
	bool refile;	/* the file being read is a refile: one */
	bool kt_refile; /* KeyTable given as refile: */
	mode_t kt_mode; /* the KeyTable's mode, for inline keys */
	bool need_self; /* some wildcard has KEYNAME "%" */
	bool failed;	/* error met inside an op_map_each() walk */
	char *err;
	size_t errsize;
};

/* "PATH:LINE: what" (or "PATH: what" outside a line) into the error. */
__attribute__((format(printf, 2, 3))) static int lerr(struct load *c, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->line == 0)
		snprintf(c->err, c->errsize, "%s: %s", c->path, what);
	else
		snprintf(c->err, c->errsize, "%s:%u: %s", c->path, c->line, what);
	return -1;
}

/* Count a line of a kind the stats report, remembering the first. */
static void note(size_t *count, unsigned *first, unsigned line)
{
	if ((*count)++ == 0)
		*first = line;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A domain or selector as DNS labels: letters, digits, '-', '_', dots
 * between non-empty labels, at most OP_DKIM_DOMAIN_MAX bytes. */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= OP_DKIM_DOMAIN_MAX && s[0] != '.' && s[n - 1] != '.' &&
	       strstr(s, "..") == NULL &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

/* Characters that keep a regex meaning after OpenDKIM's glob translation
 * (which turns '*' into ".*" and escapes '.' and '+'). */
static bool has_regex_char(const char *s)
{
	return strpbrk(s, "^$[](){}|?\\") != NULL;
}

/* KEY of a KeyTable line names a file (as in OpenDKIM's dkimf_loadkey()). */
static bool is_path(const char *key)
{
	return key[0] == '/' || strncmp(key, "./", 2) == 0 || strncmp(key, "../", 3) == 0;
}

static int push(struct ptrvec *pv, void *p)
{
	if (pv->n == pv->cap) {
		size_t ncap = pv->cap ? pv->cap * 2 : 64;
		void **nv = realloc(pv->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return -1;
		pv->v = nv;
		pv->cap = ncap;
	}
	pv->v[pv->n++] = p;
	return 0;
}

/* Next entry: '#' to the end of the line is a comment; *key_r and
 * *value_r point into c->buf.  Returns 1 (entry), 0 (end of file), -1. */
static int next_entry(struct load *c, char **key_r, char **value_r)
{
	char *s = NULL, *end;

	while (s == NULL || *s == '\0') {
		ssize_t n = (errno = 0, getline(&c->buf, &c->cap, c->f));

		if (n < 0)
			return errno != 0 && !feof(c->f) ? lerr(c, "read: %s", strerror(errno)) : 0;
		c->line++;
		if (n > OP_DKIM_TABLE_LINE_MAX || memchr(c->buf, '\0', (size_t)n) != NULL)
			return lerr(c, "line longer than %d bytes or with a NUL byte",
				    OP_DKIM_TABLE_LINE_MAX);
		s = c->buf;
		s[strcspn(s, "#\n")] = '\0';
		for (end = s + strlen(s); end > s && is_blank(end[-1]);)
			*--end = '\0';
		if (*s != '\0' && is_blank(*s) && c->refile)
			return lerr(c, "line starts with white space, which OpenDKIM's refile: "
				       "ignores silently: unindent it to use it, or delete it");
		while (is_blank(*s))
			s++;
	}
	*key_r = s;
	s += strcspn(s, " \t\r\v\f");
	if (*s == '\0')
		return lerr(c, "\"%.100s\" has no value", *key_r);
	for (*s++ = '\0'; is_blank(*s);)
		s++;
	*value_r = s;
	return 1;
}

/* Read one table file, a regular file (a FIFO would hang the load),
 * handing each entry to fn. */
static int load_file(struct load *c, const char *path, bool refile, mode_t *mode_r,
		     int (*fn)(struct load *, const char *, char *))
{
	char *key = NULL, *value = NULL;
	struct stat st;
	int fd, rc;

	errno = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	c->path = path;
	c->line = 0;
	c->refile = refile;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (c->f = fdopen(fd, "r")) == NULL) {
		rc = lerr(c, "%s", errno != 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return rc;
	}
	*mode_r = st.st_mode;
	while ((rc = next_entry(c, &key, &value)) > 0 && fn(c, key, value) == 0)
		;
	fclose(c->f);
	/* The KeyTable may hold inline private keys. */
	if (c->buf != NULL)
		OPENSSL_cleanse(c->buf, c->cap);
	return rc > 0 ? -1 : rc;
}

/* A key struct in the table's pool, remembered for op_dkim_table_free(). */
static struct op_dkim_key *key_alloc(struct load *c, const char *name, const char *domain,
				     const char *selector, const char *path)
{
	struct op_pool *pool = c->t->pool;
	struct op_dkim_key *k = op_pool_alloc(pool, sizeof(*k));
	const struct op_dkim_key *first;

	if (k == NULL || push(&c->t->keys, k) < 0)
		return lerr(c, "out of memory"), NULL;
	k->name = op_pool_strdup(pool, name);
	k->domain = op_pool_strdup(pool, domain);
	k->selector = op_pool_strdup(pool, selector);
	first = op_map_get(c->files, path);
	/* 100,000 entries often name a few files: share the path text. */
	k->path = first ? first->path : op_pool_strdup(pool, path);
	k->line = c->line;
	if (k->name == NULL || k->domain == NULL || k->selector == NULL || k->path == NULL)
		return lerr(c, "out of memory"), NULL;
	return k;
}

/* Load the key file k->path into k, once per distinct path. */
static int key_from_file(struct load *c, struct op_dkim_key *k)
{
	const struct op_dkim_key *first = op_map_get(c->files, k->path);
	char kerr[512];

	if (first != NULL) {
		if (!EVP_PKEY_up_ref(first->pkey))
			return lerr(c, "out of memory");
		k->pkey = first->pkey;
		k->alg = first->alg;
		k->bits = first->bits;
		return 0;
	}
	if (op_dkim_key_load_file(c->loader, k->path, OP_DKIM_ALG_ANY, c->min_bits, k, kerr,
				  sizeof(kerr)) < 0)
		return lerr(c, "%s", kerr);
	c->t->stats.key_files++;
	return op_map_add(c->files, k->path, k) < 0 ? lerr(c, "out of memory") : 0;
}

/* Copy src into dst (size cap) with each '%' replaced by dom; false when
 * it does not fit. */
static bool subst(char *dst, size_t cap, const char *src, const char *dom)
{
	size_t o = 0, dlen = strlen(dom);

	for (const char *p = src; *p != '\0'; p++) {
		size_t n = *p == '%' ? dlen : 1;

		if (cap - o <= n)
			return false;
		memcpy(dst + o, *p == '%' ? dom : p, n);
		o += n;
	}
	dst[o] = '\0';
	return true;
}

/* A copy of tmpl in the pool with each '%' replaced by domain. */
static char *expand(struct load *c, const char *tmpl, const char *domain)
{
	char buf[OP_DKIM_TABLE_LINE_MAX + 1];
	char *r = subst(buf, sizeof(buf), tmpl, domain) ? op_pool_strdup(c->t->pool, buf) : NULL;

	if (r == NULL)
		lerr(c, "key path too long or out of memory");
	return r;
}

/* A templated KeyTable entry loaded for one domain. */
static struct op_dkim_key *key_instance(struct load *c, const struct kt_entry *kt,
					const char *domain)
{
	const struct op_dkim_key *tk = kt->key;
	char *path = expand(c, tk->path, domain);
	struct op_dkim_key *k = path ? key_alloc(c, tk->name, domain, tk->selector, path) : NULL;

	if (k == NULL)
		return NULL;
	k->line = tk->line;
	return key_from_file(c, k) < 0 ? NULL : k;
}

/* The key of a KeyTable line, k->path being KEY: a file (maybe templated),
 * or inline base64 text. */
static int kt_key(struct load *c, struct kt_entry *e, const char *keydata)
{
	struct op_dkim_key *k = e->key;
	char label[600], kerr[512];

	if (is_path(keydata)) {
		if (keydata[0] != '/' || strchr(keydata, '%') == NULL)
			return key_from_file(c, k);
		if (strcmp(k->domain, "%") == 0) {
			e->templated = true; /* loaded per domain: key_instance() */
			return 0;
		}
		k->path = expand(c, keydata, k->domain);
		return k->path == NULL ? -1 : key_from_file(c, k);
	}
	if (!op_dkim_key_mode_ok(c->kt_mode))
		return lerr(c,
			    "inline key, but other users may read or write this file "
			    "(mode %04o; want 0600 or 0640)",
			    (unsigned)(c->kt_mode & 07777));
	snprintf(label, sizeof(label), "inline key of \"%.200s\"", k->name);
	if (op_dkim_key_parse(c->loader, keydata, strlen(keydata), label, OP_DKIM_ALG_ANY,
			      c->min_bits, k, kerr, sizeof(kerr)) < 0)
		return lerr(c, "%s", kerr);
	c->t->stats.key_files++;
	return 0;
}

/* One KeyTable line: NAME DOMAIN:SELECTOR:KEY. */
static int kt_line(struct load *c, const char *name, char *value)
{
	char *domain = value, *selector = strchr(value, ':');
	char *keydata = selector ? strchr(selector + 1, ':') : NULL;
	struct kt_entry *e;

	if (keydata == NULL || keydata[1] == '\0')
		return lerr(c, "KeyTable value \"%.100s\" is not DOMAIN:SELECTOR:KEY", value);
	*selector++ = '\0';
	*keydata++ = '\0';
	if (strcmp(domain, "%") != 0 && !valid_name(domain))
		return lerr(c, "bad domain \"%.100s\"", domain);
	if (!valid_name(selector))
		return lerr(c, "bad selector \"%.100s\"", selector);
	if (c->kt_refile && (strchr(name, '*') || has_regex_char(name)))
		return lerr(c,
			    "key name \"%.100s\" is a pattern: outpost reads a refile: "
			    "KeyTable as a plain one",
			    name);
	if (op_map_get(c->t->kt, name) != NULL) {
		note(&c->t->stats.kt_duplicates, &c->t->stats.kt_first_duplicate, c->line);
		return 0;
	}
	/* An inline key's path is the KeyTable's: key text must not reach logs. */
	e = op_pool_alloc(c->t->pool, sizeof(*e));
	if (e == NULL)
		return lerr(c, "out of memory");
	e->key = key_alloc(c, name, domain, selector, is_path(keydata) ? keydata : c->path);
	if (e->key == NULL || op_map_add(c->t->kt, name, e) < 0)
		return lerr(c, "out of memory");
	c->t->stats.keys++;
	return kt_key(c, e, keydata);
}

/* Resolve KEYNAME for an entry whose domain is known at load (lower case)
 * or not (NULL). */
static int st_resolve(struct load *c, struct st_entry *e, const char *keyname, const char *dom)
{
	const struct kt_entry *kt;

	if (strcmp(keyname, "%") == 0) {
		if (dom == NULL) {
			c->need_self = true; /* found per lookup */
			return 0;
		}
		keyname = dom;
	}
	kt = op_map_get(c->t->kt, keyname);
	if (kt == NULL)
		return lerr(c, "key \"%.100s\"%s is not in the KeyTable", keyname,
			    keyname == dom ? " (KEYNAME %, the domain)" : "");
	e->key = kt->key;
	if (!kt->templated)
		return 0;
	if (dom == NULL)
		return lerr(c,
			    "key \"%.100s\" (KeyTable line %u) has DOMAIN %% and a %% in its "
			    "path, so its file depends on the domain signed, which this pattern "
			    "does not tell: list the domains (*@DOMAIN) instead",
			    keyname, kt->key->line);
	e->key = key_instance(c, kt, dom);
	return e->key == NULL ? -1 : 0;
}

/* Plain table: the map for a literal pattern, or NULL for one OpenDKIM
 * never looks up or that an earlier line has.  *dom_r: the domain signed,
 * when the pattern tells it. */
static struct op_map *st_plain(struct load *c, const char *pattern, const char **dom_r)
{
	size_t n = strlen(pattern);
	const char *star = strchr(pattern, '*');
	const char *at = strrchr(pattern, '@');
	const char *host = at ? at + 1 : pattern;

	/* Of keys with '*', only "*" and "user@*" are ever tried. */
	if (star != NULL && n > 1 && !(star == pattern + n - 1 && pattern[n - 2] == '@')) {
		note(&c->t->stats.dead, &c->t->stats.first_dead, c->line);
		return NULL;
	}
	if (op_map_get(c->t->exact, pattern) != NULL) {
		note(&c->t->stats.st_duplicates, &c->t->stats.st_first_duplicate, c->line);
		return NULL; /* first wins: the later line's key is never needed */
	}
	if (star == NULL && host[0] != '.' && host[0] != '\0')
		*dom_r = host;
	return c->t->exact;
}

/* Compile a refile pattern as OpenDKIM's dkimf_mkregexp() translates it:
 * anchored, '*' -> ".*", '.' and '+' escaped. */
static int st_regex(struct load *c, const char *pattern, struct st_entry *e)
{
	char *re = malloc(2 * strlen(pattern) + 3), *o = re, msg[128] = "out of memory";
	int rc = -1;

	if (re != NULL) {
		*o++ = '^';
		for (const char *p = pattern; *p != '\0'; *o++ = *p++)
			if (*p == '*' || *p == '.' || *p == '+')
				*o++ = *p == '*' ? '.' : '\\';
		*o++ = '$';
		*o = '\0';
		/* In the pool: most entries need no regex_t (64 bytes). */
		e->re = op_pool_alloc(c->t->pool, sizeof(*e->re));
		rc = e->re ? regcomp(e->re, re, REG_EXTENDED | REG_ICASE | REG_NOSUB) : -1;
		if (rc > 0)
			regerror(rc, e->re, msg, sizeof(msg));
		free(re);
	}
	if (rc == 0)
		return 0;
	e->re = NULL;
	return lerr(c, "pattern \"%.100s\" is not a valid OpenDKIM wildcard: %s", pattern, msg);
}

/* refile: the map an entry goes to and its key there, or the wildcard list
 * (*map_r NULL).  Returns 0, 1 (a pattern that never matches), -1. */
static int st_refile(struct load *c, const char *pattern, struct st_entry *e, struct op_map **map_r,
		     const char **key_r, const char **dom_r)
{
	const char *at = strrchr(pattern, '@');

	*map_r = NULL;
	if (strcmp(pattern, "*") == 0)
		return 0;
	/* "*@DOMAIN" matches user@host iff host is DOMAIN: a hash lookup. */
	if (strncmp(pattern, "*@", 2) == 0 && strpbrk(pattern + 2, "*@") == NULL &&
	    !has_regex_char(pattern + 2)) {
		*map_r = c->t->domains;
		*key_r = *dom_r = pattern + 2;
		return 0;
	}
	if (strchr(pattern, '*') != NULL || has_regex_char(pattern))
		return st_regex(c, pattern, e);
	if (at == NULL) { /* matched against user@host: never */
		note(&c->t->stats.dead, &c->t->stats.first_dead, c->line);
		return 1;
	}
	*map_r = c->t->exact;
	*dom_r = at + 1;
	return 0;
}

/* The i= template: printable, no ';' (it goes into a tag list). */
static int st_signer(struct load *c, struct st_entry *e, const char *signer)
{
	for (const char *p = signer; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~' || *p == ';' || p - signer >= 255)
			return lerr(c,
				    "signer \"%.100s\" is too long or holds a character i= "
				    "cannot carry",
				    signer);
	e->signer = op_pool_strdup(c->t->pool, signer);
	return e->signer == NULL ? lerr(c, "out of memory") : 0;
}

/* Append e under key in map m, keeping file order.  0 or -1. */
static int st_insert(struct op_map *m, const char *key, struct st_entry *e)
{
	struct st_entry *head = op_map_get(m, key);

	if (head == NULL)
		return op_map_add(m, key, e) < 0 ? -1 : 0;
	while (head->next != NULL)
		head = head->next;
	head->next = e;
	return 0;
}

/* One SigningTable line: PATTERN KEYNAME[:SIGNER]. */
static int st_line(struct load *c, const char *pattern, char *value)
{
	struct op_dkim_table *t = c->t;
	struct st_entry *e = op_pool_alloc(t->pool, sizeof(*e));
	char *signer = strchr(value, ':'), *dom = NULL;
	const char *key = pattern, *pdom = NULL;
	struct op_map *m;
	int r = 0;

	if (e == NULL)
		return lerr(c, "out of memory");
	if (signer != NULL)
		*signer++ = '\0';
	if (*value == '\0')
		return lerr(c, "no key name before ':'");
	if (signer != NULL && *signer != '\0' && st_signer(c, e, signer) < 0)
		return -1;
	e->line = c->line;
	if (t->refile)
		r = st_refile(c, pattern, e, &m, &key, &pdom);
	else if ((m = st_plain(c, pattern, &pdom)) == NULL)
		r = 1;
	if (r != 0)
		return r < 0 ? -1 : 0;
	/* The known domain, lower case; one that is no DNS name is treated
	 * as unknown, so that it never reaches a key path. */
	if (pdom != NULL && valid_name(pdom) && (dom = op_pool_strdup(t->pool, pdom)) != NULL)
		for (char *p = dom; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	r = st_resolve(c, e, value, dom);
	if (r == 0 && (m == NULL ? push(&t->wild, e) : st_insert(m, key, e)) < 0)
		r = lerr(c, "out of memory");
	if (r < 0 && e->re != NULL)
		regfree(e->re);
	if (r == 0)
		*(m == NULL ? &t->stats.wildcards : &t->stats.exact) += 1;
	return r;
}

/* For KEYNAME "%" on wildcards: load each templated KeyTable entry for
 * the domain equal to its name, the only domain that reaches it that way
 * (lookups use lower case: other names are unreachable). */
static void self_one(const char *name, void *value, void *arg)
{
	struct load *c = arg;
	struct kt_entry *e = value;

	if (c->failed || !e->templated || !valid_name(name) ||
	    strpbrk(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != NULL)
		return;
	c->line = e->key->line;
	e->self = key_instance(c, e, name);
	c->failed = e->self == NULL;
}

/* Strip OpenDKIM's "file:" or "refile:" data set prefix from spec. */
static int table_source(struct load *c, const char *spec, bool *refile, const char **path_r)
{
	size_t n = strspn(spec, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");

	*path_r = spec;
	if (n == 0 || spec[n] != ':')
		return 0;
	*path_r = spec + n + 1;
	if (n == 4 && strncasecmp(spec, "file", 4) == 0) {
		*refile = false;
		return 0;
	}
	if (n == 6 && strncasecmp(spec, "refile", 6) == 0) {
		*refile = true;
		return 0;
	}
	snprintf(c->err, c->errsize,
		 "%s: OpenDKIM data set type \"%.*s:\" is not supported (file: and refile: are)",
		 spec, (int)n, spec);
	return -1;
}

static struct op_dkim_table *table_new(void)
{
	struct op_dkim_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->pool = op_pool_new();
	t->kt = op_map_new(false);
	t->exact = op_map_new(true);
	t->domains = op_map_new(true);
	if (t->pool == NULL || t->kt == NULL || t->exact == NULL || t->domains == NULL)
		op_dkim_table_free(&t);
	return t;
}

struct op_dkim_table *op_dkim_table_load(const char *keytable_path, const char *signingtable_path,
					 bool refile, unsigned minimum_key_bits, char *err,
					 size_t errsize)
{
	struct load c = {.min_bits = minimum_key_bits, .err = err, .errsize = errsize};
	const char *ktp, *stp;
	mode_t st_mode;
	int r = -1;

	c.t = table_new();
	c.loader = op_dkim_keyloader_new();
	c.files = op_map_new(false);
	if (c.t == NULL || c.loader == NULL || c.files == NULL) {
		snprintf(err, errsize, "out of memory");
	} else if (table_source(&c, keytable_path, &c.kt_refile, &ktp) == 0 &&
		   table_source(&c, signingtable_path, &refile, &stp) == 0) {
		c.t->refile = refile;
		r = load_file(&c, ktp, c.kt_refile, &c.kt_mode, kt_line);
		if (r == 0)
			r = load_file(&c, stp, refile, &st_mode, st_line);
		if (r == 0 && c.need_self) {
			c.path = ktp;
			op_map_each(c.t->kt, self_one, &c);
			r = c.failed ? -1 : 0;
		}
	}
	free(c.buf);
	op_dkim_keyloader_free(&c.loader);
	op_map_free(&c.files);
	if (r < 0)
		op_dkim_table_free(&c.t);
	return c.t;
}

void op_dkim_table_stats(const struct op_dkim_table *t, struct op_dkim_table_stats *s)
{
	*s = t->stats;
}

void op_dkim_table_free(struct op_dkim_table **tp)
{
	struct op_dkim_table *t;

	if (tp == NULL || *tp == NULL)
		return;
	t = *tp;
	for (size_t i = 0; i < t->wild.n; i++)
		if (((struct st_entry *)t->wild.v[i])->re != NULL)
			regfree(((struct st_entry *)t->wild.v[i])->re);
	for (size_t i = 0; i < t->keys.n; i++)
		EVP_PKEY_free(((struct op_dkim_key *)t->keys.v[i])->pkey);
	free(t->wild.v);
	free(t->keys.v);
	op_map_free(&t->kt);
	op_map_free(&t->exact);
	op_map_free(&t->domains);
	op_pool_free(&t->pool);
	free(t);
	*tp = NULL;
}

struct look {
	const struct op_dkim_table *t;
	const char *user; /* local part, ulen bytes (not NUL terminated) */
	size_t ulen;
	char dom[OP_DKIM_DOMAIN_MAX + 1]; /* lower case */
	struct op_dkim_sigreq *out;
	size_t n, max;
	char *err;
	size_t errsize;
};

/* Lower-case copy of src (shorter than cap) into dst. */
static void lower_copy(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < cap; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

/* Add the signature of entry e.  1: out is full, 0: go on, -1: error. */
static int look_emit(struct look *l, const struct st_entry *e)
{
	const struct op_dkim_key *k = e->key;
	struct op_dkim_sigreq *r = &l->out[l->n];

	if (k == NULL) {
		const struct kt_entry *kt = op_map_get(l->t->kt, l->dom);

		k = kt == NULL ? NULL : kt->templated ? kt->self : kt->key;
	}
	if (k == NULL) {
		snprintf(l->err, l->errsize, "SigningTable line %u: KEYNAME %% but no key \"%s\"",
			 e->line, l->dom);
		return -1;
	}
	r->key = k;
	r->line = e->line;
	lower_copy(r->domain, sizeof(r->domain), strcmp(k->domain, "%") == 0 ? l->dom : k->domain);
	if (!subst(r->signer, sizeof(r->signer), e->signer ? e->signer : "", l->dom)) {
		snprintf(l->err, l->errsize, "SigningTable line %u: i= longer than %d bytes",
			 e->line, OP_DKIM_SIGNER_MAX);
		return -1;
	}
	return ++l->n == l->max ? 1 : 0;
}

/* Plain table: try one literal key, "user@" s or s. */
static int look_probe(struct look *l, bool with_user, const char *s)
{
	char key[ADDR_MAX + 2];
	const struct st_entry *e;

	if (with_user) {
		memcpy(key, l->user, l->ulen);
		key[l->ulen] = '@';
		memcpy(key + l->ulen + 1, s, strlen(s) + 1);
		s = key;
	}
	e = op_map_get(l->t->exact, s);
	return e != NULL ? look_emit(l, e) : 0;
}

/* OpenDKIM's order for a plain table (dkimf_apply_signtable()). */
static int look_plain(struct look *l)
{
	int r = look_probe(l, true, l->dom);

	if (r == 0)
		r = look_probe(l, false, l->dom);
	for (const char *p = strchr(l->dom, '.'); r == 0 && p != NULL; p = strchr(p + 1, '.')) {
		r = look_probe(l, true, p);
		if (r == 0)
			r = look_probe(l, false, p);
	}
	if (r == 0)
		r = look_probe(l, true, "*");
	return r == 0 ? look_probe(l, false, "*") : r;
}

/* refile: every matching line in file order, merging the two maps' lists
 * with the wildcard list by line number. */
static int look_refile(struct look *l, const char *q)
{
	const struct st_entry *a = op_map_get(l->t->exact, q);
	const struct st_entry *d = op_map_get(l->t->domains, l->dom);
	size_t w = 0;
	int r = 0;

	while (r == 0) {
		const struct st_entry *best = a, *pick = NULL;

		if (d != NULL && (best == NULL || d->line < best->line))
			best = d;
		/* A wildcard goes first if it is earlier in the file and matches. */
		for (; pick == NULL && w < l->t->wild.n; w++) {
			const struct st_entry *e = l->t->wild.v[w];

			if (best != NULL && e->line > best->line)
				break;
			if (e->re == NULL || regexec(e->re, q, 0, NULL, 0) == 0)
				pick = e;
		}
		if (pick == NULL && (pick = best) == NULL)
			break;
		if (pick == a)
			a = a->next;
		else if (pick == d)
			d = d->next;
		r = look_emit(l, pick);
	}
	return r;
}

int op_dkim_table_lookup(const struct op_dkim_table *t, const char *address_or_domain,
			 struct op_dkim_sigreq *out, size_t max, char *err, size_t errsize)
{
	struct look l = {.t = t, .out = out, .max = max, .err = err, .errsize = errsize};
	const char *at = strrchr(address_or_domain, '@');
	const char *dom = at ? at + 1 : address_or_domain;
	size_t dlen = strlen(dom);
	char q[ADDR_MAX + 2];

	l.user = address_or_domain;
	l.ulen = at ? (size_t)(at - address_or_domain) : 0;
	if (max == 0 || dlen == 0 || dlen > OP_DKIM_DOMAIN_MAX || l.ulen + 1 + dlen > ADDR_MAX)
		return 0;
	/* OpenDKIM's ASCIIONLY: an address with other bytes matches nothing. */
	for (const char *p = address_or_domain; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			return 0;
	lower_copy(l.dom, sizeof(l.dom), dom);
	memcpy(q, l.user, l.ulen);
	q[l.ulen] = '@';
	memcpy(q + l.ulen + 1, l.dom, dlen + 1);
	if ((t->refile ? look_refile(&l, q) : look_plain(&l)) < 0)
		return -1;
	return (int)l.n;
}
