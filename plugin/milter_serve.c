/*
 * milter_serve.c - one MTA connection on its socket, for the protocol
 * engine (milter_engine.c); contract in milter_engine.h (op_mctx_begin,
 * op_mctx_pump).
 *
 * A connection reads what the MTA sent into one buffer, handles every
 * complete packet there in order, then writes the replies of the batch in
 * one write() before it reads again.  This never delays a reply the MTA
 * waits for: an MTA sends nothing after a command that wants a reply until
 * it has the reply, so such a command is always the last complete packet
 * of a batch.  Behind Postfix a message on its own connection is 26
 * packets in 6 reads and 4 writes.
 *
 * Reads never wait (MSG_DONTWAIT): when the MTA has sent nothing more, the
 * connection goes back to the caller's event loop (milter_workers.c) and
 * the thread serves another.  Writes are replies of a few hundred bytes
 * that the MTA reads at once; they may wait (SO_SNDTIMEO, milter.timeout).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "milter_engine_int.h"
#include "outpost/log.h"

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Room for at least need more bytes in ctx->in.  0 or -1. */
static int in_room(struct op_mctx *ctx, size_t need)
{
	size_t cap = ctx->incap ? ctx->incap : 64 * 1024;
	unsigned char *p;

	if (ctx->incap - ctx->inlen >= need)
		return 0;
	while (cap - ctx->inlen < need)
		cap *= 2;
	p = realloc(ctx->in, cap);
	if (p == NULL)
		return -1;
	ctx->in = p;
	ctx->incap = cap;
	return 0;
}

/* How many more bytes the packet at the head of the buffer needs (at
 * least 1: the next read). */
static size_t in_need(const struct op_mctx *ctx)
{
	uint32_t plen;

	if (ctx->inlen < 4)
		return 4096;
	memcpy(&plen, ctx->in, 4);
	plen = ntohl(plen);
	if (plen - 1 > OP_MILTER_MAX_PACKET || (size_t)plen + 4 <= ctx->inlen)
		return 4096;
	return (size_t)plen + 4 - ctx->inlen;
}

void op_mctx_begin(struct op_mctx *ctx)
{
	op_mctx_clear_macros(ctx, 0);
	for (int i = 0; i <= SMFIM_LAST; i++) {
		free(ctx->symlist[i]);
		ctx->symlist[i] = NULL;
	}
	ctx->priv = NULL;
	ctx->phase = PH_NEW;
	ctx->renewing = false;
	ctx->mta_actions = ctx->mta_steps = ctx->actions = ctx->steps = 0;
	ctx->reply[0] = '\0';
	ctx->inlen = 0;
	ctx->reads = ctx->writes = ctx->packets = 0;
}

/* Handle the complete packets in ctx->in and write their replies.  0, or
 * the end of the connection (1 after QUIT, -1 otherwise). */
static int handle_and_reply(struct op_mctx *ctx, int fd, struct op_buf *out)
{
	int end = 0;
	size_t used;

	ctx->out = out;
	used = op_mctx_handle(ctx, ctx->in, ctx->inlen, &end);
	ctx->out = NULL;
	ctx->packets += ctx->handled;
	if (used > 0) {
		memmove(ctx->in, ctx->in + used, ctx->inlen - used);
		ctx->inlen -= used;
	}
	ctx->writes += out->len > 0;
	if (out->len > 0 && write_all(fd, out->data, out->len) < 0) {
		op_log_errno(LOG_WARNING, "milter: writing to the MTA");
		end = -1;
	}
	op_buf_reset(out);
	return end;
}

int op_mctx_pump(struct op_mctx *ctx, int fd, struct op_buf *out)
{
	for (;;) {
		size_t room;
		ssize_t n;
		int end;

		if (in_room(ctx, in_need(ctx)) < 0) {
			op_log(LOG_ERR,
			       "milter: out of memory for a packet; closing the connection");
			return -1;
		}
		room = ctx->incap - ctx->inlen;
		do
			n = recv(fd, ctx->in + ctx->inlen, room, MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			if (n < 0)
				op_log_errno(LOG_NOTICE, "milter: reading from the MTA");
			else if (ctx->inlen > 0)
				op_log(LOG_NOTICE, "milter: the MTA closed the connection "
						   "in the middle of a packet");
			return -1;
		}
		ctx->inlen += (size_t)n;
		ctx->reads++;
		end = handle_and_reply(ctx, fd, out);
		if (end != 0)
			return end;
		/* A short read took all the MTA had sent: wait for more. */
		if ((size_t)n < room)
			return 0;
	}
}

void op_mctx_end(struct op_mctx *ctx)
{
	/* What the MTA's packet pattern costs: reads per packet is the
	 * number to watch (an MTA that writes packet by packet wakes the
	 * thread for each). */
	op_log(LOG_DEBUG, "milter: connection done: %lu packets in %lu reads, %lu writes",
	       ctx->packets, ctx->reads, ctx->writes);
	op_mctx_finish(ctx);
	ctx->inlen = 0;
}
