/* Replay: a capture in, the rewritten packets out (loadd -r -w). */
#ifndef LOADD_REPLAY_H
#define LOADD_REPLAY_H

struct config;

int	 run_replay(struct config *, const char *rpath, const char *wpath);

#endif
