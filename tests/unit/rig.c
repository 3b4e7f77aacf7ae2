/* The engine test rig: see rig.h. */
#include <arpa/inet.h>

#include <string.h>

#include "pkt.h"
#include "rig.h"

struct rig	 R;

void
rig_open(const char *text)
{
	memset(&R, 0, sizeof(R));
	conf_load_text(&R.conf, text);
	ck_assert_int_eq(engine_init(&R.e, &R.conf.pool, R.conf.maxflows,
	    R.conf.timeout, 0xe0e0), 0);
	R.now = 1000;
}

void
rig_close(void)
{
	engine_free(&R.e);
	config_free(&R.conf);
}

int
rig_run(const struct tpkt *t)
{
	R.len = tpkt_build(R.buf, sizeof(R.buf), t);
	ck_assert_uint_ne(R.len, 0);
	memcpy(R.orig, R.buf, R.len);
	memset(&R.pb, 0, sizeof(R.pb));
	R.pb.data = R.buf;
	R.pb.len = (uint32_t)R.len;
	R.pb.verdict = 0xff;
	engine_process(&R.e, &R.pb, R.now);
	return (R.pb.verdict);
}

int
rig_c2v(uint16_t cport, uint8_t flags)
{
	struct tpkt t = {
		.family = 4, .proto = PROTO_TCP, .src = CLIENT, .dst = VIP,
		.sport = cport, .dport = 80, .tcpflags = flags, .paylen = 10,
	};

	return (rig_run(&t));
}

int
rig_s2c(const struct server *srv, uint16_t cport, uint8_t flags)
{
	char		 a[ADDR_STRLEN];
	struct tpkt	 t = {
		.family = 4, .proto = PROTO_TCP, .dst = CLIENT,
		.sport = srv->port, .dport = cport, .tcpflags = flags,
		.paylen = 21,
	};

	t.src = addr_ntop(4, &srv->addr, a, sizeof(a));
	return (rig_run(&t));
}

struct flow *
rig_flow(uint16_t cport)
{
	union addr	 a;

	memset(&a, 0, sizeof(a));
	inet_pton(AF_INET, CLIENT, a.b);
	return (flow_lookup(&R.e.ft, flow_hash(&R.e.ft, &a, htons(cport), 0),
	    &a, htons(cport), 0));
}
