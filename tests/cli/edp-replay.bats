#!/usr/bin/env bats
# edp-replay: exact replay to files and pipes, pacing, loops and limits,
# rewrites (checked by tcpdump and tshark), synthetic traffic, errors.
load helper

@test "--help, --version, bad options" {
	run "$REPLAY" --help
	assert_success
	assert_line --index 0 "Usage: edp-replay [OPTION]... [CAPTURE]..."
	run "$REPLAY" --version
	assert_success
	assert_output --regexp '^edp-replay [0-9]+\.[0-9]+'
	run "$REPLAY" --bogus
	assert_failure 2
	run "$REPLAY" --pps 0 x.pcap -w o.pcap
	assert_failure 2
	assert_line --index 0 "edp-replay: --pps: expected a rate greater than 0, not '0'"
	run "$REPLAY" --pps 10 --topspeed x.pcap -w o.pcap
	assert_failure 2
	assert_line --index 0 "edp-replay: choose one timing: --multiplier, --pps, --mbps or --topspeed"
	run "$REPLAY" --wire-bits --pps 10 x.pcap -w o.pcap
	assert_line --index 0 "edp-replay: --wire-bits: only goes with --mbps"
	run "$REPLAY" --src-mac 02:00:00:00:00 x.pcap -w o.pcap
	assert_line --index 0 "edp-replay: --src-mac: expected xx:xx:xx:xx:xx:xx, not '02:00:00:00:00'"
	run "$REPLAY" --vlan-add 4096 x.pcap -w o.pcap
	assert_line --index 0 "edp-replay: --vlan-add: expected a VLAN ID from 0 to 4095, not '4096'"
	run "$REPLAY" --synth flows=0 -w o.pcap
	assert_failure 2
	assert_line --index 0 "edp-replay: --synth: synthetic spec: flows=0: expected 1 to 16777216"
	run "$REPLAY" -w o.pcap
	assert_failure 2
	assert_output "edp-replay: nothing to replay: name a capture, '-' for stdin, or --synth SPEC"
	run "$REPLAY" --merge "$DATA/tcpreplay-test.pcap" -w o.pcap
	assert_failure 2
	assert_output "edp-replay: --merge needs two captures or more"
	run bash -c "'$REPLAY' --loop 2 - -w o.pcap <'$DATA/tcpreplay-test.pcap'"
	assert_failure 2
	assert_output "edp-replay: stdin: cannot be read more than once (--loop without --preload)"
}

@test "a replay to a file is byte-identical to its input, real captures and generated ones" {
	for f in tcpreplay-test.pcap tcpdump-802.1ad_QinQ.pcap tcpdump-bigtcp-ipv6-hbh.pcap; do
		"$REPLAY" -T -q "$DATA/$f" -w out.pcap
		same_bytes "$DATA/$f" out.pcap
	done
	# the capture's own pace, 10 us gaps: same bytes too
	"$GEN" flows=20,packets=3000,size=64-1500,proto=mix,v6=0.3,gap-ns=10000,seed=4 in.pcap
	"$REPLAY" -q in.pcap -w out.pcap
	same_bytes in.pcap out.pcap
	# a header with FCS bits in its link type: every packet still the same
	"$REPLAY" -T -q "$DATA/tcpdump-esp_truncated.pcap" -w out.pcap
	same_body "$DATA/tcpdump-esp_truncated.pcap" out.pcap
	# pcapng in, pcap out: tcpdump reads the same packets
	"$REPLAY" -T -q "$DATA/tcpdump-OSPFv2_Capture_FINAL.pcapng" -w out.pcap
	assert_equal "$(reading "$DATA/tcpdump-OSPFv2_Capture_FINAL.pcapng")" "$(reading out.pcap)"
}

