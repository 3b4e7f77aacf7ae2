#!/bin/sh
# Integration: operating loadd (issue 7) -- the control socket and every
# loadctl command against a running loadd (text, and JSON read by jq), the
# Prometheus metrics (loadctl and the HTTP listener), malformed and
# concurrent control clients, reloads under load (wrk through the VIP while
# the configuration changes ten times, a server removed under a slow
# download), bad configurations on reload (loadctl and SIGHUP), the pid
# file, and two loadd side by side on different queues, sockets and VIPs.
# Topology: tests/lib/netns.sh.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=o$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
LOADCTL=$PWD/$O/loadctl
VIP2=198.18.100.2
S1=198.18.1.11:80
S2=198.18.1.12:80
S3=198.18.1.13:80
. tests/lib/netns.sh

. tests/lib/tap.sh

BG=""		# background jobs (wrk, curl, socat), killed on exit
TWO_PID=""	# the second loadd
T0=$(date +%s)
cleanup() {
	for p in $BG; do kill "$p" 2>/dev/null; done
	if [ -n "$TWO_PID" ]; then
		kill "$TWO_PID" 2>/dev/null && wait "$TWO_PID" 2>/dev/null
	fi
	if [ -n "${LOADD_PID:-}" ]; then
		kill "$LOADD_PID" 2>/dev/null && wait "$LOADD_PID" 2>/dev/null
		LOADD_PID=
	fi
	# Whatever else still runs in this lab's client and balancer (a loadd
	# that should have refused to start and detached instead, say).
	for ns in b c; do
		for p in $(ip netns pids "lab$LAB-$ns" 2>/dev/null); do
			kill "$p" 2>/dev/null
		done
	done
	lab_down
	echo "# operate.sh: $(($(date +%s) - T0)) s"
	tap_end
}
trap cleanup EXIT

CTL() { "$LOADCTL" -s "$TMP/ctl.sock" "$@"; }
# sock LINE-FILE: sends a file's bytes as one client, prints the answer.
sock() { timeout 10 socat -t 3 - "UNIX-CONNECT:$TMP/ctl.sock" < "$1" 2>&1; }
# srv ADDR:PORT FIELD: a field of "json show servers" for one server.
srv() {
	CTL -j show servers | jq -r --arg s "$1" \
	    ".[] | select(.server == \$s) | .$2" 2>/dev/null
}
# hits N FILE: N requests through the VIP, a new connection each.
hits() {
	: > "$2"
	_i=0
	while [ $_i -lt "$1" ]; do
		ns_c curl -s -m 3 "http://${3:-$VIP}/" >> "$2" ||
		    echo fail >> "$2"
		_i=$((_i + 1))
	done
}
cnt() { grep -c "^$1\$" "$2" || true; }
# setconf METHOD "SERVERS": the configuration, replaced in one rename so
# that a reload never reads half of it.  Line 4 is "servers" (LAB_BPF_LINES
# further down with LAB_OFFLOAD=bpf: the lab's offload lines come first).
setconf() {
	cat > "$TMP/new.conf" <<CONF
metrics = 127.0.0.1:9670
ipaliasing = $VIP
ports = 80
servers = $2
balancingmode = $1
CONF
	lab_bpf_conf "$TMP/new.conf"
	mv "$TMP/new.conf" "$TMP/loadd.conf"
}
ALL="198.18.1.11, 198.18.1.12, 198.18.1.13"
# loop MAX OUT [VIP]: new connections one after the other until
# $TMP/stop exists and at least 25 were made (at most MAX); writes
# "requests failures" to OUT.  The minimum keeps a busy machine from
# making the window too short to say anything.
loop() {
	_n=0
	_f=0
	while { [ ! -e "$TMP/stop" ] || [ $_n -lt 25 ]; } &&
	    [ $_n -lt "$1" ]; do
		case $(ns_c curl -s -m 3 "http://${3:-$VIP}/") in
		s[123]) ;;
		*) _f=$((_f + 1)) ;;
		esac
		_n=$((_n + 1))
		sleep 0.05
	done
	echo "$_n $_f" > "$2"
}
# promcheck: Prometheus text on stdin; prints what breaks the format or
# the naming conventions, one line each.
promcheck() {
	awk '
	/^# HELP / { help[$3] = 1; next }
	/^# TYPE / {
		n = $3; t = $4
		if (n in type) print "TYPE twice: " n
		type[n] = t
		if (!(n in help)) print "no HELP before TYPE: " n
		if (n !~ /^loadd_[a-z][a-z0-9_]*[a-z0-9]$/ || n ~ /__/)
			print "not loadd_snake_case: " n
		if (t == "counter" && n !~ /_total$/)
			print "counter without _total: " n
		if (t != "counter" && n ~ /_total$/)
			print t " named _total: " n
		if (t != "counter" && t != "gauge" && t != "histogram" &&
		    t != "summary" && t != "untyped")
			print "unknown type " t ": " n
		if (t != "histogram" && t != "summary" &&
		    n ~ /_(count|sum|bucket)$/)
			print "reserved suffix: " n
		if (n ~ /_(milliseconds|ms|microseconds|us|kilobytes|kb|percent|minutes|hours)(_|$)/)
			print "not a base unit: " n
		next
	}
	/^#/ || /^$/ { next }
	{
		name = $1; sub(/\{.*/, "", name)
		if (!(name in type)) print "sample without TYPE: " $0
		if ($NF !~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ &&
		    $NF !~ /^(NaN|[-+]Inf)$/)
			print "not a value: " $0
		if ($0 ~ /\{/ && $0 !~ /\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\} /)
			print "bad labels: " $0
		ns++
	}
	END { if (ns == 0) print "no samples" }'
}

if ! { lab_up && servers_up && setconf wrr "$ALL" && loadd_up; }; then
	notok "lab set up"
	exit 1
fi

########################################################################
# 1. Every loadctl command against the running loadd.
########################################################################

