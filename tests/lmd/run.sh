#!/bin/sh
# lmd as an operator meets it, and what it sends.  Everything runs on
# 127.0.0.1, with a receiver (report_recv, which decodes with
# common/report.c) standing in for loadd.
#
#   lmd -h, -n on good and bad files (file:line), key file refused when
#   others may read it, -k, -D without a running lmd; errors found after
#   parsing (key file, cgroup, pidfile, bind, check_user) name the
#   lmd.conf line too; then a live lmd: one authenticated report per
#   interval, an immediate report when the check changes, drain (-D) and
#   undrain (-U) in the reports, a receiver with another key
#   rejecting every report, an lmd started with 0-2 closed having
#   /dev/null on them, and an HTTP check against a stand-in server
#   (socat) and what lmd says of each answer.
#
#   As root only (skipped otherwise): what a command check gets -- the
#   uid and groups of check_user, a fixed environment, no descriptor of
#   lmd's beyond 0-2 and stdin on /dev/null; a check that leaves a daemon
#   behind does not keep lmd from starting again with the same pidfile;
#   a check_user that disappears while lmd runs fails the check with a
#   logged reason (in a mount namespace of the test's own, over a copy of
#   /etc/passwd).
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
L=$O/lmd
RX=$O/report_recv
T=$(mktemp -d)
# Command checks run as check_user (nobody) when the tests run as root:
# they must be able to reach the files they test for.
chmod 711 "$T"
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
bad "keyfile = /nonexistent$$/key" 2 \
    "keyfile: /nonexistent$$/key: No such file or directory" \
    "-n names the keyfile line of a key file that does not exist"
bad "cgroup = /nonexistent$$" 8 "cgroup /nonexistent$$: neither cpu.stat" \
    "-n names the cgroup line of a cgroup without CPU figures"
bad "check_user = nosuchuser$$" 8 "check_user: \"nosuchuser$$\": no such user" \
    "-n names the line of a check_user that does not exist"
bad "check_user = " 8 "check_user: no value" "-n refuses an empty check_user"
grep -v '^service' "$T/good.conf" > "$T/noservice.conf"
expect 1 'noservice.conf:[0-9]*: end of file: no service' \
    "-n reports a missing service" -- $L -n -f "$T/noservice.conf"
sed 's/^check_command.*//' "$T/good.conf" > "$T/nocmd.conf"
expect 1 'check = command needs check_command' \
    "-n reports a command check without a command" -- $L -n -f "$T/nocmd.conf"

cp "$T/key" "$T/openkey" && chmod 644 "$T/openkey"
sed "s|^keyfile *=.*|keyfile = $T/openkey|" "$T/good.conf" > "$T/open.conf"
expect 1 "open.conf:2: keyfile: $T/openkey: mode 0644 lets group or others read or write" \
    "a key file others can read is refused, naming file and mode" -- \
    $L -n -f "$T/open.conf"
{ cat "$T/key"; echo "2 abcd"; } > "$T/badkey" && chmod 600 "$T/badkey"
sed "s|^keyfile *=.*|keyfile = $T/badkey|" "$T/good.conf" > "$T/badkey.conf"
expect 1 "badkey.conf:2: keyfile: $T/badkey:2: key is not 64 hexadecimal digits" \
    "a malformed key line is refused with file:line" -- $L -n -f "$T/badkey.conf"
expect 0 '^7 [0-9a-f]\{64\}$' "-k 7 prints a new key line" -- $L -k 7
expect 1 'key id is 1..255' "-k 0 is refused" -- $L -k 0
expect 1 'no lmd is running' "-D without a running lmd" -- $L -D -f "$T/good.conf"

# Errors only starting lmd finds (-n does not create the pidfile or bind).
# timeout(1) only bounds a run that would wrongly start.
sed "s|^pidfile *=.*|pidfile = /nonexistent$$/lmd.pid|" "$T/good.conf" \
    > "$T/nopid.conf"
expect 1 "nopid.conf:5: pidfile /nonexistent$$/lmd.pid: No such file" \
    "a pidfile that cannot be created names its line" -- \
    timeout 10 $L -f "$T/nopid.conf"
expect 1 "nopid.conf:5: pidfile /nonexistent$$/lmd.pid: No such file" \
    "-D with a pidfile that cannot be opened names its line" -- \
    $L -D -f "$T/nopid.conf"
