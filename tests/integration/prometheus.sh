#!/bin/sh
# Integration: monitoring that is known to work (issue 18).  A real
# Prometheus (Debian's, 2.42) scrapes loadd every second in the lab:
#
#   client                 balancer                          servers
#  +-----------+    +--------------------------------+    +----------------+
#  | curl to   |----| loadd, metrics 127.0.0.1:9670  |----| s1 nginx + lmd |
#  | the VIP   |    |   ^ scraped every 1 s          |    | s2 nginx       |
#  +-----------+    | prometheus 127.0.0.1:9090      |    | s3 nginx       |
#                   |   (its own config, rules, tsdb |    +----------------+
#                   |    in $TMP; loopback only)     |
#                   +--------------------------------+
#
#  1. promtool accepts etc/prometheus/loadd-rules.yml; the dashboard
#     etc/grafana/loadd-dashboard.json is JSON.
#  2. Prometheus takes loadd's page: the target is up with no error, and
#     no sample was thrown out as a duplicate.
#  3. Docs against reality: every family loadd(8) lists under METRICS is
#     in Prometheus with exactly the labels loadd(8) gives it, and every
#     loadd_ family Prometheus has is listed there; per-service and
#     per-server series carry the configured services and servers.
#  4. Rates: the per-server flow, packet and byte counters move on every
#     server while curl drives requests through the VIP, and are zero once
#     it stops.
#  5. The sample rules, loaded with their "for" shortened: LoaddServiceDown
#     fires for a service whose servers are all down, LoaddServerDown
#     for s3 once its nginx is stopped (loadd's HTTP probe marks it down),
#     and LoaddAgentStale for s1 once its lmd has stopped.
#  6. Every metric and label name the dashboard's queries use is among
#     what Prometheus got from loadd.
#
# Services: "default" (HTTP on the VIP, port 80, HTTP probes) and "dead"
# (port 81 of the same servers, where nothing listens; its servers start
# down), so that per-service drops (no_server) exist.  lmd reports for s1
# so that the agent families exist.  Needs prometheus, promtool, jq, curl.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=p$$
TMP=$(mktemp -d)
case $O in /*) B=$O ;; *) B=$PWD/$O ;; esac
LOADD=$B/loadd
LMD=$B/lmd
RULES=etc/prometheus/loadd-rules.yml
DASH=etc/grafana/loadd-dashboard.json
PROM=http://127.0.0.1:9090
. tests/lib/netns.sh
. tests/lib/tap.sh

S1=198.18.1.11
S2=198.18.1.12
S3=198.18.1.13
PROM_PID=""
LMD_PID=""
TRAFFIC_PID=""
T0=$(date +%s)
cleanup() {
	for p in $TRAFFIC_PID $PROM_PID $LMD_PID; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	lab_down
	echo "# prometheus.sh: $(($(date +%s) - T0)) s"
	tap_end
	[ $fail -eq 0 ]
}
trap cleanup EXIT

# api PATH [curl -G arguments]: Prometheus's answer (JSON) on stdout.
api() {
	_p=$1
	shift
	ns_b curl -s -m 5 -G "$PROM$_p" "$@"
}
# value EXPR: the value of the first element of an instant query's
# answer, or nothing.
value() {
	api /api/v1/query --data-urlencode "query=$1" |
	    jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
# poll SECONDS COMMAND...: runs COMMAND every 0.5 s until it succeeds (0)
# or SECONDS have passed (1).
poll() {
	_end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -ge $_end ] && return 1
		sleep 0.5
	done
}

for c in prometheus promtool jq curl; do
	if ! command -v $c > /dev/null 2>&1; then
		notok "$c is installed (tests/deps.sh installs it)"
		exit 1
	fi
done
if [ ! -x "$LOADD" ] || [ ! -x "$LMD" ]; then
	notok "$LOADD and $LMD are built (make O=$O)"
	exit 1
fi

# --- 1. the files as shipped -------------------------------------------
promtool check rules "$RULES" > "$TMP/promtool.out" 2>&1
check "[ $? -eq 0 ]" "promtool check rules $RULES: $(grep -o 'SUCCESS.*\|FAILED.*' "$TMP/promtool.out" | head -1)"
check "jq empty '$DASH' 2> /dev/null" "$DASH is valid JSON"

# --- the lab -----------------------------------------------------------
lab_up
servers_up
"$LMD" -k 1 > "$TMP/key"
chmod 600 "$TMP/key"
cat > "$TMP/loadd.conf" <<CONF
metrics = 127.0.0.1:9670
keyfile = $TMP/key
ipaliasing = $VIP
ports = 80
servers = $S1, $S2, $S3
balancingmode = roundrobin
check = http
check_interval = 0.5
check_timeout = 0.4
check_fall = 2
check_rise = 2

service = dead
ipaliasing = $VIP
ports = 81
servers = $S1, $S2, $S3
check = tcp
check_start = down
CONF
loadd_up || { notok "loadd up"; exit 1; }
cat > "$TMP/lmd1.conf" <<CONF
loaddservers = 198.18.1.1
keyfile = $TMP/key
service = $S1:80
interval = 0.5
check = http
check_url = http://$S1:80/
check_timeout = 1
pidfile = $TMP/lmd1.pid
CONF
ip netns exec "lab$LAB-s1" "$LMD" -f "$TMP/lmd1.conf" > "$TMP/lmd1.log" 2>&1 &
LMD_PID=$!

# Prometheus: the shipped rules with every "for" cut to 1 s, so that an
# alert fires after two evaluations; the expressions are the file's.
sed 's/^\( *for:\).*/\1 1s/' "$RULES" > "$TMP/rules.yml"
mkdir "$TMP/tsdb"
cat > "$TMP/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $TMP/rules.yml
scrape_configs:
  - job_name: loadd
    static_configs:
      - targets: ['127.0.0.1:9670']
