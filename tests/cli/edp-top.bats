#!/usr/bin/env bats
# edp-top against instances of edp-run that the tests start: batch text,
# JSON lines, the terminal under tmux, and instances that are missing,
# stale, gone and back.
load helper

TOP=$EDP_BUILD/edp-top

# start NAME [ARGS...]: a long edp-run NAME with 2 threads and 3 queues on
# port uplink (start_run)
start() {
	local name=$1
	shift
	[ -e in.pcap ] || "$GEN" flows=200,packets=20000,proto=mix,seed=61 in.pcap
	printf 'ports:\n  - name: uplink\n  - name: vm1\ndatapath:\n  threads: 2\n  rx-queues: 3\n' >s.yaml
	start_run "$name" -c s.yaml --loop 0 -r in.pcap -w /dev/null -q "$@"
}

# tmux_server NAME: a tmux server of the test's own ($tm), killed when it ends
tmux_server() {
	tm=$1
	when_finished tmux -L "$tm" kill-server
}

@test "-b: text snapshots with the threads, queues and ports of the instance" {
	start lab --duration 20
	run "$TOP" -b -n 2 -d 0.3 lab
	assert_success
	assert_equal "$(grep -c "^edp-top - lab, pid $pid, up [0-9.]* s, 2 threads, running$" <<<"$output")" 2
	assert_equal "$(grep -c '^THR CPU NODE BUSY%  RX pps  TX pps  HIT% SLOW/s DROP/s PKT/B CYC/PK   Q$' <<<"$output")" 2
	assert_equal "$(grep -cE '^  [01] +[0-9]+ +[0-9]+ +[0-9.]+ ' <<<"$output")" 4 # threads 0 and 1, twice
	assert_equal "$(grep -cE '^ +[0-2] uplink +[01] ' <<<"$output")" 6         # queues 0-2, twice
	assert_equal "$(grep -cE '^(uplink|vm1) ' <<<"$output")" 4
	assert_line --regexp '^rx [0-9.]+[KM]? pps [0-9.]+ Gb/s  tx '
	assert_line --partial "drops by reason: firewall 0 (0/s),"
}

@test "-b --json: one object per refresh, stable keys, counts that grow" {
	start lab --duration 20
	run "$TOP" -b --json -n 3 -d 0.3 lab
	assert_success
	assert_equal "${#lines[@]}" 3
	printf '%s\n' "${lines[@]}" >top.json
	jq -e --argjson pid "$pid" '.name == "lab" and .pid == $pid and .status == "running"
		and (.threads | length) == 2 and (.threads | map(.thread)) == [0, 1]
		and (.queues | length) == 3 and ([.queues[].port] | unique) == ["uplink"]
		and ([.queues[].thread] | sort) == [1, 1, 1]
		and (.ports | map(.name)) == ["uplink", "vm1"]
		and .totals.rx_pps > 0 and .totals.flow_cache.hit_rate > 0.9
		and .threads[0].busy_ratio > 0 and .threads[0].busy_ratio <= 1 and .threads[1].packets_per_batch >= 1
		and (.drops | has("firewall")) and .balancer.rebalances >= 0 and .schema == 1
		and (.threads[0] | has("cycles_per_packet") and has("rx_pps") and has("tx_pps") and has("numa_node"))' top.json
	assert_gt "$(sed -n 3p top.json | jq .totals.rx_packets)" "$(sed -n 1p top.json | jq .totals.rx_packets)"
	# the per-port rates add up to the totals
	sed -n 2p top.json | jq -e '([.ports[].rx_pps] | add) == .totals.rx_pps'
}

@test "missing, stale and several instances; bad options" {
	run "$TOP" -b
	assert_failure 1
	assert_output "edp-top: no edp-run instance is running (start one, e.g. edp-run --name lab -r trace.pcap --loop 0 -w /dev/null)"
	run "$TOP" -b -n 1 nosuch
	assert_failure 1
	assert_output "edp-top: no instance 'nosuch' is running (no $EDP_RUNDIR/nosuch.stats)"
	start lab --duration 20
	kill -9 "$pid"
	wait "$pid" || true
	run "$TOP" -b -n 1 lab
	assert_failure 1
	assert_output "edp-top: instance 'lab' is not running (stale segment of pid $pid)"
	run "$TOP" -b -n 1 # a stale segment is no running instance
	assert_failure 1
	start one --duration 20
	run "$TOP" -b -n 1 # one instance: that one
	assert_success
	assert_line --index 0 --regexp "^edp-top - one, pid $pid,"
	start two --duration 20
	run "$TOP" -b -n 1
	assert_failure 2
	assert_output "edp-top: 2 instances are running (one, two): name one"
	run "$TOP" -b -n 0 one
	assert_failure 2
	assert_line --index 0 "edp-top: -n: expected a count of refreshes (1 or more), not '0'"
	run "$TOP" -b -d x one
	assert_failure 2
	assert_line --index 0 "edp-top: -d: expected seconds from 0.01 to 3600, not 'x'"
	run "$TOP" --json one
	assert_failure 2
	assert_line --index 0 "edp-top: --json goes with -b (batch mode)"
}

