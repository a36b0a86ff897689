/*
 * generation.c - see generation.h.
 */
#include "coordinator/generation.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <poll.h>
#include <time.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/netio.h"
#include "common/proto.h"
#include "common/sharepath.h"

#define GENERATION_DIR_MODE 0755
#define GENERATION_FILE_MODE 0644
#define GENERATION_PROBE_SIZE sizeof(uint64_t)
#define GENERATION_PING_MS 2000

int
generation_replaced(uint64_t mine, uint64_t newest)
{
    return newest > mine;
}

uint64_t
generation_newest(const char *share)
{
    char dir[FS_PATH_MAX];
    struct dirent *de;
    uint64_t best = 0;
    DIR *d;

    if (sharepath_coord_dir(share, dir, sizeof(dir)) == -1 ||
        (d = opendir(dir)) == NULL)
        return 0;
    while ((de = readdir(d)) != NULL) {
        uint64_t g;
        if (sharepath_gen_parse(de->d_name, &g) && g > best)
            best = g;
    }
    closedir(d);
    return best;
}

void
generation_fence(const char *share, uint64_t mine)
{
    uint64_t newest = generation_newest(share);

    if (!generation_replaced(mine, newest))
        return;
    log_warnx("replaced by ambassador generation %llu (this is %llu): "
              "exiting without writing",
              (unsigned long long)newest, (unsigned long long)mine);
    _exit(GENERATION_EXIT_REPLACED);
}

int
generation_claim(const char *share, uint64_t floor, uint64_t *gen)
{
    char dir[FS_PATH_MAX], path[FS_PATH_MAX];
    uint64_t g = generation_newest(share);

    if (g < floor)
        g = floor;
    if (sharepath_coord_dir(share, dir, sizeof(dir)) == -1 ||
        fs_mkdir_p(dir, GENERATION_DIR_MODE) == -1)
        return -1;
    for (;;) {
        int fd;
        g++;
        if (sharepath_gen(share, g, path, sizeof(path)) == -1)
            return -1;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  GENERATION_FILE_MODE);
        if (fd == -1) {
            if (errno == EEXIST)
                continue; /* another ambassador took it: try the next */
            return -1;
        }
        fsync(fd);
        close(fd);
        fs_fsync_parent(path);
        *gen = g;
        return 0;
    }
}

int
generation_publish(const struct coord_config *c, const char *advertise,
                   int port, uint64_t gen, char *err, size_t errlen)
{
    char path[FS_PATH_MAX], host[NET_HOST_MAX], text[NET_HOST_MAX + 40];
    int aport = port;

    if (advertise != NULL && advertise[0] != '\0') {
        if (net_parse_hostport(advertise, host, sizeof(host), &aport, port) ==
            -1) {
            errf(err, errlen, "--advertise: expected HOST or HOST:PORT");
            return -1;
        }
    } else if (strcmp(c->listen_host, "0.0.0.0") == 0 ||
               strcmp(c->listen_host, "::") == 0) {
        if (gethostname(host, sizeof(host)) == -1)
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
    } else {
        snprintf(host, sizeof(host), "%s", c->listen_host);
    }
    snprintf(text, sizeof(text), "%s:%d %llu\n", host, aport,
             (unsigned long long)gen);
    if (sharepath_current(c->share, path, sizeof(path)) == -1 ||
        fs_write_atomic(path, text, strlen(text)) == -1) {
        errf(err, errlen, "writing %s: %s", path, strerror(errno));
        return -1;
    }
    log_info("nodes find this ambassador at %s:%d (generation %llu)", host,
             aport, (unsigned long long)gen);
    return 0;
}

int
generation_await_takeover(const struct coord_config *c, char *err,
                          size_t errlen)
{
    char probe[FS_PATH_MAX], journal[FS_PATH_MAX];
    uint64_t last = 0, changed = clock_now_ms();
    int seen = 0;
    struct stat st;

    if (sharepath_probe(c->share, probe, sizeof(probe)) == -1 ||
        (c->job[0] != '\0' &&
         sharepath_journal(c->share, c->job, journal, sizeof(journal)) == -1)) {
        errf(err, errlen, "share path too long");
        return -1;
    }
    log_info("standby%s%s: watching the active ambassador",
             c->job[0] ? " for job " : "", c->job);
    for (;;) {
        char *text = NULL;
        size_t len = 0;
        uint64_t v = 0, now = clock_now_ms();
        if (fs_read_max(probe, GENERATION_PROBE_SIZE, &text, &len) == 0 &&
            len == GENERATION_PROBE_SIZE) {
            memcpy(&v, text, sizeof(v));
            if (!seen || v != last) {
                last = v;
                changed = now;
                seen = 1;
            }
        }
        free(text);
        /* A one-job ambassador takes over once its job has a journal to
         * resume from; a service, once the active one is silent. */
        if ((c->job[0] == '\0' || stat(journal, &st) == 0) &&
            now - changed >= c->reclaim_ms) {
            log_warnx("the active ambassador has been silent on the share for "
                      "%llu ms: taking over",
                      (unsigned long long)(now - changed));
            return 0;
        }
        clock_sleep_ms(c->share_poll_ms);
    }
}

