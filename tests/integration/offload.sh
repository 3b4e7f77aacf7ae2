#!/bin/sh
# Integration: offload = yes.  loadd decides each connection's first
# packet and the kernel (conntrack, the DNAT rule of the server's mark)
# carries the rest; conntrack's events end loadd's flows.  Real nginx and
# socat servers, curl and wrk clients (topology: tests/lib/netns.sh).
#
# Checks: the rules apply twice cleanly; round-robin shares; wrk and a
# 10 MB download through the VIP while loadd sees only the first packets;
# conntrack holds loadd's marks and DNAT; flows end when conntrack forgets
# them, with the connections' bytes on the servers' counters; least
# connections sees long connections as active, and a restarted loadd
# learns them back from conntrack while they go on; UDP and IPv6 services; bad
# packets at the VIP; a reload keeps every mark.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=o$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
LOADCTL=$PWD/$O/loadctl
. tests/lib/netns.sh

. tests/lib/tap.sh
trap 'lab_down; tap_end' EXIT

ctl() { "$LOADCTL" -s "$TMP/ctl.sock" "$@"; }
# Waits up to 10 s for loadd's table to empty.  conntrack reaps expired
# entries (and sends their destroy events) when its garbage collector
# passes, which may take up to a minute; listing the table reaps them at
# once.
drained() {
	_i=0
	while [ "$(stat flows)" -gt 0 ] && [ $_i -lt 100 ]; do
		ns_b conntrack -L > /dev/null 2>&1
		sleep 0.1
		_i=$((_i + 1))
	done
	[ "$(stat flows)" -eq 0 ] || ns_b conntrack -L 2>/dev/null | grep "dst=$VIP" | sed 's/^/# left: /'
}
stat() { ctl show stats | awk -v k="$1" '$1 == k { print $2 }'; }

if ! lab_up || ! servers_up; then
	notok "lab set up"
	exit 1
fi
loadd_conf_multi
sed -i '1i offload = yes' "$TMP/loadd.conf"
# conntrack forgets closing connections and UDP after a second, not
# minutes.
for t in tcp_timeout_time_wait tcp_timeout_close tcp_timeout_fin_wait \
    tcp_timeout_close_wait tcp_timeout_last_ack udp_timeout \
    udp_timeout_stream; do
	ns_b sysctl -qw net.netfilter.nf_conntrack_$t=1
done
if ! loadd_up; then
	notok "loadd with offload = yes up"
	exit 1
fi

# 0. The rules: mangle queues only unconfirmed NEW packets, nat copies
# the mark and has one DNAT rule per server; applied twice, nothing
# doubles.
"$LOADD" -R -f "$TMP/loadd.conf" | ns_b sh -e
j=$(ns_b iptables -t mangle -S PREROUTING | grep -c 'loadd-8670')
k=$(ns_b iptables -t nat -S PREROUTING | grep -c 'loadd-8670')
q=$(ns_b iptables -t mangle -S loadd-8670 | grep -c 'ctstatus ! CONFIRMED\|! --ctstatus CONFIRMED')
d=$(ns_b iptables -t nat -S loadd-8670 | grep -c DNAT)
d6=$(ns_b ip6tables -t nat -S loadd-8670 | grep -c DNAT)
check "[ $j -eq 1 ] && [ $k -eq 1 ] && [ $q -eq 2 ] && [ $d -eq 6 ] && [ $d6 -eq 3 ]" \
    "rules applied twice: one jump each ($j, $k), 2 queue rules ($q), 6 + 3 DNAT rules ($d, $d6)"
check "! ns_b iptables -t raw -S | grep -q loadd" "no raw-table rules in offload mode"

# 1. Round-robin: 300 requests, 100 +- 10 each, none failed.
rr_shares

