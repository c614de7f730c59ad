#!/usr/bin/env bats
# edp-migrate: checkpoints of a running instance (save, inspect) and
# edp-run --restore; hostile checkpoints.
load helper
bats_require_minimum_version 1.5.0

MIGRATE=$EDP_BUILD/edp-migrate

# three ports: a and b read vports, c only writes; a learning switch
switch3() {
	printf 'ports:\n  - { name: a, rx: vport, tx: a.pcap }\n  - { name: b, rx: vport, tx: b.pcap }\n  - { name: c, tx: c.pcap }\npipeline:\n  switch: { ageing-s: 3600 }\n' >sw.yaml
}

@test "save: the running instance's MACs and flows, as ctl sees them; inspect reads them back" {
	"$GEN" flows=30,packets=600,proto=mix,seed=9 in.pcap
	switch3
	start_run lab -c sw.yaml -t 2 -q
	wait_for test -e "$EDP_RUNDIR/lab.a.vport"
	"$REPLAY" -T in.pcap --to lab:a -q
	wait_tx lab 2 -eq 600
	run "$MIGRATE" save lab -o ck.bin --json
	assert_success
	echo "$output" | jq -e '.macs == 30 and .flows == 30 and .paused == true and .drained == true
		and .pause_ms >= .copy_ms and .bytes > 0'
	assert_equal "$(stat -c %a ck.bin)" 600
	assert_equal "$(stat -c %s ck.bin)" "$(echo "$output" | jq .bytes)"
	run "$MIGRATE" inspect ck.bin --json
	assert_success
	echo "$output" | jq -e --arg hash "$(fnv1a64 sw.yaml)" '.schema == 1 and .version == 1 and .name == "lab"
		and .threads == 2 and .ports == ["a", "b", "c"] and .macs == 30 and .flows == 30 and .config_hash == $hash
		and .sections.meta > 0 and .sections.macs == 20 + 4 + 30 * 18 and .sections.flows == 20 + 4 + 30 * 66
		and .sections.end == 24 and .bytes == 32 + .sections.meta + .sections.macs + .sections.flows + .sections.end'
	run "$MIGRATE" inspect ck.bin
	assert_line --index 0 "ck.bin: edp checkpoint version 1, $(stat -c %s ck.bin) bytes"
	assert_line --index 4 "  macs 30, flows 30"
	# the same through a pipe, without the pause
	"$MIGRATE" save lab -o - --no-pause 2>save.err | "$MIGRATE" inspect - --json | jq -e '.macs == 30 and .flows == 30'
	grep -qx 'paused: false' save.err
	# the MACs are the ones tshark reads as sources
	tshark -r in.pcap -T fields -e eth.src 2>/dev/null | sort -u >want.txt
	"$RUN" ctl lab macs --json | jq -r '.macs[].mac' | sort >got.txt
	diff -u want.txt got.txt
}

@test "restore: an instance started from a checkpoint forwards as the one it was taken from would have" {
	"$GEN" flows=20,packets=400,seed=3 t.pcap
	switch3
	# S: 02:00:00:00:00:01 speaks on a (flooded to b and c: learned), then a
	# checkpoint, then 02:00:00:00:00:02 answers it on b: only to a
	start_run src -c sw.yaml -t 0 --ordered -q
	wait_for test -e "$EDP_RUNDIR/src.a.vport"
	"$REPLAY" -T t.pcap --src-mac 02:00:00:00:00:01 --to src:a -q
	wait_tx src 2 -eq 400
	"$MIGRATE" save src -o ck.bin 2>/dev/null
	"$REPLAY" -T t.pcap --src-mac 02:00:00:00:00:02 --dst-mac 02:00:00:00:00:01 --to src:b -q
	wait_tx src 0 -eq 400
	stop_pid "$pid"
	mv a.pcap src-a.pcap
	mv c.pcap src-c.pcap
	# T: restored, then the answer alone: to a only, the same bytes as S's
	for t in 0 1 2; do
		start_run dst -c sw.yaml -t "$t" --ordered --restore ck.bin --json=dst.json 2>dst.err
		grep -qE "^edp-run: restored 1 MAC and 20 flows from ck.bin in [0-9]+\.[0-9] ms$" dst.err
		wait_for test -e "$EDP_RUNDIR/dst.b.vport"
		"$REPLAY" -T t.pcap --src-mac 02:00:00:00:00:02 --dst-mac 02:00:00:00:00:01 --to dst:b -q
		wait_tx dst 0 -eq 400
		stop_pid "$pid"
		same_bytes a.pcap src-a.pcap
		assert_equal "$(count c.pcap)" 0
		jq -e '.packets_in == 400 and .packets_forwarded == 400' dst.json
	done
	# the control: without the checkpoint the answer floods to c as well
	start_run cold -c sw.yaml -t 0 --ordered -q
	wait_for test -e "$EDP_RUNDIR/cold.b.vport"
	"$REPLAY" -T t.pcap --src-mac 02:00:00:00:00:02 --dst-mac 02:00:00:00:00:01 --to cold:b -q
	wait_tx cold 0 -eq 400
	stop_pid "$pid"
	assert_equal "$(count c.pcap)" 400
}