/* The probe counter, or 0 when it cannot be read. */
static uint64_t
generation_probe_value(const char *share)
{
    char probe[FS_PATH_MAX];
    char *text = NULL;
    size_t len = 0;
    uint64_t v = 0;
    if (sharepath_probe(share, probe, sizeof(probe)) == 0 &&
        fs_read_max(probe, GENERATION_PROBE_SIZE, &text, &len) == 0 &&
        len == GENERATION_PROBE_SIZE)
        memcpy(&v, text, sizeof(v));
    free(text);
    return v;
}

/* Does the ambassador at host:port answer (any frame: a reply to our
 * ping, a challenge, a refusal)? */
static int
generation_answers(const char *host, int port, int *refused)
{
    struct proto_reader rd;
    char err[ERR_MAX];
    cJSON *ping = cJSON_CreateObject(), *msg = NULL;
    uint64_t deadline = clock_now_ms() + GENERATION_PING_MS;
    int fd, r = 0;

    if (ping == NULL ||
        cJSON_AddStringToObject(ping, "type", MSG_CONTROL) == NULL ||
        cJSON_AddStringToObject(ping, "op", "ping") == NULL) {
        cJSON_Delete(ping);
        return 0;
    }
    fd = net_connect(host, port, GENERATION_PING_MS, NULL, 0);
    if (fd == -1) {
        *refused = errno == ECONNREFUSED;
        cJSON_Delete(ping);
        return 0;
    }
    proto_reader_init(&rd);
    if (proto_send(fd, ping) == 0) {
        for (;;) {
            uint64_t now = clock_now_ms();
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            r = proto_reader_next(&rd, &msg, err, sizeof(err));
            if (r != 0 || now >= deadline)
                break;
            if (poll(&pfd, 1, (int)(deadline - now)) <= 0 ||
                proto_reader_fill(&rd, fd) <= 0)
                break;
        }
    }
    cJSON_Delete(msg);
    cJSON_Delete(ping);
    proto_reader_fini(&rd);
    close(fd);
    return r == 1;
}

int
generation_live(const struct coord_config *c, char *desc, size_t desclen)
{
    char path[FS_PATH_MAX], host[NET_HOST_MAX], since[64] = "?";
    char *text = NULL;
    size_t len = 0;
    unsigned long long g = 0;
    int port = 0, live, refused = 0;
    uint64_t before, deadline;
    struct stat st;

    if (sharepath_current(c->share, path, sizeof(path)) == -1 ||
        fs_read_max(path, NET_HOST_MAX + 32, &text, &len) == -1)
        return 0; /* no ambassador ever published here */
    text[len] = '\0';
    if (sscanf(text, "%*s %llu", &g) != 1 ||
        net_parse_hostport(strtok(text, " "), host, sizeof(host), &port,
                           NET_DEFAULT_PORT) == -1) {
        free(text);
        return 0;
    }
    free(text);
    if (sharepath_gen(c->share, g, path, sizeof(path)) == 0 &&
        stat(path, &st) == 0) {
        struct tm tm;
        localtime_r(&st.st_mtime, &tm);
        strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", &tm);
    }
    /* It answers on the network, or (cut off from us) it still writes
     * its probe on the share. A host that refuses the connection runs no
     * ambassador there: no need to watch the probe. */
    live = generation_answers(host, port, &refused);
    if (!live && !refused) {
        before = generation_probe_value(c->share);
        deadline = clock_now_ms() + 2 * c->share_poll_ms + GENERATION_PING_MS;
        while (!live && clock_now_ms() < deadline) {
            clock_sleep_ms(c->share_poll_ms / 2 + 1);
            live = generation_probe_value(c->share) != before;
        }
    }
    if (live)
        snprintf(desc, desclen,
                 "an ambassador is already running on this share: %s:%d, "
                 "generation %llu, since %s",
                 host, port, g, since);
    return live;
}
