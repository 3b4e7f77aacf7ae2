#!/bin/sh
# Installs the Debian packages loadd's build, tests and demo need, if any
# is missing.  Run as root on Debian 12.  Exits 0 when everything is
# installed; otherwise says which step failed and why, and exits 1.
set -u

PKGS="build-essential pkg-config clang libclang-rt-14-dev
libpcap-dev libnet1-dev libbsd-dev check libnetfilter-queue-dev libmnl-dev
libsodium-dev libseccomp-dev iproute2 iptables procps nginx-light curl wrk
socat bmake haproxy pen man-db groff-base jq keepalived bird2 conntrack
gnuplot-nox dnsmasq-base dnsutils time strace
libbpf-dev bpftool iperf3 iputils-ping
debhelper dpkg-dev lintian systemd adduser prometheus
chromium python3"

fail() {
	echo "tests/deps.sh: $*" >&2
	exit 1
}

# loadd's packet process runs as a user of its own (loadd.conf "user",
# default loadd), which "make install" creates; the tests and the demo
# run loadd from the tree, so they need it too.
need_user() {
	id -u loadd >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] || fail "the user loadd is missing and only root can create it"
	useradd --system --user-group --home-dir /var/empty --no-create-home \
	    --shell /usr/sbin/nologin --comment "loadd packet process" loadd ||
	    fail "cannot create the system user loadd (useradd failed)"
}

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	need_user
	exit 0
fi

echo "deps: installing$missing"
[ "$(id -u)" = 0 ] || fail "installing packages needs root"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq ||
    fail "'apt-get update' failed: are Debian's package mirrors reachable?"

# Daemons among the packages (nginx, haproxy, keepalived, bird, prometheus)
# are for the tests to start in their namespaces, not for the host: keep
# the packages from starting them (policy-rc.d says "not now").
# Container images often ship a policy-rc.d of their own; that one is
# left as it is.
prc=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d ||
	    fail "cannot write /usr/sbin/policy-rc.d"
	chmod 755 /usr/sbin/policy-rc.d
	prc=1
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
if ! apt-get install -y -qq --no-install-recommends $missing >/dev/null; then
	fail "'apt-get install$missing' failed (its messages are above)"
fi
if [ -n "$prc" ]; then
	rm -f /usr/sbin/policy-rc.d
fi
trap - EXIT

# What apt-get said it installed must now be there.
for p in $missing; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    fail "package $p is still not installed after apt-get install"
done
need_user
exit 0
