/*
 * Samples on Linux, from /proc and, for a server in a container, from
 * its cgroup.  Each figure is read from a small text file with one
 * read(2); a figure that cannot be read keeps its last value and is
 * logged once.
 *
 * CPU, per mille of the CPU capacity the server has:
 *   without cgroup: busy / total jiffies between two samples of the
 *     first line of /proc/stat, busy = total - idle - iowait, so the
 *     share of all CPUs of the machine;
 *   with cgroup = PATH: the growth of usage_usec (cgroup v2 cpu.stat) or
 *     of cpuacct.usage (v1, ns) divided by the wall time elapsed times
 *     the CPUs the group may use: its quota (v2 cpu.max, v1
 *     cpu.cfs_quota_us / cpu.cfs_period_us) if it has one, else the
 *     online CPUs.  Clamped to 1000.
 * Load average: the first figure of /proc/loadavg, x 100.
 * Memory: (MemTotal - MemAvailable) / MemTotal from /proc/meminfo.
 * Connections: lines of /proc/net/tcp and /proc/net/tcp6 in state 01
 *   (ESTABLISHED) whose local port is the watched port.  This walks every
 *   socket of the network namespace; on a server with hundreds of
 *   thousands of connections sock_diag with a port filter would be
 *   cheaper.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "compat.h"
#include "lmd.h"
#include "log.h"

#define SMALLFILE	4096

enum { CG_NONE = 0, CG_V2, CG_V1 };

struct sampler {
	const struct lmd_conf *conf;
	int		 cgroup;	/* CG_* */
	uint64_t	 prev_busy, prev_total;	/* /proc/stat jiffies */
	uint64_t	 prev_usage_us;	/* cgroup */
	uint64_t	 prev_wall_us;
	int		 primed;
	unsigned	 warned;	/* bit per figure, logged once */
	char		*linebuf;
	size_t		 linecap;
	struct sample	 last;
};

static ssize_t	 read_small(const char *, char *, size_t);
static int	 cpu_proc(struct sampler *, uint16_t *);
static int	 cpu_cgroup(struct sampler *, uint16_t *);
static double	 cgroup_cpus(const struct sampler *);
static int	 loadavg(uint32_t *);
static int	 meminfo(uint16_t *);
static int	 count_conns(struct sampler *, const char *, uint16_t,
		    uint32_t *);
static void	 warn_once(struct sampler *, unsigned, const char *);

/* Reads a whole small file into buf, NUL-terminated. */
static ssize_t
read_small(const char *path, char *buf, size_t len)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return (-1);
	buf[n] = '\0';
	return (n);
}

static void
warn_once(struct sampler *s, unsigned bit, const char *what)
{
	if (s->warned & bit)
		return;
	s->warned |= bit;
	log_warnx("sample: cannot read %s; reporting its last value", what);
}

struct sampler *
sample_open(const struct lmd_conf *conf)
{
	struct sampler	*s;
	char		 path[PATH_MAX + 32], buf[64], where[PATH_MAX + 16];

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("sample_open");
		return (NULL);
	}
	s->conf = conf;
	if (conf->cgroup[0] != '\0') {
		snprintf(path, sizeof(path), "%s/cpu.stat", conf->cgroup);
		if (read_small(path, buf, sizeof(buf)) > 0 &&
		    strstr(buf, "usage_usec") != NULL)
			s->cgroup = CG_V2;
		else {
			snprintf(path, sizeof(path), "%s/cpuacct.usage",
			    conf->cgroup);
			if (read_small(path, buf, sizeof(buf)) > 0)
				s->cgroup = CG_V1;
		}
		if (s->cgroup == CG_NONE) {
			log_warnx("%s: cgroup %s: neither cpu.stat with "
			    "usage_usec (v2) nor cpuacct.usage (v1) (note: "
			    "\"ip netns exec\" mounts a /sys of its own, without "
			    "the cgroups; \"nsenter --net=/run/netns/NAME\" "
			    "does not)", lmd_conf_where(conf, conf->line_cgroup,
			    where, sizeof(where)), conf->cgroup);
			free(s);
			return (NULL);
		}
	}
	return (s);
}

