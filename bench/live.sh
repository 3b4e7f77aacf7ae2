#!/bin/sh
# Live benchmark: the namespace lab of tests/lib/netns.sh (a client, a
# balancer, three nginx servers), measured in one run for each way of
# putting the balancer in the middle:
#
#   direct    no balancer: the client talks to the servers, routed
#   dnat      kernel iptables DNAT, statistic mode, with conntrack
#   loadd     loadd, NFQUEUE, the rules "loadd -R" prints
#   offload   loadd with offload = yes: it decides each connection's first
#             packet, the kernel (conntrack, DNAT by loadd's mark) the rest
#   bpf       loadd with offload = bpf: NFQUEUE for each connection's first
#             packets, then its eBPF fast path's map (tc, on the balancer's
#             eth0 and the bridge's ports) carries the rest
#   haproxy   HAProxy 2.6, mode tcp, roundrobin (no UDP)
#   pen       pen 0.34, roundrobin; for UDP pen -U
#
# For each: HTTP requests per second with keep-alive, new connections per
# second (one request per connection), and latency p50/p99 under a light
# load (4 connections), all with wrk; UDP packets per second delivered,
# 18-byte datagrams sent by udpblast (tests/tools/udpblast.c) as fast as it
# can from 64 flows (source ports) and from one, counted where they arrive
# (an iptables counter in each server's raw table, which drops them there);
# bulk TCP, Gbit/s received by the client (iperf3 -R: the servers send)
# with one stream and with eight, to a service balanced by source address
# (iperf3's streams of one test must reach one server); for loadd also its
# CPU time per packet and its resident memory with its flow table filled
# (1 000 000 flows; 100 000 in the short mode).  Medians over RUNS runs;
# ratios to kernel DNAT from the same run (bulk: to the direct route, the
# ceiling).  A benchmark, not a test: it asserts nothing.
#
#   sh bench/live.sh            5 runs of 5 s, writes bench/results/live.md
#                               and bench/results/live.png
#   sh bench/live.sh --short    1 run of 1 s, prints only (CI checks it runs)
#   PERF=DIR sh bench/live.sh   also profiles the last run's keep-alive,
#                               new-connection and 64-flow UDP measures of
#                               each mode (perf record -a, 499 Hz, call
#                               graphs): DIR/MODE.WHAT.data and a summary
#                               by program and object, then by symbol, in
#                               DIR/MODE.WHAT.txt
#
# Root; installs haproxy, pen and gnuplot-nox if missing.  Nothing leaves
# this machine: all traffic stays in the lab's namespaces.
set -u
cd "$(dirname "$0")/.." || exit 1
RUNS=5
DUR=5
FILL=1000000
OUT=bench/results/live.md
PNG=bench/results/live.png
if [ "${1:-}" = "--short" ]; then
	RUNS=1
	DUR=1
	FILL=100000
	OUT=
	PNG=
fi
for p in haproxy pen iperf3 jq gnuplot:gnuplot-nox; do
	command -v "${p%%:*}" > /dev/null || {
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		    --no-install-recommends "${p#*:}" > /dev/null
	}
done
O=${O:-build}
make -s O="$O" all
# The UDP sender: the Makefile's rule if it has one, else built here.
if ! make -s O="$O" "$O/udpblast" 2> /dev/null || [ ! -x "$O/udpblast" ]
then
	${CC:-cc} -O2 -D_GNU_SOURCE -o "$O/udpblast" tests/tools/udpblast.c ||
	    exit 1
fi
LAB=b$$
TMP=$(mktemp -d)
LOADD=$PWD/$O/loadd
LOADCTL=$PWD/$O/loadctl
BLAST=$PWD/$O/udpblast
. tests/lib/netns.sh
PROXY=
cleanup() {
	[ -n "$PROXY" ] && kill $PROXY 2>/dev/null
	for n in 1 2 3; do
		[ -f "$TMP/iperf3-s$n.pid" ] &&
		    kill "$(cat "$TMP/iperf3-s$n.pid")" 2>/dev/null
	done
	[ -n "${BPFFS:-}" ] && umount "$BPFFS" 2>/dev/null
	lab_down
}
trap cleanup EXIT INT TERM

