#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "edp_afpacket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "edp_pages.h"

#define VLAN_ROOM 4          /* PACKET_RESERVE: room to put a stripped tag back in place */
#define MIN_BLOCK (128u << 10)
#define FRAMES_A_BLOCK 16    /* a block holds at least this many (little waste at 64 KiB frames) */
#define STATE_MAGIC 0x41504445u /* "EDPA" */
#define STATE_VERSION 1u

struct edp_afpacket {
	uint8_t *map;
	size_t map_len;
	uint32_t block_size, block_nr, frame_size, frame_nr, per_block;
	uint32_t head;                   /* the next frame to look at */
	struct tpacket2_hdr *given;      /* the frame given last, not released yet */
	uint32_t snaplen;
	int fd;
	bool handed;                     /* the ring is another process's now: its drops are not asked for */
	_Atomic uint64_t drops;
	char name[IF_NAMESIZE + 1];
};

/* What a hand-over carries besides the socket (same host, same layout). */
struct handed_state {
	uint32_t magic, version;
	uint32_t block_size, block_nr, frame_size, frame_nr, head;
	int32_t ifindex;
};

static int iface_hwtype(const char *iface, short *flags)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	int type = ioctl(fd, SIOCGIFHWADDR, &ifr) == 0 ? ifr.ifr_hwaddr.sa_family : -1;
	if (flags && type >= 0)
		*flags = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 ? ifr.ifr_flags : 0;
	close(fd);
	return type;
}

bool edp_afpacket_fits(const char *iface)
{
	if (strlen(iface) >= IF_NAMESIZE)
		return false;
	int type = iface_hwtype(iface, NULL);
	return type == ARPHRD_ETHER || type == ARPHRD_LOOPBACK;
}

static inline struct tpacket2_hdr *frame_at(const struct edp_afpacket *a, uint32_t i)
{
	return (struct tpacket2_hdr *)(a->map + (size_t)(i / a->per_block) * a->block_size +
				       (size_t)(i % a->per_block) * a->frame_size);
}

static int geometry(struct edp_afpacket *a, uint32_t snaplen, uint32_t bytes)
{
	uint32_t netoff = TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + VLAN_ROOM; /* where the kernel puts the frame's IP header */
	a->frame_size = TPACKET_ALIGN(netoff + snaplen);
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	a->block_size = MIN_BLOCK > page ? MIN_BLOCK : page;
	while (a->block_size < (uint64_t)FRAMES_A_BLOCK * a->frame_size)
		a->block_size <<= 1;
	a->block_nr = bytes / a->block_size ? bytes / a->block_size : 1;
	a->per_block = a->block_size / a->frame_size;
	a->frame_nr = a->per_block * a->block_nr;
	a->map_len = (size_t)a->block_size * a->block_nr;
	return 0;
}

static int map_ring(struct edp_afpacket *a)
{
	void *m = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	if (m == MAP_FAILED)
		return -1;
	a->map = m;
	return 0;
}

static int set_up(struct edp_afpacket *a, int ifindex, struct edp_error *err)
{
	int v2 = TPACKET_V2, reserve = VLAN_ROOM, on = 1;
	const char *step = "PACKET_VERSION";
	if (setsockopt(a->fd, SOL_PACKET, PACKET_VERSION, &v2, sizeof(v2)) < 0 ||
	    (step = "PACKET_RESERVE", setsockopt(a->fd, SOL_PACKET, PACKET_RESERVE, &reserve, sizeof(reserve)) < 0))
		goto fail;
	/* the frames sent on the interface are not ours to read (older
	 * kernels lack it: those are passed over by their packet type) */
	setsockopt(a->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &on, sizeof(on));
	step = "PACKET_RX_RING";
	for (uint32_t bytes = EDP_AFPACKET_RING_BYTES;; bytes /= 2) { /* smaller where memory is short */
		geometry(a, a->snaplen, bytes);
		struct tpacket_req req = { a->block_size, a->block_nr, a->frame_size, a->frame_nr };
		if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) == 0)
			break;
		if (errno != ENOMEM || bytes <= (1u << 20))
			goto fail;
	}
	step = "mmap";
	if (map_ring(a))
		goto fail;
	edp_pages_write_once(a->map, a->map_len); /* before the bind: no frame yet */
	struct packet_mreq promisc = { .mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC };
	step = "promiscuous mode";
	if (setsockopt(a->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &promisc, sizeof(promisc)) < 0)
		goto fail;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex };
	step = "bind";
	if (bind(a->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) /* frames come from now on */
		goto fail;
	return 0;
fail:
	return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot set up capture: %s: %s", a->name, step, strerror(errno));
}

