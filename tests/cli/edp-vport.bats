#!/usr/bin/env bats
# Virtual ports and live interfaces: edp-run fed by edp-replay through a
# shared-memory ring, and edp-run on both ends of a veth pair.
load helper

# consumer NAME THREADS OUT [ARGS...]: edp-run NAME reading port "in" from its vport
consumer() {
	local name=$1 threads=$2 out=$3
	shift 3
	start_run "$name" -t "$threads" -r in=vport -w "$out" --json="$out.json" -q "$@"
	wait_for test -e "$EDP_RUNDIR/$name.in.vport"
}

@test "vport: a replay into a running edp-run arrives whole, in order, with its timestamps (-t 0, 1, 2)" {
	"$GEN" flows=300,packets=30000,size=64-1500,proto=mix,v6=0.2,seed=71 in.pcap
	for t in 0 1 2; do
		consumer lab "$t" out$t.pcap --ordered
		run "$REPLAY" -T in.pcap --to lab:in -q --json
		assert_success
		echo "$output" | jq -e '.packets == 30000 and .failed == 0 and .dropped == 0'
		wait_rx lab 0 -eq 30000
		stop_pid "$pid"
		jq -e '.packets_in == 30000 and .packets_forwarded == 30000 and .ports[0].vport_queued == 0' out$t.pcap.json
		same_packets out$t.pcap in.pcap
		[ ! -e "$EDP_RUNDIR/lab.in.vport" ] # empty and unattached: removed
	done
}

@test "vport: the ring survives a consumer restart; nothing queued is lost or reordered" {
	"$GEN" flows=50,packets=20000,size=64-1500,seed=72 in.pcap
	consumer lab 1 a.pcap
	"$REPLAY" --pps 10000 in.pcap --to lab:in --json=rep.json &
	rep=$!
	wait_rx lab 0 -gt 3000
	stop_pid "$pid"
	[ -e "$EDP_RUNDIR/lab.in.vport" ] # the producer is still attached
	sleep 0.3 # the producer queues with nobody reading
	consumer lab 2 b.pcap --ordered
	wait "$rep"
	jq -e '.packets == 20000 and .failed == 0' rep.json
	wait_rx lab 0 -eq "$((20000 - $(jq .packets_in a.pcap.json)))"
	stop_pid "$pid"
	assert_equal "$(( $(jq .packets_in a.pcap.json) + $(jq .packets_in b.pcap.json) ))" 20000
	(packets a.pcap; packets b.pcap) >ab.txt
	packets in.pcap >in.txt
	diff -u ab.txt in.txt
}

@test "vport: a full ring makes the producer wait; --drop-when-full drops and counts instead" {
	"$GEN" flows=10,packets=20000,size=1500,seed=73 in.pcap # 30 MB: more than the 16 MiB ring
	consumer lab 1 out.pcap
	kill -STOP "$pid"
	"$REPLAY" -T in.pcap --to lab:in --json=wait.json &
	rep=$!
	sleep 1
	kill -0 "$rep" # still waiting for room
	kill -CONT "$pid"
	wait "$rep"
	jq -e '.packets == 20000 and .retried > 0 and .dropped == 0' wait.json
	wait_rx lab 0 -eq 20000
	kill -STOP "$pid"
	run "$REPLAY" -T in.pcap --to lab:in --drop-when-full -q --json
	assert_success
	echo "$output" >drop.json
	jq -e '.dropped > 0 and .packets + .dropped == 20000 and .packets < 20000' drop.json
	kill -CONT "$pid"
	wait_rx lab 0 -eq "$((20000 + $(jq .packets drop.json)))"
	stop_pid "$pid"
	jq -e --argjson n "$((20000 + $(jq .packets drop.json)))" '.packets_in == $n and .packets_forwarded == $n' out.pcap.json
}

