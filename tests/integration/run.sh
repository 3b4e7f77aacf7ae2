#!/bin/sh
# Runs every integration test (root: network namespaces, iptables).
set -u
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
	echo "integration tests need root" >&2
	exit 1
fi
status=0
for t in tests/integration/[a-z]*.sh; do
	[ "$t" = tests/integration/run.sh ] && continue
	echo "# $t"
	sh "$t" || status=1
done
# The suites that say most of loadd's decisions, again with the eBPF fast
# path carrying established flows (when it is built).
if [ -x "${O:-build}/fastpathctl" ]; then
	for t in methods services health; do
		echo "# tests/integration/$t.sh with LAB_OFFLOAD=bpf"
		LAB_OFFLOAD=bpf sh "tests/integration/$t.sh" || status=1
	done
fi
exit $status
