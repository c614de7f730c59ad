# bash completion for edp-run(1)
. "${BASH_SOURCE[0]%/*}/edp-common.bash"
_edp_run_ports() {
	# port names from the config given with -c/--config on the line
	local i cfg
	for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
		case ${COMP_WORDS[i]} in
		-c | --config) cfg=${COMP_WORDS[i + 1]} ;;
		--config=*) cfg=${COMP_WORDS[i]#--config=} ;;
		esac
	done
	if [[ -n $cfg && -r $cfg ]]; then
		sed -nE 's/^[[:space:]-]*\{?[[:space:]]*name:[[:space:]]*([a-z0-9_-]+).*/\1/p' "$cfg"
	else
		printf '%s\n' in out
	fi
}

# edp-run ctl [NAME] COMMAND [ARG]: instance names, then the commands, then
# what the command takes (reload: a config file)
_edp_run_ctl() {
	local commands='status stop suspend resume rebalance reload flows macs stats-clear pin unpin version help' w
	for w in "${COMP_WORDS[@]:2:COMP_CWORD-2}"; do
		[[ " $commands " == *" $w "* ]] || continue
		COMPREPLY=($(compgen -W '--json' -- "$cur"))
		[[ $w == reload ]] && COMPREPLY+=($(compgen -f -X '!*.@(yaml|yml)' -- "$cur") $(compgen -d -- "$cur"))
		[[ $w == flows ]] && COMPREPLY+=($(compgen -W '--limit' -- "$cur"))
		return
	done
	COMPREPLY=($(compgen -W "$commands --json $(_edp_instances ctl)" -- "$cur"))
}

_edp_run_complete() {
	if [[ ${COMP_WORDS[1]} == ctl && $COMP_CWORD -ge 2 ]]; then
		_edp_run_ctl
		return
	fi
	case $prev in
	-c | --config)
		COMPREPLY=($(compgen -f -X '!*.@(yaml|yml)' -- "$cur") $(compgen -d -- "$cur"))
		return ;;
	--stats)
		COMPREPLY=($(compgen -W "$(_edp_instances stats)" -- "$cur"))
		return ;;
	--name)
		return ;;
	--restore)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--loop)
		COMPREPLY=($(compgen -W '0 1 2 10' -- "$cur"))
		return ;;
	--duration | --count)
		return ;;
	-t | --threads)
		COMPREPLY=($(compgen -W '0 1 2 4 8' -- "$cur"))
		return ;;
	-r | --read | -w | --write)
		if [[ $cur == *=* ]]; then
			local port=${cur%%=*} what=${cur#*=} special='live: xdp:'
			[[ $prev == -r || $prev == --read ]] && special='vport live: xdp:'
			if [[ $what == live:* || $what == xdp:* ]]; then
				COMPREPLY=($(compgen -W "$(ls /sys/class/net 2>/dev/null | sed "s/^/${what%%:*}:/")" -- "$what" |
					sed "s/^/$port=/"))
			else
				COMPREPLY=($(compgen -f -- "$what" | sed "s/^/$port=/") $(compgen -W "$special" -- "$what" | sed "s/^/$port=/"))
			fi
		else
			local files ports
			files=$(compgen -f -- "$cur")
			ports=$(compgen -W "$(_edp_run_ports | sed 's/$/=/')" -- "$cur")
			COMPREPLY=($files $ports)
			compopt -o nospace 2>/dev/null
			[[ -z $files ]] && compopt +o filenames 2>/dev/null # PORT= as it is, not quoted as a file name
		fi
		return ;;
	esac
	if [[ $cur == --json=* ]]; then
		COMPREPLY=($(compgen -f -- "${cur#--json=}" | sed 's/^/--json=/'))
		return
	fi
	local sub=
	[[ $COMP_CWORD -eq 1 ]] && sub=ctl
	COMPREPLY=($(compgen -W "$sub -c --config -r --read -w --write -t --threads --ordered --loop --count --duration --name --restore --allow-config-change --incoming --stats --json --json= -q --quiet -h --help -V --version" -- "$cur"))
}
# cur and prev as typed; the words completed whole, then cut to what bash
# replaces
_edp_run() {
	local cur prev
	_edp_words
	_edp_run_complete
	_edp_fix
}
shopt -s extglob 2>/dev/null
complete -o filenames -F _edp_run edp-run