@test "vport: a config may mix a capture and a vport; --duration ends a live run" {
	"$GEN" flows=20,packets=1000,seed=74 a.pcap
	"$GEN" flows=20,packets=2000,seed=75 b.pcap
	printf 'ports:\n  - { name: in, rx: vport }\n  - { name: file, rx: a.pcap }\n  - { name: out, tx: out.pcap }\n' >mix.yaml
	start_run mix -c mix.yaml --duration 5 --json=mix.json -q
	run "$REPLAY" -T b.pcap --to mix:in -q
	assert_success
	wait "$pid" # --duration, no signal
	jq -e '.packets_in == 3000 and .packets_forwarded == 3000 and .ports[0].rx_packets == 2000
		and .ports[1].rx_packets == 1000 and .ports[2].tx_packets == 3000' mix.json
	assert_equal "$(count out.pcap)" 3000
}

@test "vport errors: no such instance, bad --to, one producer and one consumer at a time, tx: vport" {
	run "$REPLAY" -T --synth packets=10 --to nosuch:in
	assert_failure 1
	assert_output "edp-replay: no vport nosuch:in (no $EDP_RUNDIR/nosuch.in.vport): start edp-run --name nosuch with port in on rx: vport"
	run "$REPLAY" -T --synth packets=10 --to lab
	assert_failure 2
	assert_line --index 0 "edp-replay: --to: expected NAME:PORT (an edp-run instance and its vport), not 'lab'"
	run "$REPLAY" -T --synth packets=10 --to lab:in -w x.pcap
	assert_failure 2
	assert_line --index 0 "edp-replay: give one of -w FILE, -i IFACE and --to NAME:PORT"
	run "$REPLAY" -T --synth packets=10 --drop-when-full -w x.pcap
	assert_failure 2
	assert_line --index 0 "edp-replay: --drop-when-full: only goes with --to NAME:PORT"
	run "$REPLAY" -T live:eth0 -w x.pcap
	assert_failure 2
	assert_line --index 0 "edp-replay: live:eth0: replays captures, not interfaces (a file of that name: ./live:eth0)"
	consumer lab 0 out.pcap
	run "$RUN" --name other -r in=vport -w /dev/null --duration 0.5 # another name: its own ring
	assert_success
	run "$RUN" --name lab -r in=vport -w /dev/null
	assert_failure 1
	assert_output "edp-run: vport lab:in is in use by another edp-run ($EDP_RUNDIR/lab.in.vport)"
	"$REPLAY" --pps 100 --synth packets=1000 --to lab:in -q &
	rep=$!
	wait_rx lab 0 -gt 0
	run "$REPLAY" -T --synth packets=10 --to lab:in
	assert_failure 1
	assert_output "edp-replay: vport lab:in already has a producer"
	kill -INT "$rep"
	wait "$rep"
	stop_pid "$pid"
	printf 'ports:\n  - { name: in, rx: vport }\n  - { name: out, tx: vport }\n' >bad.yaml
	run "$RUN" -c bad.yaml
	assert_failure 2
	assert_output "edp-run: bad.yaml:3:22: tx: 'vport' is an input only (edp-replay --to NAME:PORT feeds it)"
	run "$RUN" -r in.pcap -w out=vport
	assert_failure 2
	assert_output "edp-run: port out: tx 'vport' is an input only (edp-replay --to NAME:PORT feeds it)"
	printf 'ports:\n  - { name: in, rx: "live:" }\n' >bad.yaml
	run "$RUN" -c bad.yaml
	assert_failure 2
	assert_output "edp-run: bad.yaml:2:21: rx: 'live:' names no interface (expected live:IFACE)"
}