lab_up > /dev/null
servers_up
# Every UDP datagram to port 5353 that reaches a server is counted and
# dropped on arrival, so the servers' own work stays out of the numbers.
for n in 1 2 3; do
	ns_s $n iptables -t raw -A PREROUTING -p udp --dport 5353 -j DROP
	ip netns exec "lab$LAB-s$n" iperf3 -s -p 5201 -D \
	    --pidfile "$TMP/iperf3-s$n.pid" > /dev/null 2>&1
done

# loadd: the HTTP service of loadd_conf and a UDP service on port 5353
# (no probes: under a flood their answers would queue behind the flood).
cat > "$TMP/loadd.conf" <<CONF
maxflows = 1000000
ipaliasing = $VIP
ports = 80
servers = $(echo $SERVERS | sed 's/ /, /g')
balancingmode = roundrobin

service = udp
ipaliasing = $VIP
protocol = udp
ports = 5353
servers = $(echo $SERVERS | sed 's/ /, /g')
check = none

service = bulk
ipaliasing = $VIP
ports = 5201
servers = $(echo $SERVERS | sed 's/ /, /g')
balancingmode = sourcehash
check = none
CONF
# The same with offload = yes, in its own directory.
mkdir -p "$TMP/off"
{ echo "offload = yes"; cat "$TMP/loadd.conf"; } > "$TMP/off/loadd.conf"
# And with offload = bpf (built with the fast path only), its pins on a
# bpffs of the run's own.
BPFFS=
if [ -x "$O/fastpathctl" ]; then
	mkdir -p "$TMP/bpfconf" "$TMP/bpffs"
	mount -t bpf bpffs "$TMP/bpffs" && BPFFS=$TMP/bpffs
	{ echo "offload = bpf"; echo "offload_interfaces = eth0, p1, p2, p3"
	  echo "offload_pin = $TMP/bpffs/loadd"; cat "$TMP/loadd.conf"; } \
	    > "$TMP/bpfconf/loadd.conf"
fi

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

# prof_start NAME / prof_end NAME: with PERF set, a whole-machine profile
# of what runs in between, in the last run only (perf's own cost stays
# out of the others).
PERF_PID=
prof_start() {
	[ -n "${PERF:-}" ] && [ "$r" -eq "$RUNS" ] || return 0
	mkdir -p "$PERF"
	perf record -q -a -g -F 499 -o "$PERF/$1.data" -- \
	    sleep $((DUR > 1 ? DUR - 1 : 1)) > /dev/null 2>&1 &
	PERF_PID=$!
}
prof_end() {
	[ -n "$PERF_PID" ] || return 0
	wait "$PERF_PID"
	PERF_PID=
	{ perf report -i "$PERF/$1.data" --no-children -g none --percent-limit 1 \
	    --sort comm,dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^$'
	  echo
	  perf report -i "$PERF/$1.data" --no-children -g none --percent-limit 0.5 \
	    --sort comm,sym --stdio 2>/dev/null | grep -v '^#' | grep -v '^$'
	} > "$PERF/$1.txt"
}

# measure NAME URL: one run of the three measurements, appended to a file.
measure() {
	prof_start "$1.keepalive"
	ka=$(wrk_run "$2" -t2 -c32)
	prof_end "$1.keepalive"
	prof_start "$1.newconn"
	nc=$(wrk_run "$2" -t2 -c32 -H "Connection: close")
	prof_end "$1.newconn"
	lat=$(wrk_run "$2" -t1 -c4)
	echo "${ka%% *} ${nc%% *} $(echo "$lat" | cut -d' ' -f2-)" >> "$TMP/$1"
}

# bulk_run STREAMS DST: DUR seconds of iperf3 -R (the server sends) with
# STREAMS parallel streams; prints Gbit/s received, 0 if it failed.  A
# server still busy with the previous test answers with an error: 3
# tries, 1 s apart.
bulk_run() {
	_t=0
	while [ $_t -lt 3 ]; do
		ns_c iperf3 -c "$2" -p 5201 -R -t "$DUR" -P "$1" -J \
		    > "$TMP/iperf.json" 2>&1
		jq -e '.error' "$TMP/iperf.json" > /dev/null 2>&1 || break
		_t=$((_t + 1))
		sleep 1
	done
	jq -r '.end.sum_received.bits_per_second // 0' "$TMP/iperf.json" \
	    2>/dev/null | awk '{ printf "%.2f\n", $1 / 1e9 } END {
	    if (NR == 0) print 0 }'
}

