#!/bin/sh
# The command line as an operator meets it: -h, -n, -R, -b, -p, replay
# flags, and the sample files kept true to the code; configuration files
# that are not one (devices, a FIFO, a directory, huge files, garbage)
# refused in bounded time, output and memory; loadctl's exit statuses
# against stand-in control sockets (socat), and loadctl started with
# stderr closed writing nothing back on the socket.  No root needed.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
L=$O/loadd
T=$(mktemp -d)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. tests/lib/tap.sh

# expect STATUS PATTERN DESCRIPTION -- COMMAND...: the exit status and a
# pattern in stdout+stderr.
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

cat > "$T/good.conf" <<EOF2
ipaliasing = 192.0.2.10
ports = 80
servers = 10.0.1.11, 10.0.1.12
EOF2
printf 'ipaliasing = 192.0.2.10\nports = 80\nservers = 10.0.1.11\nfoo = 1\n' \
    > "$T/unknown.conf"
printf 'ipaliasing = 192.0.2.300\nports = 80\nservers = 10.0.1.11\n' \
    > "$T/badaddr.conf"
printf 'ports = 80\nservers = 10.0.1.11\n' > "$T/novip.conf"

expect 0 'roundrobin' "-h prints usage and the methods" -- $L -h
expect 1 'usage' "an unknown flag prints usage, exit 1" -- $L -Z
expect 0 '^configuration OK$' "-n on a good file" -- $L -n -f "$T/good.conf"
expect 0 '^configuration OK$' "-n on the sample etc/loadd.conf" -- \
    $L -n -f etc/loadd.conf
sed -E 's/^#(service|ipaliasing|vip|protocol|ports|servers) =/\1 =/' \
    etc/loadd.conf > "$T/sample-all.conf"
expect 0 '^configuration OK$' "-n on the sample with its service blocks uncommented" -- \
    $L -n -f "$T/sample-all.conf"
expect 0 '^ip6tables-restore --noflush' \
    "-R prints ip6tables rules for an IPv6 service" -- $L -R -f "$T/sample-all.conf"
expect 0 '^-A loadd-8670 -d 2001:db8::10 -j NFQUEUE' \
    "-R queues the IPv6 virtual address" -- $L -R -f "$T/sample-all.conf"
expect 0 '^-A loadd-8670 -s 10.0.1.21 -p udp --sport 53 -j NFQUEUE' \
    "-R prints UDP rules for a UDP service" -- $L -R -f "$T/sample-all.conf"
expect 1 "unknown.conf:4: unknown key \"foo\"" "-n names file:line of an unknown key" -- \
    $L -n -f "$T/unknown.conf"
expect 1 "badaddr.conf:1: ipaliasing" "-n names file:line of a bad address" -- \
    $L -n -f "$T/badaddr.conf"
expect 1 "novip.conf:2: end of file: no virtual address" "-n reports a missing VIP" -- \
    $L -n -f "$T/novip.conf"
expect 1 "No such file" "a missing file is an error" -- $L -n -f "$T/nonexistent"
expect 1 'unknown balancing method "bogus"' "-b with an unknown method" -- \
    $L -n -b bogus -f "$T/good.conf"
expect 0 '^configuration OK$' "-b roundrobbin, the original spelling" -- \
    $L -n -b roundrobbin -f "$T/good.conf"
expect 1 'not a port' "-p out of range" -- $L -n -p 70000 -f "$T/good.conf"
expect 0 'NFQUEUE --queue-num 9000' "-p selects the queue in -R" -- \
    $L -R -p 9000 -f "$T/good.conf"
expect 1 'needs both -r' "-r without -w" -- $L -r x.pcap -f "$T/good.conf"
expect 0 'configuration OK' "-t is accepted" -- $L -t -n -f "$T/good.conf"

# -R for the sample configuration is what ipfw-rules/loadd.iptables shows.
$L -R -f etc/loadd.conf iptables | grep -v '^#' > "$T/rules"
if grep -v '^#' ipfw-rules/loadd.iptables | cmp -s - "$T/rules"; then
	ok "ipfw-rules/loadd.iptables matches loadd -R for etc/loadd.conf"
else
	notok "ipfw-rules/loadd.iptables differs from loadd -R for etc/loadd.conf"
fi
if $L -R -f etc/loadd.conf ipfw | grep -v '^#' > "$T/ipfw" &&
    grep -v '^#' ipfw-rules/loadd.ipfw | cmp -s - "$T/ipfw"; then
	ok "ipfw-rules/loadd.ipfw matches loadd -R ipfw for etc/loadd.conf"
else
	notok "ipfw-rules/loadd.ipfw differs from loadd -R ipfw for etc/loadd.conf"
fi
expect 0 '^ipfw -q set swap 30 31$' "-R ipfw swaps its rules in atomically" -- \
    $L -R -f etc/loadd.conf ipfw
