#!/usr/bin/env bats
# edp-assign on fake sysfs trees and YAML inventories: the rules, the
# ledger under races, crashes and corruption, and edp-run honouring it.
load helper

A=$EDP_BUILD/edp-assign
# device names only where a test gives the PCI ID database (pci.ids may or
# may not be installed on the machine)
export EDP_PCI_IDS=/dev/null

# A host with two NUMA nodes: a management NIC the host uses, free NICs in
# groups of one and two, a GPU with its audio function in one group, two
# VFs of the management NIC, and a NIC whose node is unknown.
host() {
	export SYS=$BATS_TEST_TMPDIR/sys
	fake_node 0 0-7
	fake_node 1 8-15
	fake_dev 0000:3b:00.0 node=0 group=10 driver=ice version=1.12.7 fw=4.40 iface=eth0 state=up totalvfs=8 numvfs=2 \
		subsys=8086:0001 cpus=0-7
	fake_dev 0000:3b:00.1 node=0 group=11 driver=vfio-pci
	fake_dev 0000:3b:00.2 node=0 group=12 driver=ice version=1.12.7 fw=4.40 iface=eth2 state=down
	fake_dev 0000:5e:00.0 node=1 group=20 driver=i40e version=2.20 fw=4.20
	fake_dev 0000:5e:00.1 node=1 group=20 driver=i40e version=2.20 fw=4.20
	fake_dev 0000:af:00.0 class=0x030200 vendor=10de device=20b5 node=1 group=30 driver=vfio-pci
	fake_dev 0000:af:00.1 class=0x040300 vendor=10de device=1aef node=1 group=30 driver=vfio-pci
	fake_dev 0000:3b:02.0 node=0 group=40 driver=iavf pf=0000:3b:00.0
	fake_dev 0000:3b:02.1 node=0 group=41 driver=iavf pf=0000:3b:00.0
	fake_dev 0000:d8:00.0 node=-1 driver=vfio-pci
	export EDP_SYSFS=$SYS
}

as() { "$A" "$@" --sysfs-root "$SYS"; }

@test "devices: the inventory with each device's state, as a table and as JSON" {
	host
	run as devices
	assert_success
	assert_line --index 0 "DEVICE         KIND  MODEL            NODE GROUP DRIVER     STATE     OWNER / WHY"
	assert_line --index 1 "0000:3b:00.0   nic   8086:1592           0    10 ice        unusable  used by the host (driver ice, eth0 up)"
	assert_line --index 2 --regexp "^0000:3b:00.1   nic   8086:1592           0    11 vfio-pci   free +$"
	assert_line --index 4 --regexp "^0000:3b:02.0   vf    8086:1592           0    40 iavf       free +$"
	assert_line --index 10 --regexp "^0000:d8:00.0   nic   8086:1592           -     - vfio-pci   free +$"
	run as devices --json
	assert_success
	echo "$output" | jq -e '(.devices | length) == 10 and (.numa_nodes | map(.id)) == [0, 1]
		and (.devices[] | select(.address == "0000:3b:00.0") | .host_in_use and .state == "unusable"
			and .sriov_totalvfs == 8 and .sriov_numvfs == 2 and .driver_version == "1.12.7" and .firmware == "4.40"
			and .subsystem_vendor == "8086" and .subsystem_device == "0001" and .local_cpus == "0-7"
			and .interface == "eth0")
		and (.devices[] | select(.address == "0000:3b:02.1") | .kind == "vf" and .parent == "0000:3b:00.0")
		and (.devices[] | select(.address == "0000:af:00.1") | .kind == "other" and .iommu_group == 30)
		and (.devices[] | select(.address == "0000:d8:00.0") | .numa_node == -1 and .iommu_group == -1)'
}

@test "an interface that is up is the host's only under a host driver, not under vfio-pci, pci-stub or a UIO driver" {
	export SYS=$BATS_TEST_TMPDIR/sys
	fake_dev 0000:01:00.0 driver=vfio-pci iface=eth0 state=up
	fake_dev 0000:02:00.0 driver=pci-stub iface=eth1 state=up
	fake_dev 0000:03:00.0 driver=uio_pci_generic iface=eth2 state=up
	fake_dev 0000:04:00.0 driver=igb_uio iface=eth3 state=up
	fake_dev 0000:05:00.0 driver=ixgbe iface=eth4 state=up
	run as devices --json
	assert_success
	echo "$output" | jq -e '[.devices[] | {(.address): [.host_in_use, .state]}] | add ==
		{"0000:01:00.0": [false, "free"], "0000:02:00.0": [false, "free"], "0000:03:00.0": [false, "free"],
		 "0000:04:00.0": [false, "free"], "0000:05:00.0": [true, "unusable"]}'
}