@test "live interfaces: edp-run reads what edp-replay sends on a veth pair (VLAN tags kept), and sends on one" {
	netns_up
	# untagged frames, then tagged ones: the receiving veth strips a tag
	# into the frame's metadata, and the reader puts it back
	"$GEN" flows=20,packets=2000,size=64-1000,proto=mix,seed=12 plain.pcap
	"$GEN" flows=20,packets=1000,size=64-1000,proto=mix,vlan=100,seed=13 tagged.pcap
	mergecap -a -F pcap -w want.pcap plain.pcap tagged.pcap
	assert_equal "$(tcpdump -nr want.pcap vlan 100 2>/dev/null | wc -l)" 1000
	ip netns exec "$ns" "$RUN" --name live -r in=live:veth1 -w got.pcap --json=got.json -q 3>&- &
	pid=$!
	when_finished stop_pid "$pid"
	wait_for "$RUN" --stats live
	run ip netns exec "$ns" "$REPLAY" -q --pps 20000 want.pcap -i veth0
	assert_success
	wait_rx live 0 -eq 3000
	# the ring it reads through, and the kernel's drops, while it runs
	"$RUN" --stats live --json | jq -e '.ports[0].socket == "af_packet" and .ports[0].kernel_drops == 0
		and .ports[0].ring_bytes == 67108864
		and .ports[0].ring_frames >= 900 and (.ports[1] | has("ring_frames") | not)'
	run "$RUN" --stats live
	assert_line --regexp '^  port in: an interface read through AF_PACKET, [0-9]+ ring frames \(64\.0 MiB\); 0 dropped by the kernel \(a full ring\)$'
	stop_pid "$pid"
	jq -e '.packets_in == 3000 and .ports[0].kernel_drops == 0 and .ports[0].ring_frames >= 900' got.json
	packets got.pcap | cut -d' ' -f2- >got.txt # arrival times, not the sender's
	packets want.pcap | cut -d' ' -f2- >want.txt
	diff -u got.txt want.txt
	# and the other way: edp-run writes to the interface
	ip netns exec "$ns" tcpdump -i veth1 --immediate-mode -U -n -s 2048 -B 65536 -w sent.pcap 2>tcpdump.err 3>&- &
	cap=$!
	when_finished stop_pid "$cap"
	wait_for grep -q "listening on veth1" tcpdump.err
	# paced through a pipe (and tcpdump with frames of 2 KiB, not its default
	# 256 KiB, so that its ring holds thousands and drops none)
	run ip netns exec "$ns" bash -c "'$REPLAY' --pps 20000 want.pcap | '$RUN' -r - -w live:veth0 -q"
	assert_success
	sleep 0.5
	kill -TERM "$cap"
	wait "$cap" || true
	packets sent.pcap | cut -d' ' -f2- >sent.txt
	diff -u sent.txt want.txt
	run "$RUN" -r live:nosuch0 -w x.pcap
	assert_failure 1
	assert_output "edp-run: nosuch0: cannot open for capture: no such interface"
	ip netns exec "$ns" ip link set veth1 down
	run ip netns exec "$ns" "$RUN" -r live:veth1 -w x.pcap
	assert_failure 1
	assert_output "edp-run: veth1: cannot open for capture: the interface is down"
}

@test "live interfaces: a burst at the pair's top speed arrives whole and in order with 1 and 2 threads" {
	netns_up
	"$GEN" flows=1000,packets=100000,size=64,seed=14 want.pcap
	packets want.pcap | cut -d' ' -f2- >want.txt
	for t in 1 2; do
		ip netns exec "$ns" "$RUN" --name live -t "$t" --ordered -r in=live:veth1 -w got.pcap --json=got.json -q 3>&- &
		pid=$!
		when_finished stop_pid "$pid"
		wait_for "$RUN" --stats live
		# as fast as the pair takes them (0.3-0.6 Mpps here): -t 2 lost
		# 34% of them when libpcap's ring had 256 frames of 256 KiB
		ip netns exec "$ns" "$REPLAY" -q --preload want.pcap -i veth0
		wait_rx live 0 -eq 100000
		stop_pid "$pid"
		jq -e '.packets_in == 100000 and .ports[0].kernel_drops == 0' got.json
		packets got.pcap | cut -d' ' -f2- >got.txt
		diff -q got.txt want.txt
		# frames of the interface's MTU and a link header with two VLAN tags
		assert_equal "$(od -An -tu4 -j16 -N4 got.pcap | tr -d ' ')" 1522
	done
	# an MTU of 9000, and GRO on: frames of 64 KiB, read whole
	ip netns exec "$ns" ip link set veth1 mtu 9000
	ip netns exec "$ns" timeout 5 "$RUN" -r live:veth1 -w got.pcap -q --duration 0.2
	assert_equal "$(od -An -tu4 -j16 -N4 got.pcap | tr -d ' ')" 9022
	ip netns exec "$ns" ethtool -K veth1 gro on
	ip netns exec "$ns" timeout 5 "$RUN" -r live:veth1 -w got.pcap -q --duration 0.2
	assert_equal "$(od -An -tu4 -j16 -N4 got.pcap | tr -d ' ')" 65600
}

