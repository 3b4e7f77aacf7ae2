#!/bin/sh
# The Debian packages, as an operator gets them (root, Debian 12):
#
#   tree --copy--> $W/src --dpkg-buildpackage -b--> $W/{loadd,lmd}_*.deb
#                                                     |
#   lintian (no error) <------------------------------+
#   apt-get install ./loadd_*.deb ./lmd_*.deb   (on this machine)
#     files, conffiles, units installed but not enabled, the user loadd,
#     lmd's key, loadd -n / lmd -n on the installed configuration,
#     systemd-analyze verify on the units, man pages
#   apt-get purge loadd lmd
#     nothing of theirs left: /etc/loadd, binaries, units, man pages
#
#   sh tests/pkg/run.sh
#
# It installs on this machine, so it refuses to run where loadd or lmd is
# installed already (as a package or by "make install" into /usr), and it
# purges what it installed on any exit.  The build copies the tree (so
# that debian/ and the parent directory stay clean) and skips the
# package's own tests (DEB_BUILD_OPTIONS=nocheck): tests/run.sh runs them
# in other stages.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh

if [ "$(id -u)" != 0 ]; then
	echo "tests/pkg/run.sh: run me as root (it installs the packages)" >&2
	exit 1
fi

for c in dpkg-buildpackage dh lintian systemd-analyze apt-get man; do
	if ! command -v $c >/dev/null 2>&1; then
		notok "$c is installed (tests/deps.sh installs it)"
		tap_end
		exit 1
	fi
done

PKGS="loadd lmd"
# What the packages install outside /usr/share/doc, for "nothing left".
FILES="/usr/sbin/loadd /usr/sbin/loadctl /usr/sbin/loadd-alive.sh
/usr/sbin/lmd /lib/systemd/system/loadd.service /lib/systemd/system/lmd.service
/etc/loadd/loadd.conf /etc/loadd/lmd.conf /etc/loadd/lmd.key
/usr/share/man/man8/loadd.8.gz /usr/share/man/man8/loadctl.8.gz
/usr/share/man/man8/lmd.8.gz /usr/share/man/man5/loadd.conf.5.gz
/usr/share/man/man5/lmd.conf.5.gz"

status() {
	dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | cut -c2
}

# Someone else's loadd is not ours to install over or to purge.
for p in $PKGS; do
	s=$(status $p)
	if [ -n "$s" ] && [ "$s" != n ]; then
		notok "package $p is not installed before the test (it is: $(dpkg-query -W -f='${Status}' $p)); not touching it"
		tap_end
		exit 1
	fi
done
for f in /etc/loadd $FILES; do
	if [ -e "$f" ]; then
		notok "$f does not exist before the test (it does: a \"make install\"?); not touching it"
		tap_end
		exit 1
	fi
done
user_before=no
id -u loadd >/dev/null 2>&1 && user_before=yes

