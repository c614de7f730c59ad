#include "edp_migrate.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "edp_checkpoint.h"
#include "edp_clock.h"
#include "edp_datapath_impl.h"
#include "edp_fanout.h"
#include "edp_mover.h"
#include "edp_rundir.h"
#include "edp_state.h"

enum state {
	/* source */
	IDLE,      /* runs; pre-copy rounds may come */
	STUNNING,  /* asked its run to end */
	PARKED,    /* its run ended: handed over, waiting for a commit */
	COMMITTED, /* waiting for done or abort */
	DONE,      /* moved */
	RESUME,    /* the stun is over: run again */
	/* destination */
	INCOMING,  /* rounds come */
	READY,     /* the final one came: the inputs and outputs are here */
	GO,
	CANCELLED,
};

struct edp_move {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* the state changed */
	enum state state;
	struct edp_commands *env;
	struct edp_ctl *ctl;
	bool destination;
	/* source */
	void (*end_run)(void *ctx, bool on);
	void *ctx;
	uint32_t *marks[EDP_MAX_THREADS]; /* per thread: the flow-cache buckets as the last round saw them */
	uint32_t rounds;
	uint64_t generation;              /* of the config the rounds were taken under */
	uint64_t deadline_ns;             /* PARKED: resume then (CLOCK_MONOTONIC) */
	char peer[EDP_NAME_MAX + 1];      /* the destination */
	char *filter;                     /* a destination's: the source's filter expression, in force in cfg */
	/* destination */
	struct edp_config *cfg;
	struct edp_datapath *dp;
	struct edp_stats_writer *placeholder; /* the segment that says incoming before the datapath's */
	struct edp_checkpoint arrived;    /* the last round's name and counters */
	uint32_t rounds_in;
	uint64_t ready_ns;
	char why[sizeof(((struct edp_error *)0)->msg)]; /* CANCELLED: why */
};

static void set_state(struct edp_move *m, enum state s)
{
	m->state = s;
	pthread_cond_broadcast(&m->cond);
}

static enum state get_state(struct edp_move *m)
{
	pthread_mutex_lock(&m->lock);
	enum state s = m->state;
	pthread_mutex_unlock(&m->lock);
	return s;
}

static struct edp_move *alloc_move(struct edp_commands *env)
{
	struct edp_move *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	edp_clock_cond_init(&m->cond);
	m->env = env;
	return m;
}

struct edp_move *edp_move_source(struct edp_commands *env, void (*end_run)(void *ctx, bool on), void *ctx)
{
	struct edp_move *m = alloc_move(env);
	if (m) {
		m->end_run = end_run;
		m->ctx = ctx;
		m->state = IDLE;
	}
	return m;
}

struct edp_move *edp_move_destination(struct edp_commands *env, struct edp_config *cfg, struct edp_error *err)
{
	struct edp_move *m = alloc_move(env);
	if (!m) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		return NULL;
	}
	m->destination = true;
	m->cfg = cfg;
	m->state = INCOMING;
	struct edp_stats_layout l = { .n_ports = cfg->n_ports, .config = "incoming: no datapath yet" };
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		l.port_names[i] = cfg->ports[i].name;
	if (!(m->placeholder = edp_stats_create(env->name, &l, err))) {
		edp_move_destroy(m);
		return NULL;
	}
	edp_stats_set_state(m->placeholder, EDP_STATE_INCOMING);
	return m;
}

void edp_move_destroy(struct edp_move *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < EDP_MAX_THREADS; i++)
		free(m->marks[i]);
	edp_stats_destroy(m->placeholder);
	if (m->dp && m->state != GO) /* never handed to the main thread */
		edp_datapath_destroy(m->dp);
	edp_checkpoint_free(&m->arrived);
	free(m->filter);
	pthread_cond_destroy(&m->cond);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

struct edp_stats_writer *edp_move_stats(struct edp_move *m) { return m->placeholder; }

const char *edp_move_state(struct edp_move *m)
{
	enum state s = get_state(m);
	return s == INCOMING || s == READY ? "incoming" : s == STUNNING || s == PARKED || s == COMMITTED ? "migrating" : NULL;
}

const struct edp_checkpoint *edp_move_arrived(const struct edp_move *m)
{
	return m->destination && m->rounds_in ? &m->arrived : NULL;
}

/* ---- the inputs and outputs ---- */