@test "a virtio NIC whose interface is up under its virtio child is the host's" {
	export SYS=$BATS_TEST_TMPDIR/sys
	fake_dev 0000:00:03.0 vendor=1af4 device=1041 driver=virtio-pci iface=eth0 state=up virtio=1
	fake_dev 0000:00:04.0 vendor=1af4 device=1041 driver=virtio-pci iface=eth1 state=down virtio=1
	run as devices
	assert_success
	assert_line --index 1 "0000:00:03.0   nic   1af4:1041           -     - virtio-pci unusable  used by the host (driver virtio-pci, eth0 up)"
	assert_line --index 2 --regexp "^0000:00:04.0   nic   1af4:1041           -     - virtio-pci free +$"
}

@test "plan is a dry run; claim takes whole IOMMU groups; another workload gets none of them" {
	host
	run as plan vm1 --need gpu:1 --explain
	assert_success
	assert_line --index 0 "vm1: would get 2 devices on NUMA node 1"
	assert_line --index 1 --regexp "^  0000:af:00.0   gpu   10de:20b5        node 1   group 30 *$"
	assert_line --index 2 "  0000:af:00.1   other 10de:1aef        node 1   group 30    (group member)"
	assert_line --index 3 "  score: 1 device beyond the request, 0 such left free on the node"
	assert_line "chosen: node 1, the tightest fit"
	run as list --json
	assert_output '{"schema":1,"generation":0,"claims":[]}'
	run as claim vm1 --need gpu:1 --json
	assert_success
	echo "$output" | jq -e '.claimed and .numa_node == 1 and .score == {"beyond_request": 1, "left_free": 0}
		and (.devices | map([.address, .group_member])) == [["0000:af:00.0", false], ["0000:af:00.1", true]]'
	run as claim vm2 --need other:1
	assert_failure 3
	assert_output "edp-assign: no device available for vm2: other:1 (policy best-effort)"
	run as claim vm2 --need nic:1 --numa 1
	assert_success
	assert_line --index 0 "vm2: claimed 2 devices on NUMA node 1"
	assert_line --index 2 --partial "0000:5e:00.1   nic   8086:1592        node 1   group 20    (group member)"
	run as devices
	assert_line --regexp "^0000:af:00.1 .* assigned  vm1 \(group member\)$"
	run as list vm2 --json
	echo "$output" | jq -e '(.claims | map(.device)) == ["0000:5e:00.0", "0000:5e:00.1"] and .generation == 2'
}

@test "NUMA policies, the host's own NIC, --force, pins and VF parents" {
	host
	run as plan w --need nic:2 --policy single-numa-node
	assert_success
	assert_line --index 0 "w: would get 2 devices on NUMA node 0"
	assert_line --index 1 --partial "0000:3b:00.1"
	assert_line --index 2 --partial "0000:3b:00.2"
	run as plan w --need nic:3 --policy single-numa-node --explain
	assert_failure 3
	assert_line --index 0 "why:"
	assert_line "node 0: 2 of 3 nic free"
	assert_line "not offered: 0000:3b:00.0 is used by the host (driver ice, eth0 up)"
	assert_line "edp-assign: no device available for w: nic:3 (policy single-numa-node)"
	run as plan w --need nic:3 --policy single-numa-node --force
	assert_success
	assert_line --index 0 "w: would get 3 devices on NUMA node 0"
	run as plan w --need nic:4 --policy best-effort
	assert_success
	assert_line --index 0 "w: would get 4 devices across NUMA nodes"
	run as plan w --need nic:4 --policy restricted
	assert_success # no node could ever hold 4: restricted lets them span
	run as plan w --need nic:2 --numa 1 --policy restricted
	assert_success
	assert_line --index 0 "w: would get 2 devices on NUMA node 1"
	run as plan w --need nic:1 --numa same --cpus 9
	assert_success
	assert_line --index 0 "w: would get 2 devices on NUMA node 1" # the group of two
	run as plan w --need nic:1 --cpus 9
	assert_success
	assert_line --index 0 "w: would get 2 devices on NUMA node 1"
	run as plan w --need nic:1 --policy none
	assert_success
	assert_line --index 0 "w: would get 1 device on NUMA node 0" # a known node, no extra member, the tightest fit
	run as plan w --need nic:2 --driver 'ice>=1.12' --force
	assert_success
	assert_line --index 1 --partial "0000:3b:00.0"
	assert_line --index 2 --partial "0000:3b:00.2"
	run as plan w --need nic:1 --driver 'ice>=1.13'
	assert_failure 3
	assert_output "edp-assign: no device available for w: nic:1 (policy best-effort, with pins)"
	run as plan w --need nic:2 --firmware '4.0-4.30'
	assert_success
	assert_line --index 0 "w: would get 2 devices on NUMA node 1"
	run as plan w --need vf:2,parent=0000:3b:00.0
	assert_success
	assert_line --index 0 "w: would get 2 devices on NUMA node 0"
	run as plan w --need vf:1,parent=0000:5e:00.0
	assert_failure 3
	run as plan w --need gpu:1,model=10de:20b5
	assert_success
	run as plan w --need gpu:1,model=A100
	assert_failure 3
}

