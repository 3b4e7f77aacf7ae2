#!/bin/sh
# loadd-alive.sh -- is loadd running and answering?  For the engines that
# scale loadd out (doc/scale-out.md): keepalived's vrrp_script, and the
# BGP speaker that announces the virtual address (BIRD, FRR, ExaBGP).
#
#   loadd-alive.sh [-s socket] [-l loadctl] [-t seconds]
#	Exit 0 when loadd answers "show stats" on its control socket, or
#	refuses the check as one client too many (loadctl's exit 3: its
#	loop runs, and it forwards packets while its control slots are
#	full); 1 when it does not (not running, hung, wrong socket).
#
#   loadd-alive.sh -w [-s socket] [-l loadctl] [-t seconds] [-i interval]
#	    [-f fall] [-r rise] [-n checks] -u 'command' -d 'command'
#	Watch: check every interval seconds; once loadd has answered rise
#	checks in a row run the -u command (announce the virtual address),
#	once it has failed fall checks in a row run the -d command
#	(withdraw it).  Each command runs once per change, and once at the
#	first decision after start, so a balancer announces nothing until
#	its loadd answers.  -n stops after that many checks (0, the
#	default: never).  Transitions are logged on standard error.
#
# Why it matters: the rules "loadd -R" prints stay when loadd stops, and
# an NFQUEUE with no listener drops every packet (loadd(8), "When loadd
# is not running").  A balancer whose loadd is gone must stop attracting
# traffic -- withdraw its route to the virtual address and give up the
# servers' gateway address -- or it swallows its share of the flows.
#
# Examples:
#   keepalived.conf:  vrrp_script chk_loadd {
#			  script "/usr/local/sbin/loadd-alive.sh -s /var/run/loadd.sock"
#			  interval 1
#			  fall 2 }	(etc/keepalived/keepalived.conf)
#   BIRD 2:	      loadd-alive.sh -w -u 'birdc enable vip' -d 'birdc disable vip'
#   FRR:	      loadd-alive.sh -w \
#			  -u "vtysh -c 'conf t' -c 'router bgp 64501' -c 'address-family ipv4 unicast' -c 'network 198.51.100.10/32'" \
#			  -d "vtysh -c 'conf t' -c 'router bgp 64501' -c 'address-family ipv4 unicast' -c 'no network 198.51.100.10/32'"
set -u

SOCK=/var/run/loadd.sock
LOADCTL=loadctl
TMO=2
WATCH=0
IV=1
FALL=2
RISE=2
MAX=0
UPCMD=""
DOWNCMD=""

usage() {
	echo "usage: $0 [-s socket] [-l loadctl] [-t seconds]" >&2
	echo "       $0 -w [-s socket] [-l loadctl] [-t seconds] [-i interval]" \
	    "[-f fall] [-r rise] [-n checks] -u command -d command" >&2
	exit 2
}

while getopts s:l:t:wi:f:r:n:u:d: opt; do
	case $opt in
	s) SOCK=$OPTARG ;;
	l) LOADCTL=$OPTARG ;;
	t) TMO=$OPTARG ;;
	w) WATCH=1 ;;
	i) IV=$OPTARG ;;
	f) FALL=$OPTARG ;;
	r) RISE=$OPTARG ;;
	n) MAX=$OPTARG ;;
	u) UPCMD=$OPTARG ;;
	d) DOWNCMD=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage

# One check.  loadctl has time-outs of its own on the socket; timeout(1)
# bounds a loadd that accepts and never answers as well.
alive() {
	if command -v timeout > /dev/null 2>&1; then
		timeout "$TMO" "$LOADCTL" -s "$SOCK" show stats > /dev/null 2>&1
	else
		"$LOADCTL" -s "$SOCK" show stats > /dev/null 2>&1
	fi
	_rc=$?
	[ $_rc -eq 0 ] || [ $_rc -eq 3 ]
}

if [ $WATCH = 0 ]; then
	alive || exit 1
	exit 0
fi

[ -n "$UPCMD" ] && [ -n "$DOWNCMD" ] || usage
trap 'exit 0' TERM INT HUP

state=unknown	# what was last announced: up, down, or nothing yet
good=0
bad=0
n=0
while [ "$MAX" -eq 0 ] || [ $n -lt "$MAX" ]; do
	n=$((n + 1))
	if alive; then
		good=$((good + 1))
		bad=0
		if [ $good -ge "$RISE" ] && [ $state != up ]; then
			echo "$(date '+%F %T') loadd-alive: $SOCK answers: $UPCMD" >&2
			# On failure the command is tried again next time.
			if sh -c "$UPCMD" >&2; then
				state=up
			else
				echo "loadd-alive: up command failed" >&2
			fi
		fi
	else
		bad=$((bad + 1))
		good=0
		if [ $bad -ge "$FALL" ] && [ $state != down ]; then
			echo "$(date '+%F %T') loadd-alive: $SOCK does not answer: $DOWNCMD" >&2
			if sh -c "$DOWNCMD" >&2; then
				state=down
			else
				echo "loadd-alive: down command failed" >&2
			fi
		fi
	fi
	sleep "$IV"
done
exit 0
