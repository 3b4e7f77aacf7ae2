#!/bin/sh
# Integration: two loadd instances serving one virtual address (issue 10,
# "Proof"): ECMP in front, announced over BGP (BIRD) from each balancer
# while its loadd answers; the servers' default gateway a VRRP address
# (keepalived) that moves to the other balancer when loadd dies; Maglev on
# both, so that a flow that moves between instances keeps its server; lmd
# on every server reporting to both.
#
#                       router (BIRD, AS 65000)
#   client             ECMP VIP/32 via b1, b2          b1 (loadd, keepalived,
#  +-------------+    +---------------------+  .2.2     BIRD AS 65001)  .1.2
#  | 198.19.0.2  |----| .0.1           .2.1 |-------- [eth0   b1   eth1]----+
#  | .3 (.4: "/")|    |                .3.1 |-------- [eth0   b2   eth1]--+ |
#  +-------------+    +---------------------+  .3.2                  .1.3 | |
#                                                                      switch
#   VIP 198.19.100.1:80, routed by the router         (bridge) 198.19.1.0/24
#   to b1 and b2, assigned nowhere.  Gateway           s1 .11  s2 .12  s3 .13
#   198.19.1.1: VRRP between b1 (priority 150)         (s4 .14 joins later)
#   and b2 (100); FAULT while loadd is gone.           nginx + lmd each
#
#  0. The sample configurations in etc/ parse (keepalived -t, bird -p,
#     vtysh --dryrun where FRR is installed).
#  1. Up: BGP gives the router a two-way multipath route (L4 hash), b1
#     holds the gateway, both instances take every agent's reports.
#  2. 50 rate-limited 10 MB downloads from two client addresses; mid-run
#     b1's loadd gets SIGTERM.  Its watcher (etc/loadd-alive.sh) withdraws
#     the BGP route, keepalived moves the gateway to b2, b2 takes b1's
#     flows over by Maglev.  Still mid-run, b1's loadd is started again:
#     route and gateway come back, b1 takes over flows it never saw.  At
#     least 98% of the downloads finish byte-identical, new connections
#     ("/") keep being served, b2 keeps taking agent reports.
#  3. 50 more downloads; mid-run s4 is added to both instances (rules
#     again, then loadctl reload): the downloads finish, none moves to
#     s4, and about a quarter of the new connections go to s4.
#  4. The log shows which instance carried how many flows, before and
#     after the kill.
#
# LAB_OFFLOAD=bpf runs both instances with offload = bpf (the eBPF fast
# path on eth0 and eth1 of each balancer, pins of each on a bpffs of this
# test's own): a flow that moves between instances then leaves map
# entries behind on the one it left, and the one that comes back adopts
# its pinned map.
#
# Without bird/birdc (or with SCALEOUT_BGP=emulate) the BGP speakers are
# emulated: a static multipath route, and the watcher deletes the
# balancer's next hop itself.  Needs root, keepalived, bird2, nginx, curl,
# jq.  198.19.0.0/16 (RFC 2544 benchmark range) stays inside the
# namespaces made here.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=x$$
TMP=$(mktemp -d)
case $O in /*) B=$O ;; *) B=$PWD/$O ;; esac
LOADD=$B/loadd
LMD=$B/lmd
LOADCTL=$B/loadctl
ALIVE=$PWD/etc/loadd-alive.sh
. tests/lib/tap.sh

VIP=198.19.100.1
GW=198.19.1.1
N=50			# downloads per run
RATE=${SCALEOUT_RATE:-700k}	# 10 MB in about 15 s
BIG=10485760
BGP=bird
if [ "${SCALEOUT_BGP:-}" = emulate ] || ! command -v bird > /dev/null ||
    ! command -v birdc > /dev/null; then
	BGP=emulate
fi

BPFFS=""		# LAB_OFFLOAD=bpf: the bpffs of the instances' pins
BG=""			# background jobs: curl, loops, watchers, lmd
DAEMONS=""		# keepalived, bird: each stops its own children
LOADD1="" LOADD2=""	# loadd in b1, b2 (the privileged parent)

ns() { _ns=$1; shift; ip netns exec "lab$LAB-$_ns" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
ctl() { _b=$1; shift; "$LOADCTL" -s "$TMP/ctl$_b.sock" "$@"; }
srv() { echo "198.19.1.1$1"; }

# Kills a process and its children, by pid.
killtree() {
	for _c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		killtree "$_c"
	done
	kill "$1" 2>/dev/null
}

cleanup() {
	set +e
	touch "$TMP/stop-loop" "$TMP/stop-sampler"
	for _p in $BG; do killtree "$_p"; done
	for _p in $DAEMONS $LOADD1 $LOADD2; do kill "$_p" 2>/dev/null; done
	for _f in "$TMP"/*.pid "$TMP"/s?/nginx.pid; do
		_p=$(cat "$_f" 2>/dev/null) && [ -n "$_p" ] && kill "$_p" 2>/dev/null
	done
	sleep 0.3
	# Whatever still runs in this lab's namespaces (only what this test
	# started can be there), by pid.
	for _n in c r b1 b2 sw s1 s2 s3 s4; do
		for _p in $(ip netns pids "lab$LAB-$_n" 2>/dev/null); do
			kill "$_p" 2>/dev/null
		done
	done
	_i=0
	while [ $_i -lt 40 ]; do
		_left=""
		for _n in c r b1 b2 sw s1 s2 s3 s4; do
			_left="$_left$(ip netns pids "lab$LAB-$_n" 2>/dev/null)"
		done
		[ -z "$_left" ] && break
		sleep 0.1
		_i=$((_i + 1))
	done
	for _n in c r b1 b2 sw s1 s2 s3 s4; do
		for _p in $(ip netns pids "lab$LAB-$_n" 2>/dev/null); do
			kill -9 "$_p" 2>/dev/null
		done
	done
	for _p in $BG $DAEMONS $LOADD1 $LOADD2; do wait "$_p" 2>/dev/null; done
	for _n in c r b1 b2 sw s1 s2 s3 s4; do
		ip netns del "lab$LAB-$_n" 2>/dev/null
	done
	if [ -n "$BPFFS" ]; then
		rm -rf "$BPFFS/b1" "$BPFFS/b2"
		umount "$BPFFS" 2>/dev/null
		rmdir "$BPFFS" 2>/dev/null
	fi
	rm -rf "$TMP/big" "$TMP/run2" "$TMP/run3"
	# On failure, the daemons' last words.
	if [ "$fail" -gt 0 ]; then
		for _f in "$TMP"/loadd?.log "$TMP"/ka?.log "$TMP"/alive?.log \
		    "$TMP"/bird-*.log "$TMP"/lmd?.log; do
			[ -s "$_f" ] || continue
			echo "# --- ${_f##*/} (last lines)"
			tail -n 12 "$_f" | sed 's/^/#   /'
		done
	fi
	# SCALEOUT_KEEP=DIR keeps the logs and configurations there.
	[ -n "${SCALEOUT_KEEP:-}" ] && cp -r "$TMP" "$SCALEOUT_KEEP"
	rm -rf "$TMP"
	return 0
}
trap 'cleanup; tap_end' EXIT
trap 'notok "interrupted"; exit 1' INT TERM HUP

