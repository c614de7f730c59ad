/* edp_pcapio's network interfaces (live:IFACE): a capture handle in
 * immediate mode, and a writer that sends frames in batches. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "edp_linktype.h"
#include "edp_pcapio.h"
#include "edp_pcapio_impl.h"

#define LIVE_RX_BUFFER (64 << 20)
#define LIVE_LINK_ROOM 22     /* an Ethernet header and two VLAN tags over the MTU */
#define LIVE_GRO_SNAPLEN 65600 /* a GRO frame: 64 KiB of IP and its link header */

/* ioctl `request` on interface iface with ifr (its name set here):
 * whether it answered. */
static bool ask_iface(const char *iface, unsigned long request, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", iface);
	bool ok = fd >= 0 && ioctl(fd, request, ifr) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

int edp_pcap_live_mtu(const char *iface)
{
	struct ifreq ifr = { 0 };
	return ask_iface(iface, SIOCGIFMTU, &ifr) ? ifr.ifr_mtu : -1;
}

/* The snapshot length for receiving on iface: the ring (ours, or
 * libpcap's in immediate mode) is TPACKET_V2, whose every frame is that
 * long, so it sets how many frames the ring holds. 262,144 made 256
 * frames of the 64 MB ring, which a reader off its CPU for a millisecond
 * overran at 300 kpps
 * (2 threads on 2 CPUs lost 34% of 200,000 frames where tcpdump lost
 * none); the interface's MTU and a link header make about 38,000. An
 * interface with GRO on hands up frames of up to 64 KiB: read whole, in
 * frames that long. An MTU that cannot be asked (live:any) takes that too. */
uint32_t edp_pcap_live_snaplen(const char *iface)
{
	int mtu = edp_pcap_live_mtu(iface);
	struct ethtool_value gro = { .cmd = ETHTOOL_GGRO };
	struct ifreq ifr = { .ifr_data = (char *)&gro };
	bool whole = mtu <= 0 || mtu > LIVE_GRO_SNAPLEN - LIVE_LINK_ROOM ||
		     (ask_iface(iface, SIOCETHTOOL, &ifr) && gro.data);
	return whole ? LIVE_GRO_SNAPLEN : mtu + LIVE_LINK_ROOM < 1518 ? 1518 : (uint32_t)mtu + LIVE_LINK_ROOM;
}

pcap_t *edp_pcap_live_open(const char *iface, bool receive, struct edp_error *err)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_create(iface, ebuf);
	int rc = p ? pcap_set_immediate_mode(p, 1) : PCAP_ERROR;
	if (rc == 0 && receive) {
		pcap_set_snaplen(p, (int)edp_pcap_live_snaplen(iface));
		pcap_set_buffer_size(p, LIVE_RX_BUFFER); /* a burst while the reader is off its CPU */
		pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO); /* else microseconds */
	}
	if (rc == 0)
		rc = pcap_activate(p);
	if (rc < 0) {
		const char *why = rc == PCAP_ERROR_NO_SUCH_DEVICE ? "no such interface"
				  : rc == PCAP_ERROR_PERM_DENIED ? "permission denied (needs root or CAP_NET_RAW)"
				  : rc == PCAP_ERROR_IFACE_NOT_UP ? "the interface is down"
				  : p && pcap_geterr(p)[0]         ? pcap_geterr(p)
								   : ebuf;
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot open for %s: %s", iface, receive ? "capture" : "sending",
			      why);
		if (p)
			pcap_close(p);
		return NULL;
	}
	if (pcap_datalink(p) != DLT_EN10MB && (!receive || edp_linktype_header_len(pcap_datalink(p)) < 0)) {
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: not an Ethernet interface (link type %s)%s", iface,
			      edp_linktype_name(pcap_datalink(p)), receive ? "" : ": frames are sent only on Ethernet");
		pcap_close(p);
		return NULL;
	}
	if (receive) {
		if (pcap_setnonblock(p, 1, ebuf) < 0 || pcap_setdirection(p, PCAP_D_IN) < 0) {
			edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot set up capture: %s", iface, pcap_geterr(p));
			pcap_close(p);
			return NULL;
		}
		return p;
	}
	/* a sender reads nothing: a filter that takes no packet keeps the
	 * kernel from queueing every frame on the interface (ours included)
	 * to this socket */
	struct bpf_program none;
	if (pcap_compile(p, &none, "less 0", 1, PCAP_NETMASK_UNKNOWN) == 0) {
		pcap_setfilter(p, &none);
		pcap_freecode(&none);
	}
	return p;
}

int edp_pcap_live_flush(struct edp_pcap_writer *w, struct edp_error *err)
{
	struct live_tx *t = w->live;
	uint32_t done = 0;
	while (done < t->n) {
		int k = sendmmsg(t->fd, t->msg + done, t->n - done, 0);
		if (k > 0) {
			for (uint32_t i = done; i < done + (uint32_t)k; i++)
				w->written_bytes += t->wire_len[i];
			done += (uint32_t)k;
			w->written += (uint32_t)k;
			continue;
		}
		if (k < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
			w->failed = errno;
			edp_error_set(err, EDP_ERR_RUNTIME, "%s: send failed: %s", w->name, strerror(errno));
			t->n = t->used = 0;
			return -1;
		}
		w->retried++;
		struct timespec ts = { 0, 10000 };
		nanosleep(&ts, NULL);
	}
	t->n = t->used = 0;
	return 0;
}

int edp_pcap_live_send(struct edp_pcap_writer *w, const struct edp_pcap_record *rec, struct edp_error *err)
{
	struct live_tx *t = w->live;
	if (w->failed)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: send failed: %s", w->name, strerror(w->failed)), -1;
	if ((t->n == LIVE_TX_BATCH || t->used + rec->caplen > LIVE_TX_ARENA) && edp_pcap_live_flush(w, err) < 0)
		return -1;
	if (rec->caplen > LIVE_TX_ARENA)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: a %u-byte frame is too large to send", w->name,
				     rec->caplen), -1;
	memcpy(t->arena + t->used, rec->data, rec->caplen);
	t->iov[t->n] = (struct iovec){ t->arena + t->used, rec->caplen };
	t->msg[t->n] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &t->iov[t->n], .msg_iovlen = 1 } };
	t->used += rec->caplen;
	t->wire_len[t->n++] = rec->wire_len;
	w->accepted++;
	w->accepted_bytes += rec->wire_len;
	return 0;
}

uint64_t edp_pcap_writer_retried(const struct edp_pcap_writer *w)
{
	return w->retried;
}
