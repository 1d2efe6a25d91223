/* The filesystem steps of a stage, as docker's classic builder does them:
 * RUN in a container over a snapshot, COPY/ADD into a snapshot, WORKDIR
 * creating its directory, and the dispatch of every instruction (the
 * config-only ones are in steps-config.c). Each step consults the cache. */
#include "build/build-internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ helpers -- */

json_t *
step_strv_json (char *const *v)
{
  json_t *a = json_array ();
  for (; v && *v; v++)
    json_array_append_new (a, json_string (*v));
  return a;
}

json_t *
step_shell (struct build_stage *st)
{
  json_t *sh = json_object_get (stage_config (st), "Shell");
  if (json_is_array (sh) && json_array_size (sh) > 0)
    return json_deep_copy (sh);
  return json_pack ("[s,s]", "/bin/sh", "-c");
}

char *
step_json_join (json_t *arr, const char *sep)
{
  _cleanup_strv_ char **v = calloc (1, sizeof (char *));
  size_t i;
  json_t *e;
  json_array_foreach (arr, i, e)
    strv_append (&v, json_string_value (e));
  return strv_join (v, sep);
}

/* A config-only step: cache, else commit with "#(nop) " + what (docker's
 * withCmdComment: two separate Cmd words, hence two spaces in created_by). */
int
step_expand (struct builder *b, struct build_stage *st, const char *w, char **out, struct berth_error **err)
{
  return df_word_expand (w, b->df->escape, stage_lookup, st, out, err);
}

/* --------------------------------------------------------------- paths -- */

/* path.Join(base, p) when p is relative, then cleaned. */
static char *
path_join_clean (const char *base, const char *p)
{
  _cleanup_free_ char *joined = p[0] == '/' ? xstrdup (p) : xasprintf ("%s/%s", base && base[0] ? base : "/", p);
  _cleanup_strv_ char **parts = strv_split (joined, '/');
  _cleanup_strv_ char **out = calloc (1, sizeof (char *));
  for (char **s = parts; *s; s++)
    {
      if ((*s)[0] == '\0' || strcmp (*s, ".") == 0)
        continue;
      if (strcmp (*s, "..") == 0)
        {
          size_t n = strv_len (out);
          if (n)
            {
              free (out[n - 1]);
              out[n - 1] = NULL;
            }
          continue;
        }
      strv_append (&out, *s);
    }
  _cleanup_free_ char *j = strv_join (out, "/");
  return xasprintf ("/%s", j);
}

static int
step_workdir (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
              struct berth_error **err)
{
  _cleanup_free_ char *v = NULL;
  if (step_expand (b, st, inst->args[0], &v, err) < 0)
    return -1;
  json_t *cfg = stage_config (st);
  const char *cur = json_string_value (json_object_get (cfg, "WorkingDir"));
  _cleanup_free_ char *dir = path_join_clean (cur, v);
  json_object_set_new (cfg, "WorkingDir", json_string (dir));
  /* docker's classic builder creates the directory in a container and
   * commits it as a layer (WORKDIR is not an empty_layer step) */
  _cleanup_json_ json_t *cmd = step_shell (st);
  json_array_append_new (cmd, json_sprintf ("#(nop) WORKDIR %s", dir));
  _cleanup_free_ char *created_by = step_json_join (cmd, " ");
  _cleanup_free_ char *cfgtext = json_dumps (cfg, JSON_COMPACT | JSON_SORT_KEYS);
  _cleanup_free_ char *key = build_cache_key (st->image_id, created_by, NULL, cfgtext);
  if (builder_cache_try (b, st, key, created_by))
    goto done;
  {
    _cleanup_free_ char *sid = NULL, *diff = NULL;
    _cleanup_close_ int rootfd = -1;
    if (builder_snapshot_open (b, st, &sid, NULL, &rootfd, err) < 0)
      return -1;
    _cleanup_close_ int d = fs_mkdir_p_in_root (rootfd, dir, 0755, err);
    int r = d < 0 ? -1 : builder_snapshot_commit (b, sid, &diff, err);
    builder_snapshot_drop (b, sid);
    if (r < 0 || builder_commit (b, st, created_by, diff, cmd, err) < 0)
      return -1;
    builder_cache_put (b, key, st->image_id);
  }
done:
  builder_emit (b, " ---> %.12s\n", st->image_id + 7);
  return 0;
}