m=$(stat -c '%a %U' "$TMP/ctl.sock" 2>&1)
check "[ '$m' = '600 root' ]" "control socket mode and owner: $m (600 root)"

CTL show servers > "$TMP/o" 2>&1
rc=$?
h=$(grep -c '^SERVICE  *SERVER  *STATE  *REASON  *WEIGHT  *BAK  *MAXCONN  *ACTIVE  *TOTAL  *BYTES_IN  *BYTES_OUT  *RTT_MS  *AGENT$' "$TMP/o")
r=$(grep -Ec '^default +198\.18\.1\.1[123]:80 +up +[a-z]+ +1/1 ' "$TMP/o")
check "[ $rc -eq 0 ] && [ $h -eq 1 ] && [ $r -eq 3 ]" \
    "show servers: exit $rc, header $h, $r rows 'default 198.18.1.1x:80 up 1/1'"
CTL -j show servers > "$TMP/o" 2>&1
n=$(jq -r 'length' "$TMP/o" 2>/dev/null)
check "[ '$n' = 3 ] && jq -e 'all(.[]; has(\"service\") and has(\"vip\") and has(\"server\") and has(\"state\") and has(\"reason\") and has(\"weight\") and has(\"configured_weight\") and has(\"backup\") and has(\"healthy\") and has(\"flows_active\") and has(\"flows_total\") and has(\"bytes_in\") and has(\"bytes_out\") and has(\"response_time_us\") and has(\"agent\"))' '$TMP/o' >/dev/null" \
    "show servers -j: jq reads $n servers, each with service, vip, server, state, reason, weight, configured_weight, backup, healthy, flows, bytes, response_time_us, agent"
st=$(jq -r --arg s $S1 '.[] | select(.server == $s) | "\(.state) \(.weight) \(.healthy)"' "$TMP/o" 2>/dev/null)
check "[ '$st' = 'up 1 true' ]" "show servers -j: $S1 state, weight, healthy: $st"

CTL show services > "$TMP/o" 2>&1
rc=$?
h=$(grep -c '^SERVICE  *VIRTUAL  *METHOD  *UP  *ACTIVE  *TOTAL  *BYTES_IN  *BYTES_OUT  *DROPS$' "$TMP/o")
r=$(grep -Ec '^default +198\.18\.100\.1:80/tcp +wrr +3/3 ' "$TMP/o")
check "[ $rc -eq 0 ] && [ $h -eq 1 ] && [ $r -eq 1 ] && [ \$(wc -l < '$TMP/o') -eq 2 ]" \
    "show services: exit $rc, header $h, row 'default 198.18.100.1:80/tcp wrr 3/3' $r"
v=$(CTL -j show services | jq -r '.[] | "\(.service) \(.vip) \(.method) \(.servers) \(.servers_up) \(.drops | type)"' 2>&1)
check "[ '$v' = 'default 198.18.100.1:80/tcp wrr 3 3 object' ]" \
    "show services -j: $v"

CTL show stats > "$TMP/o" 2>&1
rc=$?
p=$(awk '$1 == "packets" { print $2 }' "$TMP/o")
check "[ $rc -eq 0 ] && [ \${p:-0} -gt 0 ] && grep -q '^flows_max  *[0-9][0-9]*$' '$TMP/o' && grep -q '^io_errors  *0$' '$TMP/o' && grep -q '^drops:$' '$TMP/o'" \
    "show stats: exit $rc, packets ${p:-?}, flows_max, io_errors 0, drops:"
v=$(CTL -j show stats | jq -r '"\(.packets > 0) \(.flows_max) \(.io_errors) \(.drops | type)"' 2>&1)
check "[ '$v' = 'true 1000000 0 object' ]" "show stats -j: packets>0, flows_max, io_errors, drops: $v"

CTL help > "$TMP/o" 2>&1
rc=$?
n=0
for w in 'show servers' 'show services' 'show flows' 'show stats' 'set weight' \
    drain disable enable reload metrics json; do
	grep -q "^$w" "$TMP/o" && n=$((n + 1))
done
check "[ $rc -eq 0 ] && [ $n -eq 11 ]" "help: exit $rc, lists $n of 11 commands"

# Flows: three slow downloads, one per server (wrr 1:1:1).
for k in 1 2 3; do
	ns_c curl -s -m 20 --limit-rate 200k -o /dev/null "http://$VIP/big" &
	BG="$BG $!"
	DLS="${DLS:-} $!"
