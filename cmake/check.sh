#!/usr/bin/env bash
# The test command: installs what is missing, builds coronet twice (Release
# with GCC, and ASan+UBSan with clang), and runs every test tier of both builds through ctest; then
# builds the libFuzzer harnesses (clang) and runs each over its seed corpus.
# The netns tier needs root; without it, it fails and says so. With
# CORONET_PACKETDRILL=/path/to/packetdrill it also runs the upstream
# packetdrill scripts (cmake/packetdrill.sh). The soak
# (ctest label soak, minutes long) is left out: `ctest -L soak` runs it.
# First it checks that every C++ file is clang-formatted (cmake/format.sh).
# Exit status: non-zero if any build or test fails, or a file is not formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
source cmake/deps.sh
install_deps

status=0
# Each phase's heading says how long the check has run so far (the budget:
# 25 minutes on CI's 2 cores).
check_start=$SECONDS
phase() { echo "== [$(((SECONDS - check_start) / 60))m$(((SECONDS - check_start) % 60))s] $*"; }
phase "format (clang-format, .clang-format)"
./cmake/format.sh --check || status=1

# Every build is a unity build (CMake joins up to 8 sources of a target into
# one): the sources share most of their headers and template instances, and
# it cut the three builds from 9.4 to 6.9 minutes here. Names private to a
# source file must therefore be unique within its target.
unity=-DCMAKE_UNITY_BUILD=ON
phase "Release build"
build_tree build/release -DCMAKE_BUILD_TYPE=Release $unity
phase "ASan+UBSan build (clang)"
# -O1 -g1 (line tables for the sanitizers' stack traces) halves the compile
# time of -O2 -g, and clang compiles it in half GCC's time (206 s against
# 415 s here): the check stays well inside CI's 25-minute budget. The
# Release build is GCC's, so both compilers see every file.
build_tree build/asan -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=None "-DCMAKE_CXX_FLAGS=-O1 -g1 -DNDEBUG" \
    -DCORONET_SANITIZE=ON $unity
phase "libFuzzer build (clang, ASan+UBSan)"
# Only the sans-I/O library sources and the harnesses of tests/fuzz.
build_tree build/fuzz -DCMAKE_CXX_COMPILER=clang++ -DCORONET_FUZZ=ON -DCMAKE_BUILD_TYPE=None "-DCMAKE_CXX_FLAGS=-O1 -g1" $unity

export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Three tests at a time: the netns tier is one ctest per suite and mostly
# waits (timers, TIME_WAIT, the kernel's retransmissions); one after
# another its suites took six minutes per build.
phase "tests (Release)"
ctest --test-dir build/release -LE soak -j 3 --output-on-failure || status=1
phase "tests (ASan+UBSan)"
ctest --test-dir build/asan -LE soak -j 3 --output-on-failure || status=1
phase "fuzz harnesses (seed corpus and regression inputs, then a fixed number of runs; cmake/fuzz.sh runs longer)"
ctest --test-dir build/fuzz --output-on-failure || status=1
# packetdrill is not part of coronet (README "Conformance: packetdrill"):
# the tier runs when CORONET_PACKETDRILL names a packetdrill binary.
if [[ -n "${CORONET_PACKETDRILL:-}" ]]; then
    phase "packetdrill scripts (Release adapter)"
    ./cmake/packetdrill.sh "$CORONET_PACKETDRILL" || status=1
    phase "packetdrill scripts (UBSan adapter)"
    cmake -S . -B build/ubsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORONET_UBSAN=ON >/dev/null &&
        cmake --build build/ubsan --target coronet_packetdrill &&
        CORONET_PACKETDRILL_ADAPTER=build/ubsan/tests/packetdrill/libcoronet_packetdrill.so \
            ./cmake/packetdrill.sh "$CORONET_PACKETDRILL" || status=1
else
    echo "== packetdrill scripts: skipped (CORONET_PACKETDRILL names no packetdrill binary)"
fi
phase "done: $([[ $status -eq 0 ]] && echo passed || echo FAILED)"
exit $status
