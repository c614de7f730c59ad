#!/usr/bin/env bats
# edp-run: options, the default wire, pipes, formats, timestamps, signals.
load helper

@test "--help prints usage and exits 0" {
	run "$RUN" --help
	assert_success
	assert_line --index 0 "Usage: edp-run [-c CONFIG] [-r [PORT=]FILE]... [-w [PORT=]FILE]... [-t N] [--ordered]"
}

@test "--version prints the version" {
	run "$RUN" --version
	assert_success
	assert_output "edp-run $(cat "$BATS_TEST_DIRNAME/../../VERSION")"
}

@test "an unknown option is a usage error (exit 2)" {
	run "$RUN" --frobnicate
	assert_failure 2
	assert_line --index 0 "edp-run: unknown option '--frobnicate'"
}

@test "a missing option argument is a usage error (exit 2)" {
	run "$RUN" -r
	assert_failure 2
	assert_line --index 0 "edp-run: option '-r' needs an argument"
}

@test "the default wire reproduces a generated capture byte for byte" {
	"$GEN" flows=500,packets=20000,size=64-1518,proto=mix,v6=0.3,vlan=7,seed=11 in.pcap
	run "$RUN" -r in.pcap -w out.pcap -q
	assert_success
	assert_output ""
	same_bytes in.pcap out.pcap
}

@test "the default wire reproduces a real capture after the pcap header" {
	"$RUN" -r "$DATA/tcpreplay-test.pcap" -w out.pcap -q
	same_body "$DATA/tcpreplay-test.pcap" out.pcap
	assert_equal "$(count out.pcap)" 179
}

@test "nanosecond timestamps are kept" {
	"$GEN" flows=10,packets=100,gap-ns=7,seed=3 in.pcap
	tcpdump -r in.pcap --time-stamp-precision=nano -w nano.pcap 2>/dev/null
	assert_equal "$(head -c 4 nano.pcap | od -An -tx1 | tr -d ' ')" "4d3cb2a1"
	"$RUN" -r nano.pcap -w out.pcap -q
	same_bytes nano.pcap out.pcap
}

@test "timestamps are written as read: out of order, across seconds, at 0 and at the 32-bit end" {
	stamped ts.pcap 0:0 0:999999999 1:0 0:5 4294967295:999999999 4294967295:0 1700000000:123456789 \
		1700000000:999999999 1700000001:0 1699999999:999999999 1700000001:1 1:999999998
	assert_equal "$(tcpdump -r ts.pcap -n -tt 2>/dev/null | wc -l)" 12
	for t in 0 1 "2 --ordered"; do
		# shellcheck disable=SC2086
		"$RUN" -t $t -r ts.pcap -w out.pcap -q
		same_body ts.pcap out.pcap
	done
	editcap -F pcap ts.pcap us.pcap
	"$RUN" -r us.pcap -w out.pcap -q
	same_body us.pcap out.pcap
	diff <(reading us.pcap) <(reading out.pcap)
}

@test "invalid records are written normalized: a fraction of 1e9 ns or more, a length under the capture's" {
	stamped odd.pcap 5:1500000000 6:0:54 6:999999999:0 7:0
	stamped want.pcap 6:500000000 6:0 6:999999999 7:0
	for t in 0 "2 --ordered"; do
		# shellcheck disable=SC2086
		"$RUN" -t $t -r odd.pcap -w out.pcap -q
		same_body want.pcap out.pcap
	done
}

@test "pcapng input is read and written as pcap with the same packets" {
	"$RUN" -r "$DATA/tcpdump-OSPFv2_Capture_FINAL.pcapng" -w out.pcap -q
	assert_equal "$(head -c 4 out.pcap | od -An -tx1 | tr -d ' ')" "4d3cb2a1"
	diff <(reading "$DATA/tcpdump-OSPFv2_Capture_FINAL.pcapng") <(reading out.pcap)
}

@test "truncated packets keep their original wire length" {
	"$GEN" flows=10,packets=50,size=200,seed=5 in.pcap
	editcap -F pcap -s 60 in.pcap snap.pcap
	"$RUN" -r snap.pcap -w out.pcap -q
	same_bytes snap.pcap out.pcap   # the 60-byte snapshot length in the header too
	run tcpdump -r out.pcap -n -c 1 -v
	assert_output --partial "UDP, length 158"
	assert_output --partial "proto UDP (17), length 186)"
}

@test "a pipe: cat | edp-run -r - -w - | tcpdump -r -" {
	"$GEN" flows=20,packets=3000,seed=9 in.pcap
	run bash -c "cat in.pcap | '$RUN' -r - -w - -q | tcpdump -r - -n 2>/dev/null | wc -l"
	assert_success
	assert_output "3000"
}

@test "stdin redirected from a file works like a file" {
	"$GEN" flows=20,packets=100,seed=9 in.pcap
	"$RUN" -r - -w out.pcap -q <in.pcap
	same_bytes in.pcap out.pcap
}