done
i=0
until [ "$(CTL -j show flows state established | jq length 2>/dev/null)" = 3 ] ||
    [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
# With offload = bpf two more columns: who carries the flow (the map or
# loadd) and the bytes the map carried.
if [ "${LAB_OFFLOAD:-}" = bpf ]; then
	# The downloads' flows go into the map once established (bounded).
	i=0
	until [ "$(CTL -j show flows state established | jq '[.[] | select(.path == "map" and .fastpath_bytes > 0)] | length' 2>/dev/null)" = 3 ] ||
	    [ $i -ge 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	check "[ $i -lt 50 ]" \
	    "offload = bpf: show flows -j says the map carries the 3 downloads (path \"map\", fastpath_bytes > 0)"
	hre='  *PATH  *MAP_BYTES'
	rre=' +map +[1-9][0-9]*'
else
	hre=
	rre=
fi
CTL show flows > "$TMP/o" 2>&1
rc=$?
h=$(grep -c "^SERVICE  *CLIENT  *SERVER  *STATE  *IDLE$hre\$" "$TMP/o")
r=$(grep -Ec "^default +198\\.18\\.0\\.2:[0-9]+ +198\\.18\\.1\\.1[123]:80 +established +[0-9]+$rre\$" "$TMP/o")
check "[ $rc -eq 0 ] && [ $h -eq 1 ] && [ $r -eq 3 ]" \
    "show flows: exit $rc, header $h, $r established rows"
[ $r -eq 3 ] || sed 's/^/# /' "$TMP/o"
CTL -j show flows state established > "$TMP/o" 2>&1
v=$(jq -r '[length, ([.[].server] | unique | length), all(.[]; .state == "established" and .service == "default" and (.client | startswith("198.18.0.2:")) and has("idle_s"))] | @tsv' "$TMP/o" 2>&1)
check "[ '$v' = \"$(printf '3\t3\ttrue')\" ]" \
    "show flows state established -j: flows, distinct servers, fields: $(echo $v)"
v=$(CTL -j show flows server $S2 state established | jq -r '"\(length) \(all(.[]; .server == "198.18.1.12:80"))"' 2>&1)
check "[ '$v' = '1 true' ]" "show flows server $S2 state established -j: $v"
v=$(CTL -j show flows client 198.18.0.2 limit 2 | jq -r 'length' 2>&1)
check "[ '$v' = 2 ]" "show flows client 198.18.0.2 limit 2 -j: $v flows"
n=$(CTL show flows limit 1 | wc -l)
check "[ $n -eq 2 ]" "show flows limit 1: $n lines (header and one)"
v=$(CTL -j show flows service default state established | jq length 2>&1)
w=$(CTL -j show flows service nosuch | jq length 2>&1)
x=$(CTL -j show flows client 198.18.0.99 | jq length 2>&1)
check "[ '$v' = 3 ] && [ '$w' = 0 ] && [ '$x' = 0 ]" \
    "show flows service default: $v; service nosuch: $w; client 198.18.0.99: $x"
n=0
for f in 'limit 0' 'limit x' 'client nothere' 'server' 'colour red' 'limit 1 limit'; do
	# shellcheck disable=SC2086
	out=$(CTL show flows $f 2>&1)
	rc=$?
	case $out in "error: show flows: "*) [ $rc -eq 1 ] && n=$((n + 1)) ;; esac
done
check "[ $n -eq 6 ]" "show flows with a bad filter: $n of 6 answered 'error: show flows: ...', exit 1"

# Drain: no new flows, its flows go on; enable; disable.
out=$(CTL drain $S2 2>&1)
check "[ '$out' = '$S2: draining' ]" "drain $S2: '$out'"
CTL show servers > "$TMP/o"
check "grep -Eq '^default +198\.18\.1\.12:80 +draining +operator ' '$TMP/o'" \
    "show servers: $S2 draining (operator)"
v=$(srv $S2 state)
check "[ '$v' = draining ]" "show servers -j: $S2 state $v"
v=$(CTL -j show flows server $S2 state established | jq length 2>&1)
check "[ '$v' = 1 ]" "the download on the drained $S2 goes on ($v established flow)"
v=$(CTL metrics | grep -c "^loadd_server_state{service=\"default\",server=\"$S2\",state=\"draining\"} 1$")
check "[ $v -eq 1 ]" "metrics: loadd_server_state{...server=\"$S2\",state=\"draining\"} 1"
hits 30 "$TMP/h"
check "[ $(cnt s2 "$TMP/h") -eq 0 ] && [ $(cnt fail "$TMP/h") -eq 0 ]" \
    "drained: 30 requests: s1 $(cnt s1 "$TMP/h"), s2 $(cnt s2 "$TMP/h"), s3 $(cnt s3 "$TMP/h"), failed $(cnt fail "$TMP/h")"
out=$(CTL enable $S2 2>&1)
v=$(srv $S2 state)
check "[ '$out' = '$S2: up' ] && [ '$v' = up ]" "enable $S2: '$out', state $v"
out=$(CTL -j disable $S3 2>&1)
v=$(echo "$out" | jq -r '"\(.server) \(.state)"' 2>&1)
check "[ '$v' = '$S3 disabled' ] && [ '$(srv $S3 state)' = disabled ]" \
    "disable $S3 -j: $v"
hits 30 "$TMP/h"
check "[ $(cnt s3 "$TMP/h") -eq 0 ] && [ $(cnt fail "$TMP/h") -eq 0 ]" \
    "disabled: 30 requests: s1 $(cnt s1 "$TMP/h"), s2 $(cnt s2 "$TMP/h"), s3 $(cnt s3 "$TMP/h"), failed $(cnt fail "$TMP/h")"
out=$(CTL enable $S3 2>&1)
check "[ '$out' = '$S3: up' ] && [ '$(srv $S3 state)' = up ]" "enable $S3: '$out'"
for p in $DLS; do kill "$p" 2>/dev/null; done

# Weights: 3:1:1 with wrr.
out=$(CTL set weight $S1 3 2>&1)
v=$(srv $S1 weight)
check "[ '$out' = '$S1: weight 3' ] && [ '$v' = 3 ]" "set weight $S1 3: '$out', weight $v"
v=$(CTL -j set weight $S1 3 | jq -r '"\(.server) \(.weight)"' 2>&1)
check "[ '$v' = '$S1 3' ]" "set weight -j: $v"
hits 100 "$TMP/h"
a=$(cnt s1 "$TMP/h")
b=$(cnt s2 "$TMP/h")
c=$(cnt s3 "$TMP/h")
check "[ $a -ge 50 ] && [ $a -le 70 ] && [ $b -ge 12 ] && [ $b -le 28 ] && [ $c -ge 12 ] && [ $c -le 28 ]" \
    "weights 3:1:1 (wrr): of 100 requests s1 $a (50..70), s2 $b, s3 $c (12..28), failed $(cnt fail "$TMP/h")"
n=0
for a in "set weight $S1 65536" "set weight $S1 -1" "set weight 10.0.0.1:80 1" \
    "set weight $S1" "set wait $S1 2" "drain" "enable 10.0.0.1:80" \
    "disable $S1 $S2" "show" "show nothing" "reload now" "foo"; do
	# "--": loadctl's getopt would take "-1" for an option.
	# shellcheck disable=SC2086
	out=$(CTL -- $a 2>&1)
	rc=$?
	case $out in "error: "*) [ $rc -eq 1 ] && n=$((n + 1)) ;; *) echo "# $a: exit $rc: $out" ;; esac