CONF
promtool check config "$TMP/prometheus.yml" > "$TMP/promtool.out" 2>&1
check "[ $? -eq 0 ]" "promtool check config: the test's prometheus.yml with the rules"
ip netns exec "lab$LAB-b" prometheus --config.file="$TMP/prometheus.yml" \
    --storage.tsdb.path="$TMP/tsdb" --web.listen-address=127.0.0.1:9090 \
    --log.level=warn > "$TMP/prometheus.log" 2>&1 &
PROM_PID=$!

# --- 2. the target -----------------------------------------------------
target_up() {
	api /api/v1/targets > "$TMP/targets" 2>/dev/null &&
	    [ "$(jq -r '.data.activeTargets[0].health' "$TMP/targets" 2>/dev/null)" = up ]
}
if poll 60 target_up; then
	err=$(jq -r '.data.activeTargets[0].lastError' "$TMP/targets")
	check "[ -z '$err' ]" "Prometheus scrapes loadd: target up, lastError \"$err\""
else
	notok "Prometheus scrapes loadd: target not up within 60 s: $(jq -c '.data.activeTargets[0] | {health, lastError}' "$TMP/targets" 2>/dev/null)"
	tail -5 "$TMP/prometheus.log" | sed 's/^/# /'
	exit 1
fi

# --- 4. rates while traffic flows, and after --------------------------
COUNTERS="flows_started packets_in packets_out bytes_in bytes_out"
# Two connections to the dead service: its no_server drops.
ns_c curl -s -m 1 -o /dev/null "http://$VIP:81/"
ns_c curl -s -m 1 -o /dev/null "http://$VIP:81/"
# At most 2000 requests, until $TMP/stop appears.
ip netns exec "lab$LAB-c" sh -c "i=0; while [ \$i -lt 2000 ] &&
    [ ! -e '$TMP/stop' ]; do curl -s -m 2 -o /dev/null http://$VIP/;
    i=\$((i + 1)); done" &
