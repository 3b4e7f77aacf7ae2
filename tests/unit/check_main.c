/*
 * The unit test runner: every suite, one report.  CK_FORK=no in the
 * environment runs the tests in this process, for a debugger;
 * CK_RUN_SUITE and CK_RUN_CASE pick a suite or a test case by name.
 */
#include <stdlib.h>

#include "unit.h"

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(pkt_suite());
	srunner_add_suite(sr, cksum_suite());
	srunner_add_suite(sr, cfgfile_suite());
	srunner_add_suite(sr, cfgkw_suite());
	srunner_add_suite(sr, conf_suite());
	srunner_add_suite(sr, flow_suite());
	srunner_add_suite(sr, engine_suite());
	srunner_add_suite(sr, engine_fp_suite());
	srunner_add_suite(sr, sched_suite());
	srunner_add_suite(sr, health_suite());
	srunner_add_suite(sr, probe_suite());
	srunner_add_suite(sr, hcprobe_suite());
	srunner_add_suite(sr, srvstate_suite());
	srunner_add_suite(sr, report_suite());
	srunner_add_suite(sr, loop_suite());
	srunner_add_suite(sr, proc_suite());
	srunner_add_suite(sr, stats_suite());
	srunner_add_suite(sr, ctl_suite());
	srunner_add_suite(sr, srvhist_suite());
	srunner_add_suite(sr, clients_suite());
	srunner_add_suite(sr, limits_suite());
#ifdef LOADD_SECCOMP
	srunner_add_suite(sr, sandbox_suite());
#endif
#ifdef LOADD_FASTPATH
	srunner_add_suite(sr, fastpath_suite());
#endif
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
