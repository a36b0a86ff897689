/*
 * sharepath.h - the one place that knows the share's layout:
 *   jobs/<job>/                          a job's tree
 *   jobs/<job>/input.zip                 its frames (unless already on the
 * share) jobs/<job>/sets/<set>.json           one manifest per set
 *   jobs/<job>/out/<set>/<epoch>-<node>.mp4   one mini-video per attempt
 *   jobs/<job>/journal                   the ambassador's journal
 *   nodes/<node>/lease                   a node's lease (its only writer)
 *   coord/probe                          the ambassador's share probe
 *   coord/gen.<G>                        one per ambassador generation
 *   coord/current                        "HOST:PORT GENERATION"
 *   logs/                                `framefarm render`'s logs
 * Pure string building: no I/O, any thread.
 *
 * Every builder writes into out (len bytes) the path under share, or, with
 * share NULL, the path relative to the share's root (what manifests,
 * journal records and protocol messages carry). Job and node names must be
 * idents (common/ident.h: no '/', no "..", at most IDENT_MAX characters).
 * 0, or -1 with out emptied and errno EINVAL (a bad name, an empty share)
 * or ENAMETOOLONG (out is too small).
 */
#ifndef FF_SHAREPATH_H
#define FF_SHAREPATH_H

#include <stddef.h>
#include <stdint.h>

int sharepath_jobs_dir(const char *share, char *out, size_t len);
int sharepath_job_dir(const char *share, const char *job, char *out,
                      size_t len);
int sharepath_input_zip(const char *share, const char *job, char *out,
                        size_t len);
int sharepath_sets_dir(const char *share, const char *job, char *out,
                       size_t len);
int sharepath_manifest(const char *share, const char *job, uint32_t set,
                       char *out, size_t len);
int sharepath_out_dir(const char *share, const char *job, uint32_t set,
                      char *out, size_t len);
int sharepath_result(const char *share, const char *job, uint32_t set,
                     uint64_t epoch, const char *node, char *out, size_t len);
int sharepath_journal(const char *share, const char *job, char *out,
                      size_t len);
int sharepath_nodes_dir(const char *share, char *out, size_t len);
int sharepath_node_dir(const char *share, const char *node, char *out,
                       size_t len);
int sharepath_lease(const char *share, const char *node, char *out, size_t len);
int sharepath_coord_dir(const char *share, char *out, size_t len);
int sharepath_probe(const char *share, char *out, size_t len);
int sharepath_gen(const char *share, uint64_t gen, char *out, size_t len);
int sharepath_current(const char *share, char *out, size_t len);
int sharepath_logs_dir(const char *share, char *out, size_t len);

/* A name read from coord/: 1 with *gen when it is "gen.<G>" (G decimal
 * digits only, no overflow), else 0. */
int sharepath_gen_parse(const char *name, uint64_t *gen);

#endif