/* ----------------------------------------------------------------- RUN -- */

/* --rm=false, or a failed RUN without --force-rm: the step's container
 * stays, as a container the daemon lists (exited with its code, over the
 * image it ran on, its changes in its root). Keeping is best effort: the
 * build's outcome does not depend on it. */
static void
run_keep_container (struct builder *b, const char *sid, const char *parent, char **argv, char **env,
                    const struct run_request *rq, int code)
{
  char tail[SHA256_HEX_LEN + 1];
  random_id_hex (tail);
  _cleanup_free_ char *id = xasprintf ("%.40s%.24s", sid + 6, tail);
  _cleanup_json_ json_t *body = json_pack ("{s:s,s:o,s:o,s:s,s:s,s:[],s:{s:s}}", "Image", parent, "Cmd",
                                           step_strv_json (argv), "Env", step_strv_json (env), "WorkingDir",
                                           rq->cwd ? rq->cwd : "", "User", rq->user ? rq->user : "",
                                           "Entrypoint", "HostConfig", "NetworkMode",
                                           rq->network && rq->network[0] ? rq->network : "default");
  struct berth_error *e = NULL;
  if (b->o->keep_container (b->o->keep_data, sid, id, body, code, &e) < 0)
    {
      berth_log (BERTH_LOG_WARNING, "build: keep intermediate container %.12s: %s", id, e->msg);
      berth_error_free (e);
    }
}

/* A --mount this builder cannot honour fails at its line, before anything
 * runs. Secrets and SSH agents reach a build only through BuildKit's
 * session: the classic API (POST /build) has no field for them and the
 * docker CLI without buildx has no --secret/--ssh flags; docker's classic
 * builder refuses every RUN --mount with "the --mount option requires
 * BuildKit". Running the step without the secret would succeed silently
 * with an empty file, so it is refused the same way, by name. */
static int
run_mount_check (struct builder *b, const struct df_instruction *inst, const char *spec,
                 bool *reads_context, struct berth_error **err)
{
  _cleanup_strv_ char **kv = strv_split (spec, ',');
  const char *type = "bind";
  for (char **p = kv; *p; p++)
    if (str_has_prefix (*p, "type="))
      type = *p + 5;
  if (strcmp (type, "secret") == 0 || strcmp (type, "ssh") == 0)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0,
                                 "%s:%u: RUN --mount=%s: the --mount=type=%s option requires BuildKit "
                                 "(the classic builder API has no %s). Refer to https://docs.docker.com/go/buildkit/ "
                                 "to learn how to build images with BuildKit enabled",
                                 b->df->filename, inst->line, spec, type,
                                 strcmp (type, "ssh") == 0 ? "SSH agent forwarding" : "build secrets");
  if (strcmp (type, "bind") && strcmp (type, "cache") && strcmp (type, "tmpfs"))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s:%u: RUN --mount=%s: unknown mount type %s (bind, cache and tmpfs are supported)",
                                 b->df->filename, inst->line, spec, type);
  *reads_context |= strcmp (type, "bind") == 0;
  return 0;
}

