/*
 * httpd.c - see httpd.h.
 *
 * Every GET answers from one reference to the current snapshot, taken
 * and given back within the handler (the document is copied into the
 * response). An /events stream holds no reference between messages: it
 * remembers the version it sent and waits on the board for a newer one,
 * sending a comment every HTTPD_PING_MS so proxies and clients know it
 * is alive.
 */
#include "coordinator/httpd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "common/ident.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "coordinator/events.h"
#include "coordinator/httpauth.h"
#include "coordinator/metrics.h"
#include "coordinator/service.h"
#include "coordinator/web.h"

#define HTTPD_PING_MS 15000
#define HTTPD_TIMEOUT_S 60 /* an idle connection (streams ping sooner) */
#define HTTPD_CONN_MEMORY (64 * 1024)
#define HTTPD_BODY_MAX 4096 /* an action's body is ignored, and small */
#define HTTPD_STREAM_BLOCK 8192
#define HTTPD_LOG_MAX 256
#define HTTPD_ERR_MAX 512

#define HTTPD_JSON "application/json"
#define HTTPD_TEXT "text/plain; charset=utf-8"
#define HTTPD_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define HTTPD_ACTION_HEADER "X-Framefarm-Action"
/* The page is self-contained: it may talk to this server and nothing
 * else, and load nothing. */
#define HTTPD_CSP                                                              \
    "default-src 'none'; script-src 'unsafe-inline'; style-src "               \
    "'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; "    \
    "form-action 'none'; frame-ancestors 'none'"

struct httpd {
    struct MHD_Daemon *d;
    const struct coord_config *cfg;
    struct board *board;
    struct evq *loop;
    struct service *svc;
    pthread_mutex_t mu; /* seen */
    struct httpauth_seen seen;
    atomic_int stopping;
};

/* One POST's state across the calls libmicrohttpd makes for it. */
struct httpd_post {
    size_t body;
};

struct httpd_stream {
    struct httpd *h;
    uint64_t version;
    char *buf;
    size_t len, off;
};

static int httpd_post_marker; /* *con_cls of a GET: not a POST */

static void
httpd_log(void *cls, const char *fmt, va_list ap)
{
    char line[HTTPD_LOG_MAX];
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_warnx("http: %s", line);
}

static enum MHD_Result
httpd_send(struct MHD_Connection *conn, unsigned status, const char *type,
           const char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc;
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
httpd_send_str(struct MHD_Connection *conn, unsigned status, const char *type,
               const char *body)
{
    return httpd_send(conn, status, type, body, strlen(body));
}

/* {"ok":ok,key:text} */
static enum MHD_Result
httpd_json(struct MHD_Connection *conn, unsigned status, int ok,
           const char *key, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    char *body;
    enum MHD_Result rc;
    if (o == NULL)
        return MHD_NO;
    cJSON_AddBoolToObject(o, "ok", ok);
    cJSON_AddStringToObject(o, key, text);
    body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (body == NULL)
        return MHD_NO;
    rc = httpd_send_str(conn, status, HTTPD_JSON, body);
    free(body);
    return rc;
}

static enum MHD_Result
httpd_error(struct MHD_Connection *conn, unsigned status, const char *why)
{
    return httpd_json(conn, status, 0, "error", why);
}

/* ---- reading ---- */

static enum MHD_Result
httpd_page(struct MHD_Connection *conn)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        web_dashboard_len, (void *)(uintptr_t)web_dashboard,
        MHD_RESPMEM_PERSISTENT);
    enum MHD_Result rc;
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/html; charset=utf-8");
    MHD_add_response_header(r, "Content-Security-Policy", HTTPD_CSP);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* /metrics: the loop's part, then the histograms as they are now. */
static enum MHD_Result
httpd_metrics(struct MHD_Connection *conn, const struct board_snap *s)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    enum MHD_Result rc;
    if (out == NULL)
        return httpd_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "out of memory");
    fputs(s->metrics, out);
    metrics_write_histograms(out);
    if (fclose(out) != 0) {
        free(text);
        return httpd_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "out of memory");
    }
    rc = httpd_send(conn, MHD_HTTP_OK, HTTPD_METRICS, text, len);
    free(text);
    return rc;
}