if [ "$(cat /proc/sys/net/ipv4/ip_nonlocal_bind 2>/dev/null)" = 1 ]; then
	echo "# skip: binding to 192.0.2.1 succeeds here (ip_nonlocal_bind)"
else
	# 192.0.2.1 (TEST-NET-1) is no address of this machine.
	sed "s|^service *=.*|service = 192.0.2.1:$SPORT|" "$T/good.conf" \
	    > "$T/nobind.conf"
	expect 1 "nobind.conf:3: reports cannot be sent from 192.0.2.1" \
	    "a service address that is not this machine's names the service line" \
	    -- timeout 10 $L -f "$T/nobind.conf"
	echo "source = 192.0.2.1" >> "$T/nobind.conf"
	sed "s|^service *=.*|service = 127.0.0.1:$SPORT|" "$T/nobind.conf" \
	    > "$T/nosrc.conf"
	expect 1 "nosrc.conf:10: reports cannot be sent from 192.0.2.1" \
	    "a source address that is not this machine's names the source line" \
	    -- timeout 10 $L -f "$T/nosrc.conf"
fi

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

# until CMD: polls CMD every 0.1 s, 10 s at most.
until_ok() {
	_u=0
	until eval "$1" || [ $_u -ge 100 ]; do sleep 0.1; _u=$((_u + 1)); done
}
$L -D -f "$T/good.conf" > "$T/out" 2>&1
check 'grep -q "asked to drain" "$T/out"' "-D signals the running lmd"
until_ok 'grep -q "drain=1" "$T/rx"'
check 'grep -q "drain=1" "$T/rx"' "-D: the next report says drain"
$L -U -f "$T/good.conf" > /dev/null 2>&1
until_ok 'tail -1 "$T/rx" | grep -q "drain=0"'
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

# lmd started with 0, 1 and 2 closed opens /dev/null on them first
# (common/proc.c): otherwise its pidfile and its sockets would take those
# numbers, and its log lines would go into them.  Seen in /proc.
if [ -d /proc/self/fd ]; then
	sed "s|^pidfile *=.*|pidfile = $T/lmdfd.pid|" "$T/good.conf" \
	    > "$T/fd.conf"
	$L -f "$T/fd.conf" <&- >&- 2>&- &
	LFD=$!
	PIDS="$PIDS $LFD"
	until_ok '[ -s "$T/lmdfd.pid" ]'
	fds=$(for n in 0 1 2; do
		readlink "/proc/$LFD/fd/$n" || echo closed
	done | tr '\n' ' ')
	check '[ "$fds" = "/dev/null /dev/null /dev/null " ]' \
	    "lmd started with 0, 1 and 2 closed has /dev/null on them: $fds"
	kill $LFD
	wait $LFD 2>/dev/null
else
	echo "# skip: lmd's descriptors 0-2 (no /proc/self/fd)"
fi

# waitfor CONDITION TENTHS: polls the shell condition every 0.1 s, at
# most TENTHS times; false when it never held.
waitfor() {
	_i=0
	while ! eval "$1"; do
		_i=$((_i + 1))
		[ "$_i" -ge "$2" ] && return 1
		sleep 0.1
	done
}

# An HTTP check.  socat answers each request with what $T/resp holds
# then, and lmd logs each change of the check with its reason:
#
#   lmd --GET /health--> socat 127.0.0.1:HPORT --> sh http.sh: $T/resp
HPORT=$((PORT + 2))
cat > "$T/http.sh" <<EOF2
# Reads the request to its blank line, then answers and closes.
while IFS= read -r line; do
	case \$line in ''|"\$(printf '\\r')") break;; esac
done
cat "$T/resp"
EOF2
printf 'HTTP/1.0 200 OK\r\n\r\n' > "$T/resp"
socat TCP-LISTEN:$HPORT,bind=127.0.0.1,reuseaddr,fork \
    EXEC:"sh $T/http.sh" 2>/dev/null &
PIDS="$PIDS $!"
sed -e "s|^check = .*|check = http|" \
    -e "s|^check_command *=.*|check_url = http://127.0.0.1:$HPORT/health|" \
    -e "s|^pidfile *=.*|pidfile = $T/http.pid|" "$T/good.conf" > "$T/http.conf"