@test "-b --json: an instance that goes away is reported, and followed when it comes back" {
	start lab --duration 1.2
	first=$pid
	"$TOP" -b --json -n 14 -d 0.25 lab >top.json &
	top=$!
	wait "$first" || true
	sleep 0.8
	start lab --duration 3
	wait "$top"
	jq -r '.status' top.json | uniq | tr '\n' ' ' >statuses
	grep -qE '^running (ending )?gone restarted running' statuses || { cat statuses; false; }
	jq -e -s --argjson a "$first" --argjson b "$pid" \
		'(map(select(.status == "gone")) | .[0].error | test("lab")) and .[0].pid == $a and .[-1].pid == $b' top.json
}

@test "the terminal: views, sort, help and quit under tmux at 80x24; an instance that goes and comes back" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	start lab --duration 30
	tmux_server edp-top-$$
	tmux -L "$tm" new-session -d -x 80 -y 24 "EDP_RUNDIR='$EDP_RUNDIR' '$TOP' -d 0.2 lab; echo edp-top exited \$?; sleep 5"
	pane() { tmux -L "$tm" capture-pane -p; }
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '^  1 '"
	pane >p1
	grep -q "^edp-top - lab, pid $pid, up [0-9.]* s, 2 threads, running" p1
	grep -q '^ \[1:threads\]  2:queues   3:ports    sort: thread  delay: 0.2 s' p1
	grep -q '^THR CPU NODE BUSY%  RX pps  TX pps  HIT% SLOW/s DROP/s PKT/B CYC/PK   Q LOAD' p1
	grep -qE '^  0 +[0-9]+ +[0-9]+ +[0-9.]+ .*\[[| ]+\]$' p1 # busy bar
	grep -q '^ F1 help  F10 quit' p1
	assert_le "$(wc -l <p1)" 24
	tmux -L "$tm" send-keys 2
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '^QUEUE PORT'"
	assert_equal "$(pane | grep -cE '^ +[0-2] uplink +[01] ')" 3
	tmux -L "$tm" send-keys s
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q 'sort: share'"
	tmux -L "$tm" send-keys 3
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '^PORT '"
	pane >p3
	grep -q '^vm1 ' p3
	grep -q '^drops by reason:' p3
	grep -qE '^  firewall +0 +0/s$' p3
	tmux -L "$tm" send-keys h
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '^edp-top keys'"
	tmux -L "$tm" send-keys x # any key closes the help
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '\[3:ports\]'"
	tmux -L "$tm" send-keys F1 # htop's help key too
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '^  q F10 '"
	tmux -L "$tm" send-keys x
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '\[3:ports\]'"
	stop_pid "$pid"
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '^lab: gone: no instance .lab. is running'"
	start lab --duration 30
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '^edp-top - lab, pid $pid, '"
	tmux -L "$tm" send-keys q
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '^edp-top exited 0'"
}

@test "without a terminal and without -b: one line saying so, exit 2, no screen" {
	start lab --duration 30
	run bash -c "'$TOP' lab | head -c 100; echo \"exit \${PIPESTATUS[0]}\""
	assert_output "edp-top: standard output is not a terminal; use -b
exit 2"
	# a pseudo-terminal with TERM unset or unknown
	run script -qec "env -u TERM '$TOP' lab" /dev/null
	assert_failure 2
	assert_output --partial "edp-top: TERM is not set: no terminal to draw on; use -b"
	run script -qec "TERM=no-such-term '$TOP' lab" /dev/null
	assert_failure 2
	assert_output --partial "edp-top: terminal type 'no-such-term' is unknown (TERM); use -b"
	# -b needs none
	run bash -c "'$TOP' -b -n 1 lab | head -1"
	assert_success
	assert_output --partial "lab, pid $pid"
}

@test "--help and --version" {
	run "$TOP" --help
	assert_success
	assert_line --index 0 "Usage: edp-top [OPTION]... [NAME]"
	run "$TOP" --version
	assert_success
	assert_output "edp-top $(cat "$BATS_TEST_DIRNAME/../../VERSION")"
	run "$TOP" --bogus
	assert_failure 2
}

@test "the terminal: with several instances and no name, a list to choose from" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	start alpha --duration 30
	start beta --duration 30
	second=$pid
	tmux_server edp-top-$$
	tmux -L "$tm" new-session -d -x 80 -y 24 "EDP_RUNDIR='$EDP_RUNDIR' '$TOP' -d 0.2; echo edp-top exited \$?; sleep 5"
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q 'several edp-run instances are running'"
	tmux -L "$tm" capture-pane -p >p1
	grep -qE '^  alpha *$' p1
	grep -qE '^  beta *$' p1
	tmux -L "$tm" send-keys Down Enter
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '^edp-top - beta, pid $second, '"
	tmux -L "$tm" send-keys q
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '^edp-top exited 0'"
}

@test "the terminal: colours by load, none with --no-color or NO_COLOR" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	start lab --duration 30
	n=0
	for how in "" "--no-color" "NO_COLOR=1"; do
		env=${how#--no-color}
		opt=${how%NO_COLOR=1}
		tmux_server edp-top-$$-$((n++)) # a server of its own: a new one on the socket just killed may find it still going
		tmux -L "$tm" new-session -d -x 100 -y 24 "TERM=xterm-256color EDP_RUNDIR='$EDP_RUNDIR' $env '$TOP' $opt -d 0.2 lab"
		wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '^  1 '"
		sleep 0.5
		tmux -L "$tm" capture-pane -p -e >"screen$how"
		tmux -L "$tm" kill-server
		if [ -z "$how" ]; then
			grep -qE $'\e\\[3[123]m' "screen$how" # green, yellow or red rows
		else
			! grep -qE $'\e\\[3[1-7]m' "screen$how"
		fi
	done
}