static ssize_t
httpd_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct httpd_stream *st = cls;
    size_t n;
    (void)pos;
    while (st->off == st->len) {
        struct board_snap *s;
        int w;
        free(st->buf);
        st->buf = NULL;
        st->len = st->off = 0;
        if (atomic_load(&st->h->stopping))
            return MHD_CONTENT_READER_END_OF_STREAM;
        s = board_wait(st->h->board, st->version, HTTPD_PING_MS);
        if (s == NULL) {
            if (atomic_load(&st->h->stopping))
                return MHD_CONTENT_READER_END_OF_STREAM;
            w = asprintf(&st->buf, ": ping\n\n");
        } else {
            st->version = s->version;
            w = asprintf(&st->buf, "id: %llu\nevent: state\ndata: %s\n\n",
                         (unsigned long long)s->version, s->state);
            board_put(st->h->board, s);
        }
        if (w < 0) {
            st->buf = NULL;
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        st->len = (size_t)w;
    }
    n = st->len - st->off < max ? st->len - st->off : max;
    memcpy(buf, st->buf + st->off, n);
    st->off += n;
    return (ssize_t)n;
}

static void
httpd_stream_free(void *cls)
{
    struct httpd_stream *st = cls;
    free(st->buf);
    free(st);
}

static enum MHD_Result
httpd_events(struct httpd *h, struct MHD_Connection *conn)
{
    struct httpd_stream *st = calloc(1, sizeof(*st));
    struct MHD_Response *r;
    enum MHD_Result rc;
    if (st == NULL)
        return MHD_NO;
    st->h = h;
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTPD_STREAM_BLOCK,
                                          httpd_stream_read, st,
                                          httpd_stream_free);
    if (r == NULL) {
        free(st);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
httpd_get(struct httpd *h, struct MHD_Connection *conn, const char *url)
{
    static const char jobs_prefix[] = "/api/jobs/";
    struct board_snap *s;
    const char *doc = NULL;
    enum MHD_Result rc;

    if (strcmp(url, "/") == 0)
        return httpd_page(conn);
    if (strcmp(url, "/events") == 0)
        return httpd_events(h, conn);
    if ((s = board_get(h->board)) == NULL)
        return httpd_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                           "starting: nothing published yet");
    if (strcmp(url, "/metrics") == 0) {
        rc = httpd_metrics(conn, s);
        board_put(h->board, s);
        return rc;
    }
    if (strcmp(url, "/api/status") == 0)
        doc = s->state;
    else if (strcmp(url, "/api/jobs") == 0)
        doc = s->jobs;
    else if (strcmp(url, "/api/nodes") == 0)
        doc = s->nodes;
    else if (strncmp(url, jobs_prefix, sizeof(jobs_prefix) - 1) == 0)
        doc = board_snap_job(s, url + sizeof(jobs_prefix) - 1);
    if (doc != NULL)
        rc = httpd_send_str(conn, MHD_HTTP_OK, HTTPD_JSON, doc);
    else
        rc = httpd_error(conn, MHD_HTTP_NOT_FOUND,
                         strncmp(url, jobs_prefix, sizeof(jobs_prefix) - 1) == 0
                             ? "no such job"
                             : "not found: see docs/protocol.md \"HTTP\"");
    board_put(h->board, s);
    return rc;
}

/* ---- acting ---- */

static int
httpd_peer_loopback(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in =
            (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 =
            (const struct sockaddr_in6 *)(const void *)sa;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
               (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
                in6->sin6_addr.s6_addr[12] == 127);
    }
    return 0;
}

/* Hand the loop an event naming name; 0, or -1. */
static int
httpd_tell_loop(struct httpd *h, enum amb_event_type type, const char *name,
                uint32_t set, int on)
{
    struct amb_event *ev = calloc(1, sizeof(*ev));
    if (ev == NULL)
        return -1;
    ev->type = type;
    snprintf(ev->name, sizeof(ev->name), "%s", name);
    ev->u.set.set = set;
    if (type == EV_DRAIN)
        ev->u.drain.on = on;
    if (evq_push(h->loop, ev) == -1) {
        free(ev);
        return -1;
    }
    return 0;
}

/* An action handed to the loop: it is decided there (see the events). */
static enum MHD_Result
httpd_accepted(struct MHD_Connection *conn, const char *what)
{
    return httpd_json(conn, MHD_HTTP_ACCEPTED, 1, "queued", what);
}

