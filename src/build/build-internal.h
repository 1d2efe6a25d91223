/* Private to src/build: the builder's state and the helpers its steps
 * share (context, copy, user lookup, RUN containers, commits, cache). */
#pragma once

#include "build/build.h"
#include "image/image.h"

/* ----------------------------------------------------------- cache.c -- */
int cache_open (struct image_store *store, struct berth_error **err);
/* Image id for key when the image still exists, else NULL. */
char *cache_lookup (int cachefd, struct image_store *store, const char *key);
void cache_store (int cachefd, const char *key, const char *image_id);

/* --------------------------------------------------------- context.c -- */
/* Extract a tar stream (any compression libarchive reads) under dirfd;
 * every entry is resolved inside dirfd. */
int context_extract (int in_fd, int dirfd, bool keep_owner, struct berth_error **err);
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
};
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
  const char *network;    /* "none", "host", default host */
  const char *runtime_path;
  const char *run_root;
  const int *cancelled;
  build_progress_fn progress;
  void *progress_data;
  bool quiet;
  /* --mount=type=tmpfs|cache|bind|secret specs (raw) */
  char **mounts;
  int context_fd;          /* for bind mounts from the context */
  const char *context_path;
  const char *cache_root;  /* <data-root>/build/mounts */
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
  bool done;
};

struct builder
{
  struct image_store *store;
  const struct build_options *o;
  struct dockerfile *df;
  int ctxfd;
  char *ctx_path;
  char *work_dir; /* <root>/build/tmp/<rand> */
  int tmpfd;      /* O_PATH of work_dir, for temp layer files */
  int cachefd;
  struct build_arg *meta;
  size_t n_meta;
  char **consumed; /* build-arg names some ARG declared */
  struct build_stage *stages;
  size_t n_stages;     /* built: up to the target */
  size_t n_stages_all; /* allocated */
  size_t step, n_steps;
  char *live_snapshot; /* the snapshot a step has open, removed on failure */
  int exit_code;       /* a failed RUN's code (errorDetail.code) */
};

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
/* The cache: a hit loads the image into the stage and prints "Using cache". */
bool builder_cache_try (struct builder *b, struct build_stage *st, const char *key);
void builder_cache_put (struct builder *b, const char *key, const char *image_id);
/* A snapshot of the stage's image, mounted: *rootfd (O_PATH) and *path. */
int builder_snapshot_open (struct builder *b, struct build_stage *st, char **id, char **path,
                           int *rootfd, struct berth_error **err);
/* Unmount, pack the upper dir as a layer, remove the snapshot. */
int builder_snapshot_commit (struct builder *b, const char *id, char **diff_id,
                             struct berth_error **err);
void builder_snapshot_drop (struct builder *b, const char *id);
/* Mount the image a COPY --from names (stage name, index, or image). */
int builder_source_open (struct builder *b, const char *from, char **snap_id, int *rootfd,
                         char **image_id, struct berth_error **err);

/* steps.c: one instruction of a stage. */
int step_dispatch (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
                   struct berth_error **err);
