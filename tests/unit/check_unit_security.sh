#!/bin/bash
# Check the hardening of the shipped systemd unit: the overall exposure reported by
# `systemd-analyze --offline=true security` must be at most THRESHOLD.
#
# usage: check_unit_security.sh [UNIT_FILE]
#   UNIT_FILE defaults to systemd/sipnatd.service in the source tree.
# exit: 0 pass, 1 exposure above the threshold or analysis failed,
#       77 skipped (systemd-analyze missing or too old for --offline).
set -euo pipefail

THRESHOLD=1.6
script_src=${BASH_SOURCE[0]}
[[ $script_src == */* ]] || script_src=./$script_src
script_dir=$(cd -- "${script_src%/*}" && pwd)
unit=${1:-"$script_dir/../../systemd/sipnatd.service"}

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze not found"
    exit 77
fi

# --offline appeared in systemd 250.
version=$(systemd-analyze --version | awk 'NR == 1 { print $2 }')
if [[ ! $version =~ ^[0-9]+$ ]] || (( version < 250 )); then
    echo "SKIP: systemd-analyze ${version:-unknown} does not support --offline (need >= 250)"
    exit 77
fi

if [[ ! -r $unit ]]; then
    echo "FAIL: unit file not readable: $unit" >&2
    exit 1
fi

if ! out=$(LC_ALL=C.UTF-8 systemd-analyze --no-pager --offline=true security "$unit" 2>&1); then
    printf '%s\n' "$out" >&2
    echo "FAIL: systemd-analyze security failed on $unit" >&2
    exit 1
fi

# The last line reads e.g. "→ Overall exposure level for sipnatd.service: 1.4 OK 🙂".
score=$(printf '%s\n' "$out" |
        sed -n 's/.*Overall exposure level for [^:]*: *\([0-9][0-9]*\(\.[0-9]*\)\{0,1\}\).*/\1/p' |
        tail -n 1)
if [[ -z $score ]]; then
    printf '%s\n' "$out" >&2
    echo "FAIL: no \"Overall exposure level\" line in the systemd-analyze output" >&2
    exit 1
fi

echo "Overall exposure level for ${unit##*/}: $score (threshold $THRESHOLD)"
if awk -v s="$score" -v t="$THRESHOLD" 'BEGIN { exit !(s + 0 > t + 0) }'; then
    # Show what is still exposed, to help whoever made it worse.
    printf '%s\n' "$out" | grep -F '✗' >&2 || true
    echo "FAIL: exposure $score is above $THRESHOLD" >&2
    exit 1
fi
echo "PASS"