/* Why dp's inputs and outputs cannot be handed over, or NULL. */
static const char *not_movable(const struct edp_datapath *dp, char *buf, size_t size)
{
	const struct edp_config *cfg = dp->cfg;
	if (cfg->loop != 1)
		return "a run with --loop cannot be moved (its inputs are opened again by name)";
	if (cfg->count && dp->in.taken >= cfg->count)
		return "its --count is reached: it takes no more packets, nothing is left to move";
	uint32_t descriptors = 1 + dp->out.n_sinks + dp->in.n * (dp->fanout ? dp->n_lanes : 1); /* the checkpoint's too */
	if (descriptors > EDP_CTL_MAX_FDS) {
		snprintf(buf, size, "%u inputs, outputs and threads' sockets to hand over: one request carries %u at most",
			 descriptors - 1, EDP_CTL_MAX_FDS - 1);
		return buf;
	}
	for (uint32_t i = 0; i < dp->in.n; i++) {
		const struct edp_input *in = &dp->in.of[i];
		const char *why = in->reader ? edp_pcap_reader_unmovable(in->reader) : NULL;
		if (why) {
			snprintf(buf, size, "port %s: '%s' %s", cfg->ports[in->port].name, cfg->ports[in->port].rx, why);
			return buf;
		}
	}
	if (dp->out.failed)
		return "an output has failed: its packets are counted lost, nothing is left to move";
	return NULL;
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;
	*oom |= s && !d;
	return d;
}

/* ck's IO section: dp's ports' inputs and outputs by name; with fds, each
 * handed over (its descriptor into fds, *n_fds of them). */
static int fill_io(struct edp_datapath *dp, struct edp_checkpoint *ck, int *fds, uint32_t *n_fds,
		   struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	bool oom = false;
	ck->has_io = true;
	ck->io_snaplen = dp->in.snaplen;
	/* the filter the inputs are read through, and what --count lets in
	 * still (not_movable: some) */
	ck->has_reading = cfg->filter || cfg->count;
	ck->filter = dup_or_null(cfg->filter, &oom);
	ck->count_left = cfg->count ? cfg->count - dp->in.taken : 0;
	for (uint32_t p = 0; p < cfg->n_ports; p++) {
		struct edp_checkpoint_io *io = &ck->io[p];
		const struct edp_port_config *pc = &cfg->ports[p];
		io->rx_kind = pc->rx ? (uint8_t)(edp_port_io_kind(pc->rx) + 1) : 0;
		io->flags = dp->fanout && pc->rx ? EDP_CK_IO_FANOUT : 0;
		io->rx = dup_or_null(pc->rx, &oom);
		io->tx = dup_or_null(pc->tx, &oom);
	}
	if (oom)
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	if (!fds)
		return 0;
	for (uint32_t p = 0; p < cfg->n_ports; p++) {
		if (!cfg->ports[p].rx)
			continue;
		struct edp_input *in = &dp->in.of[dp->in.by_port[p]];
		ck->io[p].flags |= EDP_CK_IO_HANDED_RX;
		/* a fanout run's interface: each worker's socket, worker 0's first */
		for (uint32_t k = 0; k < (dp->fanout ? dp->n_lanes : 1); k++) {
			const struct edp_input *kin = k ? &dp->fan[k]->of[dp->in.by_port[p]] : in;
			struct edp_pcap_handover h = { .fd = -1 };
			if (kin->vport ? edp_vport_handover(kin->vport, &h.fd, err)
				       : edp_pcap_reader_handover(kin->reader, &h, err))
				return EDP_ERR_RUNTIME;
			fds[(*n_fds)++] = h.fd;
			uint8_t *all = realloc(ck->io[p].head, ck->io[p].head_len + h.len + 1);
			if (!all) {
				free(h.bytes);
				return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
			}
			if (h.len) /* a vport hands its descriptor only */
				memcpy(all + ck->io[p].head_len, h.bytes, h.len);
			free(h.bytes);
			ck->io[p].head = all;
			ck->io[p].head_len += (uint32_t)h.len;
		}
	}
	for (uint32_t p = 0; p < cfg->n_ports; p++) {
		int8_t s = dp->out.port_sink[p];
		bool first = s >= 0;
		for (uint32_t q = 0; q < p && first; q++)
			first = dp->out.port_sink[q] != s;
		if (!first)
			continue;
		bool nano;
		int fd;
		if (edp_port_io_kind(cfg->ports[p].tx) == EDP_IO_LIVE) { /* sent: the destination sends on its own socket */
			if (edp_pcap_writer_flush(dp->out.sinks[s], err))
				return EDP_ERR_RUNTIME;
			continue;
		}
		if (edp_pcap_writer_handover(dp->out.sinks[s], &fd, &nano, err))
			return EDP_ERR_RUNTIME;
		ck->io[p].flags |= EDP_CK_IO_HANDED_TX | (nano ? EDP_CK_IO_TX_NANO : 0);
		fds[(*n_fds)++] = fd;
	}
	return 0;
}

/* The sockets a handed input comes with: a fanout run's interface one a
 * thread (the destination runs as many: edp_move checked), else one. */
