/*
 * checkshare.c - `framefarm check-share DIR`: can a node work on DIR, on
 * this machine? Run on every render machine (and on the share's server)
 * before its nodes start, as the user they run as. Each check prints one
 * line, PASS, WARN or FAIL, with what it saw and, when it is not a PASS,
 * what to change; a closing line counts them.
 *
 * It reads what the ambassador writes in coord/ (share-id, current,
 * gen.<G>, probe) and writes only under a temporary directory
 * DIR/.check-share-XXXXXX, removed before it exits. With --coordinator it
 * also asks the ambassador (a `ping` on the control channel) which share it
 * runs on. One thread, but for the rename check's reader.
 *
 * Exit status: 0 no check failed (warnings are advice); 1 a check failed;
 * 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <mntent.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "common/clock.h"
#include "common/err.h"
#include "common/fdio.h"
#include "common/fsutil.h"
#include "common/jsonutil.h"
#include "common/log.h"
#include "common/netio.h"
#include "common/sharepath.h"
#include "common/shareid.h"
#include "coordinator/config.h"

#define CS_EXIT_FAILED 1
#define CS_MIB (1024u * 1024u)
#define CS_IO_MIB_DEFAULT 32
#define CS_IO_MIB_MAX 1024
/* The ambassador rewrites coord/probe every share_poll_ms: three polls. */
#define CS_PROBE_WAIT_MS (3 * CONFIG_DEFAULT_SHARE_POLL_MS)
#define CS_POLL_MS 100
/* A replaced coord/current may take a moment to show: a few polls. */
#define CS_CURRENT_WAIT_MS 3000
/* Leases are renewed (written and fsynced) every lease_renew_ms and a node
 * fences itself after fence_ms without one: an fsync slower than a
 * quarter of a renewal period is a warning. */
#define CS_FSYNC_SLOW_MS (CONFIG_DEFAULT_LEASE_RENEW_MS / 4)
#define CS_SMALL_FILE 4096
#define CS_RENAMES 64
#define CS_RENAME_MS 2000
#define CS_SLOW_MBPS 20.0 /* a 1 Gb/s link carries ~110 MB/s */
#define CS_LOW_FREE_BYTES (4ull << 30)
#define CS_LOW_INODES 10000
#define CS_CLOCK_WARN_MS 1000
#define CS_NOBODY_UID 65534
#define CS_LINE_MAX 4096
#define CS_OPTS_MAX 1024

enum cs_verdict { CS_PASS, CS_WARN, CS_FAIL };

struct cs {
    const char *dir;
    const char *coordinator; /* NULL: no ambassador to ask */
    const char *secret;
    size_t io_bytes;
    char real[PATH_MAX];
    int counts[3];
    int have_id;
    char id[SHAREID_HEX + 1];
    uid_t id_uid; /* owner of coord/share-id: the ambassador's user */
    int amb_answered;
    int amb_foreign; /* it runs on another share: coord/ here is not its */
    uint64_t amb_gen;
    int local; /* DIR is on a local filesystem, not a network one */
    char tmp[FS_PATH_MAX];
};

static const char *const cs_words[] = {"PASS", "WARN", "FAIL"};

static void cs_say(struct cs *s, enum cs_verdict v, const char *check,
                   const char *fmt, ...) PRINTFLIKE(4, 5);

static void
cs_say(struct cs *s, enum cs_verdict v, const char *check, const char *fmt, ...)
{
    va_list ap;
    s->counts[v]++;
    printf("%s %-10s ", cs_words[v], check);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static double
cs_ms_since(uint64_t start_us)
{
    return (double)(clock_now_us() - start_us) / 1000.0;
}

/* ---- mount ---- */

struct cs_mount {
    char point[PATH_MAX];
    char fstype[64];
    char source[PATH_MAX];
    char opts[CS_OPTS_MAX];  /* per mount: ro, nosuid, ... */
    char super[CS_OPTS_MAX]; /* the filesystem's: NFS's vers, hard, ... */
};

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
cs_unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r != '\0'; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' &&
            r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* Is mount point mp path itself or one of its ancestors? */
static size_t
cs_covers(const char *mp, const char *path)
{
    size_t n = strlen(mp);
    if (strcmp(mp, "/") == 0)
        return 1;
    if (strncmp(mp, path, n) == 0 && (path[n] == '\0' || path[n] == '/'))
        return n;
    return 0;
}

static void
cs_copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src != NULL ? src : "");
}

/* The mount that holds path: the one whose mount point is its longest
 * ancestor, the last listed among equals (it hides the others). 0 with
 * *m, or -1 (mountinfo unreadable). */
static int
cs_find_mount(const char *path, struct cs_mount *m)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[CS_LINE_MAX];
    size_t best = 0;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *save = NULL, *tok[6], *fstype, *source, *super, *t;
        int i;
        size_t n;
        line[strcspn(line, "\n")] = '\0';
        /* id parent major:minor root point opts [optional...] - type
         * source super */
        for (i = 0; i < 6; i++)
            if ((tok[i] = strtok_r(i == 0 ? line : NULL, " ", &save)) == NULL)
                break;
        if (i < 6)
            continue;
        t = tok[5];
        while (t != NULL && strcmp(t, "-") != 0)
            t = strtok_r(NULL, " ", &save);
        fstype = strtok_r(NULL, " ", &save);
        source = strtok_r(NULL, " ", &save);
        super = strtok_r(NULL, " ", &save);
        if (t == NULL || fstype == NULL)
            continue;
        cs_unescape(tok[4]);
        if ((n = cs_covers(tok[4], path)) == 0 || n < best)
            continue;
        best = n;
        cs_copy(m->point, sizeof(m->point), tok[4]);
        cs_copy(m->opts, sizeof(m->opts), tok[5]);
        cs_copy(m->fstype, sizeof(m->fstype), fstype);
        cs_copy(m->source, sizeof(m->source), source);
        cs_copy(m->super, sizeof(m->super), super);
        cs_unescape(m->source);
    }
    fclose(f);
    return best > 0 ? 0 : -1;
}

