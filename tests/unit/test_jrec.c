/*
 * test_jrec.c - the ambassador's journal records (coordinator/jrec.h),
 * which a restart relies on to rebuild the set table: every record type
 * comes back from its text exactly; a torn or malformed record is refused
 * with an error; a realistic run replays to the statuses, epochs, attempts
 * and counted paths it recorded; a compacted journal (set snapshots)
 * replays to the same table as the run it summarises; and a record that
 * contradicts the state is refused. Records always go through their text,
 * as replay_record in coordinator/main.c does. The journal file itself is
 * test_journal.c's.
 */
#include "tests/unit/unit.h"

#include <inttypes.h>

#include "common/err.h"
#include "common/manifest.h"
#include "common/proto.h"
#include "coordinator/jrec.h"

#define JOB_NAME "demo-job_1.x"
#define SETS 4
#define FRAMES 100
#define EPOCH_MAX PROTO_MAX_EPOCH /* the largest epoch a record holds */
#define EPOCH_BASE (7ULL << 24)   /* a service's job 7 */
/* The largest size with 15 digits: cJSON 1.7 prints a number with 15
 * significant digits whenever they compare equal within DBL_EPSILON, so
 * sizes between about 4.5e15 and 2^53 (which the decoder accepts) come
 * back off by one or two. No output file is petabytes. */
#define BYTES_BIG 999999999999999ull
#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ROUND_TRIPS 16 /* records in the round-trip table */
/* What JSON must escape, and a character outside ASCII. */
#define ESCAPED "q\"b\\n\nt\t\xc3\xa9"

/* A record of type with only the fields that type carries. */
static struct jrec
rec_new(enum jrec_type type)
{
    struct jrec r;
    memset(&r, 0, sizeof(r));
    r.type = type;
    return r;
}

static struct jrec
rec_job(uint32_t sets, uint64_t frames, uint64_t gen)
{
    struct jrec r = rec_new(JREC_JOB);
    snprintf(r.job, sizeof(r.job), "%s", JOB_NAME);
    r.sets = sets;
    r.frames = frames;
    r.gen = gen;
    return r;
}

static struct jrec
rec_gen(uint64_t gen)
{
    struct jrec r = rec_new(JREC_GEN);
    r.gen = gen;
    return r;
}

/* assign, fail, reclaim, unassign, reject: set, epoch, node, why. */
static struct jrec
rec_op(enum jrec_type type, uint32_t set, uint64_t epoch, const char *node,
       const char *why)
{
    struct jrec r = rec_new(type);
    r.set = set;
    r.epoch = epoch;
    snprintf(r.node, sizeof(r.node), "%s", node);
    snprintf(r.text, sizeof(r.text), "%s", why != NULL ? why : "");
    return r;
}

static struct jrec
rec_accept(uint32_t set, uint64_t epoch, const char *node, const char *path)
{
    struct jrec r = rec_op(JREC_ACCEPT, set, epoch, node, NULL);
    snprintf(r.path, sizeof(r.path), "%s", path);
    r.bytes = 4096 + set;
    snprintf(r.sha256, sizeof(r.sha256), "%s", SHA);
    return r;
}

static struct jrec
rec_concat(int done, uint64_t frames)
{
    struct jrec r = rec_new(JREC_CONCAT);
    r.done = done;
    r.frames = frames;
    return r;
}

/* The snapshot of one set, as amb_compact writes it. */
static struct jrec
rec_snapshot(uint32_t set, const struct set_info *info, const char *path)
{
    struct jrec r = rec_new(JREC_SET);
    r.set = set;
    r.info = *info;
    r.info.holder = 0; /* not recorded */
    r.info.checking = 0;
    /* decoded, the holder's name is kept in node */
    snprintf(r.node, sizeof(r.node), "%s",
             info->holder_name != NULL ? info->holder_name : "");
    if (path != NULL)
        snprintf(r.path, sizeof(r.path), "%s", path);
    return r;
}

/* Encode r; the test fails on allocation failure. Caller frees. */
static char *
encode(const struct jrec *r)
{
    char *text = jrec_encode(r);
    if (text == NULL)
        fail_msg("encoding a record of type %d failed", (int)r->type);
    return text;
}

/* Decode text, which must be accepted. */
static void
decode_ok(const char *text, struct jrec *out)
{
    char err[ERR_MAX] = "";
    if (jrec_decode((const uint8_t *)text, strlen(text), out, err,
                    sizeof(err)) != 0)
        fail_msg("decoding %s: %s", text, err);
}

/* r through its text, as the journal stores it, into *out (in place: a
 * decoded snapshot's info points into its record). */
static void
through_text(const struct jrec *r, struct jrec *out)
{
    char *text = encode(r);
    decode_ok(text, out);
    free(text);
}

/* Decoding text must fail with an error that mentions want. The bytes are
 * copied to a buffer of exactly their length, with no NUL after them, so
 * that a read past the record is caught under ASan. */
