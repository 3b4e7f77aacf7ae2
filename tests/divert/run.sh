#!/bin/sh
# The FreeBSD divert backend, run on Linux: loadd-divemu is loadd with
# pktio_divert.c built over an emulated divert socket (DIVERT_EMULATION),
# and divemu plays the kernel's side of divert(4) with the replay
# fixtures: incoming and outgoing packets, rule numbers, the checksum
# rules.  No root needed.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
T=$(mktemp -d)
PORT=$((20000 + $$ % 40000))
LPID=
cleanup() {
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null && wait "$LPID" 2>/dev/null
	rm -rf "$T" "/tmp/loadd-divert-$PORT.loadd" "/tmp/loadd-divert-$PORT.kernel"
}
trap cleanup EXIT
. tests/lib/tap.sh

"$O/gen_fixtures" "$T" > /dev/null || { notok "gen_fixtures"; echo "$pass passed, $((fail)) failed"; exit 1; }
cat > "$T/loadd.conf" <<CONF
ipaliasing = 203.0.113.10
ports = 80
servers = 10.0.1.11, 10.0.1.12, 10.0.1.13
divertport = $PORT
# The servers are made up: no probe may leave this machine.
check = none
passive = no
# The emulated divert socket is a named UNIX socket, which a chroot would
# hide; privilege separation is tested in the namespaces.
privsep = no
ctlsocket = $T/ctl.sock
CONF

"$O/loadd-divemu" -v -f "$T/loadd.conf" > "$T/loadd.log" 2>&1 &
LPID=$!
i=0
while [ ! -S "/tmp/loadd-divert-$PORT.loadd" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -S "/tmp/loadd-divert-$PORT.loadd" ]; then
	ok "loadd-divemu bound divert port $PORT"
else
	notok "loadd-divemu bound divert port $PORT"
	cat "$T/loadd.log"
fi

for f in tcp raw; do
	d=$(awk '/^dropped/ { print $2 }' "$T/$f.expect")
	if "$O/divemu" -p "$PORT" -r "$T/$f.pcap" -d "${d:-0}" \
	    --vip 203.0.113.10 --servers 10.0.1.11,10.0.1.12,10.0.1.13 \
	    > "$T/out" 2>&1; then
		ok "$f.pcap through the divert backend: $(tail -1 "$T/out")"
	else
		notok "$f.pcap through the divert backend:"
		sed 's/^/    /' "$T/out" | head -20
	fi
done
if grep -q -e AddressSanitizer -e 'runtime error' "$T/loadd.log"; then
	notok "no sanitizer report from loadd-divemu"
	cat "$T/loadd.log"
else
	ok "no sanitizer report from loadd-divemu"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
