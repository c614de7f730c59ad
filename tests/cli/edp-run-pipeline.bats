#!/usr/bin/env bats
# edp-run's slow-path modules against independent oracles: tcpdump filters
# for the firewall, tcpdump -v and tshark for routing, exact counts for the
# switch.
load helper

# fw CONFIG_BODY TRACE FILTER: the firewall keeps exactly the packets that the
# tcpdump filter selects, in order, byte for byte.
fw_matches_filter() {
	local rules=$1 trace=$2 filter=$3
	printf 'ports:\n  - name: in\n  - name: out\npipeline:\n  firewall:\n%s\n' "$rules" >fw.yaml
	"$RUN" -c fw.yaml -r "$trace" -w out.pcap -q --json=sum.json
	tcpdump -r "$trace" -w expect.pcap "$filter" 2>/dev/null
	local n
	n=$(count expect.pcap)
	same_body expect.pcap out.pcap
	jq -e --argjson n "$n" '.packets_forwarded == $n and .packets_in == .packets_forwarded + .packets_dropped
		and .drops.firewall == .packets_dropped and ([.ports[].drops] | add) == .packets_dropped' sum.json
}

@test "firewall: drop udp dst-port 53 = tcpdump 'not (udp dst port 53)'" {
	fw_matches_filter '    default: allow
    rules:
      - { priority: 100, proto: udp, dst-port: 53, action: drop }' "$DATA/tcpreplay-test.pcap" 'not (udp dst port 53)'
	jq -e '.packets_dropped == 14' sum.json
}

@test "firewall: a default and no rules (none, or an empty list) applies the default to every packet" {
	printf 'ports:\n  - name: in\n  - name: out\npipeline:\n  firewall:\n    default: drop\n' >fw.yaml
	run "$RUN" -c fw.yaml -r "$DATA/tcpreplay-test.pcap" -w out.pcap -q --json
	assert_success
	echo "$output" | jq -e '.packets_in == 179 and .packets_dropped == 179 and .drops.firewall == 179'
	assert_equal "$(stat -c %s out.pcap)" 24 # the file header, no packet
	fw_matches_filter '    default: allow
    rules: []' "$DATA/tcpreplay-test.pcap" ''
	jq -e '.packets_forwarded == 179' sum.json
}

@test "firewall: default drop, allow by prefixes and a port range = tcpdump filter" {
	"$GEN" flows=2000,packets=20000,proto=mix,v6=0.2,seed=21 in.pcap
	fw_matches_filter '    default: drop
    rules:
      - { src: 10.0.0.0/8, dst: 192.168.0.0/17, proto: tcp, dst-port: 80-443, action: allow }' in.pcap \
		'ip and tcp and src net 10.0.0.0/8 and dst net 192.168.0.0/17 and dst portrange 80-443'
	jq -e '.packets_forwarded > 500 and .packets_dropped > 10000' sum.json
}

@test "firewall: IPv6 prefix drop = tcpdump 'not (ip6 and dst net 2001:db8:1::/48)'" {
	"$GEN" flows=300,packets=5000,proto=mix,v6=0.5,seed=22 in.pcap
	fw_matches_filter '    default: allow
    rules:
      - { dst: "2001:db8:1::/48", action: drop }' in.pcap 'not (ip6 and dst net 2001:db8:1::/48)'
	jq -e '.packets_dropped > 1000' sum.json
}

@test "firewall: higher priority wins, then file order" {
	"$GEN" flows=300,packets=5000,proto=mix,seed=23 in.pcap
	fw_matches_filter '    default: allow
    rules:
      - { priority: 10, proto: udp, action: drop }
      - { priority: 20, proto: udp, dst-port: 53, action: allow }
      - { priority: 20, proto: udp, dst-port: 0-100, action: drop }' in.pcap 'not udp or udp dst port 53'
}