static uint32_t sockets(const struct edp_datapath *dp, const struct edp_checkpoint_io *io)
{
	return io->flags & EDP_CK_IO_FANOUT ? dp->n_lanes : 1;
}

/* The source's inputs and outputs into dp (made by
 * edp_datapath_create_planned from the first round): fds in ck's order,
 * each taken (closed on failure). */
static int adopt_io(struct edp_datapath *dp, struct edp_checkpoint *ck, const int *fds, uint32_t n_fds,
		    struct edp_error *err)
{
	const struct edp_config *cfg = dp->cfg;
	uint32_t k = 0, want = 0;
	for (uint32_t p = 0; p < cfg->n_ports; p++)
		want += (ck->io[p].flags & EDP_CK_IO_HANDED_RX ? sockets(dp, &ck->io[p]) : 0) +
			!!(ck->io[p].flags & EDP_CK_IO_HANDED_TX);
	int rc = 0;
	if (want != n_fds)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "the final round names %u inputs and outputs and came with %u", want,
				   n_fds);
	for (uint32_t p = 0; p < cfg->n_ports && !rc; p++) {
		struct edp_checkpoint_io *io = &ck->io[p];
		if (!cfg->ports[p].rx != !(io->flags & EDP_CK_IO_HANDED_RX)) {
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "port %s: its input is not handed over", cfg->ports[p].name);
			break;
		}
		if (!(io->flags & EDP_CK_IO_HANDED_RX))
			continue;
		struct edp_input *in = &dp->in.of[dp->in.by_port[p]];
		if (io->rx_kind == EDP_IO_VPORT + 1) { /* the ring keeps the source's name */
			if (!(in->vport = edp_vport_adopt(fds[k++], ck->name, cfg->ports[p].name, err)) ||
			    edp_input_open_filter(&dp->in, in, err))
				rc = EDP_ERR_RUNTIME;
			continue;
		}
		uint32_t n = sockets(dp, io), each = io->head_len / n;
		if (io->head_len % n) {
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "port %s: %u bytes for %u sockets", cfg->ports[p].name,
					   io->head_len, n);
			break;
		}
		for (uint32_t w = 0; w < n && !rc; w++) { /* a fanout run's interface: worker w's socket */
			uint32_t magic = 0;
			if (each >= 4)
				memcpy(&magic, io->head + w * each, 4);
			struct edp_pcap_handover h = { fds[k++], malloc(each + 1), each,
						       magic == 0xa1b23c4du || magic == 0x4d3cb2a1u };
			bool oom = !h.bytes;
			if (!oom && each)
				memcpy(h.bytes, io->head + w * each, each);
			struct edp_pcap_reader *r = oom ? NULL : edp_pcap_reader_adopt(&h, cfg->ports[p].rx, err);
			free(h.bytes); /* what the reader did not take */
			if (h.fd >= 0 && !r)
				close(h.fd);
			if (!r)
				rc = oom ? edp_error_set(err, EDP_ERR_RUNTIME, "out of memory") : EDP_ERR_RUNTIME;
			else if (edp_pcap_reader_set_filter(r, cfg->filter, err)) /* the source's */
				rc = EDP_ERR_RUNTIME, edp_pcap_reader_close(r);
			else if (!w)
				in->reader = r;
			else
				rc = edp_fanout_adopt(dp, w, (uint32_t)dp->in.by_port[p], r, err);
		}
	}
	for (uint32_t p = 0; p < cfg->n_ports && !rc; p++) {
		struct edp_checkpoint_io *io = &ck->io[p];
		if (!(io->flags & EDP_CK_IO_HANDED_TX))
			continue;
		int8_t s = dp->out.port_sink[p];
		if (s < 0 || dp->out.sinks[s]) {
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "port %s: an output this config does not have there",
					   cfg->ports[p].name);
			break;
		}
		if (!(dp->out.sinks[s] = edp_pcap_writer_adopt(fds[k], io->flags & EDP_CK_IO_TX_NANO, cfg->ports[p].tx, err))) {
			close(fds[k]);
			rc = EDP_ERR_RUNTIME;
		}
		k++;
	}
	for (uint32_t s = 0; s < dp->out.n_sinks && !rc; s++)
		if (!dp->out.sinks[s])
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "an output of the config is not handed over");
	for (; k < n_fds; k++)
		close(fds[k]);
	return rc;
}

/* What waited for the destination at the hand-over: packets in the vports'
 * rings, and bytes of the captures (read ahead and carried in the round,
 * or still in a pipe). */
