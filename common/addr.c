/*
 * Address and port parsing for configuration files and command lines.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
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

/* Returns the length to bind or connect with. */
unsigned
addr_to_sockaddr(int family, const union addr *a, uint16_t port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == 4) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, &a->w[0], 4);
		return (sizeof(*sin));
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	if (family == 6)
		memcpy(&sin6->sin6_addr, a->b, 16);
	return (sizeof(*sin6));
}

/* Returns the family (4 or 6), or 0 for any other kind of address. */
int
addr_from_sockaddr(const struct sockaddr_storage *ss, union addr *a,
    uint16_t *port)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;

	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		memcpy(&a->w[0], &sin->sin_addr, 4);
		if (port != NULL)
			*port = ntohs(sin->sin_port);
		return (4);
	}
	if (ss->ss_family == AF_INET6) {
		memcpy(a->b, &sin6->sin6_addr, 16);
		if (port != NULL)
			*port = ntohs(sin6->sin6_port);
		return (6);
	}
	return (0);
}
