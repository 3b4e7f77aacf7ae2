/*
 * The flow table: chained hashing over preallocated entries, and one
 * list per timeout class for expiry and eviction.
 *
 * A packet only stores the time in f->last.  The expiry pass looks at the
 * head of each class list; an entry is looked at again once a sixteenth of
 * its timeout has passed since it was linked, and either expires or goes
 * back to the tail.  So a busy flow costs one relink per sixteenth of its
 * timeout, not one per packet, and an idle flow outlives its timeout by at
 * most a sixteenth.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "hash.h"

_Static_assert(sizeof(struct flow) == 56, "a flow entry is 56 bytes");

static void	 list_link(struct flowtab *, uint32_t, int, uint32_t);
static void	 list_unlink(struct flowtab *, uint32_t);
static void	 flow_release(struct flowtab *, struct flow *);
static uint32_t	 flow_victim(const struct flowtab *);

static const char *const flow_state_names[FS_NSTATES] = {
	[FS_NONE] = "none",
	[FS_SYN_SENT] = "syn_sent",
	[FS_SYN_RECV] = "syn_recv",
	[FS_ESTABLISHED] = "established",
	[FS_FIN_WAIT] = "fin_wait",
	[FS_TIME_WAIT] = "time_wait",
	[FS_CLOSE] = "close",
	[FS_UDP] = "udp",
	[FS_RECOVERED] = "recovered",
	[FS_OFFLOADED] = "offloaded",
	[FS_UDP_UNREPLIED] = "udp_unreplied",
	[FS_OFFLOAD_PENDING] = "offload_pending",
};

const char *
flow_state_name(int s)
{
	if (s < 0 || s >= FS_NSTATES)
		return ("?");
	return (flow_state_names[s]);
}

int
flow_class_of(uint8_t state)
{
	switch (state) {
	case FS_ESTABLISHED:
		return (FC_ESTABLISHED);
	case FS_FIN_WAIT:
	case FS_TIME_WAIT:
	case FS_CLOSE:
		return (FC_CLOSING);
	case FS_UDP:
		return (FC_UDP);
	case FS_UDP_UNREPLIED:
		return (FC_UDP_UNREPLIED);
	case FS_OFFLOADED:
		return (FC_OFFLOADED);
	case FS_OFFLOAD_PENDING:	/* FC_HALFOPEN: transitory timeout */
	default:
		return (FC_HALFOPEN);
	}
}

/*
 * The table and its buckets are read at random by every packet: beyond the
 * caches each lookup would also miss the TLB, and a page walk costs as much
 * as the miss itself.  So large tables ask for transparent huge pages
 * (2 MB on x86-64), which the kernel grants where it can (a hint: with
 * THP off the table works as before, only slower).  Zeroed, like calloc.
 */
#define HUGE_MIN	(4u << 20)
#define HUGE_ALIGN	(2u << 20)

static void *
table_alloc(size_t len, size_t *sizep)
{
	void	*p;

	*sizep = 0;
	if (len < HUGE_MIN) {
		/* On a cache line, as the mapped ones are (on a page). */
		len = (len + 63) & ~(size_t)63;
		if ((p = aligned_alloc(64, len)) != NULL)
			memset(p, 0, len);
		return (p);
	}
	len = (len + HUGE_ALIGN - 1) & ~(size_t)(HUGE_ALIGN - 1);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		return (NULL);
#ifdef MADV_HUGEPAGE
	(void)madvise(p, len, MADV_HUGEPAGE);
#endif
	*sizep = len;
	return (p);
}

static void
table_free(void *p, size_t size)
{
	if (p == NULL)
		return;
	if (size == 0)
		free(p);
	else
		(void)munmap(p, size);
}

