#!/bin/sh
# Integration: the eBPF fast path (bpf/fastpath.bpf.c) on the balancer's
# interfaces, beside a loadd that carries everything else over NFQUEUE.
# The engine does not fill the flow map yet, so this test does, by hand,
# with fastpathctl (tests/tools/fastpathctl.c).
#
#   client ns          balancer ns                          server ns s1
#   198.18.0.2 --eth0-[tc ingress: fastpath]               198.18.1.11
#                      loadd (NFQUEUE, raw table)            nginx :80
#                      br0 --p1-[tc ingress: fastpath]----- iperf3 :5201, :5202
#                          (p2, p3 alike)
#
# On the servers' side the program sits on the bridge's ports, not on br0:
# with br_netfilter (bridge-nf-call-iptables, on by default in every
# namespace once the module is loaded) the bridge runs iptables' PREROUTING
# -- and so loadd's queue -- before br0's own ingress.
#
# Checks: the program attaches to eth0 and p1..p3 and adopts its pins when
# loaded again; ARP, ICMP and unlisted flows pass untouched to loadd; a
# 10 MB download in the map arrives byte for byte, counted, FINs noted,
# loadd seeing none of it; an established transfer moves to the fast path
# when its flow is added (loadd stops seeing it) and back to loadd when it
# is deleted, and completes; no TCP checksum errors at either end; detach
# and unpin leave nothing.
# Measured, not judged: iperf3 download throughput through the direct
# route, through loadd alone, and through the fast path.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=f$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
LOADCTL=$PWD/$O/loadctl
FPCTL=$PWD/$O/fastpathctl
. tests/lib/netns.sh

. tests/lib/tap.sh

if [ ! -x "$FPCTL" ]; then
	echo "ok - skipped: built without the fast path (no $FPCTL)"
	tap_end
	exit 0
fi
for p in iperf3 nsenter; do
	if ! command -v $p > /dev/null 2>&1; then
		notok "$p is not installed (tests/deps.sh)"
		tap_end
		exit 1
	fi
done

# The pins live on a bpffs of this test's own, mounted in the host's mount
# namespace so that every "ip netns exec" sees it; fastpathctl runs in the
# balancer's network namespace only (nsenter), as loadd will.
BPFFS=$TMP/bpffs
NAME=fp$$
IFS_FP="eth0 p1 p2 p3"
fp() { nsenter --net="/run/netns/lab$LAB-b" "$FPCTL" -b "$BPFFS" -n "$NAME" "$@"; }
ctl() { "$LOADCTL" -s "$TMP/ctl.sock" "$@"; }
loadd_packets() { ctl show stats | awk '$1 == "packets" { print $2 }'; }
fpstat() { fp stats | awk -v k="$1" '$1 == k { print $2 }'; }
# fpread FLOW KEY: one counter of one flow ("read" prints key=value).
fpread() {
	_k=$1
	shift
	fp read "$@" 2>/dev/null | tr ' ' '\n' | awk -F= -v k="$_k" \
	    '$1 == k { print $2 }'
}

cleanup() {
	[ -n "${IPERF_PID:-}" ] && kill "$IPERF_PID" 2>/dev/null
	for f in "$TMP"/iperf*.pid; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	if [ -d "$BPFFS" ]; then
		fp detach $IFS_FP > /dev/null 2>&1
		fp unpin > /dev/null 2>&1
		umount "$BPFFS" 2>/dev/null
	fi
	lab_down
	tap_end
}
trap cleanup EXIT

if ! { lab_up && servers_up; }; then
	notok "lab set up"
	exit 1
fi
cat > "$TMP/loadd.conf" <<CONF
ipaliasing = $VIP
ports = 80, 5201
servers = 198.18.1.11
balancingmode = roundrobin
CONF
if ! loadd_up; then
	notok "loadd up"
	exit 1
fi
for port in 5201 5202; do
	ip netns exec "lab$LAB-s1" iperf3 -s -p $port -D \
	    --pidfile "$TMP/iperf$port.pid" > /dev/null 2>&1
done
mkdir -p "$BPFFS"
mount -t bpf bpffs "$BPFFS"

# 1. Load, attach to both sides, adopt on the second run.
out=$(fp attach $IFS_FP)
id=$(echo "$out" | sed -n 's/^loaded prog_id=\([0-9]*\).*/\1/p')
check "[ -n '$id' ]" "fastpathctl attach: $out"
out2=$(fp attach $IFS_FP)
check "[ '$out2' = 'adopted prog_id=$id capacity=65536' ]" \
    "attached again, the pinned program is adopted: $out2"
