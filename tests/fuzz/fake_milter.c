/*
 * fake_milter.c - libmilter's functions as plugin/milter.c calls them,
 * for the fuzz target of the callback layer (see fake_milter.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fake_milter.h"
#include "fuzz.h"

#define MACROS_MAX 32

struct smfi_str {
	void *priv;
};

static struct smfi_str the_ctx;
SMFICTX *fake_ctx = &the_ctx;

static struct smfiDesc desc;
static bool registered, in_eom;
static unsigned refuse;
static struct {
	char *name, *value;
} macros[MACROS_MAX];

const struct smfiDesc *fake_milter_desc(void)
{
	return registered ? &desc : NULL;
}

void fake_milter_macro(const char *name, const char *value)
{
	size_t free_slot = MACROS_MAX;

	for (size_t i = 0; i < MACROS_MAX; i++) {
		if (macros[i].name == NULL) {
			if (free_slot == MACROS_MAX)
				free_slot = i;
			continue;
		}
		if (strcmp(macros[i].name, name) == 0) {
			free(macros[i].value);
			macros[i].value = value ? strdup(value) : NULL;
			if (value == NULL) {
				free(macros[i].name);
				macros[i].name = NULL;
			}
			return;
		}
	}
	if (value == NULL || free_slot == MACROS_MAX)
		return;
	macros[free_slot].name = strdup(name);
	macros[free_slot].value = strdup(value);
}

void fake_milter_macros_clear(void)
{
	for (size_t i = 0; i < MACROS_MAX; i++) {
		free(macros[i].name);
		free(macros[i].value);
		macros[i].name = macros[i].value = NULL;
	}
}

void fake_milter_refuse(unsigned mask)
{
	refuse = mask;
}

void fake_milter_in_eom(bool on)
{
	in_eom = on;
}

/* ---- setup and main loop: nothing to do -------------------------------- */

int smfi_register(struct smfiDesc d)
{
	desc = d;
	registered = true;
	return MI_SUCCESS;
}

int smfi_setconn(char *spec)
{
	return spec != NULL ? MI_SUCCESS : MI_FAILURE;
}

int smfi_settimeout(int t)
{
	return t >= 0 ? MI_SUCCESS : MI_FAILURE;
}

int smfi_setbacklog(int n)
{
	return n > 0 ? MI_SUCCESS : MI_FAILURE;
}

int smfi_opensocket(bool rmsocket)
{
	(void)rmsocket;
	return MI_SUCCESS;
}

int smfi_main(void)
{
	return MI_SUCCESS;
}

int smfi_stop(void)
{
	return MI_SUCCESS;
}

int smfi_version(unsigned int *maj, unsigned int *min, unsigned int *pl)
{
	*maj = 1;
	*min = 0;
	*pl = 1;
	return MI_SUCCESS;
}

/* ---- per connection ------------------------------------------------------ */

int smfi_setpriv(SMFICTX *ctx, void *p)
{
	ctx->priv = p;
	return MI_SUCCESS;
}

void *smfi_getpriv(SMFICTX *ctx)
{
	return ctx->priv;
}

char *smfi_getsymval(SMFICTX *ctx, char *name)
{
	(void)ctx;
	for (size_t i = 0; i < MACROS_MAX; i++)
		if (macros[i].name != NULL && strcmp(macros[i].name, name) == 0)
			return macros[i].value;
	return NULL;
}

int smfi_setsymlist(SMFICTX *ctx, int where, char *macros_wanted)
{
	(void)ctx;
	FUZZ_CHECK(where >= SMFIM_FIRST && where <= SMFIM_LAST && macros_wanted != NULL,
		   "bad smfi_setsymlist");
	return MI_SUCCESS;
}

int smfi_setreply(SMFICTX *ctx, char *rcode, char *xcode, char *message)
{
	(void)ctx;
	fuzz_check_reply(rcode, xcode, message);
	return (refuse & 16) ? MI_FAILURE : MI_SUCCESS;
}

int smfi_addheader(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	FUZZ_CHECK(in_eom, "header added outside end of message");
	fuzz_check_header(name, value, true);
	return (refuse & 1) ? MI_FAILURE : MI_SUCCESS;
}

int smfi_insheader(SMFICTX *ctx, int idx, char *name, char *value)
{
	(void)ctx;
	FUZZ_CHECK(in_eom, "header inserted outside end of message");
	FUZZ_CHECK(idx >= 0, "negative header index");
	fuzz_check_header(name, value, true);
	return (refuse & 2) ? MI_FAILURE : MI_SUCCESS;
}

int smfi_chgheader(SMFICTX *ctx, char *name, int idx, char *value)
{
	(void)ctx;
	FUZZ_CHECK(in_eom, "header changed outside end of message");
	FUZZ_CHECK(idx >= 0, "negative header index");
	if (value != NULL)
		fuzz_check_header(name, value, true);
	else
		fuzz_check_header(name, "", true);
	return (refuse & 4) ? MI_FAILURE : MI_SUCCESS;
}

int smfi_quarantine(SMFICTX *ctx, char *reason)
{
	(void)ctx;
	FUZZ_CHECK(in_eom, "quarantine outside end of message");
	FUZZ_CHECK(reason != NULL && reason[0] != '\0', "empty quarantine reason");
	for (const char *p = reason; *p; p++)
		FUZZ_CHECK(*p != '\r' && *p != '\n', "line end in a quarantine reason");
	return (refuse & 8) ? MI_FAILURE : MI_SUCCESS;
}
