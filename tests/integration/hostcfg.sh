#!/bin/sh
# Integration: the balancer's kernel settings (topology: tests/lib/netns.sh;
# UDP servers: udpsize on port 7).  Each of these drops the rewritten
# packets without a word from the kernel; loadd must say so at start and in
# "loadd -n", and the rules "loadd -R" prints must set what it needs.
#
#  1. Strict reverse-path filtering (rp_filter = 1 on every interface of
#     the balancer, as hardening guides have it): loadd warns at start and
#     the virtual address is silent; the rules from loadd -R make the
#     servers' side loose and say how to undo it; then it answers.
#  2. The virtual address as an address of the balancer (on lo, as the
#     original's users alias it): without accept_local loadd -n warns and
#     nothing answers; with the rules applied it answers.
#  3. Forwarding off, IPv4 and IPv6: loadd -n says so.
#  4. A flat network: the client on the balancer's link asks ARP (and
#     neighbour discovery) for a virtual address in its own subnet; the
#     proxy commands that loadd -R suggests make the balancer answer.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=h$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
. tests/lib/netns.sh

. tests/lib/tap.sh
trap 'lab_down; tap_end' EXIT

if ! { lab_up && udpsize_up; }; then
	notok "lab set up"
	exit 1
fi
conf() {
	cat > "$TMP/$1.conf" <<CONF
ipaliasing = $2
protocol = udp
ports = 7
servers = $(echo $SERVERS | sed 's/ /, /g')

service = v6
ipaliasing = $3
protocol = udp
ports = 7
servers = 2001:2:0:1::11, 2001:2:0:1::12, 2001:2:0:1::13
CONF
}
conf loadd "$VIP" "$VIP6"
# answers ADDR: a datagram to ADDR port 7 is answered (3 tries, 1 s each).
answers() { ns_c "$O/udpsize" -n 3 "$1" 7 100 100 > /dev/null; }
# A balancer in production has a route upstream; loose reverse-path
# filtering needs one to the virtual address.
ns_b ip route add default via 198.18.0.2

# 1. Strict reverse-path filtering everywhere.
for f in all default lo eth0 br0 p1 p2 p3; do
	ns_b sysctl -qw "net/ipv4/conf/$f/rp_filter=1"
done
# The firewall rules, and then the servers' side strict again: what an
# operator has who applied only those.
"$LOADD" -R -f "$TMP/loadd.conf" | ns_b sh -e 2> /dev/null
ns_b sysctl -qw net/ipv4/conf/br0/rp_filter=1
ip netns exec "lab$LAB-b" "$LOADD" -f "$TMP/loadd.conf" -s "$TMP/ctl.sock" \
    > "$TMP/loadd.log" 2>&1 &
LOADD_PID=$!
# The warning comes before loadd opens its control socket: wait for that.
i=0
while [ ! -S "$TMP/ctl.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$TMP/ctl.sock" ] || echo "# loadd did not open its control socket in 10 s"
check "grep -q 'br0: strict reverse-path filtering .*rp_filter=2' '$TMP/loadd.log'" \
    "rp_filter = 1: loadd warns at start about br0 and says what to do"
check "! answers $VIP" "rp_filter = 1: the virtual address is silent"
"$LOADD" -R -f "$TMP/loadd.conf" | ns_b sh -e 2> "$TMP/applied"
check "grep -q 'conf/br0/rp_filter=2, loose (undo: sysctl -w net/ipv4/conf/br0/rp_filter=1)' '$TMP/applied'" \
    "loadd -R | sh makes br0 loose and says how to undo it"
check "[ \"\$(ns_b sysctl -n net/ipv4/conf/eth0/rp_filter)\" = 1 ]" \
    "the client side stays strict"
check "answers $VIP && answers $VIP6" "with the rules applied, the virtual addresses answer"
ns_b "$LOADD" -n -f "$TMP/loadd.conf" > "$TMP/n" 2>&1
check "[ \"\$(cat '$TMP/n')\" = 'configuration OK' ]" "loadd -n finds nothing more to say"

# 2. The virtual address on lo of the balancer.
ns_b ip addr add "$VIP/32" dev lo
ns_b ip addr add "$VIP6/128" dev lo
ns_b sysctl -qw net/ipv4/conf/br0/accept_local=0
ns_b "$LOADD" -n -f "$TMP/loadd.conf" > "$TMP/n" 2>&1
check "grep -q 'br0: virtual address $VIP is an address of this host.*accept_local=1' '$TMP/n' &&
    grep -q 'configuration OK' '$TMP/n'" "VIP on lo: loadd -n warns and says what to do"
check "! answers $VIP" "VIP on lo, no accept_local: silent, as the warning says"
"$LOADD" -R -f "$TMP/loadd.conf" | ns_b sh -e 2> "$TMP/applied"
check "grep -q 'accept_local=1 (undo' '$TMP/applied' && answers $VIP" \
    "VIP on lo: with the rules applied (accept_local) it answers"
check "answers $VIP6" "VIP6 on lo answers (IPv6 makes no such check)"
ns_b "$LOADD" -n -f "$TMP/loadd.conf" > "$TMP/n" 2>&1
check "[ \"\$(cat '$TMP/n')\" = 'configuration OK' ]" "loadd -n finds nothing more to say"
ns_b ip addr del "$VIP/32" dev lo
ns_b ip addr del "$VIP6/128" dev lo

# 3. Forwarding off.
ns_b sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
ns_b "$LOADD" -n -f "$TMP/loadd.conf" > "$TMP/n" 2>&1
check "grep -q 'net.ipv4.ip_forward = 0: .*sysctl -w net.ipv4.ip_forward=1' '$TMP/n' &&
    grep -q 'net.ipv6.conf.all.forwarding = 0: .*forwarding=1' '$TMP/n'" \
    "forwarding off: loadd -n says so for both families"
ns_b sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
kill "$LOADD_PID"
wait "$LOADD_PID" 2>/dev/null
LOADD_PID=

# 4. A flat network: the virtual addresses in the client's own subnets.
FV=198.18.0.100
FV6=2001:2::100
conf flat "$FV" "$FV6"
"$LOADD" -R -f "$TMP/flat.conf" > "$TMP/flat.rules"
ns_b sh -e < "$TMP/flat.rules" 2> /dev/null
ip netns exec "lab$LAB-b" "$LOADD" -f "$TMP/flat.conf" -s "$TMP/ctl.sock" \
    > "$TMP/loadd.log" 2>&1 &
LOADD_PID=$!
check "! answers $FV" "flat network: nobody answers ARP for $FV yet"
sed -n 's/^#   proxy: //p' "$TMP/flat.rules" | sed 's/CIF/eth0/g; s/SIF/br0/g' \
    > "$TMP/proxy"
sed 's/^/# /' "$TMP/proxy"
ns_b sh -e < "$TMP/proxy"
check "answers $FV" "flat network: loadd -R's proxy ARP lines make $FV answer"
check "answers $FV6" "flat network: loadd -R's proxy NDP lines make $FV6 answer"

[ $fail -eq 0 ]
