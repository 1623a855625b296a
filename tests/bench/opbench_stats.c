/*
 * opbench_stats.c - what opbench counts: per-thread tallies, latency
 * percentiles, and the milter's CPU time and memory from /proc (contract
 * in opbench.h).
 *
 * Latencies are kept one by one (4 bytes per transaction) so percentiles
 * are exact; a million transactions cost 4 MB.
 */
#include "opbench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char *const final_names[OPBENCH_FINAL_COUNT] = {
    [OPBENCH_CONTINUE] = "continue", [OPBENCH_ACCEPT] = "accept",   [OPBENCH_REJECT] = "reject",
    [OPBENCH_TEMPFAIL] = "tempfail", [OPBENCH_DISCARD] = "discard", [OPBENCH_SHUTDOWN] = "shutdown",
    [OPBENCH_ERROR] = "error",
};

const char *opbench_final_name(enum opbench_final f)
{
	return (unsigned)f < OPBENCH_FINAL_COUNT ? final_names[f] : "?";
}

static void add_latency(struct opbench_tally *t, uint32_t us)
{
	uint32_t *p;
	size_t cap;

	if (t->nlat == t->latcap) {
		cap = t->latcap ? 2 * t->latcap : 4096;
		if ((p = realloc(t->lat_us, cap * sizeof(*p))) == NULL) {
			t->oom = true;
			return;
		}
		t->lat_us = p;
		t->latcap = cap;
	}
	t->lat_us[t->nlat++] = us;
}

void opbench_tally_add(struct opbench_tally *t, enum opbench_final f, long long lat_ns,
		       unsigned long sigs, long expect)
{
	long long us = lat_ns / 1000;
	bool delivered = f == OPBENCH_CONTINUE || f == OPBENCH_ACCEPT;

	t->finals[f]++;
	t->sigs += sigs;
	if (expect >= 0 && (!delivered || sigs != (unsigned long)expect))
		t->wrong_sigs++;
	if (f != OPBENCH_ERROR)
		add_latency(t, us < 0 ? 0 : us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
}

void opbench_tally_merge(struct opbench_tally *dst, const struct opbench_tally *src)
{
	unsigned long n = 0;
	size_t i;

	for (i = 0; i < OPBENCH_FINAL_COUNT; i++) {
		dst->finals[i] += src->finals[i];
		n += src->finals[i];
	}
	if (dst->threads == 0 || n < dst->thread_min)
		dst->thread_min = n;
	if (dst->threads == 0 || n > dst->thread_max)
		dst->thread_max = n;
	dst->threads++;
	dst->sigs += src->sigs;
	dst->wrong_sigs += src->wrong_sigs;
	dst->connections += src->connections;
	dst->oom |= src->oom;
	for (i = 0; i < src->nlat; i++)
		add_latency(dst, src->lat_us[i]);
	if (src->first_ns != 0 && (dst->first_ns == 0 || src->first_ns < dst->first_ns))
		dst->first_ns = src->first_ns;
	if (src->last_ns > dst->last_ns)
		dst->last_ns = src->last_ns;
	if (dst->errtext[0] == 0)
		memcpy(dst->errtext, src->errtext, sizeof(dst->errtext));
}

void opbench_tally_free(struct opbench_tally **t)
{
	if (*t == NULL)
		return;
	free((*t)->lat_us);
	free(*t);
	*t = NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t opbench_percentile_us(struct opbench_tally *t, double p)
{
	size_t rank;

	if (t->nlat == 0)
		return 0;
	qsort(t->lat_us, t->nlat, sizeof(*t->lat_us), cmp_u32);
	/* Nearest rank: the smallest value with at least p% at or below it. */
	rank = (size_t)(p / 100.0 * (double)t->nlat + 0.999999);
	rank = rank == 0 ? 1 : rank > t->nlat ? t->nlat : rank;
	return t->lat_us[rank - 1];
}

/* read_rss - VmRSS in kB from /proc/PID/status, -1 when unknown. */
static long read_rss(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *fp;

	(void)snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0 && sscanf(line + 6, "%ld", &kb) != 1)
			kb = -1;
	(void)fclose(fp);
	return kb;
}

/* read_machine - busy and total ticks of all CPUs from /proc/stat ("cpu"
 * line: user nice system idle iowait irq softirq steal; guest time is in
 * user already), and our own CPU time. */
static void read_machine(struct opbench_proc *p)
{
	unsigned long long v[8] = {0};
	struct rusage ru;
	FILE *fp = fopen("/proc/stat", "r");

	if (fp != NULL && fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
				 &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		p->busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
		p->all = p->busy + v[3] + v[4];
		p->machine_ok = true;
	}
	if (fp != NULL)
		(void)fclose(fp);
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		p->self_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

void opbench_proc_read(pid_t pid, struct opbench_proc *p)
{
	char path[64], buf[2048], *s;
	FILE *fp;
	size_t n;

	*p = (struct opbench_proc){.ok = false, .rss_kb = -1};
	read_machine(p);
	if (pid == 0)
		return;
	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	(void)fclose(fp);
	buf[n] = 0;
	/* The name in parentheses may hold blanks: fields follow the last ')'.
	 * After it: state(3) ... utime(14) stime(15), numbered as in proc(5).
	 * utime and stime cover every thread of the process. */
	if ((s = strrchr(buf, ')')) == NULL ||
	    sscanf(s + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &p->utime,
		   &p->stime) != 2)
		return;
	p->ticks = p->utime + p->stime;
	p->rss_kb = read_rss(pid);
	p->ok = true;
}
