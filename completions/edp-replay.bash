# bash completion for edp-replay(1)
. "${BASH_SOURCE[0]%/*}/edp-common.bash"
_edp_replay_complete() {
	case $prev in
	-w | --write)
		COMPREPLY=($(compgen -f -- "$cur") $(compgen -W '-' -- "$cur"))
		return ;;
	-i | --interface)
		COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur"))
		return ;;
	--to)
		# the vports of running instances: $EDP_RUNDIR/NAME.PORT.vport
		COMPREPLY=($(compgen -W "$(ls "$(_edp_rundir)" 2>/dev/null | sed -nE 's/^([a-z0-9_-]+)\.([a-z0-9_-]+)\.vport$/\1:\2/p')" -- "$cur"))
		compopt +o filenames 2>/dev/null # NAME:PORT as it is, not quoted as a file name
		return ;;
	--synth)
		COMPREPLY=($(compgen -W 'flows=10000,packets=1000000,size=64 flows=100000,packets=1000000,size=imix,proto=mix' -- "$cur"))
		return ;;
	-p | --pps)
		COMPREPLY=($(compgen -W '1000 10000 100000 1000000' -- "$cur"))
		return ;;
	--mbps)
		COMPREPLY=($(compgen -W '10 100 1000 10000' -- "$cur"))
		return ;;
	-x | --multiplier)
		COMPREPLY=($(compgen -W '0.5 2 10' -- "$cur"))
		return ;;
	-l | --loop)
		COMPREPLY=($(compgen -W '0 1 2 10' -- "$cur"))
		return ;;
	--vlan-add)
		COMPREPLY=($(compgen -W '1 100 4094' -- "$cur"))
		return ;;
	-L | --limit | --duration | --src-mac | --dst-mac | --ip-offset)
		return ;;
	esac
	if [[ $cur == --json=* ]]; then
		COMPREPLY=($(compgen -f -- "${cur#--json=}" | sed 's/^/--json=/'))
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '--merge --synth --preload -x --multiplier -p --pps --mbps --wire-bits -T --topspeed -l --loop -L --limit --duration --src-mac --dst-mac --vlan-add --vlan-strip --ip-offset -w --write -i --interface --to --drop-when-full --retime --json --json= -q --quiet -h --help -V --version' -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -f -X '!*.@(pcap|pcapng|cap)' -- "$cur") $(compgen -d -- "$cur"))
}
# cur and prev as typed; the words completed whole, then cut to what bash
# replaces
_edp_replay() {
	local cur prev
	_edp_words
	_edp_replay_complete
	_edp_fix
}
shopt -s extglob 2>/dev/null
complete -o filenames -F _edp_replay edp-replay
