#!/bin/sh
# Integration: connection limits (issue 19) with real clients holding idle
# connections.  Each server runs a socat listener on port 9000 that says
# its name and holds the connection; the client namespace has a second
# address (198.18.0.3) to be a second client.
#  1. maxconn 2 on three servers: six holders fill 2/2/2, the seventh is
#     refused at once with a RST (counted servers_full; show servers and
#     the metrics say at cap); one closing lets a new one in, to its server.
#  2. loadctl set maxconn: a cap set at run time holds at once.
#  3. max_clients = 4 (reload): four in, the fifth refused (RST).
#  4. max_client_conns = 2: client A's third refused, client B untouched;
#     show clients names A with its refusal.
#  5. max_client_rate = 2/s on the HTTP service: A's back-to-back requests
#     are slowed (dropped SYNs, sent again) but all answered; B's go at once.
#  6. offload = yes: the caps fill and refuse alike; conntrack's end of a
#     connection frees its place.
# With LAB_OFFLOAD=bpf 1..5 run with offload = bpf (every configuration,
# the reloaded ones too) and 6 is left out: offload is yes or bpf, and the
# run without LAB_OFFLOAD has it.
# Topology: tests/lib/netns.sh.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=l$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
LOADCTL=$PWD/$O/loadctl
CLIENT_B=198.18.0.3
. tests/lib/netns.sh

. tests/lib/tap.sh

T0=$(date +%s)
HOLDERS=""
cleanup() {
	for p in $HOLDERS; do kill "$p" 2>/dev/null; done
	if [ -n "${LOADD_PID:-}" ]; then
		kill "$LOADD_PID" 2>/dev/null && wait "$LOADD_PID" 2>/dev/null
		LOADD_PID=
	fi
	# The listeners and their held connections in this lab's namespaces.
	for ns in c b s1 s2 s3; do
		for p in $(ip netns pids "lab$LAB-$ns" 2>/dev/null); do
			kill "$p" 2>/dev/null
		done
	done
	lab_down
	echo "# limits.sh: $(($(date +%s) - T0)) s"
	tap_end
}
trap cleanup EXIT

CTL() { "$LOADCTL" -s "$TMP/ctl.sock" "$@"; }
# srv ADDR:PORT FIELD: a field of "json show servers".
srv() {
	CTL -j show servers | jq -r --arg s "$1" \
	    ".[] | select(.server == \$s) | .$2" 2>/dev/null
}
# svc LABEL JQ: a value of "json show services" for a service.
svc() {
	CTL -j show services | jq -r --arg s "$1" \
	    ".[] | select(.service == \$s) | $2" 2>/dev/null
}
# waitfor CMD [SECONDS]: polls CMD (up to 10 s) until it succeeds.
waitfor() {
	_i=0
	until eval "$1"; do
		_i=$((_i + 1))
		[ $_i -ge $((${2:-10} * 10)) ] && return 1
		sleep 0.1
	done
}
# hold N [SRC]: a client connection to VIP:9000 held open in the
# background; its server's name lands in $TMP/hold.N.
hold() {
	_b=""
	[ -n "${2:-}" ] && _b=",bind=$2"
	: > "$TMP/hold.$1"
	# Not through ns_c: $! is then socat itself (ip netns exec execs
	# it), not a subshell that kill would leave it behind.
	ip netns exec "lab$LAB-c" socat -u "TCP:$VIP:9000$_b" \
	    "OPEN:$TMP/hold.$1,append" 2>> "$TMP/hold.$1.err" &
	eval "HPID_$1=$!"
	HOLDERS="$HOLDERS $!"
}
# held N: the connection is up (its server said its name).
held() { grep -q '^s[123]$' "$TMP/hold.$1" 2>/dev/null; }
# release N: closes a held connection.
release() { eval "kill \$HPID_$1" 2>/dev/null; }
release_all() {
	for p in $HOLDERS; do kill "$p" 2>/dev/null; done
	HOLDERS=""
	waitfor '[ "$(svc default .flows_active)" = 0 ]'
}
# refused [SRC]: a connection attempt; prints curl's exit code and the
# time it took in ms.
refused() {
	_b=""
	[ -n "${1:-}" ] && _b="--interface $1"
	_s=$(date +%s%N)
	ns_c curl -s -o /dev/null -m 5 $_b "telnet://$VIP:9000" < /dev/null
	_rc=$?
	echo "$_rc $((($(date +%s%N) - _s) / 1000000))"
}
# refuse_check WHAT [SRC]: a connection is refused at once (curl 7, RST).
refuse_check() {
	set -- "$1" $(refused ${2:-})
	rc=$2
	ms=$3
	check '[ "$rc" = 7 ] && [ "$ms" -lt 1000 ]' \
	    "$1 (curl exit $rc in $ms ms)"
}
counter() { svc default ".drops.$1 // 0"; }