# 2. wrk with keep-alive: the kernel carries it, loadd sees 16 SYNs.
p0=$(stat packets)
ns_c wrk -t2 -c16 -d3s "http://$VIP/" > "$TMP/wrk" 2>&1 || true
reqs=$(awk '/requests in/ { print $1 }' "$TMP/wrk")
p1=$(stat packets)
check "[ '${reqs:-0}' -gt 1000 ] && ! grep -q -e 'Non-2xx' -e 'Socket errors' '$TMP/wrk'" \
    "wrk: ${reqs:-0} requests, no socket errors, no non-2xx answers"
check "[ $((p1 - p0)) -ge 16 ] && [ $((p1 - p0)) -le 40 ]" \
    "loadd saw $((p1 - p0)) packets of those ${reqs:-0} requests (16 connections)"

# 3. A 10 MB download is byte-identical.
ns_c curl -s -m 60 -o "$TMP/got" "http://$VIP/big" || true
check "cmp -s '$TMP/got' '$TMP/big'" "10 MB download through the VIP is byte-identical"
csum() { "$@" nstat -asz TcpInCsumErrors | awk '/TcpInCsumErrors/ { print $2 }'; }
check "[ '$(csum ns_c)' = 0 ]" "client: TcpInCsumErrors 0"

# 4. conntrack: the entries carry loadd's marks, DNAT'd to the servers;
# every mark is one the rules know.
"$LOADD" -R -f "$TMP/loadd.conf" | awk '/DNAT/ { for (i = 1; i < NF; i++)
    if ($i == "--mark") print $(i + 1) }' | sort > "$TMP/marks"
ctmarks() {
	ns_b conntrack -L -p tcp 2>/dev/null | grep "dst=$VIP " |
	    sed -n 's/.*mark=\([0-9]*\).*/\1/p' |
	    while read -r v; do printf '0x%08x\n' "$v"; done | sort -u
}
ns_c curl -s -m 3 -o /dev/null "http://$VIP/"
ns_b conntrack -L -p tcp 2>/dev/null | grep "dst=$VIP " > "$TMP/ct" || true
n=$(wc -l < "$TMP/ct")
s=$(grep -c "src=198.18.1.1[123] dst=198.18.0.2" "$TMP/ct" || true)
ctmarks > "$TMP/ctm"
check "[ $n -ge 1 ] && [ $s -eq $n ] && [ -s '$TMP/ctm' ] && [ -z \"\$(comm -23 '$TMP/ctm' '$TMP/marks')\" ]" \
    "conntrack: $n entries to the VIP, each DNAT'd to a server ($s) with a mark of the rules ($(tr '\n' ' ' < "$TMP/ctm"))"

# 5. Ends: once conntrack forgets the connections, so does loadd, and the
# download's bytes are on the servers' counters.
drained
check "[ '$(stat flows)' -eq 0 ]" "no flow left in loadd once conntrack forgot the connections"
e=$(stat offload_ended)
o=$(stat offloaded)
check "[ $e -eq $o ] && [ $e -ge 300 ]" "conntrack ended $e of the $o offloaded flows"
out=$(ctl -j show servers | jq '[.[] | select(.service == "default") | .bytes_out] | add')
check "[ ${out:-0} -gt 10485760 ]" "the servers' bytes out (conntrack's counts): ${out:-0} > 10 MB"
check "[ '$(stat conntrack_events_bad)' = 0 ] && [ '$(stat conntrack_events_lost)' = 0 ]" \
    "no conntrack event bad or lost"

# 6. Least connections sees offloaded connections as active: three
# long ones land on three servers, and end.
sed -i '1i balancingmode = leastconn' "$TMP/loadd.conf"
ctl reload > /dev/null
# Three connections that send their request only after 6 s: they are
# open and idle across what follows.
SLOW=
for n in 1 2 3; do
	ns_c sh -c "(sleep 6; printf 'GET / HTTP/1.0\\r\\n\\r\\n') |
	    socat -t 5 - TCP:$VIP:80" > "$TMP/slow$n" 2>&1 &
	SLOW="$SLOW $!"
	sleep 0.3