/* Where option name (alone or name=...) starts in a comma-separated
 * list, or NULL. */
static const char *
cs_find_opt(const char *opts, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = opts; p != NULL && *p != '\0';) {
        if (strncmp(p, name, n) == 0 &&
            (p[n] == ',' || p[n] == '\0' || p[n] == '='))
            return p;
        p = strchr(p, ',');
        if (p != NULL)
            p++;
    }
    return NULL;
}

static int
cs_has_opt(const char *opts, const char *name)
{
    return cs_find_opt(opts, name) != NULL;
}

/* The value of name=VALUE in opts, into out; 0 when absent. */
static int
cs_opt_value(const char *opts, const char *name, char *out, size_t len)
{
    const char *p = cs_find_opt(opts, name);
    size_t n = strlen(name);
    if (p == NULL || p[n] != '=')
        return 0;
    snprintf(out, len, "%.*s", (int)strcspn(p + n + 1, ","), p + n + 1);
    return 1;
}

static int
cs_is_network(const char *fstype)
{
    static const char *const net[] = {
        "nfs",    "nfs4",      "cifs",           "smb3",         "smbfs",
        "ceph",   "glusterfs", "fuse.glusterfs", "fuse.sshfs",   "fuse.cephfs",
        "lustre", "gpfs",      "beegfs",         "9p",           "afs",
        "ocfs2",  "gfs2",      "fuse.s3fs",      "fuse.juicefs", "fuse.rclone",
    };
    for (size_t i = 0; i < sizeof(net) / sizeof(net[0]); i++)
        if (strcmp(fstype, net[i]) == 0)
            return 1;
    return 0;
}

/* systemd's name for the mount unit of path (systemd-escape --path). */
static void
cs_unit_name(const char *path, char *out, size_t len)
{
    size_t o = 0;
    while (*path == '/')
        path++;
    for (const char *p = path; *p != '\0' && o + 5 < len; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '/') {
            if (p[1] != '/' && p[1] != '\0')
                out[o++] = '-';
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '_' || ch == ':' ||
                   (ch == '.' && p != path)) {
            out[o++] = (char)ch;
        } else {
            o += (size_t)snprintf(out + o, len - o, "\\x%02x", ch);
        }
    }
    snprintf(out + o, len - o, ".mount");
}

/* Is path meant to be a mount point: listed in /etc/fstab, or a systemd
 * mount unit of that name? 1 with what (its source), else 0. */
static int
cs_meant_mounted(const char *path, const char *given, char *what, size_t len)
{
    FILE *f = setmntent("/etc/fstab", "re");
    struct mntent *e;
    char unit[PATH_MAX], upath[PATH_MAX + 32];
    int found = 0;
    static const char *const unit_dirs[] = {"/etc/systemd/system",
                                            "/run/systemd/system"};

    while (f != NULL && !found && (e = getmntent(f)) != NULL)
        if (strcmp(e->mnt_dir, path) == 0 || strcmp(e->mnt_dir, given) == 0) {
            snprintf(what, len, "/etc/fstab: %s %s", e->mnt_fsname,
                     e->mnt_type);
            found = 1;
        }
    if (f != NULL)
        endmntent(f);
    cs_unit_name(path, unit, sizeof(unit));
    for (size_t i = 0; !found && i < sizeof(unit_dirs) / sizeof(unit_dirs[0]);
         i++) {
        snprintf(upath, sizeof(upath), "%s/%s", unit_dirs[i], unit);
        if (access(upath, F_OK) == 0) {
            snprintf(what, len, "the systemd unit %s", upath);
            found = 1;
        }
    }
    return found;
}

/* NFS options against reliability.md §2.8: the worst verdict, the
 * complaints in why. */
static enum cs_verdict
cs_nfs_options(const char *super, char *why, size_t len)
{
    enum cs_verdict v = CS_PASS;
    char val[64];
    size_t o = 0;
#define CS_COMPLAIN(verdict, ...)                                              \
    do {                                                                       \
        if ((verdict) > v)                                                     \
            v = (verdict);                                                     \
        if (o < len)                                                           \
            o += (size_t)snprintf(why + o, len - o, "; " __VA_ARGS__);         \
    } while (0)

    why[0] = '\0';
    if (cs_has_opt(super, "soft") || cs_has_opt(super, "softerr"))
        CS_COMPLAIN(CS_FAIL, "soft: a write that times out is lost with EIO "
                             "(mount with hard)");
    if (cs_has_opt(super, "nocto"))
        CS_COMPLAIN(CS_FAIL, "nocto: a file another machine renamed may not "
                             "be seen when opened (drop nocto)");
    if (cs_opt_value(super, "local_lock", val, sizeof(val)) &&
        strcmp(val, "none") != 0)
        CS_COMPLAIN(CS_WARN,
                    "local_lock=%s: locks are not seen by the other "
                    "machines (drop local_lock)",
                    val);
    if (cs_opt_value(super, "vers", val, sizeof(val)) && val[0] < '4')
        CS_COMPLAIN(CS_WARN,
                    "vers=%s: NFSv4.2 is what framefarm is run on "
                    "(vers=4.2)",
                    val);
    if (cs_opt_value(super, "proto", val, sizeof(val)) &&
        strncmp(val, "udp", 3) == 0)
        CS_COMPLAIN(CS_WARN, "proto=%s: use tcp", val);
    if (!cs_opt_value(super, "lookupcache", val, sizeof(val)))
        CS_COMPLAIN(CS_WARN,
                    "lookupcache=all (the default) caches \"no such file\": "
                    "a set's manifest or coord/current may look missing for "
                    "up to acdirmax (mount with lookupcache=positive)");
#undef CS_COMPLAIN
    return v;
}

