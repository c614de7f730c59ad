#!/usr/bin/env bats
# The control socket of a running edp-run: edp-run ctl and its commands, the
# socket's life, and clients that misbehave.
load helper
bats_require_minimum_version 1.5.0

# lab NAME ARG...: a long run of NAME on a small capture, in the background
lab() {
	[ -e in.pcap ] || "$GEN" flows=20,packets=2000,seed=7 in.pcap
	start_run "$@" --loop 0 -r in.pcap -w /dev/null -q
}

@test "ctl status: the instance, as lines and as JSON; version and help" {
	printf 'ports:\n  - name: uplink\n  - name: vm1\ndatapath:\n  threads: 2\n' >s.yaml
	lab lab -c s.yaml
	run "$RUN" ctl lab status
	assert_success
	assert_line --index 0 "name: lab"
	assert_line --index 1 "pid: $pid"
	assert_line --index 2 "config:"
	assert_line --index 3 "  file: s.yaml"
	assert_line --index 4 "  hash: $(fnv1a64 s.yaml)"
	assert_line --index 5 "  generation: 1"
	assert_line --index 6 "state: running"
	assert_line --index 7 --regexp '^uptime_s: [0-9]+\.[0-9]{3}$'
	assert_line --index 8 --regexp '^first_packet_ns: [0-9]+$'
	assert_line --index 9 "threads: 2"
	assert_line --index 10 "ports:"
	assert_line --index 11 "  - name: uplink, rx: in.pcap, tx: /dev/null"
	assert_line --index 12 "  - name: vm1, tx: /dev/null"
	assert_equal "${#lines[@]}" 13
	run "$RUN" ctl lab status --json
	assert_success
	echo "$output" | jq -e --argjson pid "$pid" --arg hash "$(fnv1a64 s.yaml)" '.schema == 1 and .ok == true
		and .name == "lab" and .pid == $pid and .config == {"file": "s.yaml", "hash": $hash, "generation": 1}
		and .state == "running" and .uptime_s > 0 and .threads == 2 and .first_packet_ns >= 0
		and .ports == [{"name": "uplink", "rx": "in.pcap", "tx": "/dev/null"}, {"name": "vm1", "rx": null, "tx": "/dev/null"}]'
	run "$RUN" ctl lab version --json
	assert_success
	assert_output "{\"schema\":1,\"ok\":true,\"version\":\"$(cat "$BATS_TEST_DIRNAME/../../VERSION")\",\"protocol\":1}"
	run "$RUN" ctl lab help
	assert_success
	assert_output $'commands:\n  - help\n  - version\n  - status\n  - stop\n  - suspend\n  - resume\n  - rebalance\n  - reload [FILE]\n  - flows [--limit N]\n  - macs\n  - stats-clear\n  - pin PORT:QUEUE CPU\n  - unpin PORT:QUEUE\n  - save [--no-pause]\n  - migrate-copy [--first]\n  - migrate-stun MS DST\n  - migrate-commit\n  - migrate-done\n  - migrate-abort'
	# a config of the same bytes elsewhere has the same hash; other bytes another
	cp s.yaml t.yaml
	assert_equal "$(fnv1a64 t.yaml)" "$(fnv1a64 s.yaml)"
	echo "# another" >>t.yaml
	[ "$(fnv1a64 t.yaml)" != "$(fnv1a64 s.yaml)" ]
}

