/* berth build: the public header of src/build. The Dockerfile parser
 * (directives, continuations, heredocs, exec/shell forms, flags), docker's
 * shell-word expansion, .dockerignore patterns, and the builder that turns a
 * tar context + Dockerfile into images in the store, with a step cache. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

struct image_store;

/* ============================================================== parser == */

enum df_kind
{
  DF_ADD,
  DF_ARG,
  DF_CMD,
  DF_COPY,
  DF_ENTRYPOINT,
  DF_ENV,
  DF_EXPOSE,
  DF_FROM,
  DF_HEALTHCHECK,
  DF_LABEL,
  DF_MAINTAINER,
  DF_ONBUILD,
  DF_RUN,
  DF_SHELL,
  DF_STOPSIGNAL,
  DF_USER,
  DF_VOLUME,
  DF_WORKDIR,
};

struct df_heredoc
{
  char *name;    /* "EOF" */
  char *content; /* the body, ending with "\n" (unless empty) */
  bool expand;   /* the delimiter was not quoted: $VAR expands */
};

struct df_flag
{
  char *name;  /* "from" (without "--") */
  char *value; /* "builder"; NULL for a bare boolean "--link" */
};

struct df_instruction
{
  enum df_kind kind;
  const char *name;  /* "RUN" */
  char *original;    /* the instruction as written, continuations joined */
  unsigned line;     /* 1-based line of the instruction keyword */
  unsigned column;   /* 1-based column of the keyword */
  struct df_flag *flags;
  size_t n_flags;
  bool is_json; /* exec form ["a","b"] */
  /* The arguments after the flags, unexpanded (quotes kept):
   *   json form: the array's strings;
   *   RUN/CMD/ENTRYPOINT shell form, USER, WORKDIR, MAINTAINER, STOPSIGNAL:
   *     one string (the rest of the line);
   *   ENV, LABEL: key, value, key, value, …;
   *   FROM, ARG, COPY, ADD, EXPOSE, VOLUME: whitespace-separated words;
   *   HEALTHCHECK: "NONE", or "CMD" then the command as for CMD. */
  char **args;
  struct df_heredoc *heredocs;
  size_t n_heredocs;
  struct df_instruction *trigger; /* ONBUILD: the instruction it records */
};

struct dockerfile
{
  char *filename;
  char escape;  /* '\\' or '`' (the escape directive) */
  char *syntax; /* the syntax directive, or NULL */
  struct df_instruction *insts;
  size_t n_insts;
  char **warnings; /* e.g. empty continuation lines */
};

/* Parse a Dockerfile. Errors are BERTH_E_INVALID and read
 * "Dockerfile:3:5: unknown instruction: RNU" (filename:line:column). */
int dockerfile_parse (const char *text, size_t len, const char *filename, struct dockerfile **out,
                      struct berth_error **err);
/* Parse one instruction line (ONBUILD triggers at build time). */
int dockerfile_parse_line (const char *line, char escape, const char *filename, unsigned lineno,
                           struct df_instruction *out, struct berth_error **err);
void df_instruction_clear (struct df_instruction *inst);
void dockerfile_free (struct dockerfile *df);
static inline void
dockerfile_freep (struct dockerfile **df)
{
  if (*df)
    dockerfile_free (*df);
  *df = NULL;
}
#define _cleanup_dockerfile_ _cleanup_ (dockerfile_freep)
/* The value of --name, NULL when absent; *present tells a bare flag. */
const char *df_instruction_flag (const struct df_instruction *inst, const char *name,
                                 bool *present);

/* ======================================================= substitution == */

/* docker's shell lexer: variable lookup for substitution. Returns NULL when
 * the variable is unset. */
typedef const char *(*df_lookup_fn) (const char *name, void *data);

/* Process one word as docker does for ADD COPY ENV EXPOSE FROM LABEL
 * STOPSIGNAL USER VOLUME WORKDIR ARG: quotes removed ('…' literal, "…" with
 * $ expansion), the escape char escapes the next char, $VAR ${VAR}
 * ${VAR:-word} ${VAR-word} ${VAR:+word} ${VAR+word} ${VAR:?msg}. */
int df_word_expand (const char *word, char escape, df_lookup_fn lookup, void *data, char **out,
                    struct berth_error **err);
/* Same, then split into words at unquoted whitespace (EXPOSE, VOLUME,
 * COPY sources): "a 'b c'" -> ["a", "b c"]. */
int df_words_expand (const char *text, char escape, df_lookup_fn lookup, void *data, char ***out,
                     struct berth_error **err);

/* A heredoc body (COPY <<EOF with an unquoted delimiter): $ expansions
 * only, quotes kept. */
int df_heredoc_expand (const char *text, char escape, df_lookup_fn lookup, void *data, char **out,
                       struct berth_error **err);

