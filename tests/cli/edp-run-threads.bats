#!/usr/bin/env bats
# edp-run on worker threads: ordered output identical for any thread count,
# per-flow order without --ordered, conservation, options and config keys.
load helper

# hot_queue_trace OUT: ~50,000 packets of ~10,000 flows that all land on
# receive queue 0 of 4 (one hot queue), then 10,000 packets of 200 flows
# spread over all four
hot_queue_trace() {
	"$GEN" flows=40000,packets=200000,seed=5 hot.pcap 0/4
	"$GEN" flows=200,packets=10000,gap-ns=9000,seed=6 cold.pcap
	mergecap -F pcap -w "$1" hot.pcap cold.pcap
}

# hot_queue_config OUT INTERVAL-MS: the balancer's config for
# hot_queue_trace: 2 threads, 4 receive queues, an 8-entry flow cache (every
# packet takes the slow path) and 300 rules for other networks, beside 9
# rules on the trace's own (10.0.0.0/8-16 to 192.168.0.0/16) that a port
# sets apart: every packet probes 9 more tuples, and the hot queue's
# processing outweighs the reading on thread 0 (spread 0.56 -> 0.37
# predicted, 0.40 measured; sanitizers 0.78 -> 0.62, 0.59). With the 300
# alone, since the address filters made them cheap, the two weighed about
# the same (0.08: the first move kept a cold queue with the hot one, or
# none came in 6 s); with 81 such rules the hot queue's thread saturated
# and a move gained too little to keep (it was moved back).
hot_queue_config() {
	"$BATS_TEST_DIRNAME/../bench/gen-config" 300 10 8 | awk '/^  router:/ {
		for (a = 8; a <= 16; a++)
			printf "      - { priority: 50, src: 10.0.0.0/%d, dst: 192.168.0.0/16, proto: udp, dst-port: 9, action: drop }\n", a
	} { print }' >"$1"
	printf 'datapath:\n  threads: 2\n  rx-queues: 4\ntlb:\n  interval-ms: %s\n  threshold: 0.0\n  min-improvement: 0.01\n' "$2" >>"$1"
}

@test "--ordered: -t 0, -t 1 and -t 4 give byte-identical outputs through a full pipeline" {
	"$GEN" flows=3000,packets=60000,size=64-700,proto=mix,v6=0.3,seed=51 in.pcap
	pipeline_config
	for t in 0 1 4; do
		"$RUN" -c p.yaml -r in.pcap -t "$t" --ordered -q --json=sum$t.json
		mv out.pcap out$t.pcap
		mv side.pcap side$t.pcap
	done
	# -t 1 with one queue an input runs the batch loop on its worker
	# (no rings), with 3 queues the worker machinery on one thread
	grep -v -e '^datapath:' -e 'rx-queues' p.yaml >p1.yaml
	"$RUN" -c p1.yaml -r in.pcap -t 1 --ordered -q
	same_bytes out0.pcap out.pcap
	same_bytes side0.pcap side.pcap
	same_bytes out0.pcap out1.pcap
	same_bytes out0.pcap out4.pcap
	same_bytes side0.pcap side1.pcap
	same_bytes side0.pcap side4.pcap
	jq -e '.threads == 4 and .packets_in == 60000 and .packets_in == .packets_forwarded + .packets_dropped' sum4.json
	assert_equal "$(jq .packets_dropped sum0.json)" "$(jq .packets_dropped sum4.json)"
	assert_gt "$(jq .packets_dropped sum0.json)" 1000
}

switch_config() {
	cat >sw.yaml <<'YAML'
ports:
  - { name: a, mac: "02:00:00:00:00:fe" }
  - { name: b, mac: "02:00:00:00:01:fe" }
datapath:
  rx-queues: 3
pipeline:
  switch:
    ageing-s: 300
YAML
}