for _b in "$LOADD" "$LMD" "$LOADCTL"; do
	if [ ! -x "$_b" ]; then
		notok "$_b is built (make tests)"
		exit 1
	fi
done
for _c in keepalived nginx curl jq; do
	if ! command -v $_c > /dev/null; then
		notok "$_c is installed (tests/deps.sh)"
		exit 1
	fi
done
if [ "${LAB_OFFLOAD:-}" = bpf ]; then
	BPFFS=/run/loadd-lab$LAB-bpffs
	if ! mkdir -p "$BPFFS" || ! mount -t bpf bpffs "$BPFFS"; then
		notok "a bpffs for LAB_OFFLOAD=bpf at $BPFFS"
		exit 1
	fi
	echo "# LAB_OFFLOAD=bpf: both instances with offload = bpf (pins in $BPFFS)"
fi
[ $BGP = emulate ] && echo "# no bird/birdc (or SCALEOUT_BGP=emulate): BGP emulated by deleting next hops"

# --- the network ------------------------------------------------------------
# veth NAME1 NS1 IF1 NS2 IF2
veth() {
	ip link add "$1a$LAB" type veth peer name "$1b$LAB" &&
	ip link set "$1a$LAB" netns "lab$LAB-$2" name "$3" &&
	ip link set "$1b$LAB" netns "lab$LAB-$4" name "$5"
}
addr() { ns "$1" ip addr add "$3" dev "$2" && ns "$1" ip link set "$2" up; }

net_up() {
	for _n in c r b1 b2 sw s1 s2 s3 s4; do
		ip netns add "lab$LAB-$_n" || return 1
		ns $_n ip link set lo up
	done
	veth c c eth0 r eth0 &&
	veth r1 r eth1 b1 eth0 &&
	veth r2 r eth2 b2 eth0 || return 1
	addr c eth0 198.19.0.2/24 && ns c ip addr add 198.19.0.3/24 dev eth0 &&
	ns c ip addr add 198.19.0.4/24 dev eth0 &&
	ns c ip route add default via 198.19.0.1 || return 1
	addr r eth0 198.19.0.1/24 && addr r eth1 198.19.2.1/24 &&
	addr r eth2 198.19.3.1/24 || return 1
	# L4 hash: the flows of one client spread over both balancers.
	ns r sysctl -qw net.ipv4.ip_forward=1 \
	    net.ipv4.fib_multipath_hash_policy=1 || return 1
	ns sw ip link add br0 type bridge &&
	ns sw ip link set br0 up || return 1
	for _b in 1 2; do
		addr b$_b eth0 198.19.$((_b + 1)).2/24 &&
		ns b$_b ip route add default via 198.19.$((_b + 1)).1 &&
		veth w$_b b$_b eth1 sw p$_b &&
		addr b$_b eth1 198.19.1.$((_b + 1))/24 || return 1
		ns sw ip link set p$_b master br0 && ns sw ip link set p$_b up ||
		    return 1
	done
	for _n in 1 2 3 4; do
		veth w$((_n + 2)) s$_n eth0 sw p$((_n + 2)) &&
		addr s$_n eth0 "$(srv $_n)/24" &&
		ns s$_n ip route add default via $GW || return 1
		ns sw ip link set p$((_n + 2)) master br0 &&
		ns sw ip link set p$((_n + 2)) up || return 1
	done
	# The replies of a flow may leave through the other balancer than
	# its packets came in by: no reverse-path filter on the way.
	for _n in r b1 b2; do
		ns $_n sysctl -qw net.ipv4.conf.all.rp_filter=0 \
		    net.ipv4.conf.default.rp_filter=0 || return 1
		for _i in eth0 eth1 eth2; do
			ns $_n sysctl -qw net.ipv4.conf.$_i.rp_filter=0 2>/dev/null
		done
	done
	return 0
}

