# Shared set-up for the CLI tests.
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

EDP_BUILD=${EDP_BUILD:-$BATS_TEST_DIRNAME/../../build}
RUN=$EDP_BUILD/edp-run
GEN=$EDP_BUILD/tests/edp-gen
DATA=$BATS_TEST_DIRNAME/../data
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

setup() {
	cd "$BATS_TEST_TMPDIR" || exit 1
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
