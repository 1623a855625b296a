/*
 * dns.c - TXT lookups for key checks (see include/outpost/dns.h).
 *
 * res_nquery with a private resolver state per call, so concurrent callers
 * never share state.  Answers are parsed with ns_initparse/ns_parserr and
 * every character-string length is checked against the record's length.
 */
#include "config.h"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <netdb.h>
#include <resolv.h>
#include <string.h>

#include "outpost/blocking.h"
#include "outpost/dns.h"

#define DNS_ANSWER_MAX 65536

/* Append the character-strings of one TXT rdata, concatenated. */
static int txt_rdata(const unsigned char *rd, size_t len, struct op_buf *out)
{
	size_t i = 0;

	while (i < len) {
		size_t n = rd[i++];

		if (n > len - i)
			return -1;
		if (op_buf_append(out, rd + i, n) < 0)
			return -1;
		i += n;
	}
	return 0;
}

enum op_dns_status op_dns_txt(const char *name, struct op_buf *out, const char **err_r)
{
	struct __res_state rs;
	ns_msg msg;
	int n, found = 0;

	memset(&rs, 0, sizeof(rs));
	if (res_ninit(&rs) != 0)
		return (*err_r = "cannot initialise the resolver"), OP_DNS_TEMPFAIL;
	{
		unsigned char buf[DNS_ANSWER_MAX];

		op_blocking_begin();
		n = res_nquery(&rs, name, ns_c_in, ns_t_txt, buf, sizeof(buf));
		op_blocking_end();
		if (n < 0) {
			int h = rs.res_h_errno;

			res_nclose(&rs);
			if (h == HOST_NOT_FOUND || h == NO_DATA)
				return (*err_r = "no TXT record"), OP_DNS_NXDOMAIN;
			return (*err_r = "DNS lookup failed (timeout or server failure)"),
			       OP_DNS_TEMPFAIL;
		}
		res_nclose(&rs);
		if (ns_initparse(buf, n, &msg) < 0)
			return (*err_r = "malformed DNS answer"), OP_DNS_ERROR;
		for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
			ns_rr rr;

			if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
				return (*err_r = "malformed DNS answer"), OP_DNS_ERROR;
			if (ns_rr_type(rr) != ns_t_txt)
				continue;
			if ((found++ && op_buf_putc(out, '\n') < 0) ||
			    txt_rdata(ns_rr_rdata(rr), ns_rr_rdlen(rr), out) < 0)
				return (*err_r = "TXT record malformed or too large"), OP_DNS_ERROR;
		}
	}
	if (found == 0)
		return (*err_r = "no TXT record"), OP_DNS_NXDOMAIN;
	return OP_DNS_OK;
}