# nginx on each server: "/" answers its name, /big is 10 MB sent at
# $RATE per connection (curl's own --limit-rate, 7.88, lets some
# downloads through in 3 s), so that every download runs for about 15 s;
# the access log names each request's client address and port, so that
# a download can be told by the server that served it.
servers_up() {
	chmod 755 "$TMP"
	head -c $BIG /dev/urandom > "$TMP/big"
	chmod 644 "$TMP/big"
	for _n in 1 2 3 4; do
		_d="$TMP/s$_n"
		mkdir -p "$_d/www" "$_d/tmp"
		ln -sf "$TMP/big" "$_d/www/big"
		cat > "$_d/nginx.conf" <<NGINX
daemon on;
worker_processes 1;
pid $_d/nginx.pid;
error_log $_d/error.log;
events { worker_connections 1024; }
http {
	log_format so '\$remote_addr:\$remote_port \$request_uri \$status \$body_bytes_sent';
	access_log $_d/access.log so;
	client_body_temp_path $_d/tmp;
	proxy_temp_path $_d/tmp;
	fastcgi_temp_path $_d/tmp;
	uwsgi_temp_path $_d/tmp;
	scgi_temp_path $_d/tmp;
	server {
		listen 80;
		root $_d/www;
		location = / { default_type text/plain; return 200 "s$_n\n"; }
		location = /big { limit_rate $RATE; }
	}
}
NGINX
		ns s$_n nginx -c "$_d/nginx.conf" -e "$_d/error.log" || return 1
	done
}

# The configuration both instances share: Maglev, HTTP probes, the
# agents' key.  Passive detection is off: a balancer that is not the
# gateway sees the clients' SYNs but never the servers' SYN+ACKs, and
# would take every server down for not answering.  With LAB_OFFLOAD=bpf
# each instance reads its own copy, loadd-bN.conf: the offload lines (its
# pins apart from the other's: both are in the host's mount namespace)
# and the shared file.
conf() {
	if [ -n "$BPFFS" ]; then echo "$TMP/loadd-b$1.conf"
	else echo "$TMP/loadd.conf"; fi
}
loadd_conf() {
	{
		echo "keyfile = $TMP/key"
		echo "check = http"
		echo "check_interval = 1"
		echo "passive = no"
		echo "ipaliasing = $VIP"
		echo "ports = 80"
		echo "servers = $1"
		echo "balancingmode = maglev"
	} > "$TMP/loadd.conf.new" && mv "$TMP/loadd.conf.new" "$TMP/loadd.conf"
	[ -n "$BPFFS" ] || return 0
	for _b in 1 2; do
		{
			echo "offload = bpf"
			echo "offload_interfaces = eth0, eth1"
			echo "offload_pin = $BPFFS/b$_b"
			cat "$TMP/loadd.conf"
		} > "$(conf $_b).new" && mv "$(conf $_b).new" "$(conf $_b)" ||
		    return 1
	done
}

# loadd_start N: rules and loadd in balancer bN.
loadd_start() {
	"$LOADD" -R -f "$(conf $1)" | ns b$1 sh -e || return 1
	ip netns exec "lab$LAB-b$1" "$LOADD" -f "$(conf $1)" -v \
	    -s "$TMP/ctl$1.sock" >> "$TMP/loadd$1.log" 2>&1 &
	eval "LOADD$1=$!"
	_i=0
	until ctl $1 show stats > /dev/null 2>&1; do
		_i=$((_i + 1))
		[ $_i -ge 50 ] && return 1
		sleep 0.1
	done
}

# keepalived in bN: the gateway address, priority 150 on b1 and 100 on
# b2.  While loadd does not answer, the instance is in FAULT state (the
# script has no weight): it gives the address up at once and tells the
# other with a priority 0 advertisement, so that the backup takes over
# without waiting for three missed advertisements.  The same check as
# the sample etc/keepalived/keepalived.conf.
vrrp_start() {
	_p=$((200 - 50 * $1))
	cat > "$TMP/ka$1.conf" <<KA
global_defs {
	router_id lab$LAB-b$1
	script_user root
	enable_script_security
}
vrrp_script chk_loadd {
	script "/bin/sh $ALIVE -s $TMP/ctl$1.sock -l $LOADCTL -t 2"
	interval 1
	timeout 3
	fall 2
	rise 2
}
vrrp_instance gw {
	state BACKUP
	interface eth1
	virtual_router_id 51
	priority $_p
	advert_int 1
	virtual_ipaddress {
		$GW/24 dev eth1
	}
	track_script {
		chk_loadd
	}
}
KA
	ip netns exec "lab$LAB-b$1" keepalived -n -l -D -G -P \
	    -f "$TMP/ka$1.conf" -p "$TMP/ka$1.pid" -r "$TMP/ka$1-vrrp.pid" \
	    > "$TMP/ka$1.log" 2>&1 &
	DAEMONS="$DAEMONS $!"
}

