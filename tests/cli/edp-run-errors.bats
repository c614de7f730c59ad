#!/usr/bin/env bats
# edp-run on bad input: every case is one clear line and the right status,
# never a crash; real captures either process with conservation or are
# refused with the right message.
load helper

@test "a missing file: exit 1, one line naming it" {
	run "$RUN" -r nope.pcap -w out.pcap
	assert_failure 1
	assert_output "edp-run: nope.pcap: cannot open: No such file or directory"
}

@test "a directory: exit 1" {
	mkdir d
	run "$RUN" -r d -w out.pcap
	assert_failure 1
	assert_output "edp-run: d: is a directory, not a capture file"
}

@test "an empty file: exit 1" {
	: >empty.pcap
	run "$RUN" -r empty.pcap -w out.pcap
	assert_failure 1
	assert_output "edp-run: empty.pcap: empty file, not a pcap or pcapng capture"
}

@test "bad magic: exit 1" {
	printf 'hello world, not a capture\n' >text.pcap
	run "$RUN" -r text.pcap -w out.pcap
	assert_failure 1
	assert_output "edp-run: text.pcap: bad magic 0x68656c6c, not a pcap or pcapng capture"
}

@test "a file header cut short: exit 1 (libpcap's message, as tcpdump gives it)" {
	head -c 10 "$DATA/tcpreplay-test.pcap" >short.pcap
	run "$RUN" -r short.pcap -w out.pcap
	assert_failure 1
	assert_output --regexp '^edp-run: short.pcap: truncated dump file; tried to read 24 file header bytes, only got 6$'
}

@test "a capture cut mid-packet: exit 1 after writing and flushing every packet before the fault" {
	"$GEN" flows=10,packets=100,seed=1 in.pcap
	head -c $((24 + 50 * 80 + 30)) in.pcap >cut.pcap
	run "$RUN" -r cut.pcap -w out.pcap --json=sum.json
	assert_failure 1
	assert_line --index 0 "edp-run: cut.pcap: after packet 50: truncated dump file; tried to read 64 captured bytes, only got 14"
	assert_equal "$(count out.pcap)" 50
	same_bytes <(head -c $((24 + 50 * 80)) in.pcap) out.pcap
	jq -e '.packets_in == 50 and .packets_forwarded == 50' sum.json
}

@test "a capture cut by another process while it is read: exit 1, the packets before the cut written, in chunks too" {
	"$GEN" flows=10,packets=200000,size=64,seed=1 full.pcap
	head -c $((24 + 100000 * 80)) full.pcap >want.pcap
	for t in 1 2; do
		cp full.pcap in.pcap
		# the run blocks on its full output pipe while the file is cut past
		# the window it read (the next read comes short); with two
		# threads the worker that takes the next chunk meets it
		{ "$RUN" -t $t -r in.pcap -w - -q --json=sum.json 2>err.txt && echo 0 >rc || echo $? >rc; } |
			{ sleep 1; truncate -s $((24 + 100000 * 80 + 10)) in.pcap; cat >out.pcap; }
		assert_equal "$(cat rc)" 1
		assert_equal "$(cat err.txt)" "edp-run: in.pcap: after packet 100000: truncated dump file; tried to read 16 header bytes, only got 10"
		cmp out.pcap want.pcap
		jq -e --arg mode "$([ $t = 1 ] && echo inline || echo chunks)" \
			'.mode == $mode and .packets_in == 100000 and .packets_forwarded == 100000' sum.json
	done
}

@test "a corrupt record length: exit 1, earlier packets kept" {
	"$GEN" flows=10,packets=20,seed=1 in.pcap
	perl -e 'open F, "+<", "in.pcap"; binmode F; seek F, 24 + 5 * 80 + 8, 0; print F pack("V", 0x7fffffff); close F;'
	run "$RUN" -r in.pcap -w out.pcap -q
	assert_failure 1
	assert_output --regexp '^edp-run: in.pcap: after packet 5: .*'
	assert_equal "$(count out.pcap)" 5
}

@test "an unwritable output: exit 1" {
	run "$RUN" -r "$DATA/tcpreplay-test.pcap" -w /nonexistent/dir/out.pcap
	assert_failure 1
	assert_output "edp-run: /nonexistent/dir/out.pcap: cannot create: No such file or directory"
}