# flow_ids CAPTURE: "FLOW ID" a line, each IPv4 frame's 5-tuple and its IP ID
# (edp-gen numbers its packets there), in the capture's order
flow_ids() {
	tshark -r "$1" -Y ip -T fields -e ip.src -e ip.dst -e ip.proto -e udp.srcport -e udp.dstport \
		-e tcp.srcport -e tcp.dstport -e ip.id 2>/dev/null | awk '{ id = $NF; $NF = ""; print $0 "|" id }'
}

# per_flow FLOW_IDS: each flow and its frames' IDs in the order they came
per_flow() {
	awk -F'|' '{ seq[$1] = seq[$1] " " $2 } END { for (f in seq) print f ":" seq[f] }' "$1" | sort
}

@test "live interfaces: two threads without a reader, each its own socket in a fanout group; a flow stays in order" {
	netns_up
	# 60,000 frames: fewer than 65,536, so every IP ID is one frame
	"$GEN" flows=1000,packets=60000,size=64,seed=15 want.pcap
	ip netns exec "$ns" "$RUN" --name fan -t 2 -r in=live:veth1 -w got.pcap --json=got.json 2>err.txt 3>&- &
	pid=$!
	when_finished stop_pid "$pid"
	wait_for grep -q "fanout: 2 workers" err.txt # its sockets joined: flows in order from here on
	ip netns exec "$ns" "$REPLAY" -q --preload want.pcap -i veth0
	wait_rx fan 0 -eq 60000
	"$RUN" --stats fan --json >stats.json
	# nothing to move, and the operator is told why
	run "$RUN" ctl fan rebalance
	assert_failure 1
	assert_output "edp-run: fan: no balancer: the workers read sockets of a fanout group, which the kernel's hash feeds"
	run "$RUN" ctl fan pin in:0 0
	assert_failure 1
	assert_output "edp-run: fan: no queue moves: the workers read sockets of a fanout group, which the kernel's hash feeds"
	stop_pid "$pid"
	assert_equal "$(head -1 err.txt)" "edp-run: fanout: 2 workers, each with its own socket on every interface (PACKET_FANOUT hash: a flow stays on one); the balancer does not move these queues"
	jq -e '.packets_in == 60000 and .packets_forwarded == 60000 and .ports[0].kernel_drops == 0
		and .ports[0].rx_packets == 60000' got.json
	# a queue a worker, fixed, and the kernel gave each some of the flows
	jq -e '[.queues[] | [.queue, .thread]] == [[0, 0], [1, 1]] and all(.queues[]; .packets > 10000)
		and ([.queues[].packets] | add) == 60000' stats.json
	# the same frames; each flow's in the order sent
	flow_ids want.pcap >want.txt
	flow_ids got.pcap >got.txt
	assert_equal "$(wc -l <got.txt)" 60000
	diff -q <(sort want.txt) <(sort got.txt)
	diff -q <(per_flow want.txt) <(per_flow got.txt)
	# started while frames arrive: a worker's socket takes every frame until
	# it joins the group, and those copies are passed over: none twice, and
	# none lost (the group gives a joining socket nothing until all joined):
	# every frame from the first one read on
	ip netns exec "$ns" "$REPLAY" -q --preload --pps 30000 want.pcap -i veth0 &
	rpid=$!
	when_finished stop_pid "$rpid"
	sleep 0.3
	ip netns exec "$ns" "$RUN" --name fan -t 2 -r in=live:veth1 -w got.pcap --json=got.json -q 3>&- &
	pid=$!
	when_finished stop_pid "$pid"
	wait "$rpid"
	sleep 0.3
	stop_pid "$pid"
	flow_ids got.pcap >got.txt
	n=$(wc -l <got.txt)
	[ "$n" -gt 30000 ] && [ "$n" -lt 60000 ]
	assert_equal "$(sort got.txt | uniq -d | wc -l)" 0
	cut -d'|' -f2 got.txt | sort -n >ids.txt
	assert_equal "$(tail -1 ids.txt)" "$(cut -d'|' -f2 want.txt | sort -n | tail -1)"
	assert_equal "$n" "$(($(tail -1 ids.txt) - $(head -1 ids.txt) + 1))"
	jq -e --argjson n "$n" '.packets_in == $n and .ports[0].kernel_drops == 0' got.json
	# suspended: neither worker takes a frame; resumed: every one, from the
	# sockets' rings
	"$GEN" flows=1000,packets=1000,size=64,seed=16 more.pcap
	ip netns exec "$ns" "$RUN" --name fan -t 2 -r in=live:veth1 -w /dev/null --json=sus.json -q 3>&- &
	pid=$!
	when_finished stop_pid "$pid"
	wait_for "$RUN" --stats fan
	"$RUN" ctl fan suspend >/dev/null
	ip netns exec "$ns" "$REPLAY" -q more.pcap -i veth0
	sleep 0.3
	assert_equal "$(rx_of fan 0)" 0
	"$RUN" ctl fan resume >/dev/null
	wait_rx fan 0 -eq 1000
	stop_pid "$pid"
	jq -e '.packets_in == 1000 and .ports[0].kernel_drops == 0' sus.json
	# in input order (--ordered), or with --count: the reader thread, no fanout
	ip netns exec "$ns" timeout 5 "$RUN" -t 2 --ordered -r live:veth1 -w got.pcap --duration 0.2 2>err.txt
	ip netns exec "$ns" timeout 5 "$RUN" -t 2 --count 10 -r live:veth1 -w got.pcap --duration 0.2 2>>err.txt
	printf 'ports: [ { name: a }, { name: b }, { name: out } ]\n' >mix.yaml
	ip netns exec "$ns" timeout 5 "$RUN" --name mix -c mix.yaml -t 2 -r a=live:veth1 -r b=vport -w out=got.pcap \
		--duration 0.2 2>>err.txt
	cat err.txt
	refute grep -q fanout err.txt
}

