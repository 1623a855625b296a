/*
 * config.c - load, validate and publish configuration snapshots
 * (see include/outpost/config.h).
 *
 * Load is three steps: (1) libconfig parses the file; (2) every setting is
 * checked against the table (unknown keys are errors, so a typo never
 * silently falls back to a default), every key gets its value or its
 * default, and cross-key rules are checked; (3) tenants and the modules'
 * state are built.  Any failure frees the half-built snapshot and reports
 * "FILE:LINE: what" (or "FILE: what" when there is no line).
 */
#include "config.h"

#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_int.h"
#include "outpost/metrics.h"
#include "outpost/pipeline.h"

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct op_config *current;

static void cfg_err(char *err, size_t errsize, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void cfg_err(char *err, size_t errsize, const char *file, int line, const char *fmt, ...)
{
	int n = line > 0 ? snprintf(err, errsize, "%s:%d: ", file, line)
			 : snprintf(err, errsize, "%s: ", file);
	va_list ap;

	if (n < 0 || (size_t)n >= errsize)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errsize - (size_t)n, fmt, ap);
	va_end(ap);
}

/* The file a setting came from (an @include'd one, or the main file). */
static const char *src_file(const config_setting_t *s, const char *main_file)
{
	const char *f = config_setting_source_file(s);

	return f ? f : main_file;
}

/* Dotted path of s ("limits.max_headers"); list elements are "name[i]". */
static void setting_path(const config_setting_t *s, char *out, size_t outsize)
{
	const config_setting_t *chain[16];
	size_t n = 0, o = 0;

	for (; s != NULL && !config_setting_is_root(s) && n < 16; s = config_setting_parent(s))
		chain[n++] = s;
	out[0] = '\0';
	while (n-- > 0 && o < outsize) {
		const char *name = config_setting_name(chain[n]);
		int w =
		    name ? snprintf(out + o, outsize - o, "%s%s", o ? "." : "", name)
			 : snprintf(out + o, outsize - o, "[%d]", config_setting_index(chain[n]));
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* Step 2a: refuse settings the table does not know.  0 or -1. */
static int check_unknown(const config_setting_t *group, const char *file, char *err, size_t errsize)
{
	int n = config_setting_length(group);
	char path[256];

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const struct op_conf_key *k;

		setting_path(s, path, sizeof(path));
		k = op_conftab_find(path);
		if (k != NULL && k->type == OP_CT_SECTION)
			continue;
		if (config_setting_is_group(s)) {
			if (k != NULL) {
				cfg_err(err, errsize, src_file(s, file),
					config_setting_source_line(s),
					"%s: expected a value, found a group", path);
				return -1;
			}
			if (check_unknown(s, file, err, errsize) < 0)
				return -1;
			continue;
		}
		if (k == NULL) {
			cfg_err(err, errsize, src_file(s, file), config_setting_source_line(s),
				"unknown key '%s' (see outpost.conf(5) or `outpost -p`)", path);
			return -1;
		}
	}
	return 0;
}

/* Step 2b: every table key gets its value from the file or its default. */
static int assign_values(struct op_config *c, config_t *lc, const char *file, char *err,
			 size_t errsize)
{
	size_t n;
	const struct op_conf_key *tab = op_conftab(&n);

	for (size_t i = 0; i < n; i++) {
		const struct op_conf_key *k = &tab[i];
		const config_setting_t *s;
		const char *why;

		if (k->type == OP_CT_SECTION)
			continue;
		s = config_lookup(lc, k->name);
		if (s != NULL) {
			if (op_cv_from_setting(k, s, (char *)c + k->offset, &why) < 0) {
				struct op_buf b;

				op_buf_init(&b, 256);
				if (strcmp(why, "value out of range") == 0) {
					op_buf_puts(&b, " (allowed: ");
					op_cv_format(k, &k->min, &b);
					op_buf_puts(&b, " to ");
					op_cv_format(k, &k->max, &b);
					op_buf_puts(&b, ")");
				}
				cfg_err(err, errsize, src_file(s, file),
					config_setting_source_line(s), "%s: %s%s", k->name, why,
					op_buf_str(&b));
				op_buf_free(&b);
				return -1;
			}
		} else if (k->def != NULL &&
			   op_cv_from_text(k, k->def, (char *)c + k->offset, &why) < 0) {
			cfg_err(err, errsize, file, 0, "built-in default of %s: %s", k->name, why);
			return -1;
		}
	}
	return 0;
}

/* Line of the setting called name, or 0. */
static int line_of(config_t *lc, const char *name)
{
	const config_setting_t *s = config_lookup(lc, name);

	return s ? config_setting_source_line(s) : 0;
}

/* metrics.listen and control.*: a usable address, an absolute socket
 * path, a group that exists.  0 or -1. */
static int check_ops(const struct op_config *c, config_t *lc, const char *file, char *err,
		     size_t errsize)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *why;

	if (c->metrics_listen[0] && op_metrics_addr_parse(c->metrics_listen, &ss, &sl, &why) < 0) {
		cfg_err(err, errsize, file, line_of(lc, "metrics.listen"),
			"metrics.listen: %s, got \"%s\"", why, c->metrics_listen);
		return -1;
	}
	if (c->control_socket[0] && c->control_socket[0] != '/') {
		cfg_err(err, errsize, file, line_of(lc, "control.socket"),
			"control.socket: want an absolute path, got \"%s\"", c->control_socket);
		return -1;
	}
	if (c->control_group[0] && getgrnam(c->control_group) == NULL) {
		cfg_err(err, errsize, file, line_of(lc, "control.group"),
			"control.group: no such group \"%s\"", c->control_group);
		return -1;
	}
	return 0;
}

