#!/usr/bin/env bats
# Every binary's --help against its man page, man pages lint-clean, and the
# completions load and complete.
load helper

TOP=$BATS_TEST_DIRNAME/../..

@test "every long option in edp-run --help is in its man page and its completions" {
	opts=$("$RUN" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u)
	[ -n "$opts" ]
	page=$(MANWIDTH=200 man -l "$TOP/man/edp-run.1" 2>/dev/null)
	for o in $opts; do
		grep -q -- "$o" <<<"$page" || { echo "missing in man page: $o"; false; }
		grep -q -- "$o" "$TOP/completions/edp-run.bash" || { echo "missing in bash completion: $o"; false; }
		grep -q -- "$o" "$TOP/completions/_edp-run" || { echo "missing in zsh completion: $o"; false; }
	done
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
		COMP_WORDS=(edp-run -c c.yaml -r ''); COMP_CWORD=4; _edp_run; printf '%s\n' \"\${COMPREPLY[@]}\" | sort | tr '\n' ' '"
	assert_success
	assert_line --index 0 "--config"
	assert_line --index 1 --partial "uplink= vm1="
}

@test "zsh completions parse" {
	for f in "$TOP"/completions/_*; do
		run zsh -n "$f"
		assert_success
	done
}
