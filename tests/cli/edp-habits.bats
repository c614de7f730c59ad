#!/usr/bin/env bats
# What an operator coming from tcpdump and tcpreplay reaches for: filter
# expressions, a packet count, the link types of real captures.

load helper

T=$BATS_TEST_DIRNAME/../data/tcpreplay-test.pcap

# hexdump CAPTURE: every packet's bytes past its link header, as tcpdump
# shows them (-x), one line of 16 bytes at a time
hexdump() {
	tcpdump -nn -x -r "$1" 2>/dev/null | grep -v '^[0-9]'
}

@test "a filter expression: the same bytes as tcpdump's filter piped in, rejects counted as filtered" {
	expr='tcp and port 80'
	tcpdump -r "$T" -w - "$expr" 2>/dev/null | "$RUN" -q -r - -w ref.pcap --json=ref.json
	jq -e '.filter == null and .packets_filtered == 0' ref.json # no expression: null
	n=$(count ref.pcap)
	assert_equal "$n" 107
	for t in 0 1 "2 --ordered"; do
		# shellcheck disable=SC2086
		run "$RUN" -q -t $t -r "$T" -w out.pcap "$expr" --json
		assert_success
		same_bytes out.pcap ref.pcap
		echo "$output" | jq -e --arg e "$expr" '.packets_in == 107 and .packets_filtered == 72 and .filter == $e
			and .ports[0].filtered == 72 and .ports[0].rx_packets == 107 and .packets_dropped == 0
			and ([.drops[]] | add) == 0'
	done
	# the words of the expression are joined, as tcpdump joins them
	run "$RUN" -q -r "$T" -w out.pcap tcp and port 80
	assert_success
	same_bytes out.pcap ref.pcap
	# the summary says what the filter took away
	run "$RUN" -r "$T" -w out.pcap "$expr"
	assert_success
	assert_line "  filter 'tcp and port 80': 72 packets rejected, not read in"
	assert_line "  conservation: 107 read = 107 forwarded + 0 dropped"
}

@test "a filter on a pipe, and one that rejects everything, ends cleanly" {
	run bash -c "cat '$T' | '$RUN' -q -r - -w out.pcap udp --json"
	assert_success
	echo "$output" | jq -e '.packets_in == 28 and .packets_filtered == 151'
	assert_equal "$(count out.pcap)" 28
	run "$RUN" -q -r "$T" -w out.pcap 'host 192.0.2.99' --json
	assert_success
	echo "$output" | jq -e '.packets_in == 0 and .packets_filtered == 179'
	assert_equal "$(count out.pcap)" 0
}

@test "a filter with --loop and several inputs: each pass and each input filtered" {
	run "$RUN" -q -r "$T" -w out.pcap --loop 3 udp --json
	assert_success
	echo "$output" | jq -e '.packets_in == 84 and .packets_filtered == 453'
	cat >two.yaml <<-EOF
		ports:
		  - { name: a, rx: $T, tx: out.pcap }
		  - { name: b, rx: $DATA/linux-sll.pcap }
	EOF
	run "$RUN" -q -c two.yaml 'ip and udp' --json
	assert_success
	a=$(tcpdump -r "$T" 'ip and udp' 2>/dev/null | wc -l)
	b=$(tcpdump -r "$DATA/linux-sll.pcap" 'ip and udp' 2>/dev/null | wc -l)
	echo "$output" | jq -e --argjson a "$a" --argjson b "$b" \
		'.ports[0].rx_packets == $a and .ports[1].rx_packets == $b and .ports[0].filtered == 179 - $a
		 and .ports[1].filtered == 51 - $b'
}

@test "a bad filter expression: exit 2 with libpcap's message, nothing written" {
	run "$RUN" -r "$T" -w out.pcap 'tcp and prt 80'
	assert_failure 2
	assert_output "edp-run: filter expression 'tcp and prt 80': syntax error in filter expression (for $T, link type EN10MB)"
	[ ! -s out.pcap ]
	# compiled for the capture's link type, as tcpdump compiles it
	run "$RUN" -r "$DATA/linux-sll.pcap" -w out.pcap 'vlan 100'
	assert_failure 2
	assert_output "edp-run: filter expression 'vlan 100': no VLAN support for Linux cooked v1 (for $DATA/linux-sll.pcap, link type LINUX_SLL)"
	run "$REPLAY" -T "$T" -w out.pcap 'port 99999'
	assert_failure 2
	assert_output "edp-replay: filter expression 'port 99999': illegal port number 99999 > 65535 (for $T, link type EN10MB)"
	run "$RUN" --incoming --name dst udp
	assert_failure 2
	assert_line "edp-run: --incoming takes its inputs from the source: no filter expression"
}