done
sleep 0.5
act=$(ctl -j show servers | jq -c '[.[] | select(.service == "default") | .flows_active]')
check "[ '$act' = '[1,1,1]' ]" "least connections: the three open connections, one per server ($act)"
# A restart of loadd meanwhile: the kernel carries the connections on,
# and the new loadd learns them back from conntrack.
kill "$LOADD_PID"
wait "$LOADD_PID" 2>/dev/null
loadd_up
i=0
while [ "$(stat offload_adopted)" -lt 3 ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
act=$(ctl -j show servers | jq -c '[.[] | select(.service == "default") | .flows_active]')
[ "$(stat offload_adopted)" -ge 3 ] || { ctl show flows; ns_b conntrack -L 2>/dev/null | grep "dst=$VIP"; } | sed 's/^/# /'
check "[ '$(stat offload_adopted)' -ge 3 ] && [ \"\$(echo '$act' | jq 'map(select(. >= 1)) | length')\" = 3 ]" \
    "after a restart loadd knows the open connections again: $(stat offload_adopted) taken back, active $act"
wait $SLOW
n=0
for k in 1 2 3; do tr -d '\r' < "$TMP/slow$k" | grep -q '^s[123]$' && n=$((n + 1)); done
check "[ $n -eq 3 ]" "their requests, sent after the restart, were answered ($n of 3)"
drained
act=$(ctl -j show servers | jq -c '[.[] | select(.service == "default") | .flows_active]')
check "[ '$act' = '[0,0,0]' ]" "and none is active once they ended ($act)"

# 7. UDP and IPv6 through the VIPs.
: > "$TMP/udp"
for i in 1 2 3 4 5 6; do
	echo q | ns_c socat -T 1 - "UDP4:$VIP:5353,sourceport=$((30000 + i))" >> "$TMP/udp" 2>/dev/null
done
u=$(sort -u "$TMP/udp" | grep -c '^s[123]$' || true)
check "[ $(wc -l < "$TMP/udp") -eq 6 ] && [ $u -eq 3 ]" "UDP: 6 answers from the 3 servers ($(tr '\n' ' ' < "$TMP/udp"))"
a6=$(ns_c curl -s -m 3 "http://[$VIP6]/" || echo fail)
check "echo '$a6' | grep -q '^s[123]$'" "IPv6 through the VIP6: answered by $a6"

# 8. Garbage at the VIP: what conntrack calls new comes to loadd, which
# drops and counts it; requests keep being answered.
d0=$(stat dropped)
ns_c "$PWD/$O/pktflood" -d "$VIP" -c 5000 -s 11 > "$TMP/flood" 2>&1 &
FLOOD=$!
fails=0
i=0
while [ $i -lt 30 ]; do
	ns_c curl -s -m 3 -o /dev/null "http://$VIP/" || fails=$((fails + 1))
	i=$((i + 1))
done
wait $FLOOD || true
check "[ $fails -eq 0 ] && [ '$(stat dropped)' -gt $d0 ]" \
    "30 requests answered during a garbage flood ($fails failed), drops counted ($d0 -> $(stat dropped))"

# 9. A reload (here with the servers listed the other way round) keeps
# every mark: the rules applied before it stay right.
sed "s/^servers = $(echo $SERVERS | sed 's/ /, /g')\$/servers = 198.18.1.13, 198.18.1.12, 198.18.1.11/" \
    "$TMP/loadd.conf" > "$TMP/rev"
mv "$TMP/rev" "$TMP/loadd.conf"
"$LOADD" -R -f "$TMP/loadd.conf" | awk '/DNAT/ { for (i = 1; i < NF; i++)
    if ($i == "--mark") print $(i + 1) }' | sort > "$TMP/marks2"
ctl reload > /dev/null
ok=0
for i in 1 2 3 4 5 6; do
	ns_c curl -s -m 3 -o /dev/null "http://$VIP/" && ok=$((ok + 1))
