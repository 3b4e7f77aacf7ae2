/*
 * What loadd, lmd and loadctl do to their own process on the way up.
 */
#ifndef LOADD_PROC_H
#define LOADD_PROC_H

int	 stdfds_open(void);
void	 sig_catch(void (*)(int), ...);

#endif