# measure_bulk NAME DST: one stream, then eight; appends "g1 g8" to
# TMP/bulk.NAME.
measure_bulk() {
	echo "$(bulk_run 1 "$2") $(bulk_run 8 "$2")" >> "$TMP/bulk.$1"
}

# udp_run FLOWS PORT DST...: DUR seconds of udpblast from FLOWS sockets
# bound to source ports PORT, PORT+1, ...; prints "pps_received loss_%
# sent", the datagrams counted on the servers over the sender's time.
udp_run() {
	k=$1
	port=$2
	shift 2
	for n in 1 2 3; do ns_s $n iptables -t raw -Z PREROUTING; done
	out=$(ns_c "$BLAST" -t "$DUR" -n $((DUR * 20000000)) -k "$k" \
	    -p "$port" ${RATE:+-r "$RATE"} "$@")
	sleep 0.3	# what a queue still holds
	got=0
	for n in 1 2 3; do
		c=$(ns_s $n iptables -t raw -L PREROUTING -vnx |
		    awk '/dpt:5353/ { s += $1 } END { print s + 0 }')
		got=$((got + c))
	done
	echo "$out" | awk -v got=$got '{ sent = $2; secs = $4 }
	    END { if (secs == 0 || sent == 0) { print "0 100.0 0"; exit }
		loss = 100 * (sent - got) / sent
		printf "%d %.1f %d\n", got / secs, loss, sent }'
}

# measure_udp NAME PORT DST...: 64 flows, then one flow (to the first
# destination); appends "pps64 loss64 pps1 loss1" to TMP/udp.NAME.  Each
# mode has its own source ports, so that no flow meets a conntrack entry
# that another mode left in the balancer.
measure_udp() {
	name=$1
	port=$2
	shift 2
	prof_start "$name.udp64"
	many=$(udp_run 64 "$port" "$@")
	prof_end "$name.udp64"
	one=$(udp_run 1 $((port + 500)) "$1")
	echo "$many $one" | awk '{ print $1, $2, $4, $5 }' >> "$TMP/udp.$name"
	echo "$many $one" | awk '{ print $3 + $6 }' >> "$TMP/sent.$name"
}

packets() {
	"$LOADCTL" -s "$TMP/ctl.sock" show stats | awk '$1 == "packets" { print $2 }'
}
flows() {
	"$LOADCTL" -s "$TMP/ctl.sock" show stats | awk '$1 == "flows" { print $2 }'
}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
qdrops() {
	ns_b cat /proc/net/netfilter/nfnetlink_queue |
	    awk '{ s += $6 + $7 } END { print s + 0 }'
}
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }
pss_kb() { awk '$1 == "Pss:" { print $2 }' "/proc/$1/smaps_rollup"; }
# The packet process: loadd's child under privilege separation, loadd
# itself without.
packet_process() { pgrep -P "$LOADD_PID" -x loadd || echo "$LOADD_PID"; }

setup() {
	case $1 in
	direct)	;;
	dnat)
		for proto in "tcp --dport 80" "udp --dport 5353"; do
			# shellcheck disable=SC2086
			ns_b iptables -t nat -A PREROUTING -d $VIP -p $proto \
			    -m statistic --mode nth --every 3 --packet 0 \
			    -j DNAT --to-destination 198.18.1.11
			# shellcheck disable=SC2086
			ns_b iptables -t nat -A PREROUTING -d $VIP -p $proto \
			    -m statistic --mode nth --every 2 --packet 0 \
			    -j DNAT --to-destination 198.18.1.12
			# shellcheck disable=SC2086
			ns_b iptables -t nat -A PREROUTING -d $VIP -p $proto \
			    -j DNAT --to-destination 198.18.1.13
		done
		# Bulk: one client, one server (what a source hash does).
		ns_b iptables -t nat -A PREROUTING -d $VIP -p tcp \
		    --dport 5201 -j DNAT --to-destination 198.18.1.11
		;;
	loadd)
		loadd_up
		;;
	offload|bpf)
		TMP0=$TMP
		[ $m = offload ] && TMP=$TMP/off || TMP=$TMP/bpfconf
		loadd_up
		TMP=$TMP0
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
frontend bulk
	bind $VIP:5201
	default_backend bulk
