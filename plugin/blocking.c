/*
 * blocking.c - marks around calls that may wait (include/outpost/blocking.h).
 * The hooks are set once, before any thread that could call them starts.
 */
#include "config.h"

#include <stddef.h>

#include "outpost/blocking.h"

static void (*hook_begin)(void);
static void (*hook_end)(void);

void op_blocking_set_hooks(void (*begin)(void), void (*end)(void))
{
	hook_begin = begin;
	hook_end = end;
}

void op_blocking_begin(void)
{
	if (hook_begin != NULL)
		hook_begin();
}

void op_blocking_end(void)
{
	if (hook_end != NULL)
		hook_end();
}