@test "release gives devices back (a device's whole group); check reports drift, changes, gone devices and split groups" {
	host
	as claim vm1 --need gpu:1 >/dev/null
	as claim vm2 --need nic:1 --numa 1 >/dev/null
	run as release vm1 0000:5e:00.0
	assert_failure 1
	assert_output "edp-assign: vm1 does not hold 0000:5e:00.0 (vm2)"
	run as release vm1 0000:af:00.1
	assert_success
	assert_output "vm1: released 2 devices"
	run as check
	assert_success
	assert_output --regexp "^ledger .*/ledger.yaml: [0-9]+ claims, all match the inventory$"
	as claim vm1 --need gpu:1 >/dev/null
	echo 4.50 >"$SYS/bus/pci/devices/0000:af:00.0/firmware_version"
	ln -sfn ../../../bus/pci/drivers/nouveau "$SYS/bus/pci/devices/0000:af:00.1/driver"
	echo 2.21 >"$SYS/module/i40e/version"
	rm -r "$SYS/bus/pci/devices/0000:5e:00.1"
	fake_dev 0000:af:00.2 class=0x0c0330 vendor=10de device=1ad6 node=1 group=30 driver=xhci_hcd
	run as check
	assert_failure 1
	assert_line "vm1: 0000:af:00.0: firmware drifted from none to 4.50"
	assert_line "vm1: 0000:af:00.1: driver changed from vfio-pci to nouveau"
	assert_line "vm2: 0000:5e:00.0: driver i40e changed from version 2.20 to 2.21"
	assert_line "vm2: 0000:5e:00.1 is gone"
	assert_line "IOMMU group 30 split: vm1 holds 0000:af:00.0 but 0000:af:00.2 is free"
	run as check --json
	assert_failure 1
	echo "$output" | jq -e '(.problems | length) == 5'
	run as release vm2
	assert_success
	assert_output "vm2: released 2 devices"
}

@test "move hands a workload's devices to another in one ledger generation; edp-run follows the ledger" {
	host
	as claim vm1 --need gpu:1 >/dev/null
	as claim vm2 --need nic:1 --numa 1 >/dev/null
	gen=$(as list --json | jq .generation)
	run as move vm1 vm3
	assert_success
	assert_output "vm1 -> vm3: moved 2 devices (ledger generation $((gen + 1)))"
	as list --json | jq -e '[.claims[] | select(.workload == "vm3") | .device] == ["0000:af:00.0", "0000:af:00.1"]
		and ([.claims[] | select(.workload == "vm1")] | length) == 0'
	# a device moves its IOMMU group along; one write for both
	run as move vm2 vm4 0000:5e:00.1 --json
	assert_success
	assert_output '{"schema":1,"from":"vm2","to":"vm4","moved":2,"generation":'"$((gen + 2))"'}'
	run as move vm1 vm3
	assert_failure 1
	assert_output "edp-assign: vm1 holds no device to move"
	run as move vm3 vm1 0000:3b:00.1
	assert_failure 1
	assert_output "edp-assign: vm3 does not hold 0000:3b:00.1 (nobody does)"
	assert_equal "$(as list --json | jq .generation)" $((gen + 2)) # refusals write nothing
	run as move vm3 vm3
	assert_failure 2
	assert_output "edp-assign: move: vm3 is both FROM and TO"
	run as move vm3
	assert_failure 2
	assert_line --index 0 "edp-assign: move needs FROM and TO workloads"
	# the instance named after the new owner opens the port; the old one may not
	"$GEN" flows=5,packets=20 in.pcap
	printf 'ports:\n  - { name: up, rx: in.pcap, device: "0000:af:00.0" }\n  - { name: down, tx: out.pcap }\n' >d.yaml
	run "$RUN" -c d.yaml --name vm1 -q
	assert_failure 1
	assert_output "edp-run: port up: device 0000:af:00.0 is assigned to vm3, not to vm1 (ledger $EDP_RUNDIR/ledger.yaml)"
	run "$RUN" -c d.yaml --name vm3 -q
	assert_success
}

