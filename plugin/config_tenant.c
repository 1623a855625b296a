/*
 * config_tenant.c - the tenants section: hosting customers with their
 * domains and SASL logins, and the two lookups login -> tenant and
 * domain -> tenant (constant time, case-insensitive).
 *
 *   tenants = ( { name = "acme"; domains = ["acme.example"]; logins = ["alice"]; } );
 *
 * A domain or login claimed by two tenants is a config error: a message
 * must map to exactly one customer.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "outpost/map.h"

/* Keys a tenant may have; module keys (dkim_keys ...) are parsed by their
 * module at snapshot build. */
static const char *const tenant_keys[] = {"name",  "domains",	 "logins", "dkim_keys",
					  "track", "rate_rules", "spf",	   NULL};

static bool known_key(const char *name)
{
	for (size_t i = 0; tenant_keys[i]; i++)
		if (strcmp(tenant_keys[i], name) == 0)
			return true;
	return false;
}

/* Read an array of strings into l, lower-casing when asked. */
static int tenant_list(const config_setting_t *t, const char *name, bool lower,
		       struct op_strlist *l, char *err, size_t errsize)
{
	const config_setting_t *a = config_setting_get_member(t, name);

	if (a == NULL)
		return 0;
	if (!config_setting_is_array(a) && !config_setting_is_list(a))
		return op_conf_err(err, errsize, a, "tenant %s must be a list of strings", name);
	for (int i = 0; i < config_setting_length(a); i++) {
		const char *e = config_setting_get_string_elem(a, i);

		if (e == NULL || *e == '\0')
			return op_conf_err(err, errsize, a,
					   "tenant %s: empty or non-string element", name);
		if (op_strlist_add(l, e) < 0)
			return op_conf_err(err, errsize, a, "%s: out of memory", name);
		if (lower)
			for (char *p = l->v[l->n - 1]; *p; p++)
				*p = (char)tolower((unsigned char)*p);
	}
	return 0;
}

/* Register every value of l in map for tenant t; duplicates are errors. */
static int tenant_index(struct op_map *map, const struct op_strlist *l, struct op_tenant *t,
			const config_setting_t *s, const char *what, char *err, size_t errsize)
{
	for (size_t i = 0; i < l->n; i++) {
		int r = op_map_add(map, l->v[i], t);

		if (r < 0)
			return op_conf_err(err, errsize, s, "%s: out of memory", what);
		if (r == 0) {
			char msg[300];

			snprintf(msg, sizeof(msg), "%s \"%s\" belongs to two tenants", what,
				 l->v[i]);
			return op_conf_err(err, errsize, s, "%s", msg);
		}
	}
	return 0;
}

static int tenant_one(struct op_config *cfg, const config_setting_t *s, struct op_tenant *t,
		      char *err, size_t errsize)
{
	const char *name = NULL;

	if (!config_setting_is_group(s))
		return op_conf_err(err, errsize, s, "a tenant must be a group { name = ...; }");
	for (int i = 0; i < config_setting_length(s); i++) {
		const char *k = config_setting_name(config_setting_get_elem(s, (unsigned)i));

		if (!known_key(k))
			return op_conf_err(err, errsize, config_setting_get_elem(s, (unsigned)i),
					   "unknown tenant key '%s'", k);
	}
	if (!config_setting_lookup_string(s, "name", &name) || *name == '\0')
		return op_conf_err(err, errsize, s, "a tenant needs a name");
	t->line = (unsigned)config_setting_source_line(s);
	if ((t->name = strdup(name)) == NULL)
		return op_conf_err(err, errsize, s, "out of memory");
	if (tenant_list(s, "domains", true, &t->domains, err, errsize) < 0 ||
	    tenant_list(s, "logins", false, &t->logins, err, errsize) < 0)
		return -1;
	if (tenant_index(cfg->tenant_by_domain, &t->domains, t, s, "domain", err, errsize) < 0 ||
	    tenant_index(cfg->tenant_by_login, &t->logins, t, s, "login", err, errsize) < 0)
		return -1;
	return 0;
}

int op_config_tenants(struct op_config *cfg, const config_setting_t *list, char *err,
		      size_t errsize)
{
	int n;

	cfg->tenant_by_login = op_map_new(false);
	cfg->tenant_by_domain = op_map_new(true);
	if (cfg->tenant_by_login == NULL || cfg->tenant_by_domain == NULL)
		return snprintf(err, errsize, "%s: out of memory", cfg->path), -1;
	if (list == NULL)
		return 0;
	if (!config_setting_is_list(list))
		return op_conf_err(err, errsize, list,
				   "tenants must be a list: ( { ... }, { ... } )");
	n = config_setting_length(list);
	cfg->tenants = calloc((size_t)n + 1, sizeof(*cfg->tenants));
	if (cfg->tenants == NULL)
		return snprintf(err, errsize, "%s: out of memory", cfg->path), -1;
	for (int i = 0; i < n; i++) {
		struct op_tenant *t = &cfg->tenants[i];

		t->index = (size_t)i;
		cfg->ntenants = (size_t)i + 1;
		if (tenant_one(cfg, config_setting_get_elem(list, (unsigned)i), t, err, errsize) <
		    0)
			return -1;
	}
	return 0;
}

void op_config_tenants_free(struct op_config *cfg)
{
	for (size_t i = 0; i < cfg->ntenants; i++) {
		free(cfg->tenants[i].name);
		op_strlist_free(&cfg->tenants[i].domains);
		op_strlist_free(&cfg->tenants[i].logins);
	}
	free(cfg->tenants);
	cfg->tenants = NULL;
	cfg->ntenants = 0;
	op_map_free(&cfg->tenant_by_login);
	op_map_free(&cfg->tenant_by_domain);
}

const struct op_tenant *op_tenant_by_login(const struct op_config *c, const char *login)
{
	return login && *login ? op_map_get(c->tenant_by_login, login) : NULL;
}

const struct op_tenant *op_tenant_by_domain(const struct op_config *c, const char *domain)
{
	return domain && *domain ? op_map_get(c->tenant_by_domain, domain) : NULL;
}