TRAFFIC_PID=$!
# moving: each of the counters grows on each of the 3 servers of "default".
moving() {
	for _c in $COUNTERS; do
		_n=$(value "count(rate(loadd_server_${_c}_total{service=\"default\"}[5s]) > 0)")
		[ "${_n:-0}" -eq 3 ] || return 1
	done
}
if poll 60 moving; then
	for _c in $COUNTERS; do
		ok "rate(loadd_server_${_c}_total[5s]) > 0 on all 3 servers during traffic (sum $(value "sum(rate(loadd_server_${_c}_total{service=\"default\"}[5s]))")/s)"
	done
else
	for _c in $COUNTERS; do
		notok "rate(loadd_server_${_c}_total[5s]) > 0 on all 3 servers within 60 s of traffic: on $(value "count(rate(loadd_server_${_c}_total{service=\"default\"}[5s]) > 0)")"
	done
fi
n=$(value 'rate(loadd_rewritten_packets_total[5s])')
check "awk -v v='$n' 'BEGIN { exit !(v + 0 > 0) }'" \
    "rate(loadd_rewritten_packets_total[5s]) > 0 during traffic: ${n:-?}/s"
: > "$TMP/stop"
wait "$TRAFFIC_PID"
TRAFFIC_PID=""
# still: every one of those counters has stopped on every server.
still() {
	for _c in $COUNTERS; do
		[ "$(value "sum(rate(loadd_server_${_c}_total[5s]))")" = 0 ] ||
		    return 1
	done
}
if poll 30 still; then
	ok "the flow, packet and byte rates of every server are 0 once curl stops"
else
	notok "the server rates did not fall to 0 within 30 s of the traffic's end: $(for _c in $COUNTERS; do
		printf '%s %s/s ' $_c "$(value "sum(rate(loadd_server_${_c}_total[5s]))")"; done)"
fi

# --- 3. docs against reality -------------------------------------------
# loadd(8), METRICS: ".It Li loadd_a , loadd_b Pq Li label , label" -- one
# line per family: NAME LABEL... (sorted).
sed -n '/^\.Sh METRICS/,/^\.Sh /p' loadd/loadd.8 | grep '^\.It Li loadd_' |
    awk '{
	n = 0; l = ""; inl = 0
	for (i = 2; i <= NF; i++) {
		if ($i == "Pq") { inl = 1; continue }
		if ($i == "Li" || $i == ",") continue
		if (inl) l = l " " $i; else names[++n] = $i
	}
	for (i = 1; i <= n; i++) print names[i] l
    }' | sort > "$TMP/doc"
ndoc=$(wc -l < "$TMP/doc")
check "[ $ndoc -ge 30 ]" "loadd(8) METRICS lists $ndoc families"
# The families Prometheus has, once the agent's and the dead service's
# drops are in (each needs a scrape after its first report or drop).
have_all() {
	api /api/v1/label/__name__/values | jq -r '.data[]' |
	    grep '^loadd_' | sort > "$TMP/names"
	[ -z "$(cut -d' ' -f1 "$TMP/doc" | comm -23 - "$TMP/names")" ]
}
poll 20 have_all
missing=$(cut -d' ' -f1 "$TMP/doc" | comm -23 - "$TMP/names" | tr '\n' ' ')
check "[ -z '$missing' ]" "every family loadd(8) documents is in Prometheus (missing: ${missing:-none})"
extra=$(cut -d' ' -f1 "$TMP/doc" | comm -13 - "$TMP/names" | tr '\n' ' ')
check "[ -z '$extra' ]" "every loadd_ family in Prometheus is in loadd(8) (undocumented: ${extra:-none})"
# Labels: those of the series of each family, less Prometheus's own.
: > "$TMP/labels"
while read -r name _; do
	_l=$(api /api/v1/series --data-urlencode "match[]=$name" |
	    jq -r '[.data[] | keys[]] | unique | .[] |
	    select(. != "__name__" and . != "instance" and . != "job")' |
	    tr '\n' ' ' | sed 's/ $//')
	echo "$name${_l:+ $_l}" >> "$TMP/labels"
done < "$TMP/doc"
sort -o "$TMP/labels" "$TMP/labels"
# The documented labels, sorted the same way.
awk '{ printf "%s", $1; n = split("", a); for (i = 2; i <= NF; i++) a[++n] = $i
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
		if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	for (i = 1; i <= n; i++) printf " %s", a[i]; print "" }' "$TMP/doc" |
    sort > "$TMP/doclabels"
bad=$(comm -3 "$TMP/doclabels" "$TMP/labels" | tr '\t\n' '  ')
check "[ -z '$bad' ]" "each family's labels are the ones loadd(8) gives it (differences: ${bad:-none})"
# Every per-server series names a configured service and server; every
# per-service series a configured service.
api /api/v1/series --data-urlencode 'match[]={__name__=~"loadd_server_.*"}' |
    jq -r '.data[] | "\(.service // "-") \(.server // "-")"' | sort -u > "$TMP/srv"
want=$(for s in default:80 dead:81; do for a in $S1 $S2 $S3; do
	echo "${s%:*} $a:${s#*:}"; done; done | sort | tr '\n' ' ')
got=$(tr '\n' ' ' < "$TMP/srv")
check "[ '$got' = '$want' ]" "per-server series: (service, server) pairs are the 6 configured ($got)"
api /api/v1/series --data-urlencode 'match[]={__name__=~"loadd_service_.*"}' |
    jq -r '.data[] | .service // "-"' | sort -u > "$TMP/svc"
got=$(tr '\n' ' ' < "$TMP/svc")
check "[ '$got' = 'dead default ' ]" "per-service series carry service=\"dead\" and \"default\" ($got)"
# Nothing thrown out: a duplicate series in the page would be counted here.
dup=$(ns_b curl -s -m 5 "$PROM/metrics" | awk '$1 ~ /^prometheus_target_scrapes_(sample_duplicate_timestamp|sample_out_of_order|sample_out_of_bounds)_total$/ { s += $2 } END { print s + 0 }')
check "[ '$dup' = 0 ]" "no sample of loadd's rejected as duplicate, out of order or out of bounds ($dup)"

