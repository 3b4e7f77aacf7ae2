#!/bin/sh
# Installs the Debian packages loadd's build, tests and demo need, if any
# is missing.  Run as root on Debian 12.
set -eu

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libpcap-dev libnet1-dev libbsd-dev check libnetfilter-queue-dev libmnl-dev
libsodium-dev iproute2 iptables procps nginx-light curl wrk socat bmake
haproxy pen man-db groff-base jq keepalived bird2 conntrack
gnuplot-nox time strace"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Daemons among them (nginx, haproxy, keepalived, bird) are for the
	# tests to start in their namespaces, not for the host: keep the
	# packages from starting them (policy-rc.d says "not now").
	prc=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		prc=1
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	[ -n "$prc" ] && rm -f /usr/sbin/policy-rc.d
fi
