# bash completion for edp-assign(1)
. "${BASH_SOURCE[0]%/*}/edp-common.bash"
_edp_assign_ledger() {
	local i l=${EDP_LEDGER:-}
	for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
		[[ ${COMP_WORDS[i]} == --ledger ]] && l=${COMP_WORDS[i + 1]}
	done
	[[ -z $l && -n ${EDP_RUNDIR:-} ]] && l=$EDP_RUNDIR/ledger.yaml
	echo "${l:-/var/lib/edp/ledger.yaml}"
}

_edp_assign_complete() {
	local cmd i
	for ((i = 1; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} != -* && ${COMP_WORDS[i - 1]} != --@(need|numa|policy|cpus|request|driver|firmware|sysfs-root|inventory|host|ledger) ]] && { cmd=${COMP_WORDS[i]}; break; }
	done
	case $prev in
	--need)
		COMPREPLY=($(compgen -W 'nic:1 nic:2 gpu:1 dpu:1 vf:1 vf:4' -- "$cur"))
		return ;;
	--numa)
		COMPREPLY=($(compgen -W 'same 0 1' -- "$cur"))
		return ;;
	--policy)
		COMPREPLY=($(compgen -W 'none best-effort restricted single-numa-node' -- "$cur"))
		return ;;
	--sysfs-root)
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	--inventory | --ledger | --request)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--cpus | --driver | --firmware | --host)
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W '--need --numa --policy --cpus --request --driver --firmware --force --add --explain --sysfs-root --inventory --host --ledger --json -h --help -V --version' -- "$cur"))
		return
	fi
	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W 'devices plan claim release move list check' -- "$cur"))
		return
	fi
	local ledger
	ledger=$(_edp_assign_ledger)
	case $cmd in
	release | move | list | plan | claim)
		# workloads from the ledger; after release WORKLOAD, its devices
		local words=() w=""
		for ((i = i + 1; i < COMP_CWORD; i++)); do [[ ${COMP_WORDS[i]} != -* ]] && { w=${COMP_WORDS[i]}; break; }; done
		if [[ $cmd == release || $cmd == move ]] && [[ -n $w ]]; then
			words=($(awk -v w="$w" '/^  - workload:/ { gsub(/"/, "", $3); cur = $3 } /^    device:/ { gsub(/"/, "", $2); if (cur == w) print $2 }' "$ledger" 2>/dev/null))
		elif [[ -z $w ]]; then
			words=($(sed -nE 's/^  - workload: "(.*)"$/\1/p' "$ledger" 2>/dev/null | sort -u))
		fi
		COMPREPLY=($(compgen -W "${words[*]}" -- "$cur"))
		;;
	esac
}
# cur and prev as typed; the words completed whole, then cut to what bash
# replaces
_edp_assign() {
	local cur prev
	_edp_words
	_edp_assign_complete
	_edp_fix
}
shopt -s extglob 2>/dev/null
complete -F _edp_assign edp-assign
