# Shared by the demo lab and the integration tests: a client, a balancer
# and three real servers in network namespaces, each server running nginx.
#
#   client                 balancer                         servers
#  +----------------+     +------------------------+      +--------------------+
#  | 198.18.0.2/24  |-----| 198.18.0.1/24          |      | s1 198.18.1.11/24  |
#  | default via .1 |     |    loadd (NFQUEUE)     |--br--| s2 198.18.1.12/24  |
#  +----------------+     |         198.18.1.1/24  |      | s3 198.18.1.13/24  |
#                         +------------------------+      | default via .1.1   |
#   VIP 198.18.100.1:80 is routed to the balancer and      +--------------------+
#   assigned nowhere; the servers' replies pass loadd.
#
# IPv6 alongside: client 2001:2::2, balancer 2001:2::1 and 2001:2:0:1::1,
# servers 2001:2:0:1::11..13, VIP6 2001:2:0:100::1.  Each server also
# answers UDP on port 5353 with its name (udpecho, or socat).
#
# 198.18.0.0/15 (RFC 2544) and 2001:2::/48 (RFC 5180) are set aside for
# benchmark tests; none of it leaves this machine: every address lives in
# a namespace made here.
#
# Callers set LAB (a unique tag) and TMP (a private directory) and must
# call lab_down on exit.

VIP=198.18.100.1
VIP6=2001:2:0:100::1
SERVERS="198.18.1.11 198.18.1.12 198.18.1.13"

ns_c() { ip netns exec "lab$LAB-c" "$@"; }
ns_b() { ip netns exec "lab$LAB-b" "$@"; }
ns_s() { n=$1; shift; ip netns exec "lab$LAB-s$n" "$@"; }

lab_up() {
	ip netns add "lab$LAB-c"
	ip netns add "lab$LAB-b"
	for n in 1 2 3; do ip netns add "lab$LAB-s$n"; done

	ip link add "c$LAB" type veth peer name "b$LAB"
	ip link set "c$LAB" netns "lab$LAB-c" name eth0
	ip link set "b$LAB" netns "lab$LAB-b" name eth0
	ns_c ip addr add 198.18.0.2/24 dev eth0
	ns_c ip link set eth0 up
	ns_c ip link set lo up
	ns_c ip route add default via 198.18.0.1
	ns_c ip addr add 2001:2::2/64 dev eth0 nodad
	ns_c ip -6 route add default via 2001:2::1
	ns_b ip addr add 198.18.0.1/24 dev eth0
	ns_b ip link set eth0 up
	ns_b ip link set lo up
	ns_b ip link add br0 type bridge
	ns_b ip addr add 198.18.1.1/24 dev br0
	ns_b ip link set br0 up
	ns_b sysctl -qw net.ipv4.ip_forward=1
	ns_b ip addr add 2001:2::1/64 dev eth0 nodad
	ns_b ip addr add 2001:2:0:1::1/64 dev br0 nodad

	for n in 1 2 3; do
		ip link add "s$n$LAB" type veth peer name "p$n$LAB"
		ip link set "s$n$LAB" netns "lab$LAB-s$n" name eth0
		ip link set "p$n$LAB" netns "lab$LAB-b" name "p$n"
		ns_b ip link set "p$n" master br0
		ns_b ip link set "p$n" up
		ns_s $n ip addr add "198.18.1.1$n/24" dev eth0
		ns_s $n ip link set eth0 up
		ns_s $n ip link set lo up
		ns_s $n ip route add default via 198.18.1.1
		ns_s $n ip addr add "2001:2:0:1::1$n/64" dev eth0 nodad
		ns_s $n ip -6 route add default via 2001:2:0:1::1
	done
}

