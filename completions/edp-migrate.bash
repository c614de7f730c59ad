# bash completion for edp-migrate(1)
_edp_migrate() {
	local cur prev
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $prev in
	-o | --output | --ledger)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--max-stun-ms)
		COMPREPLY=($(compgen -W '20 50 300' -- "$cur"))
		return ;;
	esac
	# the running instances: $EDP_RUNDIR/NAME.ctl
	local d=${EDP_RUNDIR:-/run/edp} names
	names=$(ls "$d" 2>/dev/null | sed -n 's/\.ctl$//p')
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
complete -F _edp_migrate edp-migrate
