/* The build driver: context in, Dockerfile parsed, stages run in order up
 * to the target (FROM resolution, meta ARGs, ONBUILD triggers), each step
 * committed as an image like docker's classic builder (history with
 * empty_layer markers), the cache consulted per step, progress in docker's
 * JSON stream, tags at the end, and cleanup whatever happens. */
#include "build/build-internal.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <ctype.h>
#include <inttypes.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *const proxy_args[] = { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                                          "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
                                          "ALL_PROXY",  "all_proxy",  NULL };

/* ------------------------------------------------------------- output -- */

static void
emit_json (struct builder *b, json_t *j)
{
  builder_emit_json (b, j);
}

void
builder_emit (struct builder *b, const char *fmt, ...)
{
  if (b->o->quiet)
    return;
  va_list ap;
  va_start (ap, fmt);
  _cleanup_free_ char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    abort ();
  va_end (ap);
  emit_json (b, json_pack ("{s:s}", "stream", s));
}

static const char *
short_id (const char *id)
{
  static __thread char buf[13];
  if (id == NULL)
    return "";
  if (str_has_prefix (id, "sha256:"))
    id += 7;
  snprintf (buf, sizeof buf, "%.12s", id);
  return buf;
}

/* ------------------------------------------------------------- config -- */

json_t *
stage_config (struct build_stage *st)
{
  json_t *c = json_object_get (st->img, "config");
  if (!json_is_object (c))
    {
      c = json_object ();
      json_object_set_new (st->img, "config", c);
    }
  return c;
}

static const char *
env_get (json_t *cfg, const char *name)
{
  size_t i;
  json_t *v;
  size_t n = strlen (name);
  json_array_foreach (json_object_get (cfg, "Env"), i, v)
    {
      const char *s = json_string_value (v);
      if (s && strncmp (s, name, n) == 0 && s[n] == '=')
        return s + n + 1;
    }
  return NULL;
}

const char *
stage_lookup (const char *name, void *data)
{
  struct build_stage *st = data;
  const char *v = env_get (stage_config (st), name);
  if (v)
    return v;
  for (size_t i = st->n_args; i-- > 0;)
    if (strcmp (st->args[i].name, name) == 0)
      return st->args[i].value;
  return NULL;
}