int
flowtab_init(struct flowtab *ft, uint32_t maxflows, uint64_t seed)
{
	uint32_t	 i, nb;

	memset(ft, 0, sizeof(*ft));
	/* The sizes below must fit a 32-bit size_t too. */
	if (maxflows == 0 || maxflows > (1u << 30) || (uint64_t)maxflows + 1 >
	    (uint64_t)(SIZE_MAX / 2 / sizeof(struct flow)))
		return (-1);
	/*
	 * Buckets: the power of two at or above twice the capacity, so that
	 * a full table's chains are short (a successful lookup visits 1.25
	 * entries on average instead of 1.5): at a million flows that was a
	 * quarter more packets per second, for 4 bytes more per flow (56 in
	 * the entry, 8 in buckets).
	 */
	for (nb = 2; nb < 2 * (uint64_t)maxflows; nb <<= 1)
		;
	ft->f = table_alloc(((size_t)maxflows + 1) * sizeof(struct flow),
	    &ft->fsize);
	ft->bucket = table_alloc((size_t)nb * sizeof(uint32_t), &ft->bsize);
	if (ft->f == NULL || ft->bucket == NULL) {
		flowtab_free(ft);
		return (-1);
	}
	ft->mask = nb - 1;
	ft->cap = maxflows;
	hkey_init(&ft->hkey, seed);
	for (i = maxflows; i >= 1; i--) {
		ft->f[i].hnext = ft->freelist;
		ft->freelist = i;
	}
	ft->timeout[FC_HALFOPEN] = 240;
	ft->timeout[FC_CLOSING] = 240;
	ft->timeout[FC_ESTABLISHED] = 7440;
	ft->timeout[FC_UDP] = 300;
	ft->timeout[FC_OFFLOADED] = 5 * 86400 + 3600;
	ft->timeout[FC_UDP_UNREPLIED] = 30;
	return (0);
}

void
flowtab_free(struct flowtab *ft)
{
	table_free(ft->f, ft->fsize);
	table_free(ft->bucket, ft->bsize);
	ft->f = NULL;
	ft->bucket = NULL;
}

void
flowtab_set_release(struct flowtab *ft, flow_release_fn fn, void *arg)
{
	ft->release = fn;
	ft->arg = arg;
}

static void
list_link(struct flowtab *ft, uint32_t i, int cls, uint32_t now)
{
	struct flow_list	*l = &ft->list[cls];
	struct flow		*f = &ft->f[i];

	f->cls = (uint8_t)cls;
	f->linked = now;
	f->next = FLOW_NIL;
	f->prev = l->tail;
	if (l->tail != FLOW_NIL)
		ft->f[l->tail].next = i;
	else
		l->head = i;
	l->tail = i;
	l->count++;
}

static void
list_unlink(struct flowtab *ft, uint32_t i)
{
	struct flow		*f = &ft->f[i];
	struct flow_list	*l = &ft->list[f->cls];

	if (f->prev != FLOW_NIL)
		ft->f[f->prev].next = f->next;
	else
		l->head = f->next;
	if (f->next != FLOW_NIL)
		ft->f[f->next].prev = f->prev;
	else
		l->tail = f->prev;
	l->count--;
}

/* Takes an entry out of its hash chain and its list, and frees it. */
static void
flow_release(struct flowtab *ft, struct flow *f)
{
	uint32_t	 i = (uint32_t)(f - ft->f);
	uint32_t	*pp;
	uint32_t	 h;
	union addr	 a;

	if (ft->release != NULL)
		ft->release(ft->arg, f);
	memcpy(a.w, f->caddr, sizeof(a.w));
	h = flow_hash(ft, &a, f->cport, f->svc);
	for (pp = &ft->bucket[hash_slot(h, ft->mask)]; *pp != FLOW_NIL;
	    pp = &ft->f[*pp].hnext)
		if (*pp == i) {
			*pp = f->hnext;
			break;
		}
	list_unlink(ft, i);
	f->state = FS_NONE;
	f->hnext = ft->freelist;
	ft->freelist = i;
	ft->count--;
}

void
flow_remove(struct flowtab *ft, struct flow *f)
{
	flow_release(ft, f);
}

int
flow_room(const struct flowtab *ft)
{
	return (ft->freelist != FLOW_NIL || flow_victim(ft) != FLOW_NIL);
}