@test "firewall: ethertype, in-port and vlan rules" {
	fw_matches_filter '    default: allow
    rules:
      - { ethertype: arp, action: drop }' "$DATA/tcpreplay-test.pcap" 'not arp'
	fw_matches_filter '    default: allow
    rules:
      - { in-port: out, action: drop }
      - { in-port: in, src-port: 1024-65535, action: drop }' "$DATA/tcpreplay-test.pcap" 'not ((tcp or udp) and src portrange 1024-65535)'
	"$GEN" flows=30,packets=300,vlan=7,proto=mix,seed=24 in.pcap
	fw_matches_filter '    default: allow
    rules:
      - { vlan: 7, proto: udp, action: drop }
      - { vlan: 8, action: drop }' in.pcap 'vlan 7 and not udp'
	jq -e '.packets_dropped == 164' sum.json
	# numbers are decimal: vlan 010 is VLAN 10, not 8; an EtherType may be written in hex
	"$GEN" flows=30,packets=300,vlan=8,seed=25 in8.pcap
	fw_matches_filter '    default: allow
    rules:
      - { vlan: 010, action: drop }' in8.pcap 'vlan 8'
	jq -e '.packets_dropped == 0' sum.json
	fw_matches_filter '    default: allow
    rules:
      - { ethertype: 0x0806, action: drop }' "$DATA/tcpreplay-test.pcap" 'not arp'
}

@test "firewall: a capture cut before the ports is dropped as malformed, never let past a port rule" {
	"$GEN" flows=10,packets=100,seed=25 in.pcap
	editcap -F pcap -s 36 in.pcap cut.pcap
	printf 'ports:\n  - name: in\n  - name: out\npipeline:\n  firewall:\n    default: allow\n    rules:\n      - { dst-port: 53, action: drop }\n' >fw.yaml
	run "$RUN" -c fw.yaml -r cut.pcap -w out.pcap -q --json
	assert_success
	echo "$output" | jq -e '.packets_in == 100 and .drops.malformed == 100 and .packets_forwarded == 0'
}

@test "malformed IPv4 headers are dropped with reason malformed" {
	"$GEN" flows=3,packets=3,seed=26 in.pcap
	# packet 2: IHL 4; packet 3: total length beyond the frame
	perl -e 'open F, "+<", "in.pcap" or die; binmode F;
		seek F, 24 + 16 + 64 + 16 + 14, 0; print F chr(0x44);
		seek F, 24 + 2 * (16 + 64) + 16 + 16, 0; print F pack("n", 1400); close F;'
	run "$RUN" -r in.pcap -w out.pcap -q --json
	assert_success
	echo "$output" | jq -e '.packets_in == 3 and .drops.malformed == 2 and .packets_forwarded == 1'
}

@test "router: TTL, MACs and the IPv4 checksum change exactly as tcpdump and tshark read them" {
	"$GEN" flows=200,packets=3000,proto=mix,v6=0.3,seed=31 in.pcap
	cat >rt.yaml <<'YAML'
ports:
  - name: uplink
    mac: 02:00:00:00:00:fe
  - name: vm1
    tx: vm1.pcap
    mac: 02:00:00:00:00:aa
pipeline:
  router:
    routes:
      - { prefix: 192.168.0.0/16, port: vm1, next-hop-mac: "02:00:00:00:00:01" }
      - { prefix: "2001:db8:1::/48", port: vm1, next-hop-mac: "02:00:00:00:00:02" }
YAML
	"$RUN" -c rt.yaml -r uplink=in.pcap -q --json=sum.json
	jq -e '.packets_in == 3000 and .packets_forwarded == 3000 and .ports[1].tx_packets == 3000' sum.json
	# the expected reading: the input's, with only TTL/hop limit and MACs changed
	tcpdump -r in.pcap -n -e -v -tt 2>/dev/null | sed -E \
		-e 's/^([0-9.]+) [0-9a-f:]{17} > [0-9a-f:]{17}, ethertype IPv4/\1 02:00:00:00:00:aa > 02:00:00:00:00:01, ethertype IPv4/' \
		-e 's/^([0-9.]+) [0-9a-f:]{17} > [0-9a-f:]{17}, ethertype IPv6/\1 02:00:00:00:00:aa > 02:00:00:00:00:02, ethertype IPv6/' \
		-e 's/ttl 64,/ttl 63,/; s/hlim 64,/hlim 63,/' >expect.txt
	tcpdump -r vm1.pcap -n -e -v -tt 2>/dev/null >actual.txt
	diff expect.txt actual.txt
	assert_gt "$(grep -c 'ttl 63,' actual.txt)" 1500
	# every IPv4 header checksum verifies (tshark computes it in full)
	bad=$(tshark -r vm1.pcap -o ip.check_checksum:TRUE -Y 'ip.checksum.status == 0' 2>/dev/null | wc -l)
	assert_equal "$bad" 0
	good=$(tshark -r vm1.pcap -o ip.check_checksum:TRUE -Y 'ip.checksum.status == 1' 2>/dev/null | wc -l)
	assert_equal "$good" "$(tcpdump -r vm1.pcap ip 2>/dev/null | wc -l)"
}

