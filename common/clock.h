/*
 * The clocks loadd and lmd read.  Monotonic time for every deadline and
 * age; the wall clock only where another machine must agree (report
 * timestamps).
 */
#ifndef LOADD_CLOCK_H
#define LOADD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
clock_ms_of(clockid_t id)
{
	struct timespec	 ts;

	clock_gettime(id, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Monotonic milliseconds, not wrapping: deadlines, ages, timers. */
static inline uint64_t
clock_mono_ms(void)
{
	return (clock_ms_of(CLOCK_MONOTONIC));
}

/* Monotonic microseconds: lmd's checks and CPU samples. */
static inline uint64_t
clock_mono_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

/* Monotonic seconds: the flow table's clock. */
static inline uint32_t
clock_mono_s(void)
{
	return ((uint32_t)(clock_mono_ms() / 1000));
}

/* Wall-clock milliseconds since the epoch: report timestamps. */
static inline uint64_t
clock_wall_ms(void)
{
	return (clock_ms_of(CLOCK_REALTIME));
}

#endif
