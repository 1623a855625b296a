/*
 * config_int.h - private interface between the config files
 * (config.c: load/snapshots, config_value.c: typed values,
 * config_tenant.c: the tenants section).  Not for modules.
 */
#ifndef OUTPOST_CONFIG_INT_H
#define OUTPOST_CONFIG_INT_H

#include <libconfig.h>

#include "outpost/buf.h"
#include "outpost/config.h"
#include "outpost/conftab.h"

/* Parse text (a default, or a string from the file) as k's type into the
 * field at dst.  Returns 0, or -1 with *err_r (static text). */
int op_cv_from_text(const struct op_conf_key *k, const char *text, void *dst, const char **err_r);

/* Parse a libconfig setting as k's type into dst.  Returns 0, or -1 with
 * *err_r. */
int op_cv_from_setting(const struct op_conf_key *k, const config_setting_t *s, void *dst,
		       const char **err_r);

/* Append the value at src, written as it would be in the file. */
void op_cv_format(const struct op_conf_key *k, const void *src, struct op_buf *out);

/* True when two values of k's type are equal. */
bool op_cv_equal(const struct op_conf_key *k, const void *a, const void *b);

/* Free what the field owns (strings, lists); leaves it zeroed. */
void op_cv_free(const struct op_conf_key *k, void *dst);

/* Parse the tenants list into cfg.  Returns 0, or -1 with "FILE:LINE: ..."
 * in err. */
int op_config_tenants(struct op_config *cfg, const config_setting_t *list, char *err,
		      size_t errsize);

/* Free cfg's tenants and their maps. */
void op_config_tenants_free(struct op_config *cfg);

/* Split "a, b c" on commas and white space into a string list (append). */
int op_strlist_split(struct op_strlist *l, const char *text);

/* Append a copy of s.  0 or -1. */
int op_strlist_add(struct op_strlist *l, const char *s);
void op_strlist_free(struct op_strlist *l);

#endif
