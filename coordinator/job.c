/*
 * job.c - see job.h.
 */
#include "coordinator/job.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fault.h"
#include "common/fdio.h"
#include "common/log.h"
#include "common/sharepath.h"
#include "media/setplan.h"

#define JOB_DIR_MODE 0755
#define JOB_FILE_MODE 0644
#define JOB_SIZES_MAX 16 /* distinct picture sizes counted */

void
job_free(struct job *j)
{
    if (j == NULL)
        return;
    zipf_listing_free(j->frames);
    free(j);
}

void
job_set_range(const struct job *j, uint32_t set, uint64_t *first,
              uint64_t *count)
{
    setplan_range(j->frames->count, j->set_size, j->tail_sets, set, first,
                  count);
}

struct manifest *
job_manifest(const struct job *j, uint32_t set, uint64_t epoch)
{
    struct manifest *m = manifest_new();
    uint64_t first, count;
    char name[ZIPF_NAME_MAX];

    if (m == NULL)
        return NULL;
    job_set_range(j, set, &first, &count);
    snprintf(m->job, sizeof(m->job), "%s", j->id);
    m->set = set;
    m->sets = j->nsets;
    m->epoch = epoch;
    m->first = first;
    m->total = j->frames->count;
    m->enc = j->enc;
    if (manifest_set_zip(m, j->zip_rel) == -1 ||
        manifest_alloc_frames(m, (size_t)count) == -1)
        goto fail;
    for (uint64_t i = 0; i < count; i++) {
        const struct zipf_frame *f = &j->frames->frames[first + i];
        if (manifest_set_frame(m, (size_t)i,
                               zipf_frame_name(j->frames, first + i, name),
                               f->size, f->crc) == -1)
            goto fail;
        if (j->enc.timing == ENC_TIMING_TIMESTAMPS)
            m->frames[i].pts = zipf_frame_ts(j->frames, first + i) -
                               zipf_frame_ts(j->frames, 0);
    }
    return m;
fail:
    manifest_free(m);
    return NULL;
}

int
job_result_rel(const struct job *j, uint32_t set, uint64_t epoch,
               const char *node, char *out, size_t outlen)
{
    return sharepath_result(NULL, j->id, set, epoch, node, out, outlen);
}

int
job_journal_path(const struct job *j, char *out, size_t outlen)
{
    return sharepath_journal(j->share, j->id, out, outlen);
}

/* Put the zip where nodes can read it: its path inside the share, or a
 * copy in the job's tree. */
static int
job_place_zip(struct job *j, const char *input, char *err, size_t errlen)
{
    char dst[FS_PATH_MAX];
    int r = fs_path_under(j->share, input, j->zip_rel, sizeof(j->zip_rel));

    if (r == 1)
        return 0;
    if (r == -1) {
        errf(err, errlen, "%s: %s", input, strerror(errno));
        return -1;
    }
    if (sharepath_input_zip(NULL, j->id, j->zip_rel, sizeof(j->zip_rel)) ==
            -1 ||
        fs_join(dst, sizeof(dst), j->share, j->zip_rel) == -1 ||
        fs_link_or_copy(input, dst) == -1) {
        errf(err, errlen, "copying %s to the share: %s", input,
             strerror(errno));
        return -1;
    }
    return 0;
}

/* The picture size most frames share (the earliest one's on a tie, and
 * when more than JOB_SIZES_MAX sizes occur, among the first of them);
 * the frames of other sizes are counted and logged. Then --size (req),
 * when given, decides the video's size from it. 0, or -1 with err. */
static int
job_pick_size(struct job *j, const struct enc_size *req, char *err,
              size_t errlen)
{
    struct {
        int w, h;
        size_t n, first;
    } sizes[JOB_SIZES_MAX];
    size_t nsizes = 0, best = 0, odd;
    const struct zipf_frame *f = j->frames->frames;
    char name[ZIPF_NAME_MAX];

    for (size_t i = 0; i < j->frames->count; i++) {
        size_t k = 0;
        while (k < nsizes &&
               (sizes[k].w != f[i].width || sizes[k].h != f[i].height))
            k++;
        if (k == nsizes) {
            if (nsizes == JOB_SIZES_MAX)
                continue;
            sizes[k].w = f[i].width;
            sizes[k].h = f[i].height;
            sizes[k].n = 0;
            sizes[k].first = i;
            nsizes++;
        }
        sizes[k].n++;
    }
    for (size_t k = 1; k < nsizes; k++)
        if (sizes[k].n > sizes[best].n)
            best = k;
    if (encparams_fit_size(req, sizes[best].w, sizes[best].h, &j->enc.width,
                           &j->enc.height, err, errlen) == -1)
        return -1;
    if (req->w != 0 || req->h != 0)
        log_info("job %s: frames of %dx%d are scaled to %dx%d (--size)", j->id,
                 sizes[best].w, sizes[best].h, j->enc.width, j->enc.height);
    odd = j->frames->count - sizes[best].n;
    if (odd > 0) {
        size_t first = best == 0 ? sizes[1].first : sizes[0].first;
        log_warnx("job %s: %zu of %zu frames are not %dx%d (the first: %s, "
                  "%dx%d); they are scaled to it",
                  j->id, odd, j->frames->count, sizes[best].w, sizes[best].h,
                  zipf_frame_name(j->frames, first, name), f[first].width,
                  f[first].height);
    }
    return 0;
}

