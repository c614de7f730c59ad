# bash completion for edp-top(1)
. "${BASH_SOURCE[0]%/*}/edp-common.bash"
_edp_top_complete() {
	case $prev in
	-d | --delay)
		COMPREPLY=($(compgen -W '0.1 0.5 1 2 5' -- "$cur"))
		return ;;
	-n | --iterations)
		COMPREPLY=($(compgen -W '1 5 10' -- "$cur"))
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '-b --batch --json -n --iterations -d --delay --no-color -h --help -V --version' -- "$cur"))
		return
	fi
	# the running instances: $EDP_RUNDIR/NAME.stats
	COMPREPLY=($(compgen -W "$(_edp_instances stats)" -- "$cur"))
}
# cur and prev as typed; the words completed whole, then cut to what bash
# replaces
_edp_top() {
	local cur prev
	_edp_words
	_edp_top_complete
	_edp_fix
}
complete -F _edp_top edp-top