@test "stdout by default when it is a pipe; replay | edp-run conserves every packet" {
	"$GEN" flows=50,packets=5000,seed=9 in.pcap
	"$REPLAY" -T -q in.pcap | cat >out.pcap
	same_bytes in.pcap out.pcap
	"$REPLAY" --pps 50000 -q in.pcap | "$RUN" -r - -w run.pcap -q --json=sum.json
	jq -e '.packets_in == 5000 and .packets_forwarded == 5000' sum.json
	same_bytes in.pcap run.pcap
}

@test "--pps: exact count, the rate within 1%, gap percentiles in the JSON" {
	run "$REPLAY" --synth flows=100,packets=20000,seed=3 --pps 20000 -w out.pcap --json -q
	assert_success
	echo "$output" | jq -e '.packets == 20000 and .bytes == 1280000 and .flows == 100 and .loops == 1
		and .pacing.mode == "pps" and .pacing.target == 20000
		and (.pacing.rate_error | fabs) < 0.01 and (.seconds > 0.98 and .seconds < 1.05)
		and .pacing.gap_p50_ns > 45000 and .pacing.gap_p50_ns < 55000'
	assert_equal "$(count out.pcap)" 20000
}

@test "--limit, --loop and --duration give exact counts" {
	"$GEN" flows=10,packets=1000,seed=5 in.pcap
	run "$REPLAY" -T -q --limit 123 in.pcap -w out.pcap --json
	echo "$output" | jq -e '.packets == 123'
	assert_equal "$(count out.pcap)" 123
	run "$REPLAY" -T -q --loop 3 in.pcap -w out.pcap --json
	echo "$output" | jq -e '.packets == 3000 and .loops == 3'
	assert_equal "$(count out.pcap)" 3000
	# loops continue in time: timestamps never go back
	tcpdump -r out.pcap -tt -n 2>/dev/null | awk '{ if ($1 < last) exit 1; last = $1 }'
	# 10,000 pps for 0.5 s: packets due at 0, 0.1 ms, ... 499.9 ms
	run "$REPLAY" --synth packets=100000 --pps 10000 --duration 0.5 -w out.pcap --json -q
	echo "$output" | jq -e '.packets == 5000'
	run "$REPLAY" -T -q --loop 0 --limit 2500 in.pcap -w out.pcap --json
	echo "$output" | jq -e '.packets == 2500 and .loops == 3'
}

@test "--multiplier: the capture's gaps, scaled" {
	"$GEN" flows=10,packets=101,gap-ns=10000000,seed=6 in.pcap # 1 s of capture
	run "$REPLAY" -q -x 4 in.pcap -w out.pcap --json
	echo "$output" | jq -e '.packets == 101 and .pacing.multiplier == 4 and .seconds > 0.24 and .seconds < 0.27'
	same_bytes in.pcap out.pcap
}

@test "a capture past 2038 (seconds over 2^31) is paced by its own gaps" {
	# 2 ms, then 1 ms, between the packets, across 2^31 s: the seconds are an
	# unsigned 32-bit field, which libpcap hands over sign-extended
	stamped y2038.pcap 2147483647:999000000 2147483648:001000000 2147483648:002000000
	run timeout -s KILL 10 "$REPLAY" -q -w out.pcap --json y2038.pcap
	assert_success
	same_bytes y2038.pcap out.pcap
	echo "$output" | jq -e '.packets == 3 and .seconds >= 0.003 and .seconds < 1'
}

@test "SIGTERM during an hour-long gap of the capture stops the replay at once" {
	stamped gap.pcap 100:0 3700:0
	"$REPLAY" -q -w out.pcap --json gap.pcap >res.json &
	pid=$!
	when_finished stop_pid "$pid"
	sleep 0.3
	kill -TERM "$pid"
	for _ in $(seq 20); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		false # still asleep 2 s after the signal
	fi
	wait "$pid"
	jq -e '.packets == 1' res.json
	assert_equal "$(tcpdump -r out.pcap -n 2>/dev/null | wc -l)" 1
}

