/*
 * Big-endian fields at any alignment, for the wire formats (packet
 * headers, agent reports): a field is copied byte by byte, and a
 * received buffer is never cast to a wider type.
 *
 * be16dec, be32dec, be64dec and be16enc, be32enc, be64enc are the BSDs'
 * own (<sys/endian.h>, byteorder(9) on FreeBSD).  On Linux, libbsd, which
 * loadd, lmd and loadctl need anyway, has the same functions, static
 * inline in its header: a program that uses only these does not link
 * against it.  glibc's <endian.h> swaps values (htobe32) but does not
 * read or write a buffer at an odd offset, so it would not do here.
 */
#ifndef LOADD_BYTEORDER_H
#define LOADD_BYTEORDER_H

#ifdef __linux__
#include <bsd/sys/endian.h>
#else
#include <sys/endian.h>
#endif

#endif
