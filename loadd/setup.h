/*
 * What the live daemon and the replay both do: set the engine up from a
 * configuration, say how the services will run, and send what the
 * engine made up.
 */
#ifndef LOADD_SETUP_H
#define LOADD_SETUP_H

#include <stddef.h>

struct config;
struct engine;
struct pktio;

int	 setup_engine(struct engine *, struct config *, int reloadable,
	    char *err, size_t errlen);
void	 setup_note_methods(const struct config *);
void	 setup_note_health(const struct config *);
void	 setup_flush_generated(struct engine *, struct pktio *);

#endif
