#!/usr/bin/env bash
# The install test (ctest "install"): installs the build tree BUILD into a
# temporary prefix, builds tests/install/consumer against it with
# find_package(coronet) (with README's echo server) and with pkg-config,
# runs both consumers, and runs an installed program's --help. CXX and FLAGS are the tree's compiler and sanitizer
# options (a sanitized library links only into sanitized programs).
# Usage: run.sh BUILD CXX [FLAGS]
set -euo pipefail
build=$1 cxx=$2 flags=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/coronet-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
missing=coronet-none$$  # an interface name nobody has

cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in include/coronet/api/stack.hpp bin/coronet-cat bin/coronet-proxy; do
    [[ -e $prefix/$f ]] || { echo "FAIL: the install has no $f"; cat "$work/install.log"; exit 1; }
done
"$prefix/bin/coronet-cat" --help >/dev/null

check() {  # check NAME PROGRAM: runs the consumer and checks what it printed
    local out
    out=$("$2" "$missing") || { echo "FAIL: $1 consumer exited $?"; echo "$out"; exit 1; }
    echo "$1: $out" | sed '2,$s/^/    /'
    grep -q "^prefix: 10.0.0.2/24$" <<<"$out" && grep -q "^task ran: 1$" <<<"$out" &&
        grep -q "^stack on $missing: .*$missing" <<<"$out" || { echo "FAIL: $1 consumer printed the above"; exit 1; }
}

echo "== find_package(coronet CONFIG)"
cmake -S "$here/consumer" -B "$work/cmake" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" \
    "-DCMAKE_CXX_FLAGS=$flags" >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
cmake --build "$work/cmake" >"$work/build.log" || { cat "$work/build.log"; exit 1; }
check find_package "$work/cmake/consumer"
[[ -x $work/cmake/echo ]] || { echo "FAIL: README's echo server (consumer/echo.cpp) was not built"; exit 1; }

echo "== pkg-config coronet"
pc=$(find "$prefix" -name coronet.pc)
pc_flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs coronet)
echo "pkg-config: $pc_flags"
# shellcheck disable=SC2086 # the flags are words
"$cxx" -std=c++20 $flags "$here/consumer/main.cpp" $pc_flags -o "$work/pc-consumer"
check pkg-config "$work/pc-consumer"
echo "install test passed"