@test "the same file as input and output is refused before it is truncated" {
	cp "$DATA/tcpreplay-test.pcap" same.pcap
	run "$RUN" -r same.pcap -w same.pcap
	assert_failure 2
	assert_output "edp-run: same.pcap: is both the input of port in and the output of port in"
	same_bytes same.pcap "$DATA/tcpreplay-test.pcap"
}

@test "-r to an unknown port is a usage error" {
	run "$RUN" -r nosuch=x.pcap
	assert_failure 2
	assert_line --index 0 "edp-run: unknown port 'nosuch' (the ports: in, out, of the built-in config; -c CONFIG names others)"
}

@test "a port given two inputs or two outputs on the command line is a usage error" {
	run "$RUN" -r a.pcap -r in=b.pcap -w out.pcap
	assert_failure 2
	assert_line --index 0 "edp-run: -r: port 'in' already reads 'a.pcap'"
	run "$RUN" -r "$DATA/tcpreplay-test.pcap" -w all.pcap -w out=out.pcap
	assert_failure 2
	assert_line --index 0 "edp-run: -w: port 'out' already writes 'all.pcap'"
	[ ! -e all.pcap ] # refused before anything is created
	[ ! -e out.pcap ]
	run "$RUN" -r in="$DATA/tcpreplay-test.pcap" -w in=in.pcap -w out=out.pcap -q --json
	assert_success
	echo "$output" | jq -e '.packets_in == 179'
}