@test "the ledger: a damaged, truncated or foreign-version one is refused, the last good one kept" {
	host
	as claim a --need gpu:1 >/dev/null
	as claim b --need nic:1 --numa 1 >/dev/null
	L=$EDP_RUNDIR/ledger.yaml
	[ -e "$L.bak" ]
	cp "$L" good.yaml
	sed -i 's/workload: "b"/workload: "c"/' "$L"
	run as list
	assert_failure 1
	assert_output "edp-assign: ledger $L fails its checksum (truncated, damaged or edited): refused; the newest good copy is $L.bak, generation 1: 1 generation older than this one's 2"
	run as claim z --need nic:1
	assert_failure 1
	diff -u "$L" <(sed 's/workload: "b"/workload: "c"/' good.yaml) # never half-used, never rewritten
	head -c 300 good.yaml >"$L"
	run as list
	assert_failure 1
	assert_output --partial "fails its checksum"
	sed 's/^version: 1$/version: 2/' good.yaml >"$L"
	run as list
	assert_failure 1
	assert_output "edp-assign: ledger $L is version 2; this edp-assign reads version 1: refused; the newest good copy is $L.bak, generation 1: 1 generation older than this one's 2"
	echo "garbage" >"$L"
	run as list
	assert_failure 1
	assert_output "edp-assign: ledger $L is not an edp-assign ledger: refused; the newest good copy is $L.bak, generation 1 (this one's cannot be read)"
	cp "$L.bak" bak.yaml
	sed -i 's/workload: "a"/workload: "x"/' "$L.bak"
	run as list
	assert_failure 1
	assert_output "edp-assign: ledger $L is not an edp-assign ledger: refused; there is no good copy ($L.bak is damaged too)"
	rm "$L.bak"
	run as list
	assert_failure 1
	assert_output "edp-assign: ledger $L is not an edp-assign ledger: refused; there is no good copy ($L.bak: No such file or directory)"
	cp bak.yaml "$L" # the operator restores the last good one
	run as list --json
	assert_success
	echo "$output" | jq -e '(.claims | map(.workload)) == ["a", "a"]'
}

@test "50 claims race for 20 devices: each device gets one owner, the others a clear no" {
	export SYS=$BATS_TEST_TMPDIR/sys
	fake_node 0 0-3
	for i in $(seq 10 29); do fake_dev "0000:$i:00.0" node=0 group=$i driver=vfio-pci; done
	pids=()
	for w in $(seq 50); do
		"$A" claim "w$w" --need nic:1 --sysfs-root "$SYS" >"out.$w" 2>"err.$w" &
		pids+=($!)
	done
	ok=0 no=0
	for w in $(seq 50); do
		rc=0
		wait "${pids[w - 1]}" || rc=$?
		if [ "$rc" -eq 0 ]; then ok=$((ok + 1)); fi
		if [ "$rc" -eq 3 ]; then
			no=$((no + 1))
			grep -qx "edp-assign: no device available for w$w: nic:1 (policy best-effort)" "err.$w"
		fi
	done
	assert_equal "$ok" 20
	assert_equal "$no" 30
	run "$A" list --json
	assert_success
	echo "$output" | jq -e '(.claims | length) == 20 and ([.claims[].device] | unique | length) == 20
		and ([.claims[].workload] | unique | length) == 20 and .generation == 20'
	run "$A" check --sysfs-root "$SYS"
	assert_success
}