static enum MHD_Result
httpd_cancel(struct httpd *h, struct MHD_Connection *conn,
             const struct board_snap *s, const char *id)
{
    cJSON *reply;
    const char *state;
    uint64_t code = 1;
    char *text;
    enum MHD_Result rc;
    unsigned status;

    if (board_snap_job(s, id) == NULL)
        return httpd_error(conn, MHD_HTTP_NOT_FOUND, "no such job");
    if (h->svc == NULL) {
        /* One job: the loop stops it (amb_job_cancel). */
        if (httpd_tell_loop(h, EV_CANCEL, id, 0, 0) == -1)
            return httpd_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                               "the loop's queue refused it");
        return httpd_accepted(conn, "cancel");
    }
    /* The service: as framefarm cancel (it waits, bounded, for the end). */
    if ((reply = service_cancel(h->svc, id)) == NULL)
        return httpd_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                           "out of memory");
    state = json_str(reply, "state");
    json_u64(reply, "exit", UINT8_MAX, &code);
    if (state != NULL && strcmp(state, "cancelled") == 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(reply, "ok");
        cJSON_AddBoolToObject(reply, "ok", 1);
        status = MHD_HTTP_OK;
    } else {
        status = code == 2 ? MHD_HTTP_NOT_FOUND : MHD_HTTP_CONFLICT;
    }
    text = cJSON_PrintUnformatted(reply);
    cJSON_Delete(reply);
    if (text == NULL)
        return MHD_NO;
    rc = httpd_send_str(conn, status, HTTPD_JSON, text);
    free(text);
    return rc;
}

/* The set's letter in the running job's grid, or 0. */
static char
httpd_set_status(const struct board_snap *s, const char *id, uint32_t set)
{
    const char *doc = board_snap_job(s, id);
    cJSON *o = doc != NULL ? cJSON_Parse(doc) : NULL;
    const cJSON *grid = cJSON_GetObjectItemCaseSensitive(o, "grid");
    const char *status = json_str(grid, "status");
    char c = 0;
    if (status != NULL && set < strlen(status))
        c = status[set];
    cJSON_Delete(o);
    return c;
}

static enum MHD_Result
httpd_requeue(struct httpd *h, struct MHD_Connection *conn,
              const struct board_snap *s, const char *id, const char *setstr)
{
    char *end;
    unsigned long set = strtoul(setstr, &end, 10);
    char st;
    if (*setstr < '0' || *setstr > '9' || *end != '\0' || set > UINT32_MAX)
        return httpd_error(conn, MHD_HTTP_NOT_FOUND, "no such set");
    st = httpd_set_status(s, id, (uint32_t)set);
    if (st == 0)
        return httpd_error(conn, MHD_HTTP_NOT_FOUND,
                           "no such set in a running job");
    if (st != 'B' && st != 'C')
        return httpd_error(conn, MHD_HTTP_CONFLICT,
                           "only a set in B (processing) or C (failed) can be "
                           "requeued");
    if (httpd_tell_loop(h, EV_REQUEUE, id, (uint32_t)set, 0) == -1)
        return httpd_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                           "the loop's queue refused it");
    return httpd_accepted(conn, "requeue");
}

static enum MHD_Result
httpd_drain(struct httpd *h, struct MHD_Connection *conn,
            const struct board_snap *s, const char *name, int on)
{
    if (!board_snap_has_node(s, name))
        return httpd_error(conn, MHD_HTTP_NOT_FOUND, "no such node");
    if (httpd_tell_loop(h, EV_DRAIN, name, 0, on) == -1)
        return httpd_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                           "the loop's queue refused it");
    return httpd_accepted(conn, on ? "drain" : "undrain");
}

/* Split "/api/KIND/NAME/REST" on '/' into at most max parts (the path is
 * copied into buf). The number of parts, or -1. */
static int
httpd_split(const char *url, char *buf, size_t buflen, char **part, int max)
{
    int n = 0;
    char *save = NULL, *p;
    if (strlen(url) >= buflen)
        return -1;
    memcpy(buf, url, strlen(url) + 1);
    for (p = strtok_r(buf, "/", &save); p != NULL;
         p = strtok_r(NULL, "/", &save)) {
        if (n == max)
            return -1;
        part[n++] = p;
    }
    return n;
}

