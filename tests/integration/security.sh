#!/bin/sh
# Integration: the security review's ways in that a running loadd closes
# (see loadd(8), SECURITY), each tried for real:
#
#  - the control socket in a directory others may write to is refused;
#    a symbolic link planted at its path is replaced, never followed (a
#    root-owned 0600 file it points to keeps its mode), and the socket is
#    born with ctlsocket_mode;
#  - another local user cannot bind loadd's report port to take the
#    agents' reports (no SO_REUSEADDR);
#  - the packet process runs as its own user, under a system call filter
#    (seccomp), and holds none of the descriptors its invoker left open;
#  - loadd -n refuses a user that does not exist, saying what to do.
#
# Topology: tests/lib/netns.sh (the lab; only the balancer is used).
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=k$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
LOADCTL=$PWD/$O/loadctl
. tests/lib/netns.sh
. tests/lib/tap.sh

PIDS=""
cleanup() {
	# loadd runs under the shell that ran ip netns exec: stop it by its
	# configuration's name, then the shells.
	pkill -f "loadd -f $TMP/" 2>/dev/null
	for p in $PIDS; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	lab_down
	tap_end
}
trap cleanup EXIT

# waitfor CMD...: polls up to 10 s for CMD to succeed.
waitfor() {
	_i=0
	until "$@"; do
		_i=$((_i + 1))
		[ $_i -ge 100 ] && return 1
		sleep 0.1
	done
}
st() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

lab_up
chmod 755 "$TMP"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' |
    sed 's/^/1 /' > "$TMP/key"
echo >> "$TMP/key"
chmod 600 "$TMP/key"
cat > "$TMP/loadd.conf" <<CONF
ipaliasing = $VIP
ports = 80
servers = $(echo $SERVERS | sed 's/ /, /g')
check = none
keyfile = $TMP/key
reportaddress = 198.18.1.1
ctlsocket_mode = 0660
CONF
# LAB_OFFLOAD=bpf: the same with the fast path (its map is read and
# written under the packet process's filter).
lab_bpf_conf

# 1. The control socket's directory.
mkdir -m 1777 "$TMP/pub"
out=$(ns_b "$LOADD" -f "$TMP/loadd.conf" -s "$TMP/pub/ctl.sock" 2>&1)
rc=$?
check "[ $rc -ne 0 ] && echo '$out' | grep -q 'other users may write to directory $TMP/pub'" \
    "a control socket in a directory others may write to is refused: exit $rc, $(echo "$out" | grep directory | head -1)"

# 2. A symbolic link planted where the socket goes.
mkdir -m 700 "$TMP/priv"
echo secret > "$TMP/target"
chmod 600 "$TMP/target"
ln -s "$TMP/target" "$TMP/priv/ctl.sock"
exec 9> "$TMP/inherited"	# a descriptor loadd must not keep
ns_b "$LOADD" -f "$TMP/loadd.conf" -s "$TMP/priv/ctl.sock" \
    > "$TMP/loadd.log" 2>&1 &
LPID=$!
exec 9>&-
PIDS="$LPID"
waitfor "$LOADCTL" -s "$TMP/priv/ctl.sock" show services > /dev/null 2>&1
check "[ -S '$TMP/priv/ctl.sock' ] && [ ! -L '$TMP/priv/ctl.sock' ]" \
    "the planted link was replaced by the socket"
check "[ \"\$(stat -c %a '$TMP/target')\" = 600 ] && [ \"\$(cat '$TMP/target')\" = secret ]" \
    "the file it pointed to keeps mode $(stat -c %a "$TMP/target") and its contents"
check "[ \"\$(stat -c %a '$TMP/priv/ctl.sock')\" = 660 ]" \
    "the socket was born with ctlsocket_mode 0660 ($(stat -c %a "$TMP/priv/ctl.sock"))"

# 3. The packet process: its user, its filter, its descriptors.  $LPID
# is the shell that ran ip netns exec: loadd is its child, and the packet
# process loadd's.
parent=$(pgrep -P "$LPID" -x loadd)
[ -n "$parent" ] || parent=$LPID
child=$(pgrep -P "$parent" -x loadd)
check "[ -n '$child' ] && [ \"\$(st $child Uid)\" = \"$(id -u loadd)\" ]" \
    "the packet process (${child:-none}) runs as loadd (uid $(st "${child:-0}" Uid 2>/dev/null))"
check "[ \"\$(st $child Seccomp)\" = 2 ]" \
    "it runs under a seccomp filter (Seccomp: $(st "${child:-0}" Seccomp 2>/dev/null))"
n=0
for p in $parent $child; do
	for f in /proc/$p/fd/*; do
		[ "$(readlink "$f")" = "$TMP/inherited" ] && n=$((n + 1))
	done
done
check "[ $n -eq 0 ]" "neither process holds the descriptor its invoker left open ($n do)"
# The filter in use: probes and control still work (a reload too).
out=$("$LOADCTL" -s "$TMP/priv/ctl.sock" reload 2>&1)
check "[ '$out' = 'reload: OK' ]" "a reload under the filter: $out"
check "kill -0 $child 2>/dev/null" "the packet process lives on"

# 4. The report port cannot be shared by another user.
if ns_b setpriv --reuid "$(id -u nobody)" --regid "$(id -g nobody)" \
    --clear-groups timeout 3 socat -u UDP4-RECV:8671,bind=198.18.1.1,reuseaddr \
    STDOUT > "$TMP/stolen" 2> "$TMP/socat.err"; then
	notok "another user could bind loadd's report port"
else
	check "grep -q 'Address already in use' '$TMP/socat.err'" \
	    "another user's bind of the report port with SO_REUSEADDR fails: $(head -1 "$TMP/socat.err" | sed 's/.*E //')"
fi

# 5. A user that does not exist.
sed 's/^check = none$/user = nosuchuser/' "$TMP/loadd.conf" > "$TMP/nouser.conf"
out=$("$LOADD" -n -f "$TMP/nouser.conf" 2>&1)
rc=$?
check "[ $rc -eq 1 ] && echo '$out' | grep -q 'no such user; create it'" \
    "loadd -n with user = nosuchuser: exit $rc, $out"