expect 0 'divert(4) carries IPv4 only' "-R ipfw says an IPv6 service cannot be diverted" -- \
    $L -R -f "$T/sample-all.conf" ipfw
expect 1 'rules for iptables or ipfw' "-R with an unknown firewall" -- \
    $L -R -f etc/loadd.conf pf
if $L -R -f etc/loadd.conf ipfw | sh -n; then
	ok "-R ipfw output is valid sh"
else
	notok "-R ipfw output is valid sh"
fi

# -R prints commands sh can parse.
if $L -R -f etc/loadd.conf | sh -n; then
	ok "-R output is valid sh"
else
	notok "-R output is valid sh"
fi

# Files that are not a configuration: each refused with one clear
# message, within 20 s, in at most 22 lines (20 errors and "giving up"
# at most), and in little more memory than a one-line file takes.
# /usr/bin/time measures the peak resident size.
peak() {
	/usr/bin/time -o "$T/rss" -f %M "$@" > "$T/out" 2>&1
	_rc=$?
	tail -1 "$T/rss"
	return $_rc
}
# bounded PROG STATUS PATTERN DESCRIPTION FILE
bounded() {
	_base=$(peak "$1" -n -f "$T/oneline.conf")
	_kb=$(peak timeout 20 "$1" -n -f "$5")
	_got=$?
	_n=$(wc -l < "$T/out")
	if [ "$_got" -eq "$2" ] && grep -q -e "$3" "$T/out" &&
	    [ "$_n" -le 22 ] && [ $((_kb - _base)) -lt 16384 ]; then
		ok "$4 (exit $_got, $_n lines, $_kb KB peak, $_base KB for a one-line file)"
	else
		notok "$4 (exit $_got, wanted $2 and /$3/; $_n lines; $_kb KB peak, $_base KB for a one-line file):"
		head -5 "$T/out" | cut -c1-200 | sed 's/^/    /'
	fi
}
if [ -x /usr/bin/time ]; then
	echo 'foo' > "$T/oneline.conf"
	mkfifo "$T/fifo"
	truncate -s 100M "$T/huge.conf"
	{ cat "$T/good.conf"; head -c 1048576 /dev/zero | tr '\0' x; echo;
	    echo 'servers2 = 10.0.1.13'; } > "$T/longline.conf"
	awk 'BEGIN { for (i = 0; i < 5000; i++) print "not a key value line" }' \
	    > "$T/manybad.conf"
	head -c 3000000 /dev/urandom > "$T/random.conf"
	printf 'ipaliasing = 192.0.2.10\nports = 8\0000\nservers = 10.0.1.11\n' \
	    > "$T/nul.conf"
	for p in "$L" "$O/lmd"; do
		n=${p##*/}
		bounded "$p" 1 '^/dev/zero: a character device, not a regular file: refused$' \
		    "$n -n -f /dev/zero" /dev/zero
		bounded "$p" 1 '^/dev/urandom: a character device, not a regular file: refused$' \
		    "$n -n -f /dev/urandom" /dev/urandom
		bounded "$p" 1 "^$T/fifo: a FIFO, not a regular file: refused\$" \
		    "$n -n -f FIFO (nobody writes to it)" "$T/fifo"
		bounded "$p" 1 "^$T: a directory, not a regular file: refused\$" \
		    "$n -n -f DIRECTORY" "$T"
		bounded "$p" 1 'huge.conf: larger than 4194304 bytes: refused$' \
		    "$n -n -f a 100 MB file" "$T/huge.conf"
		bounded "$p" 1 'longline.conf:4: line too long (at most 4096 bytes)$' \
		    "$n -n -f a file with a 1 MB line" "$T/longline.conf"
		bounded "$p" 1 'manybad.conf:21: more than 20 errors, giving up$' \
		    "$n -n -f 5000 bad lines" "$T/manybad.conf"
		bounded "$p" 1 'random.conf:[0-9]*: more than 20 errors, giving up$' \
		    "$n -n -f 3 MB of random bytes" "$T/random.conf"
		check '! LC_ALL=C grep -q "[^[:print:]]" "$T/out"' \
		    "$n -n -f 3 MB of random bytes prints no raw byte of the file"
		bounded "$p" 1 'nul.conf:2: NUL byte in line$' \
		    "$n -n -f a NUL byte in a line" "$T/nul.conf"
	done
else
	notok "no /usr/bin/time to measure memory (tests/deps.sh installs package time)"
fi

# loadctl: one exit status per kind of failure, each with a message on
# stderr (loadctl(8), EXIT STATUS).  Stand-ins for loadd's control
# socket: one that refuses as loadd refuses a client over its limit
# (the refusal, then close, without reading the command), one that
# answers an error, one that answers.
C=$O/loadctl
printf 'error: too many clients\n' > "$T/refusal"
printf '#!/bin/sh\nread l\nprintf "error: unknown command \\"%%s\\"\\n" "$l"\n' \
    > "$T/err.sh"
printf '#!/bin/sh\nread l\nprintf "got %%s\\n" "$l"\n' > "$T/ok.sh"
socat -t 0 -U "UNIX-LISTEN:$T/busy.sock,fork" "OPEN:$T/refusal,rdonly" \
    2>/dev/null &
PIDS="$PIDS $!"
for s in err ok; do
	socat "UNIX-LISTEN:$T/$s.sock,fork" EXEC:"sh $T/$s.sh" 2>/dev/null &
	PIDS="$PIDS $!"
done
i=0
until [ -S "$T/busy.sock" ] && [ -S "$T/err.sock" ] && [ -S "$T/ok.sock" ] ||
    [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "[ $i -lt 100 ]" "stand-in control sockets listen (waited $i of 100 tenths of a second)"
# matches FILE PATTERN: the pattern is in the file; "" for an empty file.
matches() {
	if [ -z "$2" ]; then
		[ ! -s "$1" ]
	else
		grep -q -e "$2" "$1"
	fi
}
# ctl STATUS STDOUT-PATTERN STDERR-PATTERN DESCRIPTION -- loadctl args
ctl() {
	want=$1 opat=$2 epat=$3 what=$4
	shift 5
	"$C" "$@" > "$T/cout" 2> "$T/cerr"
	got=$?
	if [ "$got" -eq "$want" ] && matches "$T/cout" "$opat" &&
	    matches "$T/cerr" "$epat"; then
		ok "$what"
	else
		notok "$what (exit $got, wanted $want, stdout /$opat/, stderr /$epat/):"
		sed 's/^/    out: /' "$T/cout" | head -3
		sed 's/^/    err: /' "$T/cerr" | head -3
	fi
}
ctl 0 '^got show stats$' '' "loadctl: an answer, exit 0" -- \
    -s "$T/ok.sock" show stats
ctl 0 '^got json show stats$' '' "loadctl -j: an answer, exit 0" -- \
    -s "$T/ok.sock" -j show stats
ctl 1 '' '^error: unknown command "foo"$' \
    "loadctl: an error answered, on stderr, exit 1" -- -s "$T/err.sock" foo
ctl 1 '^error: unknown command "json foo"$' 'answered with an error' \
    "loadctl -j: an error answered stays on stdout for the program, a word on stderr, exit 1" -- \
    -s "$T/err.sock" -j foo
ctl 2 '' 'none.sock (is loadd running? -s names its socket): No such file' \
    "loadctl: no socket, exit 2" -- -s "$T/none.sock" show stats
: > "$T/plain"
ctl 2 '' 'plain (is loadd running? -s names its socket): Connection refused' \
    "loadctl: a file that is no socket, exit 2" -- -s "$T/plain" show stats
ctl 3 '' 'busy.sock: loadd refused the connection: too many clients; try again$' \
    "loadctl: refused as one client too many, exit 3" -- \
    -s "$T/busy.sock" show stats
ctl 3 '' 'too many clients' "loadctl -j: refused, exit 3" -- \
    -s "$T/busy.sock" -j show stats
ctl 64 '' '^usage: loadctl' "loadctl without a command: usage, exit 64" --
ctl 64 '' '^usage: loadctl' "loadctl -Z: usage, exit 64" -- -Z
ctl 64 '' 'command longer than 1024 bytes' \
    "loadctl with a 2000-byte argument: exit 64" -- \
    -s "$T/ok.sock" "$(head -c 2000 /dev/zero | tr '\0' a)"
ctl 64 '' 'socket path too long' "loadctl -s with a path too long: exit 64" -- \
    -s "$T/$(head -c 200 /dev/zero | tr '\0' a)" show stats
ctl 0 'usage: loadctl' '' "loadctl -h: usage on stdout, exit 0" -- -h
# Whether loadd closes before or after the command is written, a refusal
# is a refusal: never SIGPIPE (exit 141) and no message.
n=0
for i in $(seq 1 20); do
	"$C" -s "$T/busy.sock" show stats > /dev/null 2> "$T/cerr"
	rc=$?
	[ $rc -eq 3 ] && grep -q 'too many clients' "$T/cerr" && n=$((n + 1))
done
check "[ $n -eq 20 ]" "loadctl refused 20 times: exit 3 with a message $n times"
# The command written after loadd has closed (strace holds the write
# back; the outcome does not depend on how long): EPIPE, handled.
if strace -o /dev/null -e trace=none true 2>/dev/null; then
	# (LeakSanitizer cannot run under ptrace: off for this one.)
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 strace -o /dev/null \
	    -e inject=sendto:delay_enter=1000000 \
	    "$C" -s "$T/busy.sock" show stats > /dev/null 2> "$T/cerr"
	rc=$?
	check "[ $rc -eq 3 ] && grep -q 'too many clients' '$T/cerr'" \
	    "loadctl writing after loadd closed: exit $rc (not SIGPIPE), '$(tail -1 "$T/cerr")'"
else
	echo "# strace cannot run here: the write-after-close case is not steered"
fi
# etc/loadd-alive.sh: a loadd that refuses one client too many runs.
check "sh etc/loadd-alive.sh -l '$C' -s '$T/busy.sock'" \
    "loadd-alive.sh: a loadd that refuses a client (busy) is alive"
check "sh etc/loadd-alive.sh -l '$C' -s '$T/ok.sock'" \
    "loadd-alive.sh: a loadd that answers is alive"
check "! sh etc/loadd-alive.sh -l '$C' -s '$T/none.sock'" \
    "loadd-alive.sh: no loadd on the socket is not alive"
check "! sh etc/loadd-alive.sh -l '$C' -s '$T/err.sock'" \
    "loadd-alive.sh: a socket that answers 'show stats' with an error is not alive"

# loadctl started with stderr closed: its socket would take 2, and an
# error answer, printed on stderr, would go back to loadd as if it were
# more of the command.  loadctl opens /dev/null on 2 first
# (common/proc.c).  The stand-in sends its answer, shuts its side and
# keeps all that comes back until loadctl closes.
printf 'error: unknown command "foo" (long enough to be classified)\n' \
    > "$T/answer"
socat -t 10 "UNIX-LISTEN:$T/back.sock" \
    "OPEN:$T/answer,rdonly!!CREATE:$T/received" 2>/dev/null &
SP=$!
PIDS="$PIDS $SP"
i=0
until [ -S "$T/back.sock" ] || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
rc=0
"$C" -s "$T/back.sock" foo > /dev/null 2>&- || rc=$?
# socat ends when loadctl has closed (or after 10 s).
wait $SP
check '[ $rc -eq 1 ] && [ "$(cat "$T/received")" = foo ]' \
    "loadctl with stderr closed: exit $rc, only the command reached the socket: '$(tr '\n' ' ' < "$T/received")'"

# One default control socket (common/ctlsocket.h): loadd -h and loadctl
# -h name the same, and the pages and the sample loadd.conf name it too.
dflt() { sed -n 's/.*-s socket.*default \([^)]*\)).*/\1/p'; }
sl=$($L -h 2>&1 | dflt)
sc=$($C -h 2>&1 | dflt)
check '[ -n "$sl" ] && [ "$sl" = "$sc" ]' \
    "loadd -h and loadctl -h name one default control socket ($sl, $sc)"
check 'grep -qx "\.Pa $sl ," loadctl/loadctl.8 &&
    grep -qx "\.Pa $sl \." loadd/loadd.conf.5 &&
    grep -qx "\.It Pa $sl" loadd/loadd.8 &&
    grep -qx "#ctlsocket = $sl" etc/loadd.conf' \
    "loadctl(8), loadd.conf(5), loadd(8) and etc/loadd.conf name $sl"

# make install honours PREFIX and DESTDIR, and installs what it says.
if make -s install O="$O" DESTDIR="$T/inst" PREFIX=/opt/loadd \
    > "$T/install.log" 2>&1; then
	missing=
	for f in sbin/loadd sbin/lmd sbin/loadctl share/man/man8/loadd.8 \
	    share/man/man8/lmd.8 share/man/man8/loadctl.8 \
	    share/man/man5/loadd.conf.5 share/man/man5/lmd.conf.5 \
	    etc/loadd.conf.sample etc/lmd.conf.sample; do
		[ -f "$T/inst/opt/loadd/$f" ] || missing="$missing $f"
	done
	if [ "$(uname -s)" = Linux ] &&
	    ! grep -q '^ExecStart=/opt/loadd/sbin/loadd -f /opt/loadd/etc/loadd.conf$' \
	    "$T/inst/opt/loadd/lib/systemd/system/loadd.service"; then
		missing="$missing loadd.service(paths)"
	fi
	check '[ -z "$missing" ]' "make install DESTDIR=... PREFIX=/opt/loadd installs everything${missing:+; missing:$missing}"
else
	notok "make install DESTDIR=... PREFIX=/opt/loadd: $(tail -3 "$T/install.log")"
fi

# The man pages render without a warning.
for m in loadd/loadd.8 loadd/loadd.conf.5 lmd/lmd.8 lmd/lmd.conf.5 \
    loadctl/loadctl.8; do
	w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
	check '[ -z "$w" ]' "man -l $m renders without warnings${w:+: $w}"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