@test "--ordered with a learning switch: -t 0 and -t 3 byte-identical, one input or two" {
	# a verdict depends on what the packets before it taught the switch:
	# with three queues an input, -t 3 --ordered gave 19 to 22 forwarded
	# packets of this trace where -t 0 gives 21
	switch_config
	"$RUN" -c sw.yaml -t 0 -r "$DATA/tcpreplay-test.pcap" -w a=a0.pcap -w b=b0.pcap -q --json=sum0.json
	for i in 1 2 3 4 5; do
		run "$RUN" -c sw.yaml -t 3 --ordered -r "$DATA/tcpreplay-test.pcap" -w a=a3.pcap -w b=b3.pcap --json=sum3.json
		assert_success
		assert_line --index 0 "edp-run: ordered with a learning switch: one receive queue an input, in input order (a verdict depends on what the packets before it taught the switch)"
		same_bytes a0.pcap a3.pcap
		same_bytes b0.pcap b3.pcap
		assert_equal "$(jq .packets_forwarded sum0.json)" "$(jq .packets_forwarded sum3.json)"
	done
	assert_equal "$(jq .packets_in sum0.json)" 179
	# the two directions of the trace's main conversation on ports of their own
	tcpdump -r "$DATA/tcpreplay-test.pcap" -w in-a.pcap 'ether src f8:1e:df:e5:84:3a' 2>/dev/null
	tcpdump -r "$DATA/tcpreplay-test.pcap" -w in-b.pcap 'not ether src f8:1e:df:e5:84:3a' 2>/dev/null
	"$RUN" -c sw.yaml -t 0 -r a=in-a.pcap -r b=in-b.pcap -w a=a0.pcap -w b=b0.pcap -q
	for i in 1 2 3; do
		run "$RUN" -c sw.yaml -t 3 --ordered -r a=in-a.pcap -r b=in-b.pcap -w a=a3.pcap -w b=b3.pcap --json=sum3.json
		assert_success
		assert_line --index 0 "edp-run: ordered with a learning switch: the inputs' packets are processed on one thread, in input order (a verdict depends on what the packets before it taught the switch)"
		same_bytes a0.pcap a3.pcap
		same_bytes b0.pcap b3.pcap
	done
	assert_gt "$(tcpdump -r a0.pcap 2>/dev/null | wc -l)" 0
	assert_gt "$(tcpdump -r b0.pcap 2>/dev/null | wc -l)" 0
	jq -e '.threads == 3 and .packets_in == 179' sum3.json
}

@test "--ordered with a learning switch: rx-queue-cpus for more than one queue is refused" {
	printf 'ports:\n  - { name: in, rx-queue-cpus: [0, 0] }\n  - name: out\ndatapath:\n  threads: 2\npipeline:\n  switch: {}\n' >bad.yaml
	run "$RUN" -c bad.yaml --ordered -r "$DATA/tcpreplay-test.pcap" -w out.pcap
	assert_failure 2
	assert_output "edp-run: bad.yaml:2:36: port in: rx-queue-cpus names 2 queues; the port has 1 (ordered with a learning switch: one, in input order)"
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap" -w out.pcap -q
	assert_success
}

@test "without --ordered every flow keeps its order (2 threads, 4 queues)" {
	"$GEN" flows=500,packets=40000,proto=tcp,seed=52 in.pcap
	run "$RUN" -t 2 -r in.pcap -w out.pcap -q --json
	assert_success
	echo "$output" | jq -e '.packets_forwarded == 40000 and .threads == 2'
	# a stable sort by flow leaves each flow's packets in their order: the
	# two sorted readings are identical only if no flow was reordered
	tcpdump -r in.pcap -n -tt 2>/dev/null | sort -s -k3,3 -k5,5 >expect.txt
	tcpdump -r out.pcap -n -tt 2>/dev/null | sort -s -k3,3 -k5,5 >actual.txt
	diff expect.txt actual.txt
}