@test "SIGTERM while stdin is quiet stops cleanly (exit 0), also while preloading" {
	for pre in "" --preload; do
		rm -f in.fifo out.pcap
		mkfifo in.fifo
		# shellcheck disable=SC2086
		"$REPLAY" --topspeed $pre -w out.pcap - <in.fifo 2>err.txt &
		pid=$!
		when_finished stop_pid "$pid"
		exec 5>in.fifo # the writer end stays open: the pipe goes quiet, not away
		cat "$DATA/tcpreplay-test.pcap" >&5
		sleep 0.5
		kill -TERM "$pid"
		rc=0
		wait "$pid" || rc=$?
		exec 5>&-
		assert_equal "$rc" 0
		if [ -z "$pre" ]; then
			assert_equal "$(count out.pcap)" 179
			grep -q '^edp-replay: 179 packets' err.txt
		else
			assert_equal "$(count out.pcap)" 0
			grep -q '^edp-replay: 0 packets' err.txt
		fi
		! grep -q 'error' err.txt
	done
}

@test "--merge interleaves by timestamp; several captures in order otherwise" {
	"$GEN" flows=5,packets=100,gap-ns=2000,seed=7 a.pcap
	"$GEN" flows=5,packets=100,gap-ns=3000,seed=8 b.pcap
	"$REPLAY" -T -q --merge a.pcap b.pcap -w out.pcap
	assert_equal "$(count out.pcap)" 200
	# the same packets as mergecap's merge, in time order; on equal times
	# the first capture's packet first (both start at the same time)
	mergecap -F pcap -w want.pcap a.pcap b.pcap
	diff -u <(tcpdump -r want.pcap -n -e -tt 2>/dev/null | sort) <(tcpdump -r out.pcap -n -e -tt 2>/dev/null | sort)
	tcpdump -r out.pcap -tt -n 2>/dev/null | awk '{ if ($1 < last) exit 1; last = $1 }'
	diff -u <(tcpdump -r out.pcap -n -e -c 2 2>/dev/null | cut -d' ' -f2-) \
		<( (tcpdump -r a.pcap -n -e -c 1; tcpdump -r b.pcap -n -e -c 1) 2>/dev/null | cut -d' ' -f2-)
	"$REPLAY" -T -q a.pcap b.pcap -w out.pcap
	assert_equal "$(count out.pcap)" 200
	# b starts where a started: its times move to follow a's
	tcpdump -r out.pcap -tt -n 2>/dev/null | awk '{ if ($1 < last) exit 1; last = $1 }'
}

@test "stdin with --preload can be looped" {
	"$GEN" flows=5,packets=100,seed=10 in.pcap
	run bash -c "'$REPLAY' -T -q --preload --loop 4 - -w out.pcap --json <in.pcap"
	assert_success
	echo "$output" | jq -e '.packets == 400'
}

@test "rewrites: MACs and VLAN push seen by tcpdump, VLAN pop, checksums fixed by --ip-offset" {
	"$GEN" flows=4,packets=40,proto=mix,v6=0.5,seed=11 in.pcap
	"$REPLAY" -T -q --src-mac 02:aa:bb:cc:dd:01 --dst-mac 02:aa:bb:cc:dd:02 --vlan-add 77 in.pcap -w out.pcap
	assert_equal "$(tcpdump -r out.pcap -n -e 2>/dev/null | grep -c '^.*02:aa:bb:cc:dd:01 > 02:aa:bb:cc:dd:02, ethertype 802.1Q (0x8100), length [0-9]*: vlan 77, p 0')" 40
	"$REPLAY" -T -q --vlan-strip out.pcap -w back.pcap
	assert_equal "$(tcpdump -r back.pcap -n -e 2>/dev/null | grep -c 'vlan')" 0
	assert_equal "$(tcpdump -r back.pcap -n 2>/dev/null | cut -d' ' -f2-)" "$(tcpdump -r in.pcap -n 2>/dev/null | cut -d' ' -f2-)"
	# the outer tag of a QinQ frame pops, the inner one stays
	"$REPLAY" -T -q --vlan-strip "$DATA/tcpdump-802.1ad_QinQ.pcap" -w q.pcap
	assert_equal "$(tcpdump -r q.pcap -n -e 2>/dev/null | grep -c '802.1Q')" "$(count q.pcap)"
	# loop 2 shifts every address by 256: new flows, valid checksums
	run "$REPLAY" -T -q --loop 2 --ip-offset 256 in.pcap -w out.pcap --json
	echo "$output" | jq -e '.packets == 80 and .flows == 8'
	tcpdump -r out.pcap -n 2>/dev/null | tail -40 | grep -q ' 10\.0\.1\.'
	[ "$(tshark -r out.pcap -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-Y 'ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || udp.checksum.status == "Bad"' 2>/dev/null | wc -l)" -eq 0 ]
	[ "$(tshark -r out.pcap -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
		-Y 'tcp.checksum.status == "Good" || udp.checksum.status == "Good"' 2>/dev/null | wc -l)" -eq 80 ]
}