static void queued(struct edp_datapath *dp, const struct edp_checkpoint *ck, uint64_t *packets, uint64_t *bytes)
{
	for (uint32_t p = 0; p < dp->cfg->n_ports; p++) {
		if (!(ck->io[p].flags & EDP_CK_IO_HANDED_RX))
			continue;
		const struct edp_input *in = &dp->in.of[dp->in.by_port[p]];
		if (in->vport) {
			*packets += edp_vport_queued(in->vport);
			continue;
		}
		uint32_t frames, ring_frames;
		uint64_t ring_bytes;
		if (edp_pcap_reader_ring(in->reader, NULL, &ring_frames, &ring_bytes)) { /* an interface's rings */
			for (uint32_t k = 0; k < (dp->fanout ? dp->n_lanes : 1); k++)
				if (edp_pcap_reader_ring(k ? dp->fan[k]->of[dp->in.by_port[p]].reader : in->reader, &frames,
							 &ring_frames, &ring_bytes))
					*packets += frames;
			continue;
		}
		*bytes += ck->io[p].head_len > 24 ? ck->io[p].head_len - 24 : 0; /* less the file header made for it */
		int n = 0;
		if (edp_pcap_reader_pipe(in->reader) && ioctl(edp_pcap_reader_fd(in->reader), FIONREAD, &n) == 0 && n > 0)
			*bytes += (uint64_t)n;
	}
}

/* ---- the source's commands ---- */

static bool moving_source(struct edp_move *m, struct edp_error *err)
{
	if (!m->env->dp)
		return edp_error_set(err, EDP_ERR_RUNTIME, "instance %s has no datapath to move", m->env->name), false;
	return true;
}

/* A pre-copy round, or the stun's (fds: the hand-over's). */
static int round_out(struct edp_move *m, int fd, int *fds, uint32_t *n_fds,
		     const struct edp_checkpoint_counters *counters, struct edp_checkpoint *ck, struct edp_error *err)
{
	struct edp_datapath *dp = m->env->dp;
	uint64_t generation = atomic_load(&dp->pipeline)->generation;
	for (uint32_t l = 0; l < dp->n_lanes; l++) {
		size_t n = edp_flowcache_buckets(dp->lanes[l].fc);
		if (!m->marks[l] && !(m->marks[l] = calloc(n, sizeof(uint32_t))))
			return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		if (!m->rounds || generation != m->generation) /* a new move, or reloaded: everything again */
			memset(m->marks[l], 0, n * sizeof(uint32_t));
	}
	m->generation = generation;
	struct edp_save_report r;
	if (edp_datapath_save_changed(dp, m->env->name, false, m->marks, ck, &r, err))
		return EDP_ERR_RUNTIME;
	if (counters) {
		ck->has_counters = true;
		ck->counters = *counters;
	}
	if (fill_io(dp, ck, fds, n_fds, err) || edp_checkpoint_send(ck, fd, err))
		return EDP_ERR_RUNTIME;
	m->rounds++;
	return 0;
}

static void round_reply(struct edp_json *j, const struct edp_move *m, const struct edp_checkpoint *ck, double ms)
{
	edp_json_uint(j, "round", m->rounds);
	edp_json_uint(j, "macs", ck->n_macs);
	edp_json_uint(j, "flows", ck->n_flows);
	edp_json_uint(j, "bytes", ck->bytes);
	edp_json_fixed(j, "copy_ms", ms, 3);
}

static int migrate_copy(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	struct edp_move *m = aux;
	if (argc == 2 && strcmp(argv[1], "--first") != 0)
		return edp_error_set(err, EDP_ERR_USAGE, "usage: migrate-copy [--first]");
	if (!moving_source(m, err))
		return -1;
	int fd = edp_ctl_take_fd(m->ctl);
	if (fd < 0)
		return edp_error_set(err, EDP_ERR_USAGE, "migrate-copy writes to a descriptor passed with the request");
	if (get_state(m) != IDLE) {
		close(fd);
		return edp_error_set(err, EDP_ERR_RUNTIME, "a stun is under way");
	}
	if (argc == 2) /* a new move: everything is sent again */
		m->rounds = 0;
	uint64_t t0 = edp_clock_ns(CLOCK_MONOTONIC);
	struct edp_checkpoint ck = { 0 };
	int rc = round_out(m, fd, NULL, NULL, NULL, &ck, err);
	close(fd);
	if (!rc)
		round_reply(j, m, &ck, (double)(edp_clock_ns(CLOCK_MONOTONIC) - t0) / 1e6);
	edp_checkpoint_free(&ck);
	return rc ? -1 : 0;
}

static void resume(struct edp_move *m)
{
	set_state(m, RESUME);
	m->end_run(m->ctx, false);
}