@test "xdp interfaces: read through AF_XDP, frame for frame; with -t 2 a worker its queues; else AF_PACKET, said why" {
	netns_up
	# at 200 kpps (the pair's top speed is the bench's: tests/bench/live)
	"$GEN" flows=1000,packets=100000,size=64-1000,proto=mix,seed=17 want.pcap
	packets want.pcap | cut -d' ' -f2- >want.txt
	ip netns exec "$ns" "$RUN" --name xdp -r in=xdp:veth1 -w got.pcap --json=got.json 2>err.txt 3>&- &
	pid=$!
	when_finished stop_pid "$pid"
	wait_for "$RUN" --stats xdp
	# libxdp's program is on the interface while it runs, and taken off after
	ip netns exec "$ns" ip link show veth1 | grep -q "prog/xdp"
	ip netns exec "$ns" "$REPLAY" -q --preload --pps 200000 want.pcap -i veth0
	wait_rx xdp 0 -eq 100000
	run "$RUN" --stats xdp
	assert_line "  port in: an interface read through AF_XDP, 32768 ring frames (64.0 MiB); 0 dropped by the kernel (a full ring)"
	stop_pid "$pid"
	refute grep -q "AF_PACKET" err.txt
	jq -e '.packets_in == 100000 and .ports[0].socket == "af_xdp" and .ports[0].kernel_drops == 0
		and .ports[0].ring_frames == 32768 and .ports[0].ring_bytes == 67108864' got.json
	packets got.pcap | cut -d' ' -f2- >got.txt
	diff -q got.txt want.txt
	run ip netns exec "$ns" ip link show veth1
	refute_output --partial "prog/xdp"
	# two threads on a pair of two queues: each worker the sockets of its own
	# queue, no reader thread, a flow on one worker and in order
	ip netns exec "$ns" ip link add veth2 numtxqueues 2 numrxqueues 2 type veth peer name veth3 numtxqueues 2 numrxqueues 2
	ip netns exec "$ns" ip link set veth2 up
	ip netns exec "$ns" ip link set veth3 up
	ip netns exec "$ns" "$RUN" --name xdp -t 2 -r in=xdp:veth3 -w got.pcap --json=got.json 2>err.txt 3>&- &
	pid=$!
	when_finished stop_pid "$pid"
	wait_for "$RUN" --stats xdp
	ip netns exec "$ns" "$REPLAY" -q --preload --pps 200000 want.pcap -i veth2
	wait_rx xdp 0 -eq 100000
	"$RUN" --stats xdp --json >stats.json
	stop_pid "$pid"
	assert_equal "$(head -1 err.txt)" "edp-run: fanout: 2 workers, each with its own socket on every interface (AF_XDP receive queues of its own: a flow stays on one); the balancer does not move these queues"
	jq -e '.packets_in == 100000 and .ports[0].socket == "af_xdp" and .ports[0].kernel_drops == 0
		and .ports[0].ring_frames == 32768' got.json
	jq -e 'all(.queues[]; .packets > 20000) and ([.queues[].packets] | add) == 100000' stats.json
	flow_ids want.pcap >want.txt
	flow_ids got.pcap >got.txt
	diff -q <(sort want.txt) <(sort got.txt)
	diff -q <(per_flow want.txt) <(per_flow got.txt)
	# one queue for two threads: AF_PACKET fanout, and one line says so
	ip netns exec "$ns" timeout 5 "$RUN" -t 2 -r xdp:veth1 -w got.pcap --duration 0.2 2>err.txt
	assert_equal "$(head -1 err.txt)" "edp-run: xdp:veth1: read through AF_PACKET: 1 receive queue for 2 threads (AF_XDP gives each thread queues of its own: ethtool -L veth1 combined 2)"
	# without CAP_BPF and CAP_NET_ADMIN; an interface AF_XDP holds already
	ip netns exec "$ns" "$RUN" --name xdp -r in=xdp:veth1 -w /dev/null -q 3>&- &
	pid=$!
	when_finished stop_pid "$pid"
	wait_for "$RUN" --stats xdp
	ip netns exec "$ns" timeout 5 "$RUN" -r xdp:veth1 -w got.pcap --duration 0.2 --json=got.json 2>err.txt
	assert_equal "$(head -1 err.txt)" "edp-run: xdp:veth1: read through AF_PACKET: veth1: queue 0: no AF_XDP socket: Device or resource busy (another XDP program or AF_XDP socket has it)"
	jq -e '.ports[0].socket == "af_packet" and .ports[0].ring_bytes == 67108864' got.json
	stop_pid "$pid"
	ip netns exec "$ns" capsh --drop=cap_bpf,cap_sys_admin,cap_net_admin -- -c \
		"exec '$RUN' --name xdp -r in=xdp:veth1 -w got.pcap --json=got.json 2>err.txt 3>&-" &
	pid=$!
	when_finished stop_pid "$pid"
	wait_for "$RUN" --stats xdp
	ip netns exec "$ns" "$REPLAY" -q --preload --pps 200000 want.pcap -i veth0
	wait_rx xdp 0 -eq 100000
	stop_pid "$pid"
	assert_equal "$(head -1 err.txt)" "edp-run: xdp:veth1: read through AF_PACKET: veth1: queue 0: no AF_XDP socket: Operation not permitted (needs CAP_NET_ADMIN and CAP_BPF)"
	jq -e '.packets_in == 100000 and .ports[0].socket == "af_packet" and .ports[0].kernel_drops == 0' got.json
	packets got.pcap | cut -d' ' -f2- >got.txt
	packets want.pcap | cut -d' ' -f2- >want.txt
	diff -q got.txt want.txt
	# an MTU no AF_XDP frame holds; a spec without an interface
	ip netns exec "$ns" ip link set veth1 mtu 9000
	ip netns exec "$ns" timeout 5 "$RUN" -r xdp:veth1 -w got.pcap --duration 0.2 2>err.txt
	assert_equal "$(head -1 err.txt)" "edp-run: xdp:veth1: read through AF_PACKET: veth1: an MTU of 9000: an AF_XDP frame holds 3840 bytes"
	run "$RUN" -r xdp: -w got.pcap
	assert_failure 2
	assert_output "edp-run: port in: rx 'xdp:' names no interface (expected xdp:IFACE)"
}