@test "synthetic traffic is the same for a seed, different for another; zipf skews flows" {
	"$REPLAY" -T -q --synth flows=100,packets=2000,size=imix,proto=mix,v6=0.2,vlan=100,zipf=1.1,seed=7 -w a.pcap
	"$REPLAY" -T -q --synth flows=100,packets=2000,size=imix,proto=mix,v6=0.2,vlan=100,zipf=1.1,seed=7 -w b.pcap
	"$REPLAY" -T -q --synth flows=100,packets=2000,size=imix,proto=mix,v6=0.2,vlan=100,zipf=1.1,seed=8 -w c.pcap
	same_bytes a.pcap b.pcap
	! cmp -s a.pcap c.pcap
	assert_equal "$(count a.pcap)" 2000
	# the top flow of 100 under zipf 1.1 carries about 1/H(100, 1.1) = 21% of the packets
	top=$(tcpdump -r a.pcap -n 2>/dev/null | awk '{ print $3, $5 }' | sort | uniq -c | sort -rn | head -1 | awk '{ print $1 }')
	assert_gt "$top" 300
	assert_lt "$top" 560
	# a frame too short for its headers is made just long enough for them
	"$REPLAY" -T -q --synth packets=2,size=10 -w short4.pcap
	"$REPLAY" -T -q --synth packets=2,size=10,proto=tcp,v6=1,vlan=5 -w short6.pcap
	assert_equal "$(tcpdump -r short4.pcap -n -e 2>/dev/null | grep -c 'length 42: ')" 2
	assert_equal "$(tcpdump -r short6.pcap -n -e 2>/dev/null | grep -c 'length 78: ')" 2
}

@test "errors: a missing capture, an unsupported link type, a reader that goes away" {
	run "$REPLAY" -T nosuch.pcap -w out.pcap
	assert_failure 1
	assert_output "edp-replay: nosuch.pcap: cannot open: No such file or directory"
	run "$REPLAY" -T "$DATA/tcpdump-cve2015-0261-ipv6.pcap" -w out.pcap
	assert_failure 1
	assert_output --partial "link type SLIP (8) is not supported"
	run bash -c "'$REPLAY' --synth packets=1000000 -T 2>err.txt | head -c 1000 >/dev/null; echo \${PIPESTATUS[0]}"
	assert_output "1"
	grep -q "^edp-replay: stdout: write failed: Broken pipe$" err.txt
	grep -qE "^edp-replay: [0-9]+ packets \([0-9]+ bytes\)" err.txt
}

