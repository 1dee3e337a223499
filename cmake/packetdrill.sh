#!/usr/bin/env bash
# Runs packetdrill scripts against coronet in-process, on virtual time
# (README "Conformance: packetdrill"): each script in its own process inside
# a throwaway network namespace (unshare -n; it vanishes with the process),
# one line per script, then "N passed, M failed". Exit status 1 if any failed.
#
#   cmake/packetdrill.sh PACKETDRILL_BINARY [SCRIPT_DIR]
#     SCRIPT_DIR   the scripts, searched recursively (default: ../shared/packetdrill
#                  beside the repository)
#     --repeat N   run each script N times; a script passes only if every run
#                  passed with the same output (determinism)
#   CORONET_PACKETDRILL_ADAPTER  the adapter (default: the Release build's)
#
# Each script runs from its own directory with packetdrill's IPv4 defaults and
# the --so_flags in tests/packetdrill/so_flags.txt (settings a script assumes
# of the host, such as timestamps off). Needs root (a network namespace).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

repeat=1
args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --repeat) repeat="${2:?--repeat needs a count}"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) args+=("$1"); shift ;;
    esac
done
if [[ ${#args[@]} -lt 1 || ${#args[@]} -gt 2 ]]; then
    echo "usage: cmake/packetdrill.sh [--repeat N] PACKETDRILL_BINARY [SCRIPT_DIR]" >&2
    exit 2
fi
packetdrill="$(realpath "${args[0]}" 2>/dev/null || true)"
scripts="${args[1]:-$root/../shared/packetdrill}"
adapter="${CORONET_PACKETDRILL_ADAPTER:-$root/build/release/tests/packetdrill/libcoronet_packetdrill.so}"
[[ -x "$packetdrill" ]] || { echo "packetdrill.sh: no packetdrill binary at '${args[0]}'" >&2; exit 2; }
[[ -d "$scripts" ]] || { echo "packetdrill.sh: no script directory '$scripts'" >&2; exit 2; }
[[ -f "$adapter" ]] || { echo "packetdrill.sh: no adapter at '$adapter' (build first)" >&2; exit 2; }
[[ "$repeat" =~ ^[1-9][0-9]*$ ]] || { echo "packetdrill.sh: --repeat wants a positive count" >&2; exit 2; }
[[ $EUID -eq 0 ]] || { echo "packetdrill.sh: needs root (each script runs in its own network namespace)" >&2; exit 1; }
adapter="$(realpath "$adapter")"

# The flags for one script: the last line of so_flags.txt whose pattern its path ends with.
flags_for() {
    local path="$1" flags="" pattern value
    while read -r pattern value; do
        [[ -z "$pattern" || "$pattern" == \#* ]] && continue
        [[ "$path" == *"$pattern" ]] && flags="$value"
    done < "$root/tests/packetdrill/so_flags.txt"
    echo "$flags"
}

run_one() {
    local script="$1" flags="$2"
    (cd "$(dirname "$script")" &&
        timeout 60 unshare -n "$packetdrill" --ip_version=ipv4 --local_ip=192.168.0.1 \
            --gateway_ip=192.168.0.1 --netmask_ip=255.255.0.0 --remote_ip=192.0.2.1 \
            --so_filename="$adapter" ${flags:+--so_flags="$flags"} "$(basename "$script")" 2>&1)
}

passed=0
failed=0
while IFS= read -r script; do
    name="${script#"$scripts"/}"
    flags="$(flags_for "$name")"
    start=$(date +%s.%N)
    first="" status=0
    for ((i = 0; i < repeat; i++)); do
        out="$(run_one "$script" "$flags")"
        rc=$?
        if [[ $i -eq 0 ]]; then
            first="$out" status=$rc
        elif [[ "$out" != "$first" || $rc -ne $status ]]; then
            status=99
            first="run $((i + 1)) of $repeat differed from run 1"
            break
        fi
    done
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", (e - s) }')
    if [[ $status -eq 0 ]]; then
        passed=$((passed + 1))
        printf 'PASS  %-56s %6s s\n' "$name" "$secs"
    else
        failed=$((failed + 1))
        printf 'FAIL  %-56s %6s s  %s\n' "$name" "$secs" "$(grep -m1 -v '^$' <<<"$first")"
    fi
done < <(find "$scripts" -name '*.pkt' | sort)
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