/* Step 2c: rules across keys.  0 or -1. */
static int check_cross(struct op_config *c, config_t *lc, const char *file, char *err,
		       size_t errsize)
{
	const char *sock = c->milter_socket;
	bool is_unix =
	    strncmp(sock, "unix:", 5) == 0 || strncmp(sock, "local:", 6) == 0 || sock[0] == '/';

	if (!is_unix && strncmp(sock, "inet:", 5) != 0 && strncmp(sock, "inet6:", 6) != 0) {
		cfg_err(err, errsize, file, line_of(lc, "milter.socket"),
			"milter.socket: expected unix:PATH, inet:PORT@ADDR or inet6:PORT@ADDR, got "
			"\"%s\"",
			sock);
		return -1;
	}
	if (!is_unix && (c->milter_socket_owner[0] || c->milter_socket_group[0])) {
		cfg_err(err, errsize, file,
			line_of(lc, "milter.socket_group") ? line_of(lc, "milter.socket_group")
							   : line_of(lc, "milter.socket_owner"),
			"milter.socket_owner and socket_group apply to unix sockets only");
		return -1;
	}
	if (c->milter_user[0] && getpwnam(c->milter_user) == NULL) {
		cfg_err(err, errsize, file, line_of(lc, "milter.user"),
			"milter.user: no such user \"%s\"", c->milter_user);
		return -1;
	}
	if (c->milter_socket_owner[0] && getpwnam(c->milter_socket_owner) == NULL) {
		cfg_err(err, errsize, file, line_of(lc, "milter.socket_owner"),
			"milter.socket_owner: no such user \"%s\"", c->milter_socket_owner);
		return -1;
	}
	if (c->milter_group[0] && getgrnam(c->milter_group) == NULL) {
		cfg_err(err, errsize, file, line_of(lc, "milter.group"),
			"milter.group: no such group \"%s\"", c->milter_group);
		return -1;
	}
	if (c->milter_socket_group[0] && getgrnam(c->milter_socket_group) == NULL) {
		cfg_err(err, errsize, file, line_of(lc, "milter.socket_group"),
			"milter.socket_group: no such group \"%s\"", c->milter_socket_group);
		return -1;
	}
	if (check_ops(c, lc, file, err, errsize) < 0)
		return -1;
	if (c->max_header_length > c->max_header_bytes) {
		/* Either may be the one the file sets; the other is a default. */
		cfg_err(err, errsize, file,
			line_of(lc, "limits.max_header_length")
			    ? line_of(lc, "limits.max_header_length")
			    : line_of(lc, "limits.max_header_bytes"),
			"limits.max_header_length is larger than limits.max_header_bytes");
		return -1;
	}
	return 0;
}

