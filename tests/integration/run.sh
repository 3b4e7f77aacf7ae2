#!/bin/sh
# Runs every integration test (root: network namespaces, iptables), each
# followed by the seconds it took.
set -u
cd "$(dirname "$0")/../.."
if [ "$(id -u)" != 0 ]; then
	echo "integration tests need root" >&2
	exit 1
fi
status=0
# suite NAME: runs tests/integration/NAME.sh and says how long it took.
suite() {
	_t=$(date +%s)
	sh "tests/integration/$1.sh" || status=1
	echo "# $1.sh${LAB_OFFLOAD:+ with LAB_OFFLOAD=$LAB_OFFLOAD}: $(($(date +%s) - _t)) s"
}
for t in tests/integration/[a-z]*.sh; do
	[ "$t" = tests/integration/run.sh ] && continue
	echo "# $t"
	t=${t##*/}
	suite "${t%.sh}"
done
# With the eBPF fast path carrying established flows (when it is built),
# again: the suites that say most of loadd's decisions (methods,
# services, health with passive detection, agents), operate (the control
# socket, reloads under load), pmtu (ICMP errors of the map's flows) and
# scaleout (flows moving between two instances, each with its map).
if [ -x "${O:-build}/fastpathctl" ]; then
	LAB_OFFLOAD=bpf
	export LAB_OFFLOAD
	for t in methods services health agents operate pmtu scaleout; do
		echo "# tests/integration/$t.sh with LAB_OFFLOAD=bpf"
		suite "$t"
	done
fi
exit $status