@test "ctl: NAME may be left out when one instance runs; bad requests exit 2, a no exits 1" {
	run "$RUN" ctl status
	assert_failure 1
	assert_output "edp-run: no edp-run instance is running"
	run "$RUN" ctl nosuch status
	assert_failure 1
	assert_output "edp-run: no instance 'nosuch' is running (no $EDP_RUNDIR/nosuch.ctl)"
	lab one
	run "$RUN" ctl status --json
	assert_success
	echo "$output" | jq -e '.name == "one"'
	run "$RUN" ctl frob
	assert_failure 2
	assert_output "edp-run: one: unknown command 'frob' (try help)"
	run "$RUN" ctl one status extra
	assert_failure 2
	assert_output "edp-run: one: usage: status"
	run --separate-stderr "$RUN" ctl one frob --json
	assert_failure 2
	assert_output '{"schema":1,"ok":false,"error":"unknown command '"'frob'"' (try help)","usage":true}'
	assert_equal "$stderr" "edp-run: one: unknown command 'frob' (try help)"
	run "$RUN" ctl
	assert_failure 2
	assert_line --index 0 "edp-run: ctl: which command? (status, stop, suspend, resume, rebalance, reload, flows, macs, stats-clear, pin, unpin, version, help)"
	run "$RUN" ctl 'Bad!' status
	assert_failure 2
	assert_line --index 0 "edp-run: ctl: instance name 'Bad!' must be 1 to 32 of a-z 0-9 _ -"
	lab two
	run "$RUN" ctl status
	assert_failure 2
	assert_line --index 0 "edp-run: 2 instances are running (one, two): name one"
}

@test "ctl stop: the run ends as on SIGTERM, its summary written, its socket gone" {
	lab lab --json=sum.json
	[ -S "$EDP_RUNDIR/lab.ctl" ]
	assert_equal "$(stat -c %a "$EDP_RUNDIR/lab.ctl")" 600
	run "$RUN" ctl lab stop --json
	assert_success
	assert_output '{"schema":1,"ok":true,"state":"stopping"}'
	wait "$pid"
	jq -e '.packets_in > 0 and .packets_in == .packets_forwarded' sum.json
	[ ! -e "$EDP_RUNDIR/lab.ctl" ]
	[ ! -e "$EDP_RUNDIR/lab.stats" ]
}

@test "a killed instance's socket is stale, and replaced by the next instance of its name" {
	lab crash
	kill -9 "$pid"
	wait "$pid" || true
	[ -S "$EDP_RUNDIR/crash.ctl" ]
	run "$RUN" ctl crash status
	assert_failure 1
	assert_output "edp-run: instance 'crash' is not running (stale socket $EDP_RUNDIR/crash.ctl)"
	lab crash
	run "$RUN" ctl crash status --json
	assert_success
	echo "$output" | jq -e --argjson pid "$pid" '.pid == $pid'
}

kill_quietly() {
	kill "$@" 2>/dev/null
	return 0
}

# asked NAME COMMAND JQ: the instance's reply to COMMAND meets JQ (for wait_for)
asked() {
	"$RUN" ctl "$1" "$2" --json | jq -e "$3"
}

# ask NAME REQUEST: the reply socat gets to one request line
ask() {
	printf '%s\n' "$2" | socat -t 5 - "UNIX-CONNECT:$EDP_RUNDIR/$1.ctl"
}

@test "hostile clients: a huge line, a NUL, silence, 200 connections; counted, and the datapath goes on" {
	lab lab
	rx0=$(rx_of lab 0)
	# several requests on one connection, answered in order
	run socat -t 5 - "UNIX-CONNECT:$EDP_RUNDIR/lab.ctl" <<<$'version\n\nhelp'
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_line --index 1 '{"schema":1,"ok":false,"error":"an empty request (try help)","usage":true}'
	# a line without its end: refused once 4096 bytes are in, the connection
	# closed (a megabyte of it too: socat's write then meets the closed socket)
	run bash -c "head -c 4096 /dev/zero | tr '\\0' x | socat -t 5 - 'UNIX-CONNECT:$EDP_RUNDIR/lab.ctl' 2>/dev/null"
	assert_output '{"schema":1,"ok":false,"error":"a request longer than 4095 bytes"}'
	run bash -c "head -c 1000000 /dev/zero | socat -t 5 - 'UNIX-CONNECT:$EDP_RUNDIR/lab.ctl' 2>/dev/null"
	run bash -c "printf 'status\\0x\\nversion\\n' | socat -t 5 - 'UNIX-CONNECT:$EDP_RUNDIR/lab.ctl' 2>/dev/null"
	assert_output '{"schema":1,"ok":false,"error":"a request with a NUL byte"}'
	# 200 connections at once that say nothing: 16 are served (and time out
	# after 5 s), the others are told the server is busy
	"$ATTACK" --silent "$EDP_RUNDIR/lab.ctl" 200 8 >siege.txt &
	local siege=$!
	when_finished kill_quietly "$siege"
	sleep 1
	# the datapath is not held up, and a request after the siege is answered
	assert_gt "$(rx_of lab 0)" "$rx0"
	wait "$siege"
	assert_equal "$(sort siege.txt | uniq -c | sed 's/^ *//')" \
		'184 {"schema":1,"ok":false,"error":"busy: 16 connections are open already"}
16 {"schema":1,"ok":false,"error":"timed out waiting for a request"}'
	run ask lab version
	assert_output --partial '"ok":true'
	"$RUN" --stats lab --json | jq -e '.control == {"requests": 4, "refused_peer": 0, "refused_busy": 184,
		"refused_long": 3, "timed_out": 16, "unread": 0}'
}

