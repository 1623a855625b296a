/*
 * ctl_keys.c - `outpostctl keygen` and `outpostctl keycheck`.
 *
 * keygen writes a new private key (mode 0600, never over an existing file
 * unless -f) and prints the TXT record to publish.  keycheck loads the
 * configuration exactly as the daemon does (so every key file is checked
 * for permissions, size and parse) and compares each key's public half
 * with the record DNS serves at SELECTOR._domainkey.DOMAIN: publish, wait
 * for keycheck to say "ok" everywhere, then enable the key.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "outpost/config.h"
#include "outpost/dkim_index.h"
#include "outpost/dkim_keyload.h"
#include "outpost/dns.h"

#define DEFAULT_KEYDIR SYSCONFDIR "/outpost/keys"

/* Print the record as a zone-file line, split into 255-octet strings. */
static void print_zone(const char *selector, const char *domain, const char *txt)
{
	size_t n = strlen(txt);

	printf("%s._domainkey.%s. IN TXT (", selector, domain);
	for (size_t i = 0; i < n; i += 255)
		printf(" \"%.*s\"", (int)(n - i < 255 ? n - i : 255), txt + i);
	printf(" )\n");
}

static int keygen_args(int argc, char **argv, const char **dir, bool *force, bool *json, char **pos,
		       int *npos)
{
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
			*dir = argv[++i];
		else if (strcmp(argv[i], "-f") == 0)
			*force = true;
		else if (strcmp(argv[i], "--json") == 0)
			*json = true;
		else if (argv[i][0] == '-' || *npos == 4)
			return -1;
		else
			pos[(*npos)++] = argv[i];
	}
	return *npos >= 2 ? 0 : -1;
}

int ctl_keygen(const struct ctl_opts *o, int argc, char **argv)
{
	const char *dir = DEFAULT_KEYDIR;
	char *pos[4], path[4096], err[512], *end;
	bool force = false, json = o->json;
	int npos, alg = OP_DKIM_RSA_SHA256;
	unsigned long bits = 2048;
	struct op_buf txt;

	if (keygen_args(argc, argv, &dir, &force, &json, pos, &npos) < 0) {
		fprintf(stderr, "usage: outpostctl keygen [-d DIR] [-f] DOMAIN SELECTOR "
				"[rsa|ed25519] [BITS]\n");
		return 2;
	}
	if (npos > 2 && (alg = op_dkim_alg_parse(pos[2])) < 0) {
		fprintf(stderr, "outpostctl keygen: algorithm must be rsa or ed25519, not \"%s\"\n",
			pos[2]);
		return 2;
	}
	if (npos > 3 && ((bits = strtoul(pos[3], &end, 10)) == 0 || *end != '\0')) {
		fprintf(stderr, "outpostctl keygen: BITS must be a number, not \"%s\"\n", pos[3]);
		return 2;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.%s.pem", dir, pos[0], pos[1]) >=
	    sizeof(path)) {
		fprintf(stderr, "outpostctl keygen: path too long\n");
		return 2;
	}
	op_buf_init(&txt, OP_DKIM_TXT_MAX);
	if (op_dkim_keygen(path, (enum op_dkim_alg)alg, (unsigned)bits, force, &txt, err,
			   sizeof(err)) < 0) {
		fprintf(stderr, "outpostctl keygen: %s\n", err);
		op_buf_free(&txt);
		return 1;
	}
	if (json) {
		printf("{\"path\":");
		ctl_json_str(path);
		printf(",\"domain\":");
		ctl_json_str(pos[0]);
		printf(",\"selector\":");
		ctl_json_str(pos[1]);
		printf(",\"algorithm\":\"%s\",\"txt\":", op_dkim_alg_name((enum op_dkim_alg)alg));
		ctl_json_str(op_buf_str(&txt));
		printf("}\n");
	} else {
		printf("wrote %s (%s)\npublish this record, then run `outpostctl keycheck`:\n",
		       path, op_dkim_alg_name((enum op_dkim_alg)alg));
		print_zone(pos[1], pos[0], op_buf_str(&txt));
		printf("config:\n  { domain = \"%s\"; selector = \"%s\"; key = \"%s\"; }\n", pos[0],
		       pos[1], path);
	}
	op_buf_free(&txt);
	return 0;
}

struct keycheck {
	bool json;
	unsigned checked, bad;
};

/* The status of one key against the TXT records DNS serves for it. */
static const char *keycheck_one(const char *name, const struct op_dkim_key *k, char *why,
				size_t whysize)
{
	struct op_buf txt;
	const char *err, *status;
	enum op_dns_status ds;

	op_buf_init(&txt, 64 * 1024);
	ds = op_dns_txt(name, &txt, &err);
	if (ds != OP_DNS_OK) {
		snprintf(why, whysize, "%s", err);
		op_buf_free(&txt);
		return ds == OP_DNS_NXDOMAIN ? "missing" : "dns-error";
	}
	status = "mismatch";
	/* Several TXT records: one of them must be ours. */
	for (char *rec = txt.data, *nl; rec != NULL; rec = nl ? nl + 1 : NULL) {
		enum op_dkim_txt_status st;

		nl = strchr(rec, '\n');
		st = op_dkim_txt_check(k->pkey, rec, nl ? (size_t)(nl - rec) : strlen(rec), why,
				       whysize);
		if (st == OP_DKIM_TXT_OK) {
			status = "ok";
			why[0] = '\0';
			break;
		}
		status = op_dkim_txt_status_name(st);
	}
	op_buf_free(&txt);
	return status;
}

static void keycheck_each(const char *domain, const struct op_dkim_key *k, void *arg)
{
	struct keycheck *kc = arg;
	char name[600], why[512] = "";
	const char *status;

	snprintf(name, sizeof(name), "%s._domainkey.%s", k->selector, domain);
	status = keycheck_one(name, k, why, sizeof(why));
	kc->checked++;
	if (strcmp(status, "ok") != 0)
		kc->bad++;
	if (kc->json) {
		printf("%s{\"domain\":", kc->checked > 1 ? "," : "");
		ctl_json_str(domain);
		printf(",\"selector\":");
		ctl_json_str(k->selector);
		printf(",\"algorithm\":\"%s\",\"key\":", op_dkim_alg_name(k->alg));
		ctl_json_str(k->path ? k->path : "");
		printf(",\"status\":\"%s\",\"reason\":", status);
		ctl_json_str(why);
		printf("}");
	} else {
		printf("%-40s %-12s %-15s %s%s%s\n", domain, k->selector, op_dkim_alg_name(k->alg),
		       status, why[0] ? ": " : "", why);
	}
}

int ctl_keycheck(const struct ctl_opts *o, int argc, char **argv)
{
	struct keycheck kc = {o->json, 0, 0};
	struct op_config *cfg;
	char err[512];

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0) {
			fprintf(stderr, "usage: outpostctl [-c FILE] keycheck [--json]\n");
			return 2;
		}
		kc.json = true;
	}
	cfg = op_config_load(o->config, 1, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "outpostctl keycheck: %s\n", err);
		return 2;
	}
	if (kc.json)
		printf("{\"keys\":[");
	op_dkim_index_each(op_mod_dkim_index(cfg), keycheck_each, &kc);
	if (kc.json)
		printf("],\"checked\":%u,\"failed\":%u}\n", kc.checked, kc.bad);
	else
		printf("%u keys checked, %u not served correctly in DNS\n", kc.checked, kc.bad);
	op_config_unref(&cfg);
	return kc.bad ? 1 : 0;
}