@test "datapath.threads and ordered from the config; -t overrides" {
	"$GEN" flows=100,packets=5000,seed=53 in.pcap
	printf 'ports:\n  - name: in\n  - name: out\ndatapath:\n  threads: 3\n  ordered: true\n' >t.yaml
	run "$RUN" -c t.yaml -r in.pcap -w out.pcap -q --json
	assert_success
	echo "$output" | jq -e '.threads == 3'
	same_bytes in.pcap out.pcap
	run "$RUN" -c t.yaml -t 0 -r in.pcap -w out.pcap -q --json
	echo "$output" | jq -e '.threads == 0'
}

@test "threads: real captures keep conservation and every packet" {
	for t in "$DATA"/tcpreplay-test.pcap "$DATA"/tcpdump-bigtcp-ipv6-hbh.pcap "$DATA"/tcpdump-OSPFv2_Capture_FINAL.pcapng; do
		run "$RUN" -t 4 --ordered -r "$t" -w out.pcap -q --json
		assert_success
		n=$(tshark -r "$t" 2>/dev/null | wc -l)
		echo "$output" | jq -e --argjson n "$n" '.packets_in == $n and .packets_forwarded == $n'
		diff <(reading "$t") <(reading out.pcap)
	done
}

@test "threads: a truncated capture still exits 1 with every earlier packet written" {
	"$GEN" flows=10,packets=1000,seed=54 in.pcap
	head -c $((24 + 700 * 80 + 30)) in.pcap >cut.pcap
	run "$RUN" -t 2 --ordered -r cut.pcap -w out.pcap -q
	assert_failure 1
	assert_output "edp-run: cut.pcap: after packet 700: truncated dump file; tried to read 64 captured bytes, only got 14"
	same_bytes <(head -c $((24 + 700 * 80)) in.pcap) out.pcap
}

# cpu_seconds CMD...: the user + system CPU time CMD took, in seconds.
cpu_seconds() {
	local TIMEFORMAT='%U %S' t
	t=$( { time "$@" >/dev/null 2>&1; } 2>&1)
	echo "$t" | awk '{ print $1 + $2 }'
}

# two_cpus: the first two CPUs this shell may run on, as taskset -c takes them.
two_cpus() {
	awk '/^Cpus_allowed_list/ { print $2 }' /proc/self/status | tr ',' '\n' |
		awk -F- '{ for (i = $1; i <= (NF == 2 ? $2 : $1); i++) print i }' | head -2 | paste -sd,
}

@test "more threads than CPUs: idle workers sleep instead of polling the writer's CPU away" {
	(($(nproc) >= 2)) || skip "needs two CPUs"
	cpus=$(two_cpus)
	"$GEN" flows=500,packets=200000,seed=57 in.pcap
	# a reader and workers (chunks have no polling worker: below)
	printf 'ports:\n  - name: in\n  - name: out\ndatapath:\n  parallel: flows\n' >flows.yaml
	one=$(cpu_seconds taskset -c "$cpus" "$RUN" -t 1 -r in.pcap -w out1.pcap -q)
	eight=$(cpu_seconds taskset -c "$cpus" "$RUN" -c flows.yaml -t 8 -r in.pcap -w out8.pcap -q)
	diff -u <(tcpdump -r out1.pcap -nn -tt 2>/dev/null | sort) <(tcpdump -r out8.pcap -nn -tt 2>/dev/null | sort)
	# workers that polled for output they could not write took 26x the
	# CPU time of -t 1 here; sleeping, 3x
	echo "-t 1: $one s, -t 8: $eight s"
	awk -v a="$one" -v b="$eight" 'BEGIN { exit !(b <= 6 * a + 0.05) }'
	# in input order: 36x before, 2.7x now
	four=$(cpu_seconds taskset -c "$cpus" "$RUN" -c flows.yaml -t 4 --ordered -r in.pcap -w out4.pcap -q)
	same_bytes out1.pcap out4.pcap
	echo "-t 4 --ordered: $four s"
	awk -v a="$one" -v b="$four" 'BEGIN { exit !(b <= 6 * a + 0.05) }'
	run taskset -c "$cpus" "$RUN" -c flows.yaml -t 3 -r in.pcap -w out3.pcap
	assert_success
	assert_line --index 0 "edp-run: reader and workers: thread 0 reads and spreads the packets over 3 workers by flow; not chunks: datapath.parallel is flows"
	assert_line --index 1 "edp-run: 3 threads on 2 CPUs: they take turns, and an idle one sleeps at once instead of polling"
	# chunks: a worker whose chunks wait for another's to be written sleeps
	chunks=$(cpu_seconds taskset -c "$cpus" "$RUN" -t 8 -r in.pcap -w out8c.pcap -q)
	echo "-t 8, chunks: $chunks s"
	same_bytes out1.pcap out8c.pcap
	awk -v a="$one" -v b="$chunks" 'BEGIN { exit !(b <= 6 * a + 0.05) }'
}