@test "restore: a warm start, every flow in the cache from the first packet" {
	"$GEN" flows=50,packets=2000,proto=mix,seed=42 in.pcap
	printf 'ports:\n  - name: in\n  - name: out\npipeline:\n  firewall: { default: allow, rules: [ { proto: udp, dst-port: 53, action: drop } ] }\n' >fw.yaml
	for t in 0 1 2 3; do
		start_run lab -c fw.yaml -t "$t" --loop 0 -r in.pcap -w /dev/null -q
		"$MIGRATE" save lab -o "ck$t.bin" 2>/dev/null
		stop_pid "$pid"
		"$MIGRATE" inspect "ck$t.bin" --json | jq -e '.flows == 50'
		run "$RUN" -c fw.yaml -t "$t" --ordered --restore "ck$t.bin" -r in.pcap -w out.pcap --json=warm.json
		assert_success
		jq -e '.flow_cache.misses == 0 and .flow_cache.hits == 2000' warm.json
		"$RUN" -c fw.yaml -t "$t" --ordered -r in.pcap -w cold.pcap -q --json=cold.json
		# chunks (-t 2): each worker meets a flow's first packet once
		jq -e --argjson t "$t" '.flow_cache.misses >= 50 and .flow_cache.misses <= 50 * ([$t, 1] | max)' cold.json
		same_bytes out.pcap cold.pcap
	done
	# another config: refused, or its MACs only when allowed
	printf 'ports:\n  - name: in\n  - name: out\n' >other.yaml
	run "$RUN" -c other.yaml --restore ck0.bin -r in.pcap -w out.pcap
	assert_failure 1
	assert_output --regexp "^edp-run: ck0.bin was taken under another config \(fnv1a64:[0-9a-f]{16}; this one is fnv1a64:[0-9a-f]{16}\): --allow-config-change carries its MACs only$"
	run "$RUN" -c other.yaml --restore ck0.bin --allow-config-change -r in.pcap -w out.pcap -q --json=j.json
	assert_success
	jq -e '.flow_cache.misses == 50' j.json
	run "$RUN" -c other.yaml --restore ck0.bin --allow-config-change -r in.pcap -w out.pcap
	assert_line --index 0 --regexp "^edp-run: restored 0 MACs and 0 flows from ck0.bin in [0-9]+\.[0-9] ms \(its flows not: another config\)$"
	printf 'ports:\n  - name: x\n  - name: out\n' >ports.yaml
	run "$RUN" -c ports.yaml --restore ck0.bin --allow-config-change -r in.pcap -w out.pcap
	assert_failure 1
	assert_output "edp-run: ck0.bin: its ports (in, out) are not the config's (x, out)"
	run "$RUN" --allow-config-change -r in.pcap -w out.pcap
	assert_failure 2
	assert_line --index 0 "edp-run: --allow-config-change goes with --restore"
	run "$RUN" --restore - -r - -w out.pcap </dev/null
	assert_failure 2
	assert_line --index 0 "edp-run: --restore -: stdin is port in's input"
}

@test "hostile checkpoints: truncated at each section, flipped, empty, not one; refused with exit 1 before anything runs" {
	"$GEN" flows=10,packets=100,seed=1 in.pcap
	start_run lab --loop 0 -r in.pcap -w /dev/null -q
	"$MIGRATE" save lab -o ck.bin 2>/dev/null
	stop_pid "$pid"
	read -r meta macs flows end < <("$MIGRATE" inspect ck.bin --json | jq -r '.sections | "\(.meta) \(.macs) \(.flows) \(.end)"')
	at_macs=$((32 + meta)) at_flows=$((32 + meta + macs)) at_end=$((32 + meta + macs + flows))
	for cut in 0 7 20 32 $at_macs $at_flows $at_end $((at_end + end - 1)); do
		head -c "$cut" ck.bin >cut.bin
		run "$MIGRATE" inspect cut.bin
		assert_failure 1
		run "$RUN" --restore cut.bin -r in.pcap -w out.pcap
		assert_failure 1
		[ ! -e out.pcap ]
	done
	head -c "$at_flows" ck.bin >cut.bin
	run "$MIGRATE" inspect cut.bin
	assert_output "edp-migrate: cut.bin: truncated at byte $at_flows: no end record"
	head -c $((at_flows + 20)) ck.bin >cut.bin
	run "$MIGRATE" inspect cut.bin
	assert_output "edp-migrate: cut.bin: section 3 (flows) at byte $at_flows: truncated ($((flows - 20)) bytes of payload and a CRC announced, 4 left)"
	cp ck.bin flip.bin
	printf '\377' | dd of=flip.bin bs=1 seek=$((at_macs + 20)) conv=notrunc 2>/dev/null
	run "$MIGRATE" inspect flip.bin
	assert_failure 1
	assert_output "edp-migrate: flip.bin: section 2 (macs) at byte $at_macs: CRC mismatch"
	run "$RUN" --restore flip.bin -r in.pcap -w out.pcap
	assert_failure 1
	assert_output "edp-run: flip.bin: section 2 (macs) at byte $at_macs: CRC mismatch"
	: >empty.bin
	run "$MIGRATE" inspect empty.bin
	assert_output "edp-migrate: empty.bin: not an edp checkpoint (no EDPCKPT magic)"
	run "$MIGRATE" inspect in.pcap
	assert_output "edp-migrate: in.pcap: not an edp checkpoint (no EDPCKPT magic)"
	run "$MIGRATE" inspect nosuch.bin
	assert_failure 1
	assert_output "edp-migrate: nosuch.bin: No such file or directory"
}