static int
strcmp_ptr (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

char **
stage_run_args (struct builder *b, struct build_stage *st)
{
  (void) b;
  char **v = calloc (1, sizeof (char *));
  if (v == NULL)
    abort ();
  json_t *cfg = stage_config (st);
  for (size_t i = 0; i < st->n_args; i++)
    {
      /* a later declaration of the same name wins; ENV hides an ARG */
      bool later = false;
      for (size_t k = i + 1; k < st->n_args; k++)
        later |= strcmp (st->args[k].name, st->args[i].name) == 0;
      if (later || st->args[i].value == NULL || env_get (cfg, st->args[i].name))
        continue;
      _cleanup_free_ char *kv = xasprintf ("%s=%s", st->args[i].name, st->args[i].value);
      strv_append (&v, kv);
    }
  /* predefined proxy args apply without a declaration, when given */
  for (const char *const *p = proxy_args; *p; p++)
    {
      json_t *val = json_object_get (b->o->build_args, *p);
      bool declared = false;
      for (size_t i = 0; i < st->n_args; i++)
        declared |= strcmp (st->args[i].name, *p) == 0;
      if (json_is_string (val) && !declared && !env_get (cfg, *p))
        {
          _cleanup_free_ char *kv = xasprintf ("%s=%s", *p, json_string_value (val));
          strv_append (&v, kv);
        }
    }
  qsort (v, strv_len (v), sizeof (char *), strcmp_ptr);
  return v;
}

/* docker's runConfig defaults, so inspect shows the same keys. */
static void
config_defaults (json_t *cfg)
{
  static const char *const strs[] = { "Hostname", "Domainname", "User", "WorkingDir", NULL };
  static const char *const bools[] = { "AttachStdin", "AttachStdout", "AttachStderr", "Tty",
                                       "OpenStdin", "StdinOnce", NULL };
  static const char *const nulls[] = { "Cmd", "Volumes", "Entrypoint", "OnBuild", "Labels", NULL };
  for (const char *const *k = strs; *k; k++)
    if (!json_object_get (cfg, *k))
      json_object_set_new (cfg, *k, json_string (""));
  for (const char *const *k = bools; *k; k++)
    if (!json_object_get (cfg, *k))
      json_object_set_new (cfg, *k, json_false ());
  for (const char *const *k = nulls; *k; k++)
    if (!json_object_get (cfg, *k))
      json_object_set_new (cfg, *k, json_null ());
  if (!json_is_array (json_object_get (cfg, "Env")))
    json_object_set_new (cfg, "Env", json_array ());
  /* docker's beginStage: a PATH when the image has none */
  if (env_get (cfg, "PATH") == NULL)
    json_array_append_new (json_object_get (cfg, "Env"), json_string (DEFAULT_PATH));
}

static json_t *
scratch_image (void)
{
  struct image_platform p;
  image_platform_host (&p);
  json_t *img = json_pack ("{s:s,s:s,s:{},s:{s:s,s:[]},s:[]}", "architecture", p.architecture, "os",
                           "linux", "config", "rootfs", "type", "layers", "diff_ids", "history");
  if (p.variant)
    json_object_set_new (img, "variant", json_string (p.variant));
  image_platform_clear (&p);
  return img;
}

/* ------------------------------------------------------------- stages -- */

static struct build_stage *
stage_by_name (struct builder *b, const char *name, size_t before)
{
  for (size_t i = 0; i < before && i < b->n_stages; i++)
    if (b->stages[i].name && strcasecmp (b->stages[i].name, name) == 0)
      return &b->stages[i];
  return NULL;
}

static int
resolve_image (struct builder *b, const char *name, bool pull, char **id, struct berth_error **err)
{
  struct berth_error *e = NULL;
  if (!pull && image_resolve (b->store, name, id, &e) == 0)
    return 0;
  if (e && e->kind != BERTH_E_NOT_FOUND)
    {
      *err = e;
      return -1;
    }
  berth_error_free (e);
  e = NULL;
  if (b->o->pull_fn == NULL)
    return berth_error_set_kind (err, BERTH_E_NOT_FOUND, 0, "pull access denied for %s, repository does not exist or may require 'docker login'", name);
  if (b->o->pull_fn (name, b->o->pull_data, &e) < 0)
    {
      /* --pull of an image that is local only: use the local one */
      if (pull && image_resolve (b->store, name, id, err) == 0)
        {
          berth_error_free (e);
          return 0;
        }
      *err = e;
      return -1;
    }
  return image_resolve (b->store, name, id, err);
}

int
builder_source_open (struct builder *b, const char *from, char **snap_id, int *rootfd,
                     char **image_id, struct berth_error **err)
{
  struct build_stage *self = builder_current_stage ();
  size_t cur = self ? self->index : b->n_stages;
  const char *id = NULL;
  _cleanup_free_ char *resolved = NULL;
  struct build_stage *src = stage_by_name (b, from, cur);
  char *end = NULL;
  unsigned long idx = strtoul (from, &end, 10);
  if (src == NULL && end && *end == '\0' && end != from)
    {
      if (idx >= cur)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid from flag value %s: refers to current build stage or later", from);
      src = &b->stages[idx];
    }
  if (src)
    {
      /* built on another thread: wait for it */
      if (builder_stage_wait (b, src, err) < 0)
        return berth_error_prefix (err, "COPY --from=%s", from);
      id = src->image_id;
    }
  else
    {
      if (resolve_image (b, from, false, &resolved, err) < 0)
        return berth_error_prefix (err, "COPY --from=%s", from);
      id = resolved;
    }
  *image_id = id ? xstrdup (id) : NULL;
  struct build_stage tmp = { .image_id = (char *) id };
  return builder_snapshot_open (b, &tmp, snap_id, NULL, rootfd, err);
}

static int
platform_check (const char *want, struct berth_error **err)
{
  if (want == NULL || want[0] == '\0')
    return 0;
  struct image_platform p = { 0 }, h = { 0 };
  if (image_platform_parse (want, &p, err) < 0)
    return -1;
  image_platform_host (&h);
  bool ok = strcmp (p.os, h.os) == 0 && strcmp (p.architecture, h.architecture) == 0;
  image_platform_clear (&p);
  image_platform_clear (&h);
  if (!ok)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "platform %s: only the host's platform can be built here", want);
  return 0;
}