@test "ctl suspend and resume: no packet taken while suspended, none lost; the state shows everywhere" {
	"$GEN" flows=50,packets=3000,size=64-1500,proto=mix,seed=21 in.pcap
	for t in 0 2; do
		start_run lab -t "$t" --ordered -r in=vport -w "out$t.pcap" --json="out$t.json" -q
		wait_for test -e "$EDP_RUNDIR/lab.in.vport"
		run "$RUN" ctl lab suspend --json
		assert_output '{"schema":1,"ok":true,"state":"suspended","changed":true}'
		run "$RUN" ctl lab suspend --json # again: no error, nothing changed
		assert_output '{"schema":1,"ok":true,"state":"suspended","changed":false}'
		"$REPLAY" -T in.pcap --to lab:in -q # into the ring, which queues them
		sleep 0.5
		assert_equal "$(rx_of lab 0)" 0
		"$RUN" --stats lab --json | jq -e '.suspended == true and .running == true'
		"$RUN" ctl lab status --json | jq -e '.state == "suspended"'
		run "$EDP_BUILD/edp-top" -b -n 1 lab
		assert_line --index 0 --regexp "^edp-top - lab, pid $pid, up [0-9.]+ s, [12] threads?, suspended$"
		"$EDP_BUILD/edp-top" -b --json -n 1 lab | jq -e '.status == "suspended"'
		run "$RUN" ctl lab resume --json
		assert_output '{"schema":1,"ok":true,"state":"running","changed":true}'
		wait_rx lab 0 -eq 3000
		"$RUN" --stats lab --json | jq -e '.suspended == false'
		stop_pid "$pid"
		jq -e '.packets_in == 3000 and .packets_forwarded == 3000 and .suspends == 1 and .suspended_s >= 0.5' "out$t.json"
		same_packets "out$t.pcap" in.pcap
	done
}

# fw_config FILE PROTO ETHERTYPE: a vport-fed instance's config whose
# firewall drops PROTO (udp, tcp) and ETHERTYPE (ipv4, ipv6)
fw_config() {
	printf 'ports:\n  - name: in\n    rx: vport\n  - name: out\n    tx: out.pcap\npipeline:\n  firewall:\n    default: allow\n    rules:\n      - { priority: 100, proto: %s, action: drop }\n      - { priority: 90, ethertype: %s, action: drop }\n' "$2" "$3" >"$1"
}

