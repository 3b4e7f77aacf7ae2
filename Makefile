# loadd — GNU make.  Every setting can be overridden from the command line
# or the environment: CC, CFLAGS, CPPFLAGS, LDFLAGS, PREFIX, DESTDIR, O.
#
#   make                 build loadd into $(O)/
#   make check           unit and replay tests (no root needed)
#   make install         install under $(DESTDIR)$(PREFIX)
#   make O=build-asan CC=clang CFLAGS="-O1 -g -fsanitize=address,undefined" \
#        LDFLAGS="-fsanitize=address,undefined" check

PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= $(PREFIX)/etc
UNITDIR		?= $(PREFIX)/lib/systemd/system
DESTDIR		?=
CFLAGS		?= -O2 -g
CPPFLAGS	?=
LDFLAGS		?=
PKG_CONFIG	?= pkg-config
INSTALL		?= install
O		?= build
# The packet process's own user (loadd.conf "user"), made by install.
LOADD_USER	?= loadd

# Always on, whatever CFLAGS says (relayd's set plus C11).
WARNFLAGS	= -std=c11 -Wall -Wextra -Werror -Wstrict-prototypes \
		  -Wmissing-prototypes -Wmissing-declarations -Wshadow \
		  -Wpointer-arith -Wcast-qual -Wsign-compare -Wformat=2 \
		  -Wvla

UNAME_S		:= $(shell uname -s)
DEFS		= -D_GNU_SOURCE -DLOADD_CONF='"$(SYSCONFDIR)/loadd.conf"' \
		  -DLOADD_USER='"$(LOADD_USER)"' \
		  -DLMD_CONF='"$(SYSCONFDIR)/lmd.conf"'
INCS		= -Icommon -Iloadd

LIBS_PCAP	:= $(shell $(PKG_CONFIG) --libs libpcap 2>/dev/null || echo -lpcap)
LIBS_BSD	:= $(shell $(PKG_CONFIG) --libs libbsd 2>/dev/null || echo -lbsd)
LIBS_NFQ	:= $(shell $(PKG_CONFIG) --libs libnetfilter_queue libmnl 2>/dev/null || echo -lnetfilter_queue -lmnl)
LIBS_CHECK	:= $(shell $(PKG_CONFIG) --libs check 2>/dev/null || echo -lcheck)
LIBS_NET	:= $(shell libnet-config --libs 2>/dev/null || echo -lnet)
LIBS_SECCOMP	:= $(shell $(PKG_CONFIG) --libs libseccomp 2>/dev/null || echo -lseccomp)
LIBS_SODIUM	:= $(shell $(PKG_CONFIG) --libs libsodium 2>/dev/null || echo -lsodium)
CFLAGS_SODIUM	:= $(shell $(PKG_CONFIG) --cflags libsodium 2>/dev/null)

ALL_CFLAGS	= $(WARNFLAGS) $(DEFS) $(INCS) $(CFLAGS_SODIUM) $(CPPFLAGS) $(CFLAGS)

COMMON_SRCS	= common/addr.c common/cfgfile.c common/cfgkw.c common/cksum.c \
		  common/log.c common/pkt.c common/proc.c
# The report format (common/report.c) needs libsodium, and the checks'
# wire side (common/probe.c) serves loadd and lmd only, so they go with
# those two rather than with every program that uses common/.
LOADD_SRCS	= loadd/agent.c loadd/config.c loadd/config_build.c \
		  loadd/config_check.c loadd/ctl.c loadd/engine.c \
		  loadd/engine_flow.c loadd/engine_icmp.c loadd/engine_offload.c \
		  loadd/engine_tick.c loadd/engine_fp.c \
		  loadd/live.c loadd/loop.c loadd/replay.c loadd/setup.c \
		  loadd/flow.c loadd/health.c loadd/pool.c loadd/pktio_pcap.c \
		  loadd/hcprobe.c loadd/srvstate.c common/probe.c \
		  loadd/privsep.c loadd/reload.c loadd/reset.c loadd/rules.c loadd/sched.c \
		  loadd/sched_maglev.c \
		  loadd/sticky.c loadd/sysctl_check.c common/report.c \
		  loadd/clients.c loadd/connlimit.c