@test "save: wrong requests, no instance, and the control socket without a file" {
	run "$MIGRATE" save nosuch -o ck.bin
	assert_failure 1
	assert_output "edp-migrate: no instance 'nosuch' is running (no $EDP_RUNDIR/nosuch.ctl)"
	run "$MIGRATE" save lab
	assert_failure 2
	assert_line --index 0 "edp-migrate: save: where to? -o FILE, or -o - for stdout"
	run "$MIGRATE" save lab -o - --json
	assert_failure 2
	assert_line --index 0 "edp-migrate: --json needs -o FILE: stdout carries the checkpoint"
	run "$MIGRATE" frob
	assert_failure 2
	assert_line --index 0 "edp-migrate: SRC DST: two instance names (or save, inspect)"
	run "$MIGRATE"
	assert_failure 2
	assert_line --index 0 "edp-migrate: which command? (SRC DST, save, inspect)"
	"$GEN" flows=10,packets=100,seed=1 in.pcap
	start_run lab --loop 0 -r in.pcap -w /dev/null -q
	run "$RUN" ctl lab save
	assert_failure 2
	assert_output "edp-run: lab: save writes to a file passed with the request (SCM_RIGHTS): edp-migrate save does"
}

@test "save into a pipe no one reads: given up after 10 s, the control socket free again; one whose reader goes: at once" {
	"$GEN" flows=3000,packets=6000,seed=2 in.pcap
	start_run lab --loop 0 -r in.pcap -w /dev/null -q
	# a checkpoint larger than a pipe holds, into a pipe read by no one
	run bash -c "'$MIGRATE' save lab -o - | sleep 15; exit \${PIPESTATUS[0]}"
	assert_failure 1
	assert_output --regexp "^edp-migrate: lab: the checkpoint: its reader took nothing for 10 s \([0-9]+ of [0-9]+ bytes written\)$"
	run "$RUN" ctl lab status --json
	assert_success
	# a reader that goes away: said so at once (as the pipe fills, or at the next write)
	SECONDS=0
	run bash -c "'$MIGRATE' save lab -o - | head -c 1000 >/dev/null; exit \${PIPESTATUS[0]}"
	assert_failure 1
	assert_output --regexp "^edp-migrate: lab: the checkpoint: (its reader is gone \([0-9]+ of [0-9]+ bytes written\)|cannot write it: Broken pipe)$"
	((SECONDS < 5))
}

# ---- the live move: edp-migrate SRC DST ----

# a learning switch: a reads, b and c write (what reaches them depends on
# the MACs learned: a packet to a MAC learned on a goes nowhere)
wire3() {
	printf 'ports:\n  - name: a\n  - name: b\n  - name: c\npipeline:\n  switch: { ageing-s: 3600 }\n' >sw.yaml
}

# the bytes an unmigrated run writes (ref-b.pcap, ref-c.pcap)
reference() {
	"$RUN" -q -c sw.yaml --ordered -t 1 -r a="$1" -w b=ref-b.pcap -w c=ref-c.pcap
}

# one NIC on a fake sysfs tree, claimed by workload $1 in the ledger
claim_nic() {
	export SYS=$BATS_TEST_TMPDIR/sys EDP_SYSFS=$BATS_TEST_TMPDIR/sys
	fake_node 0 0-1
	fake_dev 0000:3b:00.1 node=0 group=11 driver=vfio-pci
	"$EDP_BUILD/edp-assign" claim "$1" --need nic:1 --sysfs-root "$SYS" >/dev/null
}

# the ledger's owners, "device workload generation"
owners() {
	"$EDP_BUILD/edp-assign" list --json --sysfs-root "$SYS" | jq -r '.generation as $g | .claims[] | "\(.device) \(.workload) \($g)"'
}

# exits PID CODE: background job PID (a child of the test) ended with CODE
exits() {
	local rc=0
	wait "$1" || rc=$?
	assert_equal "$rc" "$2"
}

migrating() {
	"$RUN" --stats "$1" --json | jq -e '.state == "migrating"'
}

# piped_src PPS THREADS: instance src reads in.pcap from edp-replay --pps
# PPS through a pipe and writes b.pcap and c.pcap; $src its pid
piped_src() {
	{ "$REPLAY" -q --pps "$1" in.pcap -w - 2>/dev/null | "$RUN" -q --name src -c sw.yaml --ordered -t "$2" -r a=- \
		-w b=b.pcap -w c=c.pcap; } &
	src=$!
	when_finished stop_pid "$src"
}

# start_incoming NAME ARGS...: edp-run --incoming, waiting until it answers
start_incoming() {
	local name=$1
	shift
	"$RUN" --name "$name" --incoming -c sw.yaml --ordered "$@" --json="$name.json" 2>"$name.err" &
	dst_pid=$!
	when_finished stop_pid "$dst_pid"
	wait_for "$RUN" ctl "$name" status
}

