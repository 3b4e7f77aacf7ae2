#ifndef LOADD_RULES_H
#define LOADD_RULES_H

#include <stdio.h>

struct config;

void	 rules_print_iptables(FILE *, const struct config *);
void	 rules_print_ipfw(FILE *, const struct config *);

#endif