struct edp_afpacket *edp_afpacket_open(const char *iface, uint32_t snaplen, struct edp_error *err)
{
	struct edp_afpacket *a = calloc(1, sizeof(*a));
	if (!a) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", iface);
		return NULL;
	}
	a->fd = -1;
	a->snaplen = snaplen;
	snprintf(a->name, sizeof(a->name), "%s", iface);
	short flags = 0;
	int ifindex = (int)if_nametoindex(iface);
	if (!ifindex || iface_hwtype(iface, &flags) < 0) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot open for capture: no such interface", iface);
		goto fail;
	}
	if (!(flags & IFF_UP)) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot open for capture: the interface is down", iface);
		goto fail;
	}
	/* protocol 0: nothing is queued to it until bind, when the ring is there */
	if ((a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot open for capture: %s", iface,
			      errno == EPERM ? "permission denied (needs root or CAP_NET_RAW)" : strerror(errno));
		goto fail;
	}
	if (set_up(a, ifindex, err))
		goto fail;
	return a;
fail:
	edp_afpacket_close(a);
	return NULL;
}

static inline void release(struct edp_afpacket *a)
{
	if (a->given) {
		__atomic_store_n(&a->given->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		a->given = NULL;
	}
}

int edp_afpacket_next(struct edp_afpacket *a, struct edp_afpacket_frame *f)
{
	release(a);
	for (;;) {
		struct tpacket2_hdr *h = frame_at(a, a->head);
		uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
		if (!(status & TP_STATUS_USER))
			return 0;
		a->head = a->head + 1 == a->frame_nr ? 0 : a->head + 1;
		a->given = h;
		const struct sockaddr_ll *sll = (const struct sockaddr_ll *)((uint8_t *)h + TPACKET_ALIGN(sizeof(*h)));
		uint32_t mac = h->tp_mac, caplen = h->tp_snaplen, wire = h->tp_len;
		if (sll->sll_pkttype == PACKET_OUTGOING) {
			release(a);
			continue;
		}
		if (mac < TPACKET2_HDRLEN + VLAN_ROOM || mac > a->frame_size || caplen > a->frame_size - mac) {
			/* not as the kernel writes a frame: a ring adopted with a state
			 * that does not fit it. Counted with the drops. */
			atomic_fetch_add_explicit(&a->drops, 1, memory_order_relaxed);
			release(a);
			continue;
		}
		uint8_t *data = (uint8_t *)h + mac;
		if ((status & TP_STATUS_VLAN_VALID) && caplen >= 12) { /* the tag the driver stripped, back in place */
			uint16_t tpid = htons((status & TP_STATUS_VLAN_TPID_VALID) && h->tp_vlan_tpid ? h->tp_vlan_tpid
												 : ETH_P_8021Q);
			uint16_t tci = htons(h->tp_vlan_tci);
			memmove(data - VLAN_ROOM, data, 12);
			data -= VLAN_ROOM;
			memcpy(data + 12, &tpid, 2);
			memcpy(data + 14, &tci, 2);
			caplen += VLAN_ROOM;
			wire += VLAN_ROOM;
		}
		f->data = data;
		f->caplen = caplen < a->snaplen ? caplen : a->snaplen;
		f->wire_len = wire < f->caplen ? f->caplen : wire;
		f->ts_ns = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec;
		return 1;
	}
}

int edp_afpacket_fd(const struct edp_afpacket *a) { return a->fd; }

/* Until every frame the kernel is handing to a packet socket now has
 * landed: closing a packet socket waits for a grace period of the
 * receive path (packet_release: synchronize_net). */
static void grace(void)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		close(fd);
}

