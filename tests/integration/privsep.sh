#!/bin/sh
# Integration: privilege separation.  The packet process runs as its own user (loadd),
# in an empty chroot, with CAP_NET_ADMIN alone and no way to gain more;
# its parent stays root and does nothing but read the configuration for
# reloads and relay signals.  Traffic, probes and reloads work after the
# drop.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=v$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
LOADCTL=$PWD/$O/loadctl
. tests/lib/netns.sh

. tests/lib/tap.sh
trap 'lab_down; tap_end' EXIT

if ! { lab_up && servers_up && loadd_conf && loadd_up; }; then
	notok "lab set up"
	exit 1
fi

child=$(pgrep -P "$LOADD_PID" -x loadd)
check '[ -n "$child" ]' "loadd split in two: parent $LOADD_PID, packet process ${child:-none}"
st() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
lu=$(id -u loadd)
check '[ "$(st "$child" Uid)" = "$lu" ] && [ "$(st "$child" Gid)" = "$(id -g loadd)" ] && [ "$lu" != "$(id -u nobody)" ]' \
    "the packet process runs as its own user loadd, not nobody (uid $(st "$child" Uid), gid $(st "$child" Gid))"
check '[ "$(st "$child" CapEff)" = 0000000000001000 ] && [ "$(st "$child" CapPrm)" = 0000000000001000 ]' \
    "its effective and permitted capabilities are CAP_NET_ADMIN alone ($(st "$child" CapEff), $(st "$child" CapPrm))"
check '[ "$(st "$child" CapBnd)" = 0000000000001000 ] && [ "$(st "$child" CapInh)" = 0000000000000000 ] && [ "$(st "$child" CapAmb)" = 0000000000000000 ]' \
    "bounding set CAP_NET_ADMIN, nothing inheritable or ambient ($(st "$child" CapBnd) $(st "$child" CapInh) $(st "$child" CapAmb))"
check '[ "$(st "$child" NoNewPrivs)" = 1 ]' "no_new_privs is set ($(st "$child" NoNewPrivs))"
root=$(readlink "/proc/$child/root")
check '[ "$root" = /var/empty ]' "its root is the chroot /var/empty ($root)"
check '[ "$(stat -c %u:%a /var/empty)" = 0:755 ]' "/var/empty is root's, mode 755 ($(stat -c %u:%a /var/empty))"
check '[ -z "$(ls -A /var/empty)" ]' "/var/empty is empty"
# Its root holds nothing to run, and its user may write nothing there
# (outside its root there is no path for it at all).
if nsenter -t "$child" --root --wd /bin/true 2>/dev/null; then
	notok "inside the packet process's root there is nothing to run"
else
	ok "inside the packet process's root there is nothing to run"
fi
if setpriv --reuid "$lu" --regid "$(id -g loadd)" --clear-groups \
    sh -c ': > /var/empty/loadd-was-here' 2>/dev/null; then
	notok "its user cannot write into its root"
else
	ok "its user cannot write into its root"
fi
check '[ ! -e /var/empty/loadd-was-here ]' "nothing was written into the chroot"
check '[ "$(st "$LOADD_PID" Uid)" = 0 ]' "the parent stays root (uid $(st "$LOADD_PID" Uid))"

# What the packet process does still works: traffic, probes, control.
: > "$TMP/got"
for i in 1 2 3 4 5 6; do
	ns_c curl -s -m 2 "http://$VIP/" >> "$TMP/got" || echo fail >> "$TMP/got"
done
check '[ "$(grep -c "^s" "$TMP/got")" = 6 ]' "traffic passes after the drop ($(grep -c "^s" "$TMP/got") of 6)"
kill "$(cat "$TMP/s2/nginx.pid")"
n=0
until $LOADCTL -s "$TMP/ctl.sock" show servers | grep -q '198.18.1.12:80 *down'; do
	n=$((n + 1)); [ $n -ge 100 ] && break; sleep 0.1
done
check '[ $n -lt 100 ]' "TCP probes work as loadd: s2 marked down ($((n / 10)) s)"
ns_s 2 nginx -c "$TMP/s2/nginx.conf" -e "$TMP/s2/error.log"

# A reload goes through the privileged parent.
sed -i 's/roundrobin/wrr/' "$TMP/loadd.conf"
out=$($LOADCTL -s "$TMP/ctl.sock" reload 2>&1)
check '[ "$out" = "reload: OK" ] && $LOADCTL -s "$TMP/ctl.sock" show services | grep -q " wrr "' \
    "a reload after the drop reads the new configuration ($out)"
# ICMP probes introduced by a reload: their sockets were opened as root.
echo "check = icmp" >> "$TMP/loadd.conf"
out=$($LOADCTL -s "$TMP/ctl.sock" reload 2>&1)
sleep 3
check '[ "$out" = "reload: OK" ] && grep -q "icmp probes every" "$TMP/loadd.log" && ! grep -q "icmp probe failed" "$TMP/loadd.log"' \
    "ICMP probes after a reload, as loadd, pass ($out)"

# SIGTERM to the parent stops both and removes the control socket.
kill "$LOADD_PID"
n=0
while kill -0 "$child" 2>/dev/null || kill -0 "$LOADD_PID" 2>/dev/null; do
	n=$((n + 1)); [ $n -ge 50 ] && break; sleep 0.1
done
wait "$LOADD_PID" 2>/dev/null
LOADD_PID=
check '[ $n -lt 50 ] && [ ! -e "$TMP/ctl.sock" ]' "SIGTERM stops both processes and removes the control socket"
[ $fail -eq 0 ]
