/* Private to src/build: the builder's state and the helpers its steps
 * share (context, copy, user lookup, RUN containers, commits, cache). */
#pragma once

#include "build/build.h"
#include "image/image.h"

#include <pthread.h>
#include <sys/stat.h>

/* ----------------------------------------------------------- cache.c -- */
int cache_open (struct image_store *store, struct berth_error **err);
/* Image id for key when the image still exists, else NULL. */
char *cache_lookup (int cachefd, struct image_store *store, const char *key);
void cache_store (int cachefd, const char *key, const char *image_id);

/* --------------------------------------------------------- context.c -- */
/* The received context: every regular file of the context dir is created
 * at its size without data; its bytes wait in a spool (memory up to a
 * limit, then a temp file) with the sha256 taken as they streamed in, so
 * a cached step never touches them. Looked up by inode (hard links and
 * symlinks reach the same entry). A file without an entry is real. */
struct context_file
{
  dev_t dev;
  ino_t ino;
  size_t seq;         /* creation order: a reused inode number's last file wins */
  uint64_t off, size; /* in spool[spool] */
  int spool; /* SPOOL_*, -1 for an empty file */
  bool filled; /* the data was written to the file */
  char sum[SHA256_HEX_LEN + 1];
};
enum
{
  SPOOL_RAW_MEM,   /* the stream as it came: anonymous memory (no fd) … */
  SPOOL_RAW_DISK,  /* … then an O_TMPFILE in tmpdirfd, mapped */
  SPOOL_COPY_MEM,  /* data not in one piece there: a memfd … */
  SPOOL_COPY_DISK, /* … then an O_TMPFILE */
  SPOOL_N
};
struct context_index
{
  struct context_file *files; /* sorted by (dev, ino) once received */
  size_t n, cap;
  int spool[SPOOL_N];
  uint64_t spool_len[SPOOL_N];
  void *raw_map[2];
  uint64_t raw_map_size[2];
  bool raw_is_file; /* the input is not a pipe: read + write, no splice */
  pthread_mutex_t fill_lock; /* stages fill files concurrently */
  int tmpdirfd;     /* not owned; -1: memory only */
  /* the entry at capture_path (a regular file, its first occurrence, up
   * to 1 MiB) handed to capture_fn as it completes; capture_seen counts
   * the entries of that name */
  const char *capture_path;
  void (*capture_fn) (void *data, char *text, size_t len);
  void *capture_data;
  unsigned capture_seen;
  uint64_t raw_mem_max; /* memory for the stream before the temp file */
};
void context_index_init (struct context_index *ix, int tmpdirfd);
void context_index_free (struct context_index *ix);
/* Free, the spool's memory given back on a thread of its own. */
void context_index_release (struct context_index *ix);
/* Receive the client's tar stream (any compression libarchive reads)
 * under dirfd, every entry resolved inside dirfd. */
int context_receive (int in_fd, int dirfd, struct context_index *ix, struct berth_error **err);
/* Extract a tar (ADD of a local archive) under dirfd for real. */
int context_extract (int in_fd, int dirfd, bool keep_owner, struct berth_error **err);
/* context-index.c, for context.c: the stream into the raw spool (-1 with
 * errno 0: none, read into buf), where a piece of it is, the copy spool,
 * an entry, and the index sorted once all came in. */
ssize_t context_spool_read (struct context_index *ix, int fd, char *buf, size_t len,
                            const char **out);
bool context_spool_locate (const struct context_index *ix, const void *p, size_t n, int *which,
                           uint64_t *off);
int context_spool_copy_open (struct context_index *ix, uint64_t size, int *which,
                             struct berth_error **err);
int context_spool_write (struct context_index *ix, int which, const void *buf, size_t len,
                         struct berth_error **err);
void context_index_add (struct context_index *ix, const struct stat *st, int which, uint64_t off,
                        uint64_t size, const char *sum);
void context_index_seal (struct context_index *ix);
/* The content sha256 of a context file (its stat), NULL when not indexed. */
const char *context_index_sum (const struct context_index *ix, const struct stat *st);
/* Before reading a context file through fd: write its data (once). */
int context_index_fill (struct context_index *ix, int fd, struct berth_error **err);
/* Everything below fd (a file or a directory of the context). */
int context_index_fill_tree (struct context_index *ix, int fd, struct berth_error **err);
/* Copy a not yet filled file's data from the spool straight to out;
 * *done false: read the file itself. */
int context_index_copy (const struct context_index *ix, const struct stat *st, int out, bool *done,
                        struct berth_error **err);
/* Remove what .dockerignore excludes (walk below dirfd). keep: paths
 * never removed (NULL-terminated, may be NULL). */
int context_apply_ignore (int dirfd, const struct build_ignore *ig, struct berth_error **err);

/* ------------------------------------------------------------ user.c -- */
/* docker's user spec "name|uid[:group|gid]" against rootfd's /etc/passwd
 * and /etc/group; supplementary groups of a named user when with_groups. */
