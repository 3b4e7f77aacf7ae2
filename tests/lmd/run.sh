#!/bin/sh
# lmd as an operator meets it, and what it sends.  No root needed:
# everything runs on 127.0.0.1, with a receiver (report_recv, which
# decodes with common/report.c) standing in for loadd.
#
#   lmd -h, -n on good and bad files (file:line), key file refused when
#   others may read it, -k, -D without a running lmd; then a live lmd:
#   one authenticated report per interval, an immediate report when the
#   check changes, drain (-D) and undrain (-U) in the reports, and a
#   receiver with another key rejecting every report.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
L=$O/lmd
RX=$O/report_recv
T=$(mktemp -d)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. tests/lib/tap.sh

expect() {
	want=$1 pat=$2 what=$3
	shift 4
	"$@" > "$T/out" 2>&1
	got=$?
	if [ "$got" -eq "$want" ] && grep -q -e "$pat" "$T/out"; then
		ok "$what"
	else
		notok "$what (exit $got, wanted $want and /$pat/):"
		sed 's/^/    /' "$T/out"
	fi
}

# A port for this run, so that parallel runs do not meet.
PORT=$((20000 + $$ % 20000))
SPORT=$((PORT + 1))

$L -k 1 > "$T/key" && chmod 600 "$T/key"
$L -k 1 > "$T/otherkey" && chmod 600 "$T/otherkey"
cat > "$T/good.conf" <<EOF2
loaddservers = 127.0.0.1:$PORT
keyfile = $T/key
service = 127.0.0.1:$SPORT
interval = 0.5
pidfile = $T/lmd.pid
check = command
check_command = test -e $T/up
check_interval = 0.1
check_timeout = 1
EOF2

expect 0 'usage: lmd' "-h prints usage" -- $L -h
expect 1 'usage' "an unknown flag prints usage, exit 1" -- $L -Z
expect 0 '^configuration OK$' "-n on a good file" -- $L -n -f "$T/good.conf"
sed "s|^keyfile *=.*|keyfile = $T/key|" etc/lmd.conf > "$T/sample.conf"
expect 0 '^configuration OK$' "-n on the sample etc/lmd.conf" -- \
    $L -n -f "$T/sample.conf"

bad() {
	# bad NAME LINE PATTERN DESCRIPTION: good.conf with line LINE
	# replaced by the rest of stdin.
	printf '%s\n' "$1" > "$T/line"
	awk -v n="$2" -v f="$T/line" 'NR == n { getline l < f; print l; next }
	    { print }' "$T/good.conf" > "$T/bad.conf"
	expect 1 "bad.conf:$2: $3" "$4" -- $L -n -f "$T/bad.conf"
}
bad "interval = 0.05" 4 'interval: "0.05" is not' "-n refuses an interval below 0.1 s"
bad "interval = 1.2345" 4 'interval' "-n refuses more than three decimals"
bad "loaddservers = 10.0.0.300" 1 'loaddservers: "10.0.0.300" is not' \
    "-n names file:line of a bad balancer address"
bad "service = 127.0.0.1" 3 'service: "127.0.0.1" is not address:port' \
    "-n wants the service's port"
bad "frobnicate = 1" 5 'unknown key "frobnicate"' "-n names an unknown key"
bad "check = ping" 6 'check: "ping" is not none, http, tcp or command' \
    "-n names an unknown check"
bad "check_url = http://localhost/" 7 'check_url' \
    "-n refuses a check URL with a name instead of an address"
bad "keyid = 9" 8 'keyid: no key 9' "-n refuses a key id missing from the key file"
grep -v '^service' "$T/good.conf" > "$T/noservice.conf"
expect 1 'noservice.conf:[0-9]*: end of file: no service' \
    "-n reports a missing service" -- $L -n -f "$T/noservice.conf"
sed 's/^check_command.*//' "$T/good.conf" > "$T/nocmd.conf"
expect 1 'check = command needs check_command' \
    "-n reports a command check without a command" -- $L -n -f "$T/nocmd.conf"

cp "$T/key" "$T/openkey" && chmod 644 "$T/openkey"
sed "s|^keyfile *=.*|keyfile = $T/openkey|" "$T/good.conf" > "$T/open.conf"
expect 1 "openkey: mode 0644 lets group or others read or write" \
    "a key file others can read is refused, naming file and mode" -- \
    $L -n -f "$T/open.conf"
{ cat "$T/key"; echo "2 abcd"; } > "$T/badkey" && chmod 600 "$T/badkey"
sed "s|^keyfile *=.*|keyfile = $T/badkey|" "$T/good.conf" > "$T/badkey.conf"
expect 1 "badkey:2: key is not 64 hexadecimal digits" \
    "a malformed key line is refused with file:line" -- $L -n -f "$T/badkey.conf"
expect 0 '^7 [0-9a-f]\{64\}$' "-k 7 prints a new key line" -- $L -k 7
expect 1 'key id is 1..255' "-k 0 is refused" -- $L -k 0
expect 1 'no lmd is running' "-D without a running lmd" -- $L -D -f "$T/good.conf"

# Key lines may name the servers a key speaks for (loadd.conf's syntax).
{ cat "$T/key" | sed 's/$/ 127.0.0.1 10.0.0.0\/8 2001:db8::\/32/'; } \
    > "$T/boundkey" && chmod 600 "$T/boundkey"
sed "s|^keyfile *=.*|keyfile = $T/boundkey|" "$T/good.conf" > "$T/bound.conf"
expect 0 '^configuration OK$' "-n takes a key line that names servers" -- \
    $L -n -f "$T/bound.conf"
{ cat "$T/key" | sed 's/$/ 10.0.1.11:80/'; } > "$T/portkey" &&
    chmod 600 "$T/portkey"
