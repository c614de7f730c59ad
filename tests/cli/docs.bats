#!/usr/bin/env bats
# Every binary's --help against its man page, man pages lint-clean, and the
# completions load and complete.
load helper

TOP=$BATS_TEST_DIRNAME/../..

@test "every long option in each binary's --help is in its man page and its completions" {
	for b in edp-run edp-replay edp-top edp-assign edp-migrate; do
		opts=$("$EDP_BUILD/$b" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u)
		[ -n "$opts" ]
		page=$(MANWIDTH=200 man -l "$TOP/man/$b.1" 2>/dev/null)
		for o in $opts; do
			grep -q -- "$o" <<<"$page" || { echo "$b: missing in man page: $o"; false; }
			grep -q -- "$o" "$TOP/completions/$b.bash" || { echo "$b: missing in bash completion: $o"; false; }
			grep -q -- "$o" "$TOP/completions/_$b" || { echo "$b: missing in zsh completion: $o"; false; }
		done
	done
}

@test "every binary: a bad option is one line naming it, the --help hint, exit 2" {
	for b in edp-run edp-replay edp-top edp-assign edp-migrate; do
		for arg in --frobnicate -Z --help=1; do
			run "$EDP_BUILD/$b" "$arg"
			assert_failure 2
			assert_equal "${#lines[@]}" 2
			assert_line --index 1 "Try '$b --help' for more information."
		done
		run "$EDP_BUILD/$b" --frobnicate=1
		assert_line --index 0 "$b: unknown option '--frobnicate'"
		run "$EDP_BUILD/$b" -Z
		assert_line --index 0 "$b: unknown option '-Z'"
		run "$EDP_BUILD/$b" --help=1
		assert_line --index 0 "$b: option '--help' takes no argument"
	done
	run "$EDP_BUILD/edp-top" -b -d
	assert_failure 2
	assert_line --index 0 "edp-top: option '-d' needs an argument"
	run "$EDP_BUILD/edp-replay" -qx
	assert_line --index 0 "edp-replay: option '-x' needs an argument"
	run "$EDP_BUILD/edp-assign" plan w --need
	assert_line --index 0 "edp-assign: option '--need' needs an argument"
}