# cpu_us PID: the time PID's threads have run so far, in microseconds (their
# schedstat: exact, where the clock ticks of /proc/PID/stat count 10 ms
# whenever a tick finds a thread running, +-2 ticks on a 5-tick idle run)
cpu_us() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d", s / 1000 }'; }

# idle_cpu [suspended] ARGS...: an instance of edp-run ARGS, idle (and
# suspended, when asked), runs under 2% of a CPU over 3 s: 60 ms. The
# sanitizer build gets 90 ms: its every wake-up costs more (in one slow
# stretch of the machine, plain / instrumented: -t 1 on live:veth1 19 / 37
# ms, mix.yaml 26 / 56 ms); an instance that polls instead of waiting
# takes far more (every millisecond: 6-7 ticks of 10 ms plain; every
# 50 us: 45-48).
idle_cpu() {
	local max=60000 suspend=
	ldd "$RUN" | grep -q libasan && max=90000
	[ "$1" = suspended ] && suspend=1 && shift
	ip netns exec "$ns" "$RUN" --name idle "$@" -q 3>&- &
	pid=$!
	when_finished stop_pid "$pid"
	wait_for "$RUN" --stats idle
	[ -z "$suspend" ] || "$RUN" ctl idle suspend >/dev/null
	sleep 0.5
	a=$(cpu_us "$pid")
	sleep 3
	b=$(cpu_us "$pid")
	stop_pid "$pid"
	echo "$*${suspend:+ (suspended)}: $((b - a)) us in 3 s (at most $max)"
	[ $((b - a)) -le "$max" ]
}