check "[ '$(fp query eth0)' = '$id' ] && [ '$(fp query p1)' = '$id' ] && [ '$(fp query p3)' = '$id' ]" \
    "tc shows program $id on eth0, p1, p3"
check "[ -e '$BPFFS/$NAME/prog' ] && [ -e '$BPFFS/$NAME/flows' ]" \
    "pinned in $BPFFS/$NAME"

# 2. What is not in the map passes: ARP, ICMP, and loadd's flows.
ns_b ip neigh flush dev eth0
ns_c ip neigh flush dev eth0
notip0=$(fpstat notip)
other0=$(fpstat other)
miss0=$(fpstat miss)
check "ns_c ping -c 3 -i 0.2 -W 2 -q 198.18.1.12 > /dev/null" \
    "ping through the balancer (ARP and ICMP)"
check "[ $(fpstat notip) -gt $notip0 ] && [ $(fpstat other) -gt $other0 ]" \
    "ARP and ICMP passed untouched (notip $notip0 -> $(fpstat notip), other $other0 -> $(fpstat other))"
a=$(ns_c curl -s -m 5 "http://$VIP/")
check "[ '$a' = s1 ] && [ $(fpstat miss) -gt $miss0 ]" \
    "a new connection goes to loadd (answer '$a', misses $miss0 -> $(fpstat miss))"
check "[ $(fpstat hit) -eq 0 ]" "nothing took the fast path yet"

# 3. A 10 MB download whose flow is in the map from its first packet:
# loadd sees none of it, the map counts all of it, the file is intact.
FLOW="tcp 198.18.0.2:41000 $VIP:80 198.18.1.11:80"
fp add $FLOW
p0=$(loadd_packets)
ns_c curl -s -m 60 --local-port 41000 -o "$TMP/got" "http://$VIP/big"
p1=$(loadd_packets)
tc_bytes=$(fpread to_client_bytes $FLOW)
check "cmp -s '$TMP/got' '$TMP/big'" \
    "10 MB through the fast path, byte for byte"
check "[ ${tc_bytes:-0} -ge 10485760 ] && [ $((p1 - p0)) -eq 0 ]" \
    "the map counted ${tc_bytes:-0} bytes to the client, loadd saw $((p1 - p0)) packets"
check "[ '$(fpread to_server_fin $FLOW)' = 1 ] && [ '$(fpread to_client_fin $FLOW)' = 1 ]" \
    "the map noted the FIN of each direction"
fp del $FLOW

# 4. An established transfer moves to the fast path when its flow is
# added, and back to loadd when it is deleted.  iperf3 paces the server
# (-b), so that it is still sending when the flow changes hands.
FLOW="tcp 198.18.0.2:41001 $VIP:5201 198.18.1.11:5201"
p0=$(loadd_packets)
ns_c iperf3 -c "$VIP" -p 5201 -R -t 6 -b 200M --cport 41001 -J \
    > "$TMP/handover.json" 2>&1 &