/* Every frame the ring holds now, passed over. */
static void flush(struct edp_afpacket *a)
{
	struct edp_afpacket_frame f;
	while (edp_afpacket_next(a, &f))
		;
	release(a);
}

int edp_afpacket_fanout(struct edp_afpacket *a, uint16_t group, struct edp_error *err)
{
	/* a group that gives every frame to its first member until
	 * edp_afpacket_spread sets its program */
	int arg = group | PACKET_FANOUT_CBPF << 16;
	if (setsockopt(a->fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot join a fanout group: %s", a->name,
				     strerror(errno));
	/* what the socket's own hook gave it, the last of that a grace period
	 * of the receive path after the join (a frame on another CPU then may
	 * come through both hooks), passed over: the first member's frames
	 * from before the group began, the others' copies of the first's (the
	 * group gives them nothing yet) */
	grace();
	flush(a);
	struct tpacket_stats st; /* a ring full of those lost nothing */
	socklen_t len = sizeof(st);
	getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len);
	atomic_store(&a->drops, 0);
	return 0;
}

/* A flow's hash from its addresses and ports (IPv4, IPv6 without
 * extension headers; others 0), the same both ways, folded so that its
 * remainder by a few members spreads the flows. The kernel takes it
 * modulo the members. Offsets from the network header. */
#define NET(k) ((uint32_t)(SKF_NET_OFF + (k)))
static const struct sock_filter flow_hash[] = {
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL)), /* 0 */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 14),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NET(12)), /* 2: IPv4 source */
	BPF_STMT(BPF_MISC | BPF_TAX, 0),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NET(16)), /* destination */
	BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
	BPF_STMT(BPF_ST, 0),
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, NET(9)), /* protocol */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 1, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 20),
	BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, NET(0)), /* 10: the header's length */
	BPF_STMT(BPF_LD | BPF_W | BPF_IND, NET(0)),  /* the ports */
	BPF_STMT(BPF_MISC | BPF_TAX, 0),
	BPF_STMT(BPF_LD | BPF_MEM, 0),
	BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
	BPF_JUMP(BPF_JMP | BPF_JA, 15, 0, 0), /* 15: to the fold */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 21), /* 16 */
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NET(20)), /* 17: IPv6 source's last word */
	BPF_STMT(BPF_MISC | BPF_TAX, 0),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NET(36)), /* destination's */
	BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
	BPF_STMT(BPF_ST, 0),
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, NET(6)), /* next header */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 1, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 5),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NET(40)), /* 25: the ports */
	BPF_STMT(BPF_MISC | BPF_TAX, 0),
	BPF_STMT(BPF_LD | BPF_MEM, 0),
	BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
	BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0), /* 29: to the fold */
	BPF_STMT(BPF_LD | BPF_MEM, 0), /* 30: addresses only */
	BPF_STMT(BPF_MISC | BPF_TAX, 0), /* 31: the fold */
	BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
	BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
	BPF_STMT(BPF_MISC | BPF_TAX, 0),
	BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 8),
	BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
	BPF_STMT(BPF_RET | BPF_A, 0),
	BPF_STMT(BPF_RET | BPF_K, 0), /* 38: neither IPv4 nor IPv6 */
};

int edp_afpacket_spread(struct edp_afpacket *a, struct edp_error *err)
{
	struct sock_fprog prog = { sizeof(flow_hash) / sizeof(flow_hash[0]), (struct sock_filter *)flow_hash };
	if (setsockopt(a->fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof(prog)) < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot spread a fanout group: %s", a->name,
				     strerror(errno));
	return 0;
}

uint64_t edp_afpacket_drops(struct edp_afpacket *a)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);
	/* the kernel's count starts again at each read */
	if (!a->handed && getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
		return atomic_fetch_add(&a->drops, st.tp_drops) + st.tp_drops;
	return atomic_load(&a->drops);
}

