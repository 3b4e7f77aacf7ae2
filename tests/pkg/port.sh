#!/bin/sh
# The FreeBSD port skeleton (freebsd/net/loadd) cannot be built here: it
# needs FreeBSD's ports tree and bsd.prog.mk (bmake's own mk files on
# Linux install elsewhere, catman pages under man/man/catN).  What can be
# checked here is that it agrees with the tree:
#
#   freebsd/net/loadd/files/{loadd,lmd}.in == etc/rc.d/{loadd,lmd}
#                                             with /usr/local as %%PREFIX%%
#   pkg-plist == PROG and MAN of BSDmakefile, lmd/ and loadctl/ (bmake -V)
#                + what the port's post-install adds (samples, loadd-alive.sh)
#
#   sh tests/pkg/port.sh
set -u
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh

P=freebsd/net/loadd
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

for f in Makefile pkg-descr pkg-plist files/loadd.in files/lmd.in; do
	check '[ -s "$P/$f" ]' "the port has $f"
done

for s in loadd lmd; do
	sed 's|%%PREFIX%%|/usr/local|g' "$P/files/$s.in" > "$T/$s"
	check 'cmp -s "$T/$s" etc/rc.d/$s' \
	    "files/$s.in is etc/rc.d/$s with %%PREFIX%% for /usr/local"
	check 'grep -q "^USE_RC_SUBR=.*[[:space:]]$s\\b" "$P/Makefile"' \
	    "USE_RC_SUBR names $s"
done

if ! command -v bmake >/dev/null 2>&1; then
	echo "# skip: bmake is not installed (tests/deps.sh installs it):" \
	    "pkg-plist not compared with the BSDmakefiles"
	tap_end
	[ $fail -eq 0 ]
	exit
fi

# What bsd.prog.mk installs: sbin/PROG and each page, gzipped, in
# share/man/manN (MANDIR is PREFIX/share/man/man, the section appended).
for d in . lmd loadctl; do
	prog=$(cd $d && bmake -f BSDmakefile -V PROG)
	echo "sbin/$prog"
	for m in $(cd $d && bmake -f BSDmakefile -V MAN); do
		echo "share/man/man${m##*.}/$m.gz"
	done
done > "$T/expect"
# The port's post-install.
printf '%s\n' "@sample etc/loadd.conf.sample" "@sample etc/lmd.conf.sample" \
    sbin/loadd-alive.sh >> "$T/expect"
sort "$T/expect" > "$T/expect.sorted"
sort "$P/pkg-plist" > "$T/plist.sorted"
check 'cmp -s "$T/expect.sorted" "$T/plist.sorted"' \
    "pkg-plist lists exactly what the BSDmakefiles and post-install install"
if ! cmp -s "$T/expect.sorted" "$T/plist.sorted"; then
	diff "$T/expect.sorted" "$T/plist.sorted" | sed 's/^/# /'
fi
for f in etc/loadd.conf etc/lmd.conf etc/loadd-alive.sh; do
	check 'grep -q "{WRKSRC}/$f\\b" "$P/Makefile"' "post-install installs $f"
done

tap_end
[ $fail -eq 0 ]
