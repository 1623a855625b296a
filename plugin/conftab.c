/*
 * conftab.c - the configuration table (see include/outpost/conftab.h).
 *
 * Keys are grouped by section (milter, log, limits, actions, classify,
 * tenants, then one section per module).  Every bound on untrusted input is
 * a row here with its default, minimum and maximum.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "outpost/config.h"
#include "outpost/conftab.h"

#define OFF(f)	    offsetof(struct op_config, f)
#define KB	    1024LL
#define MB	    (1024LL * 1024)
#define SEC	    1000LL
#define ACTIONS	    "accept|tempfail|reject"
#define SPF_ACTIONS "mark|reject|tempfail|hold"

/* clang-format off */
static const struct op_conf_key conftab[] = {
	/* milter: how the MTA reaches us and how the daemon runs */
	{"milter.socket", OP_CT_STRING, OFF(milter_socket), "unix:/run/outpost/outpost.sock", 0, 0, NULL, false,
	 "where the MTA connects: unix:PATH, inet:PORT@ADDR or inet6:PORT@ADDR"},
	{"milter.socket_owner", OP_CT_STRING, OFF(milter_socket_owner), "", 0, 0, NULL, false,
	 "owner of a unix socket (empty: the user outpost starts as)"},
	{"milter.socket_group", OP_CT_STRING, OFF(milter_socket_group), "", 0, 0, NULL, false,
	 "group of a unix socket, e.g. postfix (empty: unchanged)"},
	{"milter.socket_mode", OP_CT_MODE, OFF(milter_socket_mode), "0660", 0, 0777, NULL, false,
	 "permissions of a unix socket"},
	{"milter.user", OP_CT_STRING, OFF(milter_user), "", 0, 0, NULL, false,
	 "drop privileges to this user after opening the socket and reading keys (empty: stay)"},
	{"milter.group", OP_CT_STRING, OFF(milter_group), "", 0, 0, NULL, false,
	 "group to run as (empty: the user's primary group)"},
	{"milter.pidfile", OP_CT_STRING, OFF(milter_pidfile), "", 0, 0, NULL, false,
	 "write the process id here (empty: no pid file)"},
	{"milter.backlog", OP_CT_INT, OFF(milter_backlog), "128", 1, 65535, NULL, false,
	 "listen(2) backlog of the milter socket"},
	{"milter.timeout", OP_CT_DURATION, OFF(milter_timeout_ms), "300s", 1 * SEC, 3600 * SEC, NULL, false,
	 "how long to wait for the MTA on an open connection"},
	{"milter.shutdown_timeout", OP_CT_DURATION, OFF(milter_shutdown_timeout_ms), "30s", 0, 600 * SEC, NULL, true,
	 "on SIGTERM, how long messages in flight may take to finish"},

	{"milter.workers", OP_CT_INT, OFF(milter_workers), "0", 0, 1024, NULL, false,
	 "threads serving MTA connections (0: one per processor, at least 2)"},
	{"milter.sched_slice_us", OP_CT_INT, OFF(milter_sched_slice_us), "100", 0, 100000, NULL, false,
	 "scheduler slice requested for the serving threads, us (0: the kernel's)"},

	{"milter.mail_verdicts_at_rcpt", OP_CT_BOOL, OFF(milter_mail_verdicts_at_rcpt), "true", 0, 0, NULL, true,
	 "no reply at MAIL FROM: its verdict is given at each RCPT TO (one round trip less)"},

	/* log */
	{"log.level", OP_CT_LOGLEVEL, OFF(log_level), "info", 0, 0, NULL, true,
	 "lowest level logged: debug, info, notice, warning, error"},

	/* limits: totals the protocol does not bound */
	{"limits.max_headers", OP_CT_INT, OFF(max_headers), "1000", 10, 100000, NULL, true,
	 "headers per message"},
	{"limits.max_header_bytes", OP_CT_SIZE, OFF(max_header_bytes), "1M", 4 * KB, 64 * MB, NULL, true,
	 "total bytes of all headers of a message"},
	{"limits.max_header_length", OP_CT_SIZE, OFF(max_header_length), "128K", 1 * KB, 16 * MB, NULL, true,
	 "bytes of one header (name and value)"},
	{"limits.max_recipients", OP_CT_INT, OFF(max_recipients), "1000", 1, 1000000, NULL, true,
	 "recipients per message"},
	{"limits.max_messages_per_connection", OP_CT_INT, OFF(max_messages_per_connection), "100000", 1, 100000000, NULL, true,
	 "transactions on one MTA connection"},
	{"limits.max_macro_length", OP_CT_SIZE, OFF(max_macro_length), "1K", 64, 64 * KB, NULL, true,
	 "bytes of one macro value from the MTA (longer values are refused)"},

	/* actions: what an error of each class does to the message */
	{"actions.on_internal_error", OP_CT_ACTION, OFF(on_error[OP_ERR_INTERNAL]), "tempfail", 0, 0, ACTIONS, true,
	 "a bug or an unexpected library failure"},
	{"actions.on_resource_error", OP_CT_ACTION, OFF(on_error[OP_ERR_RESOURCE]), "tempfail", 0, 0, ACTIONS, true,
	 "out of memory or file descriptors"},
	{"actions.on_config_error", OP_CT_ACTION, OFF(on_error[OP_ERR_CONFIG]), "tempfail", 0, 0, ACTIONS, true,
	 "the configuration cannot serve this message"},
	{"actions.on_dns_error", OP_CT_ACTION, OFF(on_error[OP_ERR_DNS]), "tempfail", 0, 0, ACTIONS, true,
	 "a DNS lookup failed or timed out"},
	{"actions.on_store_error", OP_CT_ACTION, OFF(on_error[OP_ERR_STORE]), "accept", 0, 0, ACTIONS, true,
	 "the rate store is unreachable"},
	{"actions.on_limit", OP_CT_ACTION, OFF(on_error[OP_ERR_LIMIT]), "reject", 0, 0, ACTIONS, true,
	 "a limits.* bound was exceeded"},

	/* classify: internal (ours, outbound) or external clients */
	{"classify.internal_hosts", OP_CT_CIDRLIST, OFF(internal_hosts), "127.0.0.0/8, ::1", 0, 0, NULL, true,
	 "client addresses whose mail is internal (local submission arrives as 127.0.0.1)"},
	{"classify.internal_daemon_names", OP_CT_STRLIST, OFF(internal_daemon_names), "", 0, 0, NULL, true,
	 "values of the {daemon_name} macro that mark internal mail (e.g. a submission service)"},
	{"classify.authenticated_is_internal", OP_CT_BOOL, OFF(authenticated_is_internal), "true", 0, 0, NULL, true,
	 "SASL-authenticated clients are internal"},

	/* dkim: signing outbound mail */
	{"dkim.enabled", OP_CT_BOOL, OFF(dkim_enabled), "false", 0, 0, NULL, true,
	 "sign internal mail whose signing domain has a key"},
	{"dkim.keytable", OP_CT_STRING, OFF(dkim_keytable), "", 0, 0, NULL, true,
	 "OpenDKIM KeyTable file (\"file:\" or \"refile:\" prefix accepted); empty: none"},
	{"dkim.signingtable", OP_CT_STRING, OFF(dkim_signingtable), "", 0, 0, NULL, true,
	 "OpenDKIM SigningTable file; \"refile:PATH\" for wildcard patterns; empty: none"},
	{"dkim.sign_from", OP_CT_ENUM, OFF(dkim_sign_from), "header", 0, 0, "header|envelope|tenant|fixed", true,
	 "where the signing domain comes from: the From: header, MAIL FROM, the tenant, or dkim.fixed_domain"},
	{"dkim.fixed_domain", OP_CT_STRING, OFF(dkim_fixed_domain), "", 0, 0, NULL, true,
	 "the signing domain when dkim.sign_from = \"fixed\""},
	{"dkim.subdomains", OP_CT_BOOL, OFF(dkim_subdomains), "false", 0, 0, NULL, true,
	 "a subdomain without keys of its own is signed with its parent domain's keys"},
	{"dkim.sign_external", OP_CT_BOOL, OFF(dkim_sign_external), "false", 0, 0, NULL, true,
	 "also sign mail from external clients (normally only internal mail is signed)"},
	{"dkim.canonicalization", OP_CT_ENUM, OFF(dkim_canon), "relaxed/relaxed", 0, 0,
	 "relaxed/relaxed|relaxed/simple|simple/relaxed|simple/simple", true,
	 "header/body canonicalization of new signatures"},
	{"dkim.headers", OP_CT_STRLIST, OFF(dkim_headers),
	 "From, To, Cc, Subject, Date, Message-ID, Reply-To, In-Reply-To, References, MIME-Version, "
	 "Content-Type, Content-Transfer-Encoding, List-Unsubscribe, List-Unsubscribe-Post, List-Id, "
	 "Feedback-ID, Sender, X-Outpost-ID", 0, 0, NULL, true,
	 "header fields signed when present"},
	{"dkim.oversign", OP_CT_STRLIST, OFF(dkim_oversign), "From, Subject, Date, To, Message-ID", 0, 0, NULL, true,
	 "header fields signed once more than present, so none can be added after signing"},
	{"dkim.minimum_key_bits", OP_CT_INT, OFF(dkim_minimum_key_bits), "1024", 1024, 16384, NULL, true,
	 "RSA keys shorter than this are refused at load"},
	{"dkim.signature_ttl", OP_CT_DURATION, OFF(dkim_signature_ttl_ms), "0", 0, 3650LL * 86400 * SEC, NULL, true,
	 "add x= (expiry) this long after t=; 0: no expiry"},
	{"dkim.on_multiple_from", OP_CT_ENUM, OFF(dkim_on_multiple_from), "skip", 0, 0, "skip|reject", true,
	 "a message with zero or several From: headers: deliver unsigned, or reject it (550 5.7.1)"},
	{"dkim.on_long_lines", OP_CT_ENUM, OFF(dkim_on_long_lines), "skip", 0, 0, "skip|reject|wrap", true,
	 "a line over dkim.wrap_length octets, which the MTA's SMTP client breaks after signing: deliver unsigned, reject (550 5.6.0), or sign it broken as Postfix will send it"},
	{"dkim.wrap_length", OP_CT_INT, OFF(dkim_wrap_length), "998", 78, 100000, NULL, true,
	 "the MTA's line length limit (Postfix: smtp_line_length_limit, default 998)"},
	{"dkim.multiple_signatures", OP_CT_BOOL, OFF(dkim_multiple_signatures), "false", 0, 0, NULL, true,
	 "OpenDKIM tables: sign with every matching SigningTable entry, not only the first (OpenDKIM's MultipleSignatures)"},
	{"dkim.check_dns", OP_CT_BOOL, OFF(dkim_check_dns), "false", 0, 0, NULL, true,
	 "at start and reload, use a key only once DNS serves its public half (one TXT lookup per domain and key)"},
	{"dkim.keys", OP_CT_SECTION, 0, NULL, 0, 0, NULL, true,
	 "signing keys: ( { domain = \"...\"; selector = \"...\"; key = \"/path\"; algorithm = \"rsa-sha256\"; }, ... )"},

	/* spf: SPF checks of external senders, and of our egress addresses */
	{"spf.enabled", OP_CT_BOOL, OFF(spf_enabled), "false", 0, 0, NULL, true,
	 "check SPF: external mail's sender at MAIL FROM, internal mail's domain against spf.egress_ips"},
	{"spf.check_helo", OP_CT_BOOL, OFF(spf_check_helo), "false", 0, 0, NULL, true,
	 "also check the HELO name when MAIL FROM is not null (it is always checked for the null sender)"},
	{"spf.on_none", OP_CT_ENUM, OFF(spf_on[0]), "mark", 0, 0, SPF_ACTIONS, true,
	 "external sender whose domain has no SPF record"},
	{"spf.on_neutral", OP_CT_ENUM, OFF(spf_on[1]), "mark", 0, 0, SPF_ACTIONS, true,
	 "external sender whose domain's record says neither yes nor no (?all)"},
	{"spf.on_pass", OP_CT_ENUM, OFF(spf_on[2]), "mark", 0, 0, SPF_ACTIONS, true,
	 "external sender whose domain authorizes the client"},
	{"spf.on_fail", OP_CT_ENUM, OFF(spf_on[3]), "reject", 0, 0, SPF_ACTIONS, true,
	 "external sender whose domain does not authorize the client (reject: 550 5.7.23)"},
	{"spf.on_softfail", OP_CT_ENUM, OFF(spf_on[4]), "mark", 0, 0, SPF_ACTIONS, true,
	 "external sender whose domain probably does not authorize the client (~all)"},
	{"spf.on_temperror", OP_CT_ENUM, OFF(spf_on[5]), "tempfail", 0, 0, SPF_ACTIONS, true,
	 "the check met a DNS error or ran out of spf.timeout (tempfail: 451 4.4.3)"},
	{"spf.on_permerror", OP_CT_ENUM, OFF(spf_on[6]), "mark", 0, 0, SPF_ACTIONS, true,
	 "the sender's record is broken or exceeds a limit (reject: 550 5.7.24)"},
	{"spf.skip_clients", OP_CT_CIDRLIST, OFF(spf_skip_clients), "", 0, 0, NULL, true,
	 "client addresses whose mail is not checked (backup MX, forwarders)"},
	{"spf.skip_sender_domains", OP_CT_STRLIST, OFF(spf_skip_sender_domains), "", 0, 0, NULL, true,
	 "sender domains (MAIL FROM, or HELO for the null sender) that are not checked"},
	{"spf.skip_authenticated", OP_CT_BOOL, OFF(spf_skip_authenticated), "true", 0, 0, NULL, true,
	 "SASL-authenticated clients are not checked as external senders"},
	{"spf.max_dns_terms", OP_CT_INT, OFF(spf_max_dns_terms), "10", 1, 100, NULL, true,
	 "terms that query DNS per check, nested includes counted (RFC 7208: 10); one more is permerror"},
	{"spf.max_void_lookups", OP_CT_INT, OFF(spf_max_void_lookups), "2", 0, 100, NULL, true,
	 "lookups per check that find no data (RFC 7208: 2); one more is permerror"},
	{"spf.max_names", OP_CT_INT, OFF(spf_max_names), "10", 1, 100, NULL, true,
	 "names looked up per mx or ptr term (RFC 7208: 10)"},
	{"spf.timeout", OP_CT_DURATION, OFF(spf_timeout_ms), "10s", 100, 120 * SEC, NULL, true,
	 "wall-clock time per check; past it the result is temperror"},
	{"spf.egress_ips", OP_CT_CIDRLIST, OFF(spf_egress_ips), "", 0, 0, NULL, true,
	 "addresses our relays send from (IPv4 and IPv6): internal mail's sender domain must authorize each"},
	{"spf.on_unauthorized_egress", OP_CT_ENUM, OFF(spf_on_unauthorized_egress), "log", 0, 0, "log|hold|reject", true,
	 "internal mail whose sender domain does not authorize an egress address (reject: 550 5.7.23)"},
	{"spf.egress_include", OP_CT_STRING, OFF(spf_egress_include), "", 0, 0, NULL, true,
	 "the domain customers include in their SPF record, named in the fix-it hint (empty: none)"},
	{"spf.test_zone", OP_CT_STRING, OFF(spf_test_zone), "", 0, 0, NULL, true,
	 "tests only: answer SPF's DNS lookups from this file of NAME TYPE DATA lines (empty: the resolver)"},

	/* auth: Authentication-Results of external mail, DKIM verification */
	{"auth.enabled", OP_CT_BOOL, OFF(auth_enabled), "false", 0, 0, NULL, true,
	 "add Authentication-Results to external mail and remove forged ones claiming auth.authserv_id"},
	{"auth.authserv_id", OP_CT_STRING, OFF(auth_authserv_id), "", 0, 0, NULL, true,
	 "the authserv-id of our Authentication-Results (RFC 8601); empty: the MTA's name (macro j)"},
	{"auth.received_spf", OP_CT_BOOL, OFF(auth_received_spf), "false", 0, 0, NULL, true,
	 "also add a Received-SPF header (RFC 7208 9.1)"},
	{"auth.dkim_verify", OP_CT_BOOL, OFF(auth_dkim_verify), "true", 0, 0, NULL, true,
	 "verify the DKIM signatures of external mail"},
	{"auth.on_dkim_temperror", OP_CT_ENUM, OFF(auth_on_dkim_temperror), "mark", 0, 0, "mark|tempfail|reject", true,
	 "a signature could not be verified for a DNS failure (tempfail: 451 4.7.5)"},
	{"auth.dkim_max_signatures", OP_CT_INT, OFF(auth_dkim_max_signatures), "8", 1, 64, NULL, true,
	 "DKIM signatures verified per message; the rest are reported as dkim=policy"},
	{"auth.dkim_timeout", OP_CT_DURATION, OFF(auth_dkim_timeout_ms), "10s", 1 * SEC, 120 * SEC, NULL, true,
	 "how long one DKIM key lookup may take; past it the signature is dkim=temperror"},
	{"auth.test_dkim_keys", OP_CT_STRING, OFF(auth_test_dkim_keys), "", 0, 0, NULL, true,
	 "tests only: DKIM keys from this file of selector._domainkey.domain TXT lines (empty: DNS)"},

	/* track: tracking ID, Feedback-ID, customer tags, one-click unsubscribe */
	{"track.enabled", OP_CT_BOOL, OFF(track_enabled), "false", 0, 0, NULL, true,
	 "add a tracking ID to every message, and Feedback-ID and List-Unsubscribe to internal mail as its tenant says"},
	{"track.header", OP_CT_STRING, OFF(track_header), "X-Outpost-ID", 0, 0, NULL, true,
	 "name of the tracking ID header (copies from clients are removed; dkim signs it)"},
	{"track.external", OP_CT_BOOL, OFF(track_external), "false", 0, 0, NULL, true,
	 "also add the tracking ID header to external mail (its ID is always logged)"},
	{"track.campaign_header", OP_CT_STRING, OFF(track_campaign_header), "X-Outpost-Campaign", 0, 0, NULL, true,
	 "header a customer sets to name the campaign of a message (removed before sending)"},
	{"track.tag_header", OP_CT_STRING, OFF(track_tag_header), "X-Outpost-Tag", 0, 0, NULL, true,
	 "header a customer sets with comma-separated tags, echoed into the event (removed before sending)"},
	{"track.max_tags", OP_CT_INT, OFF(track_max_tags), "10", 0, 100, NULL, true,
	 "tags kept per message; more are dropped"},
	{"track.max_tag_length", OP_CT_INT, OFF(track_max_tag_length), "64", 1, 256, NULL, true,
	 "octets of one tag (and of the campaign); longer ones are cut"},
	{"track.feedback_id", OP_CT_STRING, OFF(track_feedback_id), "{campaign}:{tenant}:{type}", 0, 0, NULL, true,
	 "Feedback-ID fields before the SenderId: up to 3 parts of text and {campaign}, {tenant}, {type}, {list}"},
	{"track.sender_id", OP_CT_STRING, OFF(track_sender_id), "", 0, 0, NULL, true,
	 "the Feedback-ID SenderId, 5 to 15 characters (empty: no Feedback-ID unless the tenant sets one)"},
	{"track.unsubscribe_url", OP_CT_STRING, OFF(track_unsubscribe_url), "", 0, 0, NULL, true,
	 "https URL of the one-click unsubscribe endpoint, with {token} where the token goes"},
	{"track.unsubscribe_mailto", OP_CT_STRING, OFF(track_unsubscribe_mailto), "", 0, 0, NULL, true,
	 "address for mailto: unsubscribe requests (empty: no mailto URI)"},
	{"track.unsubscribe_secrets", OP_CT_STRLIST, OFF(track_unsubscribe_secrets), "", 0, 0, NULL, true,
	 "HMAC secrets of unsubscribe tokens, 16 octets or more: the first signs, any verifies"},
	{"track.unsubscribe_ttl", OP_CT_DURATION, OFF(track_unsubscribe_ttl_ms), "90d", 1 * SEC, 3650LL * 86400 * SEC, NULL, true,
	 "how long an unsubscribe token stays valid"},
	{"track.replace_list_unsubscribe", OP_CT_BOOL, OFF(track_replace_list_unsubscribe), "false", 0, 0, NULL, true,
	 "replace a List-Unsubscribe the sender set (default: keep the sender's and add none)"},

	/* event: one JSON object per line per message */
	{"event.file", OP_CT_STRING, OFF(event_file), "", 0, 0, NULL, true,
	 "append each message's event to this file (empty: none); SIGUSR1 reopens it"},
	{"event.syslog", OP_CT_BOOL, OFF(event_syslog), "false", 0, 0, NULL, true,
	 "also send each event to syslog (facility mail, level info)"},
	{"event.max_queue", OP_CT_SIZE, OFF(event_max_queue), "4M", 64 * KB, 1024 * MB, NULL, true,
	 "events waiting for the disk, in bytes; past it new events are dropped and counted"},

	/* metrics and control: the Prometheus endpoint and outpostctl's socket */
	{"metrics.listen", OP_CT_STRING, OFF(metrics_listen), "", 0, 0, NULL, false,
	 "address of the Prometheus endpoint (GET /metrics): HOST:PORT or [IPV6]:PORT, e.g. 127.0.0.1:9125 (empty: off)"},
	{"control.socket", OP_CT_STRING, OFF(control_socket), "/run/outpost/control.sock", 0, 0, NULL, false,
	 "unix socket of `outpostctl status` and `outpostctl reload` (empty: none)"},
	{"control.group", OP_CT_STRING, OFF(control_group), "", 0, 0, NULL, false,
	 "group allowed to use the control socket, mode 0660 (empty: its owner only, mode 0600)"},

	/* rate: GCRA limits (rules in rate.rules and each tenant's rate_rules) */
	{"rate.enabled", OP_CT_BOOL, OFF(rate_enabled), "false", 0, 0, NULL, true,
	 "apply the rate rules"},
	{"rate.store", OP_CT_ENUM, OFF(rate_store), "lmdb", 0, 0, "lmdb|redis", true,
	 "where counters live: lmdb (a file shared by the processes of this host) or redis (shared by a cluster)"},
	{"rate.lmdb_path", OP_CT_STRING, OFF(rate_lmdb_path), "/var/lib/outpost/rate.mdb", 0, 0, NULL, true,
	 "the embedded store's file (and its -lock file); also the fallback of a Redis store"},
	{"rate.lmdb_map_size", OP_CT_SIZE, OFF(rate_lmdb_map_size), "64M", 1 * MB, 64LL * 1024 * MB, NULL, false,
	 "largest size of the embedded store's file"},
	{"rate.redis_address", OP_CT_STRING, OFF(rate_redis_address), "127.0.0.1:6379", 0, 0, NULL, true,
	 "Redis server: HOST:PORT, [IPV6]:PORT or unix:/path"},
	{"rate.redis_prefix", OP_CT_STRING, OFF(rate_redis_prefix), "outpost:", 0, 0, NULL, true,
	 "prefix of every Redis key outpost writes"},
	{"rate.redis_connect_timeout", OP_CT_DURATION, OFF(rate_redis_connect_timeout_ms), "200ms", 10, 10 * SEC, NULL, true,
	 "how long connecting to Redis may take"},
	{"rate.redis_timeout", OP_CT_DURATION, OFF(rate_redis_timeout_ms), "200ms", 10, 10 * SEC, NULL, true,
	 "how long one Redis command may take; past it the store counts as unavailable"},
	{"rate.refund_on_abort", OP_CT_BOOL, OFF(rate_refund_on_abort), "true", 0, 0, NULL, true,
	 "a transaction aborted before end of message gives back what it counted"},
	{"rate.max_rules", OP_CT_INT, OFF(rate_max_rules), "64", 1, 1000, NULL, true,
	 "rules in rate.rules, and in the rules of one tenant"},
	{"rate.rules", OP_CT_SECTION, 0, NULL, 0, 0, NULL, true,
	 "list of rules: ( { name = \"...\"; key = \"login\"; count = \"recipients\"; limit = \"100/1m\"; action = \"tempfail\"; }, ... )"},

	/* tenants: hosting customers (name, domains, logins) */
	{"tenants", OP_CT_SECTION, 0, NULL, 0, 0, NULL, true,
	 "list of tenants: ( { name = \"...\"; domains = [...]; logins = [...]; }, ... )"},
};
/* clang-format on */

const struct op_conf_key *op_conftab(size_t *n_r)
{
	*n_r = sizeof(conftab) / sizeof(conftab[0]);
	return conftab;
}

const struct op_conf_key *op_conftab_find(const char *name)
{
	for (size_t i = 0; i < sizeof(conftab) / sizeof(conftab[0]); i++)
		if (strcmp(conftab[i].name, name) == 0)
			return &conftab[i];
	return NULL;
}

const char *op_ct_type_name(enum op_ct_type t)
{
	static const char *const names[] = {
	    [OP_CT_BOOL] = "bool",
	    [OP_CT_INT] = "integer",
	    [OP_CT_SIZE] = "size",
	    [OP_CT_DURATION] = "time",
	    [OP_CT_STRING] = "string",
	    [OP_CT_MODE] = "mode",
	    [OP_CT_ENUM] = "choice",
	    [OP_CT_ACTION] = "action",
	    [OP_CT_LOGLEVEL] = "level",
	    [OP_CT_STRLIST] = "list",
	    [OP_CT_CIDRLIST] = "address list",
	    [OP_CT_SECTION] = "section",
	};
	return names[t];
}
