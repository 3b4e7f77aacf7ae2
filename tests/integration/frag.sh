#!/bin/sh
# Integration: datagrams larger than the links, both ways, IPv4 and IPv6,
# in NFQUEUE mode and with offload = yes (topology: tests/lib/netns.sh;
# every link has an MTU of 1500, so each such datagram travels in
# fragments on both sides of the balancer).
#
#   client --(fragments)--> balancer: reassembled, rewritten by loadd,
#                           fragmented again --> server
#   server --(fragments)--> balancer: the same, back to the client
#
# Real peers: dnsmasq on every server answers a TXT query of about
# 3.5 KB (EDNS, dig +bufsize=4096), and udpsize sends requests and asks
# for answers of 4000 and 9000 bytes, checked byte for byte.  loadd must
# count no fragment drops and the client no UDP checksum errors.
#
# With LAB_OFFLOAD=bpf the NFQUEUE run has offload = bpf (the fast path
# lets fragments go on to the kernel's reassembly and loadd; whatever of
# these flows it carries is not fragmented), and the offload = yes run is
# left out: offload is either yes or bpf, and the default run has it.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=f$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
LOADCTL=$PWD/$O/loadctl
. tests/lib/netns.sh

. tests/lib/tap.sh
trap 'lab_down; tap_end' EXIT

ctl() { "$LOADCTL" -s "$TMP/ctl.sock" "$@"; }
stat() { ctl show stats | awk -v k="$1" '$1 == k { print $2 }'; }

if ! { lab_up && udpsize_up && dns_up; }; then
	notok "lab set up"
	exit 1
fi
cat > "$TMP/base.conf" <<CONF
ipaliasing = $VIP
protocol = udp
ports = 7, 53
servers = $(echo $SERVERS | sed 's/ /, /g')

service = v6
ipaliasing = $VIP6
protocol = udp
ports = 7, 53
servers = 2001:2:0:1::11, 2001:2:0:1::12, 2001:2:0:1::13
CONF

# start MODE: applies the rules "loadd -R" prints and starts loadd; waits
# (up to 10 s) until a small datagram to each virtual address is answered.
start() {
	lab_bpf_conf || return 1
	"$LOADD" -R -f "$TMP/loadd.conf" | ns_b sh -e 2> /dev/null || return 1
	ip netns exec "lab$LAB-b" "$LOADD" -f "$TMP/loadd.conf" -v \
	    -s "$TMP/ctl.sock" > "$TMP/loadd.log" 2>&1 &
	LOADD_PID=$!
	_w=0
	until ns_c "$O/udpsize" -n 1 "$VIP" 7 100 100 > /dev/null &&
	    ns_c "$O/udpsize" -n 1 "$VIP6" 7 100 100 > /dev/null; do
		_w=$((_w + 1))
		if [ $_w -ge 10 ] || ! kill -0 "$LOADD_PID" 2>/dev/null; then
			echo "# loadd did not answer after 10 s:"
			sed 's/^/# /' "$TMP/loadd.log"
			return 1
		fi
	done
}

# stop: stops loadd and removes its rules.
stop() {
	kill "$LOADD_PID" 2>/dev/null
	wait "$LOADD_PID" 2>/dev/null
	LOADD_PID=
	"$LOADD" -R -f "$TMP/loadd.conf" | sed -n 's/^# remove with: //p' |
	    ns_b sh 2> /dev/null
}

# big MODE: every large exchange through both virtual addresses.
big() {
	for vip in $VIP $VIP6; do
		for sz in "100 4000" "100 9000" "4000 100" "9000 100" \
		    "4000 4000" "9000 9000"; do
			# shellcheck disable=SC2086
			r=$(ns_c "$O/udpsize" $vip 7 $sz)
			check "[ \"\${r%%:*}\" = ok ]" \
			    "$1: $vip request ${sz% *} bytes, answer ${sz#* } bytes: $r"
		done
		ns_c dig +bufsize=4096 +ignore +tries=3 +time=1 "@$vip" \
		    big.test TXT > "$TMP/dig" 2>&1
		n=$(sed -n 's/.*MSG SIZE  rcvd: \([0-9]*\).*/\1/p' "$TMP/dig")
		check "grep -q 'status: NOERROR' '$TMP/dig' &&
		    ! grep -q 'flags:.* tc' '$TMP/dig' && [ '${n:-0}' -gt 3000 ]" \
		    "$1: dnsmasq's EDNS answer through $vip arrives whole (${n:-no} bytes)"
	done
	f=$(stat fragment)
	check "[ '${f:-0}' = 0 ]" "$1: loadd dropped no fragment (${f:-0})"
	c=$(ns_c nstat -asz UdpInCsumErrors Udp6InCsumErrors |
	    awk '/CsumErrors/ { s += $2 } END { print s + 0 }')
	check "[ '$c' = 0 ]" "$1: client: UDP checksum errors 0 ($c)"
}

# 1. NFQUEUE mode: the rules turn the kernel's reassembly on (a chain
# that nothing jumps to, with a socket match), since CT --notrack keeps
# conntrack, and its reassembly, off.
cp "$TMP/base.conf" "$TMP/loadd.conf"
if ! start; then
	notok "loadd up (NFQUEUE mode)"
	exit 1
fi
check "ns_b iptables -t raw -S loadd-8670-defrag | grep -q -- '-m socket' &&
    ns_b ip6tables -t raw -S loadd-8670-defrag | grep -q -- '-m socket'" \
    "NFQUEUE mode: loadd -R asks for reassembly, IPv4 and IPv6"
M="NFQUEUE mode"
[ "${LAB_OFFLOAD:-}" = bpf ] && M="NFQUEUE mode, offload = bpf"
big "$M"
stop
if [ "${LAB_OFFLOAD:-}" = bpf ]; then
	echo "# skipped with LAB_OFFLOAD=bpf: offload = yes (offload is yes or bpf; the run without LAB_OFFLOAD has it)"
	[ $fail -eq 0 ]
	exit
fi

# 2. offload = yes: conntrack is on and reassembles; loadd decides the
# first datagram of each flow, whole, and the kernel carries the rest.
{ echo "offload = yes"; cat "$TMP/base.conf"; } > "$TMP/loadd.conf"
ns_b conntrack -F > /dev/null 2>&1
if ! start; then
	notok "loadd up (offload = yes)"
	exit 1
fi
big "offload"
stop

[ $fail -eq 0 ]
