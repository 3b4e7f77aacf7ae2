/*
 * Address and port parsing for configuration files and command lines.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

/* A port is 1..65535, decimal, nothing around it. */
int
port_parse(const char *text, uint16_t *port)
{
	char		*end;
	unsigned long	 v;

	if (*text < '0' || *text > '9')
		return (-1);
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > 65535)
		return (-1);
	*port = (uint16_t)v;
	return (0);
}

int
addr_parse(const char *text, union addr *a, uint16_t *port)
{
	char		 buf[64];
	const char	*colon, *close;
	size_t		 len;

	memset(a, 0, sizeof(*a));
	*port = 0;
	len = strlen(text);
	if (len == 0 || len >= sizeof(buf))
		return (0);

	if (text[0] == '[') {
		/* [v6]:port */
		close = strchr(text, ']');
		if (close == NULL || close[1] != ':')
			return (0);
		len = (size_t)(close - text - 1);
		memcpy(buf, text + 1, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET6, buf, a->b) != 1)
			return (0);
		if (port_parse(close + 2, port) == -1)
			return (0);
		return (6);
	}
	if (inet_pton(AF_INET6, text, a->b) == 1)
		return (6);

	colon = strchr(text, ':');
	if (colon != NULL) {
		len = (size_t)(colon - text);
		memcpy(buf, text, len);
		buf[len] = '\0';
		if (port_parse(colon + 1, port) == -1)
			return (0);
	} else
		memcpy(buf, text, len + 1);
	if (inet_pton(AF_INET, buf, &a->w[0]) != 1)
		return (0);
	return (4);
}

const char *
addr_ntop(int family, const union addr *a, char *buf, size_t len)
{
	if (inet_ntop(family == 6 ? AF_INET6 : AF_INET, a->b, buf,
	    (socklen_t)len) == NULL)
		return ("?");
	return (buf);
}