# BGP: the router learns VIP/32 from both balancers and installs one
# multipath route (merge paths); each balancer announces it while its
# watcher finds loadd alive (static protocol "vip", enabled by birdc).
bird_conf_router() {
	cat > "$TMP/bird-r.conf" <<BIRD
log "$TMP/bird-r.log" all;
router id 198.19.0.1;
protocol device { }
protocol kernel {
	ipv4 { import none; export all; };
	merge paths on;
}
template bgp bal {
	local as 65000;
	hold time 9;
	connect delay time 1;
	connect retry time 1;
	error wait time 1, 5;
	ipv4 { import all; export none; };
}
protocol bgp b1 from bal { neighbor 198.19.2.2 as 65001; }
protocol bgp b2 from bal { neighbor 198.19.3.2 as 65001; }
BIRD
}
bird_conf_bal() {
	cat > "$TMP/bird-b$1.conf" <<BIRD
log "$TMP/bird-b$1.log" all;
router id 198.19.$(($1 + 1)).2;
protocol device { }
protocol static vip {
	disabled yes;
	ipv4;
	route $VIP/32 blackhole;
}
protocol bgp up {
	local as 65001;
	neighbor 198.19.$(($1 + 1)).1 as 65000;
	hold time 9;
	connect delay time 1;
	connect retry time 1;
	error wait time 1, 5;
	ipv4 { import none; export where proto = "vip"; };
}
BIRD
}
bird_start() {
	ip netns exec "lab$LAB-$1" bird -f -c "$TMP/bird-$1.conf" \
	    -s "$TMP/bird-$1.ctl" -P "$TMP/bird-$1.pid" \
	    > "$TMP/bird-$1.out" 2>&1 &
	DAEMONS="$DAEMONS $!"
}

# The emulated speaker: the live next hops in a file, the route rebuilt
# from it under a lock.
front_emulated() {
	cat > "$TMP/front.sh" <<'EOS'
#!/bin/sh
# front.sh TMP LAB VIP add|del NEXTHOP
set -u
exec 9> "$1/front.lock"
flock 9
touch "$1/nexthops"
grep -vx "$5" "$1/nexthops" > "$1/nexthops.new"
[ "$4" = add ] && echo "$5" >> "$1/nexthops.new"
sort -u "$1/nexthops.new" > "$1/nexthops"
hops=""
for h in $(cat "$1/nexthops"); do hops="$hops nexthop via $h"; done
if [ -n "$hops" ]; then
	ip -n "lab$2-r" route replace "$3/32" $hops
else
	ip -n "lab$2-r" route del "$3/32" 2>/dev/null || true
fi
EOS
}

# watcher N: etc/loadd-alive.sh in bN, announcing or withdrawing.
watcher_start() {
	if [ $BGP = bird ]; then
		_u="birdc -s $TMP/bird-b$1.ctl enable vip"
		_d="birdc -s $TMP/bird-b$1.ctl disable vip"
	else
		_u="sh $TMP/front.sh $TMP $LAB $VIP add 198.19.$(($1 + 1)).2"
		_d="sh $TMP/front.sh $TMP $LAB $VIP del 198.19.$(($1 + 1)).2"
	fi
	ip netns exec "lab$LAB-b$1" sh "$ALIVE" -w -s "$TMP/ctl$1.sock" \
	    -l "$LOADCTL" -t 2 -i 0.5 -f 2 -r 2 -n 1200 -u "$_u" -d "$_d" \
	    >> "$TMP/alive$1.log" 2>&1 &
	BG="$BG $!"
}

# lmd_start N: the agent of sN, reporting to both balancers.
lmd_start() {
	cat > "$TMP/lmd$1.conf" <<CONF
loaddservers = 198.19.1.2, 198.19.1.3
keyfile = $TMP/key
service = $(srv $1):80
interval = 0.5
check = http
check_url = http://$(srv $1):80/
check_timeout = 1
pidfile = $TMP/lmd$1.pid
CONF
	ip netns exec "lab$LAB-s$1" "$LMD" -f "$TMP/lmd$1.conf" -v \
	    > "$TMP/lmd$1.log" 2>&1 &
	BG="$BG $!"
}

# nexthops: the router's next hops for the VIP, "b1 b2", "b2"...
nexthops() {
	ns r ip route show "$VIP/32" | awk '
	    /via 198\.19\.2\.2/ { a = a " b1" } /via 198\.19\.3\.2/ { a = a " b2" }
	    END { sub(/^ /, "", a); print a }'
}
# gateway: which balancer holds the VRRP address.
gateway() {
	_g=""
	for _b in 1 2; do
		ns b$_b ip -4 addr show dev eth1 | grep -q "inet $GW/" &&
		    _g="$_g b$_b"
	done
	echo ${_g# }
}
# wait_for CMD WANT SECONDS: polls CMD every 0.1 s until it prints WANT.
wait_for() {
	_end=$(($(now_ms) + $3 * 1000))
	_i=0
	while [ $_i -lt $(($3 * 10 + 10)) ]; do
		[ "$($1)" = "$2" ] && return 0
		[ "$(now_ms)" -ge $_end ] && return 1
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# --- JSON from loadctl -----------------------------------------------------
SHORT='s/198\.19\.1\.1\([0-9]\):80/s\1/g'
# agent_acc N: the agent reports instance bN has accepted.
agent_acc() { ctl $1 -j show stats 2>/dev/null | jq -r '.agent_reports.accepted // empty'; }
# agent_ages N: the agent ages bN shows, "s1 300 s2 120 ..." (ms).
agent_ages() {
	ctl $1 -j show servers 2>/dev/null | jq -r '[.[] |
	    "\(.server) \(.agent.age_ms // "none")"] | join(", ")' | sed "$SHORT"
}
# max_age N: the largest agent age bN shows, ms (99999: none).
max_age() {
	_a=$(ctl $1 -j show servers 2>/dev/null |
	    jq -r '[.[] | (.agent.age_ms // 99999)] | max')
	echo "${_a:-99999}"
}
# counters N: bN's flow counters.
counters() {
	ctl $1 -j show stats 2>/dev/null | jq -r '"flows in table \(.flows),
	    inserted \(.flows_inserted), recovered \(.recovered),
	    replies rewritten without a flow \(.return_noflow)"' | tr -s '\n\t ' ' '
}
# srv_flows N: per server "s1 active/total, ...".
srv_flows() {
	ctl $1 -j show servers 2>/dev/null | jq -r '[.[] |
	    "\(.server) \(.flows_active)/\(.flows_total)"] | join(", ")' | sed "$SHORT"
}
# dl_conns: the downloads running now, as the client sees them: its
# established connections from 198.19.0.2 and .3 ("/" is asked from .4).
dl_conns() {
	ns c ss -Htn state established "( dport = :80 )" |
	    awk '$3 ~ /^198\.19\.0\.[23]:/ { printf "%s%s", s, $3; s = " " }'
}
# intable N CONNS: which of the connections CONNS bN has in its flow
# table, by server: "s1 7, s2 9, s3 8 (24)"; carried N CONNS: which of
# them pass bN now (a packet within the current second of its clock:
# nginx sends evenly, so the client's ACKs are steady); carried_n N
# CONNS: how many bN has in its table.
CARRIED='($c | split(" ")) as $l | [.[] | select(.client as $x | $l | index([$x]))]'
BYSRV='(group_by(.server) | map("\(.[0].server) \(length)") | join(", ")) + " (\(length))"'
intable() {
	ctl $1 -j show flows limit 100000 2>/dev/null |
	    jq -r --arg c "$2" "$CARRIED | $BYSRV" | sed "$SHORT"
}
carried() {
	ctl $1 -j show flows limit 100000 2>/dev/null |
	    jq -r --arg c "$2" "$CARRIED | map(select(.idle_s == 0)) | $BYSRV" |
	    sed "$SHORT"
}
carried_n() {
	ctl $1 -j show flows limit 100000 2>/dev/null |
	    jq -r --arg c "$2" "$CARRIED | length"
}

