# Shared set-up for the CLI tests.
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

EDP_BUILD=${EDP_BUILD:-$BATS_TEST_DIRNAME/../../build}
RUN=$EDP_BUILD/edp-run
REPLAY=$EDP_BUILD/edp-replay
GEN=$EDP_BUILD/tests/edp-gen
ATTACK=$EDP_BUILD/tests/edp-ctl-attack
DATA=$BATS_TEST_DIRNAME/../data
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

setup() {
	cd "$BATS_TEST_TMPDIR" || exit 1
	# live stats segments of the instances a test starts stay in the test's
	# own directory
	export EDP_RUNDIR=$BATS_TEST_TMPDIR/run
}

# when_finished CMD [ARG]...: run CMD when the test ends, passed or failed
# (git's test_when_finished); the last registered runs first. A test file
# with a teardown of its own calls finish_test from it.
_finish=()
when_finished() {
	_finish+=("$(printf '%q ' "$@")")
}

finish_test() {
	local i
	for ((i = ${#_finish[@]} - 1; i >= 0; i--)); do
		eval "${_finish[i]}" || true
	done
	_finish=()
}

teardown() {
	finish_test
}

# stop_pid PID: SIGINT (after SIGCONT) to a process this test started, its
# end awaited (SIGKILL after 10 s); returns its exit status, 0 when it had
# already been waited for
stop_pid() {
	kill -CONT "$1" 2>/dev/null || true
	kill -INT "$1" 2>/dev/null || return 0
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1"
}

# pid_published PID: an instance in the run directory is process PID
pid_published() {
	local f
	for f in "$EDP_RUNDIR"/*.stats; do
		[ -e "$f" ] || continue
		f=${f##*/}
		[ "$("$RUN" --stats "${f%.stats}" --json 2>/dev/null | jq .pid)" = "$1" ] && return 0
	done
	return 1
}

# start_run NAME ARG...: edp-run --name NAME ARG... (NAME "": unnamed) in
# the background, its PID in $pid, stopped when the test ends; returns once
# its live stats are published
start_run() {
	local name=$1
	shift
	"$RUN" ${name:+--name "$name"} "$@" &
	pid=$!
	when_finished stop_pid "$pid"
	if [ -n "$name" ]; then
		wait_for "$RUN" --stats "$name"
	else
		wait_for pid_published "$pid"
	fi
}

# assert_gt A B (assert_ge, assert_lt, assert_le): numbers compared, both
# printed when the comparison fails
assert_gt() { (($1 > $2)) || fail "expected $1 > $2"; }
assert_ge() { (($1 >= $2)) || fail "expected $1 >= $2"; }
assert_lt() { (($1 < $2)) || fail "expected $1 < $2"; }
assert_le() { (($1 <= $2)) || fail "expected $1 <= $2"; }

# same_bytes A B: A and B (files or <(...)) hold the same bytes; when they
# do not, cmp's first difference and a diff -u of tcpdump's reading of both
# (of their hex dumps when tcpdump reads neither)
same_bytes() {
	local a=$BATS_TEST_TMPDIR/same.a b=$BATS_TEST_TMPDIR/same.b
	cat "$1" >"$a" && cat "$2" >"$b" || return 1
	cmp -s "$a" "$b" && return 0
	echo "$1 and $2 differ: $(cmp "$a" "$b" 2>&1)"
	if tcpdump -r "$a" -c 1 >/dev/null 2>&1 || tcpdump -r "$b" -c 1 >/dev/null 2>&1; then
		diff -u --label "$1" --label "$2" <(packets "$a") <(packets "$b") | head -n 60
	else
		diff -u --label "$1" --label "$2" <(od -An -tx1 -v "$a") <(od -An -tx1 -v "$b") | head -n 60
	fi
	return 1
}

# same_body A B: two captures hold the same records (their bytes past the
# 24-byte file header)
same_body() {
	same_bytes <(body "$1") <(body "$2")
}

# wait_for CMD...: retry CMD for up to 10 s
wait_for() {
	for _ in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@"
}

# fw_yaml FILE RULE...: a config of ports in and out whose firewall allows
# by default and drops by each RULE (a flow mapping's keys, as
# "proto: udp, dst-port: 53"), one line each
fw_yaml() {
	local file=$1 rule
	shift
	printf 'ports: [ { name: in }, { name: out } ]\npipeline:\n  firewall:\n    default: allow\n    rules:\n' >"$file"
	for rule in "$@"; do
		printf '      - { %s, action: drop }\n' "$rule" >>"$file"
	done
}

# fnv1a64 FILE: the 64-bit FNV-1a of a file's bytes, as edp-run's status gives it
fnv1a64() {
	od -An -tu1 -v "$1" | tr -s ' ' '\n' | grep . | {
		h=$((0xcbf29ce484222325))
		while read -r b; do h=$(((h ^ b) * 0x100000001b3)); done
		printf 'fnv1a64:%016x\n' "$h"
	}
}

# Number of packets in a capture, as tcpdump reads it.
count() {
	tcpdump -r "$1" -w - 2>/dev/null | tcpdump -r - -n 2>/dev/null | grep -c '^[0-9][0-9]:'
}

# tcpdump's verbose reading of a capture, without timestamps skew: used to
# compare two captures as an independent oracle.
reading() {
	tcpdump -r "$1" -n -e -v -tt 2>/dev/null
}

# The capture minus its 24-byte file header.
body() {
	tail -c +25 "$1"
}

# netns_up: a network namespace of this test ($ns) with veth0 <-> veth1 up
# and no IPv6 chatter, removed when the test ends
netns_up() {
	ns=edp-test-$$-${BATS_TEST_NUMBER}
	if ! ip netns add "$ns" 2>ns.err; then
		skip "network namespaces are not available here: $(cat ns.err)"
	fi
	when_finished ip netns del "$ns"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip netns exec "$ns" ip link add veth0 type veth peer name veth1
	ip netns exec "$ns" ip link set veth0 up
	ip netns exec "$ns" ip link set veth1 up
}

# A capture's packets as tcpdump reads them, with nanosecond times whatever
# the file's precision: two captures of the same packets read the same.
packets() {
	tcpdump -r "$1" -n -e -x -tt --time-stamp-precision=nano 2>/dev/null
}

# same_packets A B: the two captures hold the same packets (by packets())
same_packets() {
	packets "$1" >"$1.txt"
	packets "$2" >"$2.txt"
	[ -s "$1.txt" ] && diff -u "$1.txt" "$2.txt"
}

# rx_of NAME PORT-INDEX (tx_of): packets the running instance NAME has read
# (written) on a port
rx_of() {
	"$RUN" --stats "$1" --json 2>/dev/null | jq ".ports[$2].rx_packets"
}
tx_of() {
	"$RUN" --stats "$1" --json 2>/dev/null | jq ".ports[$2].tx_packets"
}

# wait_rx NAME PORT-INDEX OP N (wait_tx): wait up to 10 s until rx_of (tx_of)
# NAME PORT-INDEX is OP N (OP as test(1) has it: -eq, -gt, ...)
wait_rx() { wait_count rx "$@"; }
wait_tx() { wait_count tx "$@"; }
wait_count() {
	for _ in $(seq 100); do
		[ "$("$1_of" "$2" "$3")" "$4" "$5" ] 2>/dev/null && return 0
		sleep 0.1
	done
	echo "instance $2 port $3: $1 $("$1_of" "$2" "$3"), expected $4 $5" >&2
	return 1
}

# A fake sysfs tree for edp-assign (--sysfs-root), under $SYS:
#   fake_node ID CPULIST
#   fake_dev ADDR class=0x020000 vendor=8086 device=1592 node=0 group=12
#            driver=ice version=1.12.7 fw=4.40 iface=eth0 state=up pf=ADDR
#            totalvfs=8 numvfs=4 virtio=1 (the interface under virtio0/)
#            subsys=8086:0001 cpus=0-7
fake_node() {
	mkdir -p "$SYS/devices/system/node/node$1"
	echo "$2" >"$SYS/devices/system/node/node$1/cpulist"
}

fake_dev() {
	local addr=$1 d kv k v iface="" state=down virtio=""
	shift
	d=$SYS/bus/pci/devices/$addr
	mkdir -p "$d"
	echo 0x020000 >"$d/class"
	echo 0x8086 >"$d/vendor"
	echo 0x1592 >"$d/device"
	echo -1 >"$d/numa_node"
	for kv in "$@"; do
		k=${kv%%=*} v=${kv#*=}
		case $k in
		class) echo "$v" >"$d/class" ;;
		vendor) echo "0x$v" >"$d/vendor" ;;
		device) echo "0x$v" >"$d/device" ;;
		node) echo "$v" >"$d/numa_node" ;;
		group) mkdir -p "$SYS/kernel/iommu_groups/$v"; ln -sfn "../../../kernel/iommu_groups/$v" "$d/iommu_group" ;;
		driver) mkdir -p "$SYS/bus/pci/drivers/$v"; ln -sfn "../../../bus/pci/drivers/$v" "$d/driver"; drv=$v ;;
		version) mkdir -p "$SYS/module/$drv"; echo "$v" >"$SYS/module/$drv/version" ;;
		fw) echo "$v" >"$d/firmware_version" ;;
		iface) iface=$v ;;
		state) state=$v ;;
		pf) ln -sfn "../$v" "$d/physfn" ;;
		virtio) virtio=1 ;;
		totalvfs) echo "$v" >"$d/sriov_totalvfs" ;;
		numvfs) echo "$v" >"$d/sriov_numvfs" ;;
		subsys) echo "0x${v%%:*}" >"$d/subsystem_vendor"; echo "0x${v#*:}" >"$d/subsystem_device" ;;
		cpus) echo "$v" >"$d/local_cpulist" ;;
		*) echo "fake_dev: unknown $k" >&2; return 1 ;;
		esac
	done
	if [ -n "$iface" ]; then
		[ -z "${virtio:-}" ] || d=$d/virtio0 # virtio-net: the interface is its child's
		mkdir -p "$d/net/$iface"
		echo "$state" >"$d/net/$iface/operstate"
	fi
}