backend bulk
	balance source
	server s1 198.18.1.11:5201
	server s2 198.18.1.12:5201
	server s3 198.18.1.13:5201
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
		ip netns exec "lab$LAB-b" pen -U -f -r -x 20000 $VIP:5353 \
		    198.18.1.11:5353 198.18.1.12:5353 198.18.1.13:5353 \
		    > /dev/null 2>&1 &
		PROXY="$PROXY $!"
		# Without -r pen keeps a client on one server.
		ip netns exec "lab$LAB-b" pen -f -x 20000 $VIP:5201 \
		    198.18.1.11:5201 198.18.1.12:5201 198.18.1.13:5201 \
		    > /dev/null 2>&1 &
		PROXY="$PROXY $!"
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
	offload)
		kill "$LOADD_PID"
		wait "$LOADD_PID" 2>/dev/null
		LOADD_PID=
		"$LOADD" -R -f "$TMP/off/loadd.conf" | grep '^# remove with:' |
		    sed 's/^# remove with: //' | ns_b sh 2>/dev/null
		ns_b conntrack -F 2>/dev/null
		;;
	bpf)
		kill "$LOADD_PID"
		wait "$LOADD_PID" 2>/dev/null
		LOADD_PID=
		"$LOADD" -R -f "$TMP/bpfconf/loadd.conf" |
		    sed -n 's/^# remove with: //p; s/^# remove: //p' |
		    ns_b sh 2>/dev/null
		;;
	haproxy|pen)
		kill $PROXY
		wait $PROXY 2>/dev/null
		PROXY=
		ns_b ip addr del $VIP/32 dev lo
		;;
	esac
}

MODES="direct dnat loadd offload haproxy pen"
UDP_MODES="direct dnat loadd offload pen"
if [ -n "$BPFFS" ]; then
	MODES="direct dnat loadd offload bpf haproxy pen"
	UDP_MODES="direct dnat loadd offload bpf pen"
fi
r=1
while [ $r -le $RUNS ]; do
	for m in $MODES; do
		setup $m
		case $m in
		direct)
			measure $m http://198.18.1.11/
			measure_udp $m 20000 198.18.1.11:5353 \
			    198.18.1.12:5353 198.18.1.13:5353
			measure_bulk $m 198.18.1.11
			;;
		dnat)
			measure $m http://$VIP/
			measure_udp $m 21000 $VIP:5353
			measure_bulk $m $VIP
			;;
		loadd)
			pp=$(packet_process)
			t0=$(ticks "$pp")
			measure $m http://$VIP/
			t1=$(ticks "$pp")
			pk=$(packets)
			echo "$(( (t1 - t0) * 10000000 / (pk > 0 ? pk : 1) ))" \
			    >> "$TMP/cpu"
			q0=$(qdrops)
			t0=$(ticks "$pp")
			measure_udp $m 22000 $VIP:5353
			t1=$(ticks "$pp")
			pk2=$(packets)
			echo "$(( (t1 - t0) * 10000000 / (pk2 - pk > 0 ? pk2 - pk : 1) ))" \
			    >> "$TMP/cpu_udp"
			echo $(( $(qdrops) - q0 )) >> "$TMP/qdrops"
			measure_bulk $m $VIP
			# 80 % of this run's peak (64 flows), paced: what is
			# lost, and what the queue drops (fail-open is off).
			peak=$(tail -1 "$TMP/udp.loadd" | cut -d' ' -f1)
			q0=$(qdrops)
			paced=$(RATE=$((peak * 8 / 10)) udp_run 64 22700 \
			    $VIP:5353)
			echo "$((peak * 8 / 10)) $(echo "$paced" |
			    cut -d' ' -f1,2) $(( $(qdrops) - q0 ))" \
			    >> "$TMP/paced"
			;;
		offload)
			pk0=$("$LOADCTL" -s "$TMP/off/ctl.sock" show stats |
			    awk '$1 == "packets" { print $2 }')
			measure $m http://$VIP/
			measure_udp $m 24000 $VIP:5353
			measure_bulk $m $VIP
			pk1=$("$LOADCTL" -s "$TMP/off/ctl.sock" show stats |
			    awk '$1 == "packets" { print $2 }')
			echo $((pk1 - pk0)) >> "$TMP/offload_pkts"
			;;
		bpf)
			pk0=$("$LOADCTL" -s "$TMP/bpfconf/ctl.sock" show stats |
			    awk '$1 == "packets" { print $2 }')
			measure $m http://$VIP/
			measure_udp $m 25000 $VIP:5353
			measure_bulk $m $VIP
			pk1=$("$LOADCTL" -s "$TMP/bpfconf/ctl.sock" show stats |
			    awk '$1 == "packets" { print $2 }')
			echo $((pk1 - pk0)) >> "$TMP/bpf_pkts"
			;;
		haproxy)
			measure $m http://$VIP/
			measure_bulk $m $VIP
			;;
		pen)
			measure $m http://$VIP/
			measure_udp $m 23000 $VIP:5353
			measure_bulk $m $VIP
			;;
		esac
		teardown $m
	done
	r=$((r + 1))