done
ctmarks > "$TMP/ctm"
check "cmp -s '$TMP/marks' '$TMP/marks2' && [ $ok -eq 6 ] && [ -z \"\$(comm -23 '$TMP/ctm' '$TMP/marks')\" ]" \
    "after a reload that reorders the servers: the same marks, 6/6 requests ($ok), all DNAT'd by the old rules"

# 10. Lost events, reconciled: four idle connections; the packet process
# stopped while 30000 conntrack events (forwarded UDP to a server's own
# address, each datagram a new entry) fill its socket, and conntrack
# forgets the four meanwhile (their ends are lost); let go, loadd counts
# the loss, asks conntrack for its list and sweeps the four.
drained
IDLE=
for n in 1 2 3 4; do
	ns_c socat -u EXEC:'sleep 30' "TCP:$VIP:80" 2>/dev/null &
	IDLE="$IDLE $!"
done
i=0
while [ "$(ctl show flows | grep -c ' offloaded ')" -lt 4 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "[ \"\$(ctl show flows | grep -c ' offloaded ')\" -eq 4 ]" \
    "four idle connections, confirmed by conntrack ($(ctl show flows | grep -c ' offloaded ') offloaded)"
pp=$(pgrep -P "$LOADD_PID" -x loadd || echo "$LOADD_PID")
l0=$(stat conntrack_events_lost)
kill -STOP "$pp"
ns_c "$PWD/$O/udpblast" -R -a 198.18.0.2 -A 1 -p 20000 -P 30000 -n 30000 \
    -r 20000 -t 10 198.18.1.11:9 > /dev/null 2>&1
ns_b conntrack -D -p tcp -d "$VIP" > /dev/null 2>&1
kill -CONT "$pp"
i=0
while { [ "$(stat offload_swept)" -lt 4 ] || [ "$(stat flows)" -gt 0 ]; } &&
    [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "[ $(stat conntrack_events_lost) -gt $l0 ] && [ $(stat offload_swept) -ge 4 ] && [ $(stat flows) -eq 0 ]" \
    "events lost ($l0 -> $(stat conntrack_events_lost)), the four swept after conntrack's list ($(stat offload_swept)), $(stat flows) flows left, in $((i / 10)) s"
for p in $IDLE; do kill "$p" 2>/dev/null; done
ok=0
for i in 1 2 3; do
	ns_c curl -s -m 3 -o /dev/null "http://$VIP/" && ok=$((ok + 1))
done
check "[ $ok -eq 3 ]" "new connections answered after the sweep ($ok of 3)"

# 11. No server: the client's SYN is answered with a RST sent on its own
# and dropped, so conntrack keeps no untranslated entry of it, and the
# client's next SYN from the same port, once servers are back, gets in.
for s in $SERVERS; do ctl disable "$s:80" > /dev/null; done
r0=$(stat refused)
t0=$(date +%s%N)
ns_c curl -s -m 3 -o /dev/null --local-port 40001 "http://$VIP/"
rc=$?
t1=$(date +%s%N)
n=$(ns_b conntrack -L -p tcp --sport 40001 2>/dev/null | grep -c "dst=$VIP" || true)
check "[ $rc -eq 7 ] && [ $(stat refused) -gt $r0 ] && [ $n -eq 0 ]" \
    "no server: refused at once with a RST (curl $rc, $(((t1 - t0) / 1000000)) ms), no conntrack entry left for it ($n)"
for s in $SERVERS; do ctl enable "$s:80" > /dev/null; done
a=$(ns_c curl -s -m 3 --local-port 40001 "http://$VIP/" || echo fail)
check "echo '$a' | grep -q '^s[123]$'" "the same client port once the servers are back: answered by $a"

check "! grep -q 'io errors [1-9]' '$TMP/loadd.log' && kill -0 $LOADD_PID" "loadd running, no netlink errors"

[ $fail -eq 0 ]
