#!/bin/sh
# Integration: offload = bpf.  loadd decides each connection from its
# first packets (NFQUEUE), then puts the flow in the eBPF fast path's map
# (bpf/fastpath.bpf.c on the balancer's eth0 and the bridge's ports), reads
# its counters back, expires it, and takes it out again.
#
#   client ns          balancer ns                          server ns s1..s3
#   198.18.0.2 --eth0-[tc ingress: fastpath]               198.18.1.1x
#                      loadd (NFQUEUE; fills the map)        nginx :80
#                      br0 --p1..p3-[tc ingress: fastpath]-
#
# Checks: loadd attaches at start (tc shows its program); a 10 MB download
# arrives byte for byte with nearly all of it carried by the map (its hit
# counter) and few packets through loadd; show flows lists a download in
# the map with the bytes the map counted, and the server's bytes grow;
# kill -9 of loadd in the middle of a download: the download completes
# byte for byte; a restarted loadd takes the flow back (show flows, with
# its bytes) and new connections work; an idle flow expires and leaves
# the map; a server that goes down with down_flows = reset: its flow in
# the map is taken out and the client's next packet gets a RST; 200 short
# connections: loadd sees about one packet of each (the SYN), the map's
# events (read under seccomp) tell it the rest, and the servers' active
# counts are back to 0 with no close left to the poll; a one-way UDP
# stream (servers that never answer) ends up in the map.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=p$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
LOADCTL=$PWD/$O/loadctl
FPCTL=$PWD/$O/fastpathctl
LAB_OFFLOAD=bpf
. tests/lib/netns.sh

. tests/lib/tap.sh

if [ ! -x "$FPCTL" ]; then
	echo "ok - skipped: built without the fast path (no $FPCTL)"
	tap_end
	exit 0
fi

ctl() { "$LOADCTL" -s "$TMP/ctl.sock" "$@"; }
fp() { nsenter --net="/run/netns/lab$LAB-b" "$FPCTL" -b "$LAB_BPFFS" -n loadd "$@"; }
fpstat() { fp stats | awk -v k="$1" '$1 == k { print $2 }'; }
stat() { ctl show stats | awk -v k="$1" '$1 == k { print $2 }'; }
# The flow of client port $1 in show flows: "PATH BYTES", or nothing.
flowline() { ctl show flows | awk -v p=":$1" \
    'index($2, p) == length($2) - length(p) + 1 { print $6, $7 }'; }
# waitfor SECONDS CONDITION: polls every 0.1 s.
waitfor() {
	_n=$(($1 * 10))
	while [ $_n -gt 0 ]; do
		eval "$2" && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}
# Starts loadd as loadd_up does, without the rules (they stay loaded).
loadd_start() {
	ip netns exec "lab$LAB-b" "$LOADD" -f "$TMP/loadd.conf" -v \
	    -s "$TMP/ctl.sock" >> "$TMP/loadd.log" 2>&1 &
	LOADD_PID=$!
	waitfor 10 'ns_c curl -s -m 1 -o /dev/null "http://$VIP/"'
}

cleanup() {
	[ -n "${DL_PID:-}" ] && kill "$DL_PID" 2>/dev/null
	[ -n "${HOLD_PID:-}" ] && kill "$HOLD_PID" 2>/dev/null
	lab_down
	tap_end
}
trap cleanup EXIT

if ! { lab_up && servers_up; }; then
	notok "lab set up"
	exit 1
fi
touch "$TMP/s1/www/health" "$TMP/s2/www/health" "$TMP/s3/www/health"
cat > "$TMP/loadd.conf" <<CONF
ipaliasing = $VIP
ports = 80
servers = $(echo $SERVERS | sed 's/ /, /g')
balancingmode = roundrobin
check = http
check_path = /health
check_interval = 0.5
check_timeout = 0.4
check_fall = 1
down_flows = reset
unknown_flow = reset
timeout_tcp_established = 8

service = discard
ipaliasing = $VIP
protocol = udp
ports = 9
servers = $(echo $SERVERS | sed 's/ /, /g')
check = none
CONF
if ! loadd_up; then
	notok "loadd up with offload = bpf"
	exit 1