@test "kill -9 at random points during claims: the ledger always loads" {
	export SYS=$BATS_TEST_TMPDIR/sys
	fake_node 0 0-3
	for i in $(seq 10 49); do fake_dev "0000:$i:00.0" node=0 group=$i driver=vfio-pci; done
	for w in $(seq 40); do
		"$A" claim "w$w" --need nic:1 --sysfs-root "$SYS" >/dev/null 2>&1 &
		p=$!
		sleep "0.00$((RANDOM % 10))"
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
		run "$A" list --json
		assert_success
		echo "$output" | jq -e '([.claims[].device] | unique | length) == (.claims | length)'
	done
	run "$A" claim last --need nic:1 --sysfs-root "$SYS"
	assert_success
	[ ! -e "$EDP_RUNDIR/ledger.yaml.tmp" ] # what a killed writer left is gone with the next write
	run "$A" check --sysfs-root "$SYS"
	assert_success
}

@test "a YAML inventory plans for another host; bad inventories and requests are usage errors" {
	cat >inv.yaml <<'YAML'
hosts:
  - name: host-a
    devices:
      - { address: "0000:01:00.0", class: nic, numa-node: 0 }
  - name: host-b
    numa-nodes:
      - { id: 0, cpus: "0-15" }
      - { id: 1, cpus: "16-31" }
    devices:
      - { address: "0000:3b:00.0", class: dpu, model: "BlueField-3", numa-node: 1, iommu-group: 7, driver: mlx5_core, driver-version: "24.04", firmware: "32.41" }
      - { address: "0000:3b:00.1", class: dpu, model: "BlueField-3", numa-node: 1, iommu-group: 8, driver: mlx5_core, driver-version: "24.04", firmware: "32.39" }
      - { address: "0000:86:00.0", class: gpu, model: "A100", numa-node: 0, iommu-group: 9 }
YAML
	run "$A" plan dpdk --need dpu:1,model=bluefield --firmware '>=32.40' --inventory inv.yaml --host host-b --explain
	assert_success
	assert_line --index 0 "dpdk: would get 1 device on NUMA node 1"
	assert_line --index 1 --regexp "^  0000:3b:00.0   dpu   BlueField-3 +node 1   group 7 *$"
	run "$A" devices --inventory inv.yaml --json
	echo "$output" | jq -e '.host == "host-a" and (.devices | length) == 1'
	run "$A" devices --inventory inv.yaml --host nosuch
	assert_failure 2
	assert_output "edp-assign: inv.yaml: no host 'nosuch'"
	printf 'hosts:\n  - name: bare\n' >bare.yaml # a host without devices
	run "$A" devices --inventory bare.yaml --json
	assert_success
	assert_output '{"schema":1,"host":"bare","numa_nodes":[],"devices":[]}'
	run "$A" plan w --need nic:1 --inventory bare.yaml
	assert_failure 3
	assert_output "edp-assign: no device available for w: nic:1 (policy best-effort)"
	printf 'hosts:\n  - name: x\n    devices:\n      - { address: a, class: tpu }\n' >bad.yaml
	run "$A" devices --inventory bad.yaml
	assert_failure 2
	assert_output "edp-assign: bad.yaml:4:30: class 'tpu' is not one of nic, gpu, dpu, vf, other"
	run "$A" plan w --need nic
	assert_failure 2
	assert_line --index 0 "edp-assign: --need: 'nic': expected KIND:COUNT[,model=M][,parent=PF] (KIND: nic, gpu, dpu, vf, other)"
	run "$A" plan w --need nic:1 --policy strict
	assert_failure 2
	assert_line --index 0 "edp-assign: --policy: expected none, best-effort, restricted or single-numa-node, not 'strict'"
	run "$A" plan 'bad name' --need nic:1
	assert_failure 2
	run "$A" plan w --need nic:1 --driver 'ice>=x' --inventory inv.yaml
	assert_failure 2
	assert_output "edp-assign: --driver: 'ice>=x' is not DRIVER, DRIVER>=VERSION, <=, >, <, = or LOW-HIGH"
	run "$A" list --need nic:1
	assert_failure 2
	assert_line --index 0 "edp-assign: list: request options go with plan and claim"
	run "$A" frobnicate
	assert_failure 2
	run "$A" --version
	assert_output "edp-assign $(cat "$BATS_TEST_DIRNAME/../../VERSION")"
}

