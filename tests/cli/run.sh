#!/bin/sh
# The command line as an operator meets it: -h, -n, -R, -b, -p, replay
# flags, and the sample files kept true to the code.  No root needed.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
L=$O/loadd
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
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
