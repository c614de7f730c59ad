#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "edp_config.h"

static const char *write_file(const char *name, const char *text)
{
	static char path[128];
	snprintf(path, sizeof(path), "%s/%s", unit_dir(), name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_full_config(void **state)
{
	(void)state;
	const char *path = write_file("edp.yaml",
		"ports:\n"
		"  - name: uplink\n"
		"    rx: trace.pcap\n"
		"    tx: /abs/out.pcap\n"
		"    mac: 02:00:00:00:00:fe\n"
		"  - { name: vm1, tx: \"-\" }\n"
		"flow-cache:\n  entries: 1000\n"
		"pipeline:\n"
		"  firewall:\n"
		"    default: drop\n"
		"    rules:\n"
		"      - { priority: 7, in-port: vm1, src: 10.0.0.0/8, proto: tcp, dst-port: 80-443, vlan: 12, action: allow }\n"
		"      - { dst: \"2001:db8::/32\", ethertype: ipv6, src-port: 53, action: drop }\n"
		"  router:\n"
		"    routes:\n"
		"      - { prefix: 192.168.0.0/16, port: vm1, next-hop-mac: \"02:00:00:00:00:01\" }\n"
		"  switch:\n    ageing-s: 30\n    mac-table-size: 100\n");
	struct edp_config cfg;
	struct edp_error err = { 0 };
	assert_int_equal(edp_config_load(&cfg, path, &err), 0);
	assert_int_equal(cfg.n_ports, 2);
	char rx[128];
	snprintf(rx, sizeof(rx), "%s/trace.pcap", unit_dir());
	assert_string_equal(cfg.ports[0].rx, rx); /* relative to the config's directory */
	assert_string_equal(cfg.ports[0].tx, "/abs/out.pcap");
	assert_string_equal(cfg.ports[1].tx, "-");
	assert_true(cfg.ports[0].has_mac);
	assert_int_equal(cfg.ports[0].mac[5], 0xfe);
	assert_false(cfg.ports[1].has_mac);
	assert_int_equal(cfg.flow_cache_entries, 1000);
	assert_true(cfg.has_firewall);
	assert_int_equal(cfg.firewall_default, EDP_FW_DROP);
	assert_int_equal(cfg.n_rules, 2);
	const struct edp_fw_rule *r = &cfg.rules[0];
	assert_int_equal(r->priority, 7);
	assert_int_equal(r->in_port, 1);
	assert_int_equal(r->src.af, 4);
	assert_int_equal(r->src.len, 8);
	assert_int_equal(r->proto, 6);
	assert_int_equal(r->dport_lo, 80);
	assert_int_equal(r->dport_hi, 443);
	assert_int_equal(r->sport_lo, -1);
	assert_int_equal(r->vlan, 12);
	assert_int_equal(r->action, EDP_FW_ALLOW);
	r = &cfg.rules[1];
	assert_int_equal(r->dst.af, 6);
	assert_int_equal(r->eth_type, 0x86dd);
	assert_int_equal(r->sport_lo, 53);
	assert_int_equal(r->sport_hi, 53);
	assert_int_equal(cfg.n_routes, 1);
	assert_int_equal(cfg.routes[0].port, 1);
	assert_int_equal(cfg.routes[0].prefix.len, 16);
	assert_true(cfg.has_switch);
	assert_int_equal(cfg.ageing_s, 30);
	assert_int_equal(cfg.mac_table_size, 100);
	edp_config_free(&cfg);
}

static void test_defaults_and_errors(void **state)
{
	(void)state;
	struct edp_config cfg;
	struct edp_error err = { 0 };
	const char *path = write_file("min.yaml", "ports:\n  - name: a\n");
	assert_int_equal(edp_config_load(&cfg, path, &err), 0);
	assert_int_equal(cfg.flow_cache_entries, 65536);
	assert_false(cfg.has_firewall || cfg.has_router || cfg.has_switch);
	assert_null(cfg.ports[0].rx);
	edp_config_free(&cfg);

	path = write_file("bad.yaml", "ports:\n  - name: a\n    speed: 10\n");
	assert_int_equal(edp_config_load(&cfg, path, &err), EDP_ERR_USAGE);
	char want[256];
	snprintf(want, sizeof(want), "%s:3:5: port: unknown key 'speed' (known: name, rx, tx, mac, numa-node, rx-queue-cpus, device)", path);
	assert_string_equal(err.msg, want);
	assert_int_equal(cfg.n_ports, 0); /* left empty */
	edp_config_free(&cfg);
}

static void test_value_parsers(void **state)
{
	(void)state;
	uint8_t mac[6];
	assert_int_equal(edp_parse_mac("0a:1B:2c:3D:4e:5F", mac), 0);
	assert_int_equal(mac[1], 0x1b);
	assert_int_equal(edp_parse_mac("0a:1b:2c:3d:4e", mac), -1);
	assert_int_equal(edp_parse_mac("0a-1b-2c-3d-4e-5f", mac), -1);
	assert_int_equal(edp_parse_mac("0a:1b:2c:3d:4e:5g", mac), -1);
	struct edp_prefix p;
	const char *why;
	assert_int_equal(edp_prefix_parse("10.1.2.3", &p, &why), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(edp_prefix_parse("0.0.0.0/0", &p, &why), 0);
	assert_int_equal(edp_prefix_parse("2001:db8::/32", &p, &why), 0);
	assert_int_equal(p.af, 6);
	assert_int_equal(edp_prefix_parse("2001:db8::1/32", &p, &why), -1);
	assert_string_equal(why, "host bits are set past the prefix length");
	assert_int_equal(edp_prefix_parse("10.0.0.0/", &p, &why), -1);
	assert_int_equal(edp_prefix_parse("10.0.0.0/-1", &p, &why), -1);
	assert_int_equal(edp_prefix_parse("300.0.0.0/8", &p, &why), -1);
	assert_string_equal(why, "not an IPv4 or IPv6 address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_defaults_and_errors),
		cmocka_unit_test(test_value_parsers),
	};
	return cmocka_run_group_tests_name("config", tests, unit_dir_setup, unit_dir_teardown);
}
