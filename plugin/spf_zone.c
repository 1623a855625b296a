/*
 * spf_zone.c - the part of the SPF test zone (spf.test_zone, tests; see
 * op_spf_zone_new() in include/outpost/spf.h) that needs no libspf2: the
 * record type names, and every name and type given so far, so that a
 * timeout never goes to libspf2's zone for a name and type it holds.
 * mod_spf.c holds the zone itself (libspf2's zone layer); spf_policy.c
 * reads the zone file.  Limits: none (test data).  Leaf code: no logging.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spf_int.h"

ns_type op_spf_zone_type(const char *t)
{
	static const struct {
		const char *name;
		ns_type type;
	} types[] = {{"A", ns_t_a},	{"AAAA", ns_t_aaaa}, {"MX", ns_t_mx},
		     {"PTR", ns_t_ptr}, {"TXT", ns_t_txt},   {"ANY", ns_t_any}};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(types[i].name, t) == 0)
			return types[i].type;
	return ns_t_invalid;
}

int op_spf_zone_given(struct op_spf_zone *z, const char *name, ns_type t, bool add)
{
	char key[300], **v;

	snprintf(key, sizeof(key), "%d %s", (int)t, name);
	for (char *p = key; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (size_t i = 0; i < z->ngiven; i++)
		if (strcmp(z->given[i], key) == 0)
			return 1;
	if (!add)
		return 0;
	v = realloc(z->given, (z->ngiven + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	z->given = v;
	if ((v[z->ngiven] = strdup(key)) == NULL)
		return -1;
	z->ngiven++;
	return 0;
}