@test "live interfaces: an idle instance waits: under 2% of a CPU on interfaces, vports, both, suspended" {
	netns_up
	for rx in live:veth1 xdp:veth1 vport; do
		for t in 1 2; do
			idle_cpu -t "$t" -r in="$rx" -w /dev/null
		done
	done
	# several vports: their doorbells at once (futex_waitv); suspended: on
	# the flag (they looked every 50 us: 45-48 ticks)
	printf 'ports:\n  - { name: a, rx: vport }\n  - { name: b, rx: vport }\n  - { name: o, tx: /dev/null }\n' >two.yaml
	idle_cpu -c two.yaml
	idle_cpu suspended -t 1 -r in=live:veth1 -w /dev/null
	# a vport and an interface: the socket polled, the doorbell slept on
	# by a watch thread (looked at every millisecond before: 6-7 ticks)
	printf 'ports:\n  - { name: a, rx: vport }\n  - { name: b, rx: "live:veth1" }\n  - { name: o, tx: /dev/null }\n' >mix.yaml
	idle_cpu -c mix.yaml
	# ... woken from there by frames on either
	"$GEN" flows=10,packets=100,size=64,seed=5 in.pcap
	ip netns exec "$ns" "$RUN" --name idle -c mix.yaml -q 3>&- &
	pid=$!
	when_finished stop_pid "$pid"
	wait_for "$RUN" --stats idle
	sleep 0.5
	"$REPLAY" -q in.pcap --to idle:a
	wait_rx idle 0 -eq 100
	sleep 0.5
	ip netns exec "$ns" "$REPLAY" -q in.pcap -i veth0
	wait_rx idle 1 -eq 100
	sleep 0.5
	"$REPLAY" -q in.pcap --to idle:a
	wait_rx idle 0 -eq 200
}

