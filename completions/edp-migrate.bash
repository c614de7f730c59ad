# bash completion for edp-migrate(1)
. "${BASH_SOURCE[0]%/*}/edp-common.bash"
_edp_migrate_complete() {
	case $prev in
	-o | --output | --ledger)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--max-stun-ms)
		COMPREPLY=($(compgen -W '20 50 300' -- "$cur"))
		return ;;
	esac
	# the running instances: $EDP_RUNDIR/NAME.ctl
	local names
	names=$(_edp_instances ctl)
	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "save inspect $names -h --help -V --version" -- "$cur"))
		return
	fi
	case ${COMP_WORDS[1]} in
	save)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '-o --output --no-pause --json' -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$names" -- "$cur"))
		fi ;;
	inspect)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--json' -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi ;;
	*) # SRC DST
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '--max-stun-ms --strict --allow-config-change --ledger --json' -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$names" -- "$cur"))
		fi ;;
	esac
}
# cur and prev as typed; the words completed whole, then cut to what bash
# replaces
_edp_migrate() {
	local cur prev
	_edp_words
	_edp_migrate_complete
	_edp_fix
}
complete -F _edp_migrate edp-migrate