# nginx in each server namespace: "/" answers the server's name, /big is
# a 10 MB file of random bytes (the same file on every server), /slow/big
# the same sent at 200 KB/s.
servers_up() {
	chmod 755 "$TMP"
	head -c 10485760 /dev/urandom > "$TMP/big"
	chmod 644 "$TMP/big"
	for n in 1 2 3; do
		d="$TMP/s$n"
		mkdir -p "$d/www"
		ln -sf "$TMP/big" "$d/www/big"
		cat > "$d/nginx.conf" <<NGINX
daemon on;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $d/tmp;
	proxy_temp_path $d/tmp;
	fastcgi_temp_path $d/tmp;
	uwsgi_temp_path $d/tmp;
	scgi_temp_path $d/tmp;
	keepalive_requests 100000;
	server {
		listen 80;
		listen [::]:80;
		root $d/www;
		location = / { default_type text/plain; return 200 "s$n\n"; }
		# Paced by the server: a download that stays long however
		# fast the path (the client's buffers take a whole /big).
		location /slow/ { limit_rate 200k; alias $d/www/; }
	}
}
NGINX
		mkdir -p "$d/tmp"
		ns_s $n nginx -c "$d/nginx.conf" -e "$d/error.log"
		# UDP answers: udpecho where the tests are built (socat's
		# fork per datagram leaves a few in a hundred unanswered:
		# tests/tools/udpecho.c), else socat (the demo builds only
		# the programs).
		if [ -x "${LOADD%/*}/udpecho" ]; then
			ip netns exec "lab$LAB-s$n" "${LOADD%/*}/udpecho" 5353 \
			    "s$n" > /dev/null 2>&1 &
		else
			ip netns exec "lab$LAB-s$n" socat \
			    UDP4-RECVFROM:5353,fork SYSTEM:"echo s$n" 2>/dev/null &
		fi
		echo $! > "$d/socat.pid"
	done
}

# udpsize (tests/tools/udpsize.c) on UDP port 7 of each server, IPv4 and
# IPv6: answers of any size, checked byte for byte by the client.
udpsize_up() {
	for n in 1 2 3; do
		ip netns exec "lab$LAB-s$n" "$PWD/$O/udpsize" -l 7 &
		echo $! > "$TMP/udpsize$n.pid"
	done
}

# dnsmasq on UDP port 53 of each server, with a TXT record of about
# 3.5 KB (big.test: 14 strings of 250 bytes) for answers of EDNS size.
dns_up() {
	_txt=$(awk 'BEGIN { for (i = 0; i < 14; i++) {
	    s = sprintf("%02d", i); while (length(s) < 250) s = s "x";
	    printf "%s\"%s\"", i ? "," : "", s } }')
	for n in 1 2 3; do
		mkdir -p "$TMP/s$n"
		ip netns exec "lab$LAB-s$n" dnsmasq -k --conf-file=/dev/null \
		    --no-resolv --no-hosts --user=root --port=53 \
		    --edns-packet-max=4096 --pid-file="$TMP/s$n/dnsmasq.pid" \
		    --txt-record="big.test,$_txt" \
		    --txt-record="small.test,s$n" 2> "$TMP/s$n/dnsmasq.log" &
		echo $! > "$TMP/dnsmasq$n.pid"
	done
}

# udp_ask ADDR PORT N: N datagrams "ping" from the client, each from a
# socket of its own (a new source port: a new flow) connected to ADDR:PORT
# (so that only an answer from there counts), one after the other; prints
# each answer's first line, or "fail" after 5 s without one.  One process
# for all: socat -t 5 waited the whole 5 s for more after each answer.
udp_ask() {
	ns_c python3 -c '
import socket, sys
for _ in range(int(sys.argv[3])):
	ai = socket.getaddrinfo(sys.argv[1], int(sys.argv[2]), 0,
	    socket.SOCK_DGRAM)[0]
	s = socket.socket(ai[0], socket.SOCK_DGRAM)
	s.settimeout(5)
	try:
		s.connect(ai[4])
		s.send(b"ping\n")
		a = s.recv(2048).decode("ascii", "replace").split("\n")[0]
	except OSError:
		a = "fail"
	s.close()
	print(a, flush=True)
' "$@"
}

loadd_conf() {
	cat > "$TMP/loadd.conf" <<CONF
ipaliasing = $VIP
ports = 80
servers = $(echo $SERVERS | sed 's/ /, /g')
balancingmode = roundrobin
CONF
}

# Three services in one loadd: HTTP and UDP 5353 on the VIP, HTTP on VIP6.
loadd_conf_multi() {
	cat > "$TMP/loadd.conf" <<CONF
ipaliasing = $VIP
ports = 80
servers = $(echo $SERVERS | sed 's/ /, /g')

service = udp
ipaliasing = $VIP
protocol = udp
ports = 5353
servers = $(echo $SERVERS | sed 's/ /, /g')

service = web6
ipaliasing = $VIP6
ports = 80
servers = 2001:2:0:1::11, 2001:2:0:1::12, 2001:2:0:1::13
CONF
}

