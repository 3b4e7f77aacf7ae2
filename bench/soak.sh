#!/bin/sh
# Soak run: loadd for half an hour (or more) under mixed traffic, with a
# reload every minute, a server's health flapping and its agents
# restarting, while loadctl polls it; its memory, descriptors, flows and
# counters sampled all along.  The lab of tests/lib/netns.sh:
#
#   client ---- balancer (loadd, NFQUEUE) ---- s1, s2, s3 (nginx, socat
#                 198.18.100.1:80   HTTP          UDP 5353 answers, lmd
#                 198.18.100.1:5353 UDP           reporting to loadd
#                 [2001:2:0:100::1]:80 HTTP       with a key file)
#
# What runs at once, from the client, every loop bounded in count and in
# time:
#   * keep-alive: wrk (1 thread, 4 connections) in chunks, each chunk's
#     errors counted;
#   * new connections: curl, one request per connection, one after
#     another, each outcome logged with its start time; the same to the
#     IPv6 VIP;
#   * UDP: one datagram per request with socat, the answer checked (a new
#     flow each time), and background flows from udpblast that the
#     servers drop on arrival (flows loadd must expire unanswered);
#   * a slow download of the 10 MB /big file (curl --limit-rate) that lasts
#     most of the run, compared byte for byte at the end;
# and beside the traffic:
#   * loadctl reload every minute, the configuration swapped between two
#     that differ in the servers' weights (checked after each reload);
#   * a flap: nginx of one server (not the one serving the download)
#     stopped and started again every 5 minutes;
#   * lmd of one server after the other killed and started again every
#     2 minutes (its reports must be taken again);
#   * loadctl show stats, -j show servers and metrics every 3 s.
#
# Every SAMPLE seconds one line of a CSV: the packet process's VmRSS and
# open descriptors (and its privileged parent's), loadd's flow count and
# counters (loadctl -j show stats), and the checksum errors counted in the
# client's and the servers' namespaces (nstat).
#
# Judged at the end (ok / not ok lines, "N passed, M failed" for
# tests/run.sh):
#   * no growth that does not level off: the last third of the samples
#     against the middle third, for RSS, descriptors and the time flows
#     stay in the table (tolerances below);
#   * no failed request outside a flap's window: from a request timeout
#     before nginx stops to the detection slack after it;
#   * no checksum error in any receiver;
#   * the slow download complete and byte-identical;
#   * every reload answered "reload: OK" and the new weights in effect;
#   * each flap seen by loadd within the slack, each restarted agent heard
#     again; every loadctl poll answered; loadd alive, the same packet
#     process as at the start;
#   * no counter going backwards (packets, flows inserted, expired and
#     evicted, I/O errors, drops, refusals, failed probes, state changes,
#     agent reports taken), reloads included.
#
# Detection slack: loadd probes each server with an HTTP GET every
# check_interval = 1 s, check_timeout = 1 s, check_fall = 2, so a stopped
# nginx is down at most interval x fall + timeout = 3 s after it stopped
# (its agent, reporting every 0.5 s, usually says so sooner; passive
# detection too).  The slack allows 3 s more for a busy machine: 6 s.
#
#   sh bench/soak.sh                30 minutes; writes bench/results/soak.csv,
#                                   soak.md and soak.png
#   sh bench/soak.sh --minutes N    N minutes (15 or more, for the default
#                                   flow timeouts to reach their steady state
#                                   before the middle third), same outputs
#   sh bench/soak.sh --short        about 2.5 minutes, prints only (CI): a
#                                   reload every 20 s, one flap, one agent
#                                   restart, flow timeouts of 10-20 s
#   SOAK_DUR=S sh bench/soak.sh --short   the short mode for S seconds
#   SOAK_KEEP=DIR ...               keeps the raw logs and the CSV in DIR
#
# Root.  Nothing leaves this machine: all traffic stays in the lab's
# namespaces.
set -u
cd "$(dirname "$0")/.." || exit 1

MIN=30
SHORT=0
while [ $# -gt 0 ]; do
	case $1 in
	--short)	SHORT=1 ;;
	--minutes)	MIN=${2:-}; shift ;;
	*)	echo "usage: sh bench/soak.sh [--short | --minutes N]" >&2
		exit 2 ;;
	esac
	shift
done
case $MIN in
''|*[!0-9]*|0)	echo "soak.sh: --minutes wants a whole number > 0" >&2; exit 2 ;;
esac

if [ $SHORT = 1 ]; then
	DUR=${SOAK_DUR:-135}	# seconds of traffic
	RELOAD=20	# a reload every RELOAD s
	FLAP_AT=55	# the flaps: the first at FLAP_AT s, then every FLAP s
	FLAP=1000
	FLAP_DOWN=10	# nginx stays stopped this long
	AGENT_AT=35	# agent restarts: the first at AGENT_AT, every AGENT s
	AGENT=1000
	WRK_ON=10	# wrk runs WRK_ON s in every WRK_EVERY s
	WRK_EVERY=20
	SAMPLE=3
	POLL=2
	# Short flow timeouts, so that the flow count reaches its steady
	# state within the first third of the run.
	TIMEOUTS="timeout_tcp_transitory = 10