/* ============================================================ ignore == */

/* .dockerignore: docker's patterns (moby/patternmatcher): each line cleaned
 * (filepath.Clean, leading "/" and "./" removed), '#' comments, '!'
 * exceptions (last match wins), filepath.Match syntax per segment plus
 * "**" for any number of segments; a pattern also matches everything
 * below a matched directory. */
struct build_ignore;
int build_ignore_parse (const char *text, size_t len, struct build_ignore **out,
                        struct berth_error **err);
/* path: relative to the context root, "/" separated, no leading "/". */
bool build_ignore_match (const struct build_ignore *ig, const char *path);
/* Could an exception re-include something below dir (then the walk must
 * descend even though dir itself is excluded)? */
bool build_ignore_has_exceptions (const struct build_ignore *ig);
void build_ignore_free (struct build_ignore *ig);

/* ============================================================ builder == */

/* Where the progress goes: one JSON object per call (docker's
 * {"stream": …}, {"aux": {"ID": …}}, {"errorDetail": …, "error": …}).
 * Steals msg. Return non-zero to cancel the build. */
typedef int (*build_progress_fn) (json_t *msg, void *data);

struct build_options
{
  const char *dockerfile; /* path in the context, default "Dockerfile" */
  char **tags;            /* -t, NULL-terminated or NULL */
  json_t *build_args;     /* {"X":"1"} (values may be null: taken from env = unset) */
  json_t *labels;         /* --label {"k":"v"} */
  const char *target;     /* --target stage */
  bool no_cache;
  char **cache_from;      /* --cache-from images (NULL-terminated or NULL) */
  bool pull;
  bool quiet;        /* -q: only the image id at the end */
  /* Intermediate containers, as docker's classic builder: a RUN's
   * container is removed after it succeeded unless keep_intermediate
   * (--rm=false); a failed one is kept unless force_rm. Kept ones become
   * containers (ps -a) through keep_container; without it all go. */
  bool keep_intermediate;
  bool force_rm;
  const char *network_mode; /* "default", "host", "none", "bridge" */
  const char *platform;     /* must be the host's */
  const char *runtime_path; /* berth-runtime binary (RUN steps) */
  const char *run_root;     /* state dir for build containers (runtime --root) */
  /* Pull an image that is not in the store (may be NULL: FROM fails). */
  int (*pull_fn) (const char *ref, void *data, struct berth_error **err);
  void *pull_data;
  build_progress_fn progress;
  void *progress_data;
  /* Asked once the context is in (may be NULL): true when the client went
   * away, so a body cut at an entry boundary is never built. */
  bool (*client_gone) (void *progress_data);
  /* RUN on a network other than host/none ("default" is the bridge), as
   * docker's classic builder does (may be NULL: such RUNs share the
   * host's network). Called on the build's thread: give the network
   * namespace at netns_path an endpoint on network for id; *resolv_conf
   * and *hosts get the container's /etc files. net_detach undoes it. */
  int (*net_attach) (void *data, const char *network, const char *id, const char *netns_path,
                     char **resolv_conf, char **hosts, struct berth_error **err);
  void (*net_detach) (void *data, const char *network, const char *id);
  void *net_data;
  /* Make the snapshot snapshot_id (unmounted, over body's Image) the root
   * of a new exited container id (64 hex) with body as POST
   * /containers/create's (Cmd, Env, WorkingDir, User, Entrypoint,
   * HostConfig.NetworkMode) and exit_code. Called on the build's thread;
   * on failure the snapshot is the caller's still (or gone). */
  int (*keep_container) (void *data, const char *snapshot_id, const char *id, json_t *body,
                         int exit_code, struct berth_error **err);
  void *keep_data;
  const int *cancelled; /* read atomically; non-zero cancels */
  int *run_exit_code;   /* out (optional): a failed RUN's exit code */
};

/* Run a build from a tar stream (plain, gzip, bzip2, xz) on context_fd.
 * *image_id gets "sha256:…". Every intermediate container and snapshot is
 * removed whatever happens; a failed or cancelled build records no tag. */
int build_run (struct image_store *store, int context_fd, const struct build_options *opts,
               char **image_id, struct berth_error **err);

/* The cache key of one step (exposed for unit tests): sha256 of the parent
 * image id, the instruction text (expanded), the build args in effect and
 * the content checksum of the files it reads (NULL when none). */
char *build_cache_key (const char *parent_id, const char *instruction, char *const *build_args,
                       const char *content_sum);

/* Remove what a builder killed mid-build left: build containers under
 * run_root/state (berth-runtime state root of RUN steps), their network
 * namespaces under run_root/netns, "build-*" snapshots, and
 * <data-root>/build/tmp. Call before serving builds. */
void build_sweep (struct image_store *store, const char *run_root);