# LAB_OFFLOAD=bpf runs a suite with the eBPF fast path: every loadd.conf
# loadd_up starts gets offload = bpf, the balancer's interfaces (eth0 and
# the bridge's ports), and its pins on a bpffs of the lab's own, mounted
# in the host's mount namespace so that a restarted loadd finds them (ip
# netns exec gives each process a fresh /sys, without bpffs).  A suite
# that writes configurations of its own for a reload passes them through
# lab_bpf_conf FILE (a reload refuses a change of the offload lines), and
# finds a line it counts LAB_BPF_LINES further down.
LAB_BPFFS=
LAB_BPF_LINES=0
[ "${LAB_OFFLOAD:-}" = bpf ] && LAB_BPF_LINES=3
lab_bpf_conf() {
	[ "${LAB_OFFLOAD:-}" = bpf ] || return 0
	_f=${1:-$TMP/loadd.conf}
	grep -q '^offload = bpf' "$_f" && return 0
	if [ -z "$LAB_BPFFS" ]; then
		LAB_BPFFS=/run/loadd-lab$LAB-bpffs
		mkdir -p "$LAB_BPFFS"
		mount -t bpf bpffs "$LAB_BPFFS" || return 1
	fi
	{
		echo "offload = bpf"
		echo "offload_interfaces = eth0, p1, p2, p3"
		echo "offload_pin = $LAB_BPFFS/loadd"
		cat "$_f"
	} > "$_f.bpf" && mv "$_f.bpf" "$_f"
}

# What loadd -R says removes the fast path, then the lab's bpffs.
lab_bpf_down() {
	[ -n "$LAB_BPFFS" ] || return 0
	for _i in eth0 p1 p2 p3; do
		ns_b tc filter del dev $_i ingress handle 0x10ad prio 0x10ad \
		    bpf 2>/dev/null
	done
	rm -rf "$LAB_BPFFS/loadd"
	umount "$LAB_BPFFS" 2>/dev/null
	rmdir "$LAB_BPFFS" 2>/dev/null
	LAB_BPFFS=
}

# Starts loadd in the balancer, applies the rules it prints, and waits
# until the VIP answers.
loadd_up() {
	lab_bpf_conf
	"$LOADD" -R -f "$TMP/loadd.conf" | ns_b sh -e
	ip netns exec "lab$LAB-b" "$LOADD" -f "$TMP/loadd.conf" -v \
	    -s "$TMP/ctl.sock" > "$TMP/loadd.log" 2>&1 &
	LOADD_PID=$!
	_w=0
	until ns_c curl -s -m 1 -o /dev/null "http://$VIP/"; do
		_w=$((_w + 1))
		if [ $_w -ge 50 ] || ! kill -0 "$LOADD_PID" 2>/dev/null; then
			echo "loadd did not come up:" >&2
			cat "$TMP/loadd.log" >&2
			return 1
		fi
		sleep 0.1
	done
}

# rr_shares: 300 requests through the VIP, one connection each; every
# server answers 100 +- 10 of them (round-robin) and none fails.  Needs
# tests/lib/tap.sh.
rr_shares() {
	: > "$TMP/answers"
	_i=0
	while [ $_i -lt 300 ]; do
		ns_c curl -s -m 3 "http://$VIP/" >> "$TMP/answers" ||
		    echo fail >> "$TMP/answers"
		_i=$((_i + 1))
	done
	for _n in 1 2 3; do
		_c=$(grep -c "^s$_n\$" "$TMP/answers" || true)
		check "[ $_c -ge 90 ] && [ $_c -le 110 ]" \
		    "server s$_n answered $_c of 300 requests (90..110)"
	done
	_c=$(grep -c '^fail$' "$TMP/answers" || true)
	check "[ $_c -eq 0 ]" "no failed request among 300 ($_c failed)"
}

lab_down() {
	[ -n "${LOADD_PID:-}" ] && kill "$LOADD_PID" 2>/dev/null && \
	    wait "$LOADD_PID" 2>/dev/null
	lab_bpf_down
	for n in 1 2 3; do
		[ -f "$TMP/s$n/nginx.pid" ] && \
		    kill "$(cat "$TMP/s$n/nginx.pid")" 2>/dev/null
		[ -f "$TMP/s$n/socat.pid" ] && \
		    kill "$(cat "$TMP/s$n/socat.pid")" 2>/dev/null
		for _p in udpsize dnsmasq; do
			[ -f "$TMP/$_p$n.pid" ] && \
			    kill "$(cat "$TMP/$_p$n.pid")" 2>/dev/null
		done
	done
	for ns in c b s1 s2 s3; do
		ip netns del "lab$LAB-$ns" 2>/dev/null
	done
	rm -rf "$TMP"
	return 0
}