# --- 1. up ------------------------------------------------------------------
T0=$(now_ms)
if ! { net_up && servers_up; }; then
	notok "lab set up (namespaces, links, nginx)"
	exit 1
fi
# The sample configurations parse: keepalived's for both balancers (in
# b1, which has the interfaces it names), BIRD's, FRR's if vtysh is here.
sed "s|/usr/local/sbin/loadd-alive.sh|/bin/sh $ALIVE|" \
    etc/keepalived/keepalived.conf > "$TMP/ka-sample.conf"
r=""
files="etc/keepalived/keepalived.conf (lb1, lb2)"
for id in lb1 lb2; do
	ns b1 keepalived -t -f "$TMP/ka-sample.conf" -i $id > "$TMP/ka-t" 2>&1 ||
	    r="$r keepalived/$id: $(tr '\n' ' ' < "$TMP/ka-t")"
done
if [ $BGP = bird ]; then
	for f in etc/bird/bird.conf etc/bird/router.conf; do
		bird -p -c $f > "$TMP/bird-p" 2>&1 || r="$r $f: $(cat "$TMP/bird-p")"
		files="$files, $f"
	done
fi
if command -v vtysh > /dev/null; then
	vtysh --dryrun --inputfile etc/frr/frr.conf > "$TMP/frr-p" 2>&1 ||
	    r="$r frr.conf: $(cat "$TMP/frr-p")"
	files="$files, etc/frr/frr.conf"
fi
check "[ -z \"\$r\" ]" "the samples parse: $files${r:+ --$r}"

umask 077
"$LMD" -k 1 > "$TMP/key"
umask 022
loadd_conf "$(srv 1), $(srv 2), $(srv 3)"
if ! "$LOADD" -n -f "$TMP/loadd.conf" > /dev/null; then
	notok "the shared loadd.conf is valid"
	exit 1
fi
if [ $BGP = bird ]; then
	bird_conf_router
	bird_conf_bal 1
	bird_conf_bal 2
	bird_start r
	bird_start b1
	bird_start b2
else
	front_emulated
fi
up=0
for b in 1 2; do
	loadd_start $b && up=$((up + 1))
	vrrp_start $b
	watcher_start $b
done
for n in 1 2 3; do lmd_start $n; done
check "[ $up -eq 2 ]" "loadd runs in b1 and b2 (maglev, same file, sockets ctl1/ctl2)"
[ $up -eq 2 ] || exit 1

wait_for nexthops "b1 b2" 30
check "[ '$(nexthops)' = 'b1 b2' ]" \
    "the router's route to $VIP has both balancers as next hops ($BGP): $(ns r ip route show $VIP/32 | tr '\n' ' ' | tr -s ' \t' ' ')"
wait_for gateway b1 15
check "[ '$(gateway)' = b1 ]" "VRRP: b1 holds the servers' gateway $GW ($(gateway))"

i=0
while [ $i -lt 50 ]; do
	[ "$(max_age 1)" -lt 2000 ] 2>/dev/null && [ "$(max_age 2)" -lt 2000 ] 2>/dev/null && break
	sleep 0.2
	i=$((i + 1))
done
check "[ '$(max_age 1)' -lt 2000 ] && [ '$(max_age 2)' -lt 2000 ]" \
    "every lmd reports to both instances: ages b1 [$(agent_ages 1)] b2 [$(agent_ages 2)]"
good=0
for i in $(seq 1 30); do
	ns c curl -s -m 2 "http://$VIP/" > /dev/null && good=$((good + 1))
done
check "[ $good -eq 30 ]" "30 requests through the VIP answered ($good), set up in $(( ($(now_ms) - T0) / 1000 )) s"

