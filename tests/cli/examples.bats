#!/usr/bin/env bats
# Every command of the README and of the man pages' EXAMPLES, run as it is
# written there (docs.bats checks that each one is here, word for word), on
# fixtures of the names they use.

load helper

TOP=$BATS_TEST_DIRNAME/../..

setup() {
	cd "$BATS_TEST_TMPDIR" || exit 1
	export EDP_RUNDIR=$BATS_TEST_TMPDIR/run
	export PATH=$EDP_BUILD:$PATH
	export EDP_PCI_IDS=$DATA/pci.ids
	cp "$DATA/tcpreplay-test.pcap" in.pcap
	cp "$DATA/linux-sll.pcap" any.pcap
	"$GEN" flows=50,packets=2000,size=64-512,proto=mix,v6=0.25,seed=42 trace.pcap
	cp trace.pcap demo.pcap
	cp trace.pcap cap.pcap
	mkdir -p examples
	cp "$TOP/examples/demo.yaml" examples/demo.yaml
	cp "$TOP/examples/demo.yaml" edp.yaml
	cp "$TOP/examples/demo.yaml" acl.yaml
	fw_yaml fw.yaml "priority: 100, proto: udp, dst-port: 53" # the README's fw.yaml
}

# bg CMD...: CMD in the background, its PID in $pid, stopped when the test ends
bg() {
	"$@" &
	pid=$!
	when_finished stop_pid "$pid"
}

@test "README: first steps" {
	run edp-run -r in.pcap -w out.pcap
	assert_success
	assert_line --index 0 --regexp "^edp-run: 179 packets in, 179 forwarded, 0 dropped in [0-9.]+ s"
	run bash -c "cat in.pcap | edp-run -c fw.yaml -r - -w - | tcpdump -r -"
	assert_success
	assert_equal "$(grep -c '^[0-9][0-9]:' <<<"$output")" 165
	run edp-run -c examples/demo.yaml -r uplink=trace.pcap -w vm1=vm1.pcap --json=run.json -q
	assert_success
	run jq '.drops' run.json
	assert_success
	assert_line --partial '"firewall": '
	cp vm1.pcap vm1-first.pcap
	run edp-run -c edp.yaml -t 4 --ordered -r uplink=trace.pcap -w vm1=vm1.pcap
	assert_success
	same_bytes vm1.pcap vm1-first.pcap # the same for any thread count
	bg edp-run -c edp.yaml -t 2 --loop 0 -r uplink=trace.pcap -w /dev/null
	wait_for edp-run --stats
	run edp-run --stats            # per thread, per queue and per port, once
	assert_success
	assert_line --index 0 --regexp "^instance default, pid $pid, "
	run edp-run --stats --json     # the same for scripts
	assert_success
	echo "$output" | jq -e --argjson p "$pid" '.pid == $p'
}

@test "README: replay and synthesize" {
	run edp-replay trace.pcap -w copy.pcap
	assert_success
	same_bytes copy.pcap trace.pcap
	run bash -c "edp-replay trace.pcap --pps 50000 | edp-run -c edp.yaml -r - -w out.pcap"
	assert_success
	assert_line --regexp "^edp-run: 2000 packets in, "
	edp-replay --synth flows=10000,packets=1000000,size=imix,zipf=1.1,seed=7 \
        --mbps 100 --wire-bits --duration 2 --loop 0 --ip-offset 65536 \
        --dst-mac 02:00:00:00:00:fe --vlan-add 100 -w out.pcap --json=synth.json -q
	jq -e '.pacing.mode == "mbps" and .packets > 10000 and .seconds < 2.2' synth.json
	assert_equal "$(tcpdump -nn -e -r out.pcap -c 100 2>/dev/null | grep -c '> 02:00:00:00:00:fe, .*vlan 100')" 100
}

