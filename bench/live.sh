#!/bin/sh
# Live benchmark: the namespace lab of tests/lib/netns.sh (a client, a
# balancer, three nginx servers), measured in one run for each way of
# putting the balancer in the middle:
#
#   direct    no balancer: the client talks to one server, routed
#   dnat      kernel iptables DNAT, statistic mode, with conntrack
#   loadd     loadd, NFQUEUE, the rules "loadd -R" prints
#   haproxy   HAProxy 2.6, mode tcp, roundrobin
#   pen       pen 0.34, roundrobin
#
# For each: HTTP requests per second with keep-alive, new connections per
# second (one request per connection), and latency p50/p99 under a light
# load (4 connections), all with wrk; for loadd also its CPU time per
# packet.  Medians over RUNS runs; ratios to kernel DNAT from the same run.
# A benchmark, not a test: it asserts nothing.
#
#   sh bench/live.sh            5 runs of 5 s, writes bench/results/live.md
#   sh bench/live.sh --short    1 run of 1 s, prints only (CI checks it runs)
#
# Root; installs haproxy and pen if missing.  Nothing leaves this machine.
set -u
cd "$(dirname "$0")/.."
RUNS=5
DUR=5
OUT=bench/results/live.md
if [ "${1:-}" = "--short" ]; then
	RUNS=1
	DUR=1
	OUT=
fi
for p in haproxy pen; do
	command -v $p > /dev/null || {
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		    --no-install-recommends $p > /dev/null
	}
done
O=${O:-build}
make -s O="$O" all
LAB=b$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
. tests/lib/netns.sh
PROXY=
cleanup() {
	[ -n "$PROXY" ] && kill $PROXY 2>/dev/null
	lab_down
}
trap cleanup EXIT INT TERM

lab_up > /dev/null
servers_up
loadd_conf

# wrk_run URL ARGS...: prints "requests/s p50_ms p99_ms".
wrk_run() {
	url=$1
	shift
	ns_c wrk -d "${DUR}s" --latency "$@" "$url" 2>/dev/null | awk '
	    function ms(v) { if (v ~ /us$/) return v / 1000;
		if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000;
		return v }
	    /Requests\/sec/ { r = $2 }
	    $1 == "50%" { p50 = ms($2) }
	    $1 == "99%" { p99 = ms($2) }
	    END { printf "%d %.2f %.2f\n", r, p50, p99 }'
}

# measure NAME URL: one run of the three measurements, appended to a file.
measure() {
	ka=$(wrk_run "$2" -t2 -c32)
	nc=$(wrk_run "$2" -t2 -c32 -H "Connection: close")
	lat=$(wrk_run "$2" -t1 -c4)
	echo "${ka%% *} ${nc%% *} $(echo "$lat" | cut -d' ' -f2-)" >> "$TMP/$1"
}

setup() {
	case $1 in
	direct)	;;
	dnat)
		ns_b iptables -t nat -A PREROUTING -d $VIP -p tcp --dport 80 \
		    -m statistic --mode nth --every 3 --packet 0 \
		    -j DNAT --to-destination 198.18.1.11
		ns_b iptables -t nat -A PREROUTING -d $VIP -p tcp --dport 80 \
		    -m statistic --mode nth --every 2 --packet 0 \
		    -j DNAT --to-destination 198.18.1.12
		ns_b iptables -t nat -A PREROUTING -d $VIP -p tcp --dport 80 \
		    -j DNAT --to-destination 198.18.1.13
		;;
	loadd)
		loadd_up
		;;
	haproxy)
		ns_b ip addr add $VIP/32 dev lo
		cat > "$TMP/haproxy.cfg" <<CFG
global
	maxconn 4000
defaults
	mode tcp
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend f
	bind $VIP:80
	default_backend b
backend b
	balance roundrobin
	server s1 198.18.1.11:80
	server s2 198.18.1.12:80
	server s3 198.18.1.13:80
CFG
		ip netns exec "lab$LAB-b" haproxy -f "$TMP/haproxy.cfg" \
		    -db > /dev/null 2>&1 &
		PROXY=$!
		sleep 0.5
		;;
	pen)
		ns_b ip addr add $VIP/32 dev lo
		ip netns exec "lab$LAB-b" pen -f -r -x 20000 $VIP:80 \
		    198.18.1.11:80 198.18.1.12:80 198.18.1.13:80 \
		    > /dev/null 2>&1 &
		PROXY=$!
		sleep 0.5
		;;
	esac
}

teardown() {
	case $1 in
	dnat)	ns_b iptables -t nat -F PREROUTING ;;
	loadd)
		kill "$LOADD_PID"
		wait "$LOADD_PID" 2>/dev/null
		LOADD_PID=
		"$LOADD" -R -f "$TMP/loadd.conf" | grep '^# remove with:' |
		    sed 's/^# remove with: //' | ns_b sh 2>/dev/null
		;;
	haproxy|pen)
		kill $PROXY
		wait $PROXY 2>/dev/null
		PROXY=
		ns_b ip addr del $VIP/32 dev lo
		;;
	esac
}

MODES="direct dnat loadd haproxy pen"
r=1
while [ $r -le $RUNS ]; do
	for m in $MODES; do
		setup $m
		if [ $m = direct ]; then
			url=http://198.18.1.11/
		else
			url=http://$VIP/
		fi
		if [ $m = loadd ]; then
			# The packet process: loadd's child under privilege
			# separation, loadd itself without.
			pp=$(pgrep -P "$LOADD_PID" -x loadd || echo "$LOADD_PID")
			t0=$(awk '{ print $14 + $15 }' "/proc/$pp/stat")
			measure $m "$url"
			t1=$(awk '{ print $14 + $15 }' "/proc/$pp/stat")
			kill -USR1 "$LOADD_PID"
			sleep 0.3
			pk=$(grep 'stats: packets' "$TMP/loadd.log" | tail -1 |
			    sed 's/.*packets \([0-9]*\),.*/\1/')
			echo "$(( (t1 - t0) * 10000000 / (pk > 0 ? pk : 1) ))" \
			    >> "$TMP/cpu"
		else
			measure $m "$url"
		fi
		teardown $m
	done
	r=$((r + 1))
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
col() { cut -d' ' -f"$2" "$TMP/$1" | median; }
dnat_ka=$(col dnat 1)
dnat_nc=$(col dnat 2)
{
	echo "Live benchmark, $(date -u +%Y-%m-%d), $(nproc) CPUs: $(uname -sr), $RUNS run(s) of ${DUR}s, medians"
	echo
	echo "| mode    | keep-alive req/s | x DNAT | new conn/s | x DNAT | p50 ms | p99 ms |"
	echo "|---------|------------------|--------|------------|--------|--------|--------|"
	for m in $MODES; do
		ka=$(col $m 1)
		nc=$(col $m 2)
		printf "| %-7s | %16s | %6s | %10s | %6s | %6s | %6s |\n" $m \
		    "$ka" "$(awk "BEGIN { printf \"%.2f\", $ka / ($dnat_ka + 0.001) }")" \
		    "$nc" "$(awk "BEGIN { printf \"%.2f\", $nc / ($dnat_nc + 0.001) }")" \
		    "$(col $m 3)" "$(col $m 4)"
	done
	echo
	echo "loadd CPU time per packet: $(median < "$TMP/cpu") ns (user+system over the keep-alive, new-connection and latency runs)"
} > "$TMP/table"
cat "$TMP/table"
if [ -n "$OUT" ]; then
	mkdir -p bench/results
	cp "$TMP/table" "$OUT"
	echo "written to $OUT"
fi
