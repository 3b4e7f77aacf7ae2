#!/bin/sh
# Integration: path-MTU discovery through loadd (RFC 5508).
#
# The balancer's link to the client has an MTU of 1400, the servers' links
# 1500, and the client announces an MSS for 1500: the servers' full-size
# segments cannot be forwarded, so the balancer's kernel sends
# "fragmentation needed" -- to the virtual address, the source of the
# rewritten reply.  loadd must translate it (outer destination and the
# quoted header) and send it to the right server, or the download stalls.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=m$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
. tests/lib/netns.sh

. tests/lib/tap.sh
trap 'lab_down; tap_end' EXIT

if ! { lab_up && servers_up && loadd_conf; }; then
	notok "lab set up"
	exit 1
fi
ns_b ip link set eth0 mtu 1400
# The balancer needs a route to the virtual address to send errors there
# at all; a real one has its default route upstream.
ns_b ip route add default via 198.18.0.2
if ! loadd_up; then
	notok "loadd up"
	exit 1
fi

ns_c curl -s -m 30 -o "$TMP/got" "http://$VIP/big" || true
check "cmp -s '$TMP/got' '$TMP/big'" "10 MB download completes through a 1400-byte link"
n=$(for s in 1 2 3; do ns_s $s ip route get 198.18.0.2; done | grep -c 'mtu 1400')
check "[ $n -ge 1 ]" "a server learned the path MTU 1400 from the translated error"
kill -USR1 "$LOADD_PID"
sleep 0.3
t=$(grep 'stats: packets' "$TMP/loadd.log" | tail -1 |
    sed 's/.*icmp translated \([0-9]*\).*/\1/')
check "[ ${t:-0} -ge 1 ]" "loadd counted ${t:-0} translated ICMP errors"
csum() { "$@" nstat -asz TcpInCsumErrors | awk '/TcpInCsumErrors/ { print $2 }'; }
check "[ '$(csum ns_c)' = 0 ]" "client: TcpInCsumErrors 0"
[ $fail -eq 0 ]
