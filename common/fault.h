/*
 * fault.h - the test hooks: fault injection driven by environment
 * variables, compiled in only for test builds. Any thread; the
 * environment is read on each call and never changed by framefarm.
 *
 * fault.c is built twice: with -DFF_TEST_HOOKS for the test binaries
 * ($(BUILD)/test-bin/, what tests/ runs) and without it for the release
 * binaries ($(BUILD)/bin/). In a release build every function here says
 * "no fault", the environment is never read, and the variables' names
 * are not in the binary; callers need no #ifdef. Test hooks are never
 * meant for production: callers log loudly when one is armed.
 *
 * Hooks (variable: reader):
 *   FRAMEFARM_CRASH_AT=POINT       fault_crash_point, fault_crash_armed
 *   FRAMEFARM_FAULT_ENCODER=NAME   fault_encoder (the node offers encoder
 *                                  NAME as probed, and every open fails)
 *   FRAMEFARM_FAULT_DECODER=NAME   fault_decoder (nvdec or vaapi passes
 *                                  its probe, and every decode fails)
 *   FRAMEFARM_FAULT_CORRUPT_SET=N  fault_corrupt_set (the node truncates
 *                                  the first result of set N)
 *   FRAMEFARM_FAULT_STALL_SET=N    fault_stall_set (the node's first
 *                                  attempt at set N never finishes: it
 *                                  reports nothing until cancelled)
 *   FRAMEFARM_FAULT_SLOW_MS=N      fault_slow_ms (the node waits N ms
 *                                  before each set: a slow machine)
 *   FRAMEFARM_FAULT_SET_FILES=N  fault_set_files (the ambassador's first
 *                           try at set N's folder and manifest fails
 *                           with EIO)
 *   FRAMEFARM_FAULT_ZIP_EIO=1      fault_zip_eio (listing a zip fails with
 *                                  EIO, as a share that went away)
 *   FRAMEFARM_FAULT_JOURNAL_EIO=N  fault_journal_eio (the ambassador's
 *                                  N-th journal append writes half its
 *                                  bytes and fails with EIO, as a share
 *                                  that went away under it)
 *   FRAMEFARM_FAULT_CONN_CAP=N     fault_conn_cap (the ambassador takes up
 *                                  to N connections whatever its
 *                                  descriptor limit: accept meets EMFILE)
 *
 * Crash points (the values of FRAMEFARM_CRASH_AT), where they sit:
 *   journal-torn            coordinator/journal.c: every append writes
 *                           half its bytes, then _exit(FAULT_TORN_EXIT)
 *   after-assign-journaled  coordinator/ambassador.c
 *   after-accept-journaled  coordinator/ambassador.c
 *   after-concat-begun      coordinator/ambassador.c
 *   concat-before-rename    media/concat.c
 * All but journal-torn exit with FAULT_CRASH_EXIT.
 */
#ifndef FF_FAULT_H
#define FF_FAULT_H

#define FAULT_CRASH_EXIT 97 /* a crash point was reached */
#define FAULT_TORN_EXIT 99  /* journal-torn: killed in mid-append */

#define FAULT_JOURNAL_TORN "journal-torn"
#define FAULT_AFTER_ASSIGN_JOURNALED "after-assign-journaled"
#define FAULT_AFTER_ACCEPT_JOURNALED "after-accept-journaled"
#define FAULT_AFTER_CONCAT_BEGUN "after-concat-begun"
#define FAULT_CONCAT_BEFORE_RENAME "concat-before-rename"

enum fault_hook {
    FAULT_HOOK_CRASH_AT,
    FAULT_HOOK_ENCODER,
    FAULT_HOOK_DECODER,
    FAULT_HOOK_CORRUPT_SET,
    FAULT_HOOK_STALL_SET,
    FAULT_HOOK_SLOW_MS,
    FAULT_HOOK_JOURNAL_EIO,
    FAULT_HOOK_ZIP_EIO,
    FAULT_HOOK_CONN_CAP,
    FAULT_HOOK_SET_FILES,
};

/* 1 in a test build (FF_TEST_HOOKS), 0 in a release build. */
int fault_hooks_built(void);
/* The hook's environment variable name, for log lines and usage errors;
 * "(no test hooks)" in a release build. */
const char *fault_env(enum fault_hook h);
/* 1 when FRAMEFARM_CRASH_AT names point, else 0 (always 0 in release). */
int fault_crash_armed(const char *point);
/* When FRAMEFARM_CRASH_AT names point: logs "crash point POINT: exiting
 * now" and calls _exit(FAULT_CRASH_EXIT). Otherwise returns. */
void fault_crash_point(const char *point);
/* FRAMEFARM_FAULT_ENCODER / _DECODER; NULL when unset, empty or release. */
const char *fault_encoder(void);
const char *fault_decoder(void);
/* FRAMEFARM_FAULT_CORRUPT_SET as a set number; -1 when unset, not a
 * number >= 0, or release. */
long fault_corrupt_set(void);
/* FRAMEFARM_FAULT_STALL_SET, read the same way. */
long fault_stall_set(void);
/* FRAMEFARM_FAULT_SLOW_MS, read the same way (-1 when unset). */
long fault_slow_ms(void);
/* FRAMEFARM_FAULT_JOURNAL_EIO, read the same way (-1 when unset). */
long fault_journal_eio(void);
/* FRAMEFARM_FAULT_CONN_CAP, read the same way (-1 when unset). */
long fault_conn_cap(void);
/* 1 when FRAMEFARM_FAULT_ZIP_EIO is set (0 in release). */
int fault_zip_eio(void);
/* FRAMEFARM_FAULT_SET_FILES as a set number (the share refuses that
 * set's folder and manifest the first time they are made); -1 when
 * unset, not a number >= 0, or release. */
long fault_set_files(void);

#endif