void
sample_close(struct sampler *s)
{
	if (s == NULL)
		return;
	free(s->linebuf);
	free(s);
}

static int
cpu_proc(struct sampler *s, uint16_t *pm)
{
	char		 buf[SMALLFILE], *p, *end;
	uint64_t	 v[10], total = 0, busy, dt, db;
	unsigned	 i;

	if (read_small("/proc/stat", buf, sizeof(buf)) < 0 ||
	    strncmp(buf, "cpu ", 4) != 0)
		return (-1);
	memset(v, 0, sizeof(v));
	p = buf + 4;
	/* user nice system idle iowait irq softirq steal (guest: in user) */
	for (i = 0; i < 8; i++) {
		errno = 0;
		v[i] = strtoull(p, &end, 10);
		if (end == p || errno != 0)
			return (-1);
		p = end;
		total += v[i];
	}
	busy = total - v[3] - v[4];
	if (s->primed && total > s->prev_total && busy >= s->prev_busy) {
		dt = total - s->prev_total;
		db = busy - s->prev_busy;
		*pm = (uint16_t)(db >= dt ? 1000 : db * 1000 / dt);
	} else
		*pm = 0;
	s->prev_total = total;
	s->prev_busy = busy;
	return (0);
}

/* CPUs the cgroup may use: its quota, or all online ones. */
static double
cgroup_cpus(const struct sampler *s)
{
	char	 path[PATH_MAX + 32], buf[128];
	double	 quota, period;
	long	 n;

	if (s->cgroup == CG_V2) {
		snprintf(path, sizeof(path), "%s/cpu.max", s->conf->cgroup);
		if (read_small(path, buf, sizeof(buf)) > 0 &&
		    sscanf(buf, "%lf %lf", &quota, &period) == 2 &&
		    quota > 0 && period > 0)
			return (quota / period);
	} else {
		snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us",
		    s->conf->cgroup);
		if (read_small(path, buf, sizeof(buf)) > 0 &&
		    sscanf(buf, "%lf", &quota) == 1 && quota > 0) {
			snprintf(path, sizeof(path), "%s/cpu.cfs_period_us",
			    s->conf->cgroup);
			if (read_small(path, buf, sizeof(buf)) > 0 &&
			    sscanf(buf, "%lf", &period) == 1 && period > 0)
				return (quota / period);
		}
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return (n > 0 ? (double)n : 1.0);
}

static int
cpu_cgroup(struct sampler *s, uint16_t *pm)
{
	char		 path[PATH_MAX + 32], buf[SMALLFILE], *p, *end;
	uint64_t	 usage, wall;
	double		 share;

	if (s->cgroup == CG_V2) {
		snprintf(path, sizeof(path), "%s/cpu.stat", s->conf->cgroup);
		if (read_small(path, buf, sizeof(buf)) < 0 ||
		    (p = strstr(buf, "usage_usec ")) == NULL)
			return (-1);
		p += strlen("usage_usec ");
	} else {
		snprintf(path, sizeof(path), "%s/cpuacct.usage",
		    s->conf->cgroup);
		if (read_small(path, buf, sizeof(buf)) < 0)
			return (-1);
		p = buf;
	}
	if (!isdigit((unsigned char)*p))
		return (-1);
	errno = 0;
	usage = strtoull(p, &end, 10);
	if (errno != 0)
		return (-1);
	if (s->cgroup == CG_V1)
		usage /= 1000;		/* ns */
	wall = clock_mono_us();
	if (s->primed && wall > s->prev_wall_us && usage >= s->prev_usage_us) {
		share = (double)(usage - s->prev_usage_us) /
		    ((double)(wall - s->prev_wall_us) * cgroup_cpus(s));
		*pm = (uint16_t)(share >= 1.0 ? 1000 : share * 1000.0 + 0.5);
	} else
		*pm = 0;
	s->prev_usage_us = usage;
	s->prev_wall_us = wall;
	return (0);
}

