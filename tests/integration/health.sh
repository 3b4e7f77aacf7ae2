#!/bin/sh
# Integration: health checking and failover (issue 6), in the namespace lab
# of tests/lib/netns.sh with real nginx servers and curl/wrk clients.
#
#  1. Probe settings out of range: "loadd -n" names file:line.
#  2. nginx stopped during a curl loop: the HTTP probes take the server
#     down within interval x fall, the failures are the requests of that
#     window only; nginx started again: back after rise probes.  A UDP
#     service without health settings beside it keeps answering.
#  3. A server's link down: found by the probes (timeout), and, with
#     "check = none", by passive detection of unanswered SYNs.
#  4. Every server down: a RST (or an ICMP port unreachable) at once, or
#     silence with "noserver = drop"; a backup server takes the new flows
#     while no primary is up, and none while one is.
#  5. "down_flows = reset" ends a download from a server that went away
#     within seconds; "keep" leaves it hanging until the client gives up.
#  6. A probe target that accepts and never answers: down at the timeout,
#     and the packets keep flowing meanwhile (the times of a light curl
#     loop, wrk without errors, packets forwarded).
#  7. Slow start: a server that comes back takes a small share first.
#
# Times are measured with the loadd log polled every 50 ms (the log has no
# time stamps), so every measured time is late by up to 50 ms.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=h$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
. tests/lib/netns.sh

. tests/lib/tap.sh

# Background jobs of this script: BG holds processes (curl, wrk), killed
# on exit; LOOPS the curl loops, which end by themselves within seconds
# and are waited for; the extra servers of test 6 have pid files.
BG=""
LOOPS=""
cleanup() {
	for _p in $BG; do
		kill "$_p" 2>/dev/null
	done
	for _f in "$TMP"/s*/h8080.pid "$TMP"/hang.pid; do
		[ -f "$_f" ] && kill "$(cat "$_f")" 2>/dev/null
	done
	for _p in $BG $LOOPS; do
		wait "$_p" 2>/dev/null
	done
	BG=""
	LOOPS=""
	# Links a failed check may have left down.
	for _n in 1 2 3; do
		ns_b ip link set "p$_n" up 2>/dev/null
	done
	return 0
}
trap 'cleanup; lab_down; tap_end' EXIT
trap 'exit 1' INT TERM HUP

if ! { lab_up && servers_up; }; then
	notok "lab set up"
	exit 1
fi

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_log TEXT SECONDS [N]: waits (polling every 50 ms) until the loadd
# log holds TEXT at least N times (1); prints the time it was seen in ms,
# or nothing.
wait_log() {
	_end=$(($(now_ms) + $2 * 1000))
	_i=0
	while [ $_i -lt $(($2 * 20 + 20)) ]; do
		_c=$(grep -cF -- "$1" "$TMP/loadd.log")
		if [ "$_c" -ge "${3:-1}" ]; then
			now_ms
			return 0
		fi
		[ "$(now_ms)" -ge $_end ] && return 1
		sleep 0.05
		_i=$((_i + 1))
	done
	return 1
}

# Log lines with TEXT, as TAP comments.
excerpt() { grep -F -- "$1" "$TMP/loadd.log" | sed 's/^/#   /'; }

# loop OUT SECONDS PAUSE: one request at a time to the VIP for SECONDS (at
# most 3000), each with -m 1 and PAUSE seconds apart; appends "MS ANSWER
# TIME" to OUT: MS when the request started, ANSWER s1..s3 or failRC,
# TIME the seconds curl took.
loop() {
	_end=$(($(now_ms) + $2 * 1000))
	_cap=$((_end + 60000))
	_i=0
	# At least SECONDS; then on until OUT.stop exists, if the test said
	# it would make one (enough), at most a minute more.
	while [ $_i -lt 5000 ]; do
		_t=$(now_ms)
		if [ $_t -ge $_end ] && { [ ! -e "$1.wait" ] ||
		    [ -e "$1.stop" ] || [ $_t -ge $_cap ]; }; then
			break
		fi
		if _a=$(ns_c curl -s -m 1 -w ' %{time_total}' "http://$VIP/"); then
			echo "$_t" $_a >> "$1"	# unquoted: "s1\n 0.1" is two words
		else
			echo "$_t fail$?" >> "$1"
		fi
		[ "$3" = 0 ] || sleep "$3"
		_i=$((_i + 1))
	done
}