# put8 FILE OFFSET VALUE: a little-endian 64-bit value into FILE at OFFSET
put8() {
	{ le32 $(($3 & 0xffffffff)) && le32 $(($3 >> 32)); } | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

@test "vport: a ring another process damaged or truncated ends the run with an error, never a crash or a spin" {
	"$GEN" flows=10,packets=100,size=64,seed=73 in.pcap
	for t in 0 2; do
		for damage in head wrap truncate; do
			"$RUN" --name lab -t "$t" -r in=vport -w out.pcap --json=out.json -q 2>err.txt &
			pid=$!
			when_finished stop_pid "$pid"
			wait_for test -e "$EDP_RUNDIR/lab.in.vport"
			wait_for "$RUN" --stats lab
			"$REPLAY" -T in.pcap --to lab:in -q
			wait_rx lab 0 -eq 100
			ring=$EDP_RUNDIR/lab.in.vport
			case $damage in
			head) put8 "$ring" 64 $((100 * 80 + 17)) ;; # the producer's head, off a record
			wrap) # a wrap marker where the reader stands, then a head one record on
				printf '\377\377\377\377' | dd of="$ring" bs=1 seek=$((4096 + 100 * 80)) conv=notrunc status=none
				put8 "$ring" 64 $((101 * 80)) ;;
			truncate) truncate -s 0 "$ring" ;;
			esac
			for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			if kill -0 "$pid" 2>/dev/null; then # still running after 10 s: a spin
				kill -KILL "$pid"
				false
			fi
			wait "$pid" && rc=0 || rc=$?
			assert_equal "$rc" 1
			case $damage in
			head) grep -qx "edp-run: $ring: corrupt vport ring: the producer's head is not one this ring can have (head 8017, tail 8000)" err.txt ;;
			wrap) grep -qx "edp-run: $ring: corrupt vport ring: a wrap marker past the head (head 8080, tail 16777216)" err.txt ;;
			truncate) grep -qx "edp-run: $ring: the vport file shrank while in use" err.txt ;;
			esac
			jq -e '.packets_in == 100 and .packets_forwarded == 100' out.json
			assert_equal "$(count out.pcap)" 100 # what was read before is written
			rm -f "$ring"
		done
	done
}

@test "the run directory: a link, another's or an open one is refused; a planted vport link is not followed" {
	mkdir real
	ln -s real linked
	run env EDP_RUNDIR="$PWD/linked" "$RUN" --name x -r in=vport -w out.pcap -q
	assert_failure 1
	assert_output "edp-run: EDP_RUNDIR=$PWD/linked: not a usable run directory: a symbolic link, not a directory"
	mkdir open
	chmod 0777 open
	run env EDP_RUNDIR="$PWD/open" "$RUN" --stats
	assert_failure 1
	assert_output "edp-run: EDP_RUNDIR=$PWD/open: not a usable run directory: others may write to it (mode 0777)"
	if [ "$(id -u)" = 0 ]; then # another user's directory (only root can make one here)
		mkdir theirs
		chown 65534 theirs
		run env EDP_RUNDIR="$PWD/theirs" "$RUN" --stats
		assert_failure 1
		assert_output "edp-run: EDP_RUNDIR=$PWD/theirs: not a usable run directory: owned by uid 65534, not by this user (0)"
	fi
	mkdir -p "$EDP_RUNDIR"
	echo precious >victim
	ln -s "$PWD/victim" "$EDP_RUNDIR/lab.in.vport"
	run "$RUN" --name lab -r in=vport -w out.pcap -q
	assert_failure 1
	assert_output "edp-run: $EDP_RUNDIR/lab.in.vport: cannot create: a symbolic link is there"
	assert_equal "$(cat victim)" precious
	run "$REPLAY" -T "$DATA/tcpreplay-test.pcap" --to lab:in -q
	assert_failure 1
	assert_output "edp-replay: $EDP_RUNDIR/lab.in.vport: cannot open: a symbolic link is there"
}