static const char *
meta_lookup (const char *name, void *data)
{
  struct builder *b = data;
  for (size_t i = b->n_meta; i-- > 0;)
    if (strcmp (b->meta[i].name, name) == 0)
      return b->meta[i].value;
  return NULL;
}

static void
consume (struct builder *b, const char *name)
{
  builder_consume (b, name);
}

/* ARG in the global scope (before the first FROM). */
static int
meta_arg (struct builder *b, const struct df_instruction *inst, struct berth_error **err)
{
  for (char **w = inst->args; *w; w++)
    {
      _cleanup_free_ char *word = NULL;
      if (df_word_expand (*w, b->df->escape, meta_lookup, b, &word, err) < 0)
        return -1;
      char *eq = strchr (word, '=');
      if (eq)
        *eq = '\0';
      json_t *given = json_object_get (b->o->build_args, word);
      b->meta = realloc (b->meta, (b->n_meta + 1) * sizeof *b->meta);
      if (b->meta == NULL)
        abort ();
      b->meta[b->n_meta].name = xstrdup (word);
      b->meta[b->n_meta].value = json_is_string (given) ? xstrdup (json_string_value (given))
                                 : eq                   ? xstrdup (eq + 1)
                                                        : NULL;
      b->n_meta++;
      consume (b, word);
    }
  return 0;
}

static int run_triggers (struct builder *b, struct build_stage *st, struct berth_error **err);

static int
stage_from (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
            struct berth_error **err)
{
  if (platform_check (df_instruction_flag (inst, "platform", NULL), err) < 0)
    return -1;
  _cleanup_free_ char *base = NULL;
  if (df_word_expand (inst->args[0], b->df->escape, meta_lookup, b, &base, err) < 0)
    return -1;
  if (base[0] == '\0')
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "base name (%s) should not be blank", inst->args[0]);
  struct build_stage *prev = stage_by_name (b, base, st->index);
  if (strcasecmp (base, "scratch") == 0)
    {
      st->img = scratch_image ();
      st->image_id = NULL;
    }
  else if (prev)
    {
      if (builder_stage_wait (b, prev, err) < 0)
        return -1;
      if (prev->image_id)
        {
          if (builder_stage_load (b, st, prev->image_id, err) < 0)
            return -1;
        }
      else
        st->img = json_deep_copy (prev->img);
    }
  else
    {
      _cleanup_free_ char *id = NULL;
      if (resolve_image (b, base, b->o->pull, &id, err) < 0)
        return -1;
      if (builder_stage_load (b, st, id, err) < 0)
        return -1;
    }
  config_defaults (stage_config (st));
  builder_emit (b, " ---> %s\n", short_id (st->image_id));
  return run_triggers (b, st, err);
}

/* ONBUILD triggers of the base image run right after FROM, then are
 * cleared (docker does not inherit them further). */
static int
run_triggers (struct builder *b, struct build_stage *st, struct berth_error **err)
{
  json_t *cfg = stage_config (st);
  json_t *ob = json_object_get (cfg, "OnBuild");
  if (!json_is_array (ob) || json_array_size (ob) == 0)
    return 0;
  _cleanup_json_ json_t *triggers = json_incref (ob);
  json_object_set_new (cfg, "OnBuild", json_null ());
  size_t n = json_array_size (triggers);
  builder_emit (b, "# Executing %zu build trigger%s\n", n, n == 1 ? "" : "s");
  size_t i;
  json_t *t;
  json_array_foreach (triggers, i, t)
    {
      struct df_instruction inst;
      if (dockerfile_parse_line (json_string_value (t), b->df->escape, "ONBUILD", (unsigned) i + 1, &inst, err) < 0)
        return -1;
      if (inst.kind == DF_ONBUILD || inst.kind == DF_FROM || inst.kind == DF_MAINTAINER)
        {
          df_instruction_clear (&inst);
          return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s isn't allowed as an ONBUILD trigger", inst.name);
        }
      int r = step_dispatch (b, st, &inst, err);
      df_instruction_clear (&inst);
      if (r < 0)
        return -1;
    }
  return 0;
}

/* ----------------------------------------------------------- the build -- */