# --- 5. the rules fire -------------------------------------------------
# firing NAME SERVICE [SERVER]: that alert fires with those labels.
firing() {
	api /api/v1/alerts > "$TMP/alerts" 2>/dev/null &&
	    jq -e --arg a "$1" --arg s "$2" --arg v "${3:-}" \
	    '[.data.alerts[] | select(.state == "firing" and
	    .labels.alertname == $a and .labels.service == $s and
	    ($v == "" or .labels.server == $v))] | length > 0' \
	    "$TMP/alerts" > /dev/null 2>&1
}
fired() { jq -c '[.data.alerts[] | {a: .labels.alertname, s: .labels.service, v: .labels.server, st: .state}]' "$TMP/alerts" 2>/dev/null; }
poll 30 firing LoaddServiceDown dead
check "[ $? -eq 0 ]" "LoaddServiceDown fires for service dead, all of whose servers are down"
n=$(jq '[.data.alerts[] | select(.labels.service == "default")] | length' "$TMP/alerts")
check "[ '$n' = 0 ]" "no alert about service default while its servers are up ($n)"
kill "$(cat "$TMP/s3/nginx.pid")"
if poll 60 firing LoaddServerDown default "$S3:80"; then
	ok "LoaddServerDown fires for $S3:80 once its nginx is stopped"
else
	notok "LoaddServerDown for $S3:80 not firing within 60 s of stopping its nginx: $(fired)"
fi
n=$(jq '[.data.alerts[] | select(.labels.service == "default" and (.labels.server != "'$S3':80"))] | length' "$TMP/alerts")
check "[ '$n' = 0 ]" "no other alert about service default: s1 and s2 are up ($n)"
# s1's agent stops: LoaddAgentStale, once its age passes 30 s.
kill "$LMD_PID" && wait "$LMD_PID" 2>/dev/null
LMD_PID=""
if poll 60 firing LoaddAgentStale default "$S1:80"; then
	ok "LoaddAgentStale fires for $S1:80 once its lmd has been quiet 30 s (loadd_server_agent_age_seconds $(value "loadd_server_agent_age_seconds{server=\"$S1:80\"}"))"
else
	notok "LoaddAgentStale for $S1:80 not firing within 60 s of stopping its lmd: $(fired)"
fi

# --- 6. the dashboard against the scrape -------------------------------
jq -r '[.. | objects | .expr? // empty] + [.templating.list[] |
    .query? // empty | if type == "object" then .query else . end] |
    .[] | strings' "$DASH" > "$TMP/exprs"
grep -o 'loadd_[a-z0-9_]*' "$TMP/exprs" | sort -u > "$TMP/dnames"
nd=$(wc -l < "$TMP/dnames")
unk=$(comm -23 "$TMP/dnames" "$TMP/names" | tr '\n' ' ')
check "[ $nd -ge 20 ] && [ -z '$unk' ]" "the dashboard's queries use $nd loadd metrics, all in the scrape (unknown: ${unk:-none})"
# Label names: grouping clauses, matchers, label_values' second argument
# and the legends' {{label}}.
{
	grep -o '\(by\|without\|on\|ignoring\) *([^)]*)' "$TMP/exprs" |
	    sed 's/^[a-z]* *(//; s/)$//' | tr ',' '\n'
	grep -o '[a-zA-Z_][a-zA-Z0-9_]* *[=!]~\? *"' "$TMP/exprs" |
	    sed 's/ *[=!].*//'
	grep -o 'label_values([^)]*, *[a-z_]*)' "$TMP/exprs" |
	    sed 's/.*, *//; s/)$//'
	jq -r '.. | objects | .legendFormat? // empty' "$DASH" |
	    grep -o '{{ *[a-zA-Z_]* *}}' | tr -d '{} '
} | tr -d ' ' | grep . | sort -u > "$TMP/dlabels"
api /api/v1/labels --data-urlencode 'match[]={__name__=~"loadd_.*"}' |
    jq -r '.data[]' | sort -u > "$TMP/plabels"
nl=$(wc -l < "$TMP/dlabels")
unk=$(comm -23 "$TMP/dlabels" "$TMP/plabels" | tr '\n' ' ')
check "[ $nl -ge 5 ] && [ -z '$unk' ]" "the dashboard uses $nl label names ($(tr '\n' ' ' < "$TMP/dlabels")), all on loadd's series (unknown: ${unk:-none})"