@test "README and edp-replay(1): a running datapath fed through its virtual port" {
	bg edp-run --name lab -t 2 -r in=vport -w out.pcap
	wait_for edp-run --stats lab
	run edp-replay trace.pcap --pps 100000 --to lab:in
	assert_success
	wait_rx lab 0 -eq 2000
	run bash -c "edp-run --stats lab --json | jq '.ports[0].rx_packets'"
	assert_output 2000
	stop_pid "$pid"
	assert_equal "$(count out.pcap)" 2000
	# edp-replay(1)'s, one thread
	bg edp-run --name lab -r in=vport -w out.pcap
	wait_for edp-run --stats lab
	edp-replay trace.pcap --pps 100000 --to lab:in -q
	wait_rx lab 0 -eq 2000
	# a port the built-in config does not have is named as such
	run edp-run --name lab -t 2 -r uplink=vport -w out.pcap
	assert_failure 2
	assert_line --index 0 "edp-run: unknown port 'uplink' (the ports: in, out, of the built-in config; -c CONFIG names others)"
}

@test "README: live interfaces on either side of a port" {
	ns=edp-ex-$$
	ip netns add "$ns" 2>ns.err || skip "network namespaces are not available here: $(cat ns.err)"
	ip netns add "$ns-far"
	when_finished ip netns del "$ns-far"
	when_finished ip netns del "$ns"
	for n in "$ns" "$ns-far"; do
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	done
	# eth1 here and the sender's eth1 on the far side; veth-vm1 to a VM
	ip link add eth1 netns "$ns" numrxqueues 2 type veth peer name eth1 netns "$ns-far" numtxqueues 2
	ip netns exec "$ns" ip link add veth-vm1 type veth peer name vm1
	for i in eth1 veth-vm1 vm1; do ip netns exec "$ns" ip link set "$i" up; done
	ip netns exec "$ns-far" ip link set eth1 up
	ip netns exec "$ns" tcpdump -i vm1 -w got.pcap -U -Q in 2>/dev/null &
	dump=$!
	when_finished kill "$dump"
	# feed PID: the sender's trace into eth1 while edp-run PID runs, then stop it
	feed() {
		when_finished stop_pid "$1"
		sleep 1
		ip netns exec "$ns-far" edp-replay trace.pcap --pps 50000 -i eth1 -q
		sleep 0.5
		stop_pid "$1"
	}
	ip netns exec "$ns" edp-run -c edp.yaml -r uplink=live:eth1 -w vm1=live:veth-vm1 -q --json=live.json &
	feed $!
	jq -e '.packets_in == 2000 and .ports[1].tx_packets == .packets_forwarded and .packets_forwarded > 0' live.json
	sleep 1.5
	kill "$dump"
	wait "$dump" || true
	assert_equal "$(count got.pcap)" "$(jq .packets_forwarded live.json)"
	# through AF_XDP, a worker on each of eth1's two receive queues
	ip netns exec "$ns" edp-run -t 2 -r xdp:eth1 -w out.pcap --json=xdp.json 2>xdp.err &
	feed $!
	jq -e '.packets_in == 2000 and .ports[0].socket == "af_xdp"' xdp.json
	assert_equal "$(count out.pcap)" 2000
	refute grep -q AF_PACKET xdp.err
}

@test "README and edp-top(1): watching a running datapath" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	bg edp-run -c acl.yaml -t 2 --name lab --loop 0 -r trace.pcap -w /dev/null
	wait_for edp-run --stats lab
	tm=edp-ex-$$
	when_finished tmux -L "$tm" kill-server
	tmux -L "$tm" new-session -d -x 100 -y 24 "TERM=xterm EDP_RUNDIR='$EDP_RUNDIR' PATH='$PATH' edp-top lab"
	wait_for bash -c "tmux -L '$tm' capture-pane -p | grep -q '^edp-top - lab, pid $pid, '"
	run bash -c "edp-top -b --json -n 5 -d 0.5 lab | jq -c '[.totals.rx_pps, [.threads[].busy_ratio]]'"
	assert_success
	assert_equal "${#lines[@]}" 5
	stop_pid "$pid"
	# edp-top(1)'s
	bg edp-run --name lab -c edp.yaml -t 2 --loop 0 -r trace.pcap -w /dev/null
	wait_for edp-run --stats lab
	run bash -c "edp-top -b --json -n 10 -d 0.5 lab | jq .totals.rx_pps"
	assert_success
	assert_equal "${#lines[@]}" 10
}