static void
decode_bad(const char *text, size_t len, const char *want)
{
    struct jrec r;
    char err[ERR_MAX] = "";
    uint8_t *buf = malloc(len > 0 ? len : 1);

    assert_non_null(buf);
    memcpy(buf, text, len);
    if (jrec_decode(buf, len, &r, err, sizeof(err)) != -1)
        fail_msg(
            "record %.*s (%zu bytes) decoded as a record of type %d, want an "
            "error with \"%s\"",
            (int)len, text, len, (int)r.type, want);
    free(buf);
    assert_contains(err, want);
}

#define SAME_U(f)                                                              \
    do {                                                                       \
        if (a->f != b->f)                                                      \
            fail_msg("%s: " #f " %" PRIu64 ", decoded %" PRIu64, what,         \
                     (uint64_t)a->f, (uint64_t)b->f);                          \
    } while (0)
#define SAME_S(f)                                                              \
    do {                                                                       \
        if (strcmp(a->f, b->f) != 0)                                           \
            fail_msg("%s: " #f " \"%s\", decoded \"%s\"", what, a->f, b->f);   \
    } while (0)

/* Every field of the two set entries, naming the first that differs. */
static void
expect_same_info(const char *what, const struct set_info *a,
                 const struct set_info *b)
{
    SAME_U(status);
    SAME_U(epoch);
    SAME_U(holder);
    if (strcmp(a->holder_name != NULL ? a->holder_name : "",
               b->holder_name != NULL ? b->holder_name : "") != 0)
        fail_msg("%s: holder_name \"%s\", decoded \"%s\"", what, a->holder_name,
                 b->holder_name);
    SAME_U(checking);
    SAME_U(attempts);
    SAME_U(failures);
    SAME_U(reclaims);
    SAME_U(nfailed_on);
    for (uint32_t i = 0; i < a->nfailed_on; i++)
        SAME_S(hist->failed_on[i]);
    if (strcmp(set_info_error(a), set_info_error(b)) != 0)
        fail_msg("%s: last error \"%s\", decoded \"%s\"", what,
                 set_info_error(a), set_info_error(b));
}

/* Every field of the two records (those a type does not carry are zero in
 * both). */
static void
expect_same_rec(const char *what, const struct jrec *a, const struct jrec *b)
{
    SAME_U(type);
    SAME_U(set);
    SAME_U(epoch);
    SAME_U(gen);
    SAME_U(sets);
    SAME_U(frames);
    SAME_U(done);
    SAME_U(bytes);
    SAME_S(node);
    SAME_S(job);
    SAME_S(path);
    SAME_S(sha256);
    SAME_S(text);
    expect_same_info(what, &a->info, &b->info);
}

/* One record of every type, and of every set status, at the edges of
 * their fields' ranges. Returns how many. */
static size_t
round_trip_table(struct jrec *t)
{
    /* each snapshot's own history: the records point to them */
    static struct set_history hist[3];
    struct set_info info;
    char long_why[JREC_TEXT_MAX];
    size_t n = 0;

    /* The longest reason that fits, with what JSON must escape. */
    memset(long_why, 'x', sizeof(long_why) - 1);
    long_why[sizeof(long_why) - 1] = '\0';
    memcpy(long_why, ESCAPED, sizeof(ESCAPED) - 1);

    t[n++] = rec_job(MANIFEST_MAX_SETS, UINT32_MAX, UINT32_MAX);
    t[n++] = rec_job(1, 0, 0);
    t[n - 1].epoch = EPOCH_BASE; /* a service's job */
    t[n++] = rec_gen(7);
    t[n++] = rec_op(JREC_ASSIGN, MANIFEST_MAX_SETS - 1, EPOCH_MAX, "n1", NULL);
    t[n++] = rec_op(JREC_FAIL, 0, 2, "gpu-07", long_why);
    t[n++] = rec_op(JREC_RECLAIM, 5, 3, "n.2", "heartbeats lost");
    t[n++] = rec_op(JREC_UNASSIGN, 6, 4, "n_3", NULL);
    t[n++] = rec_accept(3, 9, "n1", "jobs/demo/out/set-000003.mp4");
    t[n - 1].bytes = BYTES_BIG;
    t[n++] = rec_op(JREC_REJECT, 2, 11, "n1", "frame count 47, want 48");
    t[n++] = rec_concat(0, 0);
    t[n++] = rec_concat(1, 4800);

    memset(&info, 0, sizeof(info));
    info.status = SET_AVAILABLE;
    info.epoch = 2; /* unassigned once */
    t[n++] = rec_snapshot(7, &info, NULL);

    info.status = SET_PROCESSING;
    info.epoch = 3;
    info.attempts = 2;
    info.reclaims = 1;
    info.holder_name = "n2";
    snprintf(hist[0].last_error, sizeof(hist[0].last_error), "lease expired");
    info.hist = &hist[0];
    t[n++] = rec_snapshot(0, &info, NULL);

    info.status = SET_FAILED;
    info.epoch = EPOCH_MAX;
    info.attempts = UINT32_MAX;
    info.failures = SETS_MAX_FAILED_NODES;
    info.holder_name = "";
    for (uint32_t i = 0; i < SETS_MAX_FAILED_NODES; i++)
        snprintf(hist[1].failed_on[i], sizeof(hist[1].failed_on[i]), "node-%u",
                 i);
    info.nfailed_on = SETS_MAX_FAILED_NODES;
    snprintf(hist[1].last_error, sizeof(hist[1].last_error), "%s", long_why);
    info.hist = &hist[1];
    t[n++] = rec_snapshot(MANIFEST_MAX_SETS - 1, &info, NULL);

    info.status = SET_COUNTED;
    info.epoch = 5;
    info.attempts = 3;
    info.failures = 1;
    info.nfailed_on = 1;
    info.holder_name = "n1";
    t[n++] = rec_snapshot(1, &info, "jobs/demo/out/set-000001.mp4");

    info.nfailed_on = 0;
    hist[2] = hist[1];
    memset(hist[2].failed_on, 0, sizeof(hist[2].failed_on));
    info.hist = &hist[2];
    t[n++] = rec_snapshot(2, &info, "a");
    assert_true(n <= ROUND_TRIPS);
    return n;
}

static void
test_round_trip_every_type(void **state)
{
    struct jrec t[ROUND_TRIPS], out;
    int seen[JREC_SET + 1] = {0}, statuses['D' + 1] = {0};
    size_t n = round_trip_table(t);
    char what[64];
    (void)state;

    for (size_t i = 0; i < n; i++) {
        through_text(&t[i], &out);
        snprintf(what, sizeof(what), "record %zu (type %d)", i, (int)t[i].type);
        expect_same_rec(what, &t[i], &out);
        seen[t[i].type] = 1;
        if (t[i].type == JREC_SET)
            statuses[t[i].info.status] = 1;
    }
    for (int type = JREC_JOB; type <= JREC_SET; type++)
        if (!seen[type])
            fail_msg("the table has no record of type %d", type);
    for (const char *s = "ABCD"; *s != '\0'; s++)
        if (!statuses[(int)*s])
            fail_msg("the table has no snapshot of a set in %c", *s);
}

/* A record cut anywhere (a torn write the journal's CRC did not stop, or
 * a bug) is refused, never half-read. */
static void
test_truncated_refused(void **state)
{
    struct jrec t[ROUND_TRIPS];
    size_t n = round_trip_table(t);
    (void)state;

    for (size_t i = 0; i < n; i++) {
        char *text = encode(&t[i]);
        for (size_t cut = 0; cut < strlen(text); cut++)
            decode_bad(text, cut, "journal record");
        free(text);
    }
}

static void
test_malformed_refused(void **state)
{
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"not json", "not an object with a type"},
        {"[\"assign\"]", "not an object with a type"},
        {"{}", "not an object with a type"},
        {"{\"t\":3}", "not an object with a type"},
        {"{\"t\":\"assignx\",\"set\":0,\"epoch\":1,\"node\":\"n\"}",
         "unknown journal record \"assignx\""},
        {"{\"t\":\"\"}", "unknown journal record"},
        /* job */
        {"{\"t\":\"job\",\"job\":\"j\",\"sets\":0,\"frames\":1,\"gen\":1}",
         "\"job\" has a missing or bad field"},
        {"{\"t\":\"job\",\"job\":\"j\",\"sets\":1000001,\"frames\":1,"
         "\"gen\":1}",
         "missing or bad field"},
        {"{\"t\":\"job\",\"sets\":1,\"frames\":1,\"gen\":1}",
         "missing or bad field"},
        {"{\"t\":\"job\",\"job\":\"j\",\"sets\":1,\"frames\":4294967296,"
         "\"gen\":1}",
         "missing or bad field"},
        {"{\"t\":\"gen\",\"gen\":4294967296}", "\"gen\" has a missing"},
        {"{\"t\":\"gen\"}", "missing or bad field"},
        /* a set's records */
        {"{\"t\":\"assign\",\"set\":1000001,\"epoch\":1,\"node\":\"n\"}",
         "\"assign\" has a missing or bad field"},
        {"{\"t\":\"assign\",\"set\":-1,\"epoch\":1,\"node\":\"n\"}",
         "missing or bad field"},
        {"{\"t\":\"fail\",\"set\":0,\"epoch\":9007199254740992,\"node\":\"n\"}",
         "missing or bad field"},
        {"{\"t\":\"fail\",\"set\":0,\"epoch\":1.5,\"node\":\"n\"}",
         "missing or bad field"},
        {"{\"t\":\"fail\",\"set\":0,\"epoch\":\"1\",\"node\":\"n\"}",
         "missing or bad field"},
        {"{\"t\":\"reclaim\",\"set\":0,\"epoch\":1}", "missing or bad field"},
        {"{\"t\":\"unassign\",\"set\":0,\"epoch\":1,\"node\":"
         "\"n123456789012345678901234567890123456789012345678901234567890123"
         "\"}",
         "missing or bad field"},
        {"{\"t\":\"accept\",\"set\":0,\"epoch\":1,\"node\":\"n\","
         "\"path\":\"../x.mp4\",\"bytes\":1,\"sha256\":\"" SHA "\"}",
         "\"accept\" has a missing or bad field"},
        {"{\"t\":\"accept\",\"set\":0,\"epoch\":1,\"node\":\"n\","
         "\"path\":\"/abs/x.mp4\",\"bytes\":1,\"sha256\":\"" SHA "\"}",
         "missing or bad field"},
        {"{\"t\":\"accept\",\"set\":0,\"epoch\":1,\"node\":\"n\","
         "\"bytes\":1,\"sha256\":\"" SHA "\"}",
         "missing or bad field"},
        {"{\"t\":\"accept\",\"set\":0,\"epoch\":1,\"node\":\"n\","
         "\"path\":\"x.mp4\",\"sha256\":\"" SHA "\"}",
         "missing or bad field"},
        {"{\"t\":\"accept\",\"set\":0,\"epoch\":1,\"node\":\"n\","
         "\"path\":\"x.mp4\",\"bytes\":9007199254740992,\"sha256\":\"" SHA
         "\"}",
         "missing or bad field"},
        {"{\"t\":\"accept\",\"set\":0,\"epoch\":1,\"node\":\"n\","
         "\"path\":\"x.mp4\",\"bytes\":1}",
         "missing or bad field"},
        {"{\"t\":\"concat\",\"done\":2,\"frames\":1}", "\"concat\" has a"},
        {"{\"t\":\"concat\",\"done\":1}", "missing or bad field"},
        /* snapshots */
        {"{\"t\":\"set\",\"set\":0,\"status\":\"E\",\"epoch\":1,\"node\":\"\","
         "\"attempts\":1,\"failures\":0,\"reclaims\":0,\"failed_on\":[]}",
         "\"set\" has a missing or bad field"},
        {"{\"t\":\"set\",\"set\":0,\"status\":\"AB\",\"epoch\":1,\"node\":\"\","
         "\"attempts\":1,\"failures\":0,\"reclaims\":0,\"failed_on\":[]}",
         "missing or bad field"},
        {"{\"t\":\"set\",\"set\":0,\"status\":\"C\",\"epoch\":1,\"node\":\"\","
         "\"attempts\":1,\"failures\":0,\"reclaims\":0}",
         "missing or bad field"},
        {"{\"t\":\"set\",\"set\":0,\"status\":\"C\",\"epoch\":1,\"node\":\"\","
         "\"attempts\":1,\"failures\":1,\"reclaims\":0,\"failed_on\":[1]}",
         "missing or bad field"},
        {"{\"t\":\"set\",\"set\":0,\"status\":\"C\",\"epoch\":1,\"node\":\"\","
         "\"attempts\":1,\"failures\":9,\"reclaims\":0,\"failed_on\":"
         "[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}",
         "missing or bad field"},
        {"{\"t\":\"set\",\"set\":0,\"status\":\"D\",\"epoch\":1,\"node\":\"n\","
         "\"attempts\":1,\"failures\":0,\"reclaims\":0,\"failed_on\":[]}",
         "missing or bad field"},
        {"{\"t\":\"set\",\"set\":0,\"status\":\"D\",\"epoch\":1,\"node\":\"n\","
         "\"attempts\":1,\"failures\":0,\"reclaims\":0,\"failed_on\":[],"
         "\"path\":\"a/../../b\"}",
         "missing or bad field"},
        {"{\"t\":\"set\",\"set\":1000001,\"status\":\"A\",\"epoch\":1,"
         "\"node\":\"\",\"attempts\":0,\"failures\":0,\"reclaims\":0,"
         "\"failed_on\":[]}",
         "missing or bad field"},
        /* a backup: above the epoch, named only in B */
        {"{\"t\":\"set\",\"set\":0,\"status\":\"B\",\"epoch\":2,\"node\":\"n\","
         "\"attempts\":2,\"failures\":0,\"reclaims\":0,\"failed_on\":[],"
         "\"alt_epoch\":2,\"alt_node\":\"m\"}",
         "missing or bad field"},
        {"{\"t\":\"set\",\"set\":0,\"status\":\"C\",\"epoch\":2,\"node\":\"n\","
         "\"attempts\":2,\"failures\":0,\"reclaims\":0,\"failed_on\":[],"
         "\"alt_epoch\":3,\"alt_node\":\"m\"}",
         "missing or bad field"},
        {"{\"t\":\"set\",\"set\":0,\"status\":\"B\",\"epoch\":2,\"node\":\"n\","
         "\"attempts\":2,\"failures\":0,\"reclaims\":0,\"failed_on\":[],"
         "\"alt_node\":\"m\"}",
         "missing or bad field"},
        {"{\"t\":\"set\",\"set\":0,\"status\":\"B\",\"epoch\":2,\"node\":\"n\","
         "\"attempts\":2,\"failures\":0,\"reclaims\":0,\"failed_on\":[],"
         "\"alt_epoch\":3,\"alt_node\":\"\"}",
         "missing or bad field"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        decode_bad(bad[i].text, strlen(bad[i].text), bad[i].err);
}

/* Replay: each record through its text, then applied; it must be
 * accepted. */
static void
apply_ok(struct jrec_state *st, struct jrec r)
{
    struct jrec d;
    char err[ERR_MAX] = "";
    through_text(&r, &d);
    if (jrec_apply(st, &d, err, sizeof(err)) != 0) {
        char *text = encode(&r);
        fail_msg("replaying %s: refused: %s", text, err);
    }
}

/* The record must be refused with an error mentioning want. */
static void
apply_bad(struct jrec_state *st, struct jrec r, const char *want)
{
    struct jrec d;
    char err[ERR_MAX] = "";
    through_text(&r, &d);
    if (jrec_apply(st, &d, err, sizeof(err)) != -1) {
        char *text = encode(&r);
        fail_msg("replaying %s: accepted, want an error with \"%s\"", text,
                 want);
    }
    assert_contains(err, want);
}

/* As apply_bad, and the set's entry and counted path are as they were. */
static void
apply_bad_unchanged(struct jrec_state *st, struct jrec r, const char *want)
{
    uint32_t set = r.set;
    struct set_info before = *set_table_get(st->sets, set);
    char *path = st->accepted[set] != NULL ? strdup(st->accepted[set]) : NULL;

    apply_bad(st, r, want);
    expect_same_info("after a refused record", &before,
                     set_table_get(st->sets, set));
    if ((path == NULL) != (st->accepted[set] == NULL) ||
        (path != NULL && strcmp(path, st->accepted[set]) != 0))
        fail_msg("set %u: counted path \"%s\" became \"%s\"", set,
                 path != NULL ? path : "(none)",
                 st->accepted[set] != NULL ? st->accepted[set] : "(none)");
    free(path);
}

static void
expect_set(const struct jrec_state *st, uint32_t set, enum set_status status,
           uint64_t epoch, uint32_t attempts, uint32_t failures,
           uint32_t reclaims, const char *path)
{
    const struct set_info *s = set_table_get(st->sets, set);
    const char *got = st->accepted[set];

    assert_non_null(s);
    if (s->status != status || s->epoch != epoch || s->attempts != attempts ||
        s->failures != failures || s->reclaims != reclaims)
        fail_msg("set %u: %c epoch %" PRIu64 " attempts %u failures %u "
                 "reclaims %u; want %c epoch %" PRIu64 " attempts %u "
                 "failures %u reclaims %u",
                 set, (char)s->status, s->epoch, s->attempts, s->failures,
                 s->reclaims, (char)status, epoch, attempts, failures,
                 reclaims);
    if ((path == NULL) != (got == NULL) ||
        (path != NULL && strcmp(path, got) != 0))
        fail_msg("set %u: counted path \"%s\", want \"%s\"", set,
                 got != NULL ? got : "(none)", path != NULL ? path : "(none)");
}

#define PATH0 "jobs/demo/out/set-000000.mp4"
#define PATH1 "jobs/demo/out/set-000001.mp4"
#define PATH2 "jobs/demo/out/set-000002.mp4"

/* A run with every kind of record: two generations, a failure, a lost
 * node, an assignment never taken, a check that failed, and the concat
 * begun. */
static const struct jrec *
run_records(size_t *n)
{
    static struct jrec r[32];
    size_t k = 0;

    r[k++] = rec_job(SETS, FRAMES, 1);
    r[k++] = rec_gen(1);
    r[k++] = rec_op(JREC_ASSIGN, 0, 1, "n1", NULL);
    r[k++] = rec_op(JREC_ASSIGN, 1, 1, "n2", NULL);
    r[k++] = rec_op(JREC_ASSIGN, 2, 1, "n1", NULL);
    r[k++] = rec_op(JREC_FAIL, 1, 1, "n2", "decode error");
    r[k++] = rec_op(JREC_RECLAIM, 2, 1, "n1", "heartbeats lost");
    r[k++] = rec_accept(0, 1, "n1", PATH0);
    r[k++] = rec_gen(2); /* the ambassador restarted */
    r[k++] = rec_op(JREC_ASSIGN, 1, 3, "n1", NULL);
    r[k++] = rec_op(JREC_UNASSIGN, 1, 3, "n1", NULL);
    r[k++] = rec_op(JREC_ASSIGN, 1, 5, "n2", NULL);
    r[k++] = rec_accept(1, 5, "n2", PATH1);
    r[k++] = rec_op(JREC_ASSIGN, 2, 3, "n2", NULL);
    r[k++] = rec_op(JREC_REJECT, 2, 3, "n2", "frame count 47, want 48");
    r[k++] = rec_op(JREC_ASSIGN, 3, 1, "n1", NULL);
    r[k++] = rec_concat(0, 0);
    *n = k;
    return r;
}

static void
replay_records(struct jrec_state *st, const struct jrec *r, size_t n)
{
    memset(st, 0, sizeof(*st));
    for (size_t i = 0; i < n; i++)
        apply_ok(st, r[i]);
}

/* A service's job (its epochs start at its base, coordinator/job.h):
 * the replayed table starts there too, so its first assignment follows,
 * and one below the base (another job's) does not. */
static void
test_replay_epoch_base(void **state)
{
    struct jrec_state st;
    struct jrec job = rec_job(SETS, FRAMES, 1);
    char err[ERR_MAX];
    (void)state;

    job.epoch = EPOCH_BASE;
    memset(&st, 0, sizeof(st));
    apply_ok(&st, job);
    assert_int_equal(set_table_get(st.sets, 0)->epoch, EPOCH_BASE);
    apply_ok(&st, rec_op(JREC_ASSIGN, 0, EPOCH_BASE + 1, "n1", NULL));
    {
        struct jrec low = rec_op(JREC_ASSIGN, 1, 1, "n1", NULL);
        assert_int_equal(jrec_apply(&st, &low, err, sizeof(err)), -1);
    }
    assert_int_equal(set_table_max_epoch(st.sets), EPOCH_BASE + 1);
    jrec_state_fini(&st);
}

static void
test_replay_realistic_run(void **state)
{
    struct jrec_state st;
    const struct jrec *r;
    const struct set_info *s;
    uint32_t held[SETS];
    size_t n;
    (void)state;

    r = run_records(&n);
    replay_records(&st, r, n);

    assert_string_equal(st.job, JOB_NAME);
    assert_int_equal(st.nsets, SETS);
    assert_int_equal(set_table_size(st.sets), SETS);
    assert_int_equal(st.frames, FRAMES);
    assert_int_equal(st.gen, 2);
    assert_int_equal(st.records, n);
    assert_int_equal(st.concat_begun, 1);
    assert_int_equal(st.concat_done, 0);

    /* status, epoch, attempts, failures, reclaims, path */
    expect_set(&st, 0, SET_COUNTED, 1, 1, 0, 0, PATH0);
    /* failed at 1 (-> 2), assigned at 3, never taken (-> 4, the attempt
     * not counted), assigned at 5, counted */
    expect_set(&st, 1, SET_COUNTED, 5, 2, 1, 0, PATH1);
    /* lost with its node at 1 (-> 2), assigned at 3, check failed (-> 4) */
    expect_set(&st, 2, SET_FAILED, 4, 2, 1, 1, NULL);
    expect_set(&st, 3, SET_PROCESSING, 1, 1, 0, 0, NULL);
    assert_int_equal(set_table_count(st.sets, SET_COUNTED), 2);
    assert_false(set_table_done(st.sets));

    s = set_table_get(st.sets, 1);
    assert_int_equal(s->nfailed_on, 1);
    assert_string_equal(s->hist->failed_on[0], "n2");
    assert_string_equal(set_info_error(s), "decode error");
    s = set_table_get(st.sets, 2);
    assert_int_equal(s->nfailed_on, 1); /* the reclaim is not held against n1 */
    assert_string_equal(s->hist->failed_on[0], "n2");
    assert_string_equal(set_info_error(s), "frame count 47, want 48");

    /* Set 3 waits for its node: held by the replay session, which no live
     * node has, and open to a reattach at its epoch. */
    s = set_table_get(st.sets, 3);
    assert_int_equal(s->holder, JREC_SESSION);
    assert_string_equal(s->holder_name, "n1");
    assert_int_equal(set_table_held(st.sets, JREC_SESSION, held, SETS), 1);
    assert_int_equal(held[0], 3);
    /* The only set left to give out is the failed one. */
    assert_int_equal(set_table_pick(st.sets, "n3"), 2);

    /* The run goes on from where it was: the next attempt's epoch
     * follows the replayed one. */
    apply_ok(&st, r[n - 1]); /* the concat record again: harmless */
    apply_ok(&st, (struct jrec){.type = JREC_ASSIGN, .set = 2, .epoch = 5});
    apply_ok(&st, (struct jrec){.type = JREC_ACCEPT,
                                .set = 2,
                                .epoch = 5,
                                .path = PATH2,
                                .sha256 = SHA});
    expect_set(&st, 2, SET_COUNTED, 5, 3, 1, 1, PATH2);
    apply_ok(&st, rec_accept(3, 1, "n1", "jobs/demo/out/set-000003.mp4"));
    assert_true(set_table_done(st.sets));
    apply_ok(&st, rec_concat(1, FRAMES));
    assert_int_equal(st.concat_done, 1);
    jrec_state_fini(&st);
    assert_null(st.sets);
    assert_null(st.accepted);
}

/* Compaction: the snapshot of a run's table (as amb_compact writes it:
 * the job, the generation, one record per touched set, the concat)
 * replays to the same table, and the run continues on it with the same
 * epochs. */
static void
test_snapshot_replays_to_same_table(void **state)
{
    struct jrec_state full, snap;
    struct jrec recs[SETS + 3];
    const struct jrec *r;
    size_t n, k = 0;
    char what[32];
    (void)state;

    r = run_records(&n);
    replay_records(&full, r, n);

    recs[k++] = rec_job(SETS, FRAMES, full.gen);
    recs[k++] = rec_gen(full.gen);
    for (uint32_t i = 0; i < SETS; i++) {
        const struct set_info *si = set_table_get(full.sets, i);
        if (si->status == SET_AVAILABLE && si->epoch == 0)
            continue;
        recs[k++] = rec_snapshot(i, si, full.accepted[i]);
    }
    recs[k++] = rec_concat(0, 0);
    replay_records(&snap, recs, k);

    assert_int_equal(snap.gen, full.gen);
    assert_int_equal(snap.frames, full.frames);
    assert_int_equal(snap.concat_begun, full.concat_begun);
    assert_string_equal(snap.job, full.job);
    for (uint32_t i = 0; i < SETS; i++) {
        snprintf(what, sizeof(what), "set %u", i);
        expect_same_info(what, set_table_get(full.sets, i),
                         set_table_get(snap.sets, i));
        if ((full.accepted[i] == NULL) != (snap.accepted[i] == NULL) ||
            (full.accepted[i] != NULL &&
             strcmp(full.accepted[i], snap.accepted[i]) != 0))
            fail_msg("set %u: path \"%s\" after the run, \"%s\" after its "
                     "snapshot",
                     i, full.accepted[i] ? full.accepted[i] : "(none)",
                     snap.accepted[i] ? snap.accepted[i] : "(none)");
    }
    assert_int_equal(set_table_count(snap.sets, SET_COUNTED),
                     set_table_count(full.sets, SET_COUNTED));
    assert_int_equal(set_table_pick(snap.sets, "n1"),
                     set_table_pick(full.sets, "n1"));

    /* The same next records are accepted on both. */
    for (int which = 0; which < 2; which++) {
        struct jrec_state *st = which == 0 ? &full : &snap;
        apply_ok(st, rec_op(JREC_ASSIGN, 2, 5, "n3", NULL));
        apply_ok(st, rec_op(JREC_FAIL, 3, 1, "n1", "encoder failed"));
        apply_ok(st, rec_op(JREC_ASSIGN, 3, 3, "n3", NULL));
        expect_set(st, 3, SET_PROCESSING, 3, 2, 1, 0, NULL);
    }
    jrec_state_fini(&full);
    jrec_state_fini(&snap);
}

/* Records that contradict the state are refused with an error and change
 * nothing: the journal is corrupt, and the ambassador must not start on
 * a table it cannot trust. */
static void
test_contradicting_records_refused(void **state)
{
    static const uint64_t stale[] = {1, 2, 4}; /* the current epoch is 3 */
    struct jrec_state st;
    (void)state;

    memset(&st, 0, sizeof(st));
    /* Nothing before the job record. */
    apply_bad(&st, rec_op(JREC_ASSIGN, 0, 1, "n1", NULL),
              "comes before the job record");
    apply_bad(
        &st, rec_snapshot(0, &(struct set_info){.status = SET_AVAILABLE}, NULL),
        "comes before the job record");
    apply_bad(&st, rec_concat(0, 0), "comes before the job record");
    assert_null(st.sets);
    apply_ok(&st, rec_job(SETS, FRAMES, 3));
    apply_bad(&st, rec_job(SETS, FRAMES, 3), "repeats the job");
    assert_int_equal(st.nsets, SETS);

    /* A set this job does not have (the decoder allows any id a job
     * may have). */
    for (enum jrec_type t = JREC_ASSIGN; t <= JREC_REJECT; t++)
        apply_bad(&st,
                  t == JREC_ACCEPT ? rec_accept(SETS, 1, "n1", PATH0)
                                   : rec_op(t, SETS, 1, "n1", NULL),
                  "names no set of this job");
    apply_bad(
        &st,
        rec_snapshot(SETS, &(struct set_info){.status = SET_AVAILABLE}, NULL),
        "cannot be restored");

    /* A generation older than one seen is not the highest. */
    apply_ok(&st, rec_gen(2));
    assert_int_equal(st.gen, 3);

    /* Epochs: an assignment must take the next epoch, not one going back
     * or jumping ahead. */
    apply_ok(&st, rec_op(JREC_ASSIGN, 0, 1, "n1", NULL));
    apply_ok(&st, rec_op(JREC_FAIL, 0, 1, "n1", "decode error"));
    apply_bad(&st, rec_op(JREC_ASSIGN, 0, 1, "n1", NULL), "does not follow");
    apply_bad(&st, rec_op(JREC_ASSIGN, 1, 2, "n1", NULL), "does not follow");
    jrec_state_fini(&st);

    memset(&st, 0, sizeof(st));
    apply_ok(&st, rec_job(SETS, FRAMES, 1));
    apply_ok(&st, rec_op(JREC_ASSIGN, 0, 1, "n1", NULL));
    apply_ok(&st, rec_op(JREC_FAIL, 0, 1, "n1", "decode error"));
    apply_ok(&st, rec_op(JREC_ASSIGN, 0, 3, "n2", NULL));
    /* Results and failures of an old, or a future, epoch. */
    for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
        uint64_t e = stale[i];
        apply_bad_unchanged(&st, rec_op(JREC_FAIL, 0, e, "n2", "x"),
                            "does not follow");
        apply_bad_unchanged(&st, rec_op(JREC_RECLAIM, 0, e, "n2", "x"),
                            "does not follow");
        apply_bad_unchanged(&st, rec_op(JREC_UNASSIGN, 0, e, "n2", NULL),
                            "does not follow");
        apply_bad_unchanged(&st, rec_op(JREC_REJECT, 0, e, "n2", "x"),
                            "does not follow");
        apply_bad_unchanged(&st, rec_accept(0, e, "n2", PATH0),
                            "does not follow");
    }
    /* A set never assigned has no result to accept. */
    apply_bad_unchanged(&st, rec_accept(1, 0, "n2", PATH1), "does not follow");
    apply_bad_unchanged(&st, rec_accept(1, 1, "n2", PATH1), "does not follow");
    apply_bad_unchanged(&st, rec_op(JREC_FAIL, 1, 0, "n2", "x"),
                        "does not follow");

    /* Accepted once; a second accept, or anything else on it, is refused
     * and the first path stays. */
    apply_ok(&st, rec_accept(0, 3, "n2", PATH0));
    expect_set(&st, 0, SET_COUNTED, 3, 2, 1, 0, PATH0);
    apply_bad_unchanged(&st, rec_accept(0, 3, "n2", "other/path.mp4"),
                        "does not follow");
    apply_bad_unchanged(&st, rec_op(JREC_REJECT, 0, 3, "n2", "x"),
                        "does not follow");
    apply_bad_unchanged(&st, rec_op(JREC_ASSIGN, 0, 4, "n2", NULL),
                        "does not follow");
    apply_bad_unchanged(
        &st,
        rec_snapshot(0, &(struct set_info){.status = SET_FAILED, .epoch = 4},
                     NULL),
        "cannot be restored");
    jrec_state_fini(&st);
}

