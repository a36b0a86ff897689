/*
 * journal.h - the ambassador's append-only journal: what it decided, in
 * order, so that a restart after kill -9 at any instant rebuilds the same
 * state (research/reliability.md §5.2). Owned by one thread (the
 * ambassador's loop); journal_scan is pure and may run anywhere.
 *
 * File format, all integers little-endian:
 *
 *     "FFJRNL01"                                  8-byte file header
 *     u32 N | u32 crc32(payload) | N bytes        one record, repeated
 *
 * with 1 <= N <= JOURNAL_MAX_RECORD. A payload is the caller's bytes (in
 * practice one JSON object); the journal never interprets it.
 *
 * Invariants:
 * - A record is durable when journal_append returns 0 (written, then
 *   fdatasync'ed); act on it (ACK, rename, ASSIGN) only after that.
 * - Bytes are only ever appended; the file is replaced (temp, fsync,
 *   rename, fsync the directory) when it is created or compacted, so its
 *   name never holds a partial header.
 * - Replay stops at the first record that is not whole and valid. When no
 *   valid record follows it anywhere in the file it is a torn tail (a
 *   crash mid-append) and is truncated away; when one does, the file is
 *   corrupt in the middle and is refused, never skipped.
 *
 * Fault injection for crash tests (test builds only, common/fault.h): when
 * the crash point journal-torn is armed as journal_open runs, every
 * journal_append/journal_append_many writes only the first half of its
 * bytes and then calls _exit(FAULT_TORN_EXIT), as a process killed
 * mid-write would.
 */
#ifndef FF_JOURNAL_H
#define FF_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define JOURNAL_MAGIC "FFJRNL01"
#define JOURNAL_HEADER_LEN 8     /* strlen(JOURNAL_MAGIC) */
#define JOURNAL_REC_HEADER_LEN 8 /* u32 length + u32 CRC-32 */
#define JOURNAL_REC_CRC_AT 4     /* the CRC's offset in a record header */
#define JOURNAL_MAX_RECORD (64u * 1024u)
#define JOURNAL_MAX_FILE (1024ull * 1024ull * 1024ull) /* read at open */

struct journal;

/* Walks the len bytes of a journal file, calling each (may be NULL) for
 * every valid record in file order: rec is valid only during the call,
 * and each returns 0 to go on or -1 to stop the scan, which then fails.
 * *good_end is set to the end of the last valid record. 0 when the bytes
 * are a journal, possibly with a torn tail (good_end < len) to truncate;
 * an empty buffer and a header cut short give good_end 0. -1 with err
 * filled when they are not a journal, are corrupt in the middle (err
 * names the byte offset), or each returned -1; each may have seen records
 * by then, and what it built must be discarded. Never reads a file. */
int journal_scan(const uint8_t *buf, size_t len,
                 int (*each)(void *ctx, const uint8_t *rec, size_t n),
                 void *ctx, size_t *good_end, char *err, size_t errlen);

/* Opens path for appending, replaying its records through each (may be
 * NULL); a torn tail is truncated (ftruncate + fsync, with a warning), a
 * missing or empty file is created with its header, and temp files left
 * beside it by a compaction that did not finish are removed. NULL with err
 * filled and errno set on failure: then discard whatever each built. */
struct journal *journal_open(const char *path,
                             int (*each)(void *ctx, const uint8_t *rec,
                                         size_t n),
                             void *ctx, char *err, size_t errlen);
/* Appends one record of n bytes (1..JOURNAL_MAX_RECORD) with one write
 * and fdatasyncs it. 0, or -1 + errno. The journal is still usable after
 * EINVAL (a bad n), EFBIG (the file would pass JOURNAL_MAX_FILE, which
 * journal_open refuses to read: compact first) and a write refused for
 * want of space (ENOSPC, EDQUOT: the bytes are taken back, so the same
 * append can be tried again when there is space). Any other failure leaves
 * it unusable (every later call fails with EIO): close it, reopen to
 * truncate the tail, and carry on from what it replays. */
int journal_append(struct journal *j, const void *rec, size_t n);
/* Appends n records with one write and one fdatasync, as journal_append.
 * n == 0 is a no-op. */
int journal_append_many(struct journal *j, const void *const *recs,
                        const size_t *lens, size_t n);
/* Replaces the journal with a fresh file holding exactly recs (a snapshot
 * of the caller's state), atomically, and appends to it from then on.
 * 0, or -1 + errno: EINVAL for a bad length and EFBIG for a snapshot over
 * JOURNAL_MAX_FILE change nothing; any failure before the rename leaves
 * the old journal in place and usable; a failure to fsync the directory
 * after it leaves the journal unusable, as journal_append does. A crash at
 * any point leaves either the old journal or the new one under path. */
int journal_compact(struct journal *j, const void *const *recs,
                    const size_t *lens, size_t n);
/* Bytes in the file, header included. */
uint64_t journal_size(const struct journal *j);
/* The file's path (to reopen it). */
const char *journal_path(const struct journal *j);
/* The bytes a record of n bytes takes in the file (its frame). */
uint64_t journal_record_bytes(size_t n);
/* Closes the file; every appended record is already durable. NULL ok. */
void journal_close(struct journal *j);

#endif