done

# loadd's resident memory, idle and with FILL flows in its table: raw
# datagrams to the UDP service from 250 source addresses of the client's
# network times FILL/250 source ports, paced below what loadd handles
# without queue drops, again while flows are missing (at most 4 passes).
setup loadd
pp=$(packet_process)
sleep 0.5
rss_idle=$(rss_kb "$pp")
rss_idle_parent=$(rss_kb "$LOADD_PID")
f0=$(date +%s)
pass=1
while [ $pass -le 4 ] && [ "$(flows)" -lt "$FILL" ]; do
	ns_c "$BLAST" -R -a 198.18.0.3 -A 250 -p 10000 -P $((FILL / 250)) \
	    -n "$FILL" -r 150000 -t 60 $VIP:5353 > /dev/null
	sleep 0.3
	pass=$((pass + 1))
done
f1=$(date +%s)
nflows=$(flows)
rss_full=$(rss_kb "$pp")
rss_full_parent=$(rss_kb "$LOADD_PID")
pss_full=$(( $(pss_kb "$pp") + $(pss_kb "$LOADD_PID") ))
teardown loadd

csumerr() { "$@" nstat -asz TcpInCsumErrors | awk '/TcpInCsumErrors/ { print $2 }'; }
csum_c=$(csumerr ns_c)
csum_s=$(( $(csumerr ns_s 1) + $(csumerr ns_s 2) + $(csumerr ns_s 3) ))
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
col() { cut -d' ' -f"$2" "$TMP/$1" | median; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / ($2 + 0.001) }"; }
# perrun FILE DNATFILE COLUMN: the ratio in each run, in run order.
perrun() {
	awk -v k="$3" 'NR == FNR { a[FNR] = $k; next }
	    { printf "%s%.2f", (FNR > 1 ? " " : ""), a[FNR] / ($k + 0.001) }' \
	    "$TMP/$1" "$TMP/$2"
}
mb() { awk "BEGIN { printf \"%.1f\", $1 / 1024 }"; }
dnat_ka=$(col dnat 1)
dnat_nc=$(col dnat 2)
dnat_u64=$(col udp.dnat 1)
dnat_u1=$(col udp.dnat 3)
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cpu_fms=$(awk -F': ' '/^cpu family/ { f = $2 } /^model\t/ { m = $2 }
    END { print "family " f ", model " m }' /proc/cpuinfo)
virt=$(LC_ALL=C lscpu 2>/dev/null |
    awk -F': *' '/^Hypervisor vendor/ { print $2 }')
{
	echo "Live benchmark, $(date -u +%Y-%m-%d), $RUNS run(s) of ${DUR}s, medians"
	echo
	echo "Machine: $cpu_model ($cpu_fms), $(nproc) CPUs${virt:+ ($virt guest)}," \
	    "$(uname -sr), Debian $(cat /etc/debian_version 2>/dev/null)." \
	    "Peers: $(nginx -v 2>&1 | sed 's|.*/|nginx |')," \
	    "HAProxy $(haproxy -v | awk 'NR == 1 { print $3 }')," \
	    "pen $(dpkg-query -W -f='${Version}' pen 2>/dev/null)," \
	    "wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null)." \
	    "Client, balancer and servers share the CPUs."
	echo
	echo "TCP, HTTP with wrk:"
	echo
	echo "| mode    | keep-alive req/s | x DNAT | new conn/s | x DNAT | p50 ms | p99 ms |"
	echo "|---------|------------------|--------|------------|--------|--------|--------|"
	for m in $MODES; do
		ka=$(col $m 1)
		nc=$(col $m 2)
		printf "| %-7s | %16s | %6s | %10s | %6s | %6s | %6s |\n" $m \
		    "$ka" "$(ratio "$ka" "$dnat_ka")" \
		    "$nc" "$(ratio "$nc" "$dnat_nc")" \
		    "$(col $m 3)" "$(col $m 4)"
	done
	echo
	echo "UDP, 18-byte datagrams as fast as udpblast sends them, counted on" \
	    "arrival at the servers (packets/s received; loss = not received / sent):"
	echo
	echo "| mode    | 64 flows pps | loss % | x DNAT | 1 flow pps | loss % | x DNAT |"
	echo "|---------|--------------|--------|--------|------------|--------|--------|"
	for m in $MODES; do
		case " $UDP_MODES " in
		*" $m "*)
			u64=$(col udp.$m 1)
			u1=$(col udp.$m 3)
			printf "| %-7s | %12s | %6s | %6s | %10s | %6s | %6s |\n" \
			    $m "$u64" "$(col udp.$m 2)" \
			    "$(ratio "$u64" "$dnat_u64")" \
			    "$u1" "$(col udp.$m 4)" "$(ratio "$u1" "$dnat_u1")"
			;;
		*)
			# "—" is 3 bytes wide for printf, 1 column on screen.
			printf "| %-7s | %14s | %8s | %8s | %12s | %8s | %8s |\n" \
			    $m — — — — — —
			;;
		esac
	done
	echo
	echo "Bulk TCP, iperf3 -R (the server sends to the client), Gbit/s received;" \
	    "a service balanced by source address:"
	echo
	echo "| mode    | 1 stream Gbit/s | x direct | 8 streams Gbit/s | x direct |"
	echo "|---------|-----------------|----------|------------------|----------|"
	direct_b1=$(col bulk.direct 1)
	direct_b8=$(col bulk.direct 2)
	for m in $MODES; do
		b1=$(col bulk.$m 1)
		b8=$(col bulk.$m 2)
		printf "| %-7s | %15s | %8s | %16s | %8s |\n" $m \
		    "$b1" "$(ratio "$b1" "$direct_b1")" \
		    "$b8" "$(ratio "$b8" "$direct_b8")"
	done
	echo
	echo "HAProxy: — (HAProxy 2.6 proxies TCP and HTTP only, no UDP)."
	echo "UDP direct: the 64 flows go to the three servers' addresses, the one flow to s1."
	echo
	echo "loadd x DNAT in each run: keep-alive $(perrun loadd dnat 1);" \
	    "new conn $(perrun loadd dnat 2); UDP 64 flows" \
	    "$(perrun udp.loadd udp.dnat 1); UDP 1 flow $(perrun udp.loadd udp.dnat 3)."
	echo
	echo "offload x DNAT in each run: keep-alive $(perrun offload dnat 1);" \
	    "new conn $(perrun offload dnat 2); UDP 64 flows" \
	    "$(perrun udp.offload udp.dnat 1); UDP 1 flow $(perrun udp.offload udp.dnat 3)."
	echo "offload: packets loadd itself saw per run (the first of each" \
	    "connection and UDP flow): median $(median < "$TMP/offload_pkts")."
	if [ -n "$BPFFS" ]; then
		echo
		echo "bpf x DNAT in each run: keep-alive $(perrun bpf dnat 1);" \
		    "new conn $(perrun bpf dnat 2); UDP 64 flows" \
		    "$(perrun udp.bpf udp.dnat 1); UDP 1 flow $(perrun udp.bpf udp.dnat 3)."
		echo "bpf: packets loadd itself saw per run (each TCP" \
		    "connection's SYN, each UDP flow's first datagrams):" \
		    "median $(median < "$TMP/bpf_pkts")."
	fi
	echo
	echo "loadd CPU time per packet: $(median < "$TMP/cpu") ns TCP" \
	    "(user+system over the keep-alive, new-connection and latency runs)," \
	    "$(median < "$TMP/cpu_udp") ns UDP (over the UDP runs)."
	echo "loadd NFQUEUE drops (queue full or netlink buffer full) in the UDP runs: median" \
	    "$(median < "$TMP/qdrops") of $(median < "$TMP/sent.loadd") datagrams sent."
	echo "loadd at 80 % of its UDP peak (64 flows, paced at $(col paced 1) pps," \
	    "median): $(col paced 2) pps arrived, loss $(col paced 3) %," \
	    "NFQUEUE drops $(col paced 4) (per run: $(cut -d' ' -f4 "$TMP/paced" | tr '\n' ' '))."
	echo "TCP checksum errors over all runs (TcpInCsumErrors): client $csum_c," \
	    "servers $csum_s."
	echo "loadd resident memory (VmRSS), maxflows = 1000000: packet process" \
	    "$(mb "$rss_idle") MB idle, $(mb "$rss_full") MB with $nflows flows" \
	    "(filled in $((f1 - f0)) s); the privileged parent" \
	    "$(mb "$rss_idle_parent") MB idle, $(mb "$rss_full_parent") MB then;" \
	    "both together $(mb "$pss_full") MB proportional (PSS) with the flows in."
	if [ -n "$PNG" ]; then
		echo
		echo "Chart: live.png (the ratios to kernel DNAT)."
	fi
} > "$TMP/table"
cat "$TMP/table"