done
check "[ $n -eq 12 ] && [ '$(srv $S1 weight)' = 3 ]" \
    "12 wrong commands (bad weight, unknown server, missing arguments, unknown command): $n answered 'error: ...' with exit 1; nothing changed"
v=$(CTL -j foo)
rc=$?
check "[ $rc -eq 1 ] && echo '$v' | jq -e '.error | startswith(\"unknown command\")' >/dev/null" \
    "-j foo: exit $rc, $v"
CTL set weight $S1 1 > /dev/null

# Metrics: loadctl and the HTTP listener.
CTL metrics > "$TMP/m" 2>&1
rc=$?
p=$(awk '$1 == "loadd_packets_total" { print $2 }' "$TMP/m")
check "[ $rc -eq 0 ] && grep -q '^# TYPE loadd_packets_total counter$' '$TMP/m' && [ \${p:-0} -gt 0 ]" \
    "metrics: exit $rc, '# TYPE loadd_packets_total counter', loadd_packets_total ${p:-?}"
v=$(grep -c "^loadd_server_up{service=\"default\",server=\"198.18.1.1[123]:80\"} 1$" "$TMP/m")
check "[ $v -eq 3 ]" "metrics: loadd_server_up 1 for $v of 3 servers"
promcheck < "$TMP/m" > "$TMP/pc"
n=$(grep -c '^# TYPE' "$TMP/m")
check "[ ! -s '$TMP/pc' ] && [ $n -ge 10 ]" \
    "metrics: $n families, Prometheus text and names (loadd_ snake case, counters _total, others not, base units): $(wc -l < "$TMP/pc") problems $(head -3 "$TMP/pc" | tr '\n' ';')"
ns_b curl -s -m 3 -D "$TMP/mh" -o "$TMP/m2" http://127.0.0.1:9670/metrics
rc=$?
p2=$(awk '$1 == "loadd_packets_total" { print $2 }' "$TMP/m2")
promcheck < "$TMP/m2" > "$TMP/pc"
check "[ $rc -eq 0 ] && grep -q '^HTTP/1.0 200' '$TMP/mh' && grep -qi '^Content-Type: text/plain; version=0.0.4' '$TMP/mh' && [ \${p2:-0} -ge \${p:-1} ] && [ ! -s '$TMP/pc' ]" \
    "HTTP GET /metrics on 127.0.0.1:9670: curl $rc, $(head -1 "$TMP/mh" | tr -d '\r'), loadd_packets_total ${p2:-?}, $(wc -l < "$TMP/pc") format problems"
c=$(ns_b curl -s -m 3 -o /dev/null -w '%{http_code}' http://127.0.0.1:9670/other)
check "[ '$c' = 404 ]" "HTTP GET /other: $c"

# Malformed and oversized commands: an error line each, loadd goes on.
{ head -c 5000 /dev/zero | tr '\0' a; echo; } > "$TMP/long"
head -c 5000 /dev/zero | tr '\0' a > "$TMP/long-nonl"
printf 'show\0servers\n' > "$TMP/nul"
printf '\000\000\000\000\n' > "$TMP/nuls"
head -c 512 /dev/urandom | tr -d '\000\n' > "$TMP/bin"; echo >> "$TMP/bin"
printf '\001\033[2J\377\376\375 \200\n' > "$TMP/bin2"
printf '\n' > "$TMP/empty"
echo "a b c d e f g h i j k l m n o p q r s" > "$TMP/words"
printf 'show servers\r\n' > "$TMP/crlf"
for f in long long-nonl nul nuls bin bin2 empty words; do
	a=$(sock "$TMP/$f" | head -c 200 | tr -d '\000' | head -1)
	case $a in
	"error: "*) ok "$f command: '$(printf %s "$a" | tr -c '[:print:]' '?' | cut -c1-60)'" ;;
	*) notok "$f command: an error line, got '$(printf %s "$a" | tr -c '[:print:]' '?' | cut -c1-60)'" ;;
	esac
done
a=$(sock "$TMP/long")
check "[ '$a' = 'error: command longer than 1024 bytes' ]" "5000-byte line: '$a'"
a=$(sock "$TMP/nul")
check "[ '$a' = 'error: NUL byte in the command' ]" "NUL byte: '$a'"
check "sock '$TMP/crlf' | grep -q '^SERVICE  *SERVER'" "a CRLF line is understood"
printf 'json \377\376 \001x\n' > "$TMP/binj"
sock "$TMP/binj" > "$TMP/o"
check "python3 -c 'import json, sys; d = json.loads(sys.stdin.buffer.read()); assert \"error\" in d' < '$TMP/o' 2>/dev/null" \
    "json with binary garbage: the error is valid JSON (UTF-8): $(head -c 40 "$TMP/o" | od -An -c | tr -s ' \n' '  ')"
out=$(CTL "$(head -c 2000 /dev/zero | tr '\0' a)" 2>&1)
rc=$?
check "[ $rc -eq 64 ] && echo '$out' | grep -q 'longer than'" "loadctl with a 2000-byte argument: usage error, exit $rc, '$out'"
out=$("$LOADCTL" -s "$TMP/none.sock" show servers 2>&1)
rc=$?
check "[ $rc -eq 2 ] && echo '$out' | grep -q 'is loadd running'" "loadctl on a socket nobody answers: exit $rc, '$out'"
check "kill -0 $LOADD_PID && CTL show services | grep -q '^default '" \
    "loadd still running and answering after the malformed commands"

# Many clients at once: each answered or told "too many clients".
mkdir "$TMP/par"
PAR=""
for k in $(seq 1 30); do
	{ CTL show servers > "$TMP/par/$k" 2>&1; echo $? > "$TMP/par/$k.rc"; } &
	PAR="$PAR $!"
