#!/bin/sh
# The whole test suite, as CI runs it (.ci/run calls this and nothing else).
#
#   sh tests/run.sh
#
# Installs missing Debian packages, then: a gcc build with unit, CLI and
# replay tests, the same under clang with AddressSanitizer and UBSan, the
# fuzz corpus and a short fuzzing run, the integration tests in network
# namespaces (root), a short soak run (bench/soak.sh --short), the Debian
# packages built, installed on this machine and purged (tests/pkg/run.sh)
# and a short live benchmark run.  Ends with one line "N passed, M failed"
# adding up every stage.
set -u
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "tests/run.sh: run me as root (packages, network namespaces)" >&2
	exit 1
fi
sh tests/deps.sh || { echo "tests/run.sh: installing the packages failed (see above)" >&2; exit 1; }

LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT
passed=0
failed=0

# Adds up what a stage printed: check's "Checks: N, Failures: F, Errors: E"
# and our scripts' "N passed, M failed".
tally() {
	p=$(awk '
	    /Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
		gsub(/[:,%]/, " "); for (i = 1; i <= NF; i++) {
		    if ($i == "Checks") c = $(i+1); if ($i == "Failures") f = $(i+1);
		    if ($i == "Errors") e = $(i+1) }
		P += c - f - e; F += f + e }
	    /^[0-9]+ passed, [0-9]+ failed/ { P += $1; F += $3 }
	    END { print P + 0, F + 0 }' "$1")
	passed=$((passed + ${p% *}))
	failed=$((failed + ${p#* }))
}

stage() {
	name=$1
	shift
	echo "=== $name"
	if "$@" > "$LOG/out" 2>&1; then
		rc=0
	else
		rc=$?
	fi
	cat "$LOG/out"
	tally "$LOG/out"
	if [ $rc -ne 0 ]; then
		echo "=== $name: FAILED (exit $rc)"
		failed=$((failed + 1))
	fi
}

SAN="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

stage "build (gcc)" make -j2 O=build tests
stage "unit and replay tests (gcc)" make O=build check
stage "BSDmakefile with bmake (divert backend, emulated; lmd; loadctl)" \
    sh -c 'bmake -f BSDmakefile >/dev/null && ./obj/loadd -n -f etc/loadd.conf &&
    bmake -C lmd -f BSDmakefile >/dev/null && ./lmd/obj/lmd -h >/dev/null &&
    bmake -C loadctl -f BSDmakefile >/dev/null &&
    ./loadctl/obj/loadctl -h >/dev/null'
stage "FreeBSD port skeleton agrees with the tree (not built here)" \
    sh tests/pkg/port.sh
stage "build (clang, ASan+UBSan)" make -j2 O=build-asan CC=clang \
    CFLAGS="$SAN" LDFLAGS="-fsanitize=address,undefined" tests
stage "unit and replay tests (clang, ASan+UBSan)" make O=build-asan CC=clang \
    CFLAGS="$SAN" LDFLAGS="-fsanitize=address,undefined" check
stage "fuzz corpus replay (libFuzzer, ASan+UBSan)" make fuzz-replay
stage "fuzzing, 20 s per harness" make fuzz FUZZTIME=20
stage "integration tests (network namespaces)" env O=build \
    sh tests/integration/run.sh
stage "soak, short mode (bench/soak.sh --short: 2.5 min of mixed traffic, reloads, a flap, an agent restart)" \
    env O=build sh bench/soak.sh --short
stage "Debian packages build, install, purge" sh tests/pkg/run.sh
stage "live benchmark runs end to end (short mode; not a test)" env O=build \
    sh bench/live.sh --short

echo "=== total"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
