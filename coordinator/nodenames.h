/*
 * nodenames.h - the node names that live sessions hold, shared by the
 * node threads (nodeconn.c): a second session may not say hello with a
 * name that a live one holds, and learns so before any welcome (an
 * impostor, or a node whose old session has not ended yet, gets nothing
 * of the ambassador's). A name is held from the hello until the session's
 * thread ends. Any thread; one lock, never held across I/O.
 */
#ifndef FF_NODENAMES_H
#define FF_NODENAMES_H

#include <stddef.h>
#include <stdint.h>

struct nodenames;

struct nodenames *nodenames_new(void);
void nodenames_free(struct nodenames *n); /* NULL ok */
/* Hold name for session (from peer). 0, or -1 when another session holds
 * it (holder gets that session's peer) or out of memory (holder "").
 * NULL n: always 0. */
int nodenames_claim(struct nodenames *n, const char *name, uint64_t session,
                    const char *peer, char *holder, size_t holderlen);
/* Let go of name if session holds it. NULL n ok. */
void nodenames_release(struct nodenames *n, const char *name, uint64_t session);

#endif