done
for p in $PAR; do wait "$p"; done
a=0
b=0
for k in $(seq 1 30); do
	if head -1 "$TMP/par/$k" | grep -q '^SERVICE' &&
	    [ "$(grep -c '198.18.1.1' "$TMP/par/$k")" -eq 3 ]; then
		a=$((a + 1))
	elif [ "$(cat "$TMP/par/$k.rc")" = 3 ] &&
	    grep -q 'refused the connection: too many clients' "$TMP/par/$k"; then
		b=$((b + 1))
	fi
done
check "[ $((a + b)) -eq 30 ] && [ $a -ge 16 ]" \
    "30 loadctl at once: $a full answers, $b refused with exit 3 'too many clients' (none lost)"
# Clients that connect and say nothing hold the slots until they time out.
t0=$(date +%s%N)
for k in $(seq 1 20); do
	timeout 12 socat -u -T 10 "UNIX-CONNECT:$TMP/ctl.sock" "OPEN:$TMP/par/idle$k,creat" 2>/dev/null &
	BG="$BG $!"
	IDLE="${IDLE:-} $!"
done
# Wait (bounded) until all 20 are in: 16 held, the other 4 told so.
i=0
while [ "$(cat "$TMP"/par/idle* 2>/dev/null | grep -c 'too many clients')" -lt 4 ] &&
    [ $i -lt 40 ]; do
	sleep 0.1
	i=$((i + 1))
done
out=$(CTL show services 2>&1)
rc=$?
check "echo '$out' | grep -q 'loadd refused the connection: too many clients; try again$'" \
    "16 silent clients hold the slots: loadctl told '$out'"
check "[ $rc -eq 3 ]" \
    "loadctl exits 3 when loadd refuses it as one client too many (exit $rc)"
check "ns_c curl -s -m 2 http://$VIP/ | grep -q '^s[123]$'" "the VIP answers while the control slots are full"
i=0
until CTL show services > /dev/null 2>&1 || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
el=$(( ($(date +%s%N) - t0) / 1000000 ))
check "[ $i -lt 100 ] && [ $el -ge 4500 ]" \
    "silent clients are dropped after the idle time: loadctl answered again $el ms after they connected (5 s idle limit)"
for p in $IDLE; do wait "$p" 2>/dev/null; done
n=$(cat "$TMP"/par/idle* | grep -c 'too many clients')
check "[ $n -eq 4 ]" "of 20 silent clients, $n were told 'too many clients' at once (16 slots)"
check "kill -0 $LOADD_PID && [ \"\$(srv $S1 state)\" = up ]" "loadd unaffected by the clients"

########################################################################
# 2. Reload under load: ten reloads while wrk runs through the VIP.
########################################################################

# The download goes to s3, the server the second reload removes.
CTL disable $S1 > /dev/null
CTL disable $S2 > /dev/null
ns_c curl -s -m 60 --limit-rate 500k -o "$TMP/dl" \
    -w '%{http_code} %{size_download}' "http://$VIP/big" > "$TMP/dl.out" 2>&1 &