@test "router: an expiring TTL is dropped with reason ttl; unrouted traffic takes the wire" {
	"$GEN" flows=50,packets=500,proto=mix,v6=0.4,ttl=1,seed=32 in.pcap
	cat >rt.yaml <<'YAML'
ports:
  - name: uplink
  - name: vm1
    tx: vm1.pcap
pipeline:
  router:
    routes:
      - { prefix: 192.168.0.0/16, port: vm1, next-hop-mac: "02:00:00:00:00:01" }
YAML
	run "$RUN" -c rt.yaml -r uplink=in.pcap -q --json
	assert_success
	v4=$(tcpdump -r in.pcap ip 2>/dev/null | wc -l)
	echo "$output" | jq -e --argjson v4 "$v4" '.packets_in == 500 and .drops.ttl == $v4 and .packets_forwarded == 500 - $v4'
	# the IPv6 packets had no route: they went out the wire unchanged
	tcpdump -r in.pcap -w v6.pcap ip6 2>/dev/null
	same_body v6.pcap vm1.pcap
}

@test "switch: floods unknown destinations, forwards learned ones, never back out the ingress port, ages" {
	"$GEN" flows=1,packets=3000,gap-ns=1000000,seed=41 a.pcap   # 02:01:00:00:00:00 -> 02:00:00:00:00:fe, 3 s
	"$GEN" flows=1,packets=1,seed=42 b0.pcap
	# one reply from ...:fe on port b at t+0.5 s
	tcprewrite --enet-smac=02:00:00:00:00:fe --enet-dmac=02:01:00:00:00:00 -i b0.pcap -o b1.pcap
	editcap -t 0.5000005 b1.pcap b.pcap 2>/dev/null
	cat >sw.yaml <<'YAML'
ports:
  - { name: a, tx: a-out.pcap }
  - { name: b, tx: b-out.pcap }
  - { name: c, tx: c-out.pcap }
pipeline:
  switch:
    ageing-s: 1
YAML
	# inline (-t 0): learning follows the merged input order exactly
	run "$RUN" -t 0 -c sw.yaml -r a=a.pcap -r b=b.pcap -q --json
	assert_success
	# a's packets at t = 0 .. 0.500 s (501) flood to b and c; from the reply on,
	# ...:fe is known on b: a's packets go to b only until the entry ages out
	# (more than 1 s after t+0.5000005, i.e. from t = 1.501 s: 1499 packets)
	assert_equal "$(count b-out.pcap)" 3000
	assert_equal "$(count c-out.pcap)" $((501 + 1499))
	assert_equal "$(count a-out.pcap)" 1
	echo "$output" | jq -e '.packets_in == 3001 and .packets_forwarded == 3001'
}

@test "switch: a frame to a MAC learned on its own ingress port is dropped as same-port" {
	"$GEN" flows=1,packets=10,seed=43 a.pcap
	tcprewrite --enet-dmac=02:01:00:00:00:00 -i a.pcap -o self.pcap
	printf 'ports:\n  - { name: a, tx: a-out.pcap }\n  - { name: b, tx: b-out.pcap }\npipeline:\n  switch: {}\n' >sw.yaml
	run "$RUN" -c sw.yaml -r a=self.pcap -q --json
	assert_success
	echo "$output" | jq -e '.packets_in == 10 and .drops["same-port"] == 10'
}

@test "-w FILE with a config whose ports have no output writes all egress to FILE" {
	"$GEN" flows=10,packets=100,seed=44 in.pcap
	printf 'ports:\n  - name: p1\n  - name: p2\n  - name: p3\n' >three.yaml
	run "$RUN" -c three.yaml -r in.pcap -w all.pcap -q --json
	assert_success
	# a wire floods to both other ports: every packet twice
	assert_equal "$(count all.pcap)" 200
	echo "$output" | jq -e '.packets_forwarded == 100 and .ports[1].tx_packets == 100 and .ports[2].tx_packets == 100'
}

@test "flow-cache entries: a tiny cache evicts and still forwards everything" {
	"$GEN" flows=1000,packets=10000,seed=45 in.pcap
	printf 'ports:\n  - name: in\n  - name: out\nflow-cache:\n  entries: 16\n' >small.yaml
	run "$RUN" -c small.yaml -r in.pcap -w out.pcap -q --json
	assert_success
	same_bytes in.pcap out.pcap
	echo "$output" | jq -e '.flow_cache.evictions > 5000 and .packets_forwarded == 10000'
}