@test "edp-replay: captures, then a filter expression: tcpdump's bytes, rejects counted" {
	run "$REPLAY" -T -q "$T" "$DATA/linux-sll.pcap" 'tcp and port 80' -w out.pcap --json=r.json
	assert_success
	jq -e '.filter == "tcp and port 80" and .filtered == (179 + 51 - .packets)' r.json
	assert_equal "$(jq .packets r.json)" "$(($(tcpdump -r "$T" 'tcp and port 80' 2>/dev/null | wc -l) + \
		$(tcpdump -r "$DATA/linux-sll.pcap" 'tcp and port 80' 2>/dev/null | wc -l)))"
	run "$REPLAY" -T -q "$T" udp -w out.pcap
	assert_success
	same_bytes out.pcap <(tcpdump -r "$T" -w - udp 2>/dev/null)
	# a missing capture is still said to be missing
	run "$REPLAY" -T nosuch.pcap udp -w out.pcap
	assert_failure 1
	assert_output "edp-replay: nosuch.pcap: cannot open: No such file or directory"
	run "$REPLAY" --synth packets=5 udp -w out.pcap
	assert_failure 2
	assert_line "edp-replay: --synth: takes no capture and no filter expression, not 'udp'"
}

@test "--count N: the first N packets read in (after the filter), like tcpdump -c" {
	for t in 0 1 "2 --ordered"; do
		# shellcheck disable=SC2086
		run "$RUN" -q -t $t -r "$T" -w out.pcap --count 10 --json
		assert_success
		echo "$output" | jq -e '.packets_in == 10'
		same_body out.pcap <(tcpdump -r "$T" -c 10 -w - 2>/dev/null)
		# shellcheck disable=SC2086
		run "$RUN" -q -t $t -r "$T" -w out.pcap --count 5 udp --json
		assert_success
		echo "$output" | jq -e '.packets_in == 5'
		same_body out.pcap <(tcpdump -r "$T" -c 5 -w - udp 2>/dev/null)
	done
	# more than there is: all of it; with --loop the count spans passes
	run "$RUN" -q -r "$T" -w out.pcap --count 1000 --json
	echo "$output" | jq -e '.packets_in == 179'
	run "$RUN" -q -r "$T" -w out.pcap --count 200 --loop 0 --json
	echo "$output" | jq -e '.packets_in == 200'
	for bad in 0 -1 x 1e3 ''; do
		run "$RUN" -r "$T" -w out.pcap --count "$bad"
		assert_failure 2
		assert_line "edp-run: --count: expected a number of packets greater than 0, not '$bad'"
	done
}