# hold OUT: the loop writing OUT, started next, runs until enough says.
hold() { rm -f "$1.stop"; : > "$1.wait"; }
# enough OUT FROM N [TOTAL]: waits (30 s at most) until N requests of OUT
# started at or after FROM and TOTAL in all, then lets its loop end.  A
# busy machine makes fewer requests a second: the checks want counts,
# not speed.
enough() {
	_w=0
	while [ $_w -lt 300 ]; do
		[ "$(count "$1" "$2" 9999999999999 .)" -ge "$3" ] &&
		    [ "$(count "$1" 0 9999999999999 .)" -ge "${4:-0}" ] && break
		sleep 0.1
		_w=$((_w + 1))
	done
	: > "$1.stop"
}

# count OUT FROM TO REGEX: lines of OUT started in [FROM, TO) whose answer
# matches REGEX.
count() {
	awk -v a="$2" -v b="$3" -v p="$4" \
	    '$1 >= a && $1 < b && $2 ~ p { n++ } END { print n + 0 }' "$1"
}

# Stops loadd; a sanitizer's error report in its log (O=build-asan) fails.
# (LeakSanitizer cannot stop the unprivileged packet process to look for
# leaks, and says so; that is no error of loadd's.)
loadd_stop() {
	[ -n "${LOADD_PID:-}" ] || return 0
	kill "$LOADD_PID" 2>/dev/null
	wait "$LOADD_PID" 2>/dev/null
	LOADD_PID=""
	if grep -q -e 'ERROR: [A-Za-z]*Sanitizer' -e 'runtime error:' \
	    "$TMP/loadd.log"; then
		notok "loadd with $CONF.conf exited with a sanitizer report"
		grep -e 'Sanitizer' -e 'runtime error:' -e '^ *#[0-9]' \
		    "$TMP/loadd.log" | head -20 | sed 's/^/#   /'
	fi
}

# Starts loadd with $TMP/NAME.conf, stopping the one running.
CONF=""
run_loadd() {
	loadd_stop
	CONF=$1
	cp "$TMP/$1.conf" "$TMP/loadd.conf"
	loadd_up
}

# A stats dump; prints the number after WORD in its totals line.
stats_of() {
	_n=$(grep -c 'stats: packets' "$TMP/loadd.log")
	kill -USR1 "$LOADD_PID"
	_w=0
	while [ "$(grep -c 'stats: packets' "$TMP/loadd.log")" -le "$_n" ] &&
	    [ $_w -lt 100 ]; do
		sleep 0.1
		_w=$((_w + 1))
	done
	grep 'stats: packets' "$TMP/loadd.log" | tail -1 |
	    sed -n "s/.*[ ,]$1 \([0-9]*\).*/\1/p"
}

# Packets loadd rewrote, and with LAB_OFFLOAD=bpf those its fast path's
# map carried (the program's hit counter) besides.
forwarded() {
	_r=$(stats_of rewritten)
	if [ "${LAB_OFFLOAD:-}" = bpf ] && [ -n "$LAB_BPFFS" ]; then
		_h=$(nsenter --net="/run/netns/lab$LAB-b" "$PWD/$O/fastpathctl" \
		    -b "$LAB_BPFFS" -n loadd stats | awk '$1 == "hit" { print $2 }')
		_r=$((${_r:-0} + ${_h:-0}))
	fi
	echo "${_r:-0}"
}