@test "-i: every packet arrives on the other end of a veth pair, as sent" {
	netns_up
	"$REPLAY" -T -q --synth flows=20,packets=3000,size=64-1000,proto=mix,seed=12 -w want.pcap
	ip netns exec "$ns" tcpdump -i veth1 --immediate-mode -U -n -s 2048 -B 65536 -w got.pcap 2>tcpdump.err 3>&- &
	cap=$!
	when_finished stop_pid "$cap"
	wait_for grep -q "listening on veth1" tcpdump.err
	run ip netns exec "$ns" "$REPLAY" -q --pps 10000 --synth flows=20,packets=3000,size=64-1000,proto=mix,seed=12 -i veth0 --json
	assert_success
	echo "$output" | jq -e '.packets == 3000 and .failed == 0'
	sleep 0.5
	kill -TERM "$cap"
	wait "$cap" || true
	assert_equal "$(count got.pcap)" 3000
	diff -u <(tcpdump -r got.pcap -n -e -x 2>/dev/null | sed 's/^[0-9:.]* //') <(tcpdump -r want.pcap -n -e -x 2>/dev/null | sed 's/^[0-9:.]* //')
	run "$REPLAY" -T --synth packets=1 -i nosuch0
	assert_failure 1
	assert_output "edp-replay: nosuch0: cannot open for sending: no such interface"
	run "$REPLAY" -T --synth packets=1 -i lo -w x.pcap
	assert_failure 2
	assert_line --index 0 "edp-replay: give one of -w FILE, -i IFACE and --to NAME:PORT"
	run "$REPLAY" -T --synth packets=1 -w x.pcap -w y.pcap
	assert_failure 2
	assert_line --index 0 "edp-replay: -w: given twice (first 'x.pcap')"
	[ ! -e x.pcap ]
	[ ! -e y.pcap ]
}

@test "a full disk: exit 1 naming the file and the reason, the summary of what was sent" {
	run "$REPLAY" -T --synth packets=10 -w /dev/full
	assert_failure 1
	assert_output "edp-replay: /dev/full: cannot write the pcap header: No space left on device"
	mkdir small
	if ! mount -t tmpfs -o size=1m tmpfs small 2>mount.err; then
		skip "cannot mount a small tmpfs here: $(cat mount.err)"
	fi
	run "$REPLAY" -T --synth packets=100000,size=64 -w small/out.pcap
	n=$(count small/out.pcap)
	assert_failure 1
	assert_line --index 0 "edp-replay: small/out.pcap: write failed: No space left on device"
	# what it says was sent is what tcpdump finds in the file; the rest failed
	assert_line --index 1 --regexp "^edp-replay: $n packets \([0-9]+ bytes\) in .*, [0-9]+ failed$"
	run "$REPLAY" -T -q --synth packets=100000,size=64 -w small/out.pcap --json=sum.json
	n=$(count small/out.pcap)
	umount small
	assert_failure 1
	jq -e --argjson n "$n" '.packets == $n and .bytes == 64 * $n and .failed > 0' sum.json
}

@test "a capture replayed onto itself (or through a link) is refused: exit 2, the capture intact" {
	cp "$DATA/tcpreplay-test.pcap" same.pcap
	ln -s same.pcap link.pcap
	for out in same.pcap link.pcap ./same.pcap; do
		run "$REPLAY" -T same.pcap -w "$out"
		assert_failure 2
		assert_output "edp-replay: same.pcap: is both a capture replayed and the output"
	done
	same_bytes same.pcap "$DATA/tcpreplay-test.pcap"
}

@test "--json=- or --json=/dev/stdout while the capture goes to stdout: exit 2, nothing written" {
	for j in - /dev/stdout; do
		"$REPLAY" -T "$DATA/tcpreplay-test.pcap" -w - --json="$j" >out.bin 2>err.txt && false || [ $? = 2 ]
		[ ! -s out.bin ]
		grep -qx "edp-replay: --json: '$j' is where the capture goes: give another FILE" err.txt
	done
}

@test "a time after 2106 is refused, not wrapped: exit 1, the packets before it written" {
	pcapng_at late.pcapng 1000 7300000000 1001
	run "$REPLAY" -T late.pcapng -w out.pcap
	assert_failure 1
	assert_line --index 0 "edp-replay: out.pcap: packet 2: time 7300000000 s is after 2106-02-07, the last a pcap file holds"
	assert_equal "$(count out.pcap)" 1
	assert_equal "$(tcpdump -r out.pcap -tt 2>/dev/null | cut -d' ' -f1)" 1000.000000
}