/* Free everything a snapshot owns. */
static void config_free(struct op_config *c)
{
	size_t n;
	const struct op_conf_key *tab = op_conftab(&n);

	if (c == NULL)
		return;
	op_pipeline_fini(c);
	op_config_tenants_free(c);
	for (size_t i = 0; i < n; i++)
		if (tab[i].type != OP_CT_SECTION)
			op_cv_free(&tab[i], (char *)c + tab[i].offset);
	free(c->path);
	free(c);
}

#define INCLUDE_DEPTH_MAX 10 /* libconfig's own limit */

/* The file name of an "@include "NAME"" line (libconfig: at the start of a
 * line, after blanks) into name.  0, or -1 when line is not one. */
static int include_name(const char *line, char *name, size_t size)
{
	const char *p = line + strspn(line, " \t");
	size_t o = 0;

	if (strncmp(p, "@include", 8) != 0 || (p[8] != ' ' && p[8] != '\t'))
		return -1;
	p += 8 + strspn(p + 8, " \t");
	if (*p++ != '"')
		return -1;
	for (; *p && *p != '"' && o + 1 < size; p++) {
		if (*p == '\\' && p[1])
			p++;
		name[o++] = *p;
	}
	name[o] = '\0';
	return *p == '"' ? 0 : -1;
}

/* libconfig 1.5's scanner calls exit() when it cannot read a file it opened
 * for @include (a directory: "input in flex scanner failed"), so a reload
 * naming one would end the daemon, and it blocks on a FIFO.  Every @include
 * target, at any depth, must be a regular file before libconfig reads
 * anything, and no file may hold a NUL byte; a missing one is left to
 * libconfig's own error.  dir: the
 * include directory (NULL: the working directory).  0, or -1 with
 * "FILE:LINE: why" in err. */
static int check_includes(const char *file, const char *dir, int depth, char *err, size_t errsize)
{
	char name[1024], full[4096], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	struct stat sb;
	int lineno = 0, rc = 0;
	FILE *f;

	if (depth > INCLUDE_DEPTH_MAX || stat(file, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (f = fopen(file, "r")) == NULL)
		return 0; /* libconfig says what is wrong */
	while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		/* A NUL byte cuts an @include name short (libconfig then reads
		 * the include directory itself, and exits): no file has one. */
		if (memchr(line, '\0', (size_t)len) != NULL) {
			cfg_err(err, errsize, file, lineno, "a NUL byte in the file");
			rc = -1;
			break;
		}
		if (include_name(line, name, sizeof(name)) < 0)
			continue;
		snprintf(full, sizeof(full), "%s%s%s", name[0] == '/' || dir == NULL ? "" : dir,
			 name[0] == '/' || dir == NULL ? "" : "/", name);
		if (stat(full, &sb) < 0)
			continue;
		if (!S_ISREG(sb.st_mode)) {
			cfg_err(err, errsize, file, lineno, "@include \"%s\": not a regular file",
				name);
			rc = -1;
		} else {
			rc = check_includes(full, dir, depth + 1, err, errsize);
		}
	}
	free(line);
	fclose(f);
	return rc;
}

struct op_config *op_config_load(const char *path, unsigned generation, char *err, size_t errsize)
{
	struct op_config *c = calloc(1, sizeof(*c));
	config_t lc;
	int ok = -1;