int user_resolve (int rootfd, const char *spec, uid_t *uid, gid_t *gid, gid_t **gids,
                  size_t *n_gids, struct berth_error **err);
/* --chown: "user[:group]" (a group alone for the user keeps the user's gid
 * only when given as name; numbers as is). */
int user_resolve_chown (int rootfd, const char *spec, uid_t *uid, gid_t *gid,
                        struct berth_error **err);

/* ------------------------------------------------------------ copy.c -- */
struct copy_request
{
  int src_rootfd;       /* context dir or a mounted image */
  char **sources;       /* expanded, as written (globs allowed) */
  const char *dest;     /* expanded, absolute (WORKDIR applied) */
  bool dest_is_dir;     /* dest ended with "/" */
  bool is_add;          /* ADD: auto-extract local tars */
  bool has_chown;
  uid_t uid;
  gid_t gid;
  bool has_chmod;
  mode_t chmod;
  /* heredoc files: names and contents (COPY <<EOF dst) */
  char **inline_names;
  char **inline_contents;
  const char *what; /* "COPY" or "ADD", for messages */
  struct context_index *ctx; /* when the sources are the context */
  char ***fetched_dirs; /* ADD <url>: dirs in the context to remove after */
};

/* ------------------------------------------------------------- url.c -- */
/* Fetch url into a new private dir of the context: *dir_out (to remove)
 * and *rel_out (the file, relative to the context). */
int url_fetch (const char *url, int ctx_dirfd, char **dir_out, char **rel_out,
               struct berth_error **err);
/* Resolve the sources (globs) to paths in src_rootfd; fails like docker
 * when nothing matches. *out: relative paths ("a/b.txt"). */
int copy_sources_resolve (const struct copy_request *req, char ***out, struct berth_error **err);
/* Checksum of what the sources hold (names, modes, sizes, contents,
 * link targets). */
char *copy_sources_checksum (int src_rootfd, char *const *paths, const struct copy_request *req,
                             struct berth_error **err);
/* Copy into dst_rootfd (a mounted snapshot), docker's rules. */
int copy_run (int dst_rootfd, char *const *paths, const struct copy_request *req,
              struct berth_error **err);

/* ------------------------------------------------------------- run.c -- */
struct run_request
{
  struct image_store *store;
  const char *snapshot_id;
  const char *rootfs;     /* mounted snapshot path */
  char **args;            /* process args */
  char **env;
  const char *cwd;
  const char *user;       /* config User */
  const char *network;    /* "none", "host", else a network ("default": the bridge) */
  int (*net_attach) (void *data, const char *network, const char *id, const char *netns_path,
                     char **resolv_conf, char **hosts, struct berth_error **err);
  void (*net_detach) (void *data, const char *network, const char *id);
  void *net_data;
  const char *runtime_path;
  const char *run_root;
  const int *cancelled;
  const int *stop; /* the build stopped (another stage failed) */
  build_progress_fn progress;
  void *progress_data;
  bool quiet;
  /* --mount=type=tmpfs|cache|bind|secret specs (raw) */
  char **mounts;
  int context_fd;          /* for bind mounts from the context */
  struct context_index *context_index;
  const char *context_path;
  const char *cache_root;  /* <data-root>/build/mounts */
  /* quiet builds: the output is kept here (up to 1 MiB, the end of it) so
   * a failure can still show it, as docker -q does */
  char **captured;
};
/* Run to completion; *exit_code is the process's exit status (128+n for
 * a signal). Output lines go to progress as {"stream": …}. */
int run_container (const struct run_request *req, int *exit_code, struct berth_error **err);

/* -------------------------------------------------------------- misc -- */
bool build_is_cancelled (const int *flag);

/* ------------------------------------------------- builder.c, steps.c -- */
struct build_arg
{
  char *name;
  char *value; /* NULL: declared without a value */
};

struct build_stage
{
  char *name; /* "AS name" (lowercase) or NULL */
  size_t index;
  size_t first, end; /* instructions [first, end) of df, first is the FROM */
  char *image_id;    /* current image, NULL for scratch before a commit */
  json_t *img;       /* the image config being built (full document) */
  struct build_arg *args;
  size_t n_args;
  bool cmd_set;
  bool done;     /* built (b->lock) */
  bool finished; /* done or failed (b->lock) */
  struct berth_error *err;
  size_t fail_seq;       /* the order it failed in, 1 first */
  char *live_snapshot;   /* the snapshot a step has open, removed on failure */
  json_t *out;           /* output held while an earlier stage streams */
  pthread_t thread;
  bool has_thread;
};

