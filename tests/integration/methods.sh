#!/bin/sh
# Integration: balancing methods through the NFQUEUE path with real
# traffic -- wrr shares follow weights, leastconn sends new connections
# away from a server holding long ones, responsetime avoids a server
# slowed with netem, sourcehash keeps a client on one server, and maglev
# keeps downloads alive across a restart of loadd (stateless recovery).
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=t$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
. tests/lib/netns.sh

. tests/lib/tap.sh
trap 'lab_down; tap_end' EXIT

if ! { lab_up && servers_up; }; then
	notok "lab set up"
	exit 1
fi

# use METHOD SERVERS [EXTRA]: (re)starts loadd with that method, server
# list and an extra configuration line.
use() {
	if [ -n "${LOADD_PID:-}" ]; then
		kill "$LOADD_PID"
		wait "$LOADD_PID" 2>/dev/null
	fi
	cat > "$TMP/loadd.conf" <<CONF
ipaliasing = $VIP
ports = 80
servers = $2
balancingmode = $1
${3:-}
CONF
	loadd_up
}

# requests N FILE [CURL ARGS]: N sequential requests, answers in FILE.
requests() {
	n=$1 f=$2
	shift 2
	: > "$f"
	k=0
	while [ $k -lt "$n" ]; do
		ns_c curl -s -m 3 "$@" "http://$VIP/" >> "$f" || echo fail >> "$f"
		k=$((k + 1))
	done
}
count() { grep -c "^s$1\$" "$2" || true; }

# wrr: weights 3, 1, 1 over 250 requests: 150, 50, 50 (+- 10%).
use wrr "198.18.1.11 weight 3, 198.18.1.12, 198.18.1.13" || exit 1
requests 250 "$TMP/wrr"
a=$(count 1 "$TMP/wrr") b=$(count 2 "$TMP/wrr") c=$(count 3 "$TMP/wrr")
check "[ $a -ge 135 ] && [ $a -le 165 ] && [ $b -ge 45 ] && [ $b -le 55 ] && [ $c -ge 45 ] && [ $c -le 55 ]" \
    "wrr 3:1:1 gave $a/$b/$c of 250"

# leastconn: four long downloads spread 2, 1, 1; then short requests go
# to the two servers holding one, none to the one holding two.
use leastconn "198.18.1.11, 198.18.1.12, 198.18.1.13" || exit 1
pids=""
for k in 1 2 3 4; do
	ns_c curl -s -m 20 -o /dev/null "http://$VIP/slow/big" &
	pids="$pids $!"
	sleep 0.3
done
requests 20 "$TMP/lc"
kill $pids 2>/dev/null
wait $pids 2>/dev/null
a=$(count 1 "$TMP/lc") b=$(count 2 "$TMP/lc") c=$(count 3 "$TMP/lc")
z=0
for x in $a $b $c; do [ "$x" -eq 0 ] && z=$((z + 1)); done
check "[ $z -eq 1 ] && [ $((a + b + c)) -eq 20 ] && [ $a -le 12 ] && [ $b -le 12 ] && [ $c -le 12 ]" \
    "leastconn: with long downloads spread 2, 1, 1, 20 short requests went $a/$b/$c (none to the busiest)"

# responsetime: s1 answers 50 ms late (its SYN+ACKs held by nfdelay, as
# this kernel has no netem); once measured it gets clearly fewer
# connections than the others.
ns_s 1 iptables -A OUTPUT -p tcp --sport 80 --tcp-flags SYN,ACK SYN,ACK \
    -j NFQUEUE --queue-num 7
ip netns exec "lab$LAB-s1" "$PWD/$O/nfdelay" -q 7 -d 50 -t 60 &
DELAY=$!
use responsetime "198.18.1.11, 198.18.1.12, 198.18.1.13" || exit 1
requests 60 "$TMP/rt"
kill $DELAY
wait $DELAY 2>/dev/null
ns_s 1 iptables -F OUTPUT
a=$(count 1 "$TMP/rt") b=$(count 2 "$TMP/rt") c=$(count 3 "$TMP/rt")
check "[ $a -le 6 ] && [ $((a + b + c)) -eq 60 ]" \
    "responsetime: the server slowed by 50 ms got $a of 60 ($a/$b/$c)"

# sourcehash: each client address sticks to one server.
ns_c ip addr add 198.18.0.3/24 dev eth0
ns_c ip addr add 198.18.0.4/24 dev eth0
use sourcehash "198.18.1.11, 198.18.1.12, 198.18.1.13" || exit 1
for src in 198.18.0.2 198.18.0.3 198.18.0.4; do
	requests 15 "$TMP/sh" --interface "$src"
	d=$(sort -u "$TMP/sh" | wc -l)
	check "[ $d -eq 1 ] && ! grep -q fail '$TMP/sh'" \
	    "sourcehash: 15 requests from $src all went to $(head -1 "$TMP/sh")"
done

# sticky: round-robin would rotate, persistence keeps each client on the
# server it had; the three client addresses share out over the servers.
use roundrobin "198.18.1.11, 198.18.1.12, 198.18.1.13" "sticky = 300" || exit 1
: > "$TMP/firsts"
for src in 198.18.0.2 198.18.0.3 198.18.0.4; do
	requests 10 "$TMP/st" --interface "$src"
	d=$(sort -u "$TMP/st" | wc -l)
	head -1 "$TMP/st" >> "$TMP/firsts"
	check "[ $d -eq 1 ] && ! grep -q fail '$TMP/st'" \
	    "sticky = 300: 10 round-robin requests from $src all went to $(head -1 "$TMP/st")"
done
d=$(sort -u "$TMP/firsts" | wc -l)
check "[ $d -ge 2 ]" "sticky: the clients were not all sent to one server ($d servers)"

# maglev: downloads survive a restart of loadd, each on the server the
# hash gives (the new loadd has no state: stateless recovery).
use maglev "198.18.1.11, 198.18.1.12, 198.18.1.13" || exit 1
pids=""
for k in 1 2 3 4 5; do
	ns_c curl -s -m 30 --limit-rate 1500k -o "$TMP/m$k" "http://$VIP/big" &
	pids="$pids $!"
done
sleep 2
use maglev "198.18.1.11, 198.18.1.12, 198.18.1.13" || exit 1
good=0
codes=""
for p in $pids; do
	wait "$p"
	codes="$codes $?"
done
for k in 1 2 3 4 5; do
	cmp -s "$TMP/m$k" "$TMP/big" && good=$((good + 1))
done
check "[ $good -eq 5 ]" "maglev: $good of 5 downloads completed byte-identical across a restart (curl:$codes)"
kill -USR1 "$LOADD_PID"
sleep 0.3
r=$(grep 'stats: packets' "$TMP/loadd.log" | tail -1)
check "echo '$r' | grep -q 'dropped 0,'" "maglev: nothing dropped after the restart"
[ $fail -eq 0 ]