@test "SRC DST: a run moved mid-stream from a pipe writes what an unmoved one writes (-t 0, 1, 2, 2 into 0; stdout)" {
	"$GEN" flows=500,packets=20000,proto=mix,seed=5 in.pcap
	wire3
	reference in.pcap
	for t in 0:0 1:1 2:2 2:0; do # SRC's threads:DST's
		rm -f b.pcap c.pcap src.json dst.json
		{ "$REPLAY" -q --pps 20000 in.pcap -w - | "$RUN" -q --name src -c sw.yaml --ordered -t "${t%:*}" -r a=- \
			-w b=- -w c=c.pcap --json=src.json >b.pcap; } &
		local src=$!
		when_finished stop_pid "$src"
		start_incoming dst -t "${t#*:}" -q
		wait_rx src 0 -gt 1000
		run "$MIGRATE" src dst --json
		assert_success
		echo "$output" | jq -e '.ok and .packets_lost == 0 and .descriptors == 3 and (.rounds | length) >= 2
			and .rounds[-1].stun and .rounds[0].macs > 0 and .stun_ms > 0 and .handover_ms > 0
			and .dst_hit_rate >= .src_hit_rate - 0.02'
		wait "$src"
		wait "$dst_pid"
		same_bytes ref-b.pcap b.pcap
		same_bytes ref-c.pcap c.pcap
		# conservation across both summaries
		jq -e -s '.[0].packets_in > 1000 and .[1].packets_in > 0 and .[0].packets_in + .[1].packets_in == 20000
			and .[0].packets_forwarded + .[1].packets_forwarded + .[0].packets_dropped + .[1].packets_dropped == 20000' \
			src.json dst.json
	done
}

@test "SRC DST: a capture file goes on at its next record; the text report; status and edp-top say incoming" {
	"$GEN" flows=300,packets=400000,seed=8 in.pcap
	wire3
	reference in.pcap
	claim_nic src
	assert_equal "$(owners)" "0000:3b:00.1 src 1"
	start_incoming dst -t 1
	run "$RUN" ctl dst status --json
	echo "$output" | jq -e '.state == "incoming"'
	"$RUN" --stats dst --json | jq -e '.state == "incoming"'
	"$EDP_BUILD/edp-top" -b --json -n 1 dst | jq -e '.status == "incoming"'
	run "$RUN" ctl dst flows
	assert_failure
	assert_output --partial "instance dst is incoming: it has no datapath until edp-migrate moves one into it"
	"$RUN" --name src -c sw.yaml --ordered -t 1 -r a=in.pcap -w b=b.pcap -w c=c.pcap --json=src.json 2>src.err &
	local src=$!
	when_finished stop_pid "$src"
	# early (the socket is there before the first packet is read): the file
	# is handed over wherever its reader is
	# the socket looked for first: a try of edp-run ctl before it exists
	# costs a process start, under the sanitizers long enough for src to
	# read a capture to its end
	for _ in $(seq 2000); do [ -S "$EDP_RUNDIR/src.ctl" ] && break; sleep 0.005; done
	for _ in $(seq 2000); do "$RUN" ctl src suspend >/dev/null 2>&1 && break; sleep 0.005; done
	"$RUN" --stats src --json | jq -e '.state == "suspended" and .ports[0].rx_packets < 400000'
	run "$MIGRATE" src dst
	assert_success
	assert_line --regexp '^edp-migrate: pre-copy round 1: [0-9]+ MACs, [0-9]+ flows, [0-9]+ bytes'
	assert_line --regexp '^edp-migrate: stun round: .* 3 descriptors; drain .* ms, hand-over .* ms$'
	# a classic pcap file is read from a mapping: nothing read ahead to carry
	assert_line 'edp-migrate: queued for dst at the hand-over: 0 packets in vports and interface rings, 0 bytes of captures'
	assert_line --regexp '^edp-migrate: src: [0-9]+ packets in, [0-9]+ forwarded, 0 dropped, 0 lost; 1 device claim moved$'
	assert_equal "$(owners)" "0000:3b:00.1 dst 2" # one generation
	wait "$src"
	wait "$dst_pid"
	grep -qx 'edp-run: moved: its inputs and outputs are another instance.s now' src.err
	grep -q '^edp-run: moved in from src, which had taken ' dst.err
	same_bytes ref-b.pcap b.pcap
	same_bytes ref-c.pcap c.pcap
	jq -e -s '.[0].packets_in + .[1].packets_in == 400000 and .[1].packets_in > 0' src.json dst.json
}

@test "SRC DST: a run with a filter expression and --count moves with both: the destination lets in what is left" {
	"$GEN" flows=300,packets=40000,proto=mix,seed=31 in.pcap
	wire3
	"$RUN" -q -c sw.yaml --ordered -t 1 -r a=in.pcap -w b=ref-b.pcap -w c=ref-c.pcap --count 15000 udp
	assert_equal "$(tcpdump -nr ref-b.pcap 2>/dev/null | wc -l)" 15000
	for t in 0 1; do
		rm -f b.pcap c.pcap src.json dst.json
		start_incoming dst -t "$t" -q
		{ "$REPLAY" -q --pps 20000 in.pcap -w - 2>/dev/null | "$RUN" -q --name src -c sw.yaml --ordered -t "$t" \
			-r a=- -w b=b.pcap -w c=c.pcap --count 15000 --json=src.json udp; } &
		local src=$!
		when_finished stop_pid "$src"
		wait_rx src 0 -gt 2000
		run "$MIGRATE" src dst --json
		assert_success
		echo "$output" | jq -e '.ok and .packets_lost == 0'
		wait "$src"
		wait "$dst_pid" # its --count reached: it ends by itself
		same_bytes ref-b.pcap b.pcap
		same_bytes ref-c.pcap c.pcap
		jq -e -s '.[0].packets_in + .[1].packets_in == 15000 and .[1].packets_in > 0
			and .[0].packets_filtered > 0 and .[1].packets_filtered > 0 and .[1].filter == "udp"' src.json dst.json
	done
}