DL=$!
BG="$BG $DL"
i=0
until [ "$(CTL -j show flows server $S3 state established | jq length 2>/dev/null)" = 1 ] ||
    [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
CTL enable $S1 > /dev/null
CTL enable $S2 > /dev/null
check "[ $i -lt 50 ]" "slow download (500 KB/s) of /big runs on $S3"
ft1=$(srv $S1 flows_total)
nrl=$(grep -c 'reload: [0-9]* service(s)' "$TMP/loadd.log")
rm -f "$TMP/stop"
ns_c wrk -t2 -c20 -d27s --timeout 5s "http://$VIP/" > "$TMP/wrk" 2>&1 &
WRK=$!
BG="$BG $WRK"
loop 2000 "$TMP/loop" &
LOOP=$!
BG="$BG $LOOP"

rl_ok=0
rl() {
	setconf "$1" "$2"
	_o=$(CTL reload 2>&1)
	_r=$?
	if [ $_r -eq 0 ] && [ "$_o" = "reload: OK" ]; then
		rl_ok=$((rl_ok + 1))
	else
		echo "# reload to $1 $2: exit $_r: $_o"
	fi
}
sleep 2
rl wrr "198.18.1.11 weight 2, 198.18.1.12, 198.18.1.13"
check "[ '$(srv $S1 weight)' = 2 ] && [ '$(srv $S2 weight)' = 1 ]" \
    "reload 1: weights from the new configuration ($S1 $(srv $S1 weight), $S2 $(srv $S2 weight))"
sleep 2
rl wrr "198.18.1.11, 198.18.1.12"
sleep 0.3
CTL show servers > "$TMP/o"
v=$(CTL -j show servers | jq -r --arg s $S3 '.[] | select(.server == $s) | "\(.state) \(.weight) \(.flows_active)"')
# (curl's --limit-rate lets bursts through: the download may be over.)
dlrun=$(kill -0 $DL 2>/dev/null && echo "while the download runs" || echo "(the download already ended)")
check "grep -Eq '^default +198\.18\.1\.13:80 +draining ' '$TMP/o' && [ '${v% *}' = 'draining 0' ] && [ ${v##* } -ge 1 ]" \
    "reload 2 removes s3: show servers lists it draining (state, weight, active flows: $v) $dlrun"
sleep 2
rl wrr "198.18.1.11 weight 3, 198.18.1.12"
sleep 2
rl leastconn "198.18.1.11, 198.18.1.12"
v=$(CTL -j show services | jq -r '.[0].method')
check "[ '$v' = leastconn ]" "reload 4: method from the new configuration ($v)"
sleep 2
rl wrr "198.18.1.11, 198.18.1.12 weight 2"
sleep 2
rl roundrobin "198.18.1.11, 198.18.1.12"
sleep 2
rl wrr "198.18.1.11 weight 2, 198.18.1.12 weight 2"
sleep 2
rl wrr "198.18.1.11, 198.18.1.12"
v=$(srv $S3 state)
kill -0 $DL 2>/dev/null && w="still runs" || w="has ended"
check "[ '$v' = draining ]" \
    "after 8 reloads the removed $S3 is still there, draining ($v); the download $w"
wait $DL
rc=$?
check "[ $rc -eq 0 ] && [ \"\$(cat '$TMP/dl.out')\" = '200 10485760' ] && cmp -s '$TMP/dl' '$TMP/big'" \
    "the download from the removed server finished: curl exit $rc, '$(cat "$TMP/dl.out")', byte-identical"
sleep 1
rl wrr "$ALL"
"$LOADD" -R -f "$TMP/loadd.conf" | ns_b sh -e
check "[ $? -eq 0 ]" "reload 9 adds s3 back; the rules are applied again"
sleep 2
rl roundrobin "$ALL"
wait $WRK
touch "$TMP/stop"
wait $LOOP

check "[ $rl_ok -eq 10 ]" "loadctl reload answered 'reload: OK' $rl_ok times of 10"
n=$(($(grep -c 'reload: [0-9]* service(s)' "$TMP/loadd.log") - nrl))
check "[ $n -eq 10 ]" "the log shows $n reloads of 10"
d=$(grep 'reload: [0-9]* service(s)' "$TMP/loadd.log" | grep -vc ' 0 flow(s) dropped')
check "[ $d -eq 0 ]" "no reload dropped a flow ($d reloads did)"
grep 'reload: [0-9]* service(s)\|is gone from' "$TMP/loadd.log" | tail -11 | sed 's/^/# /'
reqs=$(awk '/requests in/ { print $1 }' "$TMP/wrk")
check "[ \${reqs:-0} -gt 1000 ]" "wrk during the reloads: ${reqs:-0} requests"
se=$(grep 'Socket errors' "$TMP/wrk")
nx=$(grep 'Non-2xx' "$TMP/wrk")
check "[ -z '$se' ] && [ -z '$nx' ]" \
    "wrk saw no socket errors (${se:-connect 0, read 0, write 0, timeout 0}) and no non-2xx (${nx:-0})"
read ln lf < "$TMP/loop"
check "[ \${ln:-0} -gt 50 ] && [ \${lf:-1} -eq 0 ]" \
    "new connections during the reloads: ${lf:-?} of ${ln:-?} failed"
ft2=$(srv $S1 flows_total)
check "[ \${ft2:-0} -gt \${ft1:-0} ]" "$S1 kept its counters through the reloads (flows_total $ft1 -> $ft2)"
v=$(CTL -j show servers | jq -r '[.[] | "\(.server)=\(.state)"] | join(" ")')
check "[ '$v' = '$S1=up $S2=up $S3=up' ]" "after the reloads: $v (s3 added back is up)"
hits 30 "$TMP/h"
c=$(cnt s3 "$TMP/h")
check "[ $c -ge 5 ] && [ $(cnt fail "$TMP/h") -eq 0 ]" \
    "s3 added back takes new flows: 30 requests: s1 $(cnt s1 "$TMP/h"), s2 $(cnt s2 "$TMP/h"), s3 $c, failed $(cnt fail "$TMP/h")"
check "kill -0 $LOADD_PID" "loadd running after the reloads"

########################################################################
# 3. A bad configuration on reload: the old one stays.
########################################################################

setconf wrr "$ALL"
CTL reload > /dev/null
CTL enable $S3 > /dev/null	# (whatever the reloads left)
cp "$TMP/loadd.conf" "$TMP/good.conf"
before=$(CTL -j show servers | jq -c '[.[] | [.server, .state, .weight]]')
mbefore=$(CTL -j show services | jq -c '[.[] | [.vip, .method, .servers]]')
rm -f "$TMP/stop"
loop 400 "$TMP/loop" &
LOOP=$!
BG="$BG $LOOP"
{ cat "$TMP/good.conf"; echo "frobnicate = 1"; } > "$TMP/bad1.conf"
sed 's/198\.18\.1\.13/198.18.1.300/' "$TMP/good.conf" > "$TMP/bad2.conf"
{ cat "$TMP/good.conf"; echo "check = tcp"; echo "check_interval = 1"; echo "check_timeout = 2"; } > "$TMP/bad3.conf"
{ echo "queue = 8671"; cat "$TMP/good.conf"; } > "$TMP/bad4.conf"
F=$TMP/loadd.conf
L=$LAB_BPF_LINES
for b in "bad1:$F:$((6 + L)): unknown key \"frobnicate\"" \
    "bad2:$F:$((4 + L)): servers: \"198.18.1.300\" is not an address" \
    "bad3:$F:$((8 + L)): check_timeout (2000 ms) is longer than check_interval (1000 ms)" \
    "bad4:the queue (8670 -> 8671) changes only with a restart"; do
	cp "$TMP/${b%%:*}.conf" "$TMP/loadd.conf"
	out=$(CTL reload 2>&1)
	rc=$?
	want="error: reload: ${b#*:}"
	case $out in
	"$want"*) r=0 ;;
	*) r=1 ;;
	esac
	check "[ $rc -eq 1 ] && [ $r -eq 0 ]" "reload with ${b%%:*}.conf: exit $rc, '$out'"
	sleep 0.5
done
cp "$TMP/bad1.conf" "$TMP/loadd.conf"
v=$(CTL -j reload)
rc=$?
check "[ $rc -eq 1 ] && echo '$v' | jq -e '.error | contains(\"unknown key\")' > /dev/null" \
    "reload -j with a bad configuration: exit $rc, $v"
