/*
 * The eBPF fast path's user-space half: load or adopt, pin, attach with
 * tc, and the flow map for the engine (fastpath.h).
 *
 * The program and its two maps are pinned in <bpffs>/<name>/ as "prog",
 * "flows" and "stats".  Pins make them outlive loadd: the tc filters keep
 * forwarding established flows while loadd restarts, and the next loadd
 * adopts the same maps (and their flows and counters) instead of loading
 * new, empty ones.  Removing them is fastpath_detach on each interface
 * and fastpath_unpin (doc/fastpath.md has the shell equivalent).
 *
 * The object is compiled by clang -target bpf at build time and embedded
 * by bpftool's skeleton, so loadd needs no file at run time.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "fastpath.h"

/*
 * bpftool 7.1's skeleton casts the const off its embedded object; that
 * one warning is set aside for that one generated header.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include "fastpath.skel.h"
#pragma GCC diagnostic pop

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC	0xcafe4a11
#endif

struct fastpath {
	struct fastpath_bpf	*skel;		/* NULL when adopted */
	int			 prog_fd;
	int			 flows_fd;
	int			 stats_fd;
	int			 events_fd;	/* the event ring */
	int			 adopted;
	uint32_t		 capacity;	/* flows: map entries / 2 */
	uint32_t		 prog_id;
	int			 ncpus;
	uint64_t		*percpu;	/* ncpus values, for the stats */
	struct fp_key		*bkeys;		/* FASTPATH_BATCH, for the scan */
	struct fp_val		*bvals;
	char			 err[FASTPATH_ERRLEN];
};

const char *const fastpath_stat_names[FP_ST_MAX] = {
	[FP_ST_HIT] = "hit",
	[FP_ST_MISS] = "miss",
	[FP_ST_NOTIP] = "notip",
	[FP_ST_OTHER] = "other",
	[FP_ST_FRAG] = "frag",
	[FP_ST_SHORT] = "short",
	[FP_ST_TTL] = "ttl",
	[FP_ST_FIB] = "fib",
	[FP_ST_ERROR] = "error",
	[FP_ST_RINGFULL] = "ringfull",
};

static const char *const pin_names[] = { "prog", "flows", "stats",
	"events" };
#define NPINS	(sizeof(pin_names) / sizeof(pin_names[0]))