@test "ctl reload: the next packets meet the new firewall, byte for byte; errors keep the old one" {
	"$GEN" flows=100,packets=2000,proto=mix,v6=0.2,seed=5 in.pcap
	tcpdump -r in.pcap -w a.pcap 'not udp and not ip6' 2>/dev/null
	tcpdump -r in.pcap -w b.pcap 'not tcp and not ip6' 2>/dev/null
	na=$(count a.pcap) nb=$(count b.pcap)
	assert_gt "$na" 0
	assert_gt "$nb" 0
	fw_config a.yaml udp ipv6
	fw_config b.yaml tcp ipv6
	for t in 0 2; do
		start_run lab -c a.yaml -t "$t" --ordered --json=sum.json -q
		wait_for test -e "$EDP_RUNDIR/lab.in.vport"
		"$REPLAY" -T in.pcap --to lab:in -q
		wait_tx lab 1 -eq "$na"
		run "$RUN" ctl lab reload b.yaml
		assert_success
		assert_output "config:
  file: $PWD/b.yaml
  hash: $(fnv1a64 b.yaml)
  generation: 2"
		"$REPLAY" -T in.pcap --to lab:in -q
		wait_tx lab 1 -eq $((na + nb))
		"$RUN" ctl lab status --json | jq -e --arg f "$PWD/b.yaml" '.config.file == $f and .config.generation == 2'
		"$RUN" --stats lab --json | jq -e '.config_generation == 2'
		# a config that does not load: exit 2, its file:line:col, the old one runs on
		printf 'ports:\n  - name: in\n    rx: vport\n  - name: out\n    tx: out.pcap\npipeline:\n  firewall:\n    default: maybe\n' >bad.yaml
		run "$RUN" ctl lab reload bad.yaml
		assert_failure 2
		assert_output "edp-run: lab: $PWD/bad.yaml:8:14: firewall default must be allow or drop, not 'maybe'"
		run --separate-stderr "$RUN" ctl lab reload nosuch.yaml --json
		assert_failure 2
		echo "$output" | jq -e '.ok == false and .usage == true and (.error | startswith("'"$PWD"'/nosuch.yaml: "))'
		[ -p fifo ] || mkfifo fifo # would hold the control thread until someone wrote to it
		run "$RUN" ctl lab reload fifo
		assert_failure 2
		assert_output "edp-run: lab: $PWD/fifo: not a regular file"
		# what cannot change live: refused (exit 1), the old one runs on
		sed 's/tx: out.pcap/tx: other.pcap/' b.yaml >c.yaml
		run "$RUN" ctl lab reload c.yaml
		assert_failure 1
		assert_output "edp-run: lab: not reloaded: port out: tx 'out.pcap' -> '$PWD/other.pcap' cannot change while the instance runs (restart it to change that)"
		for key in "min-gain: 0.1" "sustain-intervals: 5" "verify-intervals: 2" "backoff-intervals: 9" "shift: 0.5"; do
			{ cat b.yaml; printf 'tlb:\n  %s\n' "$key"; } >d.yaml
			run "$RUN" ctl lab reload d.yaml
			assert_failure 1
			assert_output "edp-run: lab: not reloaded: tlb: the balancer's settings cannot change while the instance runs (restart it to change that)"
		done
		printf 'datapath:\n  rx-queues: 4\n' >>b.yaml # (a -t on the command line would be kept)
		run "$RUN" ctl lab reload b.yaml
		assert_failure 1
		assert_output "edp-run: lab: not reloaded: datapath: rx-queues 0 -> 4 cannot change while the instance runs (restart it to change that)"
		fw_config b.yaml tcp ipv6
		{ cat b.yaml; printf 'datapath:\n  parallel: flows\n'; } >e.yaml
		run "$RUN" ctl lab reload e.yaml
		assert_failure 1
		assert_output "edp-run: lab: not reloaded: datapath: parallel auto -> flows cannot change while the instance runs (restart it to change that)"
		fw_config b.yaml tcp ipv6
		"$RUN" ctl lab status --json | jq -e '.config.generation == 2'
		stop_pid "$pid"
		{ cat a.pcap; body b.pcap; } >ab.pcap
		same_packets out.pcap ab.pcap
		jq -e --argjson n "$((na + nb))" '.packets_in == 4000 and .packets_forwarded == $n
			and .drops.firewall == 4000 - $n' sum.json
	done
}

