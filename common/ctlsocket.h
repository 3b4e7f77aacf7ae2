/*
 * Where loadd listens for commands and where loadctl sends them unless
 * told otherwise: one definition, so that the two cannot disagree.  At
 * run time "ctlsocket =" in loadd.conf, loadd -s and loadctl -s choose
 * another path.  A build may move the default for both programs with
 * CPPFLAGS=-DLOADD_CTLSOCKET='"/run/loadd.sock"' (the GNU Makefile passes
 * CPPFLAGS to every program); loadd(8), loadd.conf(5) and loadctl(8)
 * name the path below.
 */
#ifndef LOADD_CTLSOCKET_H
#define LOADD_CTLSOCKET_H

#ifndef LOADD_CTLSOCKET
#define LOADD_CTLSOCKET	"/var/run/loadd.sock"
#endif

#endif