static int
split_stages (struct builder *b, struct berth_error **err)
{
  size_t n = 0;
  for (size_t i = 0; i < b->df->n_insts; i++)
    if (b->df->insts[i].kind == DF_FROM)
      n++;
  b->stages = calloc (n ? n : 1, sizeof *b->stages);
  if (b->stages == NULL)
    abort ();
  size_t s = 0;
  for (size_t i = 0; i < b->df->n_insts; i++)
    {
      if (b->df->insts[i].kind != DF_FROM)
        continue;
      struct build_stage *st = &b->stages[s];
      st->index = s;
      st->first = i;
      if (s > 0)
        b->stages[s - 1].end = i;
      const struct df_instruction *f = &b->df->insts[i];
      if (strv_len (f->args) == 3)
        {
          st->name = xstrdup (f->args[2]);
          for (char *p = st->name; *p; p++)
            *p = (char) tolower ((unsigned char) *p);
          for (size_t k = 0; k < s; k++)
            if (b->stages[k].name && strcmp (b->stages[k].name, st->name) == 0)
              return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s:%u: duplicate name %s", b->df->filename, f->line, st->name);
        }
      s++;
    }
  if (s > 0)
    b->stages[s - 1].end = b->df->n_insts;
  b->n_stages = b->n_stages_all = s;
  if (b->o->target && b->o->target[0])
    {
      struct build_stage *t = stage_by_name (b, b->o->target, b->n_stages);
      if (t == NULL)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "failed to reach build target %s in Dockerfile", b->o->target);
      b->n_stages = t->index + 1;
    }
  /* steps: every instruction up to the end of the last stage built */
  b->n_steps = b->stages[b->n_stages - 1].end;
  if (json_object_size (b->o->labels) > 0)
    b->n_steps++;
  return 0;
}

static int
label_step (struct builder *b, struct build_stage *st, struct berth_error **err)
{
  const char **keys = calloc (json_object_size (b->o->labels) + 1, sizeof (char *));
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach (b->o->labels, k, v)
    keys[n++] = k;
  qsort (keys, n, sizeof (char *), strcmp_ptr);
  _cleanup_free_ char *line = xstrdup ("LABEL");
  for (size_t i = 0; i < n; i++)
    {
      json_t *val = json_object_get (b->o->labels, keys[i]);
      char *nl = xasprintf ("%s \"%s\"='%s'", line, keys[i], json_is_string (val) ? json_string_value (val) : "");
      free (line);
      line = nl;
    }
  free (keys);
  struct df_instruction inst;
  if (dockerfile_parse_line (line, '\\', "--label", 1, &inst, err) < 0)
    return -1;
  builder_emit (b, "Step %zu/%zu : %s\n", b->n_steps, b->n_steps, line);
  int r = step_dispatch (b, st, &inst, err);
  df_instruction_clear (&inst);
  return r;
}

/* One stage, on its own thread (stages.c): its step numbers are its
 * instructions' places in the Dockerfile, as when stages run in order. */
static int
stage_run (struct builder *b, struct build_stage *st, struct berth_error **err)
{
  for (size_t i = st->first; i < st->end; i++)
    {
      if (builder_cancelled (b))
        return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "build cancelled");
      const struct df_instruction *inst = &b->df->insts[i];
      builder_emit (b, "Step %zu/%zu : %s\n", i + 1, b->n_steps, inst->original);
      uint64_t t_step = time_now_ns ();
      int r = i == st->first ? stage_from (b, st, inst, err) : step_dispatch (b, st, inst, err);
      berth_log (BERTH_LOG_DEBUG, "build: step %zu (%s) took %.1f ms", i + 1, inst->name,
                 (double) (time_now_ns () - t_step) / 1e6);
      if (r < 0)
        return -1;
    }
  if (st->index + 1 == b->n_stages && json_object_size (b->o->labels) > 0 && label_step (b, st, err) < 0)
    return -1;
  return 0;
}

static int
builder_run_all (struct builder *b, struct berth_error **err)
{
  for (size_t i = 0; i < b->stages[0].first; i++)
    {
      const struct df_instruction *inst = &b->df->insts[i];
      builder_emit (b, "Step %zu/%zu : %s\n", i + 1, b->n_steps, inst->original);
      if (meta_arg (b, inst, err) < 0)
        return -1;
    }
  if (builder_run_stages (b, stage_run, err) < 0)
    return -1;
  struct build_stage *last = &b->stages[b->n_stages - 1];
  /* a stage of only FROM (or only empty config) still needs an image */
  if (last->image_id == NULL)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "No image was generated. Is your Dockerfile empty?");
  return 0;
}