@test "a request in YAML, and what the command line adds to it" {
	host
	cat >vm1.yaml <<'YAML'
workload: vm1
need: [ "nic:1", "gpu:1,model=10de" ]
numa: 1
policy: single-numa-node
firmware: ">=0"
YAML
	run as plan --request vm1.yaml
	assert_failure 3 # the GPU has no firmware version: the pin fails it
	assert_output "edp-assign: no device available for vm1: nic:1 gpu:1,model=10de on node 1 (policy single-numa-node, with pins)"
	sed -i '/firmware/d' vm1.yaml
	run as claim --request vm1.yaml --json
	assert_success
	echo "$output" | jq -e '.workload == "vm1" and .numa_node == 1 and (.devices | length) == 4'
	run as plan other --request vm1.yaml --need vf:1 --numa 0
	assert_failure 3 # node 0 has no GPU
	printf 'workload: w\nneed: nic:1\n' >bad.yaml
	run as plan --request bad.yaml
	assert_failure 2
	assert_output 'edp-assign: bad.yaml:2:7: need must be a list like [nic:2, "gpu:1,model=A100"]'
	printf 'workload: w\nneeds: [nic:1]\n' >bad.yaml
	run as plan --request bad.yaml
	assert_failure 2
	assert_output "edp-assign: bad.yaml:2:1: request: unknown key 'needs' (known: workload, need, numa, policy, cpus, driver, firmware, force)"
}

@test "edp-run opens a port's device only when its instance owns it in the ledger" {
	host
	"$GEN" flows=5,packets=20 in.pcap
	printf 'ports:\n  - { name: up, rx: in.pcap, device: "0000:3b:00.1" }\n  - { name: down, tx: out.pcap }\n' >d.yaml
	run "$RUN" -c d.yaml --name vm1 -q
	assert_failure 1
	assert_output "edp-run: port up: device 0000:3b:00.1 is not assigned to vm1 (edp-assign claim vm1 ...; ledger $EDP_RUNDIR/ledger.yaml)"
	as claim vm2 --need nic:1 --numa 0 >/dev/null
	run "$RUN" -c d.yaml --name vm1 -q
	assert_failure 1
	assert_output "edp-run: port up: device 0000:3b:00.1 is assigned to vm2, not to vm1 (ledger $EDP_RUNDIR/ledger.yaml)"
	run "$RUN" -c d.yaml --name vm2 -q
	assert_success
	assert_equal "$(count out.pcap)" 20
	printf 'ports:\n  - { name: up, rx: in.pcap, device: "zz" }\n' >bad.yaml
	run "$RUN" -c bad.yaml
	assert_failure 2
	assert_output "edp-run: bad.yaml:2:38: device 'zz' is not a PCI address (like 0000:3b:00.0)"
}

@test "output that cannot be written is a failure" {
	host
	run bash -c "'$A' devices --sysfs-root '$SYS' >/dev/full"
	assert_failure 1
	assert_output "edp-assign: stdout: write failed: No space left on device"
	run bash -c "'$A' list --json --sysfs-root '$SYS' >/dev/full"
	assert_failure 1
}

@test "control characters in an inventory are refused at the input; the first ledger written has its .bak" {
	printf 'hosts:\n  - name: x\n    devices:\n      - { address: "\\t", class: nic }\n' >tab.yaml
	run "$A" claim w --need nic:1 --inventory tab.yaml
	assert_failure 2
	assert_output "edp-assign: tab.yaml:4:20: a value holds a control character (a tab, a newline, an escape)"
	[ ! -e "$EDP_RUNDIR/ledger.yaml" ]
	printf 'hosts:\n  - name: x\n    devices:\n      - { address: "0000:01:00.0", class: nic, model: "A\\eB" }\n' >esc.yaml
	run "$A" devices --inventory esc.yaml
	assert_failure 2
	assert_output "edp-assign: esc.yaml:4:55: a value holds a control character (a tab, a newline, an escape)"
	printf 'hosts:\n  - name: x\n    devices:\n      - { address: "0000:01:00.0", class: nic }\n' >ok.yaml
	run "$A" claim w --need nic:1 --inventory ok.yaml
	assert_success
	# the last good ledger is kept from the first write on, and reads back
	diff -u "$EDP_RUNDIR/ledger.yaml" "$EDP_RUNDIR/ledger.yaml.bak"
	run "$A" list
	assert_success
	assert_line --partial "0000:01:00.0"
}