static void
cs_check_mount(struct cs *s)
{
    struct cs_mount m;
    struct stat st, up;
    char parent[PATH_MAX + 4], why[CS_OPTS_MAX], meant[PATH_MAX + 64];
    int is_point;

    memset(&m, 0, sizeof(m));
    snprintf(parent, sizeof(parent), "%s/..", s->real);
    if (cs_find_mount(s->real, &m) == -1) {
        s->local = 1;
        cs_say(s, CS_WARN, "mount",
               "cannot read /proc/self/mountinfo: %s; is this Linux?",
               strerror(errno));
        return;
    }
    /* A mount point: listed as one, or on another device than its parent
     * (mountinfo may hide it in a container). A bind mount of a directory
     * onto itself keeps the device: only mountinfo shows it. */
    is_point = strcmp(m.point, s->real) == 0 ||
               (stat(s->real, &st) == 0 && stat(parent, &up) == 0 &&
                (st.st_dev != up.st_dev || st.st_ino == up.st_ino));
    s->local = !cs_is_network(m.fstype);
    if (cs_has_opt(m.opts, "ro")) {
        cs_say(s, CS_FAIL, "mount",
               "%s is mounted read-only (%s on %s, %s): nodes write their "
               "leases and videos there; mount it rw (nfs-setup/client.sh) "
               "and export it rw (nfs-setup/server.sh)",
               s->dir, m.source, m.point, m.fstype);
        return;
    }
    if (s->local && !is_point &&
        cs_meant_mounted(s->real, s->dir, meant, sizeof(meant))) {
        cs_say(s, CS_FAIL, "mount",
               "%s is not mounted (%s), so this is the directory underneath "
               "it on %s (%s): mount it (`mount %s`, or `systemctl start` "
               "its mount unit) and check again",
               s->dir, meant, m.point, m.fstype, s->real);
        return;
    }
    if (s->local) {
        if (is_point)
            cs_say(s, CS_PASS, "mount",
                   "%s is mounted: %s (%s, a local filesystem: right on the "
                   "share's own server; a render machine mounts it over the "
                   "network)",
                   s->dir, m.source, m.fstype);
        else
            cs_say(s, CS_WARN, "mount",
                   "%s is not a mount point: it is a directory of %s (%s "
                   "on %s). Right only on the share's own server or for a "
                   "one-machine run; on a render machine mount the share "
                   "here (nfs-setup/client.sh)",
                   s->dir, m.point, m.source, m.fstype);
        return;
    }
    if (strncmp(m.fstype, "nfs", 3) != 0) {
        cs_say(s, CS_PASS, "mount",
               "%s is on %s (%s, mounted at %s; not NFS: its options are "
               "not checked)",
               s->dir, m.source, m.fstype, m.point);
        return;
    }
    {
        enum cs_verdict v = cs_nfs_options(m.super, why, sizeof(why));
        cs_say(s, v, "mount", "%s is on %s (%s at %s: %s)%s", s->dir, m.source,
               m.fstype, m.point, m.super, why);
    }
}

/* ---- the share's identity and the ambassador ---- */

static void
cs_check_identity(struct cs *s)
{
    char err[ERR_MAX], path[FS_PATH_MAX];
    struct stat st;

    if (shareid_read(s->dir, s->id, err, sizeof(err)) == -1) {
        cs_say(s, CS_FAIL, "identity",
               "%s; mount the share here (nfs-setup/client.sh) or, on a new "
               "share, start the ambassador on it once: it writes "
               "coord/share-id",
               err);
        return;
    }
    s->have_id = 1;
    if (sharepath_coord_dir(s->dir, path, sizeof(path)) == 0 &&
        strlen(path) + sizeof("/share-id") < sizeof(path)) {
        strcat(path, "/share-id");
        if (stat(path, &st) == 0)
            s->id_uid = st.st_uid;
    }
    cs_say(s, CS_PASS, "identity", "this is framefarm share %s", s->id);
}

static void
cs_check_ambassador(struct cs *s)
{
    cJSON *reply = NULL;
    const char *amb_id;
    int rc = cli_ping("check-share", s->coordinator, s->secret, &reply);

    if (rc != 0) {
        cs_say(s, CS_FAIL, "ambassador",
               "no answer from the ambassador at %s (the reason is above): "
               "start it (systemctl start framefarm-coordinator), check "
               "--coordinator, --secret and the firewall (TCP 7700)",
               s->coordinator);
        return;
    }
    s->amb_answered = 1;
    json_u64(reply, "generation", UINT64_MAX >> 11, &s->amb_gen);
    amb_id = json_str(reply, "share_id");
    if (amb_id == NULL)
        cs_say(s, CS_WARN, "ambassador",
               "the ambassador at %s (generation %llu) does not say which "
               "share it runs on (an older version): each node's hello is "
               "checked instead",
               s->coordinator, (unsigned long long)s->amb_gen);
    else if (!s->have_id || strcmp(amb_id, s->id) != 0)
        s->amb_foreign = 1,
        cs_say(s, CS_FAIL, "ambassador",
               "the ambassador at %s runs on share %s; %s %s%s: this is not "
               "its share. Mount the ambassador's share here "
               "(nfs-setup/client.sh) or point --share at it",
               s->coordinator, amb_id, s->dir,
               s->have_id ? "is share " : "has no share id",
               s->have_id ? s->id : "");
    else
        cs_say(s, CS_PASS, "ambassador",
               "the ambassador at %s (generation %llu) runs on this share",
               s->coordinator, (unsigned long long)s->amb_gen);
    cJSON_Delete(reply);
}