/* A snapshot must not move a set's epoch back: epochs only grow
 * (sets.h), and a repeated epoch would let an old attempt's result count
 * as the current one's. */
static void
test_snapshot_epoch_going_back_refused(void **state)
{
    struct jrec_state st;
    struct set_info info;
    (void)state;

    memset(&st, 0, sizeof(st));
    apply_ok(&st, rec_job(SETS, FRAMES, 1));
    apply_ok(&st, rec_op(JREC_ASSIGN, 2, 1, "n1", NULL));
    apply_ok(&st, rec_op(JREC_FAIL, 2, 1, "n1", "decode error"));
    apply_ok(&st, rec_op(JREC_ASSIGN, 2, 3, "n1", NULL));

    memset(&info, 0, sizeof(info));
    info.status = SET_PROCESSING;
    info.epoch = 1;
    info.attempts = 1;
    info.holder_name = "n1";
    apply_bad_unchanged(&st, rec_snapshot(2, &info, NULL),
                        "set 2 epoch 1 moves the set's epoch back");

    /* The same epoch or a later one is a snapshot, not a contradiction. */
    info.epoch = 3;
    apply_ok(&st, rec_snapshot(2, &info, NULL));
    info.status = SET_FAILED;
    info.epoch = 4;
    apply_ok(&st, rec_snapshot(2, &info, NULL));
    expect_set(&st, 2, SET_FAILED, 4, 1, 0, 0, NULL);
    jrec_state_fini(&st);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_truncated_refused),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_replay_realistic_run),
        cmocka_unit_test(test_replay_epoch_base),
        cmocka_unit_test(test_snapshot_replays_to_same_table),
        cmocka_unit_test(test_contradicting_records_refused),
        cmocka_unit_test(test_snapshot_epoch_going_back_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
