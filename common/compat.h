/*
 * The BSD functions loadd uses (strlcpy, arc4random, reallocarray,
 * pidfile_open) come with the system on the BSDs and from libbsd on Linux.
 */
#ifndef LOADD_COMPAT_H
#define LOADD_COMPAT_H

#ifdef __linux__
#include <bsd/libutil.h>
#include <bsd/stdlib.h>
#include <bsd/string.h>
#else
#include <sys/param.h>
#include <libutil.h>
#include <stdlib.h>
#include <string.h>
#endif

#endif