/* coord/current ("HOST:PORT GEN"): 0 with addr and *gen, or -1. */
static int
cs_read_current(const struct cs *s, char *addr, size_t len, uint64_t *gen)
{
    char path[FS_PATH_MAX], *text = NULL;
    size_t n = 0;
    unsigned long long g;
    int rc = -1;

    if (sharepath_current(s->dir, path, sizeof(path)) == -1 ||
        fs_read_max(path, NET_HOST_MAX + 32, &text, &n) == -1)
        return -1;
    text[strcspn(text, "\n")] = '\0';
    if (sscanf(text, "%*s %llu", &g) == 1 && strchr(text, ' ') != NULL) {
        snprintf(addr, len, "%.*s", (int)strcspn(text, " "), text);
        *gen = g;
        rc = 0;
    }
    free(text);
    return rc;
}

static void
cs_check_current(struct cs *s)
{
    char addr[NET_HOST_MAX + 8] = "", gpath[FS_PATH_MAX];
    uint64_t gen = 0, deadline = clock_now_ms() + CS_CURRENT_WAIT_MS;
    int r;
    struct stat st;

    /* An ambassador that just started may still be publishing. */
    while ((r = cs_read_current(s, addr, sizeof(addr), &gen)) == -1 ||
           (s->amb_answered && gen < s->amb_gen)) {
        if (clock_now_ms() >= deadline || (r == -1 && !s->amb_answered))
            break;
        clock_sleep_ms(CS_POLL_MS);
    }
    if (r == -1) {
        cs_say(s, s->amb_answered ? CS_FAIL : CS_WARN, "current",
               "coord/current, which an ambassador replaces (by a rename) "
               "when it starts, is missing or unreadable here%s",
               s->amb_answered
                   ? ", yet the ambassador answers: files it renames are not "
                     "seen here (remount; keep cto, lookupcache=positive)"
                   : ": no ambassador has run on this share yet (start it, "
                     "then check again)");
        return;
    }
    if (sharepath_gen(s->dir, gen, gpath, sizeof(gpath)) == -1 ||
        stat(gpath, &st) == -1) {
        cs_say(s, CS_WARN, "current",
               "coord/current names %s, generation %llu, but coord/gen.%llu "
               "is not there: was the share's coord/ edited by hand?",
               addr, (unsigned long long)gen, (unsigned long long)gen);
        return;
    }
    if (!s->amb_answered)
        cs_say(s, CS_PASS, "current",
               "coord/current (replaced by a rename at each ambassador "
               "start) names %s, generation %llu",
               addr, (unsigned long long)gen);
    else if (gen < s->amb_gen)
        cs_say(s, CS_FAIL, "current",
               "coord/current here still says generation %llu; the "
               "ambassador is at generation %llu: a file it replaced by a "
               "rename is not seen here. Remount (keep cto, "
               "lookupcache=positive, no large actimeo)",
               (unsigned long long)gen, (unsigned long long)s->amb_gen);
    else if (gen > s->amb_gen)
        cs_say(s, CS_WARN, "current",
               "coord/current names a newer ambassador (%s, generation "
               "%llu) than the one at %s (generation %llu): is --coordinator "
               "an old one?",
               addr, (unsigned long long)gen, s->coordinator,
               (unsigned long long)s->amb_gen);
    else
        cs_say(s, CS_PASS, "current",
               "coord/current, which the ambassador replaced by a rename, "
               "reads %s, generation %llu, as the ambassador says: its "
               "renames are seen here",
               addr, (unsigned long long)gen);
}

/* The probe's 8 bytes, or -1. */
static int
cs_read_probe(const struct cs *s, uint64_t *v)
{
    char path[FS_PATH_MAX], *text = NULL;
    size_t n = 0;
    int rc = -1;
    if (sharepath_probe(s->dir, path, sizeof(path)) == 0 &&
        fs_read_max(path, sizeof(*v), &text, &n) == 0 && n == sizeof(*v)) {
        memcpy(v, text, sizeof(*v));
        rc = 0;
    }
    free(text);
    return rc;
}

