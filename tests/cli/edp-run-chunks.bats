#!/usr/bin/env bats
# edp-run's chunk mode: threads on a capture file each take runs of its
# records; the output is what -t 0 writes, byte for byte, and every count
# the same; which mode a run takes, and why.
load helper

CHUNKS="edp-run: chunks: 2 workers, each takes a run of the capture's records through the pipeline; written in input order"

# flows_line N WHY: the line of a run that spreads packets by flow instead
flows_line() {
	echo "edp-run: reader and workers: thread 0 reads and spreads the packets over $1 workers by flow; not chunks: $2"
}

# the counts of a summary that do not depend on how the run was made
counts() {
	jq -S 'del(.seconds, .mpps, .threads, .mode, .balancer, .flow_cache, .slow_path_runs, .suspends, .suspended_s)' "$1"
}

@test "chunks: -t 2 and -t 3 write what -t 0 writes, byte for byte, through a full pipeline; the same counts" {
	"$GEN" flows=3000,packets=300000,size=64-1500,proto=mix,v6=0.3,seed=71 in.pcap
	pipeline_config # without its receive queues, which would ask for flows
	grep -v -e '^datapath:' -e 'rx-queues' p.yaml >p1.yaml && mv p1.yaml p.yaml
	for t in 0 2 3; do
		run "$RUN" -c p.yaml -r in.pcap -t "$t" --json=sum$t.json
		assert_success
		[ "$t" = 0 ] || assert_line --index 0 "edp-run: chunks: $t workers, each takes a run of the capture's records through the pipeline; written in input order"
		mv out.pcap out$t.pcap
		mv side.pcap side$t.pcap
	done
	for t in 2 3; do
		jq -e --argjson t "$t" '.mode == "chunks" and .threads == $t and .packets_in == 300000' sum$t.json
		same_bytes out0.pcap out$t.pcap
		same_bytes side0.pcap side$t.pcap
		diff <(counts sum0.json) <(counts sum$t.json)
	done
	# the pipeline did something to compare: routed, dropped, rewritten
	jq -e '.ports[1].tx_packets > 10000 and .ports[2].tx_packets > 10000 and .packets_dropped > 1000' sum0.json
	assert_equal "$(count out2.pcap)" "$(jq '.ports[1].tx_packets' sum2.json)"
}

@test "chunks: 1,000 rules and 100 routes, 64-byte frames and IMIX: the bytes of -t 0" {
	"$GEN" flows=20000,packets=200000,size=64,seed=72 a.pcap
	"$GEN" flows=20000,packets=100000,size=imix,proto=mix,seed=73 b.pcap
	"$BATS_TEST_DIRNAME/../bench/gen-config" 1000 100 >acl.yaml
	for trace in a b; do
		"$RUN" -c acl.yaml -t 0 -r $trace.pcap -w out0.pcap -q --json=sum0.json
		"$RUN" -c acl.yaml -t 2 -r $trace.pcap -w out2.pcap -q --json=sum2.json
		jq -e '.mode == "chunks" and .packets_forwarded > 0' sum2.json
		same_bytes out0.pcap out2.pcap
		diff <(counts sum0.json) <(counts sum2.json)
	done
}