	if (c == NULL || (c->path = strdup(path)) == NULL) {
		cfg_err(err, errsize, path, 0, "out of memory");
		free(c);
		return NULL;
	}
	c->generation = generation;
	c->refs = 1;
	config_init(&lc);
	/* @include "x.conf" is relative to the main file, not to the working
	 * directory (which is / once the daemon runs). */
	{
		char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;

		if (slash != NULL) {
			*slash = '\0';
			config_set_include_dir(&lc, dir[0] ? dir : "/");
		}
		if (check_includes(path, config_get_include_dir(&lc), 0, err, errsize) < 0) {
			free(dir);
			config_destroy(&lc);
			config_free(c);
			return NULL;
		}
		free(dir);
	}
	if (config_read_file(&lc, path) != CONFIG_TRUE) {
		if (config_error_type(&lc) == CONFIG_ERR_FILE_IO)
			cfg_err(err, errsize, path, 0, "cannot read the file");
		else
			cfg_err(err, errsize,
				config_error_file(&lc) ? config_error_file(&lc) : path,
				config_error_line(&lc), "%s", config_error_text(&lc));
	} else if (check_unknown(config_root_setting(&lc), path, err, errsize) == 0 &&
		   assign_values(c, &lc, path, err, errsize) == 0 &&
		   check_cross(c, &lc, path, err, errsize) == 0 &&
		   op_config_tenants(c, config_lookup(&lc, "tenants"), err, errsize) == 0 &&
		   op_pipeline_init(c, &lc, err, errsize) == 0) {
		ok = 0;
	}
	config_destroy(&lc);
	if (ok < 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

struct op_config *op_config_ref(struct op_config *c)
{
	if (c != NULL)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void op_config_unref(struct op_config **cp)
{
	if (cp == NULL || *cp == NULL)
		return;
	if (__atomic_sub_fetch(&(*cp)->refs, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(*cp);
	*cp = NULL;
}

struct op_config *op_config_current(void)
{
	struct op_config *c;

	pthread_mutex_lock(&current_lock);
	c = op_config_ref(current);
	pthread_mutex_unlock(&current_lock);
	return c;
}

void op_config_set_current(struct op_config *c)
{
	struct op_config *old;

	op_config_ref(c);
	pthread_mutex_lock(&current_lock);
	old = current;
	current = c;
	pthread_mutex_unlock(&current_lock);
	op_config_unref(&old);
}

void op_config_print(const struct op_config *c, bool with_help, FILE *out)
{
	size_t n;
	const struct op_conf_key *tab = op_conftab(&n);
	struct op_config *defs = NULL;
	struct op_buf b;
	const char *why;

	if (c == NULL) {
		/* The table's defaults, parsed as a load parses them. */
		if ((defs = calloc(1, sizeof(*defs))) == NULL)
			return;
		for (size_t i = 0; i < n; i++)
			if (tab[i].type != OP_CT_SECTION && tab[i].def != NULL)
				op_cv_from_text(&tab[i], tab[i].def, (char *)defs + tab[i].offset,
						&why);
		c = defs;
	}
	op_buf_init(&b, 1 << 20);
	for (size_t i = 0; i < n; i++) {
		const struct op_conf_key *k = &tab[i];

		op_buf_reset(&b);
		if (k->type != OP_CT_SECTION)
			op_cv_format(k, (const char *)c + k->offset, &b);
		if (with_help)
			fprintf(out, "# %s (%s%s)\n", k->help, op_ct_type_name(k->type),
				k->reloadable ? "" : ", restart to change");
		if (k->type == OP_CT_SECTION)
			fprintf(out, "%s = (section)\n", k->name);
		else
			fprintf(out, "%s = %s\n", k->name, op_buf_str(&b));
	}
	op_buf_free(&b);
	config_free(defs);
}

void op_config_static_changes(const struct op_config *old, const struct op_config *nc,
			      void (*fn)(const char *key))
{
	size_t n;
	const struct op_conf_key *tab = op_conftab(&n);

	for (size_t i = 0; i < n; i++)
		if (!tab[i].reloadable && tab[i].type != OP_CT_SECTION &&
		    !op_cv_equal(&tab[i], (const char *)old + tab[i].offset,
				 (const char *)nc + tab[i].offset))
			fn(tab[i].name);
}

int op_conf_err(char *err, size_t errsize, const void *setting, const char *fmt, ...)
{
	const config_setting_t *s = setting;
	const char *file = s && config_setting_source_file(s) ? config_setting_source_file(s) : "?";
	int n = snprintf(err, errsize, "%s:%d: ", file, s ? config_setting_source_line(s) : 0);
	va_list ap;

	if (n > 0 && (size_t)n < errsize) {
		va_start(ap, fmt);
		vsnprintf(err + n, errsize - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}