/* "0.52 0.58 0.59 1/467 12345": the first figure, x 100. */
static int
loadavg(uint32_t *l)
{
	char		 buf[256], *p = buf;
	uint64_t	 ip = 0, fp = 0;
	unsigned	 nd = 0;

	if (read_small("/proc/loadavg", buf, sizeof(buf)) < 0 ||
	    !isdigit((unsigned char)*p))
		return (-1);
	while (isdigit((unsigned char)*p) && ip < 100000000)
		ip = ip * 10 + (uint64_t)(*p++ - '0');
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			if (nd++ < 2)
				fp = fp * 10 + (uint64_t)(*p - '0');
	if (nd == 1)
		fp *= 10;
	*l = (uint32_t)(ip * 100 + fp);
	return (0);
}

static int
meminfo(uint16_t *pm)
{
	char		 buf[SMALLFILE], *p;
	uint64_t	 total, avail;

	if (read_small("/proc/meminfo", buf, sizeof(buf)) < 0 ||
	    (p = strstr(buf, "MemTotal:")) == NULL ||
	    sscanf(p, "MemTotal: %" SCNu64, &total) != 1 ||
	    (p = strstr(buf, "MemAvailable:")) == NULL ||
	    sscanf(p, "MemAvailable: %" SCNu64, &avail) != 1 || total == 0)
		return (-1);
	if (avail > total)
		avail = total;
	*pm = (uint16_t)((total - avail) * 1000 / total);
	return (0);
}

/*
 * "  0: 0100007F:1F90 00000000:0000 0A ...": the local port is the hex
 * after the first colon of the second field, the state the fourth field.
 */
static int
count_conns(struct sampler *s, const char *path, uint16_t port,
    uint32_t *n)
{
	FILE		*fp;
	char		*p, *colon, *end;
	unsigned long	 lport, st;
	ssize_t		 len;

	if ((fp = fopen(path, "re")) == NULL)
		return (errno == ENOENT ? 0 : -1);	/* no IPv6 */
	while ((len = getline(&s->linebuf, &s->linecap, fp)) != -1) {
		p = s->linebuf;
		while (*p == ' ')
			p++;
		if ((p = strchr(p, ' ')) == NULL)	/* after "sl:" */
			continue;
		while (*p == ' ')
			p++;
		if ((colon = strchr(p, ':')) == NULL)
			continue;
		lport = strtoul(colon + 1, &end, 16);
		if (end == colon + 1 || *end != ' ')
			continue;
		p = end;
		while (*p == ' ')
			p++;
		if ((p = strchr(p, ' ')) == NULL)	/* remote address */
			continue;
		st = strtoul(p, &end, 16);
		if (end == p)
			continue;
		if (st == 1 && lport == port)
			(*n)++;
	}
	fclose(fp);
	return (0);
}

void
sample_take(struct sampler *s, struct sample *out)
{
	uint32_t	 conns = 0;

	if ((s->cgroup != CG_NONE ? cpu_cgroup(s, &s->last.cpu_pm) :
	    cpu_proc(s, &s->last.cpu_pm)) == -1)
		warn_once(s, 1, s->cgroup != CG_NONE ? "the cgroup's CPU "
		    "usage" : "/proc/stat");
	s->primed = 1;
	if (loadavg(&s->last.load100) == -1)
		warn_once(s, 2, "/proc/loadavg");
	if (meminfo(&s->last.mem_pm) == -1)
		warn_once(s, 4, "/proc/meminfo");
	if (count_conns(s, "/proc/net/tcp", s->conf->watch_port, &conns) ==
	    -1 || count_conns(s, "/proc/net/tcp6", s->conf->watch_port,
	    &conns) == -1)
		warn_once(s, 8, "/proc/net/tcp");
	else
		s->last.conns = conns;
	*out = s->last;
}
