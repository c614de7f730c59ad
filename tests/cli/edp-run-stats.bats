#!/usr/bin/env bats
# Live stats: a running edp-run publishes its counters; edp-run --stats reads
# one consistent snapshot.
load helper

# long_run NAME ARG...: a long run of NAME ("" for none: the default name)
# in the background (start_run), reading a mixed capture in a loop
long_run() {
	[ -e in.pcap ] || "$GEN" flows=200,packets=20000,proto=mix,seed=61 in.pcap
	start_run "$@" --loop 0 --duration 20 -r in.pcap -w /dev/null -q
}

@test "--stats --json: threads, queues and ports of a running instance, and counts that grow" {
	printf 'ports:\n  - name: uplink\n  - name: vm1\ndatapath:\n  threads: 2\n  rx-queues: 3\n' >s.yaml
	long_run lab -c s.yaml
	sleep 0.5
	run "$RUN" --stats lab --json
	assert_success
	echo "$output" >a.json
	sleep 0.5
	"$RUN" --stats lab --json >b.json
	stop_pid "$pid"
	jq -e --argjson pid "$pid" '.name == "lab" and .pid == $pid and .running == true
		and (.threads | length) == 2 and (.queues | length) == 3
		and ([.queues[].port] | unique) == ["uplink"] and ([.queues[].thread] | sort) == [1, 1, 1]
		and (.ports | map(.name)) == ["uplink", "vm1"]
		and .threads[0].packets == 0 and .threads[0].busy_ratio > 0 and .threads[0].busy_ratio <= 1
		and .threads[1].packets > 0 and .threads[1].flow_cache.hits > 0 and .threads[1].packets_per_batch >= 1
		and (.threads[1].drops | has("firewall")) and .ports[0].drops == 0' a.json
	assert_gt "$(jq '.ports[0].rx_packets' b.json)" "$(jq '.ports[0].rx_packets' a.json)"
	assert_gt "$(jq '[.threads[].packets] | add' b.json)" "$(jq '[.threads[].packets] | add' a.json)"
}

@test "--stats --json of the default -t 1: one thread owning the queue of each input, busy, counting" {
	long_run one
	sleep 0.5
	"$RUN" --stats one --json >a.json
	sleep 0.5
	"$RUN" --stats one --json >b.json
	stop_pid "$pid"
	jq -e '(.threads | length) == 1 and .threads[0].queues == 1 and (.queues | length) == 1
		and .queues[0].thread == 0 and .queues[0].share > 0.5 and .queues[0].share <= 1
		and .threads[0].busy_ratio > 0 and .threads[0].packets_per_batch > 1
		and .queues[0].packets > 0' a.json
	assert_gt "$(jq '.threads[0].packets' b.json)" "$(jq '.threads[0].packets' a.json)"
	assert_gt "$(jq '.queues[0].packets' b.json)" "$(jq '.queues[0].packets' a.json)"
}

@test "--stats --json of -t 1 with two inputs: each input's queue counts its own packets" {
	"$GEN" flows=200,packets=20000,proto=mix,seed=61 in.pcap
	"$GEN" flows=20,packets=2000,proto=mix,seed=62 in2.pcap
	printf 'ports:\n  - { name: a, rx: in.pcap, tx: /dev/null }\n  - { name: b, rx: in2.pcap, tx: /dev/null }\n' >two.yaml
	start_run two -t 1 -c two.yaml --loop 0 --duration 20 -q
	sleep 0.5
	"$RUN" --stats two --json >a.json
	stop_pid "$pid"
	# merged by time, both loop: both queues busy, the thread's packets all theirs
	jq -e '(.queues | length) == 2 and ([.queues[].port] | sort) == ["a", "b"]
		and all(.queues[]; .thread == 0 and .packets > 0)' a.json
	# each block is published on its own clock: the sum within 1% of the thread's
	jq -e '([.queues[].packets] | add) as $q | .threads[0].packets as $t | ($q - $t) * 100 < $t and ($t - $q) * 100 < $t' a.json
}

@test "the segment is owner-only under EDP_RUNDIR and removed at exit" {
	long_run ""
	assert_equal "$(stat -c %a "$EDP_RUNDIR")" 700
	assert_equal "$(stat -c %a "$EDP_RUNDIR/default.stats")" 600
	run "$RUN" --stats
	assert_success
	assert_line --index 0 --regexp "^instance default, pid $pid, up [0-9.]+ s, 2 ports, 1 thread, 1 queue per port, config generation 1$"
	stop_pid "$pid"
	[ ! -e "$EDP_RUNDIR/default.stats" ]
}

@test "a missing instance: exit 1 with a clear message" {
	run "$RUN" --stats nosuch
	assert_failure 1
	assert_output "edp-run: no instance 'nosuch' is running (no $EDP_RUNDIR/nosuch.stats)"
	run "$RUN" --stats 'Bad!'
	assert_failure 2
	assert_output "edp-run: instance name 'Bad!' must be 1 to 32 of a-z 0-9 _ -"
}

@test "a stale segment of a killed instance is detected, then replaced at the next start" {
	long_run crash
	kill -9 "$pid"
	wait "$pid" || true
	[ -e "$EDP_RUNDIR/crash.stats" ]
	run "$RUN" --stats crash
	assert_failure 1
	assert_output "edp-run: instance 'crash' is not running (stale segment of pid $pid)"
	long_run crash
	run "$RUN" --stats crash --json
	assert_success
	echo "$output" | jq -e --argjson pid "$pid" '.pid == $pid'
	stop_pid "$pid"
	# a file that is no segment at all (say, left by something else) is named as such
	mkdir -p "$EDP_RUNDIR"
	head -c 3000 /dev/urandom >"$EDP_RUNDIR/junk.stats"
	run "$RUN" --stats junk
	assert_failure 1
	assert_output "edp-run: instance 'junk' is not running ($EDP_RUNDIR/junk.stats is not a stats segment)"
	long_run junk # and replaced at the next start
	stop_pid "$pid"
}

@test "an explicit name that is taken is refused; an unnamed second instance takes default-PID" {
	long_run ""
	run "$RUN" --name default -r in.pcap -w /dev/null -q
	assert_failure 1
	assert_output "edp-run: instance 'default' is already running (pid $pid)"
	first=$pid
	long_run ""
	wait_for "$RUN" --stats "default-$pid"
	run "$RUN" --stats # without a name: the only instance, and there are two
	assert_failure 2
	assert_line --index 0 "edp-run: 2 instances are running (default, default-$pid): name one"
	stop_pid "$pid"
	stop_pid "$first"
}
