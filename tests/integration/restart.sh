#!/bin/sh
# Integration: what clients see when loadd restarts under them.  The flow
# table goes with the old process; the client's next packets belong to no
# known flow.  With "unknown_flow = reset" loadd answers them with a RST
# (built with libnet) and the client fails at once; with the default
# "drop" its connection stalls until it gives up.  New connections work
# either way.  IPv4 and IPv6.
#
# With LAB_OFFLOAD=bpf the flow table does not go: the downloads are in
# the fast path's map, which stays pinned, keeps carrying them while no
# loadd runs, and is taken back by the next one.  There the same
# downloads must finish byte for byte through the restart, whichever
# unknown_flow, and no reset is sent.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=r$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
. tests/lib/netns.sh

. tests/lib/tap.sh
trap 'lab_down; tap_end' EXIT

if ! { lab_up && servers_up && loadd_conf_multi; }; then
	notok "lab set up"
	exit 1
fi
# Global keys go before the first service block.
{ echo "unknown_flow = reset"; cat "$TMP/loadd.conf"; } > "$TMP/reset.conf"
cp "$TMP/loadd.conf" "$TMP/drop.conf"

# Slow enough to be under way through the restart; with bpf the whole
# 10 MB must come, so faster (about 10 s).
BPF=
RATE=300k
[ "${LAB_OFFLOAD:-}" = bpf ] && BPF=1 && RATE=1m

restart() {
	kill "$LOADD_PID"
	wait "$LOADD_PID" 2>/dev/null
	cp "$TMP/$1.conf" "$TMP/loadd.conf"
	loadd_up
}

# download URL TIMEOUT CONF: starts a slow download, restarts loadd with
# CONF under it, and sets r to curl's exit status and the seconds it took
# after the restart.  (Not in a subshell: LOADD_PID must survive.)
download() {
	rm -f "$TMP/dl"
	ns_c curl -s -m "$2" --limit-rate "$RATE" -o "$TMP/dl" \
	    -w '%{http_code} %{size_download}' "$1" > "$TMP/dl.w" &
	c=$!
	# The download is under way (100 KB in) before loadd goes.
	_i=0
	while [ "$(stat -c %s "$TMP/dl" 2>/dev/null || echo 0)" -lt 102400 ] &&
	    [ $_i -lt 100 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	restart "$3"
	t0=$(date +%s)
	wait $c
	rc=$?
	r="$rc $(($(date +%s) - t0))"
	echo "# $1: HTTP status and bytes: $(cat "$TMP/dl.w")"
}

cp "$TMP/reset.conf" "$TMP/loadd.conf"
loadd_up || { notok "loadd up"; exit 1; }
for url in "http://$VIP/big" "http://[$VIP6]/big"; do
	download "$url" 30 reset
	if [ -n "$BPF" ]; then
		check "[ ${r% *} -eq 0 ] && cmp -s '$TMP/dl' '$TMP/big'" \
		    "offload = bpf, unknown_flow = reset: $url goes on through the restart, byte for byte (curl $r)"
	else
		check "[ ${r% *} -eq 56 ] && [ ${r#* } -le 10 ]" \
		    "unknown_flow = reset: $url fails within seconds with a reset (curl $r)"
	fi
done
check "ns_c curl -s -m 3 -o /dev/null http://$VIP/" "a new connection works after the restart"
s0=$(grep -c 'stats: packets' "$TMP/loadd.log")
kill -USR1 "$LOADD_PID"
i=0
while [ "$(grep -c 'stats: packets' "$TMP/loadd.log")" -le "$s0" ] &&
    [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
n=$(grep 'stats: packets' "$TMP/loadd.log" | tail -1 | sed 's/.*resets \([0-9]*\).*/\1/')
if [ -n "$BPF" ]; then
	check "[ '${n:-x}' = 0 ]" \
	    "offload = bpf: loadd sent no reset, the map's flows were taken back (resets ${n:-?})"
	a=$(grep -c 'flow(s) in the map taken back' "$TMP/loadd.log")
	check "[ $a -ge 1 ]" "offload = bpf: loadd says it took flows back from the map"
else
	check "[ ${n:-0} -ge 1 ]" "loadd counted ${n:-0} resets"
fi
csum() { "$@" nstat -asz TcpInCsumErrors Tcp6InCsumErrors | awk '/CsumErrors/ { s += $2 } END { print s + 0 }'; }
check "[ '$(csum ns_c)' = 0 ]" "client: no TCP checksum errors (the resets were valid)"

if [ -n "$BPF" ]; then
	download "http://$VIP/big" 50 drop
	check "[ ${r% *} -eq 0 ] && cmp -s '$TMP/dl' '$TMP/big'" \
	    "offload = bpf, unknown_flow = drop: the download goes on through the restart, byte for byte (curl $r)"
else
	download "http://$VIP/big" 8 drop
	check "[ ${r% *} -eq 28 ]" "unknown_flow = drop: the connection stalls until curl gives up (curl $r)"
fi
check "ns_c curl -s -m 3 -o /dev/null http://$VIP/" "a new connection works after the restart"
[ $fail -eq 0 ]