@test "Linux cooked, raw IP, NULL and LOOP captures: each packet given an Ethernet header, its bytes kept" {
	for c in linux-sll linux-sll2 bsd-null bsd-loop tcpdump-LINKTYPE_RAW_ipv6 tcpdump-icmp-cksum-oobr-1; do
		f=$DATA/$c.pcap
		link=$(tcpdump -r "$f" -c 1 2>&1 >/dev/null | sed -n 's/.*link-type \([A-Z0-9_]*\) .*/\1/p')
		n=$(tcpdump -r "$f" 2>/dev/null | wc -l)
		run "$RUN" -r "$f" -w out.pcap --json=s.json
		assert_success
		assert_line "edp-run: port in: $f has link type $link: each packet is given an Ethernet header"
		assert_line "  port in: $n packets of link type $link given an Ethernet header"
		jq -e --arg l "$link" --argjson n "$n" '.ports[0].link == $l and .ports[0].framed == $n
			and .packets_in == $n' s.json
		# the bytes past the link header, as tcpdump reads them, are the
		# input's (a malformed packet dropped, as from Ethernet)
		fwd=$(jq .packets_forwarded s.json)
		assert_equal "$(tcpdump -r out.pcap 2>&1 >/dev/null | sed -n 's/.*link-type \([A-Z0-9_]*\) .*/\1/p')" EN10MB
		if [ "$fwd" = "$n" ]; then
			same_bytes <(hexdump out.pcap) <(hexdump "$f")
		fi
		run "$RUN" -q -r "$f" -w out.pcap
		assert_output ""
	done
	# the addresses: a cooked header's sender, a broadcast's, or fixed ones
	"$RUN" -q -r "$DATA/linux-sll.pcap" -w out.pcap
	tcpdump -nn -e -r out.pcap 2>/dev/null | head -1 | grep -q ' f8:1e:df:e5:84:3a > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 93: '
	assert_equal "$(tcpdump -nn -e -r out.pcap 2>/dev/null | grep -c 'ethertype 802.1Q (0x8100), length 64: vlan 100, ')" 16
	"$RUN" -q -r "$DATA/bsd-null.pcap" -w out.pcap
	assert_equal "$(tcpdump -nn -e -r out.pcap 2>/dev/null | grep -c ' 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv6 ')" 5
	assert_equal "$(tcpdump -nn -e -r out.pcap 2>/dev/null | grep -c ' 02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 ')" 20
	# a framed capture meets the pipeline like Ethernet: a firewall sees its ports
	fw_yaml fw.yaml "proto: tcp, dst-port: 443"
	run "$RUN" -q -c fw.yaml -r "$DATA/linux-sll.pcap" -w out.pcap --json
	assert_success
	echo "$output" | jq -e --argjson n "$(tcpdump -r "$DATA/linux-sll.pcap" 'tcp dst port 443' 2>/dev/null | wc -l)" \
		'.drops.firewall == $n and $n > 0'
}

@test "edp-replay writes Ethernet from a cooked or raw capture, to a file and a vport" {
	run "$REPLAY" -T "$DATA/linux-sll2.pcap" -w out.pcap
	assert_success
	assert_line "  30 packets of link type LINUX_SLL2 given an Ethernet header"
	same_bytes <(hexdump out.pcap) <(hexdump "$DATA/linux-sll2.pcap")
	start_run rly -r in=vport -w out=via.pcap -q
	run "$REPLAY" -T -q "$DATA/bsd-loop.pcap" --to rly:in
	assert_success
	wait_tx rly 1 -eq 25
	stop_pid "$pid"
	same_bytes <(hexdump via.pcap) <(hexdump "$DATA/bsd-loop.pcap")
}

@test "live:any (Linux cooked) is read as Ethernet, through the filter" {
	netns_up
	ip netns exec "$ns" "$RUN" -r live:any -w out.pcap --duration 3 --json=s.json -q 'udp' &
	run_pid=$!
	sleep 1
	ip netns exec "$ns" "$REPLAY" --synth flows=4,packets=20,seed=3 -i veth0 --pps 1000 -q
	wait "$run_pid"
	# the frames arrive once, on veth1 (what this host sends is not taken)
	jq -e '.packets_in == 20 and .ports[0].link == "LINUX_SLL" and .ports[0].framed == 20' s.json
	"$REPLAY" --synth flows=4,packets=20,seed=3 -T -q -w sent.pcap
	same_bytes <(hexdump out.pcap) <(hexdump sent.pcap)
}

@test "--stats and ctl name the only instance; several are listed; run options are refused; drops by port and reason" {
	fw_yaml fw.yaml "proto: udp"
	start_run one -c fw.yaml -r "$T" --loop 0 -w /dev/null -q
	"$RUN" ctl suspend >/dev/null # the counters hold still
	run "$RUN" --stats
	assert_success
	assert_line --index 0 --regexp "^instance one, pid $pid, up [0-9.]+ s, 2 ports, 1 thread, 1 queue per port, firewall, config generation 1 \(suspended\)$"
	assert_line "  port               rx_packets       rx_bytes   tx_packets       tx_bytes      drops"
	assert_line --regexp "^  in +[0-9]+ +[0-9]+ +0 +0 +[1-9][0-9]*$"
	assert_line --regexp "^  drops: firewall=[1-9][0-9]*$"
	run "$RUN" --stats --json=s.json
	assert_success
	assert_output ""
	jq -e '.ports[0].drops == .drops.firewall and .drops.firewall > 0 and .ports[1].drops == 0' s.json
	for opt in "-t 2" "--loop 3" "--duration 1" "-r x.pcap" "-q"; do
		# shellcheck disable=SC2086
		run "$RUN" --stats one $opt
		assert_failure 2
		assert_line --index 0 "edp-run: --stats reads a running instance: it takes NAME and --json[=FILE], not ${opt%% *}"
	done
	run "$RUN" ctl status
	assert_success
	assert_line "name: one"
	first=$pid
	start_run two -r "$T" --loop 0 -w /dev/null -q
	run "$RUN" --stats
	assert_failure 2
	assert_line --index 0 "edp-run: 2 instances are running (one, two): name one"
	run "$RUN" ctl status
	assert_failure 2
	assert_line --index 0 "edp-run: 2 instances are running (one, two): name one"
	stop_pid "$first"
}