@test "chunks: every real capture gives -t 0's bytes, counts and errors with two and three threads" {
	for t in "$DATA"/*.pcap "$DATA"/*.pcapng "$BATS_TEST_DIRNAME"/../../../shared/traces/*.pcap*; do
		[ -f "$t" ] || continue
		"$RUN" -t 0 -r "$t" -w out0.pcap -q --json=sum0.json 2>err0.txt && echo 0 >rc0 || echo $? >rc0
		for n in 2 3; do
			"$RUN" -t $n -r "$t" -w out$n.pcap -q --json=sum$n.json 2>err$n.txt && echo 0 >rc$n || echo $? >rc$n
			assert_equal "$(cat rc$n)" "$(cat rc0)"
			diff err0.txt err$n.txt
			[ "$(cat rc0)" = 2 ] && continue # a link type edp does not read: nothing run
			jq -e '.mode == "chunks"' sum$n.json
			same_bytes out0.pcap out$n.pcap
			diff <(counts sum0.json) <(counts sum$n.json)
		done
	done
}

@test "chunks: --count, --loop and a filter expression take the packets -t 0 takes" {
	"$GEN" flows=500,packets=50000,size=64-300,proto=mix,seed=74 in.pcap
	for args in "--count 12345" "--loop 3" "udp" "--loop 2 --count 70001 tcp"; do
		# shellcheck disable=SC2086
		"$RUN" -t 0 -r in.pcap -w out0.pcap -q --json=sum0.json $args
		# shellcheck disable=SC2086
		"$RUN" -t 2 -r in.pcap -w out2.pcap -q --json=sum2.json $args
		jq -e '.mode == "chunks"' sum2.json
		same_bytes out0.pcap out2.pcap
		diff <(counts sum0.json) <(counts sum2.json)
		case $args in
		"--count 12345") jq -e '.packets_in == 12345' sum2.json ;;
		"--loop 3") jq -e '.packets_in == 150000' sum2.json ;;
		udp) jq -e '.packets_in > 10000 and .packets_filtered > 10000' sum2.json ;;
		esac
	done
}

@test "chunks: stopped mid-run (--duration, SIGTERM): exit 0, every packet read written in order" {
	"$GEN" flows=500,packets=50000,size=64-300,proto=mix,seed=76 in.pcap
	for stop in duration term; do
		if [ "$stop" = duration ]; then
			"$RUN" -t 2 --loop 0 --duration 0.7 -r in.pcap -w out2.pcap -q --json=sum2.json
		else
			"$RUN" -t 2 --loop 0 -r in.pcap -w out2.pcap -q --json=sum2.json &
			pid=$!
			sleep 0.7
			kill -TERM "$pid"
			wait "$pid"
		fi
		n=$(jq .packets_in sum2.json)
		jq -e '.mode == "chunks" and .packets_in > 50000 and .packets_in == .packets_forwarded' sum2.json
		assert_equal "$(count out2.pcap)" "$n"
		# the same packets as -t 0 takes when told to stop after as many
		"$RUN" -t 0 --loop 0 --count "$n" -r in.pcap -w out0.pcap -q --json=sum0.json
		same_bytes out0.pcap out2.pcap
	done
}

@test "chunks: a capture cut short: -t 0's error, output and counts" {
	"$GEN" flows=10,packets=100000,seed=75 in.pcap
	head -c $((24 + 70000 * 80 + 30)) in.pcap >cut.pcap
	for t in 0 2; do
		run "$RUN" -t $t -r cut.pcap -w out$t.pcap -q --json=sum$t.json
		assert_failure 1
		assert_output "edp-run: cut.pcap: after packet 70000: truncated dump file; tried to read 64 captured bytes, only got 14"
	done
	same_bytes out0.pcap out2.pcap
	same_bytes <(head -c $((24 + 70000 * 80)) in.pcap) out2.pcap
	diff <(counts sum0.json) <(counts sum2.json)
}

@test "chunks or flows: the run says which and why; datapath.parallel chooses" {
	"$GEN" flows=100,packets=20000,seed=76 in.pcap
	run "$RUN" -t 2 -r in.pcap -w out.pcap
	assert_success
	assert_line --index 0 "$CHUNKS"
	assert_line --index 1 --regexp "^edp-run: 20000 packets in, 20000 forwarded, 0 dropped in [0-9.]+ s \([0-9.]+ Mpps\), 2 threads, chunks$"
	refute_output --partial "balancer:"
	# a pipe: its records come as another process writes them
	run "$RUN" -t 2 -r - -w out.pcap --json=sum.json < <(cat in.pcap)
	assert_success
	assert_line --index 0 "$(flows_line 2 "the input is a pipe (its records come as they are written)")"
	jq -e '.mode == "flows"' sum.json
	# two inputs are merged by time
	run "$RUN" -t 2 -r in=in.pcap -r out=in.pcap -w in=a.pcap -w out=b.pcap
	assert_success
	assert_line --index 0 "$(flows_line 2 "more than one input (their packets are merged by time)")"
	# a learning switch
	printf 'ports:\n  - name: in\n  - name: out\npipeline:\n  switch: {}\n' >sw.yaml
	run "$RUN" -c sw.yaml -t 2 -r in.pcap -w out.pcap
	assert_success
	assert_line --index 0 "$(flows_line 2 "a learning switch (a verdict depends on what the packets before it taught the switch)")"
	# the config's choice
	printf 'ports:\n  - name: in\n  - name: out\ndatapath:\n  parallel: flows\n' >flows.yaml
	run "$RUN" -c flows.yaml -t 2 -r in.pcap -w flows.pcap --json=sum.json
	assert_success
	assert_line --index 0 "$(flows_line 2 "datapath.parallel is flows")"
	jq -e '.mode == "flows" and .balancer.rebalances == 0' sum.json
	diff <(tcpdump -r in.pcap -n -e -tt 2>/dev/null | sort) <(tcpdump -r flows.pcap -n -e -tt 2>/dev/null | sort)
	printf 'ports:\n  - name: in\n  - name: out\ndatapath:\n  rx-queues: 4\n' >rxq.yaml
	run "$RUN" -c rxq.yaml -t 2 -r in.pcap -w out.pcap
	assert_line --index 0 "$(flows_line 2 "datapath.rx-queues is set (datapath.parallel: chunks takes chunks all the same)")"
	printf 'ports:\n  - name: in\n  - name: out\ndatapath:\n  parallel: chunks\n  rx-queues: 4\n' >ch.yaml
	run "$RUN" -c ch.yaml -t 2 -r in.pcap -w out.pcap -q --json
	assert_success
	echo "$output" | jq -e '.mode == "chunks"'
	run "$RUN" -c ch.yaml -t 2 -r - -w out.pcap < <(cat in.pcap)
	assert_failure 2
	assert_output "edp-run: datapath.parallel is chunks, which this run cannot use: the input is a pipe (its records come as they are written)"
	printf 'ports:\n  - name: in\n  - name: out\ndatapath:\n  parallel: fast\n' >bad.yaml
	run "$RUN" -c bad.yaml -t 2 -r in.pcap -w out.pcap
	assert_failure 2
	assert_output "edp-run: bad.yaml:5:13: parallel must be auto, chunks or flows, not 'fast'"
	# one thread: inline, nothing said
	run "$RUN" -t 1 -r in.pcap -w out.pcap -q --json
	echo "$output" | jq -e '.mode == "inline"'
}

@test "chunks: suspended, no worker takes a packet; resumed, the output is -t 0's; no balancer to ask or show" {
	"$GEN" flows=1000,packets=200000,size=64-600,seed=77 in.pcap
	"$RUN" -t 0 --loop 10 -r in.pcap -w out0.pcap -q --json=sum0.json
	start_run lab -t 2 --loop 10 -r in.pcap -w out2.pcap -q --json=sum2.json
	run "$RUN" ctl lab suspend --json
	assert_output '{"schema":1,"ok":true,"state":"suspended","changed":true}'
	sleep 0.2 # a chunk taken before is finished and written
	a=$(rx_of lab 0)
	sleep 0.5
	assert_equal "$(rx_of lab 0)" "$a"
	assert_lt "$a" 2000000
	run "$EDP_BUILD/edp-top" -b -n 1 lab
	assert_line --index 0 --regexp "^edp-top - lab, pid $pid, up [0-9.]+ s, 2 threads, suspended$"
	assert_line --index 2 "balancer: none: the workers take the capture's records chunk by chunk"
	run "$RUN" --stats lab
	assert_line --index 0 --regexp "^instance lab, pid $pid, up [0-9.]+ s, 2 ports, 2 threads in chunks, "
	refute_output --partial "balancer"
	"$RUN" --stats lab --json | jq -e '.config == "2 ports, 2 threads in chunks, 1 queue per port"'
	run "$RUN" ctl lab rebalance
	assert_failure 1
	assert_output "edp-run: lab: no balancer: the workers take the capture's records chunk by chunk, as they have time"
	run "$RUN" ctl lab resume --json
	assert_output '{"schema":1,"ok":true,"state":"running","changed":true}'
	wait "$pid"
	jq -e '.mode == "chunks" and .suspends == 1 and .packets_in == 2000000' sum2.json
	same_bytes out0.pcap out2.pcap
	diff <(counts sum0.json) <(counts sum2.json)
}