@test "claim again: what the workload holds answers (nothing written); more only with --add" {
	host
	as claim w --need nic:1 --numa 1 >/dev/null
	gen=$(as list --json | jq .generation)
	run as claim w --need nic:1 --numa 1
	assert_success
	assert_line --index 0 "w: already holds 2 devices on NUMA node 1 (nothing written)"
	assert_line --index 1 --regexp "^  0000:5e:00.0 +nic "
	assert_equal "$(as list --json | jq .generation)" "$gen"
	run as claim w --need nic:1 --json
	assert_success
	echo "$output" | jq -e '.already_held and (.claimed | not) and ([.devices[].address] == ["0000:5e:00.0", "0000:5e:00.1"])'
	run as plan w --need nic:1
	assert_success
	assert_line --index 0 "w: already holds 2 devices on NUMA node 1"
	# what it holds does not satisfy this one: refused, unless --add
	run as claim w --need gpu:1
	assert_failure 3
	assert_output "edp-assign: w already holds 2 devices (0000:5e:00.0 0000:5e:00.1) that do not satisfy this request: release them first, or give --add to claim more"
	run as claim w --need nic:1 --numa 0
	assert_failure 3
	run as claim w --need gpu:1 --add
	assert_success
	assert_line --index 0 "w: claimed 2 devices on NUMA node 1"
	assert_equal "$(as list --json | jq .generation)" "$((gen + 1))"
	run as claim w --need gpu:1 --need nic:1
	assert_success
	assert_line --index 0 "w: already holds 4 devices on NUMA node 1 (nothing written)"
	run as list --add
	assert_failure 2
}

@test "release of a workload that holds nothing exits 1; --numa beyond the host's nodes is a usage error" {
	host
	run as release nobody
	assert_failure 1
	assert_output "edp-assign: nobody holds no device: nothing to release"
	run as claim w --need nic:1 --numa 5
	assert_failure 2
	assert_output "edp-assign: --numa 5: this host has no such NUMA node (its nodes: 0, 1)"
	run as plan w --need nic:1 --numa 1
	assert_success
}

@test "the ledger keeps each claim's host: the same PCI address on two hosts never collides" {
	host
	cat >inv.yaml <<'YAML'
hosts:
  - name: host-b
    devices:
      - { address: "0000:5e:00.0", class: nic, numa-node: 1, iommu-group: 20 }
      - { address: "0000:5e:00.1", class: nic, numa-node: 1, iommu-group: 20 }
YAML
	run "$A" claim far --need nic:1 --inventory inv.yaml --host host-b
	assert_success
	assert_line --index 0 "far: claimed 2 devices on NUMA node 1"
	# this host's devices of the same addresses are still free ...
	run as claim near --need nic:1 --numa 1
	assert_success
	assert_line --index 1 --regexp "^  0000:5e:00.0 +nic "
	# ... and host-b's are not freed by them
	run "$A" claim other --need nic:1 --inventory inv.yaml --host host-b
	assert_failure 3
	as list --json | jq -e '[.claims[] | [.workload, .host, .device]] ==
		[["far", "host-b", "0000:5e:00.0"], ["far", "host-b", "0000:5e:00.1"],
		 ["near", null, "0000:5e:00.0"], ["near", null, "0000:5e:00.1"]]'
	run as list
	assert_line --regexp "^far +0000:5e:00.0 .* \\(host host-b\\)$"
	# check on this host is not about host-b's claims
	run as check
	assert_success
	run "$A" check --inventory inv.yaml --host host-b
	assert_success
	run as devices --json
	echo "$output" | jq -e '.devices[] | select(.address == "0000:5e:00.0") | .owner == "near"'
	run as release far
	assert_success
	as list --json | jq -e '[.claims[].workload] == ["near", "near"]'
}

@test "devices are named from pci.ids where it exists" {
	host
	EDP_PCI_IDS=$DATA/pci.ids run as devices
	assert_success
	assert_line --index 1 --regexp "^0000:3b:00.0   nic   8086:1592 "
	assert_line --index 2 "               Intel Corporation Ethernet Controller E810-C for QSFP"
	EDP_PCI_IDS=$DATA/pci.ids run as devices --json
	echo "$output" | jq -e '(.devices[] | select(.address == "0000:af:00.0") | .name == "NVIDIA Corporation GA100 [A100 PCIe 80GB]")
		and (.devices[] | select(.address == "0000:3b:00.0") | .name == "Intel Corporation Ethernet Controller E810-C for QSFP")'
	run as devices --json # without the database: no names
	echo "$output" | jq -e '[.devices[].name] | all(. == null)'
}