@test "bad thread counts are usage errors" {
	run "$RUN" -t 65 -r "$DATA/tcpreplay-test.pcap"
	assert_failure 2
	assert_line --index 0 "edp-run: -t: the number of threads must be 0 to 64, not '65'"
	run "$RUN" -t two -r "$DATA/tcpreplay-test.pcap"
	assert_failure 2
	printf 'ports:\n  - name: a\ndatapath:\n  threads: -1\n' >bad.yaml
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_failure 2
	assert_output "edp-run: bad.yaml:4:12: threads must be an integer from 0 to 64, not '-1'"
	printf 'ports:\n  - name: a\ndatapath:\n  rx-queues: 0\n' >bad.yaml
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_output "edp-run: bad.yaml:4:14: rx-queues must be an integer from 1 to 64, not '0'"
	printf 'ports:\n  - name: a\ndatapath:\n  ordered: yes\n' >bad.yaml
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_output "edp-run: bad.yaml:4:12: ordered must be true or false, not 'yes'"
	printf 'ports:\n  - name: a\ndatapath:\n  cpu: [1]\n' >bad.yaml
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_output "edp-run: bad.yaml:4:3: datapath: unknown key 'cpu' (known: threads, rx-queues, ordered, cpus, parallel)"
}

@test "--loop N reads each input N times" {
	"$GEN" flows=10,packets=500,seed=55 in.pcap
	for t in 0 2; do
		run "$RUN" -t "$t" --ordered --loop 3 -r in.pcap -w out.pcap -q --json
		assert_success
		echo "$output" | jq -e '.packets_in == 1500 and .packets_forwarded == 1500'
		diff <(for i in 1 2 3; do reading in.pcap; done) <(reading out.pcap)
	done
}

@test "--loop 0 with --duration runs until the time is up, then stops cleanly" {
	"$GEN" flows=10,packets=500,seed=56 in.pcap
	start=$(date +%s%N)
	run "$RUN" --loop 0 --duration 1.2 -r in.pcap -w out.pcap -q --json
	end=$(date +%s%N)
	assert_success
	ms=$(((end - start) / 1000000))
	assert_ge "$ms" 1150
	assert_lt "$ms" 5000
	echo "$output" | jq -e '.packets_in > 1000 and .packets_in == .packets_forwarded'
	assert_equal "$(count out.pcap)" "$(echo "$output" | jq .packets_in)"
}

@test "--loop: stdin cannot be looped; bad values are usage errors; an empty capture ends" {
	run bash -c "'$RUN' --loop 2 -r - -w out.pcap <'$DATA/tcpreplay-test.pcap'"
	assert_failure 2
	assert_output "edp-run: stdin: cannot be read more than once (--loop)"
	run "$RUN" --loop -1 -r "$DATA/tcpreplay-test.pcap"
	assert_failure 2
	assert_line --index 0 "edp-run: --loop: expected a count (0 = until stopped), not '-1'"
	run "$RUN" --duration 0 -r "$DATA/tcpreplay-test.pcap"
	assert_failure 2
	assert_line --index 0 "edp-run: --duration: expected seconds greater than 0, not '0'"
	head -c 24 "$DATA/tcpreplay-test.pcap" >empty.pcap
	run timeout 10 "$RUN" --loop 0 -r empty.pcap -w out.pcap -q --json
	assert_success
	echo "$output" | jq -e '.packets_in == 0'
}