static int
step_run (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
          struct berth_error **err)
{
  json_t *cfg = stage_config (st);
  _cleanup_json_ json_t *cmd = NULL;
  if (inst->is_json)
    cmd = step_strv_json (inst->args);
  else
    {
      cmd = step_shell (st);
      const char *line = inst->args[0];
      _cleanup_free_ char *script = NULL;
      if (inst->n_heredocs == 1 && strncmp (line, "<<", 2) == 0 && strchr (line, ' ') == NULL)
        script = xstrdup (inst->heredocs[0].content); /* RUN <<EOF: the body is the script */
      else if (inst->n_heredocs > 0)
        {
          /* RUN cmd <<EOF: hand the shell its own heredocs */
          script = xasprintf ("%s\n", line);
          for (size_t i = 0; i < inst->n_heredocs; i++)
            {
              char *n = xasprintf ("%s%s%s\n", script, inst->heredocs[i].content, inst->heredocs[i].name);
              free (script);
              script = n;
            }
        }
      json_array_append_new (cmd, json_string (script ? script : line));
    }
  _cleanup_strv_ char **args = stage_run_args (b, st);
  /* docker's created_by: "|N K=V … " before the command when build args apply */
  _cleanup_json_ json_t *full = json_array ();
  if (args[0])
    {
      json_array_append_new (full, json_sprintf ("|%zu", strv_len (args)));
      for (char **a = args; *a; a++)
        json_array_append_new (full, json_string (*a));
    }
  json_array_extend (full, cmd);
  _cleanup_free_ char *created_by = step_json_join (full, " ");
  _cleanup_free_ char *cmdline = step_json_join (cmd, " ");
  bool has_security = false;
  const char *security = df_instruction_flag (inst, "security", &has_security);
  if (has_security && (security == NULL || strcmp (security, "sandbox") != 0))
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "RUN --security=%s is not supported (only sandbox)", security ? security : "");
  const char *net = df_instruction_flag (inst, "network", NULL);
  if (net == NULL)
    net = b->o->network_mode;
  _cleanup_strv_ char **mounts = calloc (1, sizeof (char *));
  bool reads_context = false;
  for (size_t i = 0; i < inst->n_flags; i++)
    if (strcmp (inst->flags[i].name, "mount") == 0 && inst->flags[i].value)
      {
        if (run_mount_check (b, inst, inst->flags[i].value, &reads_context, err) < 0)
          return -1;
        strv_append (&mounts, inst->flags[i].value);
      }
  _cleanup_free_ char *mounts_text = strv_join (mounts, "\n");
  _cleanup_free_ char *extra = xasprintf ("net=%s\nmounts=%s", net ? net : "", mounts_text);
  _cleanup_free_ char *key = build_cache_key (st->image_id, created_by, args, extra);
  if (builder_cache_try (b, st, key, created_by))
    goto done;
  /* a bind mount reads the context: all of it must have arrived */
  if (reads_context && builder_context_wait (b, err) < 0)
    return -1;
  {
    _cleanup_free_ char *sid = NULL, *path = NULL, *diff = NULL;
    _cleanup_close_ int rootfd = -1;
    if (builder_snapshot_open (b, st, &sid, &path, &rootfd, err) < 0)
      return -1;
    builder_emit (b, " ---> Running in %.12s\n", sid + 6);
    /* the process sees ENV plus the build args (ENV wins) */
    _cleanup_strv_ char **env = calloc (1, sizeof (char *));
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get (cfg, "Env"), i, e)
      strv_append (&env, json_string_value (e));
    for (char **a = args; *a; a++)
      strv_append (&env, *a);
    _cleanup_strv_ char **argv = calloc (1, sizeof (char *));
    json_array_foreach (cmd, i, e)
      strv_append (&argv, json_string_value (e));
    _cleanup_free_ char *cache_root = xasprintf ("%s/build/mounts", image_store_root (b->store));
    struct run_request rq = {
      .store = b->store,
      .snapshot_id = sid,
      .rootfs = path,
      .args = argv,
      .env = env,
      .cwd = json_string_value (json_object_get (cfg, "WorkingDir")),
      .user = json_string_value (json_object_get (cfg, "User")),
      .network = net,
      .net_attach = b->o->net_attach,
      .net_detach = b->o->net_detach,
      .net_data = b->o->net_data,
      .runtime_path = b->o->runtime_path,
      .run_root = b->o->run_root,
      .cancelled = b->o->cancelled,
      .stop = &b->stop,
      .progress = builder_progress,
      .progress_data = b,
      .quiet = b->o->quiet,
      .mounts = mounts,
      .context_fd = b->ctxfd,
      .context_index = &b->ctx,
      .context_path = b->ctx_path,
      .cache_root = cache_root,
    };
    _cleanup_free_ char *captured = NULL;
    if (b->o->quiet)
      rq.captured = &captured;
    int code = 0;
    _cleanup_free_ char *parent = st->image_id ? xstrdup (st->image_id) : NULL;
    int r = run_container (&rq, &code, err);
    bool ran = r == 0;
    /* docker keeps a failed RUN's container unless --force-rm, and every
     * one with --rm=false */
    bool keep = ran && parent && b->o->keep_container && !b->o->force_rm && (code != 0 || b->o->keep_intermediate);
    if (ran && code != 0 && !keep)
      builder_emit (b, "Removing intermediate container %.12s\n", sid + 6);
    if (r == 0 && code != 0)
      {
        /* -q hid the output: show it with the failure, as docker does */
        if (captured && captured[0])
          {
            json_t *t = json_string (captured);
            if (t)
              builder_emit_json (b, json_pack ("{s:o}", "stream", t));
          }
        if (b->o->run_exit_code)
          *b->o->run_exit_code = code;
        r = berth_error_set_kind (err, BERTH_E_INVALID, 0, "The command '%s' returned a non-zero code: %d", cmdline, code);
      }
    if (r == 0)
      r = builder_snapshot_commit (b, sid, &diff, err);
    if (keep)
      run_keep_container (b, sid, parent, argv, env, &rq, code);
    builder_snapshot_drop (b, sid);
    if (r < 0)
      return -1;
    if (!keep)
      builder_emit (b, "Removing intermediate container %.12s\n", sid + 6);
    if (builder_commit (b, st, created_by, diff, full, err) < 0)
      return -1;
    builder_cache_put (b, key, st->image_id);
  }
