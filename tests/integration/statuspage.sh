#!/bin/sh
# Integration: the status page (issue 18) in a real browser.  loadd
# serves it on its metrics listener; headless Chromium in the client's
# namespace loads it, and the test reads the page Chromium rendered
# through the DevTools protocol (tests/tools/cdp.py):
#
#   client                          balancer                 servers
#  +---------------------------+   +----------------------+  +-------------+
#  | chromium --headless       |---| loadd                |--| s1 nginx+lmd|
#  |   http://198.18.0.1:9670/ |   |  metrics 0.0.0.0:9670|  | s2 nginx    |
#  |   DevTools 127.0.0.1:9222 |   |  VIP 198.18.100.1:80 |  | s3 nginx    |
#  | curl (traffic, requests)  |   +----------------------+  +-------------+
#  +---------------------------+
#
#  1. HTTP: / is HTML with a strict Content-Security-Policy and nosniff,
#     HEAD / its head alone; /status.json is JSON with every server and
#     its history; /metrics is Prometheus; other paths 404, other
#     methods 405; one address holds at most 4 connections.
#  2. Chromium renders it: every server's address and state in the DOM,
#     refreshed; the charts have points once curl sends traffic through
#     the VIP.
#  3. s3's nginx is stopped: once loadd says s3 is down, the page shows it
#     down within the refresh interval (2 s, with room for a busy
#     machine); s2 disabled with loadctl shows as disabled the same way.
#  4. No errors: none recorded by the page itself (uncaught errors, CSP
#     violations), none in the DevTools console and log, no "Uncaught"
#     or Content Security Policy complaint in Chromium's own log.
#  5. A screenshot of the page is kept: $O/artefacts/statuspage.png.
#     With STATUS_SETTLE=S the traffic goes on S seconds more before it
#     is taken (and s2 is enabled again), for charts with more in them.
#  6. loadd stopped: the page says so, and keeps the last answer shown.
#
# Needs chromium, python3, curl, jq (tests/deps.sh installs them).
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
LAB=w$$
TMP=$(mktemp -d)
case $O in /*) B=$O ;; *) B=$PWD/$O ;; esac
LOADD=$B/loadd
LMD=$B/lmd
LOADCTL=$B/loadctl
SLOWCONN=$B/slowconn
CDP="python3 $PWD/tests/tools/cdp.py 9222"
ART=$B/artefacts
URL=http://198.18.0.1:9670
. tests/lib/netns.sh
. tests/lib/tap.sh

S1=198.18.1.11
S2=198.18.1.12
S3=198.18.1.13
CHROME_PID=""
LMD_PID=""
TRAFFIC_PID=""
T0=$(date +%s)
cleanup() {
	for p in $TRAFFIC_PID $CHROME_PID $LMD_PID; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	lab_down
	echo "# statuspage.sh: $(($(date +%s) - T0)) s"
	tap_end
	[ $fail -eq 0 ]
}
trap cleanup EXIT

CTL() { "$LOADCTL" -s "$TMP/ctl.sock" "$@"; }
# poll SECONDS COMMAND...: runs COMMAND every 0.2 s until it succeeds (0)
# or SECONDS have passed (1).
poll() {
	_end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -ge $_end ] && return 1
		sleep 0.2
	done
}
# page EXPR: the value of EXPR in the page Chromium shows, as JSON.
page() { ns_c $CDP eval "$1" 2>/dev/null; }
# page_wait SECS EXPR: until EXPR is true in the page; its last value.
page_wait() { ns_c $CDP wait "$1" "$2" 2>/dev/null; }
# The servers' rows as the page rendered them: "addr:port=state ...".
ROWS="Array.from(document.querySelectorAll('tr[data-server]')).map(function (r) { return r.dataset.server + '=' + r.dataset.state; }).sort().join(' ')"
# code METHOD PATH: the HTTP status loadd answers.
code() {
	ns_c curl -s -m 5 -o /dev/null -w '%{http_code}' -X "$1" "$URL$2"
}

for c in chromium python3 curl jq; do
	if ! command -v $c > /dev/null 2>&1; then
		notok "$c is installed (tests/deps.sh installs it)"
		exit 1
	fi
done
for p in "$LOADD" "$LMD" "$LOADCTL" "$SLOWCONN"; do
	if [ ! -x "$p" ]; then
		notok "$p is built (make O=$O tests)"
		exit 1
	fi
done

lab_up
servers_up
"$LMD" -k 1 > "$TMP/key"
chmod 600 "$TMP/key"
cat > "$TMP/loadd.conf" <<CONF
metrics = 0.0.0.0:9670
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

service = udp
ipaliasing = $VIP
protocol = udp
ports = 5353
servers = $S1, $S2, $S3
check = none
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

# Traffic through the VIP, so that the charts have points: small
# requests and a 10 MB download now and then, until $TMP/stop appears.
ip netns exec "lab$LAB-c" sh -c "i=0; while [ \$i -lt 3000 ] &&
    [ ! -e '$TMP/stop' ]; do curl -s -m 2 -o /dev/null http://$VIP/;
    [ \$((i % 50)) -eq 0 ] && curl -s -m 5 -o /dev/null http://$VIP/big;
    i=\$((i + 1)); done" &
TRAFFIC_PID=$!

# --- 1. HTTP -----------------------------------------------------------
ns_c curl -s -m 5 -D "$TMP/head" -o "$TMP/page.html" "$URL/"
check "grep -q '^HTTP/1.0 200' '$TMP/head' && grep -qi '^content-type: text/html' '$TMP/head'" \
    "GET / is HTML: $(head -1 "$TMP/head" | tr -d '\r')"
grep -i '^content-security-policy:' "$TMP/head" | tr -d '\r' > "$TMP/csp"
check "grep -q \"default-src 'none'; script-src 'sha256-[^ ]*'; style-src 'sha256-[^ ]*'; connect-src 'self';\" '$TMP/csp' && ! grep -q unsafe '$TMP/csp'" \
    "its Content-Security-Policy: nothing but its own hashed script and style and fetches to itself ($(cut -d' ' -f2- "$TMP/csp"))"
check "grep -qi '^x-content-type-options: nosniff' '$TMP/head'" \
    "X-Content-Type-Options: nosniff"
check "! grep -Eq '(src|href)=\"?(https?:)?//' '$TMP/page.html'" \
    "the page loads nothing from elsewhere (no src or href to another host)"
ns_c curl -s -m 5 -I "$URL/" > "$TMP/head2"
len=$(awk 'tolower($1) == "content-length:" { print $2 + 0 }' "$TMP/head2")
check "grep -q '^HTTP/1.0 200' '$TMP/head2' && [ '$len' = $(wc -c < "$TMP/page.html") ]" \
    "HEAD /: 200 with the page's length ($len bytes), no body"
ns_c curl -s -m 5 -o "$TMP/status.json" "$URL/status.json"
check "jq -e '(.servers | length) == 6 and (.services | length) == 2 and .history_s == 300 and (.servers[0].history.new_flows | type) == \"array\"' '$TMP/status.json' > /dev/null" \
    "/status.json: 2 services, 6 servers, each with its history"
check "ns_c curl -s -m 5 '$URL/metrics' | grep -q '^loadd_server_agent_age_seconds{service=\"default\",server=\"$S1:80\"}' || { sleep 1; ns_c curl -s -m 5 '$URL/metrics' | grep -q '^loadd_server_agent_age_seconds{service=\"default\",server=\"$S1:80\"}'; }" \
    "/metrics: Prometheus, with the age of s1's agent"
for t in "GET /nope 404" "GET /status 404" "GET /metrics/ 404" "POST / 405" \
    "PUT /status.json 405" "DELETE /metrics 405"; do
	set -- $t
	got=$(code "$1" "$2")
	check "[ '$got' = $3 ]" "$1 $2: $got (want $3)"
done
pre=$(CTL metrics | awk '$1 ~ /metrics_connections_total.*per_source/ { print $2 }')
ns_c "$SLOWCONN" -n 8 -t 1 -i 0 198.18.0.1 9670 > /dev/null
post=$(CTL metrics | awk '$1 ~ /metrics_connections_total.*per_source/ { print $2 }')
check "[ $((post - pre)) -ge 4 ]" \
    "8 connections at once from one address: $((post - pre)) refused for their source (at most 4 held)"

# --- 2. Chromium -------------------------------------------------------
mkdir -p "$TMP/chromium" "$ART"
ip netns exec "lab$LAB-c" env HOME="$TMP/chromium" chromium --headless \
    --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
    --no-default-browser-check --disable-background-networking \
    --disable-component-update --disable-sync --mute-audio \
    --user-data-dir="$TMP/chromium" --remote-debugging-address=127.0.0.1 \
    --remote-debugging-port=9222 --window-size=1500,1000 \
    --enable-logging=stderr --v=0 "$URL/" > "$TMP/chromium.log" 2>&1 &
CHROME_PID=$!
cdp_up() { ns_c curl -s -m 1 -o /dev/null http://127.0.0.1:9222/json/version; }
if ! poll 60 cdp_up; then
	notok "chromium's DevTools answer within 60 s"
	tail -5 "$TMP/chromium.log" | sed 's/^/# /'
	exit 1
fi
r=$(page_wait 30 "Number(document.documentElement.dataset.refreshes || 0) >= 1")
check "[ '$r' = true ]" "the page fetched /status.json and drew it ($r)"
rows=$(page "$ROWS")
for s in $S1 $S2 $S3; do
	check "echo '$rows' | grep -q '$s:80=up'" "the page shows $s:80 up"
	check "echo '$rows' | grep -q '$s:5353=up'" "the page shows $s:5353 up (service udp)"
done
n=$(page "document.querySelectorAll('h2').length")
check "[ '$n' -ge 3 ]" "the page has a heading for services and one per service ($n)"
a=$(page_wait 10 "(document.querySelector('tr[data-server=\"$S1:80\"]') || {}).textContent.indexOf('fresh') >= 0")
check "[ '$a' = true ]" "s1's row shows its agent's report, fresh"
# Charts: a point a second, so after a few seconds of traffic a line.
c=$(page_wait 30 "Array.from(document.querySelectorAll('tr[data-server\$=\":80\"] polyline.l-flows')).filter(function (p) { return p.getAttribute('points').split(' ').length >= 3; }).length === 3")
check "[ '$c' = true ]" "each server of service default has a chart of new flows with points"
v=$(page_wait 20 "Array.from(document.querySelectorAll('tr[data-server\$=\":80\"] .cap')).filter(function (c) { return / peak [1-9]/.test(c.textContent); }).length >= 3")
peak=$(page "document.querySelector('tr[data-server=\"$S1:80\"] .cap').textContent")
check "[ '$v' = true ]" "the servers' charts have peaks above 0 (s1: $peak)"

# --- 3. a server down, a server disabled -------------------------------
refreshed() { page "Number(document.documentElement.dataset.refreshes || 0)"; }
loadd_says() {
	CTL show servers | awk -v s="$1:80" -v st="$2" '$2 == s && $3 == st { f = 1 } END { exit !f }'
}
kill "$(cat "$TMP/s3/nginx.pid")"
if poll 20 loadd_says $S3 down; then
	t=$(date +%s%N)
	r=$(page_wait 6 "document.querySelector('tr[data-server=\"$S3:80\"]').dataset.state === 'down'")
	dt=$((($(date +%s%N) - t) / 1000000))
	check "[ '$r' = true ]" "s3's nginx stopped: the page shows $S3:80 down $dt ms after loadd did (refresh every 2 s; at most 6 s allowed)"
	why=$(CTL show servers | awk -v s="$S3:80" '$2 == s { print $4 }')
	ST="document.querySelector('tr[data-server=\"$S3:80\"] .st').textContent + ' ' + document.querySelector('tr[data-server=\"$S3:80\"] td:nth-child(3)').textContent"
	page_wait 6 "$ST === 'down $why'" > /dev/null
	st=$(page "$ST")
	check "[ '$st' = '\"down $why\"' ]" "its state and reason on the page: $st (loadctl: down $why)"
else
	notok "loadd marks $S3:80 down within 20 s of its nginx stopping"
fi
CTL disable $S2:80 > /dev/null
r=$(page_wait 6 "document.querySelector('tr[data-server=\"$S2:80\"]').dataset.state === 'disabled'")
check "[ '$r' = true ]" "loadctl disable $S2:80: the page shows it disabled within 6 s"
rows=$(page "$ROWS")
check "echo '$rows' | grep -q '$S1:80=up'" "and $S1:80 still up ($rows)"

# --- 4. no errors --------------------------------------------------------
e=$(page "document.documentElement.dataset.errors || ''")
check "[ '$e' = '\"\"' ]" "the page recorded no error or CSP violation ($e)"
f=$(page "document.documentElement.dataset.fetchError || ''")
check "[ '$f' = '\"\"' ]" "no fetch of status.json failed ($f)"
ns_c $CDP problems > "$TMP/problems" 2>&1
check "[ $? -eq 0 ]" "the DevTools console and log have no error or warning: $(head -3 "$TMP/problems" | tr '\n' ' ')"
check "! grep -Eiq 'Uncaught|Content Security Policy|Refused to' '$TMP/chromium.log'" \
    "Chromium's log has no uncaught error or CSP refusal: $(grep -Ei 'Uncaught|Content Security Policy|Refused to' "$TMP/chromium.log" | head -2)"

check "kill -0 $LOADD_PID 2> /dev/null && ! grep -Eq 'Sanitizer|runtime error' '$TMP/loadd.log'" \
    "loadd still runs, no sanitizer report in its log"

# --- 5. the screenshot -----------------------------------------------------
# STATUS_SETTLE=S: S more seconds of traffic first, for fuller charts
# (doc/status-page.png was taken so, with STATUS_SETTLE=75).
if [ "${STATUS_SETTLE:-0}" -gt 0 ]; then
	CTL enable $S2:80 > /dev/null
	sleep "$STATUS_SETTLE"
fi
: > "$TMP/stop"
rm -f "$ART/statuspage.png"
ns_c $CDP screenshot "$ART/statuspage.png"
check "[ \"\$(od -An -tx1 -N8 '$ART/statuspage.png' | tr -d ' ')\" = 89504e470d0a1a0a ] && [ \$(wc -c < '$ART/statuspage.png') -gt 20000 ]" \
    "a screenshot of the page: $ART/statuspage.png ($(wc -c < "$ART/statuspage.png" 2>/dev/null || echo 0) bytes)"

# --- 6. loadd gone ---------------------------------------------------------
kill "$LOADD_PID" && wait "$LOADD_PID" 2>/dev/null
LOADD_PID=""
r=$(page_wait 6 "document.getElementById('err').className === 'on' && document.getElementById('err').textContent.indexOf('did not answer') >= 0")
check "[ '$r' = true ]" "loadd stopped: the page says it did not answer, within 6 s ($(page "document.getElementById('err').textContent"))"
rows=$(page "$ROWS")
check "echo '$rows' | grep -q '$S1:80=up'" "and still shows the last answer it had"
