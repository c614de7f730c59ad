# bash completion for edp-top(1)
_edp_top() {
	local cur prev
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
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
	local d=${EDP_RUNDIR:-/run/edp}
	COMPREPLY=($(compgen -W "$(ls "$d" 2>/dev/null | sed -n 's/\.stats$//p')" -- "$cur"))
}
complete -F _edp_top edp-top
