#!/bin/sh
# Integration: loadd in front of three real nginx servers, in network
# namespaces, with the rules "loadd -R" prints (topology: tests/lib/netns.sh).
#
# Checks: round-robin share over 300 curl requests, wrk through the VIP,
# a 10 MB download byte for byte, no TCP checksum errors on the client and
# the servers, and a flood of garbage at the VIP while requests run.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=i$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
. tests/lib/netns.sh

. tests/lib/tap.sh
trap 'lab_down; tap_end' EXIT

if ! { lab_up && servers_up && loadd_conf && loadd_up; }; then
	notok "lab set up"
	exit 1
fi

# 0. The rules can be applied again: the chain is replaced in one
# transaction and the jump is not doubled.
"$LOADD" -R -f "$TMP/loadd.conf" | ns_b sh -e
j=$(ns_b iptables -t raw -S PREROUTING | grep -c 'loadd-8670')
r=$(ns_b iptables -t raw -S loadd-8670 | grep -c NFQUEUE)
check "[ $j -eq 1 ] && [ $r -eq 7 ]" "loadd -R | sh applied twice: one jump ($j), 7 queue rules ($r)"

# 1. Every server gets its share: 300 requests, 100 +- 10 each.
rr_shares

# 2. wrk with keep-alive through the VIP: no errors, no non-2xx.
ns_c wrk -t2 -c16 -d3s "http://$VIP/" > "$TMP/wrk" 2>&1 || true
reqs=$(awk '/requests in/ { print $1 }' "$TMP/wrk")
check "[ -n '$reqs' ] && [ '${reqs:-0}' -gt 100 ]" "wrk completed ${reqs:-0} requests"
check "! grep -q -e 'Non-2xx' -e 'Socket errors' '$TMP/wrk'" "wrk saw no socket errors and no non-2xx answers"

# 3. A 10 MB download is byte-identical.
ns_c curl -s -m 60 -o "$TMP/got" "http://$VIP/big" || true
check "cmp -s '$TMP/got' '$TMP/big'" "10 MB download through the VIP is byte-identical"

# 4. No checksum errors on the client and on the servers.
csum() { "$@" nstat -asz TcpInCsumErrors | awk '/TcpInCsumErrors/ { print $2 }'; }
check "[ '$(csum ns_c)' = 0 ]" "client: TcpInCsumErrors 0"
for n in 1 2 3; do
	check "[ '$(csum ns_s $n)' = 0 ]" "server s$n: TcpInCsumErrors 0"
done

# 5. Garbage at the VIP while requests run: loadd keeps serving and counts.
dropped() {
	kill -USR1 "$LOADD_PID"
	sleep 0.3
	grep 'stats: packets' "$TMP/loadd.log" | tail -1 |
	    sed 's/.*dropped \([0-9]*\).*/\1/'
}
before=$(dropped)
ns_c "$PWD/$O/pktflood" -d "$VIP" -c 20000 -s 7 > "$TMP/flood" 2>&1 &
FLOOD=$!
fails=0
i=0
while [ $i -lt 100 ]; do
	ns_c curl -s -m 3 -o /dev/null "http://$VIP/" || fails=$((fails + 1))
	i=$((i + 1))
done
wait $FLOOD || true
check "[ $fails -eq 0 ]" "100 requests during the garbage flood all answered ($fails failed)"
after=$(dropped)
check "[ ${after:-0} -gt ${before:-0} ]" "drop counter rose under the flood (${before:-?} -> ${after:-?})"
check "kill -0 $LOADD_PID" "loadd still running after the flood"
grep 'stats: drops' "$TMP/loadd.log" | tail -1
check "! grep -q 'io errors [1-9]' '$TMP/loadd.log'" "no netlink errors"

# 6. Daemon hygiene: a second loadd cannot take the same queue, -d
# detaches and writes its pid file, and a second daemon with the same pid
# file refuses to start.
ip netns exec "lab$LAB-b" "$LOADD" -f "$TMP/loadd.conf" > "$TMP/second" 2>&1
rc=$?
check "[ $rc -eq 1 ] && grep -q 'cannot bind queue 8670' '$TMP/second'" \
    "a second loadd on the same queue exits 1 with a clear message"
sed "s|^balancingmode.*|pidfile = $TMP/loadd.pid|" "$TMP/loadd.conf" > "$TMP/d.conf"
ip netns exec "lab$LAB-b" "$LOADD" -d -p 8671 -f "$TMP/d.conf"
rc=$?
sleep 0.3
dpid=$(cat "$TMP/loadd.pid" 2>/dev/null || echo none)
check "[ $rc -eq 0 ] && kill -0 $dpid 2>/dev/null" "-d detaches and writes its pid file ($dpid)"
ip netns exec "lab$LAB-b" "$LOADD" -d -p 8672 -f "$TMP/d.conf" > "$TMP/third" 2>&1
rc=$?
check "[ $rc -eq 1 ] && grep -q 'already running as pid $dpid' '$TMP/third'" \
    "a second daemon with the same pid file refuses to start"
kill "$dpid" 2>/dev/null
i=0
while kill -0 "$dpid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
check "! kill -0 $dpid 2>/dev/null && [ ! -e '$TMP/loadd.pid' ]" \
    "SIGTERM stops the daemon and removes its pid file"

[ $fail -eq 0 ]