static int migrate_stun(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)argc;
	struct edp_move *m = aux;
	if (!moving_source(m, err))
		return -1;
	char *end;
	long ms = strtol(argv[1], &end, 10);
	if (*end || ms < 1 || ms > 600000)
		return edp_error_set(err, EDP_ERR_USAGE, "migrate-stun: the wait for a commit must be 1 to 600000 ms, not '%s'",
				     argv[1]);
	if (!edp_rundir_name_valid(argv[2]))
		return edp_error_set(err, EDP_ERR_USAGE, "migrate-stun: '%s' is not an instance name", argv[2]);
	struct edp_datapath *dp = m->env->dp;
	char why[300];
	const char *no = not_movable(dp, why, sizeof(why));
	if (no)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s", no);
	int fd = edp_ctl_take_fd(m->ctl);
	if (fd < 0)
		return edp_error_set(err, EDP_ERR_USAGE, "migrate-stun writes to a descriptor passed with the request");
	pthread_mutex_lock(&m->lock);
	if (m->state != IDLE) {
		pthread_mutex_unlock(&m->lock);
		close(fd);
		return edp_error_set(err, EDP_ERR_RUNTIME, "a stun is under way");
	}
	snprintf(m->peer, sizeof(m->peer), "%s", argv[2]);
	uint64_t t0 = edp_clock_ns(CLOCK_MONOTONIC);
	m->deadline_ns = UINT64_MAX; /* set once the run has ended */
	set_state(m, STUNNING);
	edp_stats_set_state(dp->stats, EDP_STATE_MIGRATING);
	m->end_run(m->ctx, true);
	edp_datapath_wake_inputs(dp);
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += EDP_MOVE_DRAIN_MS / 1000;
	while (m->state == STUNNING && pthread_cond_timedwait(&m->cond, &m->lock, &until) != ETIMEDOUT)
		;
	if (m->state != PARKED) { /* the run did not end: it goes on */
		resume(m);
		pthread_mutex_unlock(&m->lock);
		close(fd);
		return edp_error_set(err, EDP_ERR_RUNTIME, "the run did not stop taking packets in %d ms: it goes on",
				     EDP_MOVE_DRAIN_MS);
	}
	uint64_t t1 = edp_clock_ns(CLOCK_MONOTONIC);
	pthread_mutex_unlock(&m->lock);
	/* the run has ended: everything is this thread's now */
	int fds[EDP_CTL_MAX_FDS];
	uint32_t n_fds = 0;
	struct edp_checkpoint ck = { 0 };
	struct edp_datapath_stats st;
	edp_datapath_stats(dp, &st);
	struct edp_checkpoint_counters counters = { st.packets_in, st.bytes_in, st.packets_forwarded,
						    st.packets_dropped, t0 };
	int rc = round_out(m, fd, fds, &n_fds, &counters, &ck, err);
	close(fd);
	for (uint32_t i = 0; i < n_fds; i++)
		if (rc || edp_ctl_give_fd(m->ctl, fds[i])) {
			close(fds[i]);
			rc = rc ? rc : edp_error_set(err, EDP_ERR_RUNTIME, "cannot pass descriptor %u", i + 1);
		}
	pthread_mutex_lock(&m->lock);
	if (rc && m->state == PARKED)
		resume(m);
	m->deadline_ns = edp_clock_ns(CLOCK_MONOTONIC) + (uint64_t)ms * 1000000u; /* from the hand-over's end */
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	if (rc) {
		edp_checkpoint_free(&ck);
		return -1;
	}
	round_reply(j, m, &ck, (double)(edp_clock_ns(CLOCK_MONOTONIC) - t1) / 1e6);
	uint64_t queued_packets = 0, queued_bytes = 0;
	queued(dp, &ck, &queued_packets, &queued_bytes);
	edp_json_uint(j, "queued_packets", queued_packets);
	edp_json_uint(j, "queued_bytes", queued_bytes);
	edp_json_uint(j, "stun_began_ns", t0);
	edp_json_fixed(j, "drain_ms", (double)(t1 - t0) / 1e6, 3);
	edp_json_uint(j, "descriptors", n_fds);
	edp_json_uint(j, "packets_in", st.packets_in);
	edp_json_uint(j, "packets_forwarded", st.packets_forwarded);
	edp_json_uint(j, "packets_dropped", st.packets_dropped);
	uint64_t lookups = st.flow_cache.hits + st.flow_cache.misses;
	edp_json_fixed(j, "hit_rate", lookups ? (double)st.flow_cache.hits / (double)lookups : 0, 4);
	edp_checkpoint_free(&ck);
	return 0;
}

