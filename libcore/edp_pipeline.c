#include "edp_pipeline.h"

#include <stdlib.h>
#include <string.h>

struct edp_pipeline *edp_pipeline_create(const struct edp_config *cfg, uint64_t tx_ports,
					 struct edp_pipeline *predecessor, struct edp_error *err)
{
	struct edp_pipeline *pl = calloc(1, sizeof(*pl));
	if (!pl) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory for the pipeline");
		return NULL;
	}
	pl->generation = 1;
	pl->tx_ports = tx_ports;
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		if (cfg->ports[i].has_mac) {
			memcpy(pl->port_mac[i], cfg->ports[i].mac, 6);
			pl->port_has_mac |= 1ull << i;
		}
	pl->ageing_ns = (uint64_t)cfg->ageing_s * 1000000000ull;
	if ((cfg->has_firewall &&
	     !(pl->fw = edp_firewall_create(cfg->rules, cfg->n_rules, cfg->firewall_default, err))) ||
	    (cfg->has_router && !(pl->rt = edp_router_create(cfg->routes, cfg->n_routes, err)))) {
		edp_pipeline_destroy(pl);
		return NULL;
	}
	if (cfg->has_switch && predecessor && predecessor->sw) {
		pl->sw = predecessor->sw;
		edp_switch_lock(pl->sw);
		edp_switch_set_ageing_ns(pl->sw, pl->ageing_ns);
		edp_switch_unlock(pl->sw);
	} else if (cfg->has_switch && !(pl->sw = edp_switch_create(cfg->mac_table_size, pl->ageing_ns, err))) {
		edp_pipeline_destroy(pl);
		return NULL;
	}
	pl->owns_switch = pl->sw != NULL;
	if (predecessor) {
		pl->generation = predecessor->generation + 1;
		predecessor->owns_switch = predecessor->sw != pl->sw;
	}
	return pl;
}

void edp_pipeline_destroy(struct edp_pipeline *pl)
{
	if (!pl)
		return;
	edp_firewall_destroy(pl->fw);
	edp_router_destroy(pl->rt);
	if (pl->owns_switch)
		edp_switch_destroy(pl->sw);
	free(pl);
}

void edp_pipeline_age(struct edp_pipeline *pl, uint64_t now)
{
	if (!pl->sw)
		return;
	edp_switch_lock(pl->sw);
	edp_switch_age(pl->sw, now);
	edp_switch_unlock(pl->sw);
}

static void drop(struct edp_action_prog *prog, int reason)
{
	prog->out_ports = 0;
	prog->drop_reason = (uint8_t)reason;
}

static void output(struct edp_pipeline *pl, struct edp_action_prog *prog, uint64_t ports)
{
	ports &= pl->tx_ports;
	if (ports)
		prog->out_ports = ports;
	else
		drop(prog, EDP_DROP_NO_OUTPUT);
}

static bool is_multicast(const uint8_t mac[6]) { return mac[0] & 1; }

static void add_dep(struct edp_action_prog *prog, uint32_t bucket)
{
	for (unsigned i = 0; i < prog->n_deps; i++)
		if (prog->dep_index[i] == bucket)
			return;
	prog->dep_index[prog->n_deps++] = bucket;
}

static void switch_frame(struct edp_pipeline *pl, const struct edp_flow_key *key, uint64_t now,
			 struct edp_action_prog *prog)
{
	uint16_t vlan = key->vlan_outer & 0x0fff;
	uint64_t others = ~(1ull << key->in_port);
	uint32_t bucket;
	if (!is_multicast(key->eth_src)) {
		prog->touch_index = edp_switch_learn(pl->sw, vlan, key->eth_src, key->in_port, now, &bucket);
		prog->flags |= EDP_ACT_TOUCH_MAC;
		add_dep(prog, bucket);
	}
	if (is_multicast(key->eth_dst)) {
		output(pl, prog, others);
	} else {
		int port = edp_switch_lookup(pl->sw, vlan, key->eth_dst, now, &bucket, &prog->fresh_index);
		add_dep(prog, bucket);
		if (port >= 0)
			prog->flags |= EDP_ACT_FRESH_DST;
		if (port < 0)
			output(pl, prog, others);
		else if (port == key->in_port)
			drop(prog, EDP_DROP_SAME_PORT);
		else
			output(pl, prog, 1ull << port);
	}
	const uint32_t *epochs = edp_switch_epochs(pl->sw);
	for (unsigned i = 0; i < prog->n_deps; i++)
		prog->dep_epoch[i] = epochs[prog->dep_index[i]];
}

void edp_pipeline_classify(struct edp_pipeline *pl, const struct edp_flow_key *key, uint64_t now,
			   struct edp_action_prog *prog)
{
	memset(prog, 0, sizeof(*prog));
	bool ip_type = key->eth_type == EDP_ETH_TYPE_IPV4 || key->eth_type == EDP_ETH_TYPE_IPV6;
	bool modules = pl->fw || pl->rt || pl->sw;
	if (modules && (key->flags & EDP_KEY_L2_TRUNC))
		return drop(prog, EDP_DROP_TRUNCATED);
	if (pl->fw) {
		if ((key->flags & EDP_KEY_L3_TRUNC) && edp_firewall_uses_l3(pl->fw))
			return drop(prog, EDP_DROP_TRUNCATED);
		bool portful = key->nw_proto == 6 || key->nw_proto == 17 || key->nw_proto == 132;
		if ((key->flags & EDP_KEY_L4_TRUNC) && (key->flags & EDP_KEY_IS_IP) && portful &&
		    edp_firewall_uses_ports(pl->fw))
			return drop(prog, EDP_DROP_MALFORMED);
		if (edp_firewall_classify(pl->fw, key, NULL) == EDP_FW_DROP)
			return drop(prog, EDP_DROP_FIREWALL);
	}
	if (pl->rt && ip_type) {
		if (key->flags & EDP_KEY_L3_TRUNC)
			return drop(prog, EDP_DROP_TRUNCATED);
		const struct edp_route *r = edp_router_lookup(
			pl->rt, key->eth_type == EDP_ETH_TYPE_IPV4 ? 4 : 6, key->nw_dst);
		if (r) {
			output(pl, prog, 1ull << r->port);
			prog->flags |= EDP_ACT_DEC_TTL | EDP_ACT_SET_ETH_DST;
			memcpy(prog->eth, r->next_hop_mac, 6);
			if (pl->port_has_mac & (1ull << r->port)) {
				prog->flags |= EDP_ACT_SET_ETH_SRC;
				memcpy(prog->eth + 6, pl->port_mac[r->port], 6);
			}
			return;
		}
	}
	if (pl->sw) {
		edp_switch_lock(pl->sw);
		switch_frame(pl, key, now, prog);
		edp_switch_unlock(pl->sw);
		return;
	}
	output(pl, prog, ~(1ull << key->in_port));
}