@test "ctl reload under traffic: 100 reloads, every packet forwarded by one of the two configs, none lost" {
	# a forwards TCP over IPv4 only, b UDP over IPv6 only: a packet judged
	# by anything else (a half-built config, a mix of the two, none) shows
	fw_config a.yaml udp ipv6
	fw_config b.yaml tcp ipv4
	printf 'ports: [ { name: in, rx: vport } ]\n' >bad.yaml
	start_run lab -c a.yaml -t 2 --json=sum.json -q
	wait_for test -e "$EDP_RUNDIR/lab.in.vport"
	"$REPLAY" --synth flows=200,packets=1000000,proto=mix,v6=0.5,seed=3 --pps 20000 --to lab:in -q --json=sent.json &
	replay=$!
	when_finished stop_pid "$replay"
	wait_rx lab 0 -gt 1000
	for i in $(seq 100); do
		if ((i == 50)); then # a bad config mid-way: refused, the one running stays
			run "$RUN" ctl lab reload bad.yaml
			assert_failure 1
			assert_output --partial "not reloaded: ports: 2 ports -> 1"
		fi
		if ((i % 10 == 0)); then # SIGHUP: the running config's file again
			kill -HUP "$pid"
		else
			"$RUN" ctl lab reload "$([ $((i % 2)) = 1 ] && echo b || echo a).yaml" >/dev/null
		fi
	done
	wait_for asked lab status '.config.generation == 101'
	stop_pid "$replay"
	jq -e ".failed == 0 and .dropped == 0" sent.json
	sent=$(jq .packets sent.json)
	assert_gt "$sent" 10000
	wait_rx lab 0 -eq "$sent"
	stop_pid "$pid"
	jq -e --argjson n "$sent" '.packets_in == $n and .packets_in == .packets_forwarded + .packets_dropped
		and .drops.firewall == .packets_dropped' sum.json
	assert_equal "$(count out.pcap)" "$(jq .packets_forwarded sum.json)"
	assert_equal "$(tcpdump -r out.pcap -w - 'not ((tcp and ip) or (udp and ip6))' 2>/dev/null | count -)" 0
	assert_gt "$(tcpdump -r out.pcap -w - 'tcp and ip' 2>/dev/null | count -)" 1000
	assert_gt "$(tcpdump -r out.pcap -w - 'udp and ip6' 2>/dev/null | count -)" 1000
}

# five_tuples: "src dst proto sport dport" of each IPv4 TCP/UDP flow in a
# capture, as tshark reads it, sorted and unique
five_tuples() {
	tshark -r "$1" -T fields -e ip.src -e ip.dst -e ip.proto -e tcp.srcport -e tcp.dstport -e udp.srcport \
		-e udp.dstport 2>/dev/null | awk '{ print $1, $2, $3, $4, $5 }' | sort -u
}

