#!/bin/sh
# Replay tests: loadd -r over captures that gen_fixtures writes at test
# time (nothing binary is kept in the tree), each with the configuration
# gen_fixtures wrote it for, checked packet by packet by verify_replay and
# against the counts the generator wrote next to each capture.  No root,
# no network.
#
#   O=build sh tests/replay/run.sh
#
# Prints "ok - ..." or "not ok - ..." per check and ends with one line
# "N passed, M failed"; exits 1 if anything failed.
set -eu
# verify_replay's arguments come unquoted from NAME.expect, and IPv6
# servers in them look like patterns ([2001:db8:2::21]:5300): nothing here
# wants pathname expansion.
set -f
cd "$(dirname "$0")/../.."
O=${O:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
notok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { if eval "$1"; then ok "$2"; else notok "$2"; fi; }
show() { sed 's/^/    /' "$1"; }
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}

# What a sanitizer build prints when it finds something.  UBSan may go on
# and exit 0, so its report is looked for, not only the exit status.
sanitized() {
	grep -q -e 'AddressSanitizer' -e 'LeakSanitizer' -e 'runtime error' \
	    -e 'UndefinedBehaviorSanitizer' "$1"
}

# expected FIXTURE KEY: the number after KEY in FIXTURE.expect.
expected() {
	awk -v k="$2" '$1 == k { print $2 }' "$T/$1.expect"
}

# replay NAME [CONF]: loadd over NAME.pcap into NAME.out.pcap with
# CONF.conf (NAME.conf by default); the exit status goes to $rc, stdout
# and stderr to NAME.err.
replay() {
	rc=0
	"$O/loadd" -v -f "$T/${2:-$1}.conf" -r "$T/$1.pcap" \
	    -w "$T/$1.out.pcap" > "$T/$1.err" 2>&1 || rc=$?
}

# summary NAME: "read written rewritten dropped notip" from loadd's line.
summary() {
	sed -n 's/^loadd: replay: \([0-9]*\) packets read, \([0-9]*\) written, \([0-9]*\) rewritten, \([0-9]*\) dropped, \([0-9]*\) not IP$/\1 \2 \3 \4 \5/p' \
	    "$T/$1.err"
}

# stats NAME: loadd's "stats: packets ..." line as KEY=N words, a
# counter's words joined by "_" ("icmp translated 3" is
# icmp_translated=3) and "flows A/B" as flows=A.
stats() {
	sed -n 's/^loadd: stats: \(packets .*\)/\1/p' "$T/$1.err" |
	    awk -F', ' '{ for (i = 1; i <= NF; i++) {
		n = split($i, w, " "); k = w[1]
		for (j = 2; j < n; j++) k = k "_" w[j]
		v = w[n]; sub("/.*", "", v); printf "%s=%s ", k, v } }'
}

# servers NAME: NAME=TOTAL for every server, from loadd's server lines.
servers() {
	sed -n 's/^loadd: stats: server \([^ ]*\) .* flows [0-9]* active, \([0-9]*\) total;.*/\1=\2/p' \
	    "$T/$1.err" | tr '\n' ' '
}

# verify NAME FROM [FLAGS]: verify_replay over NAME.pcap and its output,
# told the configuration FROM.expect gives.
verify() {
	name=$1
	from=$2
	shift 2
	vrc=0
	"$O/verify_replay" "$T/$name.pcap" "$T/$name.out.pcap" \
	    $(sed -n 's/^verify //p' "$T/$from.expect") "$@" \
	    > "$T/$name.verify" 2>&1 || vrc=$?
	last=$(tail -n 1 "$T/$name.verify")
	if [ "$vrc" -eq 0 ] && ! sanitized "$T/$name.verify"; then
		ok "$name.pcap: $last"
	else
		notok "$name.pcap: verify_replay exit $vrc: $last"
		show "$T/$name.verify"
	fi
}

for p in loadd gen_fixtures verify_replay; do
	if [ ! -x "$O/$p" ]; then
		notok "$O/$p is built (make $O/$p)"
		finish
		exit 1
	fi
done
if "$O/gen_fixtures" "$T" > "$T/gen.err" 2>&1 && ! sanitized "$T/gen.err"
then
	ok "gen_fixtures wrote the fixtures"
else
	notok "gen_fixtures wrote the fixtures"
	show "$T/gen.err"
	finish
	exit 1
fi