@test "man pages render without warnings" {
	for m in "$TOP"/man/*.[1-9]; do
		run bash -c "LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l '$m' 2>&1 >/dev/null"
		assert_output ""
	done
}

@test "bash completion completes options, config files and port names" {
	cat >c.yaml <<'YAML'
ports:
  - name: uplink
  - { name: vm1 }
YAML
	run bash -c "source '$TOP/completions/edp-run.bash'
		COMP_WORDS=(edp-run --con); COMP_CWORD=1; _edp_run; echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(edp-run -c c.yaml -r ''); COMP_CWORD=4; _edp_run; printf '%s\n' \"\${COMPREPLY[@]}\" | sort | tr '\n' ' '
		echo
		COMP_WORDS=(edp-run ctl re); COMP_CWORD=2; _edp_run; echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(edp-run ctl lab reload ''); COMP_CWORD=4; _edp_run; printf '%s\n' \"\${COMPREPLY[@]}\" | sort | tr '\n' ' '"
	assert_success
	assert_line --index 0 "--config"
	assert_line --index 1 --partial "uplink= vm1="
	assert_line --index 2 "resume rebalance reload"
	assert_line --index 3 "--json c.yaml "
}

@test "edp-replay's bash completion completes options and captures" {
	touch a.pcap b.pcapng c.txt
	run bash -c "source '$TOP/completions/edp-replay.bash'
		COMP_WORDS=(edp-replay --top); COMP_CWORD=1; _edp_replay; echo \"\${COMPREPLY[*]}\"
		COMP_WORDS=(edp-replay ''); COMP_CWORD=1; _edp_replay; printf '%s\n' \"\${COMPREPLY[@]}\" | sort | tr '\n' ' '"
	assert_success
	assert_line --index 0 "--topspeed"
	assert_line --index 1 "a.pcap b.pcapng "
}

@test "zsh completions parse" {
	for f in "$TOP"/completions/_*; do
		run zsh -n "$f"
		assert_success
	done
}

@test "completion: edp-replay --to offers running vports; edp-run -r offers vport and live and xdp interfaces" {
	mkdir -p run
	touch run/lab.uplink.vport run/lab.stats
	run bash -c "source '$TOP/completions/edp-replay.bash'
		COMP_WORDS=(edp-replay --to ''); COMP_CWORD=2; _edp_replay; echo \"[\${COMPREPLY[*]}]\"
		source '$TOP/completions/edp-run.bash'
		COMP_WORDS=(edp-run -r in=v); COMP_CWORD=2; _edp_run; echo \"[\${COMPREPLY[*]}]\"
		COMP_WORDS=(edp-run -w out=v); COMP_CWORD=2; _edp_run; echo \"[\${COMPREPLY[*]}]\"
		COMP_WORDS=(edp-run -r in=live:l); COMP_CWORD=2; _edp_run; echo \"[\${COMPREPLY[*]}]\"
		COMP_WORDS=(edp-run -r in=xdp:l); COMP_CWORD=2; _edp_run; echo \"[\${COMPREPLY[*]}]\"
		COMP_WORDS=(edp-run -r in=x); COMP_CWORD=2; _edp_run; echo \"[\${COMPREPLY[*]}]\""
	assert_success
	assert_line --index 0 "[lab:uplink]"
	assert_line --index 1 "[in=vport]"
	assert_line --index 2 "[]"
	assert_line --index 3 "[in=live:lo]"
	assert_line --index 4 "[in=xdp:lo]"
	assert_line --index 5 "[in=xdp:]"
}

@test "edp-top's bash completion completes options and running instances" {
	mkdir -p run
	touch run/lab.stats run/other.stats run/lab.uplink.vport
	run bash -c "source '$TOP/completions/edp-top.bash'
		COMP_WORDS=(edp-top --no); COMP_CWORD=1; _edp_top; echo \"[\${COMPREPLY[*]}]\"
		COMP_WORDS=(edp-top ''); COMP_CWORD=1; _edp_top; echo \"[\${COMPREPLY[*]}]\""
	assert_success
	assert_line --index 0 "[--no-color]"
	assert_line --index 1 "[lab other]"
}

@test "edp-assign's bash completion completes commands, workloads and their devices from the ledger" {
	mkdir -p run
	cat >run/ledger.yaml <<'YAML'
# edp-assign ledger: written by edp-assign only; a checksum guards it
version: 1
checksum: fnv1a64:0000000000000000
generation: 1
claims:
  - workload: "vm1"
    device: "0000:3b:00.1"
  - workload: "vm2"
    device: "0000:5e:00.0"
  - workload: "vm1"
    device: "0000:3b:00.2"
YAML
	run bash -c "source '$TOP/completions/edp-assign.bash'
		COMP_WORDS=(edp-assign re); COMP_CWORD=1; _edp_assign; echo \"[\${COMPREPLY[*]}]\"
		COMP_WORDS=(edp-assign release ''); COMP_CWORD=2; _edp_assign; echo \"[\${COMPREPLY[*]}]\"
		COMP_WORDS=(edp-assign release vm1 ''); COMP_CWORD=3; _edp_assign; echo \"[\${COMPREPLY[*]}]\"
		COMP_WORDS=(edp-assign claim w --policy s); COMP_CWORD=4; _edp_assign; echo \"[\${COMPREPLY[*]}]\""
	assert_success
	assert_line --index 0 "[release]"
	assert_line --index 1 "[vm1 vm2]"
	assert_line --index 2 "[0000:3b:00.1 0000:3b:00.2]"
	assert_line --index 3 "[single-numa-node]"
}

# json_keys: the keys of the JSON documents on stdin, one a line, but the
# drop reasons (the keys of a "drops" object: see below)
json_keys() {
	jq -r '[paths | select(length < 2 or .[-2] != "drops") | .[-1] | strings] | unique[]' | sort -u
}

# keys_documented PAGE: each key on stdin is a bold word of the man page
# (.B KEY, .BR KEY ..., .RB ( KEY ...), and the page has at least one
keys_documented() {
	local page=$TOP/man/$1 k n=0
	while read -r k; do
		n=$((n + 1))
		grep -qE "^\.(B|BR|RB \() ?$k( |\$)" "$page" || { echo "$1: JSON key not documented: $k"; return 1; }
	done
	assert_gt "$n" 0
}

@test "every JSON key each binary writes is in its man page, and each document has schema 1" {
	"$GEN" flows=20,packets=2000,seed=7 in.pcap
	printf 'ports:\n  - name: uplink\n  - name: vm1\ndatapath:\n  threads: 2\n  rx-queues: 2\n' >s.yaml
	# edp-run: the summary, the live stats, and edp-top's samples of it
	"$RUN" -c s.yaml -r uplink=in.pcap -w vm1=out.pcap -q --json=run.json
	start_run docs -c s.yaml --loop 0 -r uplink=in.pcap -w /dev/null -q --duration 20
	"$RUN" --stats docs --json >stats.json
	"$EDP_BUILD/edp-top" -b --json -n 2 -d 0.2 docs >top.json
	# edp-migrate: a save's report and a checkpoint's
	"$EDP_BUILD/edp-migrate" save docs -o ck.bin --json >migrate.json
	"$EDP_BUILD/edp-migrate" inspect ck.bin --json >>migrate.json
	# edp-replay: top speed, a rate, the capture's gaps
	"$REPLAY" -T -q in.pcap -w r1.pcap --json=replay.json
	"$REPLAY" --pps 100000 -q in.pcap -w r2.pcap --json >>replay.json
	"$REPLAY" -x 100 -q in.pcap -w r3.pcap --json >>replay.json
	# edp-assign: every command, on a host of one NIC
	export SYS=$BATS_TEST_TMPDIR/sys EDP_LEDGER=$BATS_TEST_TMPDIR/ledger.yaml
	fake_node 0 0-1
	fake_dev 0000:3b:00.1 node=0 group=11 driver=vfio-pci
	as() { "$EDP_BUILD/edp-assign" "$@" --sysfs-root "$SYS" --json; }
	{ as devices && as plan w --need nic:1 && as claim w --need nic:1 && as list && as check &&
		as move w w2 && as release w2; } >assign.json
	for f in run stats top replay assign migrate; do
		run jq -se "length >= 1 and all(.schema == 1)" $f.json
		assert_success
	done
	json_keys <run.json | keys_documented edp-run.1
	json_keys <stats.json | keys_documented edp-run.1
	json_keys <top.json | keys_documented edp-top.1
	json_keys <replay.json | keys_documented edp-replay.1
	json_keys <assign.json | keys_documented edp-assign.1
	json_keys <migrate.json | keys_documented edp-migrate.1
	# the drop reasons, keys of "drops" in edp-run's and edp-top's JSON, are
	# edp-run(1)'s
	jq -r '.drops | keys[]' run.json top.json | sort -u | keys_documented edp-run.1
}

# An interactive bash in tmux with every completion loaded ($tm), its
# environment that of the test (EDP_RUNDIR when set): what an operator's
# Tab does, COMP_WORDBREAKS and all.
bash_pane() {
	command -v tmux >/dev/null || skip "tmux is not installed"
	tm=edp-compl-$$-$BATS_TEST_NUMBER
	printf 'PS1="$ "\nfor f in %q/completions/edp-*.bash; do source "$f"; done\n' "$TOP" >rc.bash
	tmux -L "$tm" new-session -d -x 200 -y 30 "PATH='$EDP_BUILD:$PATH' bash --rcfile rc.bash --noprofile -i"
	when_finished tmux -L "$tm" kill-server
	wait_for prompt_is "" # the completions loaded
}

# completes LINE EXPECTED: LINE and a Tab make the prompt line EXPECTED
prompt_is() { # (tmux drops a line's trailing blanks)
	local want="\$ $1"
	[ "$(tmux -L "$tm" capture-pane -p | grep '^\$' | tail -1)" = "${want%"${want##*[! ]}"}" ]
}
completes() {
	tmux -L "$tm" send-keys C-u "$1" Tab
	wait_for prompt_is "$2" || { tmux -L "$tm" capture-pane -p | tail -5; false; }
}

@test "bash completion as bash runs it: after PORT= and --json=, PCI addresses, instances from the tools' run directory" {
	touch alpha.json beta.pcap
	printf 'ports:\n  - name: uplink\n  - { name: vm1 }\n' >c.yaml
	start_run lab -r in=vport -w /dev/null -q
	bash_pane
	completes "edp-run --json=al" "edp-run --json=alpha.json"
	completes "edp-run -r in=be" "edp-run -r in=beta.pcap"
	completes "edp-run -c c.yaml -w upl" "edp-run -c c.yaml -w uplink="
	completes "edp-run -r in=live:l" "edp-run -r in=live:lo"
	completes "edp-run --stats la" "edp-run --stats lab"
	completes "edp-run ctl la" "edp-run ctl lab"
	completes "edp-top la" "edp-top lab"
	completes "edp-migrate la" "edp-migrate lab"
	completes "edp-replay --json=al" "edp-replay --json=alpha.json"
	completes "edp-replay --to la" "edp-replay --to lab:in"
	completes "edp-replay --to lab:" "edp-replay --to lab:in"
	# a ledger's PCI addresses hold ':' (a word break too)
	export SYS=$BATS_TEST_TMPDIR/sys
	fake_node 0 0-3
	fake_dev 0000:af:00.0 node=0 group=30 driver=vfio-pci
	fake_dev 0000:af:00.1 node=0 group=30 driver=vfio-pci
	"$EDP_BUILD/edp-assign" claim w --need nic:1 --sysfs-root "$SYS" >/dev/null
	completes "edp-assign release w 0000:a" "edp-assign release w 0000:af:00."
	completes "edp-assign release w 0000:af:00.1" "edp-assign release w 0000:af:00.1"
}

@test "bash completion finds instances where the tools put them without EDP_RUNDIR" {
	name=compl-$$
	(unset EDP_RUNDIR; exec "$RUN" --name "$name" -r "$DATA/tcpreplay-test.pcap" --loop 0 -w /dev/null -q) &
	pid=$!
	when_finished stop_pid "$pid"
	unset EDP_RUNDIR
	wait_for "$RUN" --stats "$name"
	bash_pane
	completes "edp-top ${name%?}" "edp-top $name"
	run bash -c "source '$TOP/completions/edp-common.bash'; _edp_rundir"
	assert_success
	[ -e "$output/$name.stats" ]
}

# The commands of the README's code blocks and the man pages' EXAMPLES that
# run an edp tool, one a line: a "$ " prompt, a trailing "&" or comment
# dropped, continuation lines joined; output lines ("edp-run: ...", edp-top's
# title) are not commands.
example_commands() {
	{
		sed -n 's/^    //p' "$TOP/README.md"
		for m in "$TOP"/man/*.[1-9]; do
			awk '/^\.SH EXAMPLES?$/ { f = 1; next } /^\.SH/ { f = 0 } f' "$m" |
				sed 's/\\-/-/g; s/\\(aq/'"'"'/g; s/\\&//g'
		done
	} | sed -e :a -e '/\\$/N; s/\\\n *//; ta' | sed 's/^\$ //; s/  *#.*$//; s/ *&$//' |
		grep -E '^(cat [^|]*\| *)?edp-(run|replay|top|assign|migrate)( |$)' | grep -vE '^edp-[a-z]+:|^edp-top - '
}

@test "every command of the README and the man pages' EXAMPLES is run by examples.bats, as written" {
	flat=$(sed -e :a -e '/\\$/N; s/\\\n *//; ta' "$BATS_TEST_DIRNAME/examples.bats")
	n=0
	while IFS= read -r cmd; do
		n=$((n + 1))
		grep -qF -- "$cmd" <<<"$flat" || { echo "not in examples.bats: $cmd"; false; }
	done < <(example_commands)
	assert_ge "$n" 40
}