timeout_udp = 20
timeout_udp_unreplied = 10"
	OUT=
else
	DUR=$((MIN * 60))
	RELOAD=60
	FLAP_AT=150
	FLAP=300
	FLAP_DOWN=20
	AGENT_AT=60
	AGENT=120
	WRK_ON=20
	WRK_EVERY=40
	SAMPLE=10
	POLL=3
	TIMEOUTS=""	# loadd's defaults (240 s, 300 s, 30 s)
	OUT=bench/results
fi
REQ_TIMEOUT=10		# curl -m, socat's wait: a request's longest life, s
WRK_TIMEOUT=10		# wrk --timeout
SLACK=6			# detection slack after a flap, s (see above)

for p in wrk curl socat bash jq nstat nsenter nginx; do
	command -v $p > /dev/null || { echo "soak.sh: $p is missing (sh tests/deps.sh)" >&2; exit 1; }
done
O=${O:-build}
make -s O="$O" all > /dev/null || exit 1
# The UDP sender and responder: the Makefile's rules, else built here.
for t in udpblast udpecho; do
	if ! make -s O="$O" "$O/$t" 2> /dev/null || [ ! -x "$O/$t" ]; then
		${CC:-cc} -O2 -D_GNU_SOURCE -o "$O/$t" "tests/tools/$t.c" ||
		    exit 1
	fi
