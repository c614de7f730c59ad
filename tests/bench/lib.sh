# shellcheck shell=bash
# Shared by the bench scripts (sourced): the best, median and worst of numbers
# given as arguments, and paired "T0 ..." "T ...", the median over the
# rounds of each round's time over the first command's in the same round
# (the steadier figure when the machine's speed swings between rounds).
best() { printf '%s\n' "$@" | sort -g | head -1; }
worst() { printf '%s\n' "$@" | sort -g | tail -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# shellcheck disable=SC2046,SC2086
paired() { median $(paste <(printf '%s\n' $1) <(printf '%s\n' $2) | awk '{ print $2 / $1 }'); }