n1=$(grep -c 'the running configuration stays' "$TMP/loadd.log")
kill -HUP "$LOADD_PID"
i=0
until [ "$(grep -c 'the running configuration stays' "$TMP/loadd.log")" -gt "$n1" ] ||
    [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
l=$(sed -n '/SIGHUP: reloading/,$p' "$TMP/loadd.log" | grep 'unknown key "frobnicate"' | tail -1)
check "[ $i -lt 50 ] && echo '$l' | grep -q 'loadd.conf:$((6 + L)): unknown key \"frobnicate\"; the running configuration stays'" \
    "SIGHUP with a bad configuration: logged '$l'"
# What is no configuration at all, put where loadd.conf was: refused
# by the root parent (which reads it) and answered at once; memory of
# both processes stays put (their peak, VmHWM, grows by less than 8 MB).
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
PKT=$(pgrep -P "$LOADD_PID" -x loadd)
h0=$(hwm "$LOADD_PID")
k0=$(hwm "${PKT:-$LOADD_PID}")
head -c 3000000 /dev/urandom > "$TMP/random.conf"
{ cat "$TMP/good.conf"; head -c 1048576 /dev/zero | tr '\0' x; echo; } > "$TMP/longline.conf"
for b in "random:$F:[0-9]*: " "zero:$F: a character device, not a regular file: refused" \
    "fifo:$F: a FIFO, not a regular file: refused" \
    "dir:$F: a directory, not a regular file: refused" \
    "huge:$F: larger than 4194304 bytes: refused" \
    "longline:$F:$((6 + L)): line too long (at most 4096 bytes)"; do
	rm -rf "$F"
	case ${b%%:*} in
	random|longline) cp "$TMP/${b%%:*}.conf" "$F" ;;
	zero) ln -s /dev/zero "$F" ;;
	fifo) mkfifo "$F" ;;
	dir) mkdir "$F" ;;
	huge) truncate -s 100M "$F" ;;
	esac
	out=$(timeout 40 "$LOADCTL" -s "$TMP/ctl.sock" reload 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && echo "$out" | grep -q "^error: reload: ${b#*:}.*; the running configuration stays$" &&
	    ! printf '%s' "$out" | LC_ALL=C grep -q '[^[:print:]]'; then
		ok "reload with ${b%%:*} as loadd.conf: exit $rc, '$(echo "$out" | cut -c1-150)'"
	else
		notok "reload with ${b%%:*} as loadd.conf: exit $rc, '$(printf '%s' "$out" | tr -c '[:print:]' '?' | cut -c1-200)'"
	fi
done
# SIGHUP with a FIFO there: the parent does not wait for a writer.
rm -rf "$F"
mkfifo "$F"
n1=$(grep -c 'the running configuration stays' "$TMP/loadd.log")
kill -HUP "$LOADD_PID"
i=0
until [ "$(grep -c 'the running configuration stays' "$TMP/loadd.log")" -gt "$n1" ] ||
    [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
l=$(grep 'the running configuration stays' "$TMP/loadd.log" | tail -1)
check "[ $i -lt 100 ] && echo '$l' | grep -q 'a FIFO, not a regular file: refused'" \
    "SIGHUP with a FIFO as loadd.conf: logged '$l'"
out=$(CTL show services 2>&1)
check "echo '$out' | grep -q '^default '" "loadd answers after the SIGHUP with a FIFO"
rm -f "$F"
cp "$TMP/bad1.conf" "$F"
h1=$(hwm "$LOADD_PID")
k1=$(hwm "${PKT:-$LOADD_PID}")
check "[ -n '$PKT' ] && [ $((h1 - h0)) -lt 8192 ] && [ $((k1 - k0)) -lt 8192 ]" \
    "peak memory after the garbage reloads: parent $h0 -> $h1 KB, packet process $k0 -> $k1 KB"
sleep 1
touch "$TMP/stop"
wait $LOOP
read ln lf < "$TMP/loop"
check "[ \${ln:-0} -gt 20 ] && [ \${lf:-1} -eq 0 ]" \
    "requests during the bad reloads: ${lf:-?} of ${ln:-?} failed"
after=$(CTL -j show servers | jq -c '[.[] | [.server, .state, .weight]]')
mafter=$(CTL -j show services | jq -c '[.[] | [.vip, .method, .servers]]')
check "[ '$before' = '$after' ] && [ '$mbefore' = '$mafter' ]" \
    "show servers and services unchanged: $after $mafter"
cp "$TMP/good.conf" "$TMP/loadd.conf"
out=$(CTL reload 2>&1)
check "[ '$out' = 'reload: OK' ] && kill -0 $LOADD_PID" "the good configuration again: '$out'"

########################################################################
# 4. The pid file; two loadd side by side.
########################################################################

# The main loadd gives s3 up (and its rules) to the second one: replies
# from one server port can belong to one loadd only.  With LAB_OFFLOAD=bpf
# the second one runs without offload (two.conf has no offload lines): the
# fast path's tc filter is one per interface (handle 0x10ad), so a second
# offloading loadd on the same interfaces would replace the first's.
setconf wrr "198.18.1.11, 198.18.1.12"
CTL reload > /dev/null
"$LOADD" -R -f "$TMP/loadd.conf" | ns_b sh -e
cat > "$TMP/two.conf" <<CONF
pidfile = $TMP/two.pid
ctlsocket = $TMP/two.sock
ctlsocket_mode = 0660
service = web2
ipaliasing = $VIP2
ports = 80
servers = 198.18.1.13
balancingmode = roundrobin
CONF
"$LOADD" -R -p 8680 -f "$TMP/two.conf" | ns_b sh -e
ip netns exec "lab$LAB-b" "$LOADD" -f "$TMP/two.conf" -p 8680 -v \
    > "$TMP/two.log" 2>&1 &
TWO_PID=$!
i=0
until ns_c curl -s -m 1 -o /dev/null "http://$VIP2/" || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ "${LAB_OFFLOAD:-}" = bpf ] &&
    echo "# LAB_OFFLOAD=bpf: the second loadd runs without offload (one fast path per interface)"
check "[ $i -lt 50 ]" "a second loadd (queue 8680, $VIP2, pid file, its own control socket) is up"
v=$(cat "$TMP/two.pid" 2>&1)
check "[ '$v' = '$TWO_PID' ]" "its pid file holds its pid ($v, started as $TWO_PID)"
m=$(stat -c %a "$TMP/two.sock" 2>&1)
check "[ '$m' = 660 ]" "ctlsocket = and ctlsocket_mode = 0660: $TMP/two.sock mode $m"

ip netns exec "lab$LAB-b" "$LOADD" -f "$TMP/two.conf" -p 8681 \
    -s "$TMP/three.sock" > "$TMP/three" 2>&1
rc=$?
check "[ $rc -eq 1 ] && grep -q 'already running as pid $TWO_PID' '$TMP/three'" \
    "a loadd with the same pid file exits $rc: $(head -1 "$TMP/three")"
ip netns exec "lab$LAB-b" "$LOADD" -d -f "$TMP/two.conf" -p 8682 \
    -s "$TMP/three.sock" > "$TMP/three" 2>&1
rc=$?
check "[ $rc -eq 1 ] && grep -q 'already running as pid $TWO_PID' '$TMP/three'" \
    "with -d too it exits $rc: $(head -1 "$TMP/three")"
v=$(cat "$TMP/two.pid" 2>&1)
check "[ '$v' = '$TWO_PID' ] && [ ! -e '$TMP/three.sock' ] && kill -0 $TWO_PID" \
    "the refused ones left the pid file ($v) alone and made no socket"

cat > "$TMP/dup.conf" <<CONF
ipaliasing = 198.18.100.3
ports = 80
servers = 198.18.1.11
CONF
ip netns exec "lab$LAB-b" "$LOADD" -f "$TMP/dup.conf" -p 8690 \
    -s "$TMP/ctl.sock" > "$TMP/dup" 2>&1
rc=$?
check "[ $rc -eq 1 ] && grep -q 'another loadd answers' '$TMP/dup'" \
    "a loadd on the same control socket exits $rc: $(grep 'another' "$TMP/dup" | head -1)"
check "CTL show services | grep -q '^default '" "the first loadd still answers on its socket"

ns_c wrk -t1 -c8 -d3s "http://$VIP/" > "$TMP/wrk1" 2>&1 &
W1=$!
ns_c wrk -t1 -c8 -d3s "http://$VIP2/" > "$TMP/wrk2" 2>&1 &
W2=$!
BG="$BG $W1 $W2"
wait $W1
wait $W2
r1=$(awk '/requests in/ { print $1 }' "$TMP/wrk1")
r2=$(awk '/requests in/ { print $1 }' "$TMP/wrk2")
check "[ \${r1:-0} -gt 100 ] && [ \${r2:-0} -gt 100 ] && ! grep -q -e 'Socket errors' -e 'Non-2xx' '$TMP/wrk1' '$TMP/wrk2'" \
    "both serve at the same time: wrk $VIP ${r1:-0} requests, $VIP2 ${r2:-0}, no errors$(grep -h -e 'Socket errors' -e 'Non-2xx' "$TMP/wrk1" "$TMP/wrk2" | tr -s ' ' | sed 's/^/; /' | tr -d '\n')"
hits 20 "$TMP/h1"
hits 20 "$TMP/h2" "$VIP2"
check "[ $(cnt s3 "$TMP/h1") -eq 0 ] && [ $(cnt fail "$TMP/h1") -eq 0 ] && [ $(cnt s3 "$TMP/h2") -eq 20 ]" \
    "$VIP: s1 $(cnt s1 "$TMP/h1"), s2 $(cnt s2 "$TMP/h1"), s3 $(cnt s3 "$TMP/h1"); $VIP2: s3 $(cnt s3 "$TMP/h2") of 20"
"$LOADCTL" -s "$TMP/two.sock" show services > "$TMP/o" 2>&1
v=$("$LOADCTL" -s "$TMP/two.sock" -j show services | jq -r '[.[] | "\(.service) \(.vip)"] | join(",")')
check "[ '$v' = 'web2 $VIP2:80/tcp' ] && [ \$(wc -l < '$TMP/o') -eq 2 ]" \
    "loadctl -s two.sock show services: only its own: $v"
v=$(CTL -j show services | jq -r '[.[] | "\(.service) \(.vip)"] | join(",")')
check "[ '$v' = 'default $VIP:80/tcp' ]" "loadctl -s ctl.sock show services: only its own: $v"
v=$("$LOADCTL" -s "$TMP/two.sock" -j show servers | jq -r '[.[] | "\(.server)=\(.flows_total)"] | join(",")')
check "[ '${v%=*}' = '$S3' ] && [ \${v#*=} -ge 20 ]" "the second loadd's servers: $v"
v=$(CTL -j show servers | jq -r '[.[] | select(.state == "up") | .server] | join(",")')
check "[ '$v' = '$S1,$S2' ]" "the first loadd's servers taking flows: $v"
n=$(ns_b iptables -t raw -S PREROUTING | grep -c -e '-j loadd-8670$' -e '-j loadd-8680$')
check "[ $n -eq 2 ]" "both chains hooked in raw PREROUTING ($n)"

kill "$TWO_PID"
i=0
while kill -0 "$TWO_PID" 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "! kill -0 $TWO_PID 2>/dev/null && [ ! -e '$TMP/two.pid' ] && [ ! -e '$TMP/two.sock' ]" \
    "SIGTERM stops the second loadd in $((i / 10)).$((i % 10)) s; its pid file and socket are gone"
wait "$TWO_PID" 2>/dev/null
TWO_PID=
check "kill -0 $LOADD_PID && ns_c curl -s -m 2 http://$VIP/ | grep -q '^s[12]$'" \
    "the first loadd goes on"

[ $fail -eq 0 ]