$L -f "$T/http.conf" > "$T/http.log" 2>&1 &
LMD=$!
PIDS="$PIDS $LMD"
# http_says ANSWER LOG N WHAT: answers with ANSWER (printf format) until
# the log holds LOG N times, 10 s at most.  The answer is renamed into
# place, so that no request finds it half written.
http_says() {
	printf "$1" > "$T/resp.new" && mv "$T/resp.new" "$T/resp"
	H_LOG=$2 H_N=$3
	if waitfor '[ "$(grep -cF "$H_LOG" "$T/http.log")" -ge "$H_N" ]' 100
	then
		ok "$4"
	else
		notok "$4 (\"$2\" not $3 times in 10 s):"
		sed 's/^/#   /' "$T/http.log"
	fi
}
http_says 'HTTP/1.0 200 OK\r\n\r\n' 'check: service up (status 200)' 1 \
    "http check: 200 is up"
http_says 'HTTP/1.1 404 Not Found\r\n\r\n' \
    'check: service down (status 404, expected 200)' 1 \
    "http check: another status is down, and both are said"
http_says 'HTTP/2.0 200 OK\r\nServer: x\r\n\r\n' \
    'check: service up (status 200)' 2 "http check: any HTTP version"
http_says 'SSH-2.0-OpenSSH_9.6\r\n' \
    'check: service down (not an HTTP status line)' 1 \
    "http check: an answer that is not HTTP is down"
http_says 'HTTP/1.1 200 OK\r\n\r\n' 'check: service up (status 200)' 3 \
    "http check: up again"
http_says 'HTTP/1.1 200 OK' 'check: service down (no HTTP status line)' 1 \
    "http check: an answer that ends before its first line does is down"
kill $LMD
wait $LMD 2>/dev/null

# What a command check runs with (root only: it is about dropping root).
#
#   lmd (root, env LMDTEST_MARKER) --fork--> sh -c CHECK (check_user)
#                                              |-- env, id -u, id -G > $D
#                                              `-- setsid sh -c '... sleep'
#                                                   the "daemon": outlives
#                                                   lmd, its fds are read
#                                                   from /proc
if [ "$(id -u)" -ne 0 ]; then
	echo "# skip: command checks as check_user, their environment and" \
	    "descriptors (needs root)"
else
	D=$T/ck
	mkdir "$D"
	chown nobody "$D"
	cat > "$T/ck.conf" <<EOF2