static void	 seterr(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 pin_path(char *, size_t, const struct fastpath_conf *,
		    const char *);
static int	 bpffs_ready(const struct fastpath_conf *, char *, size_t);
static int	 map_check(int, uint32_t, uint32_t, uint32_t, uint32_t *,
		    const char *, char *, size_t);
static int	 adopt_maps(struct fastpath *);
static int	 fp_adopt(struct fastpath *, const struct fastpath_conf *);
static int	 fp_load(struct fastpath *, const struct fastpath_conf *);
static int	 tc_hook(const char *, struct bpf_tc_hook *, char *, size_t);
static int	 tc_quiet(enum libbpf_print_level, const char *, va_list);
static int	 flow_keys(const struct fastpath_flow *, struct fp_key *,
		    struct fp_key *);
static void	 flow_vals(const struct fastpath_flow *, struct fp_val *,
		    struct fp_val *);
static void	 dir_copy(struct fastpath_dir *, const struct fp_val *);

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
pin_path(char *buf, size_t len, const struct fastpath_conf *conf,
    const char *leaf)
{
	const char	*fs = conf->bpffs != NULL ? conf->bpffs : FASTPATH_BPFFS;
	const char	*name = conf->name != NULL ? conf->name : FASTPATH_NAME;
	int		 n;

	if (leaf != NULL)
		n = snprintf(buf, len, "%s/%s/%s", fs, name, leaf);
	else
		n = snprintf(buf, len, "%s/%s", fs, name);
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

/*
 * bpffs is not mounted by default on every system (nor inside "ip netns
 * exec", which mounts a fresh /sys): mount it where it is expected.
 */
static int
bpffs_ready(const struct fastpath_conf *conf, char *err, size_t errlen)
{
	const char	*fs = conf->bpffs != NULL ? conf->bpffs : FASTPATH_BPFFS;
	char		 dir[PATH_MAX];
	struct statfs	 sf;

	if (statfs(fs, &sf) == -1) {
		seterr(err, errlen, "fastpath: %s: %s", fs, strerror(errno));
		return (-1);
	}
	if ((unsigned long)sf.f_type != BPF_FS_MAGIC &&
	    mount("bpffs", fs, "bpf", 0, "mode=0700") == -1) {
		seterr(err, errlen, "fastpath: cannot mount bpffs on %s: %s",
		    fs, strerror(errno));
		return (-1);
	}
	if (pin_path(dir, sizeof(dir), conf, NULL) == -1) {
		seterr(err, errlen, "fastpath: pin path too long");
		return (-1);
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		seterr(err, errlen, "fastpath: mkdir %s: %s", dir,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/* Whether a pinned map has this build's layout. */
static int
map_check(int fd, uint32_t type, uint32_t ksize, uint32_t vsize,
    uint32_t *max, const char *what, char *err, size_t errlen)
{
	struct bpf_map_info	 info;
	uint32_t		 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
		seterr(err, errlen, "fastpath: pinned %s: %s", what,
		    strerror(errno));
		return (-1);
	}
	if (info.type != type || info.key_size != ksize ||
	    info.value_size != vsize) {
		seterr(err, errlen, "fastpath: the pinned %s is of another "
		    "layout (type %u, key %u, value %u bytes; this loadd: "
		    "%u, %u, %u): remove the pins (doc/fastpath.md)", what,
		    info.type, info.key_size, info.value_size, type, ksize,
		    vsize);
		return (-1);
	}
	if (max != NULL)
		*max = info.max_entries;
	return (0);
}

/* Takes over the pins of an earlier loadd; -1 with fp->err. */
static int
fp_adopt(struct fastpath *fp, const struct fastpath_conf *conf)
{
	struct bpf_prog_info	 info;
	uint32_t		 len = sizeof(info);
	char			 path[PATH_MAX];
	int			*fds[NPINS] = { &fp->prog_fd, &fp->flows_fd,
				    &fp->stats_fd, &fp->events_fd };
	size_t			 i;

	for (i = 0; i < NPINS; i++) {
		if (pin_path(path, sizeof(path), conf, pin_names[i]) == -1 ||
		    (*fds[i] = bpf_obj_get(path)) < 0) {
			*fds[i] = -1;
			seterr(fp->err, sizeof(fp->err), "fastpath: %s: %s "
			    "(the other pins are there: remove them, "
			    "doc/fastpath.md)", path, strerror(errno));
			return (-1);
		}
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fp->prog_fd, &info, &len) != 0 ||
	    info.type != BPF_PROG_TYPE_SCHED_CLS) {
		seterr(fp->err, sizeof(fp->err), "fastpath: the pinned "
		    "program is not a tc classifier");
		return (-1);
	}
	fp->prog_id = info.id;
	if (adopt_maps(fp) == -1)
		return (-1);
	fp->adopted = 1;
	return (0);
}

/*
 * The pinned maps must be this build's: layouts, and as many counters
 * as this build has (an older program, without events or with fewer
 * counters, is refused with the advice to remove the pins).
 */
static int
adopt_maps(struct fastpath *fp)
{
	uint32_t	 max, nst;

	if (map_check(fp->flows_fd, BPF_MAP_TYPE_HASH, sizeof(struct fp_key),
	    sizeof(struct fp_val), &max, "flow map", fp->err,
	    sizeof(fp->err)) == -1 ||
	    map_check(fp->stats_fd, BPF_MAP_TYPE_PERCPU_ARRAY,
	    sizeof(uint32_t), sizeof(uint64_t), &nst, "stats map", fp->err,
	    sizeof(fp->err)) == -1 ||
	    map_check(fp->events_fd, BPF_MAP_TYPE_RINGBUF, 0, 0, NULL,
	    "event ring", fp->err, sizeof(fp->err)) == -1)
		return (-1);
	if (nst != FP_ST_MAX) {
		seterr(fp->err, sizeof(fp->err), "fastpath: the pinned stats "
		    "map has %u counters, this loadd %u: remove the pins "
		    "(doc/fastpath.md)", nst, (unsigned)FP_ST_MAX);
		return (-1);
	}
	fp->capacity = max / 2;
	return (0);
}

/* Loads the embedded object and pins it; -1 with fp->err. */
static int
fp_load(struct fastpath *fp, const struct fastpath_conf *conf)
{
	struct bpf_prog_info	 info;
	uint32_t		 len = sizeof(info);
	uint32_t		 flows;
	char			 path[PATH_MAX];
	int			 fds[NPINS], err;
	size_t			 i, j;

	flows = conf->max_flows != 0 ? conf->max_flows : FASTPATH_MAX_FLOWS;
	if (flows > UINT32_MAX / 2) {
		seterr(fp->err, sizeof(fp->err), "fastpath: %u flows is too "
		    "many", flows);
		return (-1);
	}
	if ((fp->skel = fastpath_bpf__open()) == NULL) {
		seterr(fp->err, sizeof(fp->err), "fastpath: cannot open the "
		    "embedded BPF object: %s", strerror(errno));
		return (-1);
	}
	if ((err = bpf_map__set_max_entries(fp->skel->maps.fp_flows,
	    flows * 2)) != 0 ||
	    (err = fastpath_bpf__load(fp->skel)) != 0) {
		seterr(fp->err, sizeof(fp->err), "fastpath: the kernel "
		    "refused the program or its maps: %s (libbpf said why "
		    "above)", strerror(-err));
		return (-1);
	}
	fds[0] = bpf_program__fd(fp->skel->progs.fp_ingress);
	fds[1] = bpf_map__fd(fp->skel->maps.fp_flows);
	fds[2] = bpf_map__fd(fp->skel->maps.fp_stats);
	fds[3] = bpf_map__fd(fp->skel->maps.fp_events);
	for (i = 0; i < NPINS; i++) {
		if (pin_path(path, sizeof(path), conf, pin_names[i]) == -1 ||
		    bpf_obj_pin(fds[i], path) != 0) {
			seterr(fp->err, sizeof(fp->err), "fastpath: pin %s: %s",
			    path, strerror(errno));
			for (j = 0; j < i; j++)
				if (pin_path(path, sizeof(path), conf,
				    pin_names[j]) == 0)
					unlink(path);
			return (-1);
		}
	}
	/* The skeleton owns these; fastpath_close does not close them. */
	fp->prog_fd = fds[0];
	fp->flows_fd = fds[1];
	fp->stats_fd = fds[2];
	fp->events_fd = fds[3];
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fp->prog_fd, &info, &len) == 0)
		fp->prog_id = info.id;
	fp->capacity = flows;
	return (0);
}

struct fastpath *
fastpath_open(const struct fastpath_conf *conf, char *err, size_t errlen)
{
	struct fastpath_conf	 defaults;
	struct fastpath		*fp;
	char			 path[PATH_MAX];
	struct stat		 sb;
	int			 rc;

	if (conf == NULL) {
		memset(&defaults, 0, sizeof(defaults));
		conf = &defaults;
	}
	if (pin_path(path, sizeof(path), conf, "flows") == -1) {
		seterr(err, errlen, "fastpath: pin path too long");
		return (NULL);
	}
	if (conf->adopt_only && stat(path, &sb) == -1) {
		seterr(err, errlen, "fastpath: %s: %s (no fast path is "
		    "loaded)", path, strerror(errno));
		return (NULL);
	}
	if (bpffs_ready(conf, err, errlen) == -1)
		return (NULL);
	if ((fp = calloc(1, sizeof(*fp))) == NULL) {
		seterr(err, errlen, "fastpath: %s", strerror(errno));
		return (NULL);
	}
	fp->prog_fd = fp->flows_fd = fp->stats_fd = fp->events_fd = -1;
	if ((fp->ncpus = libbpf_num_possible_cpus()) <= 0 ||
	    (fp->percpu = calloc(fp->ncpus, sizeof(uint64_t))) == NULL ||
	    (fp->bkeys = calloc(FASTPATH_BATCH, sizeof(*fp->bkeys))) == NULL ||
	    (fp->bvals = calloc(FASTPATH_BATCH, sizeof(*fp->bvals))) == NULL) {
		seterr(err, errlen, "fastpath: cannot size the per-CPU "
		    "counters and the scan's buffers");
		fastpath_close(fp);
		return (NULL);
	}
	if (stat(path, &sb) == 0)
		rc = fp_adopt(fp, conf);
	else
		rc = fp_load(fp, conf);
	if (rc == -1) {
		seterr(err, errlen, "%s", fp->err);
		fastpath_close(fp);
		return (NULL);
	}
	return (fp);
}

int
fastpath_adopted(const struct fastpath *fp)
{
	return (fp->adopted);
}

uint32_t
fastpath_capacity(const struct fastpath *fp)
{
	return (fp->capacity);
}

uint32_t
fastpath_prog_id(const struct fastpath *fp)
{
	return (fp->prog_id);
}

int
fastpath_prog_fd(const struct fastpath *fp)
{
	return (fp->prog_fd);
}

int
fastpath_events_map_fd(const struct fastpath *fp)
{
	return (fp->events_fd);
}

const char *
fastpath_error(const struct fastpath *fp)
{
	return (fp->err);
}

void
fastpath_close(struct fastpath *fp)
{
	if (fp == NULL)
		return;
	if (fp->skel != NULL)
		fastpath_bpf__destroy(fp->skel);
	else {
		if (fp->prog_fd >= 0)
			close(fp->prog_fd);
		if (fp->flows_fd >= 0)
			close(fp->flows_fd);
		if (fp->stats_fd >= 0)
			close(fp->stats_fd);
		if (fp->events_fd >= 0)
			close(fp->events_fd);
	}
	free(fp->percpu);
	free(fp->bkeys);
	free(fp->bvals);
	free(fp);
}

int
fastpath_unpin(const struct fastpath_conf *conf, char *err, size_t errlen)
{
	struct fastpath_conf	 defaults;
	char			 path[PATH_MAX];
	size_t			 i;

	if (conf == NULL) {
		memset(&defaults, 0, sizeof(defaults));
		conf = &defaults;
	}
	for (i = 0; i < NPINS; i++) {
		if (pin_path(path, sizeof(path), conf, pin_names[i]) == -1) {
			seterr(err, errlen, "fastpath: pin path too long");
			return (-1);
		}
		if (unlink(path) == -1 && errno != ENOENT) {
			seterr(err, errlen, "fastpath: unlink %s: %s", path,
			    strerror(errno));
			return (-1);
		}
	}
	if (pin_path(path, sizeof(path), conf, NULL) == 0 &&
	    rmdir(path) == -1 && errno != ENOENT) {
		seterr(err, errlen, "fastpath: rmdir %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

/* Where libbpf's messages go: fastpath_set_logger(). */
static void	(*logger)(int, const char *);

/*
 * libbpf's messages, a line at a time, to the logger (a verifier's
 * refusal comes as one long message of many lines).  Without a logger,
 * libbpf's own default (stderr) stays.
 */
static int	 to_logger(enum libbpf_print_level, const char *, va_list)
		    __attribute__((format(printf, 2, 0)));

static int
to_logger(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static char	 buf[8192];
	char		*line, *nl;
	int		 lv;

	if (logger == NULL)
		return (0);
	lv = level == LIBBPF_WARN ? FASTPATH_LOG_WARN :
	    level == LIBBPF_INFO ? FASTPATH_LOG_INFO : FASTPATH_LOG_DEBUG;
	if (vsnprintf(buf, sizeof(buf), fmt, ap) >= (int)sizeof(buf))
		logger(lv, "libbpf: the next message is cut at 8 KB");
	for (line = buf; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (*line != '\0')
			logger(lv, line);
		if (nl == NULL)
			break;
	}
	return (0);
}

void
fastpath_set_logger(void (*fn)(int, const char *))
{
	logger = fn;
	libbpf_set_print(fn != NULL ? to_logger : NULL);
}

/*
 * libbpf prints the kernel's extack for every tc call that fails, the
 * expected ones too ("exclusivity flag on" for a clsact that is there
 * already, no filter to detach): the callers below say what matters.
 */
static int
tc_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return (0);
}

static int
tc_hook(const char *ifname, struct bpf_tc_hook *hook, char *err,
    size_t errlen)
{
	unsigned int	 ifindex;

	if ((ifindex = if_nametoindex(ifname)) == 0) {
		seterr(err, errlen, "fastpath: %s: %s", ifname,
		    strerror(errno));
		return (-1);
	}
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = BPF_TC_INGRESS;
	return (0);
}

int
fastpath_attach(struct fastpath *fp, const char *ifname)
{
	struct bpf_tc_hook	 hook;
	struct bpf_tc_opts	 opts;
	libbpf_print_fn_t	 old;
	uint32_t		 cur;
	int			 rc;

	if (tc_hook(ifname, &hook, fp->err, sizeof(fp->err)) == -1)
		return (-1);
	/* The clsact qdisc may be there already (ours or the operator's). */
	old = libbpf_set_print(tc_quiet);
	rc = bpf_tc_hook_create(&hook);
	libbpf_set_print(old);
	if (rc != 0 && rc != -EEXIST) {
		seterr(fp->err, sizeof(fp->err), "fastpath: %s: cannot add "
		    "the clsact qdisc: %s", ifname, strerror(-rc));
		return (-1);
	}
	/*
	 * Another program in loadd's place is another loadd's (pins of its
	 * own, in this network namespace) or one whose pins are gone: to
	 * replace it would silently take its flows from it.  Said, with the
	 * way to remove it.
	 */
	if (fastpath_query(ifname, &cur, fp->err, sizeof(fp->err)) == -1)
		return (-1);
	if (cur != 0 && cur != fp->prog_id) {
		seterr(fp->err, sizeof(fp->err), "fastpath: %s: another "
		    "program (id %u: another loadd's, or one whose pins were "
		    "removed) holds loadd's tc filter; an interface serves "
		    "one loadd.  If it is a leftover: tc filter del dev %s "
		    "ingress prio %u handle 0x%x bpf", ifname, cur, ifname,
		    FASTPATH_TC_PRIO, FASTPATH_TC_HANDLE);
		return (-1);
	}
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.handle = FASTPATH_TC_HANDLE;
	opts.priority = FASTPATH_TC_PRIO;
	opts.prog_fd = fp->prog_fd;
	opts.flags = BPF_TC_F_REPLACE;
	if ((rc = bpf_tc_attach(&hook, &opts)) != 0) {
		seterr(fp->err, sizeof(fp->err), "fastpath: %s: cannot "
		    "attach the tc filter: %s", ifname, strerror(-rc));
		return (-1);
	}
	return (0);
}

int
fastpath_detach(const char *ifname, char *err, size_t errlen)
{
	struct bpf_tc_hook	 hook;
	struct bpf_tc_opts	 opts;
	libbpf_print_fn_t	 old;
	int			 rc;

	if (tc_hook(ifname, &hook, err, errlen) == -1)
		return (-1);
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.handle = FASTPATH_TC_HANDLE;
	opts.priority = FASTPATH_TC_PRIO;
	old = libbpf_set_print(tc_quiet);
	rc = bpf_tc_detach(&hook, &opts);
	libbpf_set_print(old);
	/* No clsact (EINVAL from the kernel) or no filter: nothing to do. */
	if (rc != 0 && rc != -ENOENT && rc != -EINVAL) {
		seterr(err, errlen, "fastpath: %s: cannot detach: %s", ifname,
		    strerror(-rc));
		return (-1);
	}
	return (0);
}

int
fastpath_query(const char *ifname, uint32_t *prog_id, char *err,
    size_t errlen)
{
	struct bpf_tc_hook	 hook;
	struct bpf_tc_opts	 opts;
	libbpf_print_fn_t	 old;
	int			 rc;

	*prog_id = 0;
	if (tc_hook(ifname, &hook, err, errlen) == -1)
		return (-1);
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.handle = FASTPATH_TC_HANDLE;
	opts.priority = FASTPATH_TC_PRIO;
	old = libbpf_set_print(tc_quiet);
	rc = bpf_tc_query(&hook, &opts);
	libbpf_set_print(old);
	if (rc == -ENOENT || rc == -EINVAL)
		return (0);
	if (rc != 0) {
		seterr(err, errlen, "fastpath: %s: cannot query tc: %s",
		    ifname, strerror(-rc));
		return (-1);
	}
	*prog_id = opts.prog_id;
	return (0);
}

/*
 * The two keys of a flow, as its packets arrive: client->VIP and
 * server->client.  Every byte is set, pads included (they are hashed).
 */
static int
flow_keys(const struct fastpath_flow *f, struct fp_key *fwd,
    struct fp_key *rev)
{
	size_t	 alen;

	if ((f->family != 4 && f->family != 6) ||
	    (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP)) {
		errno = EINVAL;
		return (-1);
	}
	alen = f->family == 4 ? 4 : 16;
	memset(fwd, 0, sizeof(*fwd));
	memset(rev, 0, sizeof(*rev));
	memcpy(fwd->saddr, f->client.b, alen);
	memcpy(fwd->daddr, f->vip.b, alen);
	fwd->sport = htons(f->cport);
	fwd->dport = htons(f->vport);
	memcpy(rev->saddr, f->server.b, alen);
	memcpy(rev->daddr, f->client.b, alen);
	rev->sport = htons(f->sport);
	rev->dport = htons(f->cport);
	fwd->proto = rev->proto = f->proto;
	fwd->family = rev->family = f->family;
	return (0);
}

static void
flow_vals(const struct fastpath_flow *f, struct fp_val *fwd,
    struct fp_val *rev)
{
	size_t	 alen = f->family == 4 ? 4 : 16;

	memset(fwd, 0, sizeof(*fwd));
	memset(rev, 0, sizeof(*rev));
	memcpy(fwd->addr, f->server.b, alen);
	fwd->port = htons(f->sport);
	fwd->dir = FP_TO_SERVER;
	memcpy(rev->addr, f->vip.b, alen);
	rev->port = htons(f->vport);
	rev->dir = FP_TO_CLIENT;
}

int
fastpath_flow_add(struct fastpath *fp, const struct fastpath_flow *f)
{
	struct fp_key	 kf, kr;
	struct fp_val	 vf, vr;
	int		 saved;

	if (flow_keys(f, &kf, &kr) == -1) {
		seterr(fp->err, sizeof(fp->err), "fastpath: only TCP and UDP "
		    "over IPv4 or IPv6");
		return (-1);
	}
	flow_vals(f, &vf, &vr);
	/*
	 * The reply direction first: both directions are also handled by
	 * the slow path, so a flow half in the map is never wrong, only
	 * slower; the order only decides which half is there on failure
	 * (none: the first half is taken back).
	 */
	if (bpf_map_update_elem(fp->flows_fd, &kr, &vr, BPF_NOEXIST) != 0) {
		saved = errno;
		seterr(fp->err, sizeof(fp->err), "fastpath: the reply "
		    "direction: %s", saved == EEXIST ? "its tuple is in the "
		    "map already" : strerror(saved));
		errno = saved;
		return (-1);
	}
	if (bpf_map_update_elem(fp->flows_fd, &kf, &vf, BPF_NOEXIST) != 0) {
		saved = errno;
		bpf_map_delete_elem(fp->flows_fd, &kr);
		seterr(fp->err, sizeof(fp->err), "fastpath: the client "
		    "direction: %s", saved == EEXIST ? "its tuple is in the "
		    "map already" : strerror(saved));
		errno = saved;
		return (-1);
	}
	return (0);
}

int
fastpath_flow_del(struct fastpath *fp, const struct fastpath_flow *f)
{
	struct fp_key	 kf, kr;
	int		 gone = 0;

	if (flow_keys(f, &kf, &kr) == -1) {
		seterr(fp->err, sizeof(fp->err), "fastpath: only TCP and UDP "
		    "over IPv4 or IPv6");
		return (-1);
	}
	if (bpf_map_delete_elem(fp->flows_fd, &kf) == 0)
		gone++;
	if (bpf_map_delete_elem(fp->flows_fd, &kr) == 0)
		gone++;
	if (gone == 0) {
		seterr(fp->err, sizeof(fp->err), "fastpath: no such flow");
		errno = ENOENT;
		return (-1);
	}
	return (0);
}

static void
dir_copy(struct fastpath_dir *d, const struct fp_val *v)
{
	d->packets = v->packets;
	d->bytes = v->bytes;
	d->last_ns = v->last_ns;
	d->fin = v->fin != 0;
	d->rst = v->rst != 0;
}

int
fastpath_flow_read(struct fastpath *fp, const struct fastpath_flow *f,
    struct fastpath_counters *c)
{
	struct fp_key	 kf, kr;
	struct fp_val	 v;

	memset(c, 0, sizeof(*c));
	if (flow_keys(f, &kf, &kr) == -1) {
		seterr(fp->err, sizeof(fp->err), "fastpath: only TCP and UDP "
		    "over IPv4 or IPv6");
		return (-1);
	}
	if (bpf_map_lookup_elem(fp->flows_fd, &kf, &v) == 0) {
		c->has |= FASTPATH_HAS_TO_SERVER;
		dir_copy(&c->to_server, &v);
	}
	if (bpf_map_lookup_elem(fp->flows_fd, &kr, &v) == 0) {
		c->has |= FASTPATH_HAS_TO_CLIENT;
		dir_copy(&c->to_client, &v);
	}
	if (c->has == 0) {
		seterr(fp->err, sizeof(fp->err), "fastpath: no such flow");
		errno = ENOENT;
		return (-1);
	}
	return (0);
}

/*
 * The flow an entry of the map belongs to, from its key and value: 0, or
 * -1 for an entry that is not one of loadd's.
 */
static int
entry_flow(const struct fp_key *k, const struct fp_val *v,
    struct fastpath_flow *f)
{
	size_t	 alen;

	if ((k->family != 4 && k->family != 6) ||
	    (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP) ||
	    (v->dir != FP_TO_SERVER && v->dir != FP_TO_CLIENT))
		return (-1);
	alen = k->family == 4 ? 4 : 16;
	memset(f, 0, sizeof(*f));
	f->family = k->family;
	f->proto = k->proto;
	if (v->dir == FP_TO_SERVER) {
		memcpy(f->client.b, k->saddr, alen);
		memcpy(f->vip.b, k->daddr, alen);
		memcpy(f->server.b, v->addr, alen);
		f->cport = ntohs(k->sport);
		f->vport = ntohs(k->dport);
		f->sport = ntohs(v->port);
	} else {
		memcpy(f->server.b, k->saddr, alen);
		memcpy(f->client.b, k->daddr, alen);
		memcpy(f->vip.b, v->addr, alen);
		f->sport = ntohs(k->sport);
		f->cport = ntohs(k->dport);
		f->vport = ntohs(v->port);
	}
	return (0);
}

int
fastpath_flow_of(const struct fp_key *k, const __u32 addr[4], __u16 port,
    __u8 dir, struct fastpath_flow *f)
{
	struct fp_val	 v;

	memset(&v, 0, sizeof(v));
	memcpy(v.addr, addr, sizeof(v.addr));
	v.port = port;
	v.dir = dir;
	return (entry_flow(k, &v, f));
}

int
fastpath_flow_walk(struct fastpath *fp, int (*cb)(const struct fastpath_flow *,
    const struct fastpath_counters *, void *), void *arg)
{
	struct fastpath_flow	 f;
	struct fastpath_counters c;
	struct fp_key		 k, next, kf, kr;
	struct fp_val		 v, ov;
	uint64_t		 steps = 0, limit;
	int			 n = 0, first = 1;

	/*
	 * A hash map's walk starts over if the current key is deleted
	 * under it: the bound keeps such a walk finite.
	 */
	limit = (uint64_t)fp->capacity * 2 + 16;
	while (bpf_map_get_next_key(fp->flows_fd, first ? NULL : &k,
	    &next) == 0) {
		first = 0;
		k = next;
		if (++steps > limit) {
			seterr(fp->err, sizeof(fp->err), "fastpath: the flow "
			    "map changed during the walk");
			return (-1);
		}
		if (bpf_map_lookup_elem(fp->flows_fd, &k, &v) != 0 ||
		    entry_flow(&k, &v, &f) == -1 ||
		    flow_keys(&f, &kf, &kr) == -1)
			continue;	/* deleted meanwhile, or not ours */
		memset(&c, 0, sizeof(c));
		/* A flow is reported once: by its client half if it has one. */
		if (v.dir == FP_TO_SERVER) {
			c.has = FASTPATH_HAS_TO_SERVER;
			dir_copy(&c.to_server, &v);
			if (bpf_map_lookup_elem(fp->flows_fd, &kr, &ov) == 0) {
				c.has |= FASTPATH_HAS_TO_CLIENT;
				dir_copy(&c.to_client, &ov);
			}
		} else {
			if (bpf_map_lookup_elem(fp->flows_fd, &kf, &ov) == 0)
				continue;
			c.has = FASTPATH_HAS_TO_CLIENT;
			dir_copy(&c.to_client, &v);
		}
		n++;
		if (cb != NULL && cb(&f, &c, arg) != 0)
			break;
	}
	return (n);
}

int
fastpath_flow_scan(struct fastpath *fp, struct fastpath_scan *sc,
    unsigned budget, int (*cb)(const struct fastpath_flow *, int,
    const struct fastpath_dir *, void *), void *arg)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct fastpath_flow	 f;
	struct fastpath_dir	 d;
	uint32_t		 count, i;
	unsigned		 done = 0;
	int			 rc, end;

	while (done < budget) {
		count = FASTPATH_BATCH;
		rc = bpf_map_lookup_batch(fp->flows_fd, sc->started ?
		    sc->token : NULL, sc->token, fp->bkeys, fp->bvals, &count,
		    &opts);
		end = rc != 0 && errno == ENOENT;
		if (rc != 0 && !end) {
			seterr(fp->err, sizeof(fp->err), "fastpath: reading "
			    "the flow map: %s", strerror(errno));
			sc->started = 0;
			return (-1);
		}
		sc->started = 1;
		for (i = 0; i < count; i++) {
			if (entry_flow(&fp->bkeys[i], &fp->bvals[i], &f) == -1)
				continue;
			dir_copy(&d, &fp->bvals[i]);
			cb(&f, fp->bvals[i].dir == FP_TO_SERVER ?
			    FASTPATH_HAS_TO_SERVER : FASTPATH_HAS_TO_CLIENT, &d,
			    arg);
		}
		done += count;
		if (end) {
			sc->started = 0;
			return (1);
		}
	}
	return (0);
}

int
fastpath_stats_read(struct fastpath *fp, struct fastpath_stats *s)
{
	uint32_t	 i;
	int		 cpu;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < FP_ST_MAX; i++) {
		if (bpf_map_lookup_elem(fp->stats_fd, &i, fp->percpu) != 0) {
			seterr(fp->err, sizeof(fp->err), "fastpath: reading "
			    "the counters: %s", strerror(errno));
			return (-1);
		}
		for (cpu = 0; cpu < fp->ncpus; cpu++)
			s->st[i] += fp->percpu[cpu];
	}
	return (0);
}

uint64_t
fastpath_now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}
