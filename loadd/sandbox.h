/*
 * The packet process's system call filter (Linux only; see sandbox.c).
 */
#ifndef LOADD_SANDBOX_H
#define LOADD_SANDBOX_H

/* Installs it for good: 0, or -1 (logged) if it could not be. */
int	 sandbox_packet_process(void);

#endif