# The chart: every mode's ratio to kernel DNAT on the four throughputs.
{
	echo "measure $MODES"
	for c in "keep-alive:1" "new-conn:2" "UDP-64-flows:u1" "UDP-1-flow:u3" \
	    "bulk-1-stream:b1" "bulk-8-streams:b2"; do
		printf '"%s"' "$(echo "${c%%:*}" | tr '-' ' ')"
		for m in $MODES; do
			case ${c#*:} in
			b*)
				f=bulk.$m
				k=${c#*:b}
				d=$(col bulk.dnat "$k")
				;;
			u*)
				f=udp.$m
				k=${c#*:u}
				[ $m = dnat ] || [ -s "$TMP/$f" ] || { printf ' -'; continue; }
				d=$(col udp.dnat "$k")
				;;
			*)
				f=$m
				k=${c#*:}
				d=$(col dnat "$k")
				;;
			esac
			printf ' %s' "$(ratio "$(col "$f" "$k")" "$d")"
		done
		echo
	done
} > "$TMP/ratios.dat"
chart=$TMP/live.png
if command -v gnuplot > /dev/null; then
	gnuplot <<GP || echo "gnuplot failed" >&2
set terminal pngcairo size 960,540 font "sans,11"
set output "$chart"
set title "loadd live benchmark, $(date -u +%Y-%m-%d): throughput relative to kernel DNAT (median of $RUNS)\\nHAProxy carries no UDP; dashed line: kernel DNAT"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set datafile missing "-"
set key top right
set ylabel "x kernel DNAT"
set yrange [0:*]
set grid ytics
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 front
plot for [i=2:$(($(echo $MODES | wc -w) + 1))] "$TMP/ratios.dat" using i:xtic(1) title columnheader(i)
GP
fi
if [ -n "$OUT" ]; then
	mkdir -p bench/results
	cp "$TMP/table" "$OUT"
	echo "written to $OUT"
	if [ -s "$chart" ]; then
		cp "$chart" "$PNG"
		echo "written to $PNG"
	fi
fi