/* commit, done, abort: the stun's next step, from the state it needs. */
static int migrate_step(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)argc;
	struct edp_move *m = aux;
	const char *what = argv[0] + strlen("migrate-");
	pthread_mutex_lock(&m->lock);
	enum state s = m->state;
	int rc = 0;
	if (!strcmp(what, "commit") && s == PARKED)
		set_state(m, COMMITTED);
	else if (!strcmp(what, "done") && s == COMMITTED)
		set_state(m, DONE);
	else if (!strcmp(what, "abort") && (s == PARKED || s == COMMITTED))
		resume(m);
	else
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "migrate-%s: %s", what,
				   s == IDLE || s == RESUME ? "no stun is under way (it resumed)"
				   : s == DONE		    ? "the instance has moved"
							    : "not now: the stun is not at that step");
	pthread_mutex_unlock(&m->lock);
	if (!rc)
		edp_json_string(j, "state", !strcmp(what, "commit") ? "committed" : !strcmp(what, "done") ? "moved" : "running");
	return rc ? -1 : 0;
}

enum edp_move_verdict edp_move_park(struct edp_move *m)
{
	pthread_mutex_lock(&m->lock);
	if (m->state != STUNNING && m->state != RESUME) { /* RESUME: a stun given up on before the run ended */
		pthread_mutex_unlock(&m->lock);
		return EDP_MOVE_ENDED;
	}
	if (m->state == STUNNING)
		set_state(m, PARKED);
	uint64_t ask_at = 0;
	while (m->state == PARKED || m->state == COMMITTED) {
		uint64_t now = edp_clock_ns(CLOCK_MONOTONIC), wake = now + 100000000u;
		if (m->state == PARKED && now >= m->deadline_ns) { /* no commit in time: go on */
			resume(m);
			break;
		}
		if (m->state == COMMITTED && now >= ask_at) { /* edp-migrate may be gone: the destination says */
			char buf[32];
			pthread_mutex_unlock(&m->lock);
			struct edp_error ignored;
			const char *peer = "incoming"; /* asked once the deadline passed; NULL: gone */
			if (now >= m->deadline_ns)
				peer = edp_mover_state(m->peer, buf, sizeof(buf), &ignored) ? NULL : buf;
			pthread_mutex_lock(&m->lock);
			ask_at = now + 1000000000u;
			if (m->state == COMMITTED && !peer)
				resume(m);
			else if (m->state == COMMITTED && strcmp(peer, "incoming") != 0)
				set_state(m, DONE);
			continue;
		}
		if (m->state == PARKED && m->deadline_ns < wake)
			wake = m->deadline_ns;
		struct timespec ts = { (time_t)(wake / 1000000000u), (long)(wake % 1000000000u) };
		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
	}
	enum state s = m->state;
	if (s == RESUME)
		m->state = IDLE;
	pthread_mutex_unlock(&m->lock);
	struct edp_datapath *dp = m->env->dp;
	if (s == RESUME) {
		edp_stats_set_state(dp->stats, edp_datapath_suspended(dp) ? EDP_STATE_SUSPENDED : EDP_STATE_RUNNING);
		for (uint32_t i = 0; i < dp->in.n; i++) /* the stop that ended the run ended the live inputs */
			dp->in.of[i].done = false;
		return EDP_MOVE_RESUME;
	}
	for (uint32_t i = 0; i < dp->in.n; i++) { /* DONE: the destination's now */
		edp_pcap_reader_detach(dp->in.of[i].reader);
		edp_vport_detach(dp->in.of[i].vport);
		for (uint32_t k = 1; dp->fanout && k < dp->n_lanes; k++)
			edp_pcap_reader_detach(dp->fan[k]->of[i].reader);
	}
	for (uint32_t s2 = 0; s2 < dp->out.n_sinks; s2++)
		edp_pcap_writer_detach(dp->out.sinks[s2]);
	return EDP_MOVE_GONE;
}

/* ---- the destination's commands ---- */

/* The checkpoint passed with the request (from its start). */
static int read_round(int fd, const char *what, struct edp_checkpoint *ck, struct edp_error *err)
{
	lseek(fd, 0, SEEK_SET);
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		close(fd);
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: %s", what, strerror(errno));
	}
	int rc = edp_checkpoint_read(f, what, ck, err);
	fclose(f);
	return rc;
}

/* cfg's ports (the checkpoint's: edp_checkpoint_fits) take the source's
 * inputs and outputs, by name: the datapath is made on them, opening
 * nothing. */
static int take_ports(struct edp_config *cfg, const struct edp_checkpoint *ck, struct edp_error *err)
{
	if (cfg->loop != 1)
		return edp_error_set(err, EDP_ERR_RUNTIME, "a destination cannot read its inputs more than once (--loop)");
	for (uint32_t i = 0; i < cfg->n_ports; i++) {
		const struct edp_checkpoint_io *io = &ck->io[i];
		char *rx = io->rx ? strdup(io->rx) : NULL, *tx = io->tx ? strdup(io->tx) : NULL;
		if ((io->rx && !rx) || (io->tx && !tx)) {
			free(rx);
			free(tx);
			return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		}
		free(cfg->ports[i].rx);
		free(cfg->ports[i].tx);
		cfg->ports[i].rx = rx;
		cfg->ports[i].tx = tx;
	}
	return 0;
}