uint32_t edp_afpacket_queued(const struct edp_afpacket *a)
{
	uint32_t n = 0;
	for (uint32_t i = a->head; n < a->frame_nr; i = i + 1 == a->frame_nr ? 0 : i + 1, n++)
		if (!(__atomic_load_n(&frame_at(a, i)->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			break;
	return n;
}

void edp_afpacket_ring(const struct edp_afpacket *a, uint32_t *frames, uint64_t *bytes)
{
	*frames = a->frame_nr;
	*bytes = a->map_len;
}

int edp_afpacket_handover(struct edp_afpacket *a, int *fd, uint8_t **state, size_t *len, struct edp_error *err)
{
	*fd = -1;
	*state = NULL;
	release(a);
	edp_afpacket_drops(a); /* the drops until now are this process's */
	struct handed_state s = { STATE_MAGIC,	 STATE_VERSION, a->block_size, a->block_nr, a->frame_size,
				  a->frame_nr, a->head,	  (int32_t)if_nametoindex(a->name) };
	if (!(*state = malloc(sizeof(s))))
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", a->name);
	memcpy(*state, &s, sizeof(s));
	*len = sizeof(s);
	if ((*fd = fcntl(a->fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		free(*state);
		*state = NULL;
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot hand over: %s", a->name, strerror(errno));
	}
	return 0;
}

void edp_afpacket_detach(struct edp_afpacket *a)
{
	if (a)
		a->handed = true;
}

/* Whether fd is a TPACKET_V2 AF_PACKET socket bound to ifindex whose ring
 * s describes. */
static const char *state_misfit(int fd, const struct handed_state *s, int ifindex)
{
	int domain = 0, version = -1, reserve = -1;
	socklen_t l1 = sizeof(domain), l2 = sizeof(version), l3 = sizeof(reserve);
	struct sockaddr_ll sll = { 0 };
	socklen_t sl = sizeof(sll);
	uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l1) < 0 || domain != AF_PACKET)
		return "not a packet socket";
	if (getsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, &l2) < 0 || version != TPACKET_V2 ||
	    getsockopt(fd, SOL_PACKET, PACKET_RESERVE, &reserve, &l3) < 0 || reserve != VLAN_ROOM)
		return "not a ring of this version";
	if (getsockname(fd, (struct sockaddr *)&sll, &sl) < 0 || sll.sll_ifindex != ifindex || s->ifindex != ifindex)
		return "bound to another interface";
	if (s->magic != STATE_MAGIC || s->version != STATE_VERSION)
		return "a ring state of another version";
	if (!s->block_size || s->block_size % page || s->frame_size < TPACKET2_HDRLEN + VLAN_ROOM ||
	    s->frame_size % TPACKET_ALIGNMENT || s->frame_size > s->block_size || !s->block_nr ||
	    (uint64_t)s->block_size * s->block_nr > (1ull << 32) ||
	    s->frame_nr != s->block_size / s->frame_size * s->block_nr || s->head >= s->frame_nr)
		return "a ring state that does not add up";
	return NULL;
}

struct edp_afpacket *edp_afpacket_adopt(int fd, const uint8_t *state, size_t len, const char *iface, uint32_t snaplen,
					struct edp_error *err)
{
	struct edp_afpacket *a = calloc(1, sizeof(*a));
	if (!a) {
		close(fd);
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: out of memory", iface);
		return NULL;
	}
	a->fd = fd;
	a->snaplen = snaplen;
	snprintf(a->name, sizeof(a->name), "%s", iface);
	struct handed_state s;
	const char *why = len != sizeof(s) ? "a ring state of another size" : NULL;
	if (!why) {
		memcpy(&s, state, sizeof(s));
		why = state_misfit(fd, &s, (int)if_nametoindex(iface));
	}
	if (!why) {
		a->block_size = s.block_size;
		a->block_nr = s.block_nr;
		a->frame_size = s.frame_size;
		a->per_block = s.block_size / s.frame_size;
		a->frame_nr = s.frame_nr;
		a->map_len = (size_t)s.block_size * s.block_nr;
		a->head = s.head;
		if (map_ring(a)) /* the kernel refuses a length other than its ring's */
			why = strerror(errno);
	}
	if (why) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot take the ring handed over: %s", iface, why);
		edp_afpacket_close(a);
		return NULL;
	}
	return a;
}

void edp_afpacket_close(struct edp_afpacket *a)
{
	if (!a)
		return;
	if (a->map)
		munmap(a->map, a->map_len);
	if (a->fd >= 0)
		close(a->fd);
	free(a);
}