conf() {
	cat > "$TMP/loadd.conf" <<CONF
ipaliasing = $VIP
ports = 9000
servers = $1
balancingmode = leastconn
check = none
noserver = reset
$2

service = web
ipaliasing = $VIP
ports = 80
servers = $(echo $SERVERS | sed 's/ /, /g')
check = none
$3
CONF
	lab_bpf_conf
}

lab_up
servers_up
ns_c ip addr add "$CLIENT_B/24" dev eth0
for n in 1 2 3; do
	ns_s $n socat TCP-LISTEN:9000,fork,reuseaddr \
	    SYSTEM:"echo s$n; exec sleep 600" 2>/dev/null &
done
for n in 1 2 3; do
	waitfor "ns_s $n ss -ltn | grep -q ':9000 '" ||
	    notok "socat listening on s$n"
done

S1=198.18.1.11:9000
S2=198.18.1.12:9000
S3=198.18.1.13:9000
conf "198.18.1.11 maxconn 2, 198.18.1.12 maxconn 2, 198.18.1.13 maxconn 2" \
    "" ""
loadd_up || exit 1

# 1. Per-server caps.
for i in 1 2 3 4 5 6; do
	hold $i
	waitfor "held $i" || notok "connection $i held"
done
check '[ "$(srv $S1 flows_active)/$(srv $S2 flows_active)/$(srv $S3 flows_active)" = 2/2/2 ]' \
    "six held connections fill the caps 2/2/2 ($(srv $S1 flows_active)/$(srv $S2 flows_active)/$(srv $S3 flows_active))"
check '[ "$(srv $S1 at_cap)$(srv $S2 at_cap)$(srv $S3 at_cap)" = truetruetrue ]' \
    "show servers: each server at_cap"
CTL show servers | grep -q "198.18.1.11:9000 .* 2 full" &&
    ok "show servers' MAXCONN column says 2 full" ||
    notok "show servers' MAXCONN column says 2 full: $(CTL show servers)"
refuse_check "the seventh connection is refused at once with a RST"
check '[ "$(counter servers_full)" -ge 1 ]' \
    "counted as servers_full ($(counter servers_full))"
CTL metrics | grep -q '^loadd_server_at_cap{service="default",server="198.18.1.11:9000"} 1' &&
    ok "metrics: loadd_server_at_cap 1" || notok "metrics: loadd_server_at_cap 1"
CTL metrics | grep -q 'loadd_service_dropped_packets_total{service="default",reason="servers_full"}' &&
    ok "metrics: dropped packets with reason servers_full" ||
    notok "metrics: dropped packets with reason servers_full"
first=$(cat "$TMP/hold.1")
release 1
waitfor '[ "$(srv 198.18.1.1${first#s}:9000 at_cap)" = false ]' ||
    notok "closing one frees its server's place"
hold 7
waitfor "held 7"
check '[ "$(cat $TMP/hold.7)" = "$first" ]' \
    "closing one lets a new one in, to the server that had room ($(cat $TMP/hold.7), $first)"
refuse_check "full again: the next is refused"
check '[ "$(srv $S1 at_cap_times)" -ge 1 ] && [ "$(srv $S1 at_cap_s | cut -d. -f1)" -ge 0 ]' \
    "time at cap counted ($(srv $S1 at_cap_times) times, $(srv $S1 at_cap_s) s)"

# 2. loadctl set maxconn.
CTL set maxconn $S1 3 > /dev/null
hold 8
waitfor "held 8"
check '[ "$(cat $TMP/hold.8)" = s1 ] && [ "$(srv $S1 flows_active)" = 3 ]' \
    "loadctl set maxconn $S1 3: the next goes to it ($(cat $TMP/hold.8))"
refuse_check "and the one after is refused"
release_all

# 3. max_clients, by reload.
conf "$(echo $SERVERS | sed 's/ /, /g')" "max_clients = 4" ""
CTL reload > /dev/null || notok "reload with max_clients"
for i in 11 12 13 14; do
	hold $i
	waitfor "held $i" || notok "connection $i held"
done
refuse_check "max_clients = 4: the fifth refused at once"
check '[ "$(counter max_clients_reached)" -ge 1 ]' \
    "counted as max_clients_reached ($(counter max_clients_reached))"
release 11
waitfor '[ "$(svc default .flows_active)" = 3 ]'
hold 15
check 'waitfor "held 15"' "one closed, one more in"
release_all

# 4. Per-client open flows: A (198.18.0.2) and B.
conf "$(echo $SERVERS | sed 's/ /, /g')" "max_client_conns = 2" ""
CTL reload > /dev/null || notok "reload with max_client_conns"
hold 21
hold 22
waitfor "held 21 && held 22"
refuse_check "max_client_conns = 2: client A's third refused at once"
hold 23 $CLIENT_B
hold 24 $CLIENT_B
check 'waitfor "held 23 && held 24"' "client B's two get in"
refuse_check "client B's third refused too" $CLIENT_B
check '[ "$(counter client_conns_reached)" -ge 2 ]' \
    "counted as client_conns_reached ($(counter client_conns_reached))"