# le32 N: N as 4 bytes, little-endian
le32() {
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"
}

# stamped OUT SEC:NSEC[:LEN]...: a nanosecond pcap of one 64-byte UDP
# packet (edp-gen's) at each of the given times, in the order given, with
# the original length LEN (default 64)
stamped() {
	local out=$1 t sec nsec len
	shift
	"$GEN" flows=1,packets=1,size=64,seed=1 "$BATS_TEST_TMPDIR/one.pcap"
	{
		le32 0xa1b23c4d && printf '\x02\x00\x04\x00' && le32 0 && le32 0 && le32 65535 && le32 1
		for t in "$@"; do
			IFS=: read -r sec nsec len <<<"$t"
			le32 $((10#$sec)) && le32 $((10#$nsec)) && le32 64 && le32 $((10#${len:-64})) &&
				tail -c 64 "$BATS_TEST_TMPDIR/one.pcap"
		done
	} >"$out"
}

# pcapng_at OUT SEC...: a pcapng (microsecond times) of one 64-byte UDP
# packet (edp-gen's) at each of the given seconds: unlike a pcap's, its
# times go past 2106
pcapng_at() {
	local out=$1 us
	shift
	"$GEN" flows=1,packets=1,size=64,seed=1 "$BATS_TEST_TMPDIR/one.pcap"
	{
		le32 0x0a0d0d0a && le32 28 && le32 0x1a2b3c4d && printf '\x01\x00\x00\x00' && le32 -1 && le32 -1 && le32 28
		le32 1 && le32 20 && printf '\x01\x00\x00\x00' && le32 65535 && le32 20
		for sec in "$@"; do
			us=$((sec * 1000000))
			le32 6 && le32 96 && le32 0 && le32 $((us >> 32)) && le32 $((us & 0xffffffff)) && le32 64 && le32 64 &&
				tail -c 64 "$BATS_TEST_TMPDIR/one.pcap" && le32 96
		done
	} >"$out"
}

# pipeline_config: p.yaml, a firewall and a router over ports in, out
# (out.pcap) and side (side.pcap), with 3 receive queues an input
pipeline_config() {
	cat >p.yaml <<'YAML'
ports:
  - { name: in, mac: "02:00:00:00:00:fe" }
  - { name: out, tx: out.pcap, mac: "02:00:00:00:01:fe" }
  - { name: side, tx: side.pcap }
datapath:
  rx-queues: 3
pipeline:
  firewall:
    default: allow
    rules:
      - { proto: udp, dst-port: 53, action: drop }
      - { dst: "2001:db8:1::/64", proto: tcp, dst-port: 80-443, action: drop }
  router:
    routes:
      - { prefix: 192.168.0.0/17, port: out, next-hop-mac: "02:00:00:00:02:01" }
      - { prefix: 10.0.0.0/8, port: side, next-hop-mac: "02:00:00:00:02:02" }
YAML
}