sed "s|^keyfile *=.*|keyfile = $T/portkey|" "$T/good.conf" > "$T/port.conf"
expect 1 'portkey:1: a server is an address or a network' \
    "-n refuses a key's server with a port, with file:line" -- \
    $L -n -f "$T/port.conf"
# A key bound to other servers than lmd's own: a warning at start.
{ cat "$T/key" | sed 's/$/ 10.9.9.9/'; } > "$T/otherkeyb" &&
    chmod 600 "$T/otherkeyb"
sed -e "s|^keyfile *=.*|keyfile = $T/otherkeyb|" \
    -e "s|^pidfile *=.*|pidfile = $T/lmdw.pid|" "$T/good.conf" > "$T/w.conf"
$L -f "$T/w.conf" -v > "$T/w.log" 2>&1 &
LW=$!
PIDS="$PIDS $LW"
i=0
while [ $i -lt 100 ] && ! grep -q "bound to other servers" "$T/w.log"; do
	sleep 0.05; i=$((i + 1))
done
kill $LW 2>/dev/null
wait $LW 2>/dev/null
check 'grep -q "otherkeyb: key 1 is bound to other servers than 127.0.0.1" "$T/w.log"' \
    "lmd warns when its key may not speak for its own address"

# The live part.  report_recv prints one line per datagram.
field() { sed -n "s/\(.* \)*$1=\([^ ]*\).*/\2/p"; }
$RX -k "$T/key" -l 127.0.0.1:$PORT -t 8 > "$T/rx" 2>&1 &
RXP=$!
PIDS="$PIDS $RXP"
sleep 0.3
$L -f "$T/good.conf" -v > "$T/lmd.log" 2>&1 &
LMD=$!
PIDS="$PIDS $LMD"
sleep 2.2
n=$(grep -c 'result=ok' "$T/rx")
check '[ "$n" -ge 4 ] && [ "$n" -le 6 ]' \
    "one report per 0.5 s interval ($n in 2.2 s)"
check '! grep -v -e "result=ok" -e listening "$T/rx" | grep -q .' \
    "every datagram is well formed and authenticated"
check 'grep -q "server=127.0.0.1:$SPORT/tcp conn_port=$SPORT" "$T/rx"' \
    "the report names the service address and port"
check 'field seq < "$T/rx" | LC_ALL=C sort -c -u -n' \
    "sequence numbers increase"
# They follow the clock (2^20 a millisecond), not one a report: loadd
# refuses numbers from the future, and a forged one near that limit is
# overtaken.  4..6 reports 0.5 s apart span well over 1000 ms.
s0=$(field seq < "$T/rx" | head -1)
s1=$(field seq < "$T/rx" | tail -1)
check '[ $(( (${s1:-0} >> 20) - (${s0:-0} >> 20) )) -ge 1000 ]' \
    "sequence numbers follow the clock ($(( (${s1:-0} >> 20) - (${s0:-0} >> 20) )) ms from the first to the last)"
check 'field check < "$T/rx" | sort -u | grep -qx down' \
    "the check is down while its command fails"
# The check turns up just after an interval report: a report follows at
# once, not at the next interval.
before=$(grep -c 'result=ok' "$T/rx")
i=0
while [ $i -lt 50 ] && [ "$(grep -c 'result=ok' "$T/rx")" -eq "$before" ]; do
	sleep 0.02; i=$((i + 1))
done
touch "$T/up"
i=0
while [ $i -lt 40 ] && ! grep -q 'check=up' "$T/rx"; do
	sleep 0.02; i=$((i + 1))
done
check 'grep -q "check=up" "$T/rx"' "the check coming up is reported"
up_ms=$(grep -m1 'check=up' "$T/rx" | field ms)
prev_ms=$(grep 'result=ok' "$T/rx" | grep -B1 -m1 'check=up' | head -1 | field ms)
gap=$((up_ms - prev_ms))
check '[ "$gap" -gt 0 ] && [ "$gap" -lt 400 ]' \
    "reported immediately on the change (${gap} ms after the previous report, interval 500)"
check 'grep -q "check: service up (exit 0)" "$T/lmd.log"' "lmd logs the change"

$L -D -f "$T/good.conf" > "$T/out" 2>&1
check 'grep -q "asked to drain" "$T/out"' "-D signals the running lmd"
sleep 0.3
check 'grep -q "drain=1" "$T/rx"' "-D: the next report says drain"
$L -U -f "$T/good.conf" > /dev/null 2>&1
sleep 0.3
check 'tail -1 "$T/rx" | grep -q "drain=0"' "-U: drain ends"
kill $LMD
wait $LMD 2>/dev/null
check 'grep -q "stopping:" "$T/lmd.log"' "lmd stops on SIGTERM"
check '[ ! -e "$T/lmd.pid" ]' "and removes its pidfile"

kill $RXP
wait $RXP 2>/dev/null

# A receiver with another key (same id): every report is a bad MAC.
$RX -k "$T/otherkey" -l 127.0.0.1:$PORT -t 2 > "$T/rx2" 2>&1 &
PIDS="$PIDS $!"
sleep 0.3
$L -f "$T/good.conf" > /dev/null 2>&1 &
LMD=$!
PIDS="$PIDS $LMD"
sleep 1.2
kill $LMD
check 'grep -q "result=\"bad MAC\"" "$T/rx2" && ! grep -q result=ok "$T/rx2"' \
    "a receiver holding another key rejects every report (bad MAC)"

tap_end
[ $fail -eq 0 ]