static void
warn_unused_args (struct builder *b)
{
  _cleanup_strv_ char **unused = calloc (1, sizeof (char *));
  const char *k;
  json_t *v;
  json_object_foreach (b->o->build_args, k, v)
    {
      bool proxy = false;
      for (const char *const *p = proxy_args; *p; p++)
        proxy |= strcmp (*p, k) == 0;
      if (!proxy && !strv_contains (b->consumed, k))
        strv_append (&unused, k);
    }
  if (unused[0] == NULL)
    return;
  qsort (unused, strv_len (unused), sizeof (char *), strcmp_ptr);
  _cleanup_free_ char *list = strv_join (unused, " ");
  builder_emit (b, "[Warning] One or more build-args [%s] were not consumed\n", list);
}

static void
builder_cleanup (struct builder *b)
{
  /* the receiver writes into the context: done before it goes */
  builder_receive_join (b);
  free (b->df_text);
  berth_error_free (b->recv_err);
  if (b->live_snapshot)
    builder_snapshot_drop (b, b->live_snapshot);
  for (size_t s = 0; b->stages && s < b->n_stages_all; s++)
    if (b->stages[s].live_snapshot)
      {
        builder_snapshot_drop (b, b->stages[s].live_snapshot);
        free (b->stages[s].live_snapshot);
        b->stages[s].live_snapshot = NULL;
      }
  if (b->ctxfd >= 0)
    close (b->ctxfd);
  if (b->tmpfd >= 0)
    close (b->tmpfd);
  if (b->cachefd >= 0)
    close (b->cachefd);
  context_index_release (&b->ctx);
  if (b->ctx_mounted && umount2 (b->ctx_path, MNT_DETACH) < 0)
    berth_log (BERTH_LOG_WARNING, "build: unmount %s: %s", b->ctx_path, strerror (errno));
  if (b->work_dir)
    {
      struct berth_error *e = NULL;
      if (fs_rm_rf_at (AT_FDCWD, b->work_dir, &e) < 0)
        {
          berth_log (BERTH_LOG_WARNING, "build: %s", e->msg);
          berth_error_free (e);
        }
    }
  free (b->work_dir);
  free (b->ctx_path);
  for (size_t i = 0; i < b->n_meta; i++)
    {
      free (b->meta[i].name);
      free (b->meta[i].value);
    }
  free (b->meta);
  for (size_t s = 0; b->stages && s < b->n_stages_all; s++)
    {
      struct build_stage *st = &b->stages[s];
      free (st->name);
      free (st->image_id);
      json_decref (st->img);
      json_decref (st->out);
      berth_error_free (st->err);
      free (st->live_snapshot);
      for (size_t i = 0; i < st->n_args; i++)
        {
          free (st->args[i].name);
          free (st->args[i].value);
        }
      free (st->args);
    }
  free (b->stages);
  strv_freep (&b->consumed);
  json_decref (b->cache_from);
  if (b->df)
    dockerfile_free (b->df);
  pthread_mutex_destroy (&b->lock);
  pthread_cond_destroy (&b->cond);
}

static int
build_tags_check (const struct build_options *o, struct berth_error **err)
{
  for (char **t = o->tags; t && *t; t++)
    {
      struct image_ref *ref = NULL;
      if (image_ref_parse (*t, IMAGE_REF_DEFAULT_TAG, &ref, err) < 0)
        return berth_error_prefix (err, "invalid tag \"%s\"", *t);
      image_ref_free (ref);
    }
  return 0;
}