fi
prog=$(fp query eth0)
check "[ -n '$prog' ] && [ '$prog' != 0 ] && [ '$(fp query p1)' = '$prog' ] && [ '$(fp query p3)' = '$prog' ]" \
    "loadd attached its program to eth0, p1, p3 (id $prog)"
check "grep -q 'offload = bpf: a new program on 4 interface' '$TMP/loadd.log'" \
    "loadd says it loaded the program"

# An interface serves one loadd: a second one, with pins of its own, is
# refused at its start with the way out, and the first keeps its filter.
sed "s|^offload_pin = .*|offload_pin = $LAB_BPFFS/second|" \
    "$TMP/loadd.conf" > "$TMP/second.conf"
out=$(timeout 20 ip netns exec "lab$LAB-b" "$LOADD" -f "$TMP/second.conf" \
    -p 8679 -s "$TMP/ctl2.sock" 2>&1)
rc=$?
why=$(echo "$out" | grep -o 'another program.*' | head -1)
check "[ $rc -ne 0 ] && [ $rc -ne 124 ] && [ -n \"\$why\" ] && [ \"\$(fp query eth0)\" = '$prog' ]" \
    "a second loadd on the same interfaces stops at its start (exit $rc: $why)"
rm -rf "$LAB_BPFFS/second"

# 1. A 10 MB download: the map carries it, loadd sees its handshake.
p0=$(stat packets)
h0=$(fpstat hit)
ns_c curl -s -m 60 -o "$TMP/got" "http://$VIP/big"
p1=$(stat packets)
h1=$(fpstat hit)
check "cmp -s '$TMP/got' '$TMP/big'" "10 MB download, byte for byte"
check "[ $((h1 - h0)) -gt 100 ] && [ $((p1 - p0)) -lt 100 ]" \
    "the map carried $((h1 - h0)) packets (GSO ones count once), loadd saw $((p1 - p0))"
check "[ $(stat fastpath_added) -ge 1 ]" \
    "fastpath_added $(stat fastpath_added)"

# 2. A paced download: in the map, with its bytes, in show flows.  (Paced
# by a token bucket on the balancer's way to the client, which the fast
# path's redirect goes through too: with curl --limit-rate the client's
# socket buffers took the whole file in well under a second.)
ns_b tc qdisc add dev eth0 root tbf rate 12mbit burst 256kb latency 2s
ns_c curl -s -m 60 --local-port 42001 \
    -o "$TMP/got2" "http://$VIP/big" &
DL_PID=$!
waitfor 10 '[ "$(flowline 42001 | awk "{ print \$1 }")" = map ] && [ "$(flowline 42001 | awk "{ print \$2 }")" -gt 1000000 ]'
line=$(flowline 42001)
check "[ \"\${line%% *}\" = map ] && [ \"\${line#* }\" -gt 1000000 ]" \
    "show flows: the download is in the map with its bytes ($line)"

# 3. kill -9 of loadd (both processes) in the middle: the download goes
# on in the map and completes byte for byte.
for pid in $(pgrep -P "$LOADD_PID") "$LOADD_PID"; do
	kill -9 "$pid" 2>/dev/null
done
wait "$LOADD_PID" 2>/dev/null
LOADD_PID=
wait "$DL_PID"
DL_PID=
check "cmp -s '$TMP/got2' '$TMP/big'" \
    "a download survives kill -9 of loadd, byte for byte"
check "! ns_c curl -s -m 1 -o /dev/null http://$VIP/" \
    "without loadd, new connections wait (fail-closed)"

# 4. A restarted loadd takes back a flow the map carries.
ns_c curl -s -m 60 --local-port 42002 \
    -o "$TMP/got3" "http://$VIP/big" &
DL_PID=$!
# (no loadd: the download starts only once loadd is back)
check "loadd_start" "loadd restarts"
waitfor 10 '[ "$(flowline 42002 | awk "{ print \$1 }")" = map ]'
for pid in $(pgrep -P "$LOADD_PID") "$LOADD_PID"; do
	kill -9 "$pid" 2>/dev/null
