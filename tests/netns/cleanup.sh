#!/bin/sh
# Deletes test namespaces (cn<pid>-<n>s / cn<pid>-<n>p) whose creating test
# process is gone: a crashed test binary cannot run its destructors.
left=0
for ns in $(ip netns list 2>/dev/null | cut -d' ' -f1 | grep -E '^cn[0-9]+-[0-9]+[a-z]+$'); do
    pid=$(echo "$ns" | sed -E 's/^cn([0-9]+)-.*/\1/')
    if [ ! -d "/proc/$pid" ]; then
        ip netns del "$ns" && left=$((left + 1))
    fi
done
[ "$left" -gt 0 ] && echo "netns-cleanup: deleted $left namespaces left behind by a crashed test"
exit 0