@test "labels that read right: no lookups, limits, YAML tabs, columns under their headings" {
	"$REPLAY" --synth packets=0 -T -q -w empty.pcap
	run "$RUN" -r empty.pcap -w out.pcap
	assert_success
	assert_line "  flow cache: 0 hits, 0 misses, - hit rate, 0 evictions; slow path runs: 0"
	run "$REPLAY" --synth packets=1 --pps 1e12 -w out.pcap
	assert_failure 2
	assert_line --index 0 "edp-replay: --pps: '1e12' is above the maximum of 1000000000"
	run "$REPLAY" --synth packets=1 --pps 0 -w out.pcap
	assert_failure 2
	assert_line --index 0 "edp-replay: --pps: expected a rate greater than 0, not '0'"
	run "$RUN" -r "$T" -w out.pcap --duration 1e12
	assert_failure 2
	assert_line --index 0 "edp-run: --duration: '1e12' is above the maximum of 999999999"
	printf 'ports:\n\t- name: in\n' >tab.yaml
	run "$RUN" -c tab.yaml -r "$T"
	assert_failure 2
	assert_output "edp-run: tab.yaml:2:1: YAML error: tab characters are not allowed for indentation: indent with spaces"
	printf 'ports:\n  - name: in\n    \trx: x.pcap\n' >tab.yaml
	run "$RUN" -c tab.yaml
	assert_failure 2
	assert_output "edp-run: tab.yaml:3:5: YAML error: tab characters are not allowed for indentation: indent with spaces"
	# edp-top's tables: every row as wide as its heading (right-aligned columns)
	start_run lab -r "$T" --loop 0 -w /dev/null -q -t 2
	"$EDP_BUILD/edp-top" -b -n 1 lab >top.txt
	for head in THR QUEUE PORT; do
		h=$(grep "^$head " top.txt)
		row=$(grep -A1 "^$head " top.txt | tail -1)
		assert_equal "${#row}" "${#h}"
	done
}

@test "progress on a terminal: packets, rate, percent of the file and time left, erased at the end; none otherwise" {
	"$GEN" flows=1000,packets=1000000,seed=3 big.pcap
	# script(1) gives edp-run a terminal and keeps every byte it wrote to it
	EDP_TEST_PROGRESS_MS=5 script -qec "'$RUN' -t 0 -r big.pcap -w /dev/null" /dev/null >tty.txt
	grep -aqE $'\redp-run: [0-9.]+[KM]? packets, [0-9.]+[KM]? pps, [0-9.]+ s, [0-9]+% of 80 MB' tty.txt
	grep -aqE $'% of 80 MB, [0-9.]+ s left\e\\[K' tty.txt
	grep -aq $'\r\e\\[Kedp-run: 1000000 packets in, 1000000 forwarded' tty.txt # erased before the summary
	# a pipe has no size: no percent
	EDP_TEST_PROGRESS_MS=5 script -qec "cat big.pcap | '$RUN' -t 0 -r - -w /dev/null" /dev/null >tty.txt
	grep -aqE $'\redp-run: [0-9.]+[KM]? packets, [0-9.]+[KM]? pps, [0-9.]+ s\e\\[K' tty.txt
	! grep -aq '% of' tty.txt
	# -q, or stderr not a terminal: none
	EDP_TEST_PROGRESS_MS=5 script -qec "'$RUN' -q -t 0 -r big.pcap -w /dev/null" /dev/null >tty.txt
	[ ! -s tty.txt ]
	EDP_TEST_PROGRESS_MS=5 "$RUN" -t 0 -r big.pcap -w /dev/null 2>err.txt
	! grep -aq $'\r' err.txt
	assert_equal "$(head -c 27 err.txt)" "edp-run: 1000000 packets in"
}