# the first move's measurement has reached the stats segment
first_move_measured() {
	"$RUN" --stats tlb --json | jq -e '.balancer.events[0].spread_measured != null'
}

@test "the balancer moves the other queues away from the thread of a hot queue; --stats and edp-top show what it predicted and measured" {
	hot_queue_trace mix.pcap
	hot_queue_config tlb.yaml 200
	"$RUN" -c tlb.yaml --name tlb --loop 0 --duration 6 -r in=mix.pcap -w out=/dev/null --json=sum.json 2>err.txt &
	pid=$!
	wait_for "$RUN" --stats tlb
	wait_for first_move_measured
	"$RUN" --stats tlb --json >live.json
	"$RUN" --stats tlb >live.txt
	"$EDP_BUILD/edp-top" -b -n 1 tlb >top.txt
	wait "$pid"
	grep -qE '^edp-run: balancer: moved [1-4] queues?: queue [0-3] \(in\) [01]->[01](, queue [0-3] \(in\) [01]->[01])*; spread [0-9.]+ -> [0-9.]+(, rate x[0-9.]+ \(saturated\))?$' err.txt
	jq -e '.balancer.rebalances >= 1 and .balancer.queues_moved >= 1
		and .packets_in == .packets_forwarded and .packets_in > 60000' sum.json
	jq -e '.balancer.events[0].moved >= 1 and .balancer.events[0].at_s > 0
		and (.balancer.events[0].what | test("^queue [0-3] \\(in\\) [01]->[01]"))
		and .balancer.events[0].spread_after < .balancer.events[0].spread_before
		and .balancer.events[0].spread_measured >= 0 and .balancer.events[0].speedup >= 0' sum.json
	grep -qE '^    at [0-9.]+ s: queue [0-3] \(in\) [01]->[01]' err.txt
	# queue 0 is the hot one; all four start on thread 1 (thread 0 reads), and
	# after the first move queue 0's thread owns fewer of the others: all
	# three moved in every run by hand, but in CI's runs of the whole suite
	# (three of three, plain build) one stayed with the hot queue, the
	# reading weighing more there; what the move was is printed
	echo "first move: $(jq -c '.balancer.events[0]' sum.json)"
	jq -e '(.queues | max_by(.packets)).queue == 0' live.json
	jq -e '[.balancer.events[0].what | scan("queue ([0-3]) \\(in\\) 1->([01])")
		| {key: .[0], value: .[1]}] | from_entries as $to
		| [range(4) | tostring | $to[.] // "1"] as $thread
		| [range(1; 4) | select($thread[.] == $thread[0])] | length < 3' sum.json
	# and so it still is, unless a later move (or a move back) changed it
	jq -e '(.queues[] | select(.queue == 0).thread) as $t | (.balancer.events | length) > 1
		or ([.queues[] | select(.queue != 0 and .thread == $t)] | length < 3)' live.json
	# the live stats: the same first move, with what it measured after
	jq -e --slurpfile s sum.json '.balancer.events[0] as $e | $s[0].balancer.events[0] as $f
		| $e.moved == $f.moved and $e.what == $f.what and $e.spread_measured == $f.spread_measured
		and $e.speedup == $f.speedup and $e.speedup_measured == $f.speedup_measured' live.json
	grep -qE '^  balancer: [1-9][0-9]* rebalances?$' live.txt
	grep -qE '^    at [0-9.]+ s: queue [0-3] \(in\) [01]->[01].*; spread [0-9.]+ -> [0-9.]+ predicted, [0-9.]+ measured after(; rate x[0-9.]+ predicted \(saturated\), x[0-9.]+ measured)?$' live.txt
	grep -qE '^balancer: [1-9][0-9]* rebalances?, last at [0-9:]{8}: queue [0-3] \(in\).*; spread [0-9.]+ -> [0-9.]+ predicted(, [0-9.]+ measured after)?' top.txt
}