static enum MHD_Result
httpd_post(struct httpd *h, struct MHD_Connection *conn, const char *url)
{
    char buf[HTTPD_ERR_MAX];
    char *p[6];
    const char *action;
    struct httpauth_req req;
    enum httpauth_verdict v;
    struct board_snap *s;
    enum MHD_Result rc;
    int n = httpd_split(url, buf, sizeof(buf), p, 6);

    if (n < 4 || strcmp(p[0], "api") != 0 || !ident_is_valid(p[2]))
        return httpd_error(conn, MHD_HTTP_NOT_FOUND, "no such action");
    action =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, HTTPD_ACTION_HEADER);
    if (action == NULL || strcmp(action, "1") != 0)
        return httpd_error(conn, MHD_HTTP_FORBIDDEN,
                           "an action needs the header X-Framefarm-Action: "
                           "1");
    req.method = "POST";
    req.path = url;
    req.authorization = MHD_lookup_connection_value(
        conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    req.host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                           MHD_HTTP_HEADER_HOST);
    req.peer_loopback = httpd_peer_loopback(conn);
    pthread_mutex_lock(&h->mu);
    v = httpauth_check(h->cfg->keyed ? &h->cfg->secret : NULL, &req,
                       (int64_t)time(NULL), &h->seen);
    pthread_mutex_unlock(&h->mu);
    if (v != HTTPAUTH_OK) {
        log_warnx("http: POST %s refused: %s", url, httpauth_why(v));
        return httpd_error(conn,
                           v == HTTPAUTH_MISSING || v == HTTPAUTH_MALFORMED ||
                                   v == HTTPAUTH_BAD_MAC ||
                                   v == HTTPAUTH_EXPIRED ||
                                   v == HTTPAUTH_REPLAYED
                               ? MHD_HTTP_UNAUTHORIZED
                           : v == HTTPAUTH_BUSY ? MHD_HTTP_TOO_MANY_REQUESTS
                                                : MHD_HTTP_FORBIDDEN,
                           httpauth_why(v));
    }
    if ((s = board_get(h->board)) == NULL)
        return httpd_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
                           "starting: nothing published yet");
    log_info("http: POST %s", url);
    if (strcmp(p[1], "jobs") == 0 && n == 4 && strcmp(p[3], "cancel") == 0)
        rc = httpd_cancel(h, conn, s, p[2]);
    else if (strcmp(p[1], "jobs") == 0 && n == 6 && strcmp(p[3], "sets") == 0 &&
             strcmp(p[5], "requeue") == 0)
        rc = httpd_requeue(h, conn, s, p[2], p[4]);
    else if (strcmp(p[1], "nodes") == 0 && n == 4 &&
             (strcmp(p[3], "drain") == 0 || strcmp(p[3], "undrain") == 0))
        rc = httpd_drain(h, conn, s, p[2], strcmp(p[3], "drain") == 0);
    else
        rc = httpd_error(conn, MHD_HTTP_NOT_FOUND, "no such action");
    board_put(h->board, s);
    return rc;
}

static enum MHD_Result
httpd_handle(void *cls, struct MHD_Connection *conn, const char *url,
             const char *method, const char *version, const char *upload,
             size_t *upload_size, void **con_cls)
{
    struct httpd *h = cls;
    struct httpd_post *post;
    (void)version;
    (void)upload;

    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0) {
        if (*con_cls == NULL) {
            *con_cls = &httpd_post_marker; /* headers seen: answer next */
            return MHD_YES;
        }
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
            strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
            return httpd_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                               "GET, HEAD or POST");
        return httpd_get(h, conn, url);
    }
    /* A POST: its body (ignored) arrives in pieces, then a last call. */
    if (*con_cls == NULL) {
        if ((post = calloc(1, sizeof(*post))) == NULL)
            return MHD_NO;
        *con_cls = post;
        return MHD_YES;
    }
    post = *con_cls;
    if (*upload_size != 0) {
        post->body += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    if (post->body > HTTPD_BODY_MAX)
        return httpd_error(conn, MHD_HTTP_CONTENT_TOO_LARGE,
                           "an action takes no body");
    return httpd_post(h, conn, url);
}

static void
httpd_done(void *cls, struct MHD_Connection *conn, void **con_cls,
           enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)conn;
    (void)why;
    if (*con_cls != NULL && *con_cls != &httpd_post_marker)
        free(*con_cls);
    *con_cls = NULL;
}

struct httpd *
httpd_start(int lfd, const struct coord_config *cfg, struct board *board,
            struct evq *loop, struct service *svc, char *err, size_t errlen)
{
    struct httpd *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->cfg = cfg;
    h->board = board;
    h->loop = loop;
    h->svc = svc;
    pthread_mutex_init(&h->mu, NULL);
    h->d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, httpd_handle, h, MHD_OPTION_EXTERNAL_LOGGER, httpd_log,
        NULL, MHD_OPTION_LISTEN_SOCKET, lfd, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)HTTPD_CONN_MAX, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)HTTPD_CONN_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)HTTPD_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HTTPD_CONN_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, httpd_done,
        NULL, MHD_OPTION_END);
    if (h->d == NULL) {
        snprintf(err, errlen, "libmicrohttpd would not start");
        pthread_mutex_destroy(&h->mu);
        free(h);
        return NULL;
    }
    return h;
}

void
httpd_stop(struct httpd *h)
{
    if (h == NULL)
        return;
    atomic_store(&h->stopping, 1);
    board_close(h->board);
    MHD_stop_daemon(h->d);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