# move_file_early FILE THREADS PACKETS: src reads FILE (suspended as soon
# as it answers: the move comes early) and moves into dst of as many
# threads; b and c are the unmoved run's, the summaries add up to PACKETS
move_file_early() {
	rm -f b.pcap c.pcap src.json dst.json
	start_incoming dst -t "$2" -q
	"$RUN" -q --name src -c sw.yaml --ordered -t "$2" -r a="$1" -w b=b.pcap -w c=c.pcap --json=src.json &
	local src=$!
	when_finished stop_pid "$src"
	# the socket looked for first: a try of edp-run ctl before it exists
	# costs a process start, under the sanitizers long enough for src to
	# read a capture to its end
	for _ in $(seq 2000); do [ -S "$EDP_RUNDIR/src.ctl" ] && break; sleep 0.005; done
	for _ in $(seq 2000); do "$RUN" ctl src suspend >/dev/null 2>&1 && break; sleep 0.005; done
	run "$MIGRATE" src dst --json
	moved_as_unmoved "$3" '.descriptors == 3'
}

# moved_as_unmoved N [CHECK]: the edp-migrate src dst just run succeeded
# and lost nothing (CHECK holds on its JSON too); src ($src) and dst
# ($dst_pid) wrote the unmoved run's bytes, N packets read between them,
# some by dst
moved_as_unmoved() {
	assert_success
	echo "$output" | jq -e ".ok and .packets_lost == 0 and ${2:-true}"
	wait "$src"
	wait "$dst_pid"
	same_bytes ref-b.pcap b.pcap
	same_bytes ref-c.pcap c.pcap
	jq -e -s --argjson n "$1" '.[0].packets_in + .[1].packets_in == $n and .[1].packets_in > 0' src.json dst.json
}

@test "SRC DST: a capture file moved at -t 0 and 2 writes what an unmoved run writes" {
	"$GEN" flows=300,packets=400000,proto=mix,seed=9 in.pcap
	wire3
	reference in.pcap
	for t in 0 2; do
		move_file_early in.pcap "$t" 400000
	done
}

@test "SRC DST: DST killed during the stun: SRC resumes, nothing lost, the ledger as it was" {
	"$GEN" flows=200,packets=20000,seed=2 in.pcap
	wire3
	reference in.pcap
	local src
	piped_src 20000 1
	claim_nic src
	EDP_TEST_MIGRATE_IN_DELAY_MS=3000 start_incoming dst -t 1
	wait_rx src 0 -gt 1000
	"$MIGRATE" src dst --json >report.json &
	local mig=$!
	wait_for migrating src
	kill -KILL "$dst_pid"
	exits "$mig" 1
	jq -e '.ok == false and .failed_at == "hand-over" and .stunned_ms > 0' report.json
	assert_equal "$(owners)" "0000:3b:00.1 src 1" # the ledger as it was
	wait "$src"
	same_bytes ref-b.pcap b.pcap
	same_bytes ref-c.pcap c.pcap
}

@test "SRC DST: SRC killed during the pre-copy: DST is cancelled (exit 1), nothing moved" {
	"$GEN" flows=50,packets=4000,seed=3 in.pcap
	wire3
	local src
	piped_src 2000 1
	claim_nic src
	EDP_TEST_MIGRATE_ROUND_DELAY_MS=1500 start_incoming dst -t 1
	wait_rx src 0 -gt 0
	"$MIGRATE" src dst --json >report.json &
	local mig=$!
	sleep 0.5 # DST is taking the first round
	pkill -KILL -f -- "--name src -c sw.yaml"
	exits "$mig" 1
	jq -e '.ok == false and .failed_at == "pre-copy" and .stunned_ms == 0' report.json
	exits "$dst_pid" 1
	grep -q '^edp-run: the move from src was cancelled: cancelled by edp-migrate$' dst.err
	assert_equal "$(owners)" "0000:3b:00.1 src 1"
}

@test "SRC DST: an idle pipe does not hold the stun" {
	"$GEN" flows=20,packets=100,seed=4 in.pcap
	wire3
	mkfifo feed
	"$RUN" -q --name src -c sw.yaml --ordered -t 0 -r a=feed -w b=b.pcap -w c=c.pcap --json=src.json &
	local src=$!
	when_finished stop_pid "$src"
	start_incoming dst -t 0 -q # before the writer opens: it must not hold one
	exec 7>feed # the writer: holds the pipe open, sends nothing after the capture
	cat in.pcap >&7
	wait_rx src 0 -eq 100
	run "$MIGRATE" src dst --json
	assert_success
	echo "$output" | jq -e '.ok and .drain_ms < 1000'
	wait "$src"
	"$REPLAY" -q -T in.pcap --src-mac 02:00:00:00:00:99 -w - | tail -c +25 >&7 # records only: the same stream goes on
	exec 7>&-
	wait "$dst_pid"
	jq -e -s '.[0].packets_in == 100 and .[1].packets_in == 100' src.json dst.json
}