/* --timing timestamps needs every frame's capture time, each its own, and
 * a span the manifest can carry. 0, or -1 with err. */
static int
job_check_timing(const struct job *j, const char *input, char *err,
                 size_t errlen)
{
    const struct zipf_listing *l = j->frames;
    uint64_t span, prev, ts;
    char name[ZIPF_NAME_MAX], other[ZIPF_NAME_MAX];

    if (j->enc.timing != ENC_TIMING_TIMESTAMPS)
        return 0;
    if (!l->by_timestamp) {
        errf(err, errlen,
             "--timing timestamps: the frame names in %s carry no capture "
             "times (nuScenes names end in __<microseconds>.jpg; \"%.200s\" "
             "does not); use --timing fps",
             input, zipf_frame_name(l, 0, name));
        return -1;
    }
    prev = zipf_frame_ts(l, 0);
    for (size_t i = 1; i < l->count; i++, prev = ts) {
        ts = zipf_frame_ts(l, i);
        if (ts == prev) {
            errf(err, errlen,
                 "--timing timestamps: \"%.150s\" and \"%.150s\" have the "
                 "same capture time",
                 zipf_frame_name(l, i - 1, other), zipf_frame_name(l, i, name));
            return -1;
        }
    }
    span = zipf_frame_ts(l, l->count - 1) - zipf_frame_ts(l, 0);
    if (span > MANIFEST_MAX_PTS) {
        errf(err, errlen,
             "--timing timestamps: the frames span %llu us, over %llu",
             (unsigned long long)span, (unsigned long long)MANIFEST_MAX_PTS);
        return -1;
    }
    return 0;
}

/* Writes text to path by a temp file and a rename, so a reader never sees
 * part of it, without fsync: the manifest is for audit (nodes get theirs
 * inside the assign), and an fsync a set, among the journal's, made
 * dispatch four times slower. A crash may leave it empty; it is kept then
 * (job_set_files does not rewrite a manifest that is there). 0, or -1 +
 * errno. */
static int
job_write_audit(const char *path, const char *text)
{
    char tmp[FS_PATH_MAX];
    int fd, rc = -1, saved;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >=
        (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, JOB_FILE_MODE);
    if (fd == -1)
        return -1;
    if (fdio_write_full(fd, text, strlen(text)) == 0 && close(fd) == 0) {
        fd = -1;
        rc = rename(tmp, path);
    }
    saved = errno;
    if (fd != -1)
        close(fd);
    if (rc == -1)
        unlink(tmp);
    errno = saved;
    return rc;
}

static atomic_int job_fault_fired; /* FRAMEFARM_FAULT_SET_FILES: once */

int
job_set_files(const struct job *j, uint32_t set)
{
    char path[FS_PATH_MAX];

    if (fault_set_files() == (long)set &&
        !atomic_exchange(&job_fault_fired, 1)) {
        errno = EIO; /* test hook: the share refuses this set's folder once */
        return -1;
    }
    if (sharepath_out_dir(j->share, j->id, set, path, sizeof(path)) == -1)
        return -1;
    return fs_mkdir_p(path, JOB_DIR_MODE);
}

char *
job_set_manifest(const struct job *j, uint32_t set, char *path, size_t pathlen)
{
    struct manifest *m;
    char *text;

    if (sharepath_manifest(j->share, j->id, set, path, pathlen) == -1)
        return NULL;
    m = job_manifest(j, set, 0);
    text = m != NULL ? manifest_to_text(m) : NULL;
    manifest_free(m);
    return text;
}

int
job_write_manifest(const char *path, const char *text)
{
    struct stat st;
    if (stat(path, &st) == 0)
        return 0; /* written by an earlier run of this job */
    return job_write_audit(path, text);
}

