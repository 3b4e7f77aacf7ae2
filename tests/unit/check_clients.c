/*
 * Per-client limits (loadd/clients.c): the key of a client, open flows,
 * the rate bucket, services apart, and a full table.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "clients.h"
#include "unit.h"

static union addr
v4(const char *s)
{
	union addr	 a;

	memset(&a, 0, sizeof(a));
	ck_assert_int_eq(inet_pton(AF_INET, s, &a.w[0]), 1);
	return (a);
}

static union addr
v6(const char *s)
{
	union addr	 a;

	ck_assert_int_eq(inet_pton(AF_INET6, s, a.b), 1);
	return (a);
}

static const struct client_limits conns3 = { 3, 0, 0, 32, 64 };
static const struct client_limits rate2 = { 0, 2, 0, 32, 64 };

/* A client is its address cut to the prefix: IPv6 by /64 by default. */
START_TEST(test_clients_key)
{
	struct client_limits l = conns3;
	union addr	 a, k, w;

	a = v4("198.51.100.77");
	clients_key(&l, 4, &a, &k);
	ck_assert(addr_eq(&k, &a));
	l.plen4 = 24;
	clients_key(&l, 4, &a, &k);
	w = v4("198.51.100.0");
	ck_assert(addr_eq(&k, &w));
	a = v6("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	clients_key(&l, 6, &a, &k);
	w = v6("2001:db8:1:2::");
	ck_assert(addr_eq(&k, &w));
	l.plen6 = 56;
	clients_key(&l, 6, &a, &k);
	w = v6("2001:db8:1::");
	ck_assert(addr_eq(&k, &w));
	l.plen6 = 128;
	clients_key(&l, 6, &a, &k);
	ck_assert(addr_eq(&k, &a));
}
END_TEST

/* Open flows: the fourth is refused until one ends. */
START_TEST(test_clients_conns)
{
	struct clients	 c;
	union addr	 a = v4("198.51.100.7"), b = v4("198.51.100.8");
	unsigned	 i;

	ck_assert_int_eq(clients_init(&c, 64, 1), 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(clients_admit(&c, &conns3, 4, &a, 0, 1000),
		    CL_OK);
	ck_assert_int_eq(clients_admit(&c, &conns3, 4, &a, 0, 1000), CL_CONNS);
	ck_assert_uint_eq(clients_find(&c, &a, 0)->refused, 1);
	/* Another client, and the same client at another service: apart. */
	ck_assert_int_eq(clients_admit(&c, &conns3, 4, &b, 0, 1000), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &conns3, 4, &a, 1, 1000), CL_OK);
	clients_release(&c, &a, 0);
	ck_assert_uint_eq(clients_find(&c, &a, 0)->active, 2);
	ck_assert_int_eq(clients_admit(&c, &conns3, 4, &a, 0, 1000), CL_OK);
	/* Releases never go below zero, nor touch the unknown. */
	for (i = 0; i < 5; i++)
		clients_release(&c, &a, 0);
	ck_assert_uint_eq(clients_find(&c, &a, 0)->active, 0);
	clients_release(&c, &a, 7);
	ck_assert_ptr_null(clients_find(&c, &a, 7));
	clients_free(&c);
}
END_TEST

/* The rate: a bucket of two, one more every half second. */
START_TEST(test_clients_rate)
{
	struct clients	 c;
	struct client_limits l = rate2;
	union addr	 a = v4("198.51.100.7"), b = v4("198.51.100.8");

	ck_assert_int_eq(clients_init(&c, 64, 1), 0);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 0, 10000), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 0, 10000), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 0, 10100), CL_RATE);
	/* The other client is untouched. */
	ck_assert_int_eq(clients_admit(&c, &l, 4, &b, 0, 10100), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 0, 10499), CL_RATE);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 0, 10500), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 0, 10600), CL_RATE);
	/* A long pause fills the bucket, no more. */
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 0, 90000), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 0, 90000), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 0, 90000), CL_RATE);
	ck_assert_uint_eq(clients_find(&c, &a, 0)->refused, 4);
	/* A burst bigger than the rate. */
	l.burst = 5;
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 1, 0), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 1, 0), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 1, 0), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 1, 0), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 1, 0), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &a, 1, 0), CL_RATE);
	/* The clock wraps (32-bit milliseconds): no free tokens, no loss. */
	l.burst = 0;
	ck_assert_int_eq(clients_admit(&c, &l, 4, &b, 2, 0xfffffe00u), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &b, 2, 0xfffffe00u), CL_OK);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &b, 2, 0xffffff00u), CL_RATE);
	ck_assert_int_eq(clients_admit(&c, &l, 4, &b, 2, 0x100u), CL_OK);
	clients_free(&c);
}
END_TEST

/*
 * A full table (one set): an idle entry makes room first; only when every
 * entry has open flows is one pushed out, and counted.
 */
START_TEST(test_clients_full)
{
	struct clients	 c;
	union addr	 a[6];
	char		 s[32];
	unsigned	 i;

	ck_assert_int_eq(clients_init(&c, CLIENTS_WAYS, 1), 0);
	ck_assert_uint_eq(c.nsets, 1);
	for (i = 0; i < 6; i++) {
		snprintf(s, sizeof(s), "198.51.100.%u", i + 1);
		a[i] = v4(s);
	}
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(clients_admit(&c, &conns3, 4, &a[i], 0,
		    100 + i), CL_OK);
	clients_release(&c, &a[2], 0);		/* a[2] idle */
	ck_assert_int_eq(clients_admit(&c, &conns3, 4, &a[4], 0, 200), CL_OK);
	ck_assert_uint_eq(c.evicted, 0);
	ck_assert_ptr_null(clients_find(&c, &a[2], 0));
	ck_assert_ptr_nonnull(clients_find(&c, &a[0], 0));
	/* All busy: the least recently seen (a[0]) goes, counted. */
	ck_assert_int_eq(clients_admit(&c, &conns3, 4, &a[5], 0, 300), CL_OK);
	ck_assert_uint_eq(c.evicted, 1);
	ck_assert_ptr_null(clients_find(&c, &a[0], 0));
	ck_assert_ptr_nonnull(clients_find(&c, &a[1], 0));
	/* No table, or no limit: everything passes. */
	clients_free(&c);
	ck_assert_int_eq(clients_admit(&c, &conns3, 4, &a[0], 0, 0), CL_OK);
}
END_TEST

Suite *
clients_suite(void)
{
	Suite	*s = suite_create("clients");
	TCase	*tc = tcase_create("limits");

	tcase_add_test(tc, test_clients_key);
	tcase_add_test(tc, test_clients_conns);
	tcase_add_test(tc, test_clients_rate);
	tcase_add_test(tc, test_clients_full);
	suite_add_tcase(s, tc);
	return (s);
}