struct builder
{
  struct image_store *store;
  const struct build_options *o;
  struct dockerfile *df;
  int ctxfd;
  char *ctx_path;
  bool ctx_mounted; /* a tmpfs at ctx_path */
  char *work_dir; /* <root>/build/tmp/<rand> */
  int tmpfd;      /* O_PATH of work_dir, for temp layer files */
  int cachefd;
  struct build_arg *meta;
  size_t n_meta;
  char **consumed; /* build-arg names some ARG declared */
  struct build_stage *stages;
  size_t n_stages;     /* built: up to the target */
  size_t n_stages_all; /* allocated */
  size_t n_steps;
  struct context_index ctx;
  json_t *cache_from; /* configs of the --cache-from images */
  char *live_snapshot; /* outside a stage: the snapshot a step has open */
  int exit_code;       /* a failed RUN's code (errorDetail.code) */
  pthread_mutex_t lock; /* stages' state and output order, consumed */
  pthread_cond_t cond;  /* a stage finished */
  size_t head;          /* the stage whose output streams live */
  size_t n_failed;
  int stop;             /* __atomic: a stage failed, the others stop */
  /* receive.c (b->lock): the context arriving on its own thread */
  pthread_t receiver;
  bool receiving;
  bool recv_done;             /* all of it in, .dockerignore applied */
  struct berth_error *recv_err;
  char *df_text;              /* the Dockerfile, until the build takes it */
  size_t df_len;
  bool df_taken;
};

/* receive.c */
int builder_receive_start (struct builder *b, int context_fd, struct berth_error **err);
/* The Dockerfile's text, as soon as its entry arrived (or the error). */
int builder_dockerfile_wait (struct builder *b, char **text, size_t *len, struct berth_error **err);
/* Before reading the context: all of it arrived (or its error). */
int builder_context_wait (struct builder *b, struct berth_error **err);
void builder_receive_join (struct builder *b);

/* stages.c: stages on threads of their own, output in docker's order. */
typedef int (*builder_stage_fn) (struct builder *b, struct build_stage *st, struct berth_error **err);
int builder_run_stages (struct builder *b, builder_stage_fn fn, struct berth_error **err);
/* The stage this thread runs (NULL outside the stages). */
struct build_stage *builder_current_stage (void);
/* Wait until st was built; fails when it failed or the build stops. */
int builder_stage_wait (struct builder *b, struct build_stage *st, struct berth_error **err);
bool builder_cancelled (struct builder *b);
/* Output, held back while an earlier stage still streams. Steals j. */
void builder_emit_json (struct builder *b, json_t *j);
/* A build_progress_fn for RUN output (data: the builder). */
int builder_progress (json_t *msg, void *data);
/* A build-arg some ARG declared. */
void builder_consume (struct builder *b, const char *name);

void builder_emit (struct builder *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* The stage's run config (image config "config"), created when missing. */
json_t *stage_config (struct build_stage *st);
/* Variable lookup for substitution: ENV first, then ARGs in scope. */
const char *stage_lookup (const char *name, void *data);
/* "K=V" build args in effect for RUN (sorted); for the created_by prefix. */
char **stage_run_args (struct builder *b, struct build_stage *st);
/* Commit the stage's current config as a new image. diff_id NULL: an
 * empty_layer step. container_cmd: ContainerConfig.Cmd. */
int builder_commit (struct builder *b, struct build_stage *st, const char *created_by,
                    const char *diff_id, json_t *container_cmd, struct berth_error **err);
/* Load image id (its config) into the stage. */
int builder_stage_load (struct builder *b, struct build_stage *st, const char *id,
                        struct berth_error **err);
/* The cache: a hit loads the image into the stage and prints "Using cache".
 * After a miss of the local index, the --cache-from images are searched
 * for a step with the same history so far and the same created_by. */
bool builder_cache_try (struct builder *b, struct build_stage *st, const char *key,
                        const char *created_by);
void builder_cache_put (struct builder *b, const char *key, const char *image_id);
/* A snapshot of the stage's image, mounted: *rootfd (O_PATH) and *path. */
int builder_snapshot_open (struct builder *b, struct build_stage *st, char **id, char **path,
                           int *rootfd, struct berth_error **err);
/* Unmount, pack the upper dir as a layer, remove the snapshot. */
int builder_snapshot_commit (struct builder *b, const char *id, char **diff_id,
                             struct berth_error **err);
void builder_snapshot_drop (struct builder *b, const char *id);
/* Where the open snapshot of this thread's step is recorded. */
char **builder_live_snapshot (struct builder *b);
/* Mount the image a COPY --from names (stage name, index, or image). */
int builder_source_open (struct builder *b, const char *from, char **snap_id, int *rootfd,
                         char **image_id, struct berth_error **err);

/* steps.c: shared helpers of the steps. */
json_t *step_strv_json (char *const *v);
/* SHELL, or ["/bin/sh", "-c"]. */
json_t *step_shell (struct build_stage *st);
char *step_json_join (json_t *arr, const char *sep);
int step_expand (struct builder *b, struct build_stage *st, const char *w, char **out,
                 struct berth_error **err);
/* steps-config.c: the config-only instructions. */
int step_env_label (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
                    struct berth_error **err);
int step_healthcheck (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
                      struct berth_error **err);
int step_arg (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
              struct berth_error **err);
int step_simple (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
                 struct berth_error **err);
/* steps.c: one instruction of a stage. */
int step_dispatch (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
                   struct berth_error **err);
