# Test output shared by the shell tests: one "ok - ..." or "not ok - ..."
# line per check, and at the end "N passed, M failed", which tests/run.sh
# adds up.

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
notok() { fail=$((fail + 1)); echo "not ok - $*"; }
# check CONDITION DESCRIPTION: the condition is evaluated by the shell.
check() { if eval "$1"; then ok "$2"; else notok "$2"; fi; }
tap_end() { echo "$pass passed, $fail failed"; }