@test "ctl flows: each thread's cache, as tshark reads the flows, with verdicts and hits; a reload empties it" {
	"$GEN" flows=30,packets=600,proto=mix,seed=9 in.pcap
	fw_config a.yaml udp ipv6
	fw_config b.yaml tcp ipv6
	start_run lab -c a.yaml -t 2 -q
	wait_for test -e "$EDP_RUNDIR/lab.in.vport"
	"$REPLAY" -T in.pcap --to lab:in -q
	# every packet was one miss (its flow's entry) or one hit
	wait_for asked lab flows '([.flows[].hits] | add) + (.flows | length) == 600'
	"$RUN" ctl lab flows --json >f.json
	jq -e '.generation == 1 and .shown == (.flows | length) and .truncated == false' f.json
	jq -r '.flows[] | "\(.src) \(.dst) \(.proto) \(.src_port) \(.dst_port)"' f.json | sort -u >got.txt
	five_tuples in.pcap >want.txt
	assert_equal "$(wc -l <want.txt)" 30
	diff -u want.txt got.txt
	jq -e '[.flows[] | select(.proto == 17) | .actions] | unique == ["drop(firewall)"]' f.json
	jq -e '[.flows[] | select(.proto == 6) | .actions] | unique == ["out(out)"]' f.json
	jq -e '[.flows[] | .in_port == "in" and .eth_type == "0x0800" and .vlan == null and .age_s >= 0] | all' f.json
	# a limit: so many, and it says more were there
	run "$RUN" ctl lab flows --limit 4 --json
	echo "$output" | jq -e '.shown == 4 and (.flows | length) == 4 and .truncated == true'
	run "$RUN" ctl lab flows --limit 30 --json
	echo "$output" | jq -e '.shown == 30 and .truncated == false'
	run "$RUN" ctl lab flows --limit 0
	assert_failure 2
	assert_output "edp-run: lab: usage: flows [--limit N] (N: 1 or more)"
	# one line a flow, the nulls left out
	run "$RUN" ctl lab flows --limit 1
	assert_line --index 4 --regexp '^  - thread: [01], in_port: in, eth_src: 02:01:00:00:00:[0-9a-f]{2}, eth_dst: 02:00:00:00:00:fe, eth_type: 0x0800, src: 10\.0\.0\.[0-9]+, dst: [0-9.]+, proto: (6|17), src_port: [0-9]+, dst_port: [0-9]+, actions: (out\(out\)|drop\(firewall\)), hits: [0-9]+, age_s: [0-9.]+$'
	# a reload: the old verdicts are gone; the same packets meet the new ones
	"$RUN" ctl lab reload b.yaml >/dev/null
	"$RUN" ctl lab flows --json | jq -e '.generation == 2 and .shown == 0'
	"$REPLAY" -T in.pcap --to lab:in -q
	wait_for asked lab flows '([.flows[].hits] | add) + (.flows | length) == 600'
	"$RUN" ctl lab flows --json >f.json
	jq -e '[.flows[] | select(.proto == 6) | .actions] | unique == ["drop(firewall)"]' f.json
	jq -e '[.flows[] | select(.proto == 17) | .actions] | unique == ["out(out)"]' f.json
}

@test "ctl macs: the switch's table, as tshark reads the sources; no switch, no table" {
	"$GEN" flows=40,packets=400,seed=4 in.pcap
	printf 'ports:\n  - { name: in, rx: vport, tx: o1.pcap }\n  - { name: out, tx: o2.pcap }\npipeline:\n  switch: { ageing-s: 60 }\n' >sw.yaml
	start_run lab -c sw.yaml -t 2 -q
	wait_for test -e "$EDP_RUNDIR/lab.in.vport"
	"$REPLAY" -T in.pcap --to lab:in -q
	tshark -r in.pcap -T fields -e eth.src 2>/dev/null | sort -u >want.txt
	assert_equal "$(wc -l <want.txt)" 40
	wait_for asked lab macs '.entries == 40'
	"$RUN" ctl lab macs --json >m.json
	jq -r '.macs[].mac' m.json | sort >got.txt
	diff -u want.txt got.txt
	jq -e '.capacity >= 40 and .ageing_s == 60 and ([.macs[] | .port == "in" and .vlan == 0 and .age_s >= 0] | all)' m.json
	run "$RUN" ctl lab macs
	assert_line --index 4 --regexp '^  - mac: 02:01:00:00:00:[0-9a-f]{2}, vlan: 0, port: in, age_s: [0-9.]+$'
	# a reload keeps what the switch learned, under the new ageing time
	sed -i 's/ageing-s: 60/ageing-s: 120/' sw.yaml
	"$RUN" ctl lab reload sw.yaml >/dev/null
	"$RUN" ctl lab macs --json >m2.json
	jq -e '.entries == 40 and .ageing_s == 120' m2.json
	diff -u got.txt <(jq -r '.macs[].mac' m2.json | sort)
	lab wire
	run "$RUN" ctl wire macs
	assert_failure 1
	assert_output "edp-run: wire: no switch: the config has no pipeline.switch"
}