static void
cs_check_probe(struct cs *s)
{
    uint64_t first = 0, v = 0, start = clock_now_us();
    int changed = 0;

    if (cs_read_probe(s, &first) == -1) {
        cs_say(s, s->amb_answered ? CS_FAIL : CS_WARN, "probe",
               "coord/probe, which a running ambassador rewrites every "
               "%d ms, is missing here%s",
               CONFIG_DEFAULT_SHARE_POLL_MS,
               s->amb_answered ? ", yet the ambassador answers: this is not "
                                 "its share, or its writes are not seen here"
                               : ": no ambassador runs on this share now");
        return;
    }
    while (!changed && cs_ms_since(start) < CS_PROBE_WAIT_MS) {
        clock_sleep_ms(CS_POLL_MS);
        changed = cs_read_probe(s, &v) == 0 && v != first;
    }
    if (changed)
        cs_say(s, CS_PASS, "probe",
               "coord/probe, which the ambassador rewrites every %d ms, "
               "changed here within %.1f s: its writes reach this machine",
               CONFIG_DEFAULT_SHARE_POLL_MS, cs_ms_since(start) / 1000.0);
    else if (s->amb_answered)
        cs_say(s, CS_FAIL, "probe",
               "the ambassador answers but coord/probe did not change here "
               "in %.0f s: its writes do not reach this machine (a stale "
               "cache: drop nocto, actimeo, noac games; or the share hangs "
               "on the server)",
               CS_PROBE_WAIT_MS / 1000.0);
    else
        cs_say(s, CS_WARN, "probe",
               "coord/probe did not change in %.0f s: no ambassador is "
               "running on this share now (start it, or add --coordinator "
               "HOST:PORT to check the one you expect)",
               CS_PROBE_WAIT_MS / 1000.0);
}

/* ---- writing on the share ---- */

/* Write len bytes of byte b to path (created exclusively), fsync it unless
 * !sync, close it. *fsync_ms: the fsync's time. 0, or -1 + errno. */
