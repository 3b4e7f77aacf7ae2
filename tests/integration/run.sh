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
exit $status