done
wait "$LOADD_PID" 2>/dev/null
: > "$TMP/loadd.log"
check "loadd_start" "loadd restarts while a download is in the map"
waitfor 5 '[ -n "$(flowline 42002)" ] && [ "$(flowline 42002 | awk "{ print \$2 }")" -gt 0 ]'
line=$(flowline 42002)
check "[ \"\${line%% *}\" = map ] && [ \"\${line#* }\" -gt 0 ] && [ $(stat fastpath_adopted) -ge 1 ]" \
    "the flow is taken back: show flows '$line', fastpath_adopted $(stat fastpath_adopted)"
check "grep -q 'flow(s) in the map taken back' '$TMP/loadd.log'" \
    "loadd says so"
a=$(ns_c curl -s -m 3 "http://$VIP/")
check "[ -n '$a' ]" "a new connection works after the restart ('$a')"
wait "$DL_PID"
DL_PID=
check "cmp -s '$TMP/got3' '$TMP/big'" "that download completes byte for byte"
ns_b tc qdisc del dev eth0 root

# A client that holds a keep-alive connection from port $2: a few
# requests (loadd puts a flow in the map after a few packets, so that
# short connections end where it sees them), then it waits for a line on
# its input, asks once more and says whether it was answered or reset.
cat > "$TMP/hold.py" <<'HOLD'
import socket, sys
s = socket.socket()
s.bind(("198.18.0.2", int(sys.argv[2])))
s.connect((sys.argv[1], 80))
for i in range(6):
    s.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n")
    s.recv(4096)
print("open", flush=True)
sys.stdin.readline()
try:
    s.sendall(b"GET / HTTP/1.1\r\nHost: lab\r\n\r\n")
    got = s.recv(4096)
    print("answered" if got else "closed")
except (ConnectionResetError, BrokenPipeError):
    print("reset")
HOLD
mkfifo "$TMP/go5" "$TMP/go6"

# 5. An idle flow (timeout_tcp_established = 8) expires and leaves the map.
ns_c sh -c "python3 '$TMP/hold.py' $VIP 42004 < '$TMP/go5' > '$TMP/hold5.out' 2>&1" &
HOLD_PID=$!
exec 5> "$TMP/go5"
waitfor 5 '[ "$(flowline 42004 | awk "{ print \$1 }")" = map ]'
n0=$(fp show | grep -c 42004)
check "[ '$(flowline 42004 | awk '{ print $1 }')' = map ] && [ $n0 -eq 1 ]" \
    "an idle keep-alive connection is in the map"
waitfor 30 '[ "$(fp show | grep -c 42004)" -eq 0 ]'
check "[ $(fp show | grep -c 42004) -eq 0 ] && [ -z '$(flowline 42004)' ]" \
    "it expired: out of the map and of the table (fastpath_deleted $(stat fastpath_deleted))"
exec 5>&-
wait "$HOLD_PID"
HOLD_PID=

# 6. down_flows = reset: a flow in the map of a server that goes down is
# taken out; the client's next packet gets a RST from loadd.
ns_c sh -c "python3 '$TMP/hold.py' $VIP 42003 < '$TMP/go6' > '$TMP/hold.out' 2>&1" &
HOLD_PID=$!
exec 4> "$TMP/go6"
waitfor 5 '[ "$(flowline 42003 | awk "{ print \$1 }")" = map ]'
srv=$(ctl show flows | awk '$2 ~ /:42003$/ { print $3 }')
check "[ '$(flowline 42003 | awk '{ print $1 }')' = map ]" \
    "a held connection is in the map (server $srv)"