@test "SRC DST: refusals: DST gone, SRC as DST, --strict, no such SRC, a modified pcap; SRC goes on" {
	"$GEN" flows=20,packets=20000,seed=4 in.pcap
	wire3
	reference in.pcap
	local src
	piped_src 10000 0
	wait_rx src 0 -gt 0
	run -1 "$MIGRATE" src nosuch
	assert_output --partial "failed at check"
	run -2 "$MIGRATE" src src
	assert_line --index 0 "edp-migrate: src is both SRC and DST"
	# --strict, and a budget no round can meet: given up, SRC never stunned
	start_incoming dst -t 0
	run -1 "$MIGRATE" src dst --strict --max-stun-ms 0.001
	assert_line --regexp '^edp-migrate: the pre-copy did not get under half of 0.0 ms a round in [0-9] rounds \(--strict\): src was never stunned$'
	assert_line "edp-migrate: failed at pre-copy; src was never stunned"
	exits "$dst_pid" 1
	"$RUN" --stats src --json | jq -e '.state == "running"'
	# no such SRC (a typo): nothing is touched, DST waits on
	start_incoming dst -t 0
	run -1 "$MIGRATE" nosuch dst
	assert_line --index 0 "edp-migrate: no instance 'nosuch' is running (no $EDP_RUNDIR/nosuch.ctl)"
	assert_line --index 1 "edp-migrate: failed at check; nosuch was never stunned"
	"$RUN" ctl dst status --json | jq -e '.state == "incoming"'
	# nor from one that has nothing to move
	run -1 "$MIGRATE" dst src
	assert_line --index 0 "edp-migrate: instance dst is incoming, not running or suspended"
	wait "$src"
	same_bytes ref-b.pcap b.pcap
	# a modified (Kuznetsov) pcap cannot be handed over: said before the stun
	editcap -F modpcap in.pcap in.modpcap
	mkfifo mod
	"$RUN" -q --name modsrc -c sw.yaml -t 0 -r a=mod -w b=/dev/null &
	local mod=$!
	when_finished stop_pid "$mod"
	start_incoming dst2 -t 0 -q
	exec 8>mod
	cat in.modpcap >&8
	wait_rx modsrc 0 -eq 20000
	run -1 "$MIGRATE" modsrc dst2
	assert_line --index 0 "edp-migrate: modsrc: migrate-stun 5000 dst2: port a: 'mod' is a modified (Kuznetsov) pcap: only classic pcap and pcapng can be handed over"
	assert_line --regexp '^edp-migrate: failed at stun; modsrc was stunned at most [0-9.]+ ms and goes on$'
	"$RUN" --stats modsrc --json | jq -e '.state == "running"'
	exec 8>&-
	wait "$mod"
}

@test "SRC DST: a pcapng capture (two interfaces) goes on at its next block, from a file and from a pipe" {
	"$GEN" flows=100,packets=200000,proto=mix,seed=21 a.pcap
	"$GEN" flows=100,packets=200000,proto=mix,vlan=5,seed=22 b.pcap
	mergecap -I none -F pcapng -w in.pcapng a.pcap b.pcap # two interface blocks, packets of both
	rm -f a.pcap b.pcap
	wire3
	reference in.pcapng
	move_file_early in.pcapng 1 400000
	# a pipe: the first part, a pause in which it moves, the rest
	rm -f b.pcap c.pcap src.json dst.json
	local half=$(($(stat -c %s in.pcapng) / 2))
	start_incoming dst -t 1 -q
	{ head -c "$half" in.pcapng; sleep 1; tail -c +"$((half + 1))" in.pcapng; } |
		"$RUN" -q --name src -c sw.yaml --ordered -t 1 -r a=- -w b=b.pcap -w c=c.pcap --json=src.json &
	src=$!
	wait_rx src 0 -gt 1000
	run "$MIGRATE" src dst --json
	moved_as_unmoved 400000
}

@test "SRC DST: another config on DST is refused before it makes anything, or moves the MACs only" {
	"$GEN" flows=100,packets=20000,seed=7 in.pcap
	wire3
	reference in.pcap
	local src
	piped_src 10000 1
	{ cat sw.yaml; echo "# the same, another file"; } >other.yaml
	"$RUN" --name dst --incoming -c other.yaml --ordered -t 1 --json=dst.json 2>dst.err &
	dst_pid=$!
	when_finished stop_pid "$dst_pid"
	wait_for "$RUN" ctl dst status
	wait_rx src 0 -gt 1000
	run -1 "$MIGRATE" src dst
	assert_line --index 0 --regexp "^edp-migrate: dst: migrate-in: round 1 was taken under another config \(fnv1a64:$(fnv1a64 sw.yaml | sed 's/fnv1a64://'); this one is fnv1a64:[0-9a-f]{16}\): --allow-config-change carries its MACs only$"
	"$RUN" ctl dst status --json | jq -e '.state == "incoming"' # it waits on
	run "$MIGRATE" src dst --allow-config-change --json
	assert_success
	echo "$output" | jq -e '.ok and .rounds[0].macs == 100 and .packets_lost == 0'
	wait "$src"
	wait "$dst_pid"
	same_bytes ref-b.pcap b.pcap # the same pipeline, so the same bytes
	same_bytes ref-c.pcap c.pcap
}

