/*
 * fuzz_addr.c - the From: address parser (plugin/addr.c), which decides
 * the domain a message is signed for.
 *
 * Input: two bytes giving the sizes of the address and domain buffers
 * (1..256 each, so the "too long" paths run), then the header value.
 *
 * Promises checked: a result of N >= 1 mailboxes leaves a NUL-terminated
 * address and domain within their buffers; the domain is lower case, has
 * no space, quote or '<', and is the domain of the address returned; an
 * error always comes with a reason.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "outpost/addr.h"

#define ADDR_INPUT_MAX (128 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t asize, dsize;
	const char *err = NULL, *at;
	char *value, *addr, *domain;
	int n;

	if (size < 2 || size > ADDR_INPUT_MAX)
		return -1;
	asize = (size_t)data[0] + 1;
	dsize = (size_t)data[1] + 1;
	value = strndup((const char *)data + 2, size - 2);
	addr = malloc(asize);
	domain = malloc(dsize);
	FUZZ_CHECK(value != NULL && addr != NULL && domain != NULL, "out of memory");
	n = op_addr_header_domain(value, addr, asize, domain, dsize, &err);
	if (n < 0) {
		FUZZ_CHECK(n == -1 && err != NULL && err[0] != '\0', "refused without a reason");
	} else {
		FUZZ_CHECK(n >= 1, "success without a mailbox");
		FUZZ_CHECK(memchr(addr, '\0', asize) != NULL, "address not terminated");
		FUZZ_CHECK(memchr(domain, '\0', dsize) != NULL, "domain not terminated");
		FUZZ_CHECK(domain[0] != '\0', "empty domain");
		for (const char *p = domain; *p; p++)
			FUZZ_CHECK(!isupper((unsigned char)*p) && *p != ' ' && *p != '"' &&
				       *p != '<',
				   "domain not lower case or malformed");
		at = strrchr(addr, '@');
		FUZZ_CHECK(at != NULL && strcasecmp(at + 1, domain) == 0,
			   "domain is not the address's domain");
	}
	free(value);
	free(addr);
	free(domain);
	return 0;
}