CTL show clients refused > "$TMP/clients"
check 'grep -q "^default  *198.18.0.2/32  *2  *2 .* 1 " "$TMP/clients"' \
    "show clients: A with 2 open of 2, 1 refused"
release 21
waitfor '[ "$(CTL -j show clients | jq ".[] | select(.client == \"198.18.0.2/32\") | .active")" = 1 ]'
hold 25
check 'waitfor "held 25"' "A closes one: one more in"
release_all

# 5. Per-client rate on the HTTP service: slowed, not turned away.
conf "$(echo $SERVERS | sed 's/ /, /g')" "" "max_client_rate = 2/s"
CTL reload > /dev/null || notok "reload with max_client_rate"
sleep 1.1	# the buckets of earlier requests fill (2/s)
s=$(date +%s%N)
okn=0
for i in 1 2 3 4 5 6; do
	ns_c curl -s -o /dev/null -m 10 "http://$VIP/" && okn=$((okn + 1))
done
a_ms=$((($(date +%s%N) - s) / 1000000))
s=$(date +%s%N)
ns_c curl -s -o /dev/null -m 10 --interface $CLIENT_B "http://$VIP/"
b_rc=$?
b_ms=$((($(date +%s%N) - s) / 1000000))
check '[ $okn = 6 ] && [ $a_ms -ge 900 ]' \
    "max_client_rate = 2/s: A's 6 requests all answered, slowed ($a_ms ms)"
check '[ $b_rc = 0 ] && [ $b_ms -lt 900 ]' \
    "client B untouched ($b_ms ms)"
check '[ "$(svc web ".drops.client_rate_exceeded // 0")" -ge 1 ]' \
    "counted as client_rate_exceeded ($(svc web '.drops.client_rate_exceeded // 0'))"

# 6. offload = yes: loadd decides on the first packet, the kernel carries
# the connection, and conntrack's end frees the place (its TIME_WAIT made
# short here, so that the test need not wait two minutes).
release_all
if [ "${LAB_OFFLOAD:-}" = bpf ]; then
	echo "# skipped with LAB_OFFLOAD=bpf: 6. offload = yes (offload is yes or bpf; the run without LAB_OFFLOAD has it)"
	[ $fail -eq 0 ]
	exit
fi
kill "$LOADD_PID" 2>/dev/null && wait "$LOADD_PID" 2>/dev/null
LOADD_PID=
for ns in c b s1 s2 s3; do
	for p in $(ip netns pids "lab$LAB-$ns" 2>/dev/null); do
		kill "$p" 2>/dev/null
	done
done
lab_down
TMP=$(mktemp -d)
lab_up
servers_up
for n in 1 2 3; do
	ns_s $n socat TCP-LISTEN:9000,fork,reuseaddr \
	    SYSTEM:"echo s$n; exec sleep 600" 2>/dev/null &
done
for n in 1 2 3; do
	waitfor "ns_s $n ss -ltn | grep -q ':9000 '" ||
	    notok "socat listening on s$n"
done
for t in time_wait fin_wait close_wait last_ack close; do
	ns_b sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_$t=1 2>/dev/null
done
conf "198.18.1.11 maxconn 2, 198.18.1.12 maxconn 2, 198.18.1.13 maxconn 2" \
    "" ""
sed -i '1i offload = yes' "$TMP/loadd.conf"
loadd_up || exit 1
HOLDERS=""
for i in 31 32 33 34 35 36; do
	hold $i
	waitfor "held $i" || notok "offload: connection $i held"
done
check '[ "$(srv $S1 flows_active)/$(srv $S2 flows_active)/$(srv $S3 flows_active)" = 2/2/2 ]' \
    "offload: six held connections fill the caps 2/2/2 ($(srv $S1 flows_active)/$(srv $S2 flows_active)/$(srv $S3 flows_active))"
refuse_check "offload: the seventh refused at once with a RST"
first=$(cat "$TMP/hold.31")
release 31
# The kernel reports the end when its garbage collector reaps the expired
# entry, tens of seconds after the TIME_WAIT (its scans are at most 60 s
# apart): up to 120 s.
t=$(date +%s)
waitfor "[ \"\$(srv 198.18.1.1${first#s}:9000 at_cap)\" = false ]" 120
rc=$?
t=$(($(date +%s) - t))
check '[ $rc = 0 ]' \
    "offload: conntrack's end of one frees its server's place (in $t s)"
hold 37
waitfor "held 37"
check '[ "$(cat $TMP/hold.37)" = "$first" ]' \
    "offload: a new one gets in, to that server ($(cat $TMP/hold.37))"