n=${srv##*.}
n=${n%:*}
n=${n#1}
rm -f "$TMP/s$n/www/health"
waitfor 10 '[ "$(flowline 42003 | awk "{ print \$1 }")" = loadd ]'
check "[ '$(flowline 42003 | awk '{ print $1 }')' = loadd ]" \
    "server $srv down: its flow left the map"
echo go >&4
exec 4>&-
wait "$HOLD_PID"
HOLD_PID=
check "grep -q reset '$TMP/hold.out'" \
    "the client's next request got a RST ($(cat "$TMP/hold.out" | tr '\n' ' '))"
touch "$TMP/s$n/www/health"

# 8. Short connections: loadd sees each one's SYN, the map carries the
# rest, and its events tell loadd the SYN+ACK and the FINs -- read by the
# packet process under its seccomp filter.  The servers' active counts
# are back to 0 at once: every close came by an event, none by the poll.
actives() { ctl -j show servers | grep -o '"flows_active":[0-9]*' |
    awk -F: '{ n += $2 } END { print n + 0 }'; }
kid=$(pgrep -P "$LOADD_PID" | head -1)
if grep -qa -e __asan_init -e __ubsan_handle "$LOADD"; then
	ok "skipped: a sanitizer build runs without the seccomp filter"
else
	check "[ -n '$kid' ] && grep -q '^Seccomp:[[:space:]]*2' /proc/$kid/status" \
	    "the packet process (pid $kid) runs under its seccomp filter"
fi
waitfor 10 '[ "$(actives)" -eq 0 ]'
p0=$(stat packets); e0=$(stat fastpath_events); c0=$(stat fastpath_closed)
a0=$(stat fastpath_added)
ok=0
for i in $(seq 200); do
	ns_c curl -s -m 2 -o /dev/null "http://$VIP/" && ok=$((ok + 1))
done
waitfor 3 '[ "$(actives)" -eq 0 ]'
p1=$(stat packets); e1=$(stat fastpath_events); c1=$(stat fastpath_closed)
a1=$(stat fastpath_added)
check "[ $ok -eq 200 ] && [ $((a1 - a0)) -ge 200 ]" \
    "200 short connections, all answered, each put in the map ($((a1 - a0)))"
check "[ $((p1 - p0)) -le 300 ]" \
    "loadd saw about one packet per connection ($((p1 - p0)) for 200)"
check "[ $((e1 - e0)) -ge 600 ] && [ $((c1 - c0)) -eq 0 ] && [ '$(actives)' -eq 0 ]" \
    "the map told loadd $((e1 - e0)) SYN+ACKs and FINs; active counts back to 0, no close left to the poll ($((c1 - c0)))"
check "[ $(stat fastpath_events_lost) -eq 0 ] && [ $(stat fastpath_events_bad) -eq 0 ]" \
    "no event lost or malformed"

# 9. One-way UDP datagrams (the servers take them and never answer): the
# flow goes into the map after a few, and the map carries the rest.
for n in 1 2 3; do
	ns_s $n iptables -I INPUT -p udp --dport 9 -j DROP
done
udpline() { ctl show flows service discard | awk '$3 ~ /:9$/ { print $6, $7 }'; }
p0=$(stat packets)
ns_c "$PWD/$O/udpblast" -t 4 -r 500 -k 1 -s 100 "$VIP:9" > "$TMP/blast.out" 2>&1 &
DL_PID=$!
waitfor 10 '[ "$(udpline | awk "{ print \$1 }")" = map ] && [ "$(udpline | awk "{ print \$2 }")" -gt 10000 ]'
line=$(udpline)
wait "$DL_PID"
DL_PID=
p1=$(stat packets)
got=0
for n in 1 2 3; do
	got=$((got + $(ns_s $n iptables -nvxL INPUT | awk '/dpt:9/ { print $1 }')))
done
check "[ \"\${line%% *}\" = map ] && [ \"\${line#* }\" -gt 10000 ]" \
    "show flows: the one-way UDP flow is in the map with its bytes ($line)"
check "[ $got -ge 1500 ] && [ $((p1 - p0)) -lt 100 ]" \
    "the servers got $got datagrams, loadd saw $((p1 - p0)) ($(tr '\n' ' ' < "$TMP/blast.out"))"

# 7. What loadd -R prints as "# remove:" lines takes it all away.
kill "$LOADD_PID"
wait "$LOADD_PID" 2>/dev/null
LOADD_PID=
"$LOADD" -R -f "$TMP/loadd.conf" | sed -n 's/^# remove: //p' > "$TMP/remove.sh"
check "[ \$(wc -l < '$TMP/remove.sh') -eq 5 ]" \
    "loadd -R prints 5 removal lines (4 filters, the pins)"
ns_b sh -e "$TMP/remove.sh"
check "[ '$(fp query eth0 2>/dev/null)' = 0 ] && [ '$(fp query p2 2>/dev/null)' = 0 ] && [ ! -e '$LAB_BPFFS/loadd' ]" \
    "after them no filter and no pin is left"