# The control socket's commands (ctl_cmd.c), the buffer of its answers
# and pages (obuf.c), every output of the counters (stats*.c).
LOADD_SRCS	+= loadd/ctl_cmd.c loadd/obuf.c loadd/stats.c \
		   loadd/stats_render.c
# What the metrics port answers (ctl_http.c), the servers' last minutes
# (srvhist.c) and the status page it serves (statuspage.c).
LOADD_SRCS	+= loadd/ctl_http.c loadd/srvhist.c loadd/statuspage.c
LOADD_LIBS	= $(LIBS_PCAP) $(LIBS_BSD) $(LIBS_NET) $(LIBS_SODIUM) -lm
# lmd, the agent: the same configuration syntax, logging and report code.
LMD_SRCS	= lmd/lmd.c lmd/lmd_conf.c lmd/check.c common/report.c \
		  common/addr.c common/cfgfile.c common/cfgkw.c common/log.c \
		  common/proc.c common/probe.c
ifeq ($(UNAME_S),Linux)
LOADD_SRCS	+= loadd/pktio_nfq.c loadd/ctevents.c loadd/sandbox.c
LOADD_LIBS	+= $(LIBS_NFQ) $(LIBS_SECCOMP)
# The packet process's system call filter (loadd/sandbox.c).
DEFS		+= -DLOADD_SECCOMP
LMD_SRCS	+= lmd/sample_linux.c
else
# FreeBSD: divert(4); pidfile_open comes from libutil, not libbsd.
LOADD_SRCS	+= loadd/pktio_divert.c
LIBS_BSD	:= -lutil
LMD_SRCS	+= lmd/sample_freebsd.c
endif
LMD_LIBS	= $(LIBS_BSD) $(LIBS_SODIUM)

# The eBPF fast path (Linux, optional; doc/fastpath.md): a tc program
# compiled by clang -target bpf and embedded by bpftool's skeleton, and its
# loader (libbpf).  Built when all three are there, unless FASTPATH=no;
# the rest of loadd builds without it (and refuses offload = bpf).
BPF_CLANG	?= clang
BPFTOOL		?= $(shell PATH="$$PATH:/usr/sbin:/sbin" command -v bpftool)
BPF_CFLAGS	?= -O2 -g
ifeq ($(UNAME_S),Linux)
# Probed once (":="), unless the caller said.
ifeq ($(origin FASTPATH),undefined)
FASTPATH	:= $(shell $(PKG_CONFIG) --exists libbpf 2>/dev/null && \
		   [ -n "$(BPFTOOL)" ] && echo 'int x;' | \
		   $(BPF_CLANG) -target bpf -x c -c -o /dev/null - \
		   2>/dev/null && echo yes || echo no)
endif
else
FASTPATH	= no
endif
FASTPATH_SRCS	=
ifeq ($(FASTPATH),yes)
DEFS		+= -DLOADD_FASTPATH
FASTPATH_SRCS	= loadd/fastpath.c loadd/fastpath_events.c
# In loadd (offload = bpf) with the live daemon's side of it; so in
# every program that links loadd's objects.
LOADD_SRCS	+= loadd/fastpath.c loadd/fastpath_events.c loadd/live_fp.c
LIBS_BPF	:= $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf)
LOADD_LIBS	+= $(LIBS_BPF)
BPF_INCS	= -Iloadd -I/usr/include/$(shell $(BPF_CLANG) -print-multiarch 2>/dev/null)
endif