@test "the balancer settles on a steady load: one move at most after the first intervals, measured against its prediction" {
	# the load that made it flap (9 moves in 10 s): Zipf(1.5) over 200
	# flows, looped, 2 threads, 8 receive queues
	"$GEN" flows=200,packets=200000,zipf=1.5,seed=11 zipf.pcap
	printf 'ports: [ { name: in }, { name: out } ]\ndatapath: { threads: 2, rx-queues: 8 }\ntlb: { interval-ms: 200 }\n' >z.yaml
	run "$RUN" -c z.yaml --loop 0 --duration 6 -r zipf.pcap -w /dev/null --json=sum.json
	assert_success
	# 30 intervals: after the first 3 (sustain-intervals) at most one move
	jq -e '([.balancer.events[] | select(.at_s > 0.7)] | length) <= 1 and .packets_in == .packets_forwarded' sum.json
	# every move is followed by what it measured (null only when the run ended
	# first, or for a move back, which is not measured)
	jq -e '[.balancer.events[] | .spread_measured] | all(. == null or (. >= 0 and . <= 1))' sum.json
	if [ "$(jq '.balancer.rebalances' sum.json)" -gt 0 ]; then
		assert_line --regexp '^edp-run: balancer: the last move: predicted [0-9.]+, measured [0-9.]+ over the next 3 intervals'
		assert_line --regexp '^    at [0-9.]+ s: .*; spread [0-9.]+ -> [0-9.]+ predicted, [0-9.]+ measured after(; rate x[0-9.]+ predicted \(saturated\), x[0-9.]+ measured)?$'
	fi
}

@test "tlb config keys are checked" {
	printf 'ports:\n  - name: a\ntlb:\n  threshold: 1.5\n' >bad.yaml
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_failure 2
	assert_output "edp-run: bad.yaml:4:14: threshold must be a number from 0 to 1, not '1.5'"
	printf 'ports:\n  - name: a\ntlb:\n  interval-ms: 5\n' >bad.yaml
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_output "edp-run: bad.yaml:4:16: interval-ms must be an integer from 10 to 3600000, not '5'"
	printf 'ports:\n  - name: a\ntlb:\n  enabled: maybe\n' >bad.yaml
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_output "edp-run: bad.yaml:4:12: enabled must be true or false, not 'maybe'"
	printf 'ports:\n  - name: a\ntlb:\n  period: 5\n' >bad.yaml
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_output "edp-run: bad.yaml:4:3: tlb: unknown key 'period' (known: interval-ms, threshold, min-improvement, min-gain, sustain-intervals, verify-intervals, backoff-intervals, shift, enabled)"
	printf 'ports:\n  - name: a\ntlb:\n  sustain-intervals: 0\n' >bad.yaml
	run "$RUN" -c bad.yaml -r x.pcap
	assert_failure 2
	assert_output "edp-run: bad.yaml:4:22: sustain-intervals must be an integer from 1 to 1000, not '0'"
}