loaddservers = 127.0.0.1:$PORT
keyfile = $T/key
service = 127.0.0.1:$SPORT
pidfile = $T/ck.pid
check = command
check_interval = 3600
check_timeout = 10
check_command = env > $D/env; id -u > $D/uid; id -G > $D/groups; [ -e $D/daemon.pid ] || setsid sh -c 'echo \$\$ > $D/daemon.tmp; mv $D/daemon.tmp $D/daemon.pid; exec sleep 600' &
EOF2
	LMDTEST_MARKER=$$ $L -f "$T/ck.conf" -v > "$T/ck1.log" 2>&1 &
	LMD=$!
	PIDS="$PIDS $LMD"
	if waitfor '[ -s "$D/daemon.pid" ] && grep -q "check: service" "$T/ck1.log" 2>/dev/null' 150
	then
		DAEMON=$(cat "$D/daemon.pid")
		PIDS="$PIDS $DAEMON"
	else
		DAEMON=
		echo "# no check ran within 15 s:"
		sed 's/^/#   /' "$T/ck1.log"
	fi
	check 'grep -q "check: service up (exit 0)" "$T/ck1.log"' \
	    "a command check runs and is up"
	check '[ "$(cat "$D/uid" 2>/dev/null)" = "$(id -u nobody)" ]' \
	    "the check runs as check_user (default nobody, uid $(id -u nobody)): $(cat "$D/uid" 2>/dev/null)"
	check '[ "$(cat "$D/groups" 2>/dev/null)" = "$(id -G nobody)" ]' \
	    "with check_user's groups only ($(id -G nobody)): $(cat "$D/groups" 2>/dev/null)"
	check '! grep -q LMDTEST_MARKER "$D/env" && [ -s "$D/env" ]' \
	    "the check does not see lmd's environment (LMDTEST_MARKER)"
	check 'grep -qx "PATH=/usr/sbin:/usr/bin:/sbin:/bin" "$D/env"' \
	    "the check's PATH is the fixed one"
	# Every variable the check saw that lmd had too is one lmd sets
	# (PATH, HOME) or the shell does (PWD).
	env | sed 's/=.*//' | sort -u > "$T/lmdenv"
	sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' "$D/env" | sort -u |
	    comm -12 - "$T/lmdenv" | grep -v -x -e PATH -e HOME -e PWD \
	    > "$T/leaked"
	check '[ ! -s "$T/leaked" ]' \
	    "no other variable of lmd's reaches the check: $(tr '\n' ' ' < "$T/leaked")"
	fds=$(ls "/proc/$DAEMON/fd" 2>/dev/null | sort -n | tr '\n' ' ')
	check '[ -n "$DAEMON" ] && [ "$fds" = "0 1 2 " ]' \
	    "what the check leaves behind has descriptors 0-2 only: $fds"
	check '[ "$(readlink "/proc/$DAEMON/fd/0")" = /dev/null ]' \
	    "and stdin on /dev/null"
	# SIGKILL, as after a crash or systemd's last resort: the pidfile
	# stays (a clean stop removes it, and a new one would have a new
	# lock), and only its lock says whether an lmd runs.
	kill -KILL $LMD
	wait $LMD 2>/dev/null
	check '[ -n "$DAEMON" ] && kill -0 "$DAEMON" && [ -e "$T/ck.pid" ]' \
	    "the daemon the check left behind outlives a killed lmd, as does the pidfile"
	$L -f "$T/ck.conf" -v > "$T/ck2.log" 2>&1 &
	LMD=$!
	PIDS="$PIDS $LMD"
	waitfor 'grep -q -e "started:" -e "already running" "$T/ck2.log" 2>/dev/null ||
	    ! kill -0 $LMD 2>/dev/null' 150
	check 'kill -0 $LMD 2>/dev/null && grep -q "started:" "$T/ck2.log"' \
	    "lmd starts again with the same pidfile while that daemon lives"
	kill $LMD 2>/dev/null
	wait $LMD 2>/dev/null
	[ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null

	# check_user = root is an explicit choice.
	sed -e "s|^pidfile *=.*|pidfile = $T/root.pid|" \
	    -e "s|^check_command *=.*|check_command = id -u > $D/rootuid|" \
	    "$T/ck.conf" > "$T/root.conf"
	echo "check_user = root" >> "$T/root.conf"
	$L -f "$T/root.conf" > "$T/root.log" 2>&1 &
	LMD=$!
	PIDS="$PIDS $LMD"
	waitfor '[ -s "$D/rootuid" ]' 150
	check '[ "$(cat "$D/rootuid" 2>/dev/null)" = 0 ]' \
	    "check_user = root runs the check as root"
	kill $LMD
	wait $LMD 2>/dev/null

	# A check_user that goes away while lmd runs: in a mount namespace of
	# our own, a copy of /etc/passwd without it is mounted over the real
	# one after lmd has started.  "daemon", not "nobody": nss-systemd
	# makes up a nobody of its own.
	grep -v '^daemon:' /etc/passwd > "$T/passwd"
	sed -e "s|^pidfile *=.*|pidfile = $T/gone.pid|" \
	    -e "s|^check_command *=.*|check_command = true|" \
	    -e "s|^check_interval *=.*|check_interval = 0.1|" \
	    "$T/ck.conf" > "$T/gone.conf"
	echo "check_user = daemon" >> "$T/gone.conf"
	unshare -m sh -c '
		L=$1 T=$2
		$L -f "$T/gone.conf" > "$T/gone.log" 2>&1 &
		echo $! > "$T/gone.lmd"
		i=0
		while [ $i -lt 150 ] && ! grep -q "service up" "$T/gone.log" 2>/dev/null; do
			sleep 0.1; i=$((i + 1))
		done
		mount --bind "$T/passwd" /etc/passwd
		i=0
		while [ $i -lt 150 ] && ! grep -q "service down" "$T/gone.log" 2>/dev/null; do
			sleep 0.1; i=$((i + 1))
		done
		kill $(cat "$T/gone.lmd")
		wait' sh "$L" "$T"
	check 'grep -q "gone.conf:9: check_user \"daemon\": no such user; command checks fail" "$T/gone.log"' \
	    "a check_user removed while lmd runs is logged with its line"
	check 'grep -q "check: service down (check_user \"daemon\": no such user)" "$T/gone.log"' \
	    "and the check fails"
	[ -s "$T/gone.log" ] && grep -q "service down" "$T/gone.log" ||
	    sed 's/^/#   /' "$T/gone.log"
fi

tap_end
[ $fail -eq 0 ]