W=$(mktemp -d /tmp/loadd-pkg.XXXXXX)
installed=no
cleanup() {
	if [ $installed = yes ]; then
		DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $PKGS \
		    >/dev/null 2>&1 || dpkg --purge $PKGS >/dev/null 2>&1
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The tree as git sees it (tracked and new files, not ignored ones such
# as build/), uncommitted edits included.
mkdir "$W/src"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z -c -o --exclude-standard |
	    tar --null --ignore-failed-read -cf - -T - 2>/dev/null |
	    tar -C "$W/src" -xf -
else
	tar --exclude='./build*' --exclude=obj -cf - . | tar -C "$W/src" -xf -
fi

t0=$(date +%s)
if (cd "$W/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
    dpkg-buildpackage -b -us -uc) > "$W/build.log" 2>&1; then
	ok "dpkg-buildpackage -b -us -uc builds ($(( $(date +%s) - t0 )) s):" \
	    $(cd "$W" && ls *.deb | tr '\n' ' ')
else
	notok "dpkg-buildpackage -b -us -uc builds; the end of its log:"
	tail -25 "$W/build.log" | sed 's/^/# /'
	tap_end
	exit 1
fi
DEBS=""
for p in $PKGS; do
	d=$(ls "$W"/${p}_*.deb 2>/dev/null | head -1)
	check '[ -n "$d" ]' "the package $p is built"
	DEBS="$DEBS $d"
done

# Errors fail; warnings are shown (they are listed in README, "Install").
lintian --fail-on error "$W"/loadd_*.changes > "$W/lintian.log" 2>&1
rc=$?
sed 's/^/# lintian: /' "$W/lintian.log"
check '[ $rc -eq 0 ] && ! grep -q "^E:" "$W/lintian.log"' "lintian finds no error"

installed=yes
if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends $DEBS > "$W/install.log" 2>&1; then
	ok "apt-get install ./loadd_*.deb ./lmd_*.deb"
else
	notok "apt-get install ./loadd_*.deb ./lmd_*.deb; its output:"
	sed 's/^/# /' "$W/install.log"
	tap_end
	exit 1
fi
for p in $PKGS; do
	check '[ "$(status $p)" = i ]' "package $p is installed"
done

for f in $FILES /usr/share/doc/loadd/examples/loadd.conf.sample \
    /usr/share/doc/loadd/examples/prometheus/loadd-rules.yml \
    /usr/share/doc/loadd/examples/grafana/loadd-dashboard.json \
    /usr/share/doc/lmd/examples/lmd.conf.sample; do
	check '[ -e "$f" ]' "installed: $f"
done
check '[ -x /usr/sbin/loadd ] && [ -x /usr/sbin/loadctl ] && [ -x /usr/sbin/lmd ]' \
    "the programs are executable"
check 'dpkg-query -W -f="\${Conffiles}" loadd | grep -q "^ /etc/loadd/loadd.conf "' \
    "/etc/loadd/loadd.conf is a conffile of loadd"
check 'dpkg-query -W -f="\${Conffiles}" lmd | grep -q "^ /etc/loadd/lmd.conf "' \
    "/etc/loadd/lmd.conf is a conffile of lmd"
# (Comments may: the units' "adjust the paths if not in /usr/local", the
# sample check_command /usr/local/libexec/check-app.)
usrlocal=$(grep -H -v '^[[:space:]]*#' /etc/loadd/loadd.conf /etc/loadd/lmd.conf \
    /lib/systemd/system/loadd.service /lib/systemd/system/lmd.service |
    grep /usr/local)
check '[ -z "$usrlocal" ]' \
    "the installed configuration and units use no /usr/local path${usrlocal:+: $usrlocal}"

# Installed, not enabled (no symlink anywhere under /etc/systemd), and not
# started (no such process; systemd may not be PID 1 in a container, but
# the package must not start anything itself either).
enabled=$(find /etc/systemd -name loadd.service -o -name lmd.service 2>/dev/null)
check '[ -z "$enabled" ]' "the units are not enabled ${enabled:+(found: $enabled)}"
check '! pgrep -f "^/usr/sbin/(loadd|lmd) " >/dev/null' \
    "neither loadd nor lmd was started"

pw=$(getent passwd loadd)
check '[ -n "$pw" ]' "the system user loadd exists${pw:+: $pw}"
check '[ -n "$pw" ] && [ "$(echo "$pw" | cut -d: -f3)" -lt 1000 ]' \
    "loadd is a system user (uid below 1000)"
check 'getent group loadd >/dev/null' "the group loadd exists"
if [ $user_before = yes ]; then
	echo "# the user loadd existed before (tests/deps.sh makes it for the" \
	    "tests): postinst's adduser accepted it, its creation was not exercised"
fi
check '[ "$(stat -c "%a %U" /etc/loadd/lmd.key 2>/dev/null)" = "600 root" ]' \
    "lmd's postinst made /etc/loadd/lmd.key, mode 600, root's"

out=$(/usr/sbin/loadd -n -f /etc/loadd/loadd.conf 2>&1)
check 'echo "$out" | grep -q "^configuration OK$"' \
    "loadd -n -f /etc/loadd/loadd.conf: configuration OK"
out=$(/usr/sbin/loadd -n 2>&1)
check 'echo "$out" | grep -q "^configuration OK$"' \
    "loadd -n reads /etc/loadd/loadd.conf by default"
out=$(/usr/sbin/lmd -n -f /etc/loadd/lmd.conf 2>&1)
check 'echo "$out" | grep -q "^configuration OK$"' \
    "lmd -n -f /etc/loadd/lmd.conf: configuration OK${out:+ ($out)}"
out=$(/usr/sbin/lmd -n 2>&1)
check 'echo "$out" | grep -q "^configuration OK$"' \
    "lmd -n reads /etc/loadd/lmd.conf by default"
check '/usr/sbin/loadctl -h >/dev/null 2>&1' "loadctl -h runs"

# systemd-analyze verify reads unit files without a running systemd (it
# also checks that ExecStart's programs and Documentation's man pages
# exist).
for u in loadd lmd; do
	if out=$(systemd-analyze verify /lib/systemd/system/$u.service 2>&1); then
		ok "systemd-analyze verify $u.service"
	else
		notok "systemd-analyze verify $u.service:"
		echo "$out" | sed 's/^/# /'
	fi
done

for m in 8:loadd 5:loadd.conf 8:loadctl 8:lmd 5:lmd.conf; do
	check 'man -w ${m%%:*} ${m#*:} >/dev/null 2>&1' \
	    "man -w ${m%%:*} ${m#*:} finds the installed page"
done

# Purge: nothing of either package left.
if DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $PKGS \
    > "$W/purge.log" 2>&1; then
	installed=no
	ok "apt-get purge loadd lmd"
else
	notok "apt-get purge loadd lmd; its output:"
	sed 's/^/# /' "$W/purge.log"
fi
for p in $PKGS; do
	s=$(status $p)
	check '[ -z "$s" ] || [ "$s" = n ]' "package $p is gone (not even config-files)"
done
left=""
for f in /etc/loadd $FILES /usr/share/doc/loadd /usr/share/doc/lmd; do
	[ -e "$f" ] && left="$left $f"
done
check '[ -z "$left" ]' "purge leaves nothing of theirs${left:+ (left:$left)}"
enabled=$(find /etc/systemd /var/lib/systemd/deb-systemd-helper-enabled \
    -name loadd.service -o -name lmd.service 2>/dev/null)
check '[ -z "$enabled" ]' "no unit state left ${enabled:+(found: $enabled)}"
# Debian leaves system users on purge (debian/loadd.postrm says why).
check 'id -u loadd >/dev/null 2>&1' "the user loadd stays after purge, as intended"

tap_end
[ $fail -eq 0 ]