done:
  builder_emit (b, " ---> %.12s\n", st->image_id + 7);
  return 0;
}

/* ------------------------------------------------------------ COPY/ADD -- */

static int
step_copy (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
           struct berth_error **err)
{
  bool is_add = inst->kind == DF_ADD;
  _cleanup_strv_ char **words = calloc (1, sizeof (char *));
  _cleanup_strv_ char **inline_names = calloc (1, sizeof (char *));
  _cleanup_strv_ char **inline_contents = calloc (1, sizeof (char *));
  size_t n_args = strv_len (inst->args);
  for (size_t i = 0; i < n_args; i++)
    {
      const char *a = inst->args[i];
      /* a heredoc source "<<EOF" is a file named EOF with the body */
      if (i + 1 < n_args && !inst->is_json && strncmp (a, "<<", 2) == 0)
        {
          const char *nm = a + 2;
          if (*nm == '-')
            nm++;
          for (size_t h = 0; h < inst->n_heredocs; h++)
            {
              size_t nl = strlen (inst->heredocs[h].name);
              const char *q = nm;
              if (*q == '\'' || *q == '"')
                q++;
              if (strncmp (q, inst->heredocs[h].name, nl) == 0)
                {
                  _cleanup_free_ char *content = NULL;
                  if (inst->heredocs[h].expand)
                    {
                      if (df_heredoc_expand (inst->heredocs[h].content, b->df->escape, stage_lookup, st, &content, err) < 0)
                        return -1;
                    }
                  else
                    content = xstrdup (inst->heredocs[h].content);
                  strv_append (&inline_names, inst->heredocs[h].name);
                  strv_append (&inline_contents, content);
                  strv_append (&words, inst->heredocs[h].name);
                  break;
                }
            }
          continue;
        }
      _cleanup_free_ char *w = NULL;
      if (step_expand (b, st, a, &w, err) < 0)
        return -1;
      strv_append (&words, w);
    }
  size_t n = strv_len (words);
  if (n < 2)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s requires at least two arguments", inst->name);
  _cleanup_free_ char *dest_raw = xstrdup (words[n - 1]);
  json_t *cfg = stage_config (st);
  const char *wd = json_string_value (json_object_get (cfg, "WorkingDir"));
  _cleanup_free_ char *dest = path_join_clean (wd, dest_raw);
  size_t dl = strlen (dest_raw);
  bool dest_is_dir = (dl > 0 && dest_raw[dl - 1] == '/') || strcmp (dest_raw, ".") == 0
                     || (dl >= 2 && strcmp (dest_raw + dl - 2, "/.") == 0);
  free (words[n - 1]);
  words[n - 1] = NULL;