@test "README and edp-run(1): steering a running datapath with ctl" {
	cp examples/demo.yaml lab.yaml
	bg edp-run -c lab.yaml -t 2 --name lab --loop 0 -r demo.pcap -w /dev/null -q
	wait_for edp-run ctl lab status
	run edp-run ctl lab status
	assert_success
	assert_line "name: lab"
	sed -i 's/dst-port: 53,/dst-port: 5353,/' lab.yaml
	run edp-run ctl lab reload lab.yaml
	assert_success
	assert_line "  generation: 2"
	run edp-run ctl lab flows --limit 1     # each thread's flow cache
	assert_success
	assert_line "shown: 1"
	run edp-run ctl lab pin uplink:1 0 --json   # queue 1 of uplink to the worker on CPU 0
	assert_success
	echo "$output" | jq -e '.ok and .port == "uplink" and .port_queue == 1 and .cpu == 0'
	run edp-run ctl lab stop         # as SIGTERM: flushed, summary printed
	assert_success
	assert_line "state: stopping"
	wait "$pid"
}

@test "README: moving a running datapath, checkpoints at rest" {
	"$GEN" flows=500,packets=60000,seed=9 in.pcap # 3 s at 20,000 a second: a move in the middle
	cat >sw.yaml <<-'EOF'
		ports: [ { name: a }, { name: b }, { name: c } ]
		pipeline:
		  switch: { ageing-s: 300 }
	EOF
	edp-replay --pps 20000 in.pcap -w - | edp-run --name lab -c sw.yaml --ordered -t 2 -r a=- -w b=b.pcap -w c=c.pcap 2>src.err &
	pid=$!
	when_finished stop_pid "$pid"
	edp-run --name lab2 --incoming -c sw.yaml --ordered -t 2 2>dst.err &
	dst=$!
	when_finished stop_pid "$dst"
	wait_for edp-run ctl lab2 status
	run edp-run ctl lab2 status
	assert_line "state: incoming"
	wait_for edp-run ctl lab status
	run edp-migrate lab lab2
	assert_success
	assert_line --regexp "^edp-migrate: stun [0-9.]+ ms "
	assert_line --regexp "^edp-migrate: lab: [0-9]+ packets in, .* 0 lost; 0 device claims moved$"
	wait "$pid"
	wait "$dst"
	assert_equal "$(count b.pcap)" 60000 # the same file, written on by lab2
	# a checkpoint at rest, and a warm start from it
	cp examples/demo.yaml lab.yaml
	bg edp-run -c lab.yaml -t 2 --name lab --loop 0 -r demo.pcap -w /dev/null -q
	wait_for edp-run ctl lab status
	run edp-migrate save lab -o lab.ckpt       # the instance pauses for the copy only
	assert_success
	assert_line "paused: true"
	run edp-migrate inspect lab.ckpt
	assert_success
	assert_line --index 0 --regexp "^lab.ckpt: edp checkpoint version 1, [0-9]+ bytes$"
	run bash -c "edp-run -c lab.yaml -t 2 --restore lab.ckpt -r demo.pcap -w /dev/null --json -q | jq -c .flow_cache"
	assert_success
	echo "$output" | jq -e '.misses == 0 and .hits == 2000'
}

# The host of the README's and edp-assign(1)'s device examples: a management
# NIC with four VFs on node 0, two NICs and a GPU with its audio function on
# node 1.
assign_host() {
	export SYS=$BATS_TEST_TMPDIR/sys EDP_SYSFS=$BATS_TEST_TMPDIR/sys
	fake_node 0 0-7
	fake_node 1 8-15
	fake_dev 0000:3b:00.0 node=0 group=10 driver=ice version=1.12.7 fw=4.40 iface=eth0 state=up totalvfs=8 numvfs=4
	for f in 0 1 2 3; do
		fake_dev 0000:3b:02.$f node=0 group=4$f driver=iavf version=4.8.2 pf=0000:3b:00.0
	done
	fake_dev 0000:3b:00.1 node=0 group=11 driver=vfio-pci
	fake_dev 0000:5e:00.0 node=1 group=20 driver=ice version=1.12.7 fw=4.40
	fake_dev 0000:5e:00.1 node=1 group=21 driver=ice version=1.12.7 fw=4.40
	fake_dev 0000:af:00.0 class=0x030200 vendor=10de device=20b5 node=1 group=30 driver=vfio-pci
	fake_dev 0000:af:00.1 class=0x040300 vendor=10de device=1aef node=1 group=30 driver=vfio-pci
}

