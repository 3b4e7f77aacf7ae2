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
[ "${1:-}" = "--no-deps" ] || sh tests/deps.sh
O=${O:-build}
make -s O="$O" all

LAB=d$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
. tests/lib/netns.sh
trap lab_down EXIT INT TERM

echo "== building the lab: client, balancer, three nginx servers"
lab_up
servers_up
loadd_conf
echo "== loadd.conf:"
sed 's/^/   /' "$TMP/loadd.conf"
echo "== firewall rules (loadd -R), applied in the balancer:"
"$LOADD" -R -f "$TMP/loadd.conf" | sed 's/^/   /'
loadd_up

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
ns_c curl -s -m 30 -o "$TMP/got" "http://$VIP/big"
if cmp -s "$TMP/got" "$TMP/big"; then
	echo "   identical to the file on the servers"
else
	echo "   DIFFERENT from the file on the servers" >&2
	exit 1
fi

echo "== loadd's counters (SIGUSR1):"
kill -USR1 "$LOADD_PID"
sleep 0.3
grep 'stats:' "$TMP/loadd.log" | sed 's/^/   /'
echo "== done; cleaning up"