int
job_prepare(const struct coord_config *cfg, struct job **out, char *err,
            size_t errlen)
{
    struct job *j = calloc(1, sizeof(*j));
    char dir[FS_PATH_MAX], what[ERR_MAX], tail[96] = "";
    struct stat st;
    uint64_t nsets, cut, first, last, big, small;
    int rc = -1;

    if (j == NULL) {
        errf(err, errlen, "out of memory");
        goto out;
    }
    snprintf(j->id, sizeof(j->id), "%s", cfg->job);
    snprintf(j->share, sizeof(j->share), "%s", cfg->share);
    snprintf(j->output, sizeof(j->output), "%s", cfg->output);
    j->epoch_base = cfg->job_seq << JOB_EPOCH_SHIFT;
    j->set_size = cfg->set_size;
    j->tail_sets = cfg->tail_sets;
    j->enc = cfg->enc;
    if (stat(cfg->share, &st) == -1 || !S_ISDIR(st.st_mode)) {
        errf(err, errlen, "share %s is not a directory", cfg->share);
        goto out;
    }
    /* Validate the input completely before writing anything. */
    if (zipf_list(cfg->input, &cfg->limits, &j->frames, err, errlen) == -1) {
        if (zipf_io_error() != 0) {
            size_t n = strlen(err);
            snprintf(err + n, errlen > n ? errlen - n : 0,
                     " (reading it failed, not its content: the share? "
                     "try again)");
            rc = -2;
        }
        goto out;
    }
    /* What was taken and skipped: for the log, and on stdout for whoever
     * runs the job (framefarm render shows it). */
    zipf_describe(j->frames, what, sizeof(what));
    log_info("job %s: %s: %s", j->id, cfg->input, what);
    printf("input: %s: %s\n", cfg->input, what);
    fflush(stdout);
    if (job_check_timing(j, cfg->input, err, errlen) == -1)
        goto out;
    if (zipf_fingerprint(j->frames, j->input_sha) == -1) {
        errf(err, errlen, "out of memory");
        goto out;
    }
    /* Listing freed libzip's directory (a few hundred bytes an entry) in
     * small pieces among ones that stay: give those pages back, or they
     * stay resident for the job's life (~180 bytes a frame). */
    malloc_trim(0);
    nsets = setplan_sets(j->frames->count, j->set_size, j->tail_sets);
    j->nsets = nsets > UINT32_MAX ? UINT32_MAX : (uint32_t)nsets;
    if (j->nsets > cfg->max_sets) {
        errf(err, errlen,
             "%zu frames make %u sets, over %u (max_sets): raise "
             "--set-size",
             j->frames->count, j->nsets, cfg->max_sets);
        goto out;
    }
    /* The job's size is the one most frames have (a thumbnail first in
     * time must not shrink the video), rounded down to even (4:2:0);
     * nodes scale any frame that differs. */
    if (job_pick_size(j, &cfg->size, err, errlen) == -1 ||
        encparams_check(&j->enc, err, errlen) == -1)
        goto out;
    if (sharepath_job_dir(j->share, j->id, dir, sizeof(dir)) == -1) {
        errf(err, errlen, "job path too long");
        goto out;
    }
    if (stat(dir, &st) == 0) {
        char jpath[FS_PATH_MAX], zpath[FS_PATH_MAX];
        if (job_journal_path(j, jpath, sizeof(jpath)) == -1 ||
            stat(jpath, &st) == -1) {
            errf(err, errlen,
                 "job \"%s\" exists on the share (%s) without a journal: "
                 "choose another --job or remove it",
                 j->id, dir);
            goto out;
        }
        /* Resume: the frames come from the zip the first run placed. */
        if (sharepath_input_zip(NULL, j->id, j->zip_rel, sizeof(j->zip_rel)) ==
                -1 ||
            fs_join(zpath, sizeof(zpath), j->share, j->zip_rel) == -1 ||
            stat(zpath, &st) == -1) {
            if (fs_path_under(j->share, cfg->input, j->zip_rel,
                              sizeof(j->zip_rel)) != 1) {
                errf(err, errlen, "job \"%s\": its zip is not on the share",
                     j->id);
                goto out;
            }
        }
        j->resumed = 1;
        log_info("job %s: resuming from its journal", j->id);
        *out = j;
        j = NULL;
        rc = 0;
        goto out;
    }
    if (fs_mkdir_p(dir, JOB_DIR_MODE) == -1 ||
        sharepath_sets_dir(j->share, j->id, dir, sizeof(dir)) == -1 ||
        fs_mkdir_p(dir, JOB_DIR_MODE) == -1) {
        errf(err, errlen, "creating %s: %s", dir, strerror(errno));
        goto out;
    }
    /* No folder or manifest per set here: each set's are made when it
     * is first dispatched (job_set_files). */
    if (job_place_zip(j, cfg->input, err, errlen) == -1)
        goto out;
    /* A cut last set: "; the last 18 frames in 4 sets of 4 to 5". */
    cut = j->nsets + 1 - setplan_sets(j->frames->count, j->set_size, 0);
    if (cut > 1) {
        setplan_range(j->frames->count, j->set_size, j->tail_sets,
                      j->nsets - cut, &first, &big);
        setplan_range(j->frames->count, j->set_size, j->tail_sets, j->nsets - 1,
                      &last, &small);
        snprintf(tail, sizeof(tail),
                 "; the last %llu frames in %llu sets of %llu to %llu",
                 (unsigned long long)(j->frames->count - first),
                 (unsigned long long)cut, (unsigned long long)small,
                 (unsigned long long)big);
    }
    log_info("job %s: %zu frames of %s, %u sets of up to %u%s, %dx%d, "
             "timing %s",
             j->id, j->frames->count,
             j->frames->camera[0] != '\0' ? j->frames->camera : "the zip",
             j->nsets, j->set_size, tail, j->enc.width, j->enc.height,
             encparams_timing_name(j->enc.timing));
    *out = j;
    j = NULL;
    rc = 0;
out:
    job_free(j);
    return rc;
}
