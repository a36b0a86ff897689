/*
 * proto.h - the wire format between ambassador and nodes: a 4-byte
 * big-endian length N (1 <= N <= PROTO_MAX_FRAME), then N bytes holding one
 * JSON object with a string "type". The length is checked before anything
 * is allocated. Decoding is pure (no I/O) so it can be fuzzed; see
 * docs/protocol.md for the messages. Any thread; a reader belongs to one.
 */
#ifndef FF_PROTO_H
#define FF_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define PROTO_VERSION 1
#define PROTO_MAX_FRAME (1u << 20)
/* The largest epoch anyone sends or records: 15 digits, which cJSON
 * prints exactly (it prints 15 significant digits whenever they compare
 * equal within DBL_EPSILON, so larger numbers below 2^53 can come back off
 * by one). A service's job n uses epochs from n << 24 (coordinator/job.h):
 * some 59 million jobs. */
#define PROTO_MAX_EPOCH 999999999999999ULL
#define PROTO_HDR 4

/* Message types. */
#define MSG_HELLO "hello"         /* node -> amb: first message */
#define MSG_CHALLENGE "challenge" /* amb -> node: before hello, when keyed */
#define MSG_WELCOME "welcome"     /* amb -> node: hello accepted */
#define MSG_HEARTBEAT "heartbeat" /* both ways, seq + progress */
#define MSG_ASSIGN "assign"       /* amb -> node: render a set */
#define MSG_DONE "done"           /* node -> amb: mini-video written */
#define MSG_FAIL "fail"           /* node -> amb: set could not be rendered */
#define MSG_RESULT "result"       /* amb -> node: accepted or rejected */
#define MSG_CANCEL "cancel"       /* amb -> node: drop a set */
#define MSG_FINISH "finish"       /* amb -> node: job over, exit */
#define MSG_ERROR "error"         /* either: fatal protocol error, then close */
/* client -> amb: a request (submit, status, cancel, wait, ping) instead of
 * a hello */
#define MSG_CONTROL "control"
#define MSG_JOBEND "jobend" /* amb -> node: a job is over (service) */
#define MSG_DETACH "detach" /* node -> amb: closing on purpose, still alive */

/* Encode msg as one frame into a malloc'd buffer. 0, or -1 + errno
 * (EMSGSIZE when the JSON is longer than PROTO_MAX_FRAME). */
int proto_encode(const cJSON *msg, char **buf, size_t *len);

/* Decode one frame from buf. Returns 1 with *msg (caller frees) and *used
 * set; 0 when more bytes are needed; -1 when the frame is oversized, empty,
 * not JSON, not an object or has no string "type" (err says which). */
int proto_decode(const uint8_t *buf, size_t avail, size_t *used, cJSON **msg,
                 char *err, size_t errlen);

/* Encode and write msg to fd in full. 0, or -1 + errno. */
int proto_send(int fd, const cJSON *msg);

/* Accumulates bytes from a stream socket and yields whole messages. */
struct proto_reader {
    uint8_t *buf;
    size_t len;
    size_t cap;
};
void proto_reader_init(struct proto_reader *r);
void proto_reader_fini(struct proto_reader *r);
/* One read(2) from fd into the buffer: >0 bytes read, 0 at EOF, -1 + errno
 * (EAGAIN passes through for non-blocking sockets). */
long proto_reader_fill(struct proto_reader *r, int fd);
/* Next whole message, as proto_decode; consumed bytes are dropped. */
int proto_reader_next(struct proto_reader *r, cJSON **msg, char *err,
                      size_t errlen);

/* The "type" of a decoded message (never NULL after proto_decode). */
const char *proto_type(const cJSON *msg);

/* A new message {"type": type}, or NULL when out of memory. */
cJSON *proto_msg_new(const char *type);

/* With --secret, every frame after the hello is signed: its body is
 * followed by HMAC-SHA256(session key, direction || sequence number ||
 * body), the sequence counting each direction's frames from 0. A frame
 * forged, replayed, reordered or dropped on the way fails the next check
 * and ends the session. The session key comes from the secret and the
 * handshake (auth_session_key). Unkeyed (on = 0), these behave as the
 * plain calls. */
#define PROTO_MAC_LEN 32
#define PROTO_DIR_AMB 'a'  /* ambassador -> node */
#define PROTO_DIR_NODE 'n' /* node -> ambassador */
struct proto_key {
    int on;
    unsigned char key[PROTO_MAC_LEN];
    uint64_t tx, rx; /* the next sequence numbers */
    char tx_dir, rx_dir;
};
void proto_key_start(struct proto_key *k, const unsigned char *key,
                     int ambassador);
int proto_send_keyed(int fd, struct proto_key *k, const cJSON *msg);
/* As proto_decode, checking the signature; a plain "error" frame (a
 * refusal sent before the key) is still returned, to end the session. */
int proto_decode_keyed(const uint8_t *buf, size_t avail, struct proto_key *k,
                       size_t *used, cJSON **msg, char *err, size_t errlen);
int proto_reader_next_keyed(struct proto_reader *r, struct proto_key *k,
                            cJSON **msg, char *err, size_t errlen);

#endif
