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

#include "common/clock.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/sharepath.h"

#define GENERATION_DIR_MODE 0755
#define GENERATION_FILE_MODE 0644
#define GENERATION_PROBE_SIZE sizeof(uint64_t)

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
        sharepath_journal(c->share, c->job, journal, sizeof(journal)) == -1) {
        errf(err, errlen, "share path too long");
        return -1;
    }
    log_info("standby for job %s: watching the active ambassador", c->job);
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
        if (stat(journal, &st) == 0 && now - changed >= c->reclaim_ms) {
            log_warnx("the active ambassador has been silent on the share for "
                      "%llu ms: taking over",
                      (unsigned long long)(now - changed));
            return 0;
        }
        clock_sleep_ms(c->share_poll_ms);
    }
}