done
case $O in /*) B=$O ;; *) B=$PWD/$O ;; esac
LAB=k$$
TMP=$(mktemp -d)
LOADD=$B/loadd
LOADCTL=$B/loadctl
LMD=$B/lmd
BLAST=$B/udpblast
ECHO=$B/udpecho
. tests/lib/netns.sh
. tests/lib/tap.sh
# Every verdict also goes to a file, for the summary in bench/results.
ok() { pass=$((pass + 1)); echo "ok - $*"; echo "ok - $*" >> "$TMP/verdicts"; }
notok() { fail=$((fail + 1)); echo "not ok - $*"; echo "not ok - $*" >> "$TMP/verdicts"; }

JOBS=""		# the loops below, started in the background
now_ms() { echo $(($(date +%s%N) / 1000000)); }
ctl() { "$LOADCTL" -s "$TMP/ctl.sock" "$@"; }

cleanup() {
	trap - EXIT INT TERM HUP PIPE
	touch "$TMP/stop"
	for _p in $JOBS; do
		kill "$_p" 2>/dev/null
	done
	for _p in $JOBS; do
		wait "$_p" 2>/dev/null
	done
	# Whatever still runs in the lab's namespaces was started here:
	# wrk, curl, socat, udpblast, lmd, nginx, loadd.
	for _ns in c s1 s2 s3 b; do
		for _p in $(ip netns pids "lab$LAB-$_ns" 2>/dev/null); do
			kill "$_p" 2>/dev/null
		done
	done
	lab_down
}
trap 'cleanup' EXIT
trap 'exit 1' INT TERM HUP PIPE

# --- the lab, the key, the configurations -----------------------------------
if ! { lab_up && servers_up; } > "$TMP/lab.log" 2>&1; then
	cat "$TMP/lab.log"
	notok "lab set up"
	tap_end
	exit 1
fi
# The slow download reads a few kB/s; the server's send buffer grows to
# megabytes meanwhile, and nginx may then wait more than its send_timeout
# (60 s by default) for room to write, and close the connection (a
# 30-minute run lost its download 5.3 MB in; nginx, logging at info, says
# "client timed out (110: Connection timed out) while sending response to
# client").  Here nginx waits as long as the run lasts; each server is
# restarted with that before loadd starts.
for n in 1 2 3; do
	sed -i "s|^\tkeepalive_requests .*|&\n\tsend_timeout $((DUR + 120))s;|" \
	    "$TMP/s$n/nginx.conf"
	m=$(cat "$TMP/s$n/nginx.pid")
	kill "$m"
	i=0
	while kill -0 "$m" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	ns_s $n nginx -c "$TMP/s$n/nginx.conf" -e "$TMP/s$n/error.log"
done
# Each server's UDP answers come from udpecho instead of the lab's socat,
# which leaves a few requests in a hundred unanswered (tests/tools/udpecho.c
# says how); its pid goes where lab_down looks for socat's.
for n in 1 2 3; do
	kill "$(cat "$TMP/s$n/socat.pid")"
	ip netns exec "lab$LAB-s$n" "$ECHO" -t $((DUR + 600)) 5353 "s$n" \
	    > /dev/null &
	echo $! > "$TMP/s$n/socat.pid"
done
# The background UDP flows come from source ports 30000-30999; the servers
# count and drop them on arrival, so loadd keeps them as unanswered flows
# until they expire (and socat does not fork for each).
for n in 1 2 3; do
	ns_s $n iptables -t raw -A PREROUTING -p udp --dport 5353 \
	    --sport 30000:30999 -j DROP
done
umask 077
"$LMD" -k 1 > "$TMP/key"
umask 022

# conf W1 W2 W3: loadd.conf with these weights for the HTTP services.
# Two of them, A and B, are swapped in by the reloads.
conf() {
	cat <<CONF
keyfile = $TMP/key
check = http
check_interval = 1
check_timeout = 1
check_fall = 2
check_rise = 2
$TIMEOUTS

ipaliasing = $VIP
ports = 80
balancingmode = wrr
servers = 198.18.1.11 weight $1, 198.18.1.12 weight $2, 198.18.1.13 weight $3

service = udp
ipaliasing = $VIP
protocol = udp
ports = 5353
check = icmp
servers = 198.18.1.11, 198.18.1.12, 198.18.1.13

service = web6
ipaliasing = $VIP6
ports = 80
balancingmode = wrr
servers = 2001:2:0:1::11 weight $1, 2001:2:0:1::12 weight $2, 2001:2:0:1::13 weight $3
CONF
}
conf 1 1 1 > "$TMP/conf.A"
conf 3 2 1 > "$TMP/conf.B"
W_A=1
W_B=3			# what s1 weighs in each
cp "$TMP/conf.A" "$TMP/loadd.conf"
if ! loadd_up; then
	notok "loadd up"
	tap_end
	exit 1
fi
PP=$(pgrep -P "$LOADD_PID" -x loadd)
check "[ -n '$PP' ]" "loadd up: parent $LOADD_PID, packet process ${PP:-none}"
[ -n "$PP" ] || { tap_end; exit 1; }

# lmd_start N: the agent of server N, reporting every 0.5 s to loadd.
lmd_start() {
	nsenter --net="/run/netns/lab$LAB-s$1" "$LMD" -f "$TMP/lmd$1.conf" \
	    -v >> "$TMP/lmd$1.log" 2>&1 &
	echo $! > "$TMP/lmd$1.job"
}
for n in 1 2 3; do
	cat > "$TMP/lmd$n.conf" <<CONF
loaddservers = 198.18.1.1
keyfile = $TMP/key
service = 198.18.1.1$n:80
interval = 0.5
check = http
check_url = http://198.18.1.1$n:80/
check_timeout = 1
pidfile = $TMP/lmd$n.pid
CONF
	lmd_start $n
done
# agent_seen N SINCE_MS: loadd took a report from server N's agent sent
# after SINCE_MS (its age is younger than the time since then).
agent_seen() {
	_t=$(now_ms)
	_a=$(ctl -j show servers 2>/dev/null | jq -r --arg s "198.18.1.1$1:80" \
	    '.[] | select(.server == $s) | .agent | if . == null then -1
	    elif .fresh then .age_ms else -1 end' 2>/dev/null)
	[ -n "$_a" ] && [ "$_a" -ge 0 ] && [ "$_a" -lt $((_t - $2)) ]
}
T0=$(now_ms)
i=0
while [ $i -lt 100 ]; do
	agent_seen 1 "$T0" && agent_seen 2 "$T0" && agent_seen 3 "$T0" && break
	sleep 0.1
	i=$((i + 1))
done
check "[ $i -lt 100 ]" "the three agents report and loadd takes them (after $((i * 100)) ms)"
if [ $i -ge 100 ]; then
	ctl -j show servers | jq -c '.[] | [.server, .agent]' | sed 's/^/#   /'
	for n in 1 2 3; do
		kill -0 "$(cat "$TMP/lmd$n.job")" 2>/dev/null || echo "#   lmd of s$n has ended"
		sed "s/^/#   lmd s$n: /" "$TMP/lmd$n.log"
	done
fi

# --- the slow download, and the server it runs on ---------------------------
# It lasts about 80 % of the run; the flapping server is one of the others.
RATE=$((10485760 * 10 / (DUR * 8)))
ip netns exec "lab$LAB-c" curl -s -m $((DUR + 60)) --limit-rate "$RATE" \
    -o "$TMP/got" -w '%{http_code} %{size_download}\n' "http://$VIP/big" \
    > "$TMP/dl.out" 2>&1 &
DL=$!
JOBS="$JOBS $DL"
K=""
i=0
while [ $i -lt 100 ] && [ -z "$K" ]; do
	sleep 0.05
	for n in 1 2 3; do
		ns_s $n ss -Htn state established '( sport = :80 )' |
		    grep -q '198\.18\.0\.2:' && K=$n
	done
	i=$((i + 1))
done
check "[ -n '$K' ]" "the slow download ($RATE bytes/s) runs on s${K:-?}"
F=3
[ "$K" = 3 ] && F=2
echo "# flapping server: s$F; run of $DUR s, reload every $RELOAD s," \
    "sample every $SAMPLE s"

# --- the loops ----------------------------------------------------------------
T0=$(now_ms)
END=$((T0 + DUR * 1000))
running() { [ ! -e "$TMP/stop" ] && [ "$(now_ms)" -lt "$END" ]; }
# nap SECONDS: sleeps, in steps of at most 1 s, until the time is up or
# the run ends.
nap() {
	_u=$(($(now_ms) + $1 * 1000))
	while running && [ "$(now_ms)" -lt $_u ]; do
		sleep 1
	done
}

# reqloop OUT URL: one request per connection, one after another, at most
# MAX; OUT gets "START_MS ANSWER" (s1..s3, or failRC).
reqloop() {
	_n=0
	while running && [ $_n -lt $((DUR * 20)) ]; do
		_t=$(now_ms)
		if _a=$(ip netns exec "lab$LAB-c" curl -s -m $REQ_TIMEOUT "$2"); then
			echo "$_t $_a"
		else
			echo "$_t fail$?"
		fi
		_n=$((_n + 1))
		sleep 0.05
	done > "$1"
}
# udploop OUT: one datagram per request, each from a new socket (a new
# source port, a new flow), its answer awaited for at most REQ_TIMEOUT s:
# bash's /dev/udp is a connected socket, and one read of dd takes one
# whole datagram.
udploop() {
	_n=0
	while running && [ $_n -lt $((DUR * 10)) ]; do
		_t=$(now_ms)
		_a=$(ip netns exec "lab$LAB-c" bash -c 'exec 3<> /dev/udp/$0/5353 &&
		    echo q >&3 && exec timeout $1 dd bs=512 count=1 <&3' \
		    "$VIP" "$REQ_TIMEOUT" 2>/dev/null)
		case $_a in
		s[123])	echo "$_t $_a" ;;
		*)	echo "$_t fail" ;;
		esac
		_n=$((_n + 1))
		sleep 0.1
	done > "$1"
}
# blastloop: 32 flows of udpblast at 200 datagrams/s in chunks of 15 s,
# each chunk from other source ports (30000 + 32 k).
blastloop() {
	_k=0
	while running && [ $_k -lt $((DUR / 15 + 1)) ]; do
		ip netns exec "lab$LAB-c" "$BLAST" -t 15 -n 3000 -r 200 -k 32 \
		    -p $((30000 + (_k % 30) * 32)) $VIP:5353 > /dev/null
		_k=$((_k + 1))
		nap 1
	done
}
# wrkloop OUT: WRK_ON s of wrk in every WRK_EVERY s while a chunk fits in
# the run; OUT gets "START_MS END_MS REQUESTS ERRORS" per chunk.
wrkloop() {
	_k=0
	while running && [ $_k -lt $((DUR / WRK_EVERY + 1)) ] &&
	    [ $(($(now_ms) + WRK_ON * 1000)) -lt "$END" ]; do
		_t=$(now_ms)
		_r=$(ip netns exec "lab$LAB-c" wrk -t1 -c4 -d "${WRK_ON}s" \
		    --timeout "${WRK_TIMEOUT}s" "http://$VIP/" 2>&1 | awk '
		    / requests in / { r = $1 }
		    /Socket errors:/ { gsub(/,/, ""); e += $4 + $6 + $8 + $10 }
		    /Non-2xx or 3xx/ { e += $5 }
		    END { print r + 0, e + 0 }')
		echo "$_t $(now_ms) $_r"
		_k=$((_k + 1))
		nap $((WRK_EVERY - WRK_ON))
	done > "$1"
}
# reloadloop OUT: every RELOAD s the other configuration and loadctl
# reload; OUT gets "MS A|B ANSWER WEIGHT_OF_S1_AFTER WANTED".
reloadloop() {
	_k=0
	_c=A
	while running && [ $_k -lt $((DUR / RELOAD + 1)) ]; do
		nap $RELOAD
		running || break
		if [ $_c = A ]; then _c=B; _w=$W_B; else _c=A; _w=$W_A; fi
		cp "$TMP/conf.$_c" "$TMP/loadd.conf.new"
		mv "$TMP/loadd.conf.new" "$TMP/loadd.conf"
		_t=$(now_ms)
		_a=$(ctl reload 2>&1 | tr ' ' _)
		_g=$(ctl -j show servers 2>/dev/null | jq -r \
		    '.[] | select(.server == "198.18.1.11:80") | .configured_weight')
		echo "$_t $_c ${_a:-none} ${_g:-none} $_w"
		_k=$((_k + 1))
	done > "$1"
}
# server_state N: loadd's state of server N's HTTP service (IPv4).
server_state() {
	ctl -j show servers 2>/dev/null | jq -r --arg s "198.18.1.1$1:80" \
	    '.[] | select(.server == $s) | .state'
}
# flaploop OUT: nginx of server F stopped, FLAP_DOWN s later started
# again; OUT gets "STOP_MS DOWN_SEEN_MS START_MS UP_SEEN_MS" (0 when not
# seen within its bound).
flaploop() {
	nap $FLAP_AT
	_k=0
	while running && [ $_k -lt $((DUR / FLAP + 1)) ] &&
	    [ $(($(now_ms) + (FLAP_DOWN + 20) * 1000)) -lt "$END" ]; do
		_m=$(cat "$TMP/s$F/nginx.pid")
		_t=$(now_ms)
		kill "$_m"
		_d=0
		_i=0
		while [ $_i -lt 200 ]; do
			if [ "$(server_state $F)" = down ]; then
				_d=$(now_ms)
				break
			fi
			sleep 0.1
			_i=$((_i + 1))
		done
		_i=0
		while kill -0 "$_m" 2>/dev/null && [ $_i -lt 100 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		_u=$((_t + FLAP_DOWN * 1000))
		while [ "$(now_ms)" -lt $_u ]; do sleep 0.5; done
		_s=$(now_ms)
		ns_s $F nginx -c "$TMP/s$F/nginx.conf" -e "$TMP/s$F/error.log"
		_up=0
		_i=0
		while [ $_i -lt 200 ]; do
			if [ "$(server_state $F)" = up ]; then
				_up=$(now_ms)
				break
			fi
			sleep 0.1
			_i=$((_i + 1))
		done
		echo "$_t $_d $_s $_up"
		_k=$((_k + 1))
		nap $((FLAP - FLAP_DOWN))
	done > "$1"
}
# agentloop OUT: lmd of s1, s2, s3 in turn killed and started again;
# OUT gets "MS SERVER HEARD_MS" (0: its reports not taken within 10 s).
agentloop() {
	nap $AGENT_AT
	_k=0
	while running && [ $_k -lt $((DUR / AGENT + 1)) ]; do
		_n=$((_k % 3 + 1))
		_j=$(cat "$TMP/lmd$_n.job")
		_t=$(now_ms)
		kill "$_j"
		_i=0
		while kill -0 "$_j" 2>/dev/null && [ $_i -lt 50 ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
		lmd_start $_n
		_h=0
		_i=0
		while [ $_i -lt 100 ]; do
			if agent_seen $_n "$_t"; then
				_h=$(now_ms)
				break
			fi
			sleep 0.1
			_i=$((_i + 1))
		done
		echo "$_t s$_n $_h"
		_k=$((_k + 1))
		nap $AGENT
	done > "$1"
}
# pollloop OUT: what an operator's tools ask every POLL s; OUT gets
# "MS COMMAND RC".
pollloop() {
	_k=0
	while running && [ $_k -lt $((DUR / POLL + 1)) ]; do
		_t=$(now_ms)
		ctl show stats > /dev/null 2>&1
		echo "$_t show_stats $?"
		ctl -j show servers 2>/dev/null | jq -e length > /dev/null 2>&1
		echo "$_t json_show_servers $?"
		ctl metrics 2>/dev/null | grep -q '^loadd_'
		echo "$_t metrics $?"
		_k=$((_k + 1))
		nap $POLL
	done > "$1"
}
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# csum NS...: checksum errors counted by the receivers of these
# namespaces (TCP over both families, UDP, UDP over IPv6).
csum() {
	for _ns in "$@"; do
		ip netns exec "lab$LAB-$_ns" nstat -asz TcpInCsumErrors \
		    UdpInCsumErrors Udp6InCsumErrors
	done | awk '/InCsumErrors/ { s += $2 } END { print s + 0 }'
}
COLS="t_s rss_kb rss_parent_kb fds fds_parent flows packets flows_inserted flows_expired flows_evicted flows_table_full io_errors io_overruns dropped refused probes_failed state_changes agent_accepted csum_client csum_servers"
# sampleloop OUT: one CSV line every SAMPLE s.
sampleloop() {
	echo "$COLS" | tr ' ' , > "$1"
	_k=0
	while running && [ $_k -lt $((DUR / SAMPLE + 2)) ]; do
		_t=$(now_ms)
		_j=$(ctl -j show stats 2>/dev/null | jq -r '[.flows, .packets,
		    .flows_inserted, .flows_expired, .flows_evicted,
		    .flows_table_full, .io_errors, .io_overruns, .dropped,
		    .refused, .probes_failed, .state_changes,
		    .agent_reports.accepted] | map(tostring) | join(",")' 2>/dev/null)
		echo "$(( (_t - T0) / 1000 )),$(rss_kb $PP),$(rss_kb $LOADD_PID),$(nfds $PP),$(nfds $LOADD_PID),${_j:-,,,,,,,,,,,,},$(csum c),$(csum s1 s2 s3)"
		_k=$((_k + 1))
		_u=$((_t + SAMPLE * 1000))
		while running && [ "$(now_ms)" -lt $_u ]; do sleep 0.5; done
	done >> "$1"
}

reqloop "$TMP/req4" "http://$VIP/" &
JOBS="$JOBS $!"
reqloop "$TMP/req6" "http://[$VIP6]/" &
JOBS="$JOBS $!"
udploop "$TMP/udp" &
JOBS="$JOBS $!"
blastloop &
JOBS="$JOBS $!"
wrkloop "$TMP/wrk" &
JOBS="$JOBS $!"
reloadloop "$TMP/reload" &
JOBS="$JOBS $!"
flaploop "$TMP/flap" &
JOBS="$JOBS $!"
agentloop "$TMP/agent" &
JOBS="$JOBS $!"
pollloop "$TMP/poll" &
JOBS="$JOBS $!"
sampleloop "$TMP/soak.csv" &
SAMPLER=$!
JOBS="$JOBS $SAMPLER"

# Progress, once a minute (the loops end by themselves at END).
while [ "$(now_ms)" -lt "$END" ]; do
	_u=$(($(now_ms) + 60000))
	[ $_u -gt "$END" ] && _u=$END
	while [ "$(now_ms)" -lt $_u ]; do sleep 1; done
	echo "# $(( ($(now_ms) - T0) / 1000 )) s: $(tail -1 "$TMP/soak.csv")"
done
# Every loop stops by itself; a request or wrk chunk in flight ends
# within its own timeout.
for p in $JOBS; do
	[ "$p" = "$DL" ] && continue
	wait "$p"
done
wait "$DL"
DLRC=$?
JOBS=""

# --- the judgement --------------------------------------------------------------
echo "# $(wc -l < "$TMP/soak.csv") lines in the CSV, columns: $COLS"
# Flap windows, "FROM_MS TO_MS": from a request timeout before nginx
# stopped to the slack after it.
# The first line, "0 0", is no window: it keeps the file from being empty
# for the awk programs below, which tell it from the next by NR == FNR.
awk -v pre=$((REQ_TIMEOUT * 1000)) -v post=$((SLACK * 1000)) \
    'BEGIN { print "0 0" } { printf "%.0f %.0f\n", $1 - pre, $1 + post }' \
    "$TMP/flap" > "$TMP/windows"
nflaps=$(wc -l < "$TMP/flap")
# outside FILE: the failures of FILE ("MS failX") outside every window.
outside() {
	awk 'NR == FNR { a[NR] = $1; b[NR] = $2; n = NR; next }
	    $2 ~ /^fail/ { for (i = 1; i <= n; i++)
		if ($1 >= a[i] && $1 <= b[i]) next; print }' \
	    "$TMP/windows" "$1"
}
for f in req4:"new connections, IPv4" req6:"new connections, IPv6" \
    udp:"UDP requests"; do
	file=$TMP/${f%%:*}
	total=$(wc -l < "$file")
	nfail=$(grep -c ' fail' "$file")
	outside "$file" > "$TMP/out"
	nout=$(wc -l < "$TMP/out")
	check "[ $total -ge 10 ] && [ $nout -eq 0 ]" \
	    "${f#*:}: $total, $nfail failed, $nout of them outside a flap window"
	head -5 "$TMP/out" | while read -r t a; do
		echo "#   $a at $(( (t - T0) / 1000 )).$(( (t - T0) % 1000 / 100 )) s"
	done
done
# wrk: a chunk that overlaps a window may have errors, no other.
wrkbad=$(awk 'NR == FNR { a[NR] = $1 - '$((WRK_TIMEOUT * 1000))'; b[NR] = $2; n = NR; next }
    { ex = 0; for (i = 1; i <= n; i++) if ($1 <= b[i] && $2 >= a[i]) ex = 1
      if ($4 > 0 && !ex) bad++ }
    END { print bad + 0 }' "$TMP/windows" "$TMP/wrk")
check "[ $(wc -l < "$TMP/wrk") -ge 2 ] && [ $wrkbad -eq 0 ]" \
    "keep-alive (wrk): $(wc -l < "$TMP/wrk") chunks, $(awk '{ s += $3 } END { print s + 0 }' "$TMP/wrk") requests, $(awk '{ s += $4 } END { print s + 0 }' "$TMP/wrk") errors, $wrkbad chunk(s) with errors away from a flap"
# Flaps: each one seen down within the slack and up again.
fbad=$(awk -v s=$((SLACK * 1000)) '$2 == 0 || $2 - $1 > s || $4 == 0 { b++ }
    END { print b + 0 }' "$TMP/flap")
fdesc=$(awk '{ printf " %.1f", ($2 - $1) / 1000 }' "$TMP/flap")
check "[ $nflaps -ge 1 ] && [ $fbad -eq 0 ]" \
    "$nflaps flap(s) of s$F, each seen down by loadd within $SLACK s and up again (seen down after, s:${fdesc:- none})"
abad=$(awk '$3 == 0 { b++ } END { print b + 0 }' "$TMP/agent")
adesc=$(awk '{ printf " %s %.1f", $2, ($3 - $1) / 1000 }' "$TMP/agent")
check "[ $(wc -l < "$TMP/agent") -ge 1 ] && [ $abad -eq 0 ]" \
    "$(wc -l < "$TMP/agent") agent restart(s), each heard again by loadd within 10 s (server, s:${adesc:- none})"
rl=$(awk '$3 != "reload:_OK" || $4 != $5 { bad++ } END { print bad + 0, NR }' "$TMP/reload")
set -- $rl
check "[ $2 -ge 2 ] && [ $1 -eq 0 ]" \
    "$2 reloads, each answered \"reload: OK\" with the other weights in effect ($1 not)"
awk '$3 != "reload:_OK" || $4 != $5' "$TMP/reload" | head -3 | sed 's/^/#   /'
pl=$(awk '$3 != 0 { bad++ } END { print bad + 0, NR }' "$TMP/poll")
set -- $pl
check "[ $2 -ge 3 ] && [ $1 -eq 0 ]" "$2 loadctl polls, $1 unanswered"
check "[ $DLRC -eq 0 ] && [ \"\$(cat '$TMP/dl.out')\" = '200 10485760' ] && cmp -s '$TMP/got' '$TMP/big'" \
    "the slow download from s$K: curl exit $DLRC, $(cat "$TMP/dl.out"), $(cmp -s "$TMP/got" "$TMP/big" && echo byte-identical || echo DIFFERENT)"
# Checksum errors: the last sample and now.
cc=$(csum c)
cs=$(csum s1 s2 s3)
check "[ $cc -eq 0 ] && [ $cs -eq 0 ]" \
    "no checksum error in the receivers (client $cc, servers $cs)"
check "kill -0 $LOADD_PID 2>/dev/null && [ \"\$(pgrep -P $LOADD_PID -x loadd)\" = $PP ]" \
    "loadd still running, the same packet process ($PP)"

# Growth: the last third of the samples against the middle third.
# third COLUMN: "MIN MAX MEAN" of the middle third and of the last.
third() {
	awk -F, -v c="$1" 'NR > 1 && $c != "" { v[++n] = $c }
	    function st(a, b,   i, lo, hi, s) { lo = v[a]; hi = v[a]
		for (i = a; i <= b; i++) { if (v[i] < lo) lo = v[i]
		    if (v[i] > hi) hi = v[i]; s += v[i] }
		return lo " " hi " " int(s / (b - a + 1)) }
	    END { m = int(n / 3); print st(m + 1, 2 * m), st(2 * m + 1, n) }' \
	    "$TMP/soak.csv"
}
colno() { echo "$COLS" | tr ' ' '\n' | grep -nx "$1" | cut -d: -f1; }
# RSS: the mean of the last third at most 2 % (and 512 kB) above the
# middle third's, and its peak at most 2 % above.
set -- $(third "$(colno rss_kb)")
check "[ $# -eq 6 ] && [ $6 -le \$(($3 + $3 / 50 + 512)) ] && [ $5 -le \$(($2 + $2 / 50 + 512)) ]" \
    "packet process RSS levels off: middle third ${1:-?}..${2:-?} kB (mean ${3:-?}), last third ${4:-?}..${5:-?} kB (mean ${6:-?})"
set -- $(third "$(colno rss_parent_kb)")
check "[ $# -eq 6 ] && [ $5 -le \$(($2 + $2 / 50 + 512)) ]" \
    "privileged parent RSS levels off: middle third ${1:-?}..${2:-?} kB, last third ${4:-?}..${5:-?} kB"
# Descriptors: probes open and close sockets, so the count moves by a
# few; its floor must not rise, nor its peak by more than the probes.
set -- $(third "$(colno fds)")
check "[ $# -eq 6 ] && [ $4 -le \$(($1 + 2)) ] && [ $5 -le \$(($2 + 8)) ]" \
    "packet process descriptors level off: middle third ${1:-?}..${2:-?}, last third ${4:-?}..${5:-?}"
set -- $(third "$(colno fds_parent)")
check "[ $# -eq 6 ] && [ $5 -le \$(($2 + 1)) ]" \
    "privileged parent descriptors level off: middle third ${1:-?}..${2:-?}, last third ${4:-?}..${5:-?}"
# Flows follow the traffic, whose rate moves with the machine's load:
# what must not grow is how long a flow stays in the table, the mean
# flow count over the rate of new flows (Little's law).  The last third's
# at most a half above the middle third's (and 30 s), and the table never
# full.
life() {
	awk -F, -v f="$(colno flows)" -v ins="$(colno flows_inserted)" '
	    NR > 1 { t[++n] = $1; fl[n] = $f; in_[n] = $ins }
	    function st(a, b,   i, s, r) { for (i = a; i <= b; i++) s += fl[i]
		r = (in_[b] - in_[a]) / (t[b] - t[a] + 0.001)
		return int(s / (b - a + 1)) " " sprintf("%.1f", r) " " \
		    (r > 0 ? int(s / (b - a + 1) / r) : 0) }
	    END { m = int(n / 3); print st(m + 1, 2 * m), st(2 * m + 1, n) }' \
	    "$TMP/soak.csv"
}
set -- $(life)
full=$(tail -1 "$TMP/soak.csv" | cut -d, -f"$(colno flows_table_full)")
check "[ $# -eq 6 ] && [ $6 -le \$(($3 + $3 / 2 + 30)) ] && [ '${full:-x}' = 0 ]" \
    "flows level off: middle third ${1:-?} flows at ${2:-?} new/s, ${3:-?} s each; last third ${4:-?} at ${5:-?} new/s, ${6:-?} s each; table full ${full:-?} times"

# Counters only grow, through reloads and flaps too.
back=""
for c in packets flows_inserted flows_expired flows_evicted io_errors \
    io_overruns dropped refused probes_failed state_changes agent_accepted; do
	k=$(colno $c)
	b=$(awk -F, -v k="$k" 'NR > 2 && $k != "" && p != "" && $k + 0 < p + 0 {
	    printf "%s %s -> %s at %s s; ", c, p, $k, $1; exit }
	    NR > 1 && $k != "" { p = $k }' c=$c "$TMP/soak.csv")
	back="$back$b"
done
back=${back%; }
check "[ -z '$back' ]" "no counter went backwards over $(($(wc -l < "$TMP/soak.csv") - 1)) samples${back:+: $back}"

last=$(tail -1 "$TMP/soak.csv")
echo "# last sample: $last"
echo "# counters at the end: $(ctl show stats | awk 'NF == 2 && $2 ~ /^[0-9]+$/ && $2 != 0 { printf "%s=%s ", $1, $2 }')"

# --- results: the CSV, a summary and the chart ----------------------------------
if [ -n "$OUT" ]; then
	mkdir -p "$OUT"
	cp "$TMP/soak.csv" "$OUT/soak.csv"
	dat=$TMP/soak.dat
	awk -F, 'NR > 1 { print $1 / 60, $2 / 1024, $3 / 1024, $4, $6 }' \
	    "$TMP/soak.csv" > "$dat"
	awk -v t0="$T0" '{ printf "%.2f %.2f\n", ($1 - t0) / 60000, ($3 - t0) / 60000 }' \
	    "$TMP/flap" > "$TMP/flaps.dat"
	awk -v t0="$T0" '{ printf "%.2f\n", ($1 - t0) / 60000 }' \
	    "$TMP/reload" > "$TMP/reloads.dat"
	gnuplot <<GP || echo "gnuplot failed" >&2
set terminal pngcairo size 960,720 font "sans,11"
set output "$TMP/soak.png"
set multiplot layout 2,1 title "loadd soak, $(date -u +%Y-%m-%d): $MIN minutes, reload every ${RELOAD} s (ticks at the top), s$F flapping (grey)"
set grid
set key top left
set xrange [0:$MIN]
set xlabel "minutes"
set ylabel "MB"
set yrange [0:*]
set y2label "open descriptors"
set y2range [0:*]
set y2tics
set ytics nomirror
set style rect fc rgb "#dddddd" fs solid 1 noborder
$(awk '{ printf "set object %d rect from %s, graph 0 to %s, graph 1 behind\n", NR, $1, $2 }' "$TMP/flaps.dat")
$(awk '{ printf "set arrow from %s, graph 0.97 to %s, graph 1 nohead lc rgb \"#888888\"\n", $1, $1 }' "$TMP/reloads.dat")
plot "$dat" using 1:2 with lines lw 2 title "packet process RSS (MB)", \
     "$dat" using 1:3 with lines lw 2 title "privileged parent RSS (MB)", \
     "$dat" using 1:4 axes x1y2 with lines lw 2 title "packet process descriptors"
unset y2label
unset y2tics
set ylabel "flows"
unset arrow
plot "$dat" using 1:5 with lines lw 2 title "flows in loadd's table"
unset multiplot
GP
	[ -s "$TMP/soak.png" ] && cp "$TMP/soak.png" "$OUT/soak.png"
	{
		echo "Soak run, $(date -u +%Y-%m-%d), $MIN minutes (bench/soak.sh)"
		echo
		echo "Machine: $(nproc) CPUs, $(uname -sr); peers: $(nginx -v 2>&1 | sed 's|.*/|nginx |')," \
		    "wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null)," \
		    "curl $(curl --version | awk 'NR == 1 { print $2 }');" \
		    "UDP answers from udpecho."
		echo
		echo "Traffic: new connections IPv4 $(wc -l < "$TMP/req4")," \
		    "IPv6 $(wc -l < "$TMP/req6"), UDP requests $(wc -l < "$TMP/udp")," \
		    "wrk chunks $(wc -l < "$TMP/wrk") ($(awk '{ s += $3 } END { print s + 0 }' "$TMP/wrk") keep-alive requests)," \
		    "one 10 MB download at $RATE bytes/s;" \
		    "$(wc -l < "$TMP/reload") reloads, $nflaps flaps of s$F," \
		    "$(wc -l < "$TMP/agent") agent restarts."
		echo
		echo "Flaps (s after the start: nginx stopped, seen down, started, seen up):"
		awk -v t0="$T0" '{ printf "  %.1f %.1f %.1f %.1f\n", ($1 - t0) / 1000,
		    ($2 - t0) / 1000, ($3 - t0) / 1000, ($4 - t0) / 1000 }' "$TMP/flap"
		echo
		echo "Failed requests: IPv4 $(grep -c ' fail' "$TMP/req4")," \
		    "IPv6 $(grep -c ' fail' "$TMP/req6"), UDP $(grep -c ' fail' "$TMP/udp")" \
		    "(how many outside a flap window: the judgement below); wrk errors" \
		    "$(awk '{ s += $4 } END { print s + 0 }' "$TMP/wrk")."
		echo
		echo "First and last sample ($COLS):"
		sed -n 2p "$TMP/soak.csv"
		tail -1 "$TMP/soak.csv"
		echo
		echo "Judgement:"
		cat "$TMP/verdicts"
		echo
		tap_end
	} > "$OUT/soak.md"
	echo "written to $OUT: soak.csv, soak.md, soak.png"
fi
# SOAK_KEEP=DIR keeps the raw logs (requests, wrk chunks, reloads, flaps,
# agent restarts, polls) and the CSV there.
if [ -n "${SOAK_KEEP:-}" ]; then
	mkdir -p "$SOAK_KEEP"
	for f in req4 req6 udp wrk reload flap agent poll windows soak.csv \
	    dl.out verdicts; do
		cp "$TMP/$f" "$SOAK_KEEP/" 2>/dev/null
	done
	echo "$T0" > "$SOAK_KEEP/t0"
fi
tap_end
[ $fail -eq 0 ]