# Captures loadd must replay in full: every packet checked by
# verify_replay, the summary, the drop counters, the counters of the stats
# line the fixture pins, and each server's new flows against what the
# generator expects.
for f in tcp raw bad gro v6 udp icmp flood full timeout reset; do
	replay $f
	if [ "$rc" -eq 0 ] && ! sanitized "$T/$f.err"; then
		ok "$f.pcap: loadd replays it (exit 0, no sanitizer report)"
	else
		notok "$f.pcap: loadd exit $rc"
		show "$T/$f.err"
		continue
	fi

	want="$(expected $f read) $(expected $f written) $(expected $f rewritten) $(expected $f dropped) $(expected $f notip)"
	got=$(summary $f)
	check "[ '$got' = '$want' ]" \
	    "$f.pcap: read, written, rewritten, dropped, not IP: $got (want $want)"

	verify $f $f --drops "$(expected $f dropped)" \
	    --udp-none "$(expected $f udp_none)" \
	    --udp-ffff "$(expected $f udp_ffff)"

	# loadd's own count of new flows per server: round-robin's, exactly.
	got=$(servers $f)
	want=$(awk '$1 == "server" { printf "%s=%s ", $2, $3 }' \
	    "$T/$f.expect")
	if [ "$got" = "$want" ]; then
		ok "$f.pcap: new flows per server:" \
		    "$(echo "$got" | sed 's/[^ ]*=0 //g')(others 0)"
	else
		notok "$f.pcap: new flows per server: ${got% } (want ${want% })"
	fi

	# The counters of the stats line the fixture pins.
	st=" $(stats $f)"
	for kv in $(awk '$1 == "stat" { print $2 "=" $3 }' "$T/$f.expect"); do
		case "$st" in
		*" $kv "*)
			ok "$f.pcap: loadd -v counts $kv" ;;
		*)
			notok "$f.pcap: loadd -v should count $kv:${st% }" ;;
		esac
	done

	# Every drop reason the generator expects, with its count, and no other.
	if ! drops="$(grep '^loadd: stats: drops' "$T/$f.err") "; then
		notok "$f.pcap: loadd -v prints its drop counters"
		continue
	fi
	nwant=0
	for r in $(awk '$1 == "drop" { print $2 "=" $3 }' "$T/$f.expect"); do
		nwant=$((nwant + 1))
		case "$drops" in
		*" $r "*)
			ok "$f.pcap: drop counter $r" ;;
		*)
			notok "$f.pcap: drop counter $r not in: ${drops% }" ;;
		esac
	done
	ngot=$(echo "$drops" | tr ' ' '\n' | grep -c '=' || true)
	check "[ $ngot -eq $nwant ]" \
	    "$f.pcap: $ngot drop reasons counted, $nwant expected"
done

# A link type loadd does not read: refused by name, exit 1.
replay unsupported
msg=$(head -n 1 "$T/unsupported.err")
check "[ $rc -eq 1 ] && grep -q 'link type PPP.*not supported' '$T/unsupported.err' && ! sanitized '$T/unsupported.err'" \
    "unsupported.pcap: refused with exit 1: ${msg#"loadd: $T/"}"

# Damaged copies of tcp.pcap, replayed as it is: exit 1 (not a crash), a
# message naming the capture and the damage, and the packets before the
# damage written.
before=$(expected damaged before)
for f in damaged-trunc damaged-caplen damaged-magic; do
	replay $f tcp
	msg=$(grep "^loadd: $T/$f.pcap: " "$T/$f.err" | head -n 1 || true)
	if [ "$rc" -eq 1 ] && [ -n "$msg" ] && ! sanitized "$T/$f.err"; then
		ok "$f.pcap: exit 1, no crash: ${msg#"loadd: $T/"}"
	else
		notok "$f.pcap: exit $rc (want exactly 1, a message, no sanitizer report)"
		show "$T/$f.err"
		continue
	fi
	[ $f = damaged-magic ] && continue
	check "grep -q 'damaged capture after $before packets' '$T/$f.err'" \
	    "$f.pcap: the message says where the damage is"
	got=$(summary $f)
	check "[ '$got' = '$before $before $before 0 0' ]" \
	    "$f.pcap: the $before packets before the damage were written: $got"
	verify $f tcp --damaged --drops 0
done

# loadd started with stdin and stderr closed: were 0 and 2 left free, the
# capture it reads would get 0 and the one it writes 2, and the message
# about the damage would land inside the output.  loadd opens /dev/null
# on them first (common/proc.c), so the output is what it was above.
rc=0
"$O/loadd" -v -f "$T/tcp.conf" -r "$T/damaged-trunc.pcap" \
    -w "$T/closed.out.pcap" <&- 2>&- || rc=$?
check "[ $rc -eq 1 ] && cmp -s '$T/damaged-trunc.out.pcap' '$T/closed.out.pcap'" \
    "damaged-trunc.pcap with 0 and 2 closed: exit $rc, the same output, no message in it"

finish