@test "ctl stats-clear: live counters from zero, for every reader; the summary counts the whole run and says so" {
	"$GEN" flows=20,packets=500,seed=6 in.pcap
	"$GEN" flows=20,packets=300,seed=7 more.pcap
	start_run lab -t 2 -r in=vport -w out.pcap --json=sum.json 2>run.err
	wait_for test -e "$EDP_RUNDIR/lab.in.vport"
	"$REPLAY" -T in.pcap --to lab:in -q
	wait_tx lab 1 -eq 500
	run "$RUN" ctl lab stats-clear --json
	assert_success
	assert_output '{"schema":1,"ok":true,"stats_clears":1}'
	"$RUN" --stats lab --json | jq -e '.stats_clears == 1 and .stats_cleared_ns > 0
		and ([.threads[] | .packets, .bytes, .forwarded, .batches, .flow_cache.hits, .flow_cache.misses] | add) == 0
		and ([.queues[].packets] | add) == 0
		and ([.ports[] | .rx_packets, .rx_bytes, .tx_packets, .tx_bytes, .drops] | add) == 0'
	run "$RUN" --stats lab
	assert_line --index 1 --regexp '^  counters since they were cleared [0-9.]+ s ago \(1 time\)$'
	"$EDP_BUILD/edp-top" -b --json -n 1 lab | jq -e '[.threads[].packets] | add == 0'
	# what comes after counts from there
	"$REPLAY" -T more.pcap --to lab:in -q
	wait_tx lab 1 -eq 300
	"$RUN" --stats lab --json | jq -e '.ports[0].rx_packets == 300 and ([.threads[].packets] | add) == 300
		and ([.queues[].packets] | add) == 300'
	run "$RUN" ctl lab stats-clear
	assert_output "stats_clears: 2"
	stop_pid "$pid"
	jq -e '.packets_in == 800 and .packets_forwarded == 800 and .stats_clears == 2 and .stats_cleared_s > 0' sum.json
	grep -E '^  live counters cleared 2 times, the last [0-9.]+ s into the run \(edp-run ctl stats-clear\); this summary counts the whole run$' run.err
}

# queue_threads NAME: the thread of each queue, as --stats says, e.g. "0 0 1 1";
# queues_on NAME THREADS: they are those (queues_not_on: they are not)
queue_threads() {
	"$RUN" --stats "$1" --json | jq -r '[.queues[].thread] | map(tostring) | join(" ")'
}
queues_on() { [ "$(queue_threads "$1")" = "$2" ]; }
queues_not_on() { [ "$(queue_threads "$1")" != "$2" ]; }

@test "ctl pin and unpin: a queue moves to the worker on a CPU and stays; the balancer may move it again once unpinned" {
	"$GEN" flows=200,packets=20000,seed=3 in.pcap
	last=$(($(nproc) - 1))
	printf 'ports:\n  - name: in\n  - name: out\ndatapath:\n  threads: 2\n  rx-queues: 4\n  cpus: [0, %s]\ntlb: { interval-ms: 100, threshold: 0.0, min-improvement: 0.01 }\n' "$last" >q.yaml
	lab lab -c q.yaml
	for q in 0 1 2 3; do
		run "$RUN" ctl lab pin "in:$q" 0 --json
		assert_success
		echo "$output" | jq -e --argjson q "$q" '.port == "in" and .port_queue == $q and .queue == $q
			and .pinned == true and .thread == 0 and .cpu == 0 and (.moved | type) == "boolean"'
	done
	wait_for queues_on lab "0 0 0 0"
	# pinned, every queue stays on thread 0 however loaded it is
	before=$("$RUN" --stats lab --json | jq .balancer.rebalances)
	sleep 1
	assert_equal "$(queue_threads lab)" "0 0 0 0"
	assert_equal "$("$RUN" --stats lab --json | jq .balancer.rebalances)" "$before"
	run "$RUN" ctl lab pin in:1 0
	assert_output --partial "moved: false"
	# unpinned, the balancer spreads them again
	for q in 0 1 2 3; do
		run "$RUN" ctl lab unpin "in:$q" --json
		assert_output '{"schema":1,"ok":true,"port":"in","port_queue":'"$q"',"queue":'"$q"',"pinned":false,"thread":null,"cpu":null,"moved":false}'
	done
	wait_for queues_not_on lab "0 0 0 0"
	# wrong requests
	run "$RUN" ctl lab pin in:4 0
	assert_failure 2
	assert_output "edp-run: lab: port in has 4 receive queues (0 to 3)"
	run "$RUN" ctl lab pin out:0 0
	assert_failure 2
	assert_output "edp-run: lab: port out reads nothing: it has no receive queues"
	run "$RUN" ctl lab pin in:0 1000
	assert_failure 2
	assert_output --regexp "^edp-run: lab: no worker thread runs on cpu 1000 \(workers run on 0, [0-9]+\)$"
	run "$RUN" ctl lab pin nosuch:0 0
	assert_output "edp-run: lab: unknown port 'nosuch'"
	run "$RUN" ctl lab pin in 0
	assert_output "edp-run: lab: 'in': expected PORT:QUEUE (e.g. in:0)"
	run "$RUN" ctl lab pin in:x 0
	assert_output "edp-run: lab: 'x': a queue is a number from 0"
	run "$RUN" ctl lab pin in:0 -1
	assert_output "edp-run: lab: '-1': a CPU is a number from 0 to 1023"
	run "$RUN" ctl lab unpin
	assert_failure 2
	assert_output "edp-run: lab: usage: unpin PORT:QUEUE"
	# one thread inline: no queues to move
	lab inline -t 0
	run "$RUN" ctl inline pin in:0 0
	assert_failure 1
	assert_output "edp-run: inline: no worker threads run: the run is inline (threads: 0)"
}