int
build_run (struct image_store *store, int context_fd, const struct build_options *opts,
           char **image_id, struct berth_error **err)
{
  if (build_tags_check (opts, err) < 0 || platform_check (opts->platform, err) < 0)
    return -1;
  struct builder b = { .store = store, .o = opts, .ctxfd = -1, .tmpfd = -1, .cachefd = -1 };
  context_index_init (&b.ctx, -1);
  pthread_mutex_init (&b.lock, NULL);
  pthread_cond_init (&b.cond, NULL);
  b.consumed = calloc (1, sizeof (char *));
  char hex[SHA256_HEX_LEN + 1];
  random_id_hex (hex);
  b.work_dir = xasprintf ("%s/build/tmp/%.24s", image_store_root (store), hex);
  b.ctx_path = xasprintf ("%s/context", b.work_dir);
  int r = -1;
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  uint64_t t0 = time_now_ns ();
  if (fs_mkdir_p (b.ctx_path, 0700, err) < 0)
    goto out;
  /* The context's tree (sized files, data in the spool) lives in a tmpfs
   * of the build's own: creating and removing thousands of inodes there
   * costs nothing like a disk filesystem's allocation. Without the right
   * to mount, a plain directory does. */
  b.ctx_mounted = mount ("tmpfs", b.ctx_path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") == 0;
  b.ctxfd = open (b.ctx_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  b.tmpfd = open (b.work_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  b.ctx.tmpdirfd = b.tmpfd;
  if (b.ctxfd < 0 || b.tmpfd < 0)
    {
      berth_error_set (err, errno, "open %s", b.work_dir);
      goto out;
    }
  /* the context streams in on its own thread; the build starts as soon
   * as the Dockerfile arrived (receive.c) */
  if (builder_receive_start (&b, context_fd, err) < 0 || builder_dockerfile_wait (&b, &text, &len, err) < 0)
    goto out;
  {
    const char *name = opts->dockerfile && opts->dockerfile[0] ? opts->dockerfile : "Dockerfile";
    const char *slash = strrchr (name, '/');
    if (dockerfile_parse (text, len, slash ? slash + 1 : name, &b.df, err) < 0)
      goto out;
  }
  if (split_stages (&b, err) < 0)
    goto out;
  if (!opts->no_cache)
    {
      b.cachefd = cache_open (store, err);
      if (b.cachefd < 0)
        goto out;
    }
  for (char **c = opts->cache_from; c && *c; c++)
    {
      /* a --cache-from image that is not there is skipped, as docker does */
      _cleanup_free_ char *cid = NULL;
      json_t *cfg = NULL;
      struct berth_error *e = NULL;
      if (image_resolve (store, *c, &cid, &e) == 0 && image_config (store, cid, &cfg, &e) == 0)
        {
          if (b.cache_from == NULL)
            b.cache_from = json_array ();
          json_array_append_new (b.cache_from, cfg);
        }
      berth_error_free (e);
    }
  /* a build that never read the context still needs all of it (a cut
   * upload fails the build) */
  if (builder_run_all (&b, err) < 0 || builder_context_wait (&b, err) < 0)
    goto out;
  berth_log (BERTH_LOG_DEBUG, "build: done in %.1f ms", (double) (time_now_ns () - t0) / 1e6);
  warn_unused_args (&b);
  const char *id = b.stages[b.n_stages - 1].image_id;
  emit_json (&b, json_pack ("{s:{s:s}}", "aux", "ID", id));
  if (opts->quiet)
    emit_json (&b, json_pack ("{s:s+}", "stream", id, "\n"));
  builder_emit (&b, "Successfully built %s\n", short_id (id));
  for (char **t = opts->tags; t && *t; t++)
    {
      if (image_tag (store, id, *t, err) < 0)
        goto out;
      _cleanup_free_ char *fam = image_ref_familiarize (*t);
      struct image_ref *ref = NULL;
      struct berth_error *e = NULL;
      if (image_ref_parse (*t, IMAGE_REF_DEFAULT_TAG, &ref, &e) == 0)
        {
          _cleanup_free_ char *f = image_ref_familiar (ref);
          builder_emit (&b, "Successfully tagged %s\n", f);
          image_ref_free (ref);
        }
      berth_error_free (e);
    }
  *image_id = xstrdup (id);
  r = 0;
out:
  {
    uint64_t t_clean = time_now_ns ();
    builder_cleanup (&b);
    berth_log (BERTH_LOG_DEBUG, "build: tagged, cleaned up in %.1f ms (total %.1f ms)",
               (double) (time_now_ns () - t_clean) / 1e6, (double) (time_now_ns () - t0) / 1e6);
  }
  return r;
}