IPERF_PID=$!
# waits until loadd has counted N more packets than $1, 10 s at most.
loadd_grew() {
	_i=0
	while [ "$(loadd_packets)" -lt $(($1 + $2)) ] && [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ "$(loadd_packets)" -ge $(($1 + $2)) ]
}
check "loadd_grew $p0 1000" "the transfer starts through loadd"
check "fp add $FLOW" "flow added while the transfer runs"
i=0
while [ "$(fpread to_client_bytes $FLOW || echo 0)" -lt 5000000 ] &&
    [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
p1=$(loadd_packets)
sleep 1
p2=$(loadd_packets)
tc_bytes=$(fpread to_client_bytes $FLOW)
ts_pkts=$(fpread to_server_packets $FLOW)
check "[ ${tc_bytes:-0} -ge 5000000 ] && [ ${ts_pkts:-0} -gt 10 ]" \
    "the fast path carries it: ${tc_bytes:-0} bytes to the client, ${ts_pkts:-0} ACK packets to the server"
check "[ $((p2 - p1)) -lt 5 ]" \
    "loadd saw $((p2 - p1)) packets in a second of fast path (< 5)"
check "fp del $FLOW && kill -0 $IPERF_PID" \
    "flow deleted while the transfer runs"
p3=$(loadd_packets)
check "loadd_grew $p3 1000" "loadd carries the transfer again"
i=0
while kill -0 "$IPERF_PID" 2>/dev/null && [ $i -lt 150 ]; do
	sleep 0.1
	i=$((i + 1))
done
wait "$IPERF_PID"
rc=$?
IPERF_PID=
sent=$(jq -r '.end.sum_sent.bytes // 0' "$TMP/handover.json" 2>/dev/null)
rcvd=$(jq -r '.end.sum_received.bytes // 0' "$TMP/handover.json" 2>/dev/null)
check "[ $rc -eq 0 ] && [ ${rcvd:-0} -gt 10000000 ] && [ ${rcvd:-0} -ge $((${sent:-0} - 2000000)) ]" \
    "iperf3 through loadd, fast path and loadd again: exit $rc, ${rcvd:-0} of ${sent:-0} bytes received"
[ "${rcvd:-0}" -gt 0 ] || sed 's/^/# iperf3: /' "$TMP/handover.json" | tail -5
check "! fp read $FLOW > /dev/null 2>&1" "the flow is gone from the map"

# 5. Measured: iperf3 downloads (3 s), direct route, loadd alone, fast
# path (the data connection's flow added before it starts).
bps() { jq -r '.end.sum_received.bits_per_second // 0' "$1" 2>/dev/null |
    awk '{ printf "%d", $1 / 1000000 }'; }
# iperf3 -J into FILE with the other arguments.  A server still busy with
# the previous test answers with an error: 3 tries, 1 s apart.
iperf() {
	_out=$1
	shift
	_n=0
	while [ $_n -lt 3 ]; do
		ns_c iperf3 "$@" -J > "$_out" 2>&1
		jq -e '.error' "$_out" > /dev/null 2>&1 || return 0
		_n=$((_n + 1))
		sleep 1
	done
	echo "# iperf3 $*: $(jq -r '.error' "$_out" 2>/dev/null)"
}
iperf "$TMP/direct.json" -c 198.18.1.11 -p 5202 -R -t 3
iperf "$TMP/loadd.json" -c "$VIP" -p 5201 -R -t 3
FLOW5="tcp 198.18.0.2:42000 $VIP:5201 198.18.1.11:5201"
fp add $FLOW5
hit0=$(fpstat hit)
iperf "$TMP/fast.json" -c "$VIP" -p 5201 -R -t 3 --cport 42000
d=$(bps "$TMP/direct.json")
l=$(bps "$TMP/loadd.json")
f=$(bps "$TMP/fast.json")
rx=$(jq -r '.end.sum_received.bytes // 0' "$TMP/fast.json" 2>/dev/null)
fb=$(fpread to_client_bytes $FLOW5)
check "[ ${f:-0} -gt 0 ] && [ ${fb:-0} -ge ${rx:-1} ]" \
    "iperf3 through the fast path: its ${rx:-0} bytes all counted in the map (${fb:-0} IP bytes)"
echo "# throughput (iperf3 -R, 3 s, Mbit/s): direct ${d:-0}, loadd ${l:-0}, fast path ${f:-0}"
if [ "${d:-0}" -gt 0 ]; then
	awk -v d="$d" -v l="$l" -v f="$f" 'BEGIN { printf "# ratio to the direct route: loadd %.2f, fast path %.2f\n", l / d, f / d }'
fi
echo "# fast path: $(($(fpstat hit) - hit0)) packets (GSO packets once) for iperf3"
fp del $FLOW5

# 6. No checksum errors anywhere, no error in the program.
csum() { "$@" nstat -asz TcpInCsumErrors | awk '/TcpInCsumErrors/ { print $2 }'; }
check "[ '$(csum ns_c)' = 0 ] && [ '$(csum ns_s 1)' = 0 ]" \
    "TcpInCsumErrors 0 on the client and on s1"
check "[ $(fpstat error) -eq 0 ]" "the program's error counter is 0"

# 7. Detach and unpin: nothing left, loadd still serves.
fp detach $IFS_FP
check "[ '$(fp query eth0)' = 0 ] && [ '$(fp query p1)' = 0 ]" \
    "detached from eth0 and the bridge ports"
fp unpin
check "[ ! -e '$BPFFS/$NAME' ]" "unpinned: $BPFFS/$NAME is gone"
a=$(ns_c curl -s -m 5 "http://$VIP/")
check "[ '$a' = s1 ]" "loadd still answers after the removal ('$a')"
