#!/bin/sh
# Integration: several services in one loadd -- HTTP over IPv4, a UDP
# service, HTTP over IPv6 -- each balanced round-robin over the same three
# servers, through the rules "loadd -R" prints for both address families.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=v$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
. tests/lib/netns.sh

. tests/lib/tap.sh
trap 'lab_down; tap_end' EXIT

if ! { lab_up && servers_up && loadd_conf_multi && loadd_up; }; then
	notok "lab set up"
	exit 1
fi

# share FILE N: every server answered N/3 +- 10% of the lines of FILE.
share() {
	for n in 1 2 3; do
		c=$(grep -c "^s$n\$" "$1" || true)
		check "[ $c -ge $(($2 * 9 / 30)) ] && [ $c -le $(($2 * 11 / 30)) ]" \
		    "$3: server s$n answered $c of $2"
	done
}

: > "$TMP/v6"
i=0
while [ $i -lt 60 ]; do
	ns_c curl -s -m 3 "http://[$VIP6]/" >> "$TMP/v6" || echo fail >> "$TMP/v6"
	i=$((i + 1))
done
share "$TMP/v6" 60 "IPv6 HTTP"
ns_c curl -s -m 60 -o "$TMP/got6" "http://[$VIP6]/big" || true
check "cmp -s '$TMP/got6' '$TMP/big'" "10 MB over IPv6 through the VIP is byte-identical"

udp_ask "$VIP" 5353 60 > "$TMP/udp"
share "$TMP/udp" 60 "UDP"
: > "$TMP/v4"
i=0
while [ $i -lt 30 ]; do
	ns_c curl -s -m 3 "http://$VIP/" >> "$TMP/v4" || echo fail >> "$TMP/v4"
	i=$((i + 1))
done
share "$TMP/v4" 30 "IPv4 HTTP next to them"

# The kernel's own counts of loadd's queue: with loadd's packet process
# stopped, a burst larger than queue_maxlen (4096) fills the queue and the
# kernel drops the rest; loadd reads the kernel's count once a second.
qstat() {
	"$PWD/$O/loadctl" -s "$TMP/ctl.sock" show stats |
	    awk -v k="$1" '$1 == k { print $2 }'
}
q0=$(qstat io_queue_dropped)
pp=$(pgrep -P "$LOADD_PID" -x loadd || echo "$LOADD_PID")
kill -STOP "$pp"
ns_c "$PWD/$O/udpblast" -n 6000 -k 4 -p 31000 -t 5 "$VIP:5353" > /dev/null
# 8670: the default queue (loadd.conf(5), queue)
kq=$(ns_b awk '$1 == 8670 { print $6 }' /proc/net/netfilter/nfnetlink_queue)
kill -CONT "$pp"
_w=0
while [ "$(qstat io_queue_dropped)" != "$kq" ] && [ $_w -lt 50 ]; do
	sleep 0.1
	_w=$((_w + 1))
done
check "[ ${kq:-0} -gt ${q0:-0} ] && [ '$(qstat io_queue_dropped)' = '$kq' ]" \
    "a full queue's drops counted by the kernel (${kq:-?}) and shown by loadd ($(qstat io_queue_dropped), $q0 before)"

for ns in c s1 s2 s3; do
	case $ns in
	c) e="ns_c";;
	*) e="ns_s ${ns#s}";;
	esac
	v=$($e nstat -asz TcpInCsumErrors UdpInCsumErrors Udp6InCsumErrors |
	    awk '/CsumErrors/ { s += $2 } END { print s + 0 }')
	check "[ '$v' = 0 ]" "$ns: no TCP/UDP checksum errors (v4 and v6)"
done
[ $fail -eq 0 ]