# nginx_stop N [nowait]: stops the nginx of server N and waits (up to
# 2.5 s) until it has gone, or not.
nginx_stop() {
	NGINX_PID=$(cat "$TMP/s$1/nginx.pid" 2>/dev/null) || return 0
	kill "$NGINX_PID" 2>/dev/null
	[ "${2:-}" = nowait ] || nginx_gone
}
nginx_gone() {
	_i=0
	while kill -0 "$NGINX_PID" 2>/dev/null && [ $_i -lt 50 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
}
nginx_start() { ns_s $1 nginx -c "$TMP/s$1/nginx.conf" -e "$TMP/s$1/error.log"; }

S1=198.18.1.11
S2=198.18.1.12
S3=198.18.1.13

# --- 1. Configuration errors name the line ------------------------------
# bad NAME LINE TEXT: the configuration $TMP/NAME.conf (written by the
# caller) is refused, exit 1, with "file:LINE:" and TEXT.
bad() {
	"$LOADD" -n -f "$TMP/$1.conf" > "$TMP/$1.out" 2>&1
	_rc=$?
	check "[ $_rc -eq 1 ] && grep -qF '$TMP/$1.conf:$2:' '$TMP/$1.out' &&
	    grep -qF -- '$3' '$TMP/$1.out'" \
	    "config error $1: exit $_rc, $(head -1 "$TMP/$1.out" | sed "s|$TMP/||")"
}
head3() {
	printf 'ipaliasing = %s\nports = 80\nservers = %s, %s, %s\n' \
	    "$VIP" $S1 $S2 $S3
}
{ head3; printf 'check_interval = 1\ncheck_timeout = 2\n'; } > "$TMP/e1.conf"
bad e1 5 "check_timeout"
{ head3; printf 'check_timeout = 3\n'; } > "$TMP/e2.conf"
bad e2 4 "longer than check_interval"
{ head3; printf 'check_fall = 0\n'; } > "$TMP/e3.conf"
bad e3 4 "check_fall"
{ head3; printf 'check = bogus\n'; } > "$TMP/e4.conf"
bad e4 4 "bogus"
{ head3; printf 'check_interval = 2\ncheck_path = /x\n'; } > "$TMP/e5.conf"
bad e5 5 "check_path"
{ head3; printf 'check = http\ncheck_status = 999\n'; } > "$TMP/e6.conf"
bad e6 5 "check_status"
{ head3; printf 'check = http\ncheck_status = 400-200\n'; } > "$TMP/e7.conf"
bad e7 5 "check_status"
# In a service block: the block's own line.
{ head3; printf 'check_interval = 1\n\nservice = x\nipaliasing = %s\n' \
    198.18.100.2; printf 'ports = 80\nservers = %s\ncheck_timeout = 1.5\n' $S1
} > "$TMP/e8.conf"
bad e8 10 "check_timeout"
{ head3; printf 'check = icmp\ncheck_port = 80\n'; } > "$TMP/e9.conf"
bad e9 5 "check_port"
cat > "$TMP/good.conf" <<CONF
ipaliasing = $VIP
ports = 80
servers = $S1, $S2 weight 2, 198.18.1.14 backup, $S3 disabled
check = http
check_interval = 0.5
check_timeout = 500ms
check_rise = 3
check_fall = 1000
check_port = 8080
check_path = /health
check_host = example.org
check_status = 200-299
check_body = ok
check_start = down
passive = yes
passive_timeout = 1.5
passive_fall = 4
down_flows = reset
noserver = icmp
slowstart = 10
CONF
"$LOADD" -n -f "$TMP/good.conf" > "$TMP/good.out" 2>&1
check "[ $? -eq 0 ]" "a configuration with every health key is accepted: $(cat "$TMP/good.out")"

# --- 2. nginx stopped and started during a curl loop --------------------
# Passive detection is off here so that the reason is the probes'; the
# UDP service has no health settings at all.
cat > "$TMP/probe.conf" <<CONF
balancingmode = roundrobin

service = web
ipaliasing = $VIP
ports = 80
servers = $S1, $S2, $S3
check = http
check_interval = 0.5
check_timeout = 0.4
check_fall = 2
check_rise = 2
check_path = /
check_status = 200
check_body = s
passive = no

service = dns
ipaliasing = $VIP
protocol = udp
ports = 5353
servers = $S1, $S2, $S3
CONF
run_loadd probe || { notok "loadd up (probe.conf)"; exit 1; }
T_START=$(now_ms)
L=$TMP/loop2
: > "$L"
hold "$L"
loop "$L" 5 0.05 &
LOOP=$!
LOOPS="$LOOPS $LOOP"
sleep 1
t_stop=$(now_ms)
nginx_stop 2 nowait
t_down=$(wait_log "server $S2:80 up -> down (probe: http probe failed 2 times" 3)
excerpt "$S2:80"
if [ -n "$t_down" ]; then
	d=$((t_down - t_stop))
	ok "nginx on s2 stopped: down by probe after $d ms (interval 500 x fall 2)"
	# Slack: a probe that catches nginx shutting down may hang until its
	# timeout (0.4 s) instead of being refused; the log is polled.
	check "[ $d -le 1700 ]" "down within interval x fall + timeout + 300 ms ($d ms <= 1700)"
else
	notok "nginx on s2 stopped: no probe transition to down within 3 s"
	t_down=$((t_stop + 3000))
fi
sleep 0.5
nginx_gone
t_start=$(now_ms)
kill -0 "$NGINX_PID" 2>/dev/null && echo "# nginx on s2 still running $((t_start - t_stop)) ms after SIGTERM"
nginx_start 2
t_up=$(wait_log "server $S2:80 down -> up (probe: http probe passed 2 times" 3)
if [ -n "$t_up" ]; then
	d=$((t_up - t_start))
	check "[ $d -le 1500 ]" "nginx on s2 started: up by probe after $d ms (rise 2, <= 1500)"
else
	notok "nginx on s2 started: no probe transition to up within 3 s"
	t_up=$((t_start + 3000))
fi
enough "$L" $((t_up + 100)) 15 40
wait $LOOP
t_end=$(now_ms)
excerpt "$S2:80 down -> up"
total=$(count "$L" 0 "$t_end" .)
fails=$(count "$L" 0 "$t_end" '^fail')
win=$(count "$L" "$t_stop" "$t_down" .)
early=$(count "$L" 0 $((t_stop - 1000)) '^fail')
late=$(count "$L" $((t_down + 100)) "$t_end" '^fail')
s2dn=$(count "$L" $((t_down + 100)) "$t_start" '^s2$')
s2up=$(count "$L" $((t_up + 100)) "$t_end" '^s2$')
after=$(count "$L" $((t_up + 100)) "$t_end" .)
echo "# loop: $total requests, $fails failed, $win started in the $((t_down - t_stop)) ms before the transition"
check "[ $total -ge 40 ]" "the curl loop made $total requests"
check "[ $early -eq 0 ] && [ $late -eq 0 ]" \
    "failures only in the detection window ($early before the stop, $late after the transition)"
check "[ $fails -le $((win / 3 + 2)) ]" \
    "failed requests $fails <= a third of the $win sent in the window + 2 in flight"
check "[ $s2dn -eq 0 ]" "no answer from s2 while down ($s2dn)"
check "[ $s2up -ge 3 ]" "s2 answers again after rise: $s2up of $after requests"

# --- 3a. s2's link down: the probes time out ----------------------------
L=$TMP/loop3
: > "$L"
hold "$L"
loop "$L" 5 0.05 &
LOOP=$!
LOOPS="$LOOPS $LOOP"
sleep 0.5
t_ld=$(now_ms)
ns_b ip link set p2 down
t_down=$(wait_log "server $S2:80 up -> down (probe:" 4 2)
excerpt "$S2:80 up -> down" | tail -1
if [ -n "$t_down" ]; then
	d=$((t_down - t_ld))
	check "[ $d -le 1800 ]" "link of s2 down: down by probe after $d ms (<= interval x fall + timeout + 400)"
	check "grep -F '$S2:80 up -> down (probe:' '$TMP/loadd.log' | tail -1 | grep -q timeout" \
	    "the reason is a probe timeout"
else
	notok "link of s2 down: no probe transition to down within 4 s"
	t_down=$((t_ld + 10000))
fi
enough "$L" $((t_down + 1100)) 10
wait $LOOP
t_end=$(now_ms)
ns_b ip link set p2 up
late=$(count "$L" $((t_down + 1100)) "$t_end" '^(fail|s2$)')
after=$(count "$L" $((t_down + 1100)) "$t_end" .)
fails=$(count "$L" 0 "$t_end" '^fail')
check "[ $late -eq 0 ] && [ $after -ge 10 ]" \
    "after the transition (+ the 1 s of a request in flight) $after requests, none to s2 or failed ($late); $fails failed in all"

# The UDP service without health keys, 10 s on: it still answers.
: > "$TMP/udp"
i=0
while [ $i -lt 6 ]; do
	echo ping | ns_c socat -t 1 - "UDP4:$VIP:5353" >> "$TMP/udp" 2>/dev/null ||
	    echo fail >> "$TMP/udp"
	i=$((i + 1))
done
u=$(grep -c '^s[123]$' "$TMP/udp")
check "[ $u -eq 6 ]" "a UDP service with no health keys still answers after $(( ($(now_ms) - T_START) / 1000 )) s: $u of 6"
excerpt "5353/udp: server" | head -3

# --- 3b. Passive detection, no probes -----------------------------------
cat > "$TMP/passive.conf" <<CONF
ipaliasing = $VIP
ports = 80
servers = $S1, $S2, $S3
balancingmode = roundrobin
check = none
passive_timeout = 0.5
passive_fall = 2
CONF
run_loadd passive || { notok "loadd up (passive.conf)"; exit 1; }
L=$TMP/loop3b
: > "$L"
hold "$L"
loop "$L" 5 0.05 &
LOOP=$!
LOOPS="$LOOPS $LOOP"
sleep 0.5
t_ld=$(now_ms)
ns_b ip link set p2 down
t_down=$(wait_log "server $S2:80 up -> down (passive:" 10)
excerpt "$S2:80 up -> down"
if [ -n "$t_down" ]; then
	ok "link of s2 down, check = none: down by passive detection after $((t_down - t_ld)) ms"
else
	notok "link of s2 down, check = none: no passive transition within 10 s"
	t_down=$((t_ld + 10000))
fi
enough "$L" $((t_down + 1100)) 5
wait $LOOP
t_end=$(now_ms)
ns_b ip link set p2 up
late=$(count "$L" $((t_down + 1100)) "$t_end" '^(fail|s2$)')
after=$(count "$L" $((t_down + 1100)) "$t_end" .)
fails=$(count "$L" "$t_ld" "$t_end" '^fail')
win=$(count "$L" "$t_ld" "$t_down" .)
check "[ $late -eq 0 ] && [ $after -ge 5 ]" \
    "passive: then $after requests, all to s1 and s3 ($late to s2 or failed); before it $fails of $win failed"

# --- 4. All servers down -------------------------------------------------
# refused TIMEOUT N: N requests to the VIP; R is their exit codes, RMAX
# the longest in ms.
refused() {
	R=""
	RMAX=0
	_i=0
	while [ $_i -lt "$2" ]; do
		_t=$(ns_c curl -s -o /dev/null -m "$1" -w '%{time_total}' "http://$VIP/")
		R="$R $?"
		_ms=$(echo "${_t:-9}" | awk '{ printf "%d", $1 * 1000 }')
		[ "$_ms" -gt "$RMAX" ] && RMAX=$_ms
		_i=$((_i + 1))
	done
	R=${R# }
}
# udp_try: one datagram to the UDP service; U is socat's exit code and
# what it printed, UMS the time it took.
udp_try() {
	_t=$(now_ms)
	U=$(echo ping | ns_c socat -t 1 - "UDP4:$VIP:5353" 2>&1)
	U="$? $U"
	UMS=$(($(now_ms) - _t))
}
icmp_in() { ns_c nstat -asz IcmpInDestUnreachs | awk '/IcmpInDest/ { print $2 }'; }

# noserver_conf NAME MODE: http probes on s1..s3, a UDP service whose one
# server is disabled; noserver MODE (empty: the default).
noserver_conf() {
	{
		head3
		echo "balancingmode = roundrobin"
		echo "check = http"
		echo "check_interval = 0.5"
		echo "check_timeout = 0.4"
		echo "check_fall = 2"
		[ -n "$2" ] && echo "noserver = $2"
		echo
		echo "service = dns"
		echo "ipaliasing = $VIP"
		echo "protocol = udp"
		echo "ports = 5353"
		echo "servers = $S1 disabled"
		echo "check = none"
	} > "$TMP/$1.conf"
}
all_down() {
	for n in 1 2 3; do nginx_stop $n; done
	wait_log "198.18.100.1:80/tcp: no server is up" 4 > /dev/null
}
all_up() { for n in 1 2 3; do nginx_start $n; done; }

noserver_conf nsreset ""
run_loadd nsreset || { notok "loadd up (noserver default)"; exit 1; }
if all_down; then
	ok "all nginx stopped: loadd logs that no server is up"
else
	notok "all nginx stopped: loadd did not log that no server is up within 4 s"
fi
excerpt "no server is up"
before=$(stats_of refused)
refused 3 5
check "[ '$R' = '7 7 7 7 7' ] && [ $RMAX -lt 300 ]" \
    "noserver = reset (default): curl refused at once (exit $R, slowest $RMAX ms)"
udp_try
check "echo '$U' | grep -q refused && [ $UMS -lt 800 ]" \
    "noserver = reset: a UDP datagram gets a port unreachable (socat ${U%% *}, $UMS ms)"
after=$(stats_of refused)
check "[ $((${after:-0} - ${before:-0})) -ge 6 ]" "loadd counted $((${after:-0} - ${before:-0})) refusals"

all_up
noserver_conf nsicmp icmp
run_loadd nsicmp || { notok "loadd up (noserver = icmp)"; exit 1; }
all_down
i0=$(icmp_in)
refused 3 5
i1=$(icmp_in)
check "[ '$R' = '7 7 7 7 7' ] && [ $RMAX -lt 300 ] && [ $((i1 - i0)) -ge 5 ]" \
    "noserver = icmp: curl refused at once by $((i1 - i0)) ICMP unreachables (exit $R, slowest $RMAX ms)"

all_up
noserver_conf nsdrop drop
run_loadd nsdrop || { notok "loadd up (noserver = drop)"; exit 1; }
all_down
refused 1 2
check "[ '$R' = '28 28' ]" "noserver = drop: the SYN goes unanswered until curl -m 1 gives up (exit $R)"
udp_try
check "[ '${U%% *}' = 0 ] && ! echo '$U' | grep -q refused" \
    "noserver = drop: a UDP datagram is dropped silently (socat ${U%% *}, $UMS ms)"

# A backup server.
all_up
cat > "$TMP/backup.conf" <<CONF
ipaliasing = $VIP
ports = 80
servers = $S1, $S2, $S3 backup
balancingmode = roundrobin
check = http
check_interval = 0.5
check_timeout = 0.4
check_fall = 2
check_rise = 2
CONF
run_loadd backup || { notok "loadd up (backup)"; exit 1; }
: > "$TMP/b1"
i=0
while [ $i -lt 30 ]; do
	ns_c curl -s -m 1 "http://$VIP/" >> "$TMP/b1" || echo fail >> "$TMP/b1"
	i=$((i + 1))
done
b=$(grep -c '^s3$' "$TMP/b1")
f=$(grep -c '^fail$' "$TMP/b1")
check "[ $b -eq 0 ] && [ $f -eq 0 ]" "backup s3 takes none of 30 requests while s1 and s2 are up ($b, $f failed)"
nginx_stop 1
nginx_stop 2
t=$(wait_log "no primary server is up; 1 backup server(s) take new flows" 4)
check "[ -n '$t' ]" "s1 and s2 stopped: loadd logs that the backup takes new flows"
excerpt "primary server"
: > "$TMP/b2"
i=0
while [ $i -lt 20 ]; do
	ns_c curl -s -m 1 "http://$VIP/" >> "$TMP/b2" || echo fail >> "$TMP/b2"
	i=$((i + 1))
done
b=$(grep -c '^s3$' "$TMP/b2")
check "[ $b -eq 20 ]" "the backup s3 answers $b of 20 requests while no primary is up"
nginx_start 1
nginx_start 2
wait_log "server $S1:80 down -> up" 4 > /dev/null
wait_log "server $S2:80 down -> up" 4 > /dev/null
t=$(wait_log "a primary server is up again" 1)
check "[ -n '$t' ]" "s1 and s2 started: loadd logs that a primary is up again"
: > "$TMP/b3"
i=0
while [ $i -lt 30 ]; do
	ns_c curl -s -m 1 "http://$VIP/" >> "$TMP/b3" || echo fail >> "$TMP/b3"
	i=$((i + 1))
done
b=$(grep -c '^s3$' "$TMP/b3")
f=$(grep -c '^fail$' "$TMP/b3")
p=$(grep -c '^s[12]$' "$TMP/b3")
check "[ $b -eq 0 ] && [ $p -eq 30 ]" "primaries back: s1 and s2 answer $p of 30, the backup $b ($f failed)"

# --- 5. down_flows: reset or keep a download from a vanished server -----
# One server, s1, so that the download's server is known.
for how in reset keep; do
	cat > "$TMP/df$how.conf" <<CONF
ipaliasing = $VIP
ports = 80
servers = $S1
check = http
check_interval = 0.5
check_timeout = 0.4
check_fall = 2
check_rise = 2
passive = no
down_flows = $how
CONF
done
# download CONF: a slow download through the VIP (curl -m 5), s1's link
# down after 1 s; D is curl's exit code and the ms from the link going
# down to its end, DD the ms to the transition.
download() {
	run_loadd "$1" || { D="-1 0"; DD=""; return; }
	# Paced by the server (/slow/): the client's buffers would take a
	# whole curl --limit-rate download at once through the fast path.
	ip netns exec "lab$LAB-c" curl -s -m 5 -o /dev/null "http://$VIP/slow/big" &
	_c=$!
	BG="$BG $_c"
	sleep 1
	_t=$(now_ms)
	ns_b ip link set p1 down
	_d=$(wait_log "server $S1:80 up -> down" 4)
	DD=$(( ${_d:-$_t} - _t ))
	wait $_c
	_rc=$?
	D="$_rc $(($(now_ms) - _t))"
	ns_b ip link set p1 up
}
download dfreset
excerpt "$S1:80 up -> down"
n=$(stats_of "flows reset")
check "[ ${D% *} -ne 0 ] && [ ${D% *} -ne 28 ] && [ ${D#* } -le 3000 ]" \
    "down_flows = reset: the download ends with an error ${D#* } ms after the link went down (curl ${D% *}; down after $DD ms)"
check "[ ${n:-0} -ge 1 ]" "down_flows = reset: loadd counted ${n:-0} flows reset"
download dfkeep
check "[ ${D% *} -eq 28 ] && [ ${D#* } -ge 3000 ]" \
    "down_flows = keep: the download hangs until curl -m 5 gives up (curl ${D% *}, ${D#* } ms after the link went down; down after $DD ms)"

# --- 6. A probe target that accepts and never answers --------------------
# Probes go to port 8080: nginx answers there on s1 and s3; on s2 it is
# replaced by a listener that reads and never writes.
for n in 1 2 3; do
	d=$TMP/s$n
	sed -e "s|listen 80;|listen 8080;|" -e "s|listen \[::\]:80;|listen [::]:8080;|" \
	    -e "s|$d/nginx.pid|$d/h8080.pid|" "$d/nginx.conf" > "$d/h8080.conf"
	ns_s $n nginx -c "$d/h8080.conf" -e "$d/error.log"
done
cat > "$TMP/hang.conf" <<CONF
ipaliasing = $VIP
ports = 80
servers = $S1, $S2, $S3
balancingmode = roundrobin
check = http
check_port = 8080
check_interval = 0.5
check_timeout = 0.3
check_fall = 2
check_rise = 2
passive = no
CONF
if run_loadd hang; then
	# A light curl loop (not to load the two CPUs a CI runner may have:
	# its times are then the packet path's) across the start of the hang.
	L=$TMP/loop6
	: > "$L"
	hold "$L"
	loop "$L" 3 0.02 &
	LOOP=$!
	LOOPS="$LOOPS $LOOP"
	sleep 0.3
	kill "$(cat "$TMP/s2/h8080.pid")"
	i=0
	while ns_s 2 ss -Hltn 'sport = :8080' | grep -q . && [ $i -lt 40 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	ip netns exec "lab$LAB-s2" socat -u TCP-LISTEN:8080,reuseaddr,fork OPEN:/dev/null 2>/dev/null &
	echo $! > "$TMP/hang.pid"
	t_hang=$(now_ms)
	t_down=$(wait_log "server $S2:80 up -> down (probe:" 3)
	excerpt "$S2:80 up -> down"
	if [ -n "$t_down" ]; then
		d=$((t_down - t_hang))
		check "[ $d -le 1500 ] && excerpt '$S2:80 up -> down' | grep -q timeout" \
		    "a hanging probe target: s2 down after $d ms, reason timeout (<= 2 x interval + timeout + 200)"
	else
		notok "a hanging probe target: no transition of s2 within 3 s"
		t_down=$((t_hang + 3000))
	fi
	enough "$L" "$t_hang" 30
	wait $LOOP
	t_end=$(now_ms)
	n=$(count "$L" "$t_hang" "$t_end" .)
	fails=$(count "$L" 0 "$t_end" '^fail')
	s2=$(count "$L" $((t_down + 100)) "$t_end" '^s2$')
	slow=$(awk -v a="$t_hang" '$1 >= a && $3 > 0.15 { n++ } END { print n + 0 }' "$L")
	max=$(awk -v a="$t_hang" '$1 >= a && $3 * 1000 > m { m = $3 * 1000 } END { printf "%d", m }' "$L")
	check "[ $fails -eq 0 ] && [ $s2 -eq 0 ]" \
	    "curl loop: $n requests while the probes hang, $fails failed, $s2 to s2 after the transition"
	# Were the packet path to wait for the hanging probes (300 ms of
	# every 500), most of these requests would wait with it.
	check "[ $n -ge 30 ] && [ $slow -le 1 ]" \
	    "the packet path never waited for a probe: $slow of $n requests over 150 ms, slowest $max ms"

	# wrk while s2's probes go on hanging, one every 0.5 s.
	r0=$(forwarded)
	ip netns exec "lab$LAB-c" wrk -t2 -c8 -d2s --latency "http://$VIP/" > "$TMP/wrk" 2>&1 &
	WRK=$!
	BG="$BG $WRK"
	wait $WRK
	r1=$(forwarded)
	sed 's/^/#   /' "$TMP/wrk" | grep -e 'Latency ' -e 'requests in' -e 'Socket' -e 'Non-2xx' -e ' 99%'
	reqs=$(awk '/requests in/ { print $1 }' "$TMP/wrk")
	check "[ ${reqs:-0} -ge 1000 ] && ! grep -q -e 'Socket errors' -e 'Non-2xx' '$TMP/wrk'" \
	    "wrk for 2 s while the probes hang: ${reqs:-0} requests, no errors"
	check "[ $((${r1:-0} - ${r0:-0})) -ge 2000 ]" \
	    "loadd (or its fast path) forwarded $((${r1:-0} - ${r0:-0})) packets meanwhile"
	st=$(grep -F "stats: server $S2:80 " "$TMP/loadd.log" | tail -1)
	check "echo '$st' | grep -qF '$S2:80 ($VIP:80/tcp) down (probe)'" \
	    "the stats dump shows s2 down (probe): ${st#*stats: }"
else
	notok "loadd up (hang.conf)"
fi
for f in "$TMP/hang.pid" "$TMP"/s*/h8080.pid; do
	[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
done
rm -f "$TMP/hang.pid"

# --- 7. Slow start --------------------------------------------------------
cat > "$TMP/slow.conf" <<CONF
ipaliasing = $VIP
ports = 80
servers = $S1 weight 10, $S2 weight 10
balancingmode = wrr
check = http
check_interval = 0.5
check_timeout = 0.4
check_fall = 2
check_rise = 2
passive = no
slowstart = 4
CONF
if run_loadd slow; then
	nginx_stop 2
	wait_log "server $S2:80 up -> down" 3 > /dev/null
	# New connections as fast as wrk makes them ("Connection: close"),
	# counted by loadd itself per server: the shares hold however many
	# requests a busy machine manages.
	ns_c wrk -t1 -c4 -d20s -H 'Connection: close' "http://$VIP/" \
	    > /dev/null 2>&1 &
	WRK=$!
	LOOPS="$LOOPS $WRK"
	t0=$(now_ms)
	nginx_start 2
	t_up=$(wait_log "server $S2:80 down -> up" 3)
	if [ -n "$t_up" ]; then
		echo "# s2 up $((t_up - t0)) ms after nginx started"
		# flows_total of s1 and s2 when the clock passes MS after t_up.
		totals_at() {
			while [ "$(now_ms)" -lt $((t_up + $1)) ]; do sleep 0.02; done
			"$PWD/$O/loadctl" -s "$TMP/ctl.sock" -j show servers |
			    jq -r '[.[] | .flows_total] | "\(.[0]) \(.[1])"'
		}
		set -- $(totals_at 100) $(totals_at 1100) $(totals_at 4200) \
		    $(totals_at 5800)
		kill "$WRK" 2>/dev/null
		a1=$(($3 + $4 - $1 - $2))
		e1=$(($4 - $2))
		a2=$(($7 + $8 - $5 - $6))
		e2=$(($8 - $6))
		p1=$((a1 > 0 ? e1 * 100 / a1 : 100))
		p2=$((a2 > 0 ? e2 * 100 / a2 : 0))
		check "[ $a1 -ge 20 ] && [ $p1 -le 30 ] && [ $p2 -ge 40 ] && [ $((p1 * 2)) -lt $p2 ]" \
		    "slowstart = 4: s2's share $p1% ($e1 of $a1 new flows) in the first second, $p2% ($e2 of $a2) after 4.2 s"
	else
		notok "slowstart: s2 did not come back up"
	fi
else
	notok "loadd up (slow.conf)"
fi

check "kill -0 $LOADD_PID" "loadd still running"
loadd_stop
[ $fail -eq 0 ]
