# Shared by the bash completions of edp's tools (each one sources it).

# The run directory the tools use (edp_rundir_path): $EDP_RUNDIR, else
# /run/edp where this user may have it, else $XDG_RUNTIME_DIR/edp, else
# /tmp/edp-UID.
_edp_rundir() {
	if [[ -n ${EDP_RUNDIR:-} ]]; then
		printf '%s\n' "$EDP_RUNDIR"
	elif [[ -w /run && (! -e /run/edp || (-d /run/edp && -O /run/edp)) ]]; then
		echo /run/edp
	elif [[ -n ${XDG_RUNTIME_DIR:-} ]]; then
		printf '%s\n' "$XDG_RUNTIME_DIR/edp"
	else
		echo "/tmp/edp-$(id -u)"
	fi
}

# _edp_instances SUFFIX: the names with a NAME.SUFFIX in the run directory
# (stats: running instances; ctl: their control sockets)
_edp_instances() {
	ls "$(_edp_rundir)" 2>/dev/null | sed -n "s/\\.$1\$//p"
}

# cur and prev as typed: bash splits "--json=FILE", "PORT=FILE",
# "NAME:PORT" and PCI addresses at the '=' and ':' of COMP_WORDBREAKS
_edp_words() {
	if [[ -z ${COMP_LINE:-} ]]; then
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		return
	fi
	local line=${COMP_LINE:0:COMP_POINT}
	cur=${line##*[[:space:]]}
	line=${line%"$cur"}
	line=${line%"${line##*[![:space:]]}"}
	prev=${line##*[[:space:]]}
}

# COMPREPLY holds whole words: keep of each what bash replaces, the part
# after cur's last break
_edp_fix() {
	local breaks='' pre
	[[ -n ${COMP_LINE:-} ]] || return 0
	[[ $COMP_WORDBREAKS == *=* ]] && breaks+='='
	[[ $COMP_WORDBREAKS == *:* ]] && breaks+=':'
	[[ -n $breaks && $cur == *[$breaks]* ]] || return 0
	pre=${cur%"${cur##*[$breaks]}"}
	COMPREPLY=("${COMPREPLY[@]#"$pre"}")
}