static int
cs_write_file(const char *path, size_t len, unsigned char b, int sync,
              double *fsync_ms)
{
    unsigned char buf[CS_SMALL_FILE];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int e;
    uint64_t t;

    if (fd == -1)
        return -1;
    memset(buf, b, sizeof(buf));
    for (size_t done = 0; done < len; done += sizeof(buf))
        if (fdio_write_full(fd, buf,
                            len - done < sizeof(buf) ? len - done
                                                     : sizeof(buf)) == -1)
            goto fail;
    t = clock_now_us();
    if (sync && fsync(fd) == -1)
        goto fail;
    if (fsync_ms != NULL)
        *fsync_ms = cs_ms_since(t);
    return close(fd);
fail:
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

static int
cs_path(const struct cs *s, const char *name, char *out, size_t len)
{
    return fs_join(out, len, s->tmp, name);
}

static const char *
cs_write_advice(int e)
{
    switch (e) {
    case EROFS:
        return "it is read-only here: mount it rw (nfs-setup/client.sh) and "
               "export it rw (nfs-setup/server.sh)";
    case EACCES:
    case EPERM:
        return "this user may not write there: run nodes as the framefarm "
               "user (the systemd units do) and give the share to it on "
               "the server (nfs-setup/server.sh: chown, all_squash)";
    case ENOSPC:
    case EDQUOT:
        return "the share is full: make room";
    default:
        return "is the share healthy on its server?";
    }
}

/* Make the temporary directory. 0, or -1 (said). */
static int
cs_check_write(struct cs *s)
{
    char a[FS_PATH_MAX];
    struct passwd *pw = getpwuid(geteuid());

    if (fs_join(s->tmp, sizeof(s->tmp), s->dir, ".check-share-XXXXXX") == -1 ||
        mkdtemp(s->tmp) == NULL) {
        int e = errno;
        struct stat st;
        char owner[96] = "";
        if (stat(s->dir, &st) == 0)
            snprintf(owner, sizeof(owner), " (owner uid %u, mode %04o)",
                     (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        cs_say(s, CS_FAIL, "write",
               "cannot create a directory in %s%s as uid %u (%s): %s; %s. "
               "(fsync, rename, throughput, clock and owner not checked)",
               s->dir, owner, (unsigned)geteuid(),
               pw != NULL ? pw->pw_name : "?", strerror(e), cs_write_advice(e));
        s->tmp[0] = '\0';
        return -1;
    }
    if (cs_path(s, "a", a, sizeof(a)) == -1 ||
        cs_write_file(a, CS_SMALL_FILE, 'a', 0, NULL) == -1) {
        int e = errno;
        cs_say(s, CS_FAIL, "write", "cannot write a file in %s: %s; %s", s->tmp,
               strerror(e), cs_write_advice(e));
        return -1;
    }
    cs_say(s, CS_PASS, "write", "created a directory and a file in %s", s->dir);
    return 0;
}

static void
cs_check_fsync(struct cs *s)
{
    char f[FS_PATH_MAX];
    double file_ms = 0, dir_ms;
    uint64_t t;
    int rc;

    if (cs_path(s, "f", f, sizeof(f)) == -1 ||
        cs_write_file(f, CS_SMALL_FILE, 'f', 1, &file_ms) == -1) {
        cs_say(s, CS_FAIL, "fsync",
               "writing and fsyncing a file failed: %s; nodes fsync every "
               "lease renewal and result (is the share healthy on its "
               "server?)",
               strerror(errno));
        return;
    }
    t = clock_now_us();
    rc = fs_fsync_path(s->tmp);
    dir_ms = cs_ms_since(t);
    if (rc == -1)
        cs_say(s, CS_FAIL, "fsync", "fsync of a directory failed: %s",
               strerror(errno));
    else if (file_ms > CS_FSYNC_SLOW_MS || dir_ms > CS_FSYNC_SLOW_MS)
        cs_say(s, CS_WARN, "fsync",
               "slow: a file's fsync took %.0f ms, a directory's %.0f ms; "
               "nodes renew their leases (write + fsync) every %d ms and "
               "fence themselves after %d ms without one: is the export "
               "sync on a slow disk, or the link busy?",
               file_ms, dir_ms, CONFIG_DEFAULT_LEASE_RENEW_MS,
               CONFIG_DEFAULT_FENCE_MS);
    else
        cs_say(s, CS_PASS, "fsync",
               "a file's fsync %.1f ms, a directory's %.1f ms", file_ms,
               dir_ms);
}

/* The rename check's reader: opens the name over and over; every read
 * must find the file, whole, of one version. */
struct cs_reader {
    const char *path;
    atomic_int stop;
    atomic_long reads;
    long missing, torn;
    char first_bad[ERR_MAX];
};

static void *
cs_reader_run(void *arg)
{
    struct cs_reader *r = arg;
    unsigned char buf[CS_SMALL_FILE + 1];
    while (!atomic_load(&r->stop)) {
        int fd = open(r->path, O_RDONLY | O_CLOEXEC);
        ssize_t n;
        size_t got = 0;
        if (fd == -1) {
            r->missing++;
            if (r->first_bad[0] == '\0')
                snprintf(r->first_bad, sizeof(r->first_bad),
                         "open found no file (%s)", strerror(errno));
            continue;
        }
        while ((n = fdio_read_some(fd, buf + got, sizeof(buf) - got)) > 0)
            got += (size_t)n;
        close(fd);
        atomic_fetch_add(&r->reads, 1);
        for (size_t i = 1; i < got; i++)
            if (buf[i] != buf[0]) {
                got = 0;
                break;
            }
        if (got != CS_SMALL_FILE) {
            r->torn++;
            if (r->first_bad[0] == '\0')
                snprintf(r->first_bad, sizeof(r->first_bad), "a read found %s",
                         got == 0 ? "two versions mixed" : "a short file");
        }
    }
    return NULL;
}

static void
cs_check_rename(struct cs *s)
{
    char a[FS_PATH_MAX], t[FS_PATH_MAX];
    struct cs_reader r;
    pthread_t th;
    int k, bad = 0, e = 0;
    uint64_t deadline = clock_now_ms() + CS_RENAME_MS;
    long reads;

    memset(&r, 0, sizeof(r));
    if (cs_path(s, "a", a, sizeof(a)) == -1 ||
        cs_path(s, "t", t, sizeof(t)) == -1)
        return;
    r.path = a;
    if (pthread_create(&th, NULL, cs_reader_run, &r) != 0) {
        cs_say(s, CS_WARN, "rename", "no thread for the reader");
        return;
    }
    /* Replace a, as every writer of the share does (write a temporary,
     * rename it over the name), while the reader keeps opening it. */
    /* At least CS_RENAMES renames and as many reads among them (the
     * reader may start late), within CS_RENAME_MS. */
    for (k = 0;
         !bad && (k < CS_RENAMES || (atomic_load(&r.reads) < CS_RENAMES &&
                                     clock_now_ms() < deadline));
         k++) {
        unlink(t);
        if (cs_write_file(t, CS_SMALL_FILE, (unsigned char)('A' + k % 26), 0,
                          NULL) == -1 ||
            rename(t, a) == -1) {
            e = errno;
            bad = 1;
        }
    }
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    reads = atomic_load(&r.reads);
    if (bad)
        cs_say(s, CS_FAIL, "rename",
               "renaming a file over another failed: %s; framefarm "
               "publishes every file that way",
               strerror(e));
    else if (r.missing > 0 || r.torn > 0)
        cs_say(s, CS_FAIL, "rename",
               "not atomic here: of %ld opens while a file was replaced "
               "%d times by rename, %ld found no file and %ld a mixed or "
               "short one (first: %s). framefarm publishes every file by "
               "rename: use a filesystem whose rename is atomic (NFS, a "
               "local disk)",
               reads + r.missing, k, r.missing, r.torn, r.first_bad);
    else
        cs_say(s, CS_PASS, "rename",
               "a file replaced %d times by rename while it was read %ld "
               "times: every read found it whole",
               k, reads);
}

/* Throughput: write io_bytes (fsynced), drop this machine's cached copy,
 * read them back and compare. */
static void
cs_check_throughput(struct cs *s, const struct statvfs *vfs)
{
    char big[FS_PATH_MAX];
    unsigned char *buf = NULL, *in = NULL;
    size_t chunks = s->io_bytes / CS_MIB;
    double wms = 0, rms = 0, wmbps, rmbps;
    uint64_t t;
    int fd = -1, ok = 0;
    const char *what = "";
    uint64_t avail = (uint64_t)vfs->f_bavail * vfs->f_frsize;

    if (chunks == 0)
        return;
    if (avail <
        4 * (uint64_t)s->io_bytes + CONFIG_DEFAULT_SHARE_MIN_FREE_BYTES) {
        cs_say(s, CS_WARN, "throughput", "not measured: too little free space");
        return;
    }
    if (cs_path(s, "big", big, sizeof(big)) == -1 ||
        (buf = malloc(CS_MIB)) == NULL || (in = malloc(CS_MIB)) == NULL)
        goto out;
    t = clock_now_us();
    what = "write";
    fd = open(big, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd == -1)
        goto out;
    for (size_t c = 0; c < chunks; c++) {
        memset(buf, (int)(c * 7 + 1) & 0xff, CS_MIB);
        if (fdio_write_full(fd, buf, CS_MIB) == -1)
            goto out;
    }
    what = "fsync";
    if (fsync(fd) == -1)
        goto out;
    /* Clean pages can be dropped: the read below then crosses the link
     * (or reaches the disk) instead of this machine's cache. */
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    what = "close";
    if (close(fd) == -1) {
        fd = -1;
        goto out;
    }
    wms = cs_ms_since(t);
    t = clock_now_us();
    what = "read";
    if ((fd = open(big, O_RDONLY | O_CLOEXEC)) == -1)
        goto out;
    for (size_t c = 0; c < chunks; c++) {
        if (fdio_read_full(fd, in, CS_MIB) == -1)
            goto out;
        memset(buf, (int)(c * 7 + 1) & 0xff, CS_MIB);
        if (memcmp(buf, in, CS_MIB) != 0) {
            what = "compare";
            errno = EIO;
            goto out;
        }
    }
    rms = cs_ms_since(t);
    ok = 1;
out:
    if (fd != -1)
        close(fd);
    unlink(big);
    free(buf);
    free(in);
    if (!ok) {
        cs_say(s, CS_FAIL, "throughput", "%s of %zu MiB failed: %s%s", what,
               chunks,
               strcmp(what, "compare") == 0 ? "read back other bytes than "
                                              "were written: "
                                            : "",
               strerror(errno));
        return;
    }
    wmbps = (double)s->io_bytes / 1e6 / (wms / 1000.0 + 1e-9);
    rmbps = (double)s->io_bytes / 1e6 / (rms / 1000.0 + 1e-9);
    cs_say(s, wmbps < CS_SLOW_MBPS || rmbps < CS_SLOW_MBPS ? CS_WARN : CS_PASS,
           "throughput",
           "%zu MiB written (fsynced) at %.0f MB/s, read back at %.0f MB/s "
           "(this machine's cached copy dropped first)%s",
           chunks, wmbps, rmbps,
           wmbps < CS_SLOW_MBPS || rmbps < CS_SLOW_MBPS
               ? ": slow; every node reads its frames and writes its "
                 "mini-videos through this link (a 1 Gb/s link gives "
                 "~110 MB/s)"
               : "");
}

static void
cs_check_space(struct cs *s, const struct statvfs *vfs)
{
    uint64_t avail = (uint64_t)vfs->f_bavail * vfs->f_frsize;
    uint64_t total = (uint64_t)vfs->f_blocks * vfs->f_frsize;
    double gib = (double)avail / (double)(1ull << 30);

    if (avail < CONFIG_DEFAULT_SHARE_MIN_FREE_BYTES)
        cs_say(s, CS_FAIL, "space",
               "%.2f GiB free: below %llu MiB the ambassador hands out no "
               "work (share full); make room",
               gib,
               (unsigned long long)(CONFIG_DEFAULT_SHARE_MIN_FREE_BYTES >> 20));
    else if (avail < CS_LOW_FREE_BYTES)
        cs_say(s, CS_WARN, "space",
               "%.2f GiB free of %.1f GiB: a job needs about twice its zip "
               "(the zip, the mini-videos, the video when written there)",
               gib, (double)total / (double)(1ull << 30));
    else if (vfs->f_files != 0 && vfs->f_favail < CS_LOW_INODES)
        cs_say(s, CS_WARN, "space",
               "%.1f GiB free but only %llu inodes: every set writes files",
               gib, (unsigned long long)vfs->f_favail);
    else
        cs_say(s, CS_PASS, "space", "%.1f GiB free of %.1f GiB", gib,
               (double)total / (double)(1ull << 30));
}

/* The clock: a new file's mtime is set by the machine that holds the
 * share (the NFS server), compared with this machine's clock read just
 * before and after. */
static void
cs_check_clock(struct cs *s)
{
    char c[FS_PATH_MAX];
    struct timespec before, after;
    struct stat st;
    double b, a, m, off, unc;

    clock_gettime(CLOCK_REALTIME, &before);
    if (cs_path(s, "clock", c, sizeof(c)) == -1 ||
        cs_write_file(c, 1, 'c', 1, NULL) == -1 || stat(c, &st) == -1) {
        cs_say(s, CS_WARN, "clock", "not measured: %s", strerror(errno));
        return;
    }
    clock_gettime(CLOCK_REALTIME, &after);
    b = (double)before.tv_sec + (double)before.tv_nsec / 1e9;
    a = (double)after.tv_sec + (double)after.tv_nsec / 1e9;
    m = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
    off = m - (a + b) / 2;
    unc = (a - b) / 2;
    if (off < 0 ? -off * 1000 > CS_CLOCK_WARN_MS + unc * 1000
                : off * 1000 > CS_CLOCK_WARN_MS + unc * 1000)
        cs_say(s, CS_WARN, "clock",
               "the share's server's clock is %+.3f s from this machine's "
               "(a new file's mtime): leases never use it, but the logs of "
               "the machines will not line up and make/rsync get confused; "
               "run NTP (chrony) on every machine",
               off);
    else
        cs_say(s, CS_PASS, "clock",
               "the share's server's clock is %+.2f s from this machine's "
               "(a new file's mtime)%s",
               off,
               s->local ? "; a local filesystem: this machine's own clock"
                        : "");
}

static void
cs_check_owner(struct cs *s)
{
    char a[FS_PATH_MAX];
    struct stat st;
    uid_t me = geteuid();

    if (cs_path(s, "a", a, sizeof(a)) == -1 || stat(a, &st) == -1) {
        cs_say(s, CS_WARN, "owner", "not checked: %s", strerror(errno));
        return;
    }
    if (st.st_uid == CS_NOBODY_UID && me != CS_NOBODY_UID)
        cs_say(s, CS_WARN, "owner",
               "a file created here by uid %u shows owner %u (nobody)%s",
               (unsigned)me, (unsigned)st.st_uid,
               me == 0 ? ": root is squashed; run nodes (and this check) as "
                         "the framefarm user, as the systemd units do"
                       : ": NFSv4 maps the owner to nobody: give every "
                         "machine the same idmapd Domain (or numeric ids), "
                         "or squash everyone to the framefarm uid "
                         "(nfs-setup/server.sh)");
    else if (s->have_id && st.st_uid != s->id_uid)
        cs_say(s, CS_WARN, "owner",
               "files created here are owned by uid %u, the ambassador's "
               "(coord/share-id) by uid %u: the ambassador removes what "
               "nodes write (cancelled jobs, old attempts); give the "
               "framefarm user the same uid everywhere, or squash all to it "
               "(nfs-setup/server.sh --all-squash)",
               (unsigned)st.st_uid, (unsigned)s->id_uid);
    else if (st.st_uid != me)
        cs_say(s, CS_PASS, "owner",
               "files created here by uid %u are owned by uid %u (the export "
               "squashes to it)%s",
               (unsigned)me, (unsigned)st.st_uid,
               s->have_id ? ", as the ambassador's are" : "");
    else
        cs_say(s, CS_PASS, "owner",
               "files created here are owned by uid %u, as this process%s",
               (unsigned)st.st_uid,
               s->have_id ? " and the ambassador's files" : "");
}

static void
cs_cleanup(struct cs *s)
{
    static const char *const names[] = {"a", "t", "f", "big", "clock"};
    char p[FS_PATH_MAX];

    if (s->tmp[0] == '\0')
        return;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (cs_path(s, names[i], p, sizeof(p)) == 0)
            unlink(p);
    if (rmdir(s->tmp) == -1)
        cs_say(s, CS_WARN, "cleanup", "could not remove %s: %s", s->tmp,
               strerror(errno));
}

/* ---- the command ---- */

static const char check_share_usage[] =
    "usage: framefarm check-share DIR [--coordinator HOST:PORT]\n"
    "           [--secret FILE] [--io-mib N]\n"
    "Checks that a node can work on the share at DIR from this machine:\n"
    "it is mounted (not the directory underneath) with sound options, it\n"
    "is the ambassador's share (coord/share-id; with --coordinator the\n"
    "ambassador is asked which share it runs on), files the ambassador\n"
    "renames and writes are seen here, rename is atomic, fsync works, the\n"
    "write and read throughput (--io-mib N MiB, default 32; 0 skips it),\n"
    "free space, the share server's clock against this one, and who owns\n"
    "the files created here. Run it as the user the nodes run as.\n"
    "Each check prints PASS, WARN or FAIL, with what to change.\n"
    "Exit status: 0 nothing failed (warnings are advice), 1 a check\n"
    "failed, 2 bad usage.\n";

int
cli_check_share(int argc, char **argv)
{
    static const struct option opts[] = {
        {"coordinator", required_argument, NULL, 'C'},
        {"secret", required_argument, NULL, 'S'},
        {"io-mib", required_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cs s;
    struct statvfs vfs;
    struct stat st;
    int opt;
    long mib = CS_IO_MIB_DEFAULT;
    char *end;

    memset(&s, 0, sizeof(s));
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'C':
            s.coordinator = optarg;
            break;
        case 'S':
            s.secret = optarg;
            break;
        case 'I':
            errno = 0;
            mib = strtol(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || errno != 0 || mib < 0 ||
                mib > CS_IO_MIB_MAX) {
                fprintf(stderr, "framefarm check-share: --io-mib: 0..%d\n",
                        CS_IO_MIB_MAX);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'h':
            fputs(check_share_usage, stdout);
            return 0;
        default:
            fputs(check_share_usage, stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "framefarm check-share: which directory?\n%s",
                check_share_usage);
        return CLI_EXIT_USAGE;
    }
    if (s.secret != NULL && s.coordinator == NULL) {
        fprintf(stderr, "framefarm check-share: --secret goes with "
                        "--coordinator\n");
        return CLI_EXIT_USAGE;
    }
    s.dir = argv[optind];
    s.io_bytes = (size_t)mib * CS_MIB;
    if (stat(s.dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
        realpath(s.dir, s.real) == NULL) {
        const char *why = "not a directory";
        if (stat(s.dir, &st) == -1 || S_ISDIR(st.st_mode))
            why = strerror(errno);
        printf("FAIL %-10s %s: %s: create the mount point (mkdir -p %s) and "
               "mount the share there (nfs-setup/client.sh)\n",
               "directory", s.dir, why, s.dir);
        printf("check-share: 0 PASS, 0 WARN, 1 FAIL\n");
        return CS_EXIT_FAILED;
    }

    cs_check_mount(&s);
    cs_check_identity(&s);
    if (s.coordinator != NULL)
        cs_check_ambassador(&s);
    if (s.have_id && !s.amb_foreign) {
        cs_check_current(&s);
        cs_check_probe(&s);
    }
    if (cs_check_write(&s) == 0) {
        cs_check_fsync(&s);
        cs_check_rename(&s);
        if (statvfs(s.dir, &vfs) == 0)
            cs_check_throughput(&s, &vfs);
        cs_check_clock(&s);
        cs_check_owner(&s);
    }
    cs_cleanup(&s);
    if (statvfs(s.dir, &vfs) == 0)
        cs_check_space(&s, &vfs);
    else
        cs_say(&s, CS_FAIL, "space", "statvfs: %s", strerror(errno));
    printf("check-share: %d PASS, %d WARN, %d FAIL\n", s.counts[CS_PASS],
           s.counts[CS_WARN], s.counts[CS_FAIL]);
    return s.counts[CS_FAIL] > 0 ? CS_EXIT_FAILED : 0;
}
