#!/usr/bin/env bats
# The measuring tools of make bench: a floor that copied the wrong bytes
# or skipped the lookups would make every ratio beside it wrong.

load helper

IOFLOOR=$EDP_BUILD/tests/edp-iofloor

@test "edp-iofloor: the capture copied byte for byte, with and without --lookup" {
	"$GEN" flows=300,packets=5000,size=imix,proto=mix,seed=7 in.pcap
	run "$IOFLOOR" in.pcap out.pcap
	assert_success
	assert_output "packets=5000"
	cmp in.pcap out.pcap
	rm out.pcap
	run "$IOFLOOR" --lookup in.pcap out.pcap
	assert_success
	# the lookups and misses of edp-run's flow cache on the same capture
	run_stats=$("$RUN" -r in.pcap -w /dev/null -q --json=- | jq -r '.flow_cache | "hits=\(.hits) misses=\(.misses)"')
	assert_equal "$run_stats" "hits=4700 misses=300"
	assert_output "packets=5000 $run_stats"
	cmp in.pcap out.pcap
}

@test "edp-iofloor: a usage error exits 2, a missing capture 1" {
	run "$IOFLOOR" --lookup in.pcap
	assert_failure 2
	assert_output "usage: edp-iofloor [--lookup] IN OUT"
	run "$IOFLOOR" missing.pcap out.pcap
	assert_failure 1
	assert_output --partial "edp-iofloor: missing.pcap"
}
