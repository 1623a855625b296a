/*
 * outpostctl.c - the operator's command line: one table of commands.
 *
 *   outpostctl [-c FILE] [--json] COMMAND [ARGS...]
 *
 * Key commands work without the daemon (they read the configuration and
 * DNS); status and reload talk to the running outpost over its control
 * socket (ctl_daemon.c).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "outpost/log.h"

#define DEFAULT_CONFIG SYSCONFDIR "/outpost/outpost.conf"

static const struct ctl_cmd {
	const char *name;
	int (*fn)(const struct ctl_opts *, int, char **);
	const char *usage;
} commands[] = {
    {"keygen", ctl_keygen,
     "keygen [-d DIR] [-f] DOMAIN SELECTOR [rsa|ed25519] [BITS]  write a new key, print its DNS "
     "record"},
    {"keycheck", ctl_keycheck,
     "keycheck                     compare every configured key with what DNS serves"},
    {"rate", ctl_rate,
     "rate show KEY | reset KEY | top [N]  counters of the rate store (KEY as top prints it)"},
    {"hold", ctl_hold,
     "hold list | release LOGIN     accounts held by a rule with then = hold_account"},
    {"unsub", ctl_unsub,
     "unsub verify TOKEN | make TENANT [LIST [RCPT]]  check or make an unsubscribe token"},
    {"trace", ctl_trace,
     "trace [-f FILE] ID          print the events of a tracking ID or queue ID"},
    {"status", ctl_status,
     "status [-s SOCKET]           the running daemon: version, uptime, config generation, load, "
     "store"},
    {"reload", ctl_reload,
     "reload [-s SOCKET]           reload the running daemon's configuration; prints why when "
     "refused"},
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: outpostctl [-c FILE] [--json] COMMAND [ARGS...]\n"
		"  -c FILE  configuration file (default %s)\n"
		"  --json   machine-readable output\n"
		"commands:\n",
		DEFAULT_CONFIG);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %s\n", commands[i].usage);
}

void ctl_json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

int main(int argc, char **argv)
{
	struct ctl_opts o = {DEFAULT_CONFIG, false};
	int i = 1;

	op_log_open("outpostctl", true);
	op_log_set_level(LOG_WARNING);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			o.config = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			o.json = true;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "outpostctl: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (strcmp(argv[i], commands[c].name) == 0)
			return commands[c].fn(&o, argc - i - 1, argv + i + 1);
	fprintf(stderr, "outpostctl: unknown command \"%s\"\n", argv[i]);
	usage(stderr);
	return 2;
}