# reqloop OUT: requests to "/" one after another, each a new connection
# (from 198.19.0.4), until $TMP/stop-loop exists (at
# most 90 s, 3000 requests); OUT gets "MS ANSWER" lines.
reqloop() {
	rm -f "$TMP/stop-loop"
	(
		_end=$(($(now_ms) + 90000))
		_i=0
		while [ $_i -lt 3000 ] && [ ! -e "$TMP/stop-loop" ] &&
		    [ "$(now_ms)" -lt $_end ]; do
			_t=$(now_ms)
			_a=$(ip netns exec "lab$LAB-c" curl -s -m 8 \
			    --interface 198.19.0.4 \
			    -H 'Connection: close' "http://$VIP/") || _a=fail$?
			echo "$_t $_a" >> "$1"
			_i=$((_i + 1))
			sleep 0.05
		done
	) &
	LOOP=$!
	BG="$BG $LOOP"
}
loop_stop() {
	touch "$TMP/stop-loop"
	wait $LOOP 2>/dev/null
}

# dl_settle: waits until every download runs (at most 10 s), then 2 s.
dl_settle() {
	_i=0
	while [ $_i -lt 50 ] && [ "$(dl_conns | wc -w)" -lt $N ]; do
		sleep 0.2
		_i=$((_i + 1))
	done
	sleep 2
}
# transitions: what the watchers and keepalived did, for the log.
transitions() {
	for _b in 1 2; do
		grep -h 'loadd-alive:' "$TMP/alive$_b.log" | sed "s|$TMP/||g; s/^/# b$_b watcher: /"
		grep -h -e 'Entering' -e 'VRRP_Script' "$TMP/ka$_b.log" | sed "s/^/# b$_b keepalived: /"
	done
}
# downloads RUN: N downloads of /big, half from 198.19.0.2, half from .3.
downloads() {
	DLS=""
	mkdir -p "$TMP/$1"
	for i in $(seq 1 $N); do
		ip netns exec "lab$LAB-c" curl -s -m 120 --limit-rate $RATE \
		    --interface 198.19.0.$((2 + i % 2)) -o "$TMP/$1/$i" \
		    -w '%{http_code} %{size_download} %{local_ip}:%{local_port} %{time_total}\n' \
		    "http://$VIP/big" > "$TMP/$1/$i.out" 2>&1 &
		DLS="$DLS $!"
	done
	BG="$BG $DLS"
}
# dl_wait SECONDS: waits for the downloads.
dl_wait() {
	_end=$(($(now_ms) + $1 * 1000))
	_i=0
	while [ $_i -lt $(($1 * 5 + 5)) ] && [ "$(now_ms)" -lt $_end ]; do
		_run=0
		for _p in $DLS; do kill -0 $_p 2>/dev/null && _run=$((_run + 1)); done
		[ $_run -eq 0 ] && break
		sleep 0.2
		_i=$((_i + 1))
	done
	for _p in $DLS; do wait $_p 2>/dev/null; done
}
# sampler N: every 0.5 s, "MS ACCEPTED OLDEST_AGE_MS" of bN's agent
# reports into $TMP/agents, until $TMP/stop-sampler (at most 120 s).
sampler() {
	rm -f "$TMP/stop-sampler"
	: > "$TMP/agents"
	(
		_i=0
		while [ $_i -lt 240 ] && [ ! -e "$TMP/stop-sampler" ]; do
			echo "$(now_ms) $(agent_acc $1) $(max_age $1)" >> "$TMP/agents"
			sleep 0.5
			_i=$((_i + 1))
		done
	) &
	SAMPLER=$!
	BG="$BG $SAMPLER"
}
sampler_stop() {
	touch "$TMP/stop-sampler"
	wait $SAMPLER 2>/dev/null
}
# dl_good RUN: downloads that are complete and byte-identical.
dl_good() {
	_g=0
	for i in $(seq 1 $N); do
		[ "$(cut -d' ' -f1,2 "$TMP/$1/$i.out" 2>/dev/null)" = "200 $BIG" ] &&
		    cmp -s "$TMP/$1/$i" "$TMP/big" && _g=$((_g + 1))
	done
	echo $_g
}
# served RUN N: downloads of RUN that sN's nginx served in full.
served() {
	_c=0
	for i in $(seq 1 $N); do
		_cp=$(cut -d' ' -f3 "$TMP/$1/$i.out" 2>/dev/null)
		[ -n "$_cp" ] && grep -q "^$_cp /big 200 $BIG\$" "$TMP/s$2/access.log" &&
		    _c=$((_c + 1))
	done
	echo $_c
}
# dl_times RUN: the shortest and longest download, seconds.
dl_times() {
	cat "$TMP/$1"/*.out | awk '$4 != "" { t = $4 + 0; if (n++ == 0 || t < lo) lo = t;
	    if (t > hi) hi = t } END { printf "%.1f..%.1f s", lo, hi }'
}
# answers FILE FROM_MS [TO_MS]: "s1 n, s2 n, ..., failed n of t" of the
# requests begun from FROM_MS on (and before TO_MS).
answers() {
	awk -v f="$2" -v u="${3:-99999999999999}" '$1 >= f && $1 < u { n[$2]++; t++ } END {
	    printf "s1 %d, s2 %d, s3 %d, s4 %d, failed %d of %d",
	    n["s1"], n["s2"], n["s3"], n["s4"], t - n["s1"] - n["s2"] - n["s3"] - n["s4"], t }' "$1"
}
fails() { awk -v f="$2" '$1 >= f && $2 !~ /^s[1-4]$/ { n++ } END { print n + 0 }' "$1"; }
total() { awk -v f="$2" '$1 >= f { n++ } END { print n + 0 }' "$1"; }

# --- 2. one instance dies under 50 downloads, and comes back --------------
echo "# before the downloads: b1 $(counters 1); b2 $(counters 2)"
reqloop "$TMP/loop2"
T_DL=$(now_ms)
downloads run2
dl_settle
C=$(dl_conns)
n1=$(carried_n 1 "$C")
n2=$(carried_n 2 "$C")
ret1=$(ctl 1 -j show stats | jq '.return_noflow')
nc=$(echo $C | wc -w)
# Every download is in one table at least.  Once, with both CPUs busy, one
# was in both tables at the moment of looking (51 of 50; the cause is not
# established): said, not failed.
check "[ ${n1:-0} -ge 5 ] && [ ${n2:-0} -ge 5 ] && [ $((${n1:-0} + ${n2:-0})) -ge $nc ] && [ $nc -eq $N ]" \
    "ECMP spreads the downloads: of the $nc running, b1 carries ${n1:-?}, b2 ${n2:-?}; b1, the gateway, rewrites b2's replies too (without a flow: ${ret1:-?})"
[ $((${n1:-0} + ${n2:-0})) -gt "$nc" ] &&
    echo "# $((${n1:-0} + ${n2:-0} - nc)) download(s) in both flow tables at that moment"
echo "# the downloads in each instance's flow table, by server: b1 [$(intable 1 "$C")], b2 [$(intable 2 "$C")]"
echo "# b1: $(counters 1); servers (active/total) $(srv_flows 1)"
echo "# b2: $(counters 2); servers (active/total) $(srv_flows 2)"
acc0=$(agent_acc 2)
sampler 2
T_KILL=$(now_ms)
kill -TERM "$LOADD1"
i=0
while kill -0 "$LOADD1" 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$LOADD1" 2>/dev/null; then
	notok "b1's loadd stops on SIGTERM within 5 s"
	kill -KILL "$LOADD1"
fi
wait "$LOADD1" 2>/dev/null
rc=$?
LOADD1=""
echo "# b1's loadd got SIGTERM $(( (T_KILL - T_DL) / 1000 )) s into the downloads (exit $rc)"
wait_for nexthops b2 15
T_W=$(now_ms)
check "[ '$(nexthops)' = b2 ]" "b1's route withdrawn $((T_W - T_KILL)) ms after the kill (next hops now: $(nexthops))"
wait_for gateway b2 15
T_G=$(now_ms)
check "[ '$(gateway)' = b2 ]" "the gateway $GW moved to b2 $((T_G - T_KILL)) ms after the kill (keepalived b1:$(grep -h -i -o 'entering [a-z]* state' "$TMP/ka1.log" | tail -1 | cut -d' ' -f2), b2:$(grep -h -i -o 'entering [a-z]* state' "$TMP/ka2.log" | tail -1 | cut -d' ' -f2))"
sleep 1
C=$(dl_conns)
echo "# 1 s after the gateway moved, b2 has [$(intable 2 "$C")] of the $(echo $C | wc -w) downloads running in its flow table; $(counters 2)"
# b1 repaired while the downloads run: its route comes back and the
# router's hash gives it its old share of the flows, which this loadd
# has never seen; the gateway goes back to b1 (preemption).
if ! loadd_start 1; then
	notok "loadd starts again in b1"
	exit 1
fi
T_BACK=$(now_ms)
wait_for nexthops "b1 b2" 15
check "[ '$(nexthops)' = 'b1 b2' ]" "b1's loadd started again $(( (T_BACK - T_DL) / 1000 )) s into the downloads: its route back after $(($(now_ms) - T_BACK)) ms ($(nexthops))"
sleep 1
C=$(dl_conns)
echo "# 1 s later, b1 passes [$(carried 1 "$C")] of the $(echo $C | wc -w) downloads running (a packet within the second; b2, still the gateway, all replies: [$(carried 2 "$C")])"
wait_for gateway b1 15
check "[ '$(gateway)' = b1 ]" "and the gateway back on b1 after $(($(now_ms) - T_BACK)) ms ($(gateway))"
dl_wait 100
T_END=$(now_ms)
# At least 20 requests from the kill on, however busy the machine (60 s
# at most): the check below wants a count, not a speed.
_i=0
while [ "$(total "$TMP/loop2" $T_KILL)" -lt 20 ] && [ $_i -lt 600 ]; do
	sleep 0.1
	_i=$((_i + 1))
done
loop_stop
sampler_stop
g=$(dl_good run2)
check "[ $g -ge $((N * 98 / 100)) ]" \
    "$g of $N downloads complete and byte-identical (>= 98%), all done $(( (T_END - T_DL) / 1000 )) s after they began"
for i in $(seq 1 $N); do
	[ "$(cut -d' ' -f1,2 "$TMP/run2/$i.out")" = "200 $BIG" ] || echo "#   download $i: $(cat "$TMP/run2/$i.out")"
done
echo "# downloads served by s1 $(served run2 1), s2 $(served run2 2), s3 $(served run2 3); each took $(dl_times run2)"
echo "# requests to / before the kill: $(answers "$TMP/loop2" 0 | sed 's/of.*//')"
echo "# requests to / from the kill on: $(answers "$TMP/loop2" $T_KILL)"
f=$(fails "$TMP/loop2" $T_KILL)
t=$(total "$TMP/loop2" $T_KILL)
check "[ $t -ge 20 ] && [ $f -eq 0 ]" \
    "new connections served through the kill and the return: $((t - f)) of $t"
# The agents: b2's accepted counter rises through the run (three agents
# report every 0.5 s: each sample should see more), ages stay small.
rises=$(awk 'NR > 1 { n++; if ($2 > p) r++ } { p = $2 } END { print r + 0, n + 0 }' "$TMP/agents")
worst=$(awk 'BEGIN { m = 0 } $3 > m { m = $3 } END { print m }' "$TMP/agents")
acc1=$(agent_acc 2)
set -- $rises
check "[ $2 -ge 6 ] && [ $(($1 * 10)) -ge $(($2 * 9)) ] && [ $worst -le 2500 ]" \
    "lmd's reports reach b2 throughout (b1 down, then back): accepted ${acc0:-?} -> ${acc1:-?}, rising in $1 of $2 intervals of 0.5 s from the kill to the end, oldest agent age seen $worst ms"
rec=$(ctl 2 -j show stats | jq '.recovered')
check "[ ${rec:-0} -ge $((${n1:-0} * 3 / 4)) ] && [ ${rec:-0} -gt 0 ]" \
    "b1's flows went on through b2 by Maglev recovery: b2 recovered ${rec:-?} (b1 carried ${n1:-?})"
rec1=$(ctl 1 -j show stats | jq '.recovered')
if [ -n "$BPFFS" ]; then
	# The router's hash gives b1 back the flows it carried, and those
	# are in the map b1's new loadd adopts: nothing left to recover.
	ad1=$(ctl 1 -j show stats | jq '.fastpath_adopted')
	check "[ ${ad1:-0} -ge $((${n1:-0} * 3 / 4)) ] && [ ${ad1:-0} -gt 0 ]" \
	    "and b1, back, took its flows back from its pinned map: fastpath_adopted ${ad1:-?}, recovered ${rec1:-?} (it carried ${n1:-?} before the kill)"
else
	check "[ ${rec1:-0} -gt 0 ]" "and b1, back, took over flows it had never seen: recovered ${rec1:-?} (it carried ${n1:-?} before the kill)"
fi
echo "# b1 at the end: $(counters 1); servers (active/total) $(srv_flows 1)"
echo "# b2 at the end: $(counters 2); servers (active/total) $(srv_flows 2)"
transitions

# --- 3. a server added to both instances under 50 downloads ---------------
reqloop "$TMP/loop3"
T_DL=$(now_ms)
downloads run3
dl_settle
C=$(dl_conns)
echo "# the downloads in each instance's flow table, by server: b1 [$(intable 1 "$C")], b2 [$(intable 2 "$C")] of $(echo $C | wc -w)"
lmd_start 4
loadd_conf "$(srv 1), $(srv 2), $(srv 3), $(srv 4)"
T_ADD=$(now_ms)
rl=0
for b in 1 2; do
	"$LOADD" -R -f "$(conf $b)" | ns b$b sh -e &&
	    ctl $b reload > "$TMP/reload$b" 2>&1 && rl=$((rl + 1))
done
check "[ $rl -eq 2 ]" "s4 added to both instances $(( (T_ADD - T_DL) / 1000 )) s into the downloads (rules again, loadctl reload): $(cat "$TMP/reload1" "$TMP/reload2" | tr '\n' ' ')"
up4() { echo "$(ctl 1 -j show servers | jq -r '.[] | select(.server == "198.19.1.14:80") | .state')$(ctl 2 -j show servers | jq -r '.[] | select(.server == "198.19.1.14:80") | .state')"; }
wait_for up4 upup 10
T_UP4=$(now_ms)
check "[ '$(up4)' = upup ]" "s4 up on both instances $((T_UP4 - T_ADD)) ms after the reload"
dl_wait 100
loop_stop
g=$(dl_good run3)
check "[ $g -eq $N ]" "all $N downloads begun before s4 came complete and byte-identical ($g)"
for i in $(seq 1 $N); do
	[ "$(cut -d' ' -f1,2 "$TMP/run3/$i.out")" = "200 $BIG" ] || echo "#   download $i: $(cat "$TMP/run3/$i.out")"
done
d1=$(served run3 1)
d2=$(served run3 2)
d3=$(served run3 3)
d4=$(grep -c ' /big ' "$TMP/s4/access.log")
check "[ $((d1 + d2 + d3)) -eq $N ] && [ $d4 -eq 0 ]" \
    "none moved: s1 served $d1, s2 $d2, s3 $d3 of them in full; s4 got no /big request ($d4)"
echo "# the downloads took $(dl_times run3)"
echo "# requests to / before s4 was added: $(answers "$TMP/loop3" 0 $T_ADD)"
s4n=$(awk -v f="$T_UP4" '$1 >= f && $2 == "s4" { n++ } END { print n + 0 }' "$TMP/loop3")
t=$(total "$TMP/loop3" $T_UP4)
f=$(fails "$TMP/loop3" $T_UP4)
# More new connections, for a clearer share.
: > "$TMP/after"
for i in $(seq 1 80); do
	a=$(ns c curl -s -m 4 --interface 198.19.0.$((2 + i % 2)) -H 'Connection: close' "http://$VIP/") || a=fail
	echo "$(now_ms) $a" >> "$TMP/after"
done
s4n=$((s4n + $(grep -c ' s4$' "$TMP/after")))
t=$((t + 80))
f=$((f + $(fails "$TMP/after" 0)))
pc=$((100 * s4n / (t > 0 ? t : 1)))
check "[ $t -ge 80 ] && [ $pc -ge 13 ] && [ $pc -le 40 ] && [ $f -eq 0 ]" \
    "Maglev: $pc% of $t new connections after s4 came go to s4 (about 1/4; 13..40), $f failed ($(answers "$TMP/after" 0))"
echo "# after the reload: b1 $(counters 1); servers (active/total) $(srv_flows 1)"
echo "# after the reload: b2 $(counters 2); servers (active/total) $(srv_flows 2)"
check "kill -0 $LOADD1 && kill -0 $LOADD2" "both loadd still running at the end"
[ $fail -eq 0 ]
