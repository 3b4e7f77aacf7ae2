#!/bin/sh
# The loadd demo lab: a client, a balancer and three real servers (nginx)
# in network namespaces.  It builds loadd, starts it in front of the
# servers with the firewall rules "loadd -R" prints, sends requests to the
# virtual address and shows which server answered each, then cleans up.
#
#   sh demo/lab.sh            install what is missing, build, run
#   sh demo/lab.sh --no-deps  skip the package check
#
# Needs root (namespaces, iptables).  Nothing leaves this machine.
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "demo/lab.sh: run me as root (network namespaces)" >&2
	exit 1
fi

# set -e ends the script at the first failing command; say where, never
# exit silently.
STEP="starting"
step() { STEP=$*; }
finish() {
	rc=$?
	[ -n "${LAB:-}" ] && lab_down
	if [ $rc -ne 0 ]; then
		echo "demo/lab.sh: failed while $STEP (exit status $rc)" >&2
	fi
	exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

step "installing the Debian packages (tests/deps.sh)"
[ "${1:-}" = "--no-deps" ] || sh tests/deps.sh
O=${O:-build}
step "building loadd (make O=$O all)"
make -s O="$O" all

TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
. tests/lib/netns.sh
LAB=d$$

echo "== building the lab: client, balancer, three nginx servers"
step "building the namespace lab (tests/lib/netns.sh lab_up)"
lab_up
step "starting nginx in the server namespaces"
servers_up
loadd_conf
echo "== loadd.conf:"
sed 's/^/   /' "$TMP/loadd.conf"
echo "== firewall rules (loadd -R), applied in the balancer:"
"$LOADD" -R -f "$TMP/loadd.conf" | sed 's/^/   /'
step "starting loadd (its log: $TMP/loadd.log)"
loadd_up
step "sending requests to the virtual address"

echo "== 9 requests from the client to http://$VIP/"
for i in 1 2 3 4 5 6 7 8 9; do
	r=$(ns_c curl -s -m 3 -w ' %{remote_ip}:%{remote_port}' "http://$VIP/" |
	    tr -d '\n')
	name=${r%% *}
	peer=${r#* }
	echo "   request $i: answered by server $name (198.18.1.1${name#s}:80);" \
	    "the client saw $peer"
done

echo "== a 10 MB download through the virtual address"
step "downloading 10 MB through the virtual address"
ns_c curl -s -m 30 -o "$TMP/got" "http://$VIP/big"
if cmp -s "$TMP/got" "$TMP/big"; then
	echo "   identical to the file on the servers"
else
	echo "   DIFFERENT from the file on the servers" >&2
	exit 1
fi

LOADCTL="$PWD/$O/loadctl -s $TMP/ctl.sock"
echo "== loadctl show servers"
$LOADCTL show servers | sed 's/^/   /'

step "showing a failover"
echo "== nginx on s2 stops; loadd's probes notice (TCP connect every 2 s, down after 3)"
kill "$(cat "$TMP/s2/nginx.pid")"
n=0
until $LOADCTL show servers | grep -q '198.18.1.12:80 *down'; do
	n=$((n + 1))
	[ $n -ge 150 ] && break
	sleep 0.1
done
grep 'server 198.18.1.12:80 up -> down' "$TMP/loadd.log" | sed 's/^/   /'
echo "== 6 requests: none goes to s2"
for i in 1 2 3 4 5 6; do
	echo "   request $i: answered by $(ns_c curl -s -m 3 "http://$VIP/")"
done
echo "== nginx on s2 is back; after 2 good probes it takes traffic again"
ns_s 2 nginx -c "$TMP/s2/nginx.conf" -e "$TMP/s2/error.log"
n=0
until $LOADCTL show servers | grep -q '198.18.1.12:80 *up'; do
	n=$((n + 1))
	[ $n -ge 150 ] && break
	sleep 0.1
done
$LOADCTL show servers | sed 's/^/   /'

echo "== loadd's counters (SIGUSR1):"
kill -USR1 "$LOADD_PID"
n=0
until grep -q 'stats:' "$TMP/loadd.log" || [ $n -ge 50 ]; do
	n=$((n + 1))
	sleep 0.1
done
grep 'stats:' "$TMP/loadd.log" | sed 's/^/   /'
echo "== done; cleaning up"