UNIT_SRCS	= $(wildcard tests/unit/*.c)

COMMON_OBJS	= $(COMMON_SRCS:%.c=$(O)/obj/%.o)
LOADD_OBJS	= $(LOADD_SRCS:%.c=$(O)/obj/%.o)
FASTPATH_OBJS	= $(FASTPATH_SRCS:%.c=$(O)/obj/%.o)
UNIT_OBJS	= $(UNIT_SRCS:%.c=$(O)/obj/%.o)

PROGS		= $(O)/loadd $(O)/lmd $(O)/loadctl
TESTPROGS	= $(O)/check_unit $(O)/report_recv $(O)/report_forge \
		  $(O)/gen_fixtures \
		  $(O)/verify_replay $(O)/pktflood $(O)/engine_bench
ifeq ($(UNAME_S),Linux)
TESTPROGS	+= $(O)/nfdelay $(O)/loadd-divemu $(O)/divemu $(O)/udpblast \
		   $(O)/slowconn $(O)/udpsize $(O)/udpecho
endif
ifeq ($(FASTPATH),yes)
TESTPROGS	+= $(O)/fastpathctl
endif

all: $(PROGS)

tests: $(PROGS) $(TESTPROGS)

$(O)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(O)/loadd: $(O)/obj/loadd/loadd.o $(LOADD_OBJS) $(COMMON_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LOADD_LIBS)

$(O)/lmd: $(LMD_SRCS:%.c=$(O)/obj/%.o)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LMD_LIBS)

$(O)/loadctl: $(O)/obj/loadctl/loadctl.o $(O)/obj/common/proc.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_BSD)

# Small UDP datagrams as fast as it can, for bench/live.sh.
$(O)/udpblast: $(O)/obj/tests/tools/udpblast.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

# A UDP responder that answers every datagram, for bench/soak.sh.
$(O)/udpecho: $(O)/obj/tests/tools/udpecho.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

# Idle and slowloris connections, for tests/integration/metrics.sh.
$(O)/slowconn: $(O)/obj/tests/tools/slowconn.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

# Large UDP datagrams both ways, checked (tests/integration/frag.sh).
$(O)/udpsize: $(O)/obj/tests/tools/udpsize.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

# Forged, garbage and replayed agent reports (tests/integration/agents.sh).
$(O)/report_forge: $(O)/obj/tests/tools/report_forge.o $(O)/obj/common/report.o \
    $(O)/obj/common/cfgfile.o $(O)/obj/common/addr.o $(O)/obj/common/log.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_SODIUM)

# Receives and decodes reports for the lmd tests (tests/lmd/).
$(O)/report_recv: $(O)/obj/tests/lmd/report_recv.o $(O)/obj/common/report.o \
    $(O)/obj/common/cfgfile.o $(O)/obj/common/addr.o $(O)/obj/common/log.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_SODIUM)

$(O)/check_unit: $(UNIT_OBJS) $(LOADD_OBJS) $(COMMON_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LOADD_LIBS) $(LIBS_CHECK)

# The fast path's program, its skeleton (the object embedded in C), and
# the loader that includes it.  -mcpu=v2: clang 14's v3 (alu32)
# zero-extends the packet pointers it loads from the context, and the
# verifier then refuses the accesses.
$(O)/obj/bpf/fastpath.bpf.o: bpf/fastpath.bpf.c
	@mkdir -p $(@D)
	$(BPF_CLANG) -target bpf -mcpu=v2 $(BPF_CFLAGS) -Wall -Wextra -Werror \
	    $(BPF_INCS) -MMD -MP -c -o $@ $<

$(O)/gen/fastpath.skel.h: $(O)/obj/bpf/fastpath.bpf.o
	@mkdir -p $(@D)
	$(BPFTOOL) gen skeleton $< name fastpath_bpf > $@.tmp && mv $@.tmp $@

$(O)/obj/loadd/fastpath.o $(O)/obj-divemu/loadd/fastpath.o: \
    $(O)/gen/fastpath.skel.h
$(O)/obj/loadd/fastpath.o $(O)/obj-divemu/loadd/fastpath.o: \
    INCS += -I$(O)/gen

# Loads, attaches, fills and reads the fast path by hand
# (tests/integration/fastpath.sh).
$(O)/fastpathctl: $(O)/obj/tests/tools/fastpathctl.o $(FASTPATH_OBJS) \
    $(O)/obj/common/addr.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_BPF)

$(O)/gen_fixtures: $(O)/obj/tests/replay/gen_fixtures.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_NET) $(LIBS_PCAP)

$(O)/verify_replay: $(O)/obj/tests/replay/verify_replay.o $(COMMON_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_PCAP)

$(O)/pktflood: $(O)/obj/tests/tools/pktflood.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_NET)

# loadd with the FreeBSD divert backend over an emulated divert socket,
# and the emulator that plays the kernel (tests/divert/).
DIVEMU_SRCS	= $(filter-out loadd/pktio_nfq.c loadd/ctevents.c,$(LOADD_SRCS)) \
		  loadd/pktio_divert.c loadd/loadd.c $(COMMON_SRCS)

$(O)/obj-divemu/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -DDIVERT_EMULATION -MMD -MP -c -o $@ $<

$(O)/loadd-divemu: $(DIVEMU_SRCS:%.c=$(O)/obj-divemu/%.o)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LOADD_LIBS)

$(O)/divemu: $(O)/obj/tests/divert/divemu.o $(COMMON_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_PCAP)

$(O)/nfdelay: $(O)/obj/tests/tools/nfdelay.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS_NFQ)

# Unit and replay tests: no root, no network.
# check's per-test timeout (4 s by default) only guards against a test
# that hangs: a sanitizer build on two busy CPUs needs more than 4 s for
# the big tables, so it is a minute unless the caller says otherwise.
check: tests
	@rc=0; \
	CK_DEFAULT_TIMEOUT=$${CK_DEFAULT_TIMEOUT:-60} $(O)/check_unit || rc=1; \
	O=$(O) sh tests/cli/run.sh || rc=1; \
	O=$(O) sh tests/lmd/run.sh || rc=1; \
	O=$(O) sh tests/replay/run.sh || rc=1; \
	if [ -x $(O)/divemu ]; then O=$(O) sh tests/divert/run.sh || rc=1; fi; \
	exit $$rc

# Integration tests in network namespaces (root; real peers).
check-integration: tests
	O=$(O) sh tests/integration/run.sh

# The engine benchmark (bench/README): "make bench" prints a table.
$(O)/engine_bench: $(O)/obj/bench/engine_bench.o $(LOADD_OBJS) $(COMMON_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LOADD_LIBS)

bench: $(O)/engine_bench
	$(O)/engine_bench

# Fuzzing (clang, libFuzzer).  "make fuzz" fuzzes each harness for
# FUZZTIME seconds starting from the committed corpus; "make fuzz-replay"
# only runs the committed corpus through the harnesses.  Both build in
# $(FUZZ_O) with ASan and UBSan.
FUZZERS		= pkt engine config report ctl http
ifeq ($(UNAME_S),Linux)
FUZZERS		+= ctev
endif
FUZZTIME	?= 20
FUZZ_O		?= build-fuzz
FUZZ_CFLAGS	?= -O1 -g -fno-omit-frame-pointer \
		   -fsanitize=fuzzer-no-link,address,undefined \
		   -fno-sanitize-recover=undefined

$(O)/fuzz_%: $(O)/obj/tests/fuzz/fuzz_%.o $(LOADD_OBJS) $(COMMON_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LOADD_LIBS)

fuzz-bins: $(FUZZERS:%=$(O)/fuzz_%)

fuzz:
	$(MAKE) O=$(FUZZ_O) CC=clang CFLAGS="$(FUZZ_CFLAGS)" \
	    LDFLAGS="-fsanitize=address,undefined" fuzz-bins
	@for f in $(FUZZERS); do \
		mkdir -p $(FUZZ_O)/corpus-$$f; \
		echo "fuzz: $$f for $(FUZZTIME) s"; \
		$(FUZZ_O)/fuzz_$$f -max_total_time=$(FUZZTIME) -max_len=4096 \
		    -print_final_stats=1 $(FUZZ_O)/corpus-$$f \
		    tests/fuzz/corpus/$$f 2>&1 | tail -3 || exit 1; \
	done

fuzz-replay:
	$(MAKE) O=$(FUZZ_O) CC=clang CFLAGS="$(FUZZ_CFLAGS)" \
	    LDFLAGS="-fsanitize=address,undefined" fuzz-bins
	@for f in $(FUZZERS); do \
		$(FUZZ_O)/fuzz_$$f -runs=0 tests/fuzz/corpus/$$f 2>&1 | \
		    tail -1 || exit 1; \
	done

demo: all
	O=$(O) sh demo/lab.sh --no-deps

install: all
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(SYSCONFDIR)
	$(INSTALL) -m 0755 $(O)/loadd $(DESTDIR)$(SBINDIR)/loadd
	$(INSTALL) -m 0644 loadd/loadd.8 $(DESTDIR)$(MANDIR)/man8/loadd.8
	$(INSTALL) -m 0644 loadd/loadd.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/loadd.conf.5
	$(INSTALL) -m 0644 etc/loadd.conf \
	    $(DESTDIR)$(SYSCONFDIR)/loadd.conf.sample
	$(INSTALL) -m 0755 $(O)/lmd $(DESTDIR)$(SBINDIR)/lmd
	$(INSTALL) -m 0644 lmd/lmd.8 $(DESTDIR)$(MANDIR)/man8/lmd.8
	$(INSTALL) -m 0644 lmd/lmd.conf.5 $(DESTDIR)$(MANDIR)/man5/lmd.conf.5
	$(INSTALL) -m 0644 etc/lmd.conf $(DESTDIR)$(SYSCONFDIR)/lmd.conf.sample
	$(INSTALL) -m 0755 $(O)/loadctl $(DESTDIR)$(SBINDIR)/loadctl
	$(INSTALL) -m 0755 etc/loadd-alive.sh $(DESTDIR)$(SBINDIR)/loadd-alive.sh
	$(INSTALL) -m 0644 loadctl/loadctl.8 $(DESTDIR)$(MANDIR)/man8/loadctl.8
ifeq ($(UNAME_S),Linux)
	$(INSTALL) -d $(DESTDIR)$(UNITDIR)
	for u in loadd lmd; do \
	    sed -e 's|/usr/local/sbin|$(SBINDIR)|g' \
	        -e 's|/usr/local/etc|$(SYSCONFDIR)|g' etc/systemd/$$u.service \
	        > $(DESTDIR)$(UNITDIR)/$$u.service && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.service || exit 1; \
	done
endif
	@$(MAKE) -s install-user

# The system user of loadd's packet process, when installing for real (no
# DESTDIR: a package's scripts make it there) as root, if it is missing.
install-user:
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && \
	    ! id -u $(LOADD_USER) >/dev/null 2>&1; then \
		echo "creating the system user $(LOADD_USER)"; \
		useradd --system --user-group --home-dir /var/empty \
		    --no-create-home --shell /usr/sbin/nologin \
		    --comment "loadd packet process" $(LOADD_USER) || exit 1; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/loadd $(DESTDIR)$(MANDIR)/man8/loadd.8 \
	    $(DESTDIR)$(MANDIR)/man5/loadd.conf.5 \
	    $(DESTDIR)$(SYSCONFDIR)/loadd.conf.sample \
	    $(DESTDIR)$(SBINDIR)/lmd $(DESTDIR)$(MANDIR)/man8/lmd.8 \
	    $(DESTDIR)$(MANDIR)/man5/lmd.conf.5 \
	    $(DESTDIR)$(SYSCONFDIR)/lmd.conf.sample \
	    $(DESTDIR)$(SBINDIR)/loadctl $(DESTDIR)$(MANDIR)/man8/loadctl.8 \
	    $(DESTDIR)$(SBINDIR)/loadd-alive.sh \
	    $(DESTDIR)$(UNITDIR)/loadd.service $(DESTDIR)$(UNITDIR)/lmd.service

clean:
	rm -rf $(O)

.PHONY: all tests check check-integration demo install install-user uninstall clean \
	fuzz fuzz-bins fuzz-replay bench

-include $(shell find $(O)/obj $(O)/obj-divemu -name "*.d" 2>/dev/null)