/* The first round: the datapath, published in place of the placeholder. */
static int first_round(struct edp_move *m, const struct edp_checkpoint *ck, struct edp_error *err)
{
	const struct edp_config *cfg = m->cfg;
	if (ck->filter && !(m->filter = strdup(ck->filter)))
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	m->cfg->filter = m->filter; /* the source's inputs are read through its filter expression */
	for (uint32_t i = 0; i < cfg->n_ports; i++) /* its workers take the source's sockets, one each */
		if ((ck->io[i].flags & EDP_CK_IO_FANOUT) && (cfg->threads != ck->threads || cfg->ordered || cfg->count))
			return edp_error_set(err, EDP_ERR_RUNTIME, "the source reads its interfaces with %u threads, a socket "
					     "each (fanout): the destination must run -t %u, without --ordered", ck->threads,
					     ck->threads);
	if (take_ports(m->cfg, ck, err) || !(m->dp = edp_datapath_create_planned(m->cfg, ck, err)))
		return EDP_ERR_RUNTIME;
	edp_ctl_set_stats(m->ctl, NULL);
	edp_stats_destroy(m->placeholder);
	m->placeholder = NULL;
	if (edp_datapath_publish(m->dp, m->env->name, err))
		return EDP_ERR_RUNTIME;
	edp_stats_set_state(m->dp->stats, EDP_STATE_INCOMING);
	edp_ctl_set_stats(m->ctl, m->dp->stats);
	return 0;
}

static int migrate_in(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	struct edp_move *m = aux;
	bool final = false;
	unsigned flags = EDP_RESTORE_EXACT_MACS;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--final"))
			final = true;
		else if (!strcmp(argv[i], "--allow-config-change"))
			flags |= EDP_RESTORE_ALLOW_CONFIG_CHANGE;
		else
			return edp_error_set(err, EDP_ERR_USAGE, "usage: migrate-in [--final] [--allow-config-change]");
	}
	int fd = edp_ctl_take_fd(m->ctl), fds[EDP_CTL_MAX_FDS];
	uint32_t n_fds = 0;
	for (int f; (f = edp_ctl_take_fd(m->ctl)) >= 0;)
		fds[n_fds++] = f;
	int rc = 0;
	struct edp_checkpoint ck = { 0 };
	char what[64];
	snprintf(what, sizeof(what), "round %u", m->rounds_in + 1);
	if (fd < 0)
		rc = edp_error_set(err, EDP_ERR_USAGE, "migrate-in reads a checkpoint passed with the request");
	else if (get_state(m) != INCOMING)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "instance %s is not incoming (it has its final round)", m->env->name);
	else if (!(rc = read_round(fd, what, &ck, err)) && !ck.has_io)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "%s: not a migration's (no io section)", what);
	else if (!rc && edp_checkpoint_fits(&ck, m->cfg, flags, what, err)) /* said before anything is made */
		rc = EDP_ERR_RUNTIME;
	else if (!rc && m->rounds_in && strcmp(ck.name, m->arrived.name) != 0)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "%s: from instance %s; the rounds before came from %s", what, ck.name,
				   m->arrived.name);
	fd = -1;
	/* tests: a destination slow to take the last round, or the others */
	const char *delay = getenv(final ? "EDP_TEST_MIGRATE_IN_DELAY_MS" : "EDP_TEST_MIGRATE_ROUND_DELAY_MS");
	if (delay)
		nanosleep(&(struct timespec){ atoi(delay) / 1000, atoi(delay) % 1000 * 1000000L }, NULL);
	uint64_t t0 = edp_clock_ns(CLOCK_MONOTONIC);
	if (!rc && !m->dp && first_round(m, &ck, err))
		rc = EDP_ERR_RUNTIME;
	if (!rc) /* what lets packets in goes on as the source had it: --count's packets left */
		m->cfg->count = ck.has_reading ? ck.count_left : 0;
	struct edp_restore_report rr = { 0 };
	if (!rc && edp_datapath_restore(m->dp, &ck, what, flags, &rr, err))
		rc = EDP_ERR_RUNTIME;
	if (!rc && final) {
		rc = adopt_io(m->dp, &ck, fds, n_fds, err);
		n_fds = 0;
	}
	for (uint32_t i = 0; i < n_fds; i++)
		close(fds[i]);
	if (!rc) {
		m->rounds_in++;
		snprintf(m->arrived.name, sizeof(m->arrived.name), "%s", ck.name);
		m->arrived.counters = ck.counters;
		m->arrived.has_counters |= ck.has_counters;
		edp_json_uint(j, "round", m->rounds_in);
		edp_json_uint(j, "macs", rr.macs);
		edp_json_uint(j, "flows", rr.flows);
		edp_json_uint(j, "flows_left", rr.flows_left);
		edp_json_fixed(j, "restore_ms", (double)(edp_clock_ns(CLOCK_MONOTONIC) - t0) / 1e6, 3);
		edp_json_bool(j, "ready", final);
		if (final) {
			pthread_mutex_lock(&m->lock);
			m->ready_ns = edp_clock_ns(CLOCK_MONOTONIC);
			set_state(m, READY);
			pthread_mutex_unlock(&m->lock);
		}
	} else if (final || m->dp) { /* a final round that failed leaves nothing to go on with */
		pthread_mutex_lock(&m->lock);
		snprintf(m->why, sizeof(m->why), "%s", err->msg);
		set_state(m, CANCELLED);
		pthread_mutex_unlock(&m->lock);
	}
	edp_checkpoint_free(&ck);
	return rc ? -1 : 0;
}