@test "SRC DST: a vport fed by edp-replay --pps is taken over with what is queued in it (-t 0, 1, 2)" {
	"$GEN" flows=400,packets=12000,proto=mix,seed=6 in.pcap
	printf 'ports:\n  - { name: a, rx: vport }\n  - { name: b, tx: b.pcap }\n  - { name: c, tx: c.pcap }\npipeline:\n  switch: { ageing-s: 3600 }\n' >sw.yaml
	# an unmoved run through a vport: the same producer, the same records
	start_run ref -c sw.yaml --ordered -t 1 -q
	wait_for test -e "$EDP_RUNDIR/ref.a.vport"
	"$REPLAY" -q -T in.pcap --to ref:a
	wait_tx ref 2 -eq 12000
	stop_pid "$pid"
	mv b.pcap ref-b.pcap
	mv c.pcap ref-c.pcap
	for t in 0 1 2; do
		start_run src -c sw.yaml --ordered -t "$t" -q --json=src.json
		local src=$pid
		start_incoming dst -t "$t" -q
		wait_for test -e "$EDP_RUNDIR/src.a.vport"
		"$REPLAY" -q --pps 20000 in.pcap --to src:a &
		local producer=$!
		wait_rx src 0 -gt 1000
		run "$MIGRATE" src dst --json
		assert_success
		echo "$output" | jq -e '.ok and .packets_lost == 0 and .descriptors == 3'
		wait "$src"
		wait "$producer" # it went on into the same ring, unaware
		wait_tx dst 2 -eq "$((12000 - $(jq .packets_in src.json)))"
		"$RUN" ctl dst stop >/dev/null
		wait "$dst_pid"
		same_bytes ref-b.pcap b.pcap
		same_bytes ref-c.pcap c.pcap
		jq -e -s '.[0].packets_in + .[1].packets_in == 12000 and .[1].ports[0].rx_packets > 0' src.json dst.json
		test ! -e "$EDP_RUNDIR/src.a.vport" # consumed whole: the last consumer removed it
		rm -f b.pcap c.pcap
	done
}

# frames A: a capture's frames as tcpdump reads them, without their times
# (a live capture's differ from run to run)
frames() {
	tcpdump -r "$1" -nn -t -xx 2>/dev/null
}
# ... a frame a line, sorted: the same frames in any order
frames_sorted() {
	frames "$1" | awk '/^\t0x/ { printf " %s", $2 $3 $4 $5 $6 $7 $8 $9; next } NR > 1 { print "" } { printf "%s", $0 } END { print "" }' | sort
}

@test "SRC DST: an AF_XDP input is refused before the stun (its frames are in the source's memory)" {
	netns_up
	printf 'ports:\n  - { name: a, rx: "xdp:veth1" }\n  - { name: b, tx: b.pcap }\n  - { name: c }\npipeline:\n  switch: { ageing-s: 3600 }\n' >sw.yaml
	ip netns exec "$ns" "$RUN" -q --name xsrc -c sw.yaml --ordered -t 1 3>&- &
	local src=$!
	when_finished stop_pid "$src"
	wait_for "$RUN" --stats xsrc
	"$RUN" --stats xsrc --json | jq -e '.ports[0].socket == "af_xdp"'
	start_incoming xdst -t 1 -q
	run -1 "$MIGRATE" xsrc xdst
	assert_line --index 0 "edp-migrate: xsrc: migrate-stun 5000 xdst: port a: 'xdp:veth1' is read through AF_XDP: its frames are in this process's memory, which cannot be handed over"
	assert_line --regexp '^edp-migrate: failed at stun; xsrc was stunned at most [0-9.]+ ms and goes on$'
	"$RUN" --stats xsrc --json | jq -e '.state == "running"'
}