@test "workers run on datapath.cpus; rx-queue-cpus pins queues the balancer never moves" {
	hot_queue_trace mix.pcap
	last=$(($(nproc) - 1))
	cat >pin.yaml <<YAML
ports:
  - { name: in, rx-queue-cpus: [0, 0, 0, 0], numa-node: 0 }
  - name: out
datapath:
  threads: 2
  rx-queues: 4
  cpus: [0, $last]
tlb: { interval-ms: 200, threshold: 0.0, min-improvement: 0.01 }
YAML
	"$RUN" -c pin.yaml --name pin --loop 0 --duration 3 -r mix.pcap -w /dev/null --json=sum.json 2>err.txt &
	pid=$!
	wait_for "$RUN" --stats pin
	sleep 1.5
	"$RUN" --stats pin --json >live.json
	wait "$pid"
	# every queue is pinned to the worker on cpu 0 (thread 0): nothing moves
	jq -e '[.queues[].thread] == [0, 0, 0, 0] and .threads[0].cpu == 0' live.json
	jq -e --argjson last "$last" '.threads[1].cpu == $last' live.json
	jq -e '.balancer.rebalances == 0 and .packets_in == .packets_forwarded' sum.json
	run grep -c "balancer: moved" err.txt
	assert_output "0"
}

@test "placement errors: a CPU that is not ours, a queue pinned to no worker, a missing NUMA node, at their place in the file" {
	printf 'ports:\n  - name: in\n  - name: out\ndatapath:\n  threads: 2\n  cpus: [0, 1023]\n' >bad.yaml
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_failure 2
	assert_output --regexp "^edp-run: bad.yaml:6:13: datapath.cpus: cpu 1023 is not available \(available: 0(, [0-9]+)*\)$"
	printf 'ports:\n  - { name: in, rx-queue-cpus: [0, 1023] }\n  - name: out\ndatapath:\n  threads: 2\n  cpus: [0]\n' >bad.yaml
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_failure 2
	assert_output "edp-run: bad.yaml:2:36: port in: rx-queue-cpus: no worker thread runs on cpu 1023 (workers run on 0, 0)"
	printf 'ports:\n  - { name: in, rx-queue-cpus: [0, 0, 0] }\n  - name: out\ndatapath:\n  threads: 2\n' >bad.yaml
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_failure 2
	assert_output "edp-run: bad.yaml:2:39: port in: rx-queue-cpus names 3 queues; the port has 2"
	printf 'ports:\n  - { name: in, numa-node: 1000 }\n  - name: out\n' >bad.yaml
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_failure 2
	assert_output --regexp "^edp-run: bad.yaml:2:28: port in: numa-node 1000 does not exist \(this machine has [0-9]+\)$"
}

@test "ctl rebalance: the balancer's plan now, applied when worth it; no balancer, a clear no" {
	hot_queue_trace mix.pcap
	# an interval of an hour: no plan but the one asked for
	hot_queue_config tlb.yaml 3600000
	start_run tlb -c tlb.yaml --loop 0 -r in=mix.pcap -w out=/dev/null -q
	sleep 1
	run "$RUN" ctl tlb rebalance --json
	assert_success
	echo "$output" | jq -e '.applied == true and .moved >= 1 and .spread_after < .spread_before
		and (.what | test("^queue [0-3] \\(in\\) [01]->[01]"))
		and (.reason | test("^moved [1-4] queues?: spread [0-9.]+ -> [0-9.]+ planned$"))'
	"$RUN" --stats tlb --json | jq -e '.balancer.rebalances == 1'
	run "$RUN" ctl tlb rebalance # again at once: a plan, applied or not, and why
	assert_success
	assert_line --regexp '^reason: (moved|not worth it|the moves of the last plan)'
	printf 'ports:\n  - name: in\n  - name: out\ndatapath:\n  threads: 2\ntlb:\n  enabled: false\n' >off.yaml
	start_run off -c off.yaml --loop 0 -r in=mix.pcap -w out=/dev/null -q
	run "$RUN" ctl off rebalance
	assert_failure 1
	assert_output "edp-run: off: the balancer is off (tlb: enabled: false)"
	start_run one -t 1 --loop 0 -r mix.pcap -w /dev/null -q
	run "$RUN" ctl one rebalance
	assert_failure 1
	assert_output "edp-run: one: no balancer: the run has 1 thread"
}