@test "--json reports the contract keys with exact counts" {
	"$GEN" flows=100,packets=1000,seed=4 in.pcap
	run "$RUN" -r in.pcap -w out.pcap -q --json
	assert_success
	echo "$output" | jq -e '.packets_in == 1000 and .packets_forwarded == 1000 and .packets_dropped == 0
		and .flow_cache.misses == 100 and .flow_cache.hits == 900 and .flow_cache.hit_rate == 0.9
		and .slow_path_runs == 100 and (.drops | length) >= 6
		and .ports[0].name == "in" and .ports[0].rx_packets == 1000 and .ports[1].tx_packets == 1000
		and .ports[0].rx_bytes == .ports[1].tx_bytes and (.seconds | type) == "number" and (.mpps | type) == "number"'
}

@test "--json=FILE writes the summary to FILE when the capture goes to stdout" {
	"$GEN" flows=5,packets=10,seed=4 in.pcap
	"$RUN" -r in.pcap -w - -q --json=sum.json >out.pcap
	same_bytes in.pcap out.pcap
	jq -e '.packets_in == 10' sum.json
}

@test "--json without FILE while the capture goes to stdout is a usage error" {
	run "$RUN" -r "$DATA/tcpreplay-test.pcap" -w - --json
	assert_failure 2
	assert_line --index 0 "edp-run: --json needs a FILE (--json=FILE) when a capture is written to stdout"
}

@test "the text summary shows ports, drops, the flow cache and conservation" {
	"$GEN" flows=10,packets=100,seed=4 in.pcap
	run "$RUN" -r in.pcap -w out.pcap
	assert_success
	assert_line --regexp '^edp-run: 100 packets in, 100 forwarded, 0 dropped in [0-9.]+ s \([0-9.]+ Mpps\), 1 thread$'
	assert_line --regexp '^  in +100 +[0-9]+ +0 +0 +0$'
	assert_line "  drops: none"
	assert_line "  flow cache: 90 hits, 10 misses, 90.00% hit rate, 0 evictions; slow path runs: 10"
	assert_line "  conservation: 100 read = 100 forwarded + 0 dropped"
}

@test "without an output every packet is counted as a no-output drop" {
	run "$RUN" -r "$DATA/tcpreplay-test.pcap" -q --json
	assert_success
	echo "$output" | jq -e '.packets_in == 179 and .packets_dropped == 179 and .drops["no-output"] == 179'
}

@test "SIGINT stops reading, flushes a valid pcap and exits 0" {
	"$GEN" flows=10,packets=100,seed=2 in.pcap
	mkfifo fifo
	{ cat in.pcap; sleep 30; } >fifo &
	feeder=$!
	"$RUN" -r fifo -w out.pcap --json=sum.json 2>err.txt &
	pid=$!
	sleep 0.3
	kill -INT "$pid"
	wait "$pid"
	status=$?
	kill "$feeder" 2>/dev/null || true
	assert_equal "$status" 0
	assert_equal "$(count out.pcap)" 100
	jq -e '.packets_in == 100 and .packets_forwarded == 100' sum.json
	grep -q "conservation: 100 read = 100 forwarded + 0 dropped" err.txt
}

@test "nothing to read is a usage error" {
	run "$RUN" -w out.pcap
	assert_failure 2
	assert_line --index 0 "edp-run: nothing to read: give -r FILE or a port with rx in the config"
}

@test "SIGINT while waiting for the first bytes of a pipe: exit 0, nothing read" {
	mkfifo fifo
	sleep 30 >fifo &
	holder=$!
	"$RUN" -r fifo -w out.pcap 2>err.txt &
	pid=$!
	sleep 0.5
	kill -INT "$pid"
	wait "$pid"
	status=$?
	kill "$holder"
	assert_equal "$status" 0
	assert_equal "$(cat err.txt)" "edp-run: interrupted while opening the inputs; no packet was read"
}

@test "a broken output pipe is a failure, not a success" {
	"$GEN" flows=10,packets=200000,seed=2 in.pcap
	run bash -c "'$RUN' -r in.pcap -w - -q | head -c 100 >/dev/null; echo \${PIPESTATUS[0]}"
	assert_output --partial "edp-run: stdout: write failed: Broken pipe"
	assert_line "1"
}

@test "several captures merge by timestamp, the first port's packet first on equal times" {
	# the later ports' packets come more often: a run of them meets a tie
	"$GEN" flows=5,packets=120,gap-ns=5000,seed=61 a.pcap
	"$GEN" flows=5,packets=200,gap-ns=3000,seed=62 b.pcap
	"$GEN" flows=5,packets=300,gap-ns=2000,seed=63 c.pcap
	printf 'ports:\n  - name: a\n  - name: b\n  - name: c\n  - { name: d, tx: out.pcap }\n' >merge.yaml
	# -t 0 processes in exactly the merged order; d gets every packet once
	run "$RUN" -t 0 -c merge.yaml -r a=a.pcap -r b=b.pcap -r c=c.pcap -q --json
	assert_success
	echo "$output" | jq -e '.packets_in == 620 and .ports[3].tx_packets == 620'
	list() { tcpdump -r "$1" -n -e -tt --time-stamp-precision=nano 2>/dev/null; }
	# all three start at the same time: ties every 6, 10 and 15 us
	want=$( (list a.pcap | sed 's/^/1 /'; list b.pcap | sed 's/^/2 /'; list c.pcap | sed 's/^/3 /') |
		sort -s -k2,2n -k1,1n | cut -d' ' -f2-)
	assert_equal "$(list out.pcap)" "$want"
	assert_equal "$(list c.pcap | cut -d' ' -f1 | sort -u | wc -l)" 300
}