# Every real capture is processed with conservation, or refused in one line;
# read from the file (a classic pcap from a mapping) as from a pipe (libpcap).
@test "every real capture: conservation or the right refusal, the same from a pipe" {
	traces=("$DATA"/*.pcap "$DATA"/*.pcapng)
	[ -d "$BATS_TEST_DIRNAME/../../../shared/traces" ] && traces+=("$BATS_TEST_DIRNAME"/../../../shared/traces/*.pcap*)
	for t in "${traces[@]}"; do
		name=$(basename "$t")
		run bash -c "'$RUN' -r - -w pipe.pcap -q <'$t'"
		piped=$status
		run "$RUN" -r "$t" -w out.pcap -q --json
		assert_equal "$status" "$piped"
		[ "$status" -ne 0 ] || cmp out.pcap pipe.pcap
		case "$name" in
		tcpdump-cve2015-0261-ipv6.pcap)
			assert_failure 1
			assert_output "edp-run: $t: link type SLIP (8) is not supported (supported: EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP)" ;;
		*)
			assert_success
			n=$(tshark -r "$t" 2>/dev/null | wc -l)
			echo "$output" | jq -e --argjson n "$n" '.packets_in == $n and .packets_in == .packets_forwarded + .packets_dropped'
			assert_equal "$(tshark -r out.pcap 2>/dev/null | wc -l)" "$(echo "$output" | jq .ports[1].tx_packets)" ;;
		esac
	done
}

@test "real captures through a firewall, router and switch: conservation holds" {
	cat >all.yaml <<'YAML'
ports:
  - { name: in, mac: "02:00:00:00:00:fe" }
  - { name: out, tx: out.pcap }
  - { name: other, tx: other.pcap }
pipeline:
  firewall:
    default: allow
    rules:
      - { proto: tcp, dst-port: 443, action: drop }
  router:
    routes:
      - { prefix: 172.16.0.0/12, port: out, next-hop-mac: "02:00:00:00:00:01" }
  switch: {}
YAML
	for t in "$DATA"/tcpreplay-test.pcap "$DATA"/tcpdump-802.1ad_QinQ.pcap "$DATA"/tcpdump-esp_truncated.pcap \
		"$DATA"/tcpdump-bigtcp-ipv6-hbh.pcap "$DATA"/tcpdump-OSPFv2_Capture_FINAL.pcapng; do
		run "$RUN" -c all.yaml -r "$t" -q --json
		assert_success
		echo "$output" | jq -e '.packets_in > 0 and .packets_in == .packets_forwarded + .packets_dropped
			and .packets_dropped == ([.drops[]] | add)'
	done
}

config_error() { # config_error YAML EXPECTED_MESSAGE
	printf '%s\n' "$1" >bad.yaml
	run "$RUN" -c bad.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_failure 2
	assert_output "edp-run: bad.yaml:$2"
}

@test "config errors carry file:line:column and exit 2" {
	config_error 'ports: [' "2:1: YAML error: did not find expected node content"
	config_error 'ports:
  - name: a
bogus: 1' "3:1: top level: unknown key 'bogus' (known: ports, datapath, tlb, flow-cache, pipeline)"
	config_error 'ports:
  - name: Uplink' "2:11: port name 'Uplink' must be 1 to 32 of a-z 0-9 _ -"
	config_error 'ports:
  - name: a
  - name: a' "3:5: duplicate port name 'a'"
	config_error 'ports:
  - { name: a, mac: "02:00:00:00:00" }' "2:21: bad MAC address '02:00:00:00:00' (expected xx:xx:xx:xx:xx:xx)"
	config_error 'ports:
  - name: a
pipeline:
  firewall:
    rules:
      - { src: 10.0.0.1/8, action: drop }' "6:16: bad prefix '10.0.0.1/8': host bits are set past the prefix length"
	config_error 'ports:
  - name: a
pipeline:
  firewall:
    rules:
      - { dst: 10.0.0.0/33, action: drop }' "6:16: bad prefix '10.0.0.0/33': prefix length must be 0 to 32"
	config_error 'ports:
  - name: a
pipeline:
  firewall:
    rules:
      - { in-port: b, action: drop }' "6:20: unknown port 'b'"
	config_error 'ports:
  - name: a
pipeline:
  router:
    routes:
      - { prefix: 10.0.0.0/8, port: a, next-hop-mac: "02:00:00:00:00:01" }
      - { prefix: "2001:db8::/32", port: a, next-hop-mac: "02:00:00:00:00:01" }
      - { prefix: 10.1.0.0/16, port: a, next-hop-mac: "02:00:00:00:00:01" }
      - { prefix: "2001:db8:0::/32", port: a, next-hop-mac: "02:00:00:00:00:02" }
      - { prefix: 10.0.0.0/8, port: a, next-hop-mac: "02:00:00:00:00:02" }' \
		"9:9: route 4 has the same prefix as route 2 (line 7)"
	config_error 'ports:
  - name: a
pipeline:
  firewall:
    rules:
      - { dst-port: 443-80, action: drop }' "6:21: dst-port must be a port 0-65535 or a range LOW-HIGH, not '443-80'"
	config_error 'ports:
  - name: a
pipeline:
  router:
    routes:
      - { prefix: 10.0.0.0/8, port: zz, next-hop-mac: "02:00:00:00:00:01" }' "6:37: unknown port 'zz'"
	config_error 'ports:
  - name: a
pipeline:
  switch:
    ageing-s: -5' "5:15: ageing-s must be an integer from 1 to 1000000, not '-5'"
	config_error 'ports:
  - name: a
flow-cache:
  entries: lots' "4:12: entries must be an integer from 1 to 16777216, not 'lots'"
	config_error 'ports:
  - name: a
pipeline:
  firewall:
    rules:
      - { proto: udp }' "6:9: firewall rule has no action (allow or drop)"
	config_error '' "1:1: empty config (at least 'ports' is needed)"
	# numbers are decimal: 0x10 is refused, never sixteen
	config_error 'ports:
  - name: a
flow-cache:
  entries: 0x10' "4:12: entries must be an integer from 1 to 16777216, not '0x10'"
}

@test "integers are decimal (010 is ten), deep nesting fails fast with its position" {
	printf 'ports: [ { name: a }, { name: b } ]\nflow-cache:\n  entries: 010\n' >ten.yaml
	run "$RUN" -c ten.yaml -r a="$DATA/tcpreplay-test.pcap" -w b=out.pcap --json=sum.json -q
	assert_success
	# 100,000 nested [ took libyaml 42 s: refused at depth 65, at once
	{ printf 'ports: '; head -c 100000 /dev/zero | tr '\0' '['; echo; } >deep.yaml
	SECONDS=0
	run "$RUN" -c deep.yaml -r "$DATA/tcpreplay-test.pcap"
	assert_failure 2
	assert_output "edp-run: deep.yaml:1:71: YAML error: collections nested deeper than 64"
	assert_le "$SECONDS" 2
}

@test "a full disk: exit 1, the failed write said once, what was not written counted as output-error" {
	"$GEN" flows=100,packets=50000,size=64,seed=3 in.pcap
	mkdir small
	if ! mount -t tmpfs -o size=1m tmpfs small 2>mount.err; then
		skip "cannot mount a small tmpfs here: $(cat mount.err)"
	fi
	for t in 0 2; do
		"$RUN" -t "$t" -r in.pcap -w small/out.pcap --json="sum$t.json" 2>"err$t.txt" && echo 0 >"rc$t" || echo $? >"rc$t"
		count small/out.pcap >"written$t"
		rm -f small/out.pcap
	done
	umount small
	for t in 0 2; do
		assert_equal "$(cat "rc$t")" 1
		run cat "err$t.txt"
		[ "$t" = 0 ] || assert_line --index 0 --partial "edp-run: chunks: 2 workers"
		assert_line --index $((t / 2)) "edp-run: small/out.pcap: write failed: No space left on device"
		assert_equal "$(grep -c 'write failed' "err$t.txt")" 1
		# forwarded is what tcpdump finds in the file; the rest of what was read is output-error
		w=$(cat "written$t")
		assert_gt "$w" 1000
		assert_lt "$w" 50000
		jq -e --argjson w "$w" '.packets_forwarded == $w and .ports[1].tx_packets == $w
			and .packets_in == .packets_forwarded + .packets_dropped
			and .drops["output-error"] == .packets_dropped and .ports[0].drops == .packets_dropped
			and .ports[1].tx_errors == .packets_dropped and .packets_dropped > 0' "sum$t.json"
		assert_line --regexp "^  drops: output-error=[0-9]+$"
		assert_line --regexp "^  port out: [0-9]+ packets not written: its output failed$"
		assert_line --regexp "^  conservation: ([0-9]+) read = $w forwarded \\+ [0-9]+ dropped$"
	done
}

@test "a time after 2106 is refused, not wrapped: exit 1, counted as output-error, the packets before it written" {
	pcapng_at late.pcapng 1000 7300000000 1001
	for t in 0 2; do
		run "$RUN" -t $t -r late.pcapng -w out.pcap --json=sum.json
		assert_failure 1
		[ "$t" = 0 ] || assert_line --index 0 --partial "edp-run: chunks: 2 workers"
		assert_line --index $((t / 2)) "edp-run: out.pcap: packet 2: time 7300000000 s is after 2106-02-07, the last a pcap file holds"
		assert_equal "$(count out.pcap)" 1
		jq -e '.packets_in == 3 and .packets_forwarded == 1 and .drops["output-error"] == 2 and .ports[1].tx_errors == 2' sum.json
	done
}

@test "a closed pipe ends the run at once with exit 1, whatever --loop says, SIGPIPE default or ignored" {
	for t in 0 1 2; do
		for sig in default ignored; do
			(
				[ $sig = ignored ] && trap '' PIPE
				timeout 20 "$RUN" -t "$t" -r "$DATA/tcpreplay-test.pcap" --loop 0 -w - -q 2>"err$t$sig" |
					head -c 100 >/dev/null
				echo "${PIPESTATUS[0]}" >"rc$t$sig"
			)
			[ "$(cat "rc$t$sig")" = 1 ] || { cat "err$t$sig"; false; }
			assert_equal "$(cat "err$t$sig")" "edp-run: stdout: write failed: Broken pipe"
		done
	done
}

@test "--json=- or --json=/dev/stdout with -w -, or --json naming the output: exit 2, nothing written" {
	run "$RUN" -r "$DATA/tcpreplay-test.pcap" -w - --json=-
	assert_failure 2
	assert_line --index 0 "edp-run: --json: '-' is where port in's capture goes: give another FILE"
	"$RUN" -r "$DATA/tcpreplay-test.pcap" -w - --json=/dev/stdout >out.bin 2>err.txt && false || [ $? = 2 ]
	[ ! -s out.bin ]
	grep -qx "edp-run: --json: '/dev/stdout' is where port in's capture goes: give another FILE" err.txt
	run "$RUN" -r "$DATA/tcpreplay-test.pcap" -w out.pcap --json=out.pcap
	assert_failure 2
	assert_line --index 0 "edp-run: --json: 'out.pcap' is where port in's capture goes: give another FILE"
	# /dev/null twice harms nothing
	run "$RUN" -q -r "$DATA/tcpreplay-test.pcap" -w /dev/null --json=/dev/null
	assert_success
}

@test "a missing config file: exit 2" {
	run "$RUN" -c nope.yaml
	assert_failure 2
	assert_output "edp-run: nope.yaml: cannot open config: No such file or directory"
	mkdir conf.d
	run "$RUN" -c conf.d
	assert_failure 2
	assert_output "edp-run: conf.d: cannot read config: it is a directory"
}

@test "corrupted captures: exit 0 or 1 with one line, never a crash, conservation on success" {
	"$GEN" flows=50,packets=300,size=60-300,proto=mix,v6=0.3,vlan=5,seed=77 in.pcap
	cp "$DATA/tcpreplay-test.pcap" real.pcap
	printf 'ports:\n  - { name: a, mac: "02:00:00:00:00:01" }\n  - { name: b, tx: b.pcap }\n  - { name: c, tx: c.pcap }\npipeline:\n  firewall:\n    rules:\n      - { proto: udp, dst-port: 1-1000, action: drop }\n  router:\n    routes:\n      - { prefix: 192.168.0.0/17, port: b, next-hop-mac: "02:00:00:00:00:09" }\n  switch: {}\n' >all.yaml
	for seed in $(seq 1 40); do
		for src in in.pcap real.pcap; do
			perl -e 'my ($f, $seed) = @ARGV; srand($seed); open F, "+<", $f or die; binmode F;
				my $size = -s $f; for (1 .. 30) { seek F, 24 + int(rand($size - 24)), 0; print F chr(int(rand(256))); }
				close F;' "$src" "$seed" 2>/dev/null
			run bash -c "'$RUN' -c all.yaml -r a=- -q <'$src' 2>&1 | sed 's/stdin: //'"
			piped=$output
			run "$RUN" -c all.yaml -r "a=$src" -q --json=sum.json
			[ "$status" -eq 0 ] || [ "$status" -eq 1 ]
			assert_le "${#lines[@]}" 1
			assert_equal "${output//$src: /}" "$piped" # the mapped file's error is libpcap's
			if [ "$status" -eq 0 ]; then
				jq -e '.packets_in == .packets_forwarded + .packets_dropped and .packets_dropped == ([.drops[]] | add)' sum.json
			fi
		done
	done
}

@test "--loop: a later pass with a larger snapshot length (a FIFO written again) is refused, exit 1" {
	"$GEN" flows=4,packets=20,size=64,seed=1 a.pcap
	"$GEN" flows=4,packets=20,size=9000,seed=2 big.pcap
	# a's header says a snapshot length of 128
	{ head -c 16 a.pcap; le32 128; tail -c +21 a.pcap; } >small.pcap
	mkfifo f
	(cat small.pcap >f; sleep 1; cat big.pcap >f) & # the reader closes the FIFO at the end of a pass: the second writer comes after
	run timeout 20 "$RUN" -t 0 -r f --loop 2 -w out.pcap
	wait
	assert_failure 1
	assert_line --index 0 "edp-run: f: pass 2: snapshot length 65535 is larger than the first pass's 128 (--loop)"
	assert_equal "$(count out.pcap)" 20
	(cat small.pcap >f; sleep 1; cat big.pcap >f) &
	run timeout 20 "$RUN" -t 2 -r f --loop 2 -w out.pcap
	wait
	assert_failure 1
	assert_line --index 0 --partial "not chunks: the input is a pipe"
	assert_line --index 1 "edp-run: f: pass 2: snapshot length 65535 is larger than the first pass's 128 (--loop)"
	assert_equal "$(count out.pcap)" 20
}