@test "SRC DST: a live interface's sockets and rings move, a live output is sent on by DST: the frames of an unmoved run (-t 0, 1, 2 fanout)" {
	netns_up
	"$GEN" flows=300,packets=20000,proto=mix,seed=11 in.pcap
	# a reads veth1; b writes a file; c sends back out of veth1 (to veth0, seen there)
	printf 'ports:\n  - { name: a, rx: "live:veth1" }\n  - { name: b, tx: b.pcap }\n  - { name: c, tx: "live:veth1" }\npipeline:\n  switch: { ageing-s: 3600 }\n' >sw.yaml
	local inns="ip netns exec $ns"
	# back NAME: what reaches veth0 from c, into NAME.pcap (a frame at a
	# time: count_is reads it), until stopped ($td)
	back() {
		$inns tcpdump -i veth0 -Q in -U -w "$1.pcap" 2>"$1.err" &
		td=$!
		when_finished stop_pid "$td"
		wait_for grep -q listening "$1.err"
	}
	count_is() { [ "$(tcpdump -nr "$1" 2>/dev/null | wc -l)" -eq "$2" ]; }
	# the unmoved run
	back ref-c
	$inns "$RUN" -q --name ref -c sw.yaml --ordered -t 1 --json=ref.json &
	local ref=$!
	when_finished stop_pid "$ref"
	wait_for "$RUN" --stats ref
	$inns "$REPLAY" -q --pps 20000 in.pcap -i veth0
	wait_tx ref 1 -eq 20000
	wait_for count_is ref-c.pcap 20000
	stop_pid "$ref"
	stop_pid "$td"
	mv b.pcap ref-b.pcap
	jq -e '.ports[0].kernel_drops == 0 and .packets_in == 20000' ref.json
	# -t 0 into 1 and 1 into 0 in order; then a fanout run (two threads, a
	# socket each, no --ordered): its sockets move to a destination of as
	# many threads (one of another count refuses before the stun), each
	# flow in its order, not the flows in theirs
	for t in 0:1:--ordered 1:0:--ordered 2:2:; do # SRC's threads:DST's:order
		local s=${t%%:*} d=${t#*:} order=${t##*:}
		d=${d%%:*}
		rm -f b.pcap src.json dst.json
		back c
		$inns "$RUN" --name src -c sw.yaml $order -t "$s" --json=src.json 2>src.err &
		local src=$!
		when_finished stop_pid "$src"
		$inns "$RUN" --name dst --incoming -c sw.yaml $order -t "$d" -q --json=dst.json &
		dst_pid=$!
		when_finished stop_pid "$dst_pid"
		wait_for "$RUN" ctl dst status
		wait_for "$RUN" --stats src
		# a fanout run's flows may leave out of order while its sockets join
		# (edp-run(1)): the traffic comes after
		[ -n "$order" ] || wait_for grep -q "fanout: 2 workers" src.err
		if [ -z "$order" ]; then
			$inns "$RUN" --name dst1 --incoming -c sw.yaml -t 1 -q &
			local dst1=$!
			when_finished stop_pid "$dst1"
			wait_for "$RUN" ctl dst1 status
			run -1 $inns "$MIGRATE" src dst1
			assert_line --index 0 "edp-migrate: dst1: migrate-in: the source reads its interfaces with 2 threads, a socket each (fanout): the destination must run -t 2, without --ordered"
			assert_line --index 1 "edp-migrate: failed at pre-copy; src was never stunned"
		fi
		$inns "$REPLAY" -q --pps 20000 in.pcap -i veth0 &
		local producer=$!
		wait_rx src 0 -gt 3000
		run $inns "$MIGRATE" src dst --json
		assert_success
		echo "$output" | jq -e --argjson fds "$((s > 1 && ${#order} == 0 ? 3 : 2))" \
			'.ok and .packets_lost == 0 and .descriptors == $fds and .stun_ms > 0'
		wait "$src"
		wait "$producer"
		wait_tx dst 1 -eq "$((20000 - $(jq .packets_in src.json)))"
		wait_for count_is c.pcap 20000
		"$RUN" ctl dst stop >/dev/null
		wait "$dst_pid"
		stop_pid "$td"
		jq -e -s '.[0].packets_in > 3000 and .[1].packets_in > 0 and .[0].packets_in + .[1].packets_in == 20000
			and .[0].ports[0].kernel_drops == 0 and .[1].ports[0].kernel_drops == 0' src.json dst.json
		local view=frames
		[ -n "$order" ] || view=frames_sorted
		diff <($view ref-b.pcap) <($view b.pcap)
		diff <($view ref-c.pcap) <($view c.pcap)
	done
}

@test "SRC DST, save: another user is refused, by the run directory and by the socket's peer check; SRC goes on" {
	[ "$(id -u)" = 0 ] || skip "needs root to act as another user"
	command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
	EDP_RUNDIR=$(mktemp -d /tmp/edp-peer.XXXXXX)
	when_finished rm -rf "$EDP_RUNDIR"
	chmod 711 "$EDP_RUNDIR"
	"$GEN" flows=20,packets=20000,seed=4 in.pcap
	wire3
	local src
	piped_src 2000 0
	start_incoming dst -t 0 -q
	wait_rx src 0 -gt 0
	chmod 666 "$EDP_RUNDIR"/*.ctl # past the file modes, to the peer check
	nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env EDP_RUNDIR="$EDP_RUNDIR" "$@"; }
	run -1 nobody "$MIGRATE" src dst
	assert_line --index 0 "edp-migrate: EDP_RUNDIR=$EDP_RUNDIR: not a usable run directory: owned by uid 0, not by this user (65534)"
	assert_line --index 1 "edp-migrate: failed at check; src was never stunned"
	run -1 nobody "$MIGRATE" save src -o "$BATS_TEST_TMPDIR/ck.bin"
	test ! -e ck.bin
	# the socket itself: refused on connecting, before any request (a stun
	# or a save) is read
	run setpriv --reuid=65534 --regid=65534 --clear-groups socat -t 5 -u "UNIX-CONNECT:$EDP_RUNDIR/src.ctl" -
	assert_output '{"schema":1,"ok":false,"error":"permission denied: another user'"'"'s connection"}'
	"$RUN" --stats src --json | jq -e '.state == "running" and .control.refused_peer == 1'
	"$RUN" ctl dst status --json | jq -e '.state == "incoming"'
	"$RUN" ctl src stop >/dev/null
	wait "$src"
}

@test "edp-run --incoming: usage" {
	run -2 "$RUN" --incoming -c /dev/null
	assert_output --partial "--incoming needs --name"
	run -2 "$RUN" --incoming --name x -r in.pcap
	assert_output --partial "--incoming takes its inputs and outputs from the source: no -r or -w"
	run -2 "$MIGRATE" a b --max-stun-ms 0
	assert_output --partial "--max-stun-ms: expected milliseconds"
	run -2 "$MIGRATE" save a -o x --strict
	assert_output --partial "--max-stun-ms, --strict, --allow-config-change and --ledger go with SRC DST"
}