static int migrate_go(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)argc, (void)argv;
	struct edp_move *m = aux;
	pthread_mutex_lock(&m->lock);
	int rc = 0;
	if (m->state != READY)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "instance %s is not ready (%s)", m->env->name,
				   m->state == CANCELLED ? m->why : "no final round yet");
	else {
		m->env->dp = m->dp;
		edp_stats_set_state(m->dp->stats, EDP_STATE_RUNNING);
		set_state(m, GO);
	}
	pthread_mutex_unlock(&m->lock);
	if (!rc)
		edp_json_string(j, "state", "running");
	return rc ? -1 : 0;
}

static int migrate_cancel(void *aux, int argc, char **argv, struct edp_json *j, struct edp_error *err)
{
	(void)argc, (void)argv;
	struct edp_move *m = aux;
	pthread_mutex_lock(&m->lock);
	int rc = 0;
	if (m->state == GO)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "instance %s runs already", m->env->name);
	else if (m->state != CANCELLED) {
		snprintf(m->why, sizeof(m->why), "cancelled by edp-migrate");
		set_state(m, CANCELLED);
	}
	pthread_mutex_unlock(&m->lock);
	if (!rc)
		edp_json_string(j, "state", "cancelled");
	return rc ? -1 : 0;
}

struct edp_datapath *edp_move_incoming_wait(struct edp_move *m, const volatile sig_atomic_t *stop,
					    struct edp_error *err)
{
	pthread_mutex_lock(&m->lock);
	while (m->state != GO && m->state != CANCELLED && !*stop) {
		uint64_t now = edp_clock_ns(CLOCK_MONOTONIC);
		if (m->state == READY && now - m->ready_ns > (uint64_t)EDP_MOVE_READY_MS * 1000000u) {
			snprintf(m->why, sizeof(m->why), "ready for %d ms and no go came", EDP_MOVE_READY_MS);
			set_state(m, CANCELLED);
			break;
		}
		uint64_t wake = now + 50000000u;
		struct timespec ts = { (time_t)(wake / 1000000000u), (long)(wake % 1000000000u) };
		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
	}
	struct edp_datapath *dp = m->state == GO ? m->dp : NULL;
	if (m->state == CANCELLED)
		edp_error_set(err, EDP_ERR_RUNTIME, "the move%s%s was cancelled: %s", m->rounds_in ? " from " : "",
			      m->rounds_in ? m->arrived.name : "", m->why);
	pthread_mutex_unlock(&m->lock);
	return dp;
}

int edp_move_register(struct edp_ctl *c, struct edp_move *m)
{
	m->ctl = c;
	m->env->move = m;
	if (m->destination)
		return edp_ctl_register(c, "migrate-in", "[--final] [--allow-config-change]", 0, 2, migrate_in, m) ||
				       edp_ctl_register(c, "migrate-go", "", 0, 0, migrate_go, m) ||
				       edp_ctl_register(c, "migrate-cancel", "", 0, 0, migrate_cancel, m)
			       ? -1
			       : 0;
	return edp_ctl_register(c, "migrate-copy", "[--first]", 0, 1, migrate_copy, m) ||
			       edp_ctl_register(c, "migrate-stun", "MS DST", 2, 2, migrate_stun, m) ||
			       edp_ctl_register(c, "migrate-commit", "", 0, 0, migrate_step, m) ||
			       edp_ctl_register(c, "migrate-done", "", 0, 0, migrate_step, m) ||
			       edp_ctl_register(c, "migrate-abort", "", 0, 0, migrate_step, m)
		       ? -1
		       : 0;
}
