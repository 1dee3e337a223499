#!/usr/bin/env bash
# clang-format (the repository's .clang-format) over every C++ file git tracks.
#   cmake/format.sh          rewrites the files in place
#   cmake/format.sh --check  changes nothing; lists each file that is not formatted, exit 1 if any
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -d '' files < <(git ls-files -z '*.cpp' '*.hpp' '*.h')
if [ "${1:-}" = "--check" ]; then
    unformatted=0
    for f in "${files[@]}"; do
        if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
            echo "not formatted: $f (cmake/format.sh fixes it)"
            unformatted=1
        fi
    done
    [ "$unformatted" -eq 0 ] && echo "all ${#files[@]} C++ files formatted"
    exit "$unformatted"
fi
clang-format -i "${files[@]}"