@test "README: assigning devices with edp-assign" {
	assign_host
	run edp-assign devices
	assert_success
	assert_line --index 1 "0000:3b:00.0   nic   8086:1592           0    10 ice        unusable  used by the host (driver ice, eth0 up)"
	run edp-assign plan vm1 --need gpu:1 --numa same --explain
	assert_success
	assert_line --index 0 "vm1: would get 2 devices on NUMA node 1"
	run edp-assign claim vm1 --need gpu:1 --need nic:1 --numa 1
	assert_success
	assert_line --index 0 "vm1: claimed 3 devices on NUMA node 1"
	run edp-assign claim dpdk --need nic:1 --driver 'ice>=1.12'
	assert_success
	assert_line --index 1 --regexp "^  0000:5e:00.1 +nic "
	run edp-assign list vm1
	assert_success
	assert_equal "${#lines[@]}" 4
	run edp-assign check          # devices gone, drivers changed, firmware drifted, groups split
	assert_success
	run edp-assign release vm1
	assert_success
}

@test "edp-assign(1): the examples" {
	assign_host
	run edp-assign devices
	assert_success
	assert_line "               NVIDIA Corporation GA100 [A100 PCIe 80GB]"
	run edp-assign plan vm1 --need nic:2 --numa same --explain
	assert_success
	assert_line --index 0 "vm1: would get 2 devices on NUMA node 1"
	run edp-assign claim vm1 --need nic:2 --need gpu:1,model=A100 --numa 1
	assert_success
	assert_line --index 0 "vm1: claimed 4 devices on NUMA node 1"
	run edp-assign claim dpdk --need vf:4,parent=0000:3b:00.0 --driver 'iavf>=4.5'
	assert_success
	assert_line --index 0 "dpdk: claimed 4 devices on NUMA node 0"
	run edp-assign list vm1
	assert_equal "${#lines[@]}" 5
	edp-assign check || echo "the ledger needs attention" >attention.txt
	[ ! -e attention.txt ]
	run edp-assign release vm1
	assert_success
	assert_output --partial "vm1"
}

@test "edp-run(1) and edp-replay(1): the other examples" {
	run edp-run -r in.pcap -w out.pcap
	assert_success
	run bash -c "cat in.pcap | edp-run -c fw.yaml -r - -w - | tcpdump -r -"
	assert_success
	run edp-run -r any.pcap -w out.pcap --count 1000 'udp and not port 53'
	assert_success
	assert_line "edp-run: port in: any.pcap has link type LINUX_SLL: each packet is given an Ethernet header"
	assert_equal "$(count out.pcap)" "$(tcpdump -r any.pcap 'udp and not port 53' 2>/dev/null | wc -l)"
	run edp-run -c edp.yaml -r uplink=trace.pcap -w vm1=vm1.pcap --json=run.json -q
	assert_success
	bg edp-run -c edp.yaml --name lab --loop 0 -r uplink=trace.pcap -w /dev/null -q
	wait_for edp-run ctl lab status
	run edp-run ctl lab status
	assert_success
	run edp-run ctl lab stop
	assert_success
	wait "$pid"
	run bash -c "edp-replay cap.pcap --pps 50000 | edp-run -c fw.yaml -r - -w out.pcap"
	assert_success
	assert_line --regexp "^edp-run: 2000 packets in, "
	run edp-replay --synth flows=1000,packets=100000 --pps 200000 --loop 3 --ip-offset 65536 -w out.pcap
	assert_success
	assert_equal "$(count out.pcap)" 300000
}
