# Shared set-up for the CLI tests.
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

EDP_BUILD=${EDP_BUILD:-$BATS_TEST_DIRNAME/../../build}
RUN=$EDP_BUILD/edp-run
REPLAY=$EDP_BUILD/edp-replay
GEN=$EDP_BUILD/tests/edp-gen
DATA=$BATS_TEST_DIRNAME/../data
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

setup() {
	cd "$BATS_TEST_TMPDIR" || exit 1
	# live stats segments of the instances a test starts stay in the test's
	# own directory
	export EDP_RUNDIR=$BATS_TEST_TMPDIR/run
}

# wait_for CMD...: retry CMD for up to 10 s
wait_for() {
	for _ in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	"$@"
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