/*
 * The entry to give up for a newcomer when the table is full, or
 * FLOW_NIL.  First what no server has answered -- half-open TCP and
 * unreplied UDP, the oldest of the two: a spoofed flood makes only
 * those, so it can only displace itself --, then closing TCP, then
 * offloaded entries (the kernel carries their packets: only loadd's
 * bookkeeping goes), and last a UDP flow of a service that holds more
 * than its share of the table, among the FLOW_SHARE_SCAN oldest: one
 * busy UDP service cannot starve the others.
 */
static uint32_t
flow_victim(const struct flowtab *ft)
{
	uint32_t	 h = ft->list[FC_HALFOPEN].head;
	uint32_t	 u = ft->list[FC_UDP_UNREPLIED].head;
	uint32_t	 i;
	unsigned	 n;

	if (h != FLOW_NIL && u != FLOW_NIL)
		return ((int32_t)(ft->f[u].linked - ft->f[h].linked) < 0 ? u : h);
	if (h != FLOW_NIL || u != FLOW_NIL)
		return (h != FLOW_NIL ? h : u);
	if (ft->list[FC_CLOSING].head != FLOW_NIL)
		return (ft->list[FC_CLOSING].head);
	if (ft->list[FC_OFFLOADED].head != FLOW_NIL)
		return (ft->list[FC_OFFLOADED].head);
	if (ft->over_share == NULL)
		return (FLOW_NIL);
	for (i = ft->list[FC_UDP].head, n = 0; i != FLOW_NIL &&
	    n < FLOW_SHARE_SCAN; i = ft->f[i].next, n++)
		if (ft->over_share(ft->arg, ft->f[i].svc))
			return (i);
	return (FLOW_NIL);
}

struct flow *
flow_insert(struct flowtab *ft, uint32_t hash, const union addr *a,
    uint16_t cport, uint16_t svc, uint16_t srv, uint8_t state, uint32_t now)
{
	uint32_t	 i;
	struct flow	*f;

	if (ft->freelist == FLOW_NIL) {
		/* Full: room is made as flow_victim() says, or not. */
		if ((i = flow_victim(ft)) == FLOW_NIL) {
			ft->st.full++;
			return (NULL);
		}
		flow_release(ft, &ft->f[i]);
		ft->st.evicted++;
	}
	i = ft->freelist;
	f = &ft->f[i];
	ft->freelist = f->hnext;

	memcpy(f->caddr, a->w, sizeof(f->caddr));
	f->cport = cport;
	f->svc = svc;
	f->srv = srv;
	f->state = state;
	f->seen = 0;
	f->last = now;
	f->hnext = ft->bucket[hash_slot(hash, ft->mask)];
	ft->bucket[hash_slot(hash, ft->mask)] = i;
	list_link(ft, i, flow_class_of(state), now);
	ft->count++;
	ft->st.inserted++;
	return (f);
}

void
flow_set_state(struct flowtab *ft, struct flow *f, uint8_t state,
    uint32_t now)
{
	int	 cls = flow_class_of(state);

	f->state = state;
	f->last = now;
	if (cls != f->cls) {
		uint32_t i = (uint32_t)(f - ft->f);

		list_unlink(ft, i);
		list_link(ft, i, cls, now);
	}
}

uint32_t
flow_expire(struct flowtab *ft, uint32_t now, uint32_t budget)
{
	uint32_t	 n = 0, i, recheck, to;
	struct flow	*f;
	int		 cls;

	for (cls = 0; cls < FC_N; cls++) {
		to = ft->timeout[cls];
		recheck = to >> 4 ? to >> 4 : 1;
		while (n < budget && (i = ft->list[cls].head) != FLOW_NIL) {
			f = &ft->f[i];
			/* Everything behind the head was linked later. */
			if ((int32_t)(now - f->linked) < (int32_t)recheck)
				break;
			n++;
			if ((int32_t)(now - f->last) >= (int32_t)to) {
				flow_release(ft, f);
				ft->st.expired++;
			} else {
				list_unlink(ft, i);
				list_link(ft, i, cls, now);
			}
		}
	}
	return (n);
}