  /* flags the parser knows but this builder does not implement: refused,
   * never silently ignored (--link changes nothing here: every layer is
   * already its own diff) */
  static const char *const unsupported[] = { "parents", "exclude", "checksum", "keep-git-dir", NULL };
  for (const char *const *f = unsupported; *f; f++)
    {
      bool present = false;
      df_instruction_flag (inst, *f, &present);
      if (present)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s --%s is not supported by this builder", inst->name, *f);
    }
  const char *from = df_instruction_flag (inst, "from", NULL);
  const char *chown = df_instruction_flag (inst, "chown", NULL);
  const char *chmod = df_instruction_flag (inst, "chmod", NULL);
  _cleanup_free_ char *from_x = NULL, *chown_x = NULL;
  if (from && step_expand (b, st, from, &from_x, err) < 0)
    return -1;
  if (chown && step_expand (b, st, chown, &chown_x, err) < 0)
    return -1;
  if (is_add && from)
    return berth_error_set_kind (err, BERTH_E_INVALID, 0, "ADD does not support the --from flag");
  struct copy_request req = {
    .sources = words,
    .dest = dest,
    .dest_is_dir = dest_is_dir,
    .is_add = is_add,
    .inline_names = inline_names,
    .inline_contents = inline_contents,
    .what = inst->name,
    .src_rootfd = b->ctxfd,
    .ctx = &b->ctx,
  };
  _cleanup_strv_ char **fetched = calloc (1, sizeof (char *));
  req.fetched_dirs = &fetched;
  if (chmod)
    {
      char *end;
      unsigned long m = strtoul (chmod, &end, 8);
      if (*end || end == chmod || m > 07777)
        return berth_error_set_kind (err, BERTH_E_INVALID, 0, "invalid chmod parameter: %s", chmod);
      req.has_chmod = true;
      req.chmod = (mode_t) m;
    }
  _cleanup_free_ char *src_snap = NULL, *src_image = NULL;
  _cleanup_close_ int src_rootfd = -1;
  int r = -1;
  _cleanup_strv_ char **paths = NULL;
  _cleanup_free_ char *sum = NULL;
  if (from_x)
    {
      if (builder_source_open (b, from_x, &src_snap, &src_rootfd, &src_image, err) < 0)
        return -1;
      req.src_rootfd = src_rootfd;
      req.ctx = NULL;
      /* the snapshot is read only in practice; it must not count as
       * the step's live snapshot */
      char **live = builder_live_snapshot (b);
      free (*live);
      *live = NULL;
    }
  /* from the context: all of it must have arrived */
  if (from_x == NULL && builder_context_wait (b, err) < 0)
    goto out;
  if (copy_sources_resolve (&req, &paths, err) < 0)
    goto out;
  sum = copy_sources_checksum (req.src_rootfd, paths, &req, err);
  if (sum == NULL)
    goto out;
  {
    /* docker: "COPY file:<sum> in <dest> " (dir: for one directory, multi:) */
    const char *kind = "multi";
    if (strv_len (paths) + strv_len (inline_names) == 1)
      {
        kind = "file";
        if (paths[0])
          {
            struct berth_error *e = NULL;
            _cleanup_close_ int fd = fs_open_in_root (req.src_rootfd, paths[0], O_PATH, 0, &e);
            struct stat sb;
            if (fd >= 0 && fstat (fd, &sb) == 0 && S_ISDIR (sb.st_mode))
              kind = "dir";
            berth_error_free (e);
          }
      }
    /* moby: "%s %s%s in %s " with chownComment "--chown=x" glued to the
     * hash (no space), kept for identical created_by strings */
    _cleanup_free_ char *chown_c = chown_x ? xasprintf ("--chown=%s", chown_x) : xstrdup ("");
    /* the destination as written (docker shows "in . " too) */
    _cleanup_free_ char *what = xasprintf ("#(nop) %s %s%s:%s in %s ", inst->name, chown_c, kind, sum + 7, dest_raw);
    _cleanup_json_ json_t *cmd = step_shell (st);
    json_array_append_new (cmd, json_string (what));
    _cleanup_free_ char *created_by = step_json_join (cmd, " ");
    _cleanup_free_ char *flags = xasprintf ("from=%s chown=%s chmod=%s src=%s dest=%s", src_image ? src_image : "",
                                            chown_x ? chown_x : "", chmod ? chmod : "", from_x ? from_x : "", dest);
    _cleanup_free_ char *key = build_cache_key (st->image_id, created_by, NULL, flags);
    berth_log (BERTH_LOG_DEBUG, "build cache: %s key %s parent %s: %s | %s", inst->name, key,
               st->image_id ? st->image_id : "-", created_by, flags);
    if (builder_cache_try (b, st, key, created_by))
      {
        r = 0;
        goto out;
      }
    _cleanup_free_ char *sid = NULL, *diff = NULL;
    _cleanup_close_ int rootfd = -1;
    if (builder_snapshot_open (b, st, &sid, NULL, &rootfd, err) < 0)
      goto out;
    int cr = 0;
    if (chown_x)
      {
        req.has_chown = true;
        cr = user_resolve_chown (rootfd, chown_x, &req.uid, &req.gid, err);
      }
    if (cr == 0)
      cr = copy_run (rootfd, paths, &req, err);
    if (cr == 0)
      cr = builder_snapshot_commit (b, sid, &diff, err);
    builder_snapshot_drop (b, sid);
    if (cr < 0 || builder_commit (b, st, created_by, diff, cmd, err) < 0)
      goto out;
    builder_cache_put (b, key, st->image_id);
    r = 0;
  }
out:
  for (char **f = fetched; f && *f; f++)
    fs_rm_rf_at (b->ctxfd, *f, NULL);
  if (src_snap)
    {
      close (src_rootfd);
      src_rootfd = -1;
      builder_snapshot_drop (b, src_snap);
    }
  if (r == 0)
    builder_emit (b, " ---> %.12s\n", st->image_id + 7);
  return r;
}

/* ------------------------------------------------------------ dispatch -- */

int
step_dispatch (struct builder *b, struct build_stage *st, const struct df_instruction *inst,
               struct berth_error **err)
{
  switch (inst->kind)
    {
    case DF_RUN:
      return step_run (b, st, inst, err);
    case DF_COPY:
    case DF_ADD:
      return step_copy (b, st, inst, err);
    case DF_WORKDIR:
      return step_workdir (b, st, inst, err);
    case DF_ENV:
    case DF_LABEL:
      return step_env_label (b, st, inst, err);
    case DF_ARG:
      return step_arg (b, st, inst, err);
    case DF_HEALTHCHECK:
      return step_healthcheck (b, st, inst, err);
    case DF_FROM:
      return berth_error_set_kind (err, BERTH_E_INTERNAL, 0, "FROM inside a stage");
    default:
      return step_simple (b, st, inst, err);
    }
}