@test "SIGHUP reloads the running config's file and says so on stderr; a bad one is kept out" {
	fw_config a.yaml udp ipv6
	start_run lab -c a.yaml --json=sum.json 2>run.err
	wait_for test -e "$EDP_RUNDIR/lab.in.vport"
	"$RUN" --stats lab --json | jq -e '.config == "2 ports, 1 thread, 1 queue per port, firewall"'
	# the same file, the firewall gone
	printf 'ports:\n  - name: in\n    rx: vport\n  - name: out\n    tx: out.pcap\n' >a.yaml
	kill -HUP "$pid"
	wait_for grep -q 'SIGHUP' run.err
	assert_equal "$(grep SIGHUP run.err)" "edp-run: SIGHUP: config a.yaml reloaded: generation 2"
	asked lab status '.config.generation == 2 and .config.file == "a.yaml"'
	"$RUN" --stats lab --json | jq -e '.config == "2 ports, 1 thread, 1 queue per port" and .config_generation == 2'
	printf 'ports: [ { name: in, rx: vport } ]\n' >a.yaml
	kill -HUP "$pid"
	wait_for grep -q 'SIGHUP: the config stays' run.err
	assert_equal "$(grep SIGHUP run.err | tail -1)" \
		"edp-run: SIGHUP: the config stays as it was: not reloaded: ports: 2 ports -> 1 cannot change while the instance runs (restart it to change that)"
	asked lab status '.config.generation == 2'
}

@test "a client of another user is refused and counted (SO_PEERCRED), once the file modes let it connect" {
	[ "$(id -u)" = 0 ] || skip "needs root to connect as another user"
	command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
	# the socket is 0600 in a 0700 directory: another user cannot even
	# connect; opened up here to reach the check behind the file modes
	EDP_RUNDIR=$(mktemp -d /tmp/edp-peer.XXXXXX)
	when_finished rm -rf "$EDP_RUNDIR"
	chmod 711 "$EDP_RUNDIR"
	lab peer
	chmod 666 "$EDP_RUNDIR/peer.ctl"
	# (it reads only: the refusal comes on connecting, before any request)
	run setpriv --reuid=65534 --regid=65534 --clear-groups socat -t 5 -u "UNIX-CONNECT:$EDP_RUNDIR/peer.ctl" -
	assert_output '{"schema":1,"ok":false,"error":"permission denied: another user'"'"'s connection"}'
	"$RUN" --stats peer --json | jq -e '.control.refused_peer == 1 and .control.requests == 0'
	run "$RUN" ctl peer version --json # its owner still is served
	assert_success
}
