/* berth-image-tool: an internal test driver of the image library, for the
 * integration tests only (not installed, not a user-facing path: users reach
 * the store through berthd). One subcommand per library entry point. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "image/image.h"

static int
fail (struct berth_error *err)
{
  fprintf (stderr, "berth-image-tool: %s\n", err ? err->msg : "failed");
  int code = err && err->kind == BERTH_E_NOT_FOUND  ? 2
             : err && err->kind == BERTH_E_CONFLICT ? 3
                                                    : 1;
  berth_error_free (err);
  return code;
}

static int
usage (void)
{
  fprintf (stderr,
           "usage: berth-image-tool [--root DIR] [--wait] COMMAND ...\n"
           "  unpack FILE [DIGEST [MEDIATYPE]]   import FILE|- [REF] [MESSAGE] [CHANGES-JSON]\n"
           "  load FILE|-   save OUT NAME...   export DIR OUT   ls   inspect NAME   history NAME\n"
           "  resolve NAME   tag SRC TARGET   rm [-f] NAME   prune [-a]   gc   check\n"
           "  blob-put FILE   add CONFIG-DIGEST [MANIFEST-DIGEST] [REF]\n"
           "  snapshot-create ID IMAGE|-   snapshot-mount ID [TARGET]   snapshot-unmount ID\n"
           "  snapshot-remove ID   snapshot-changes ID   snapshot-diff ID OUT   commit ID [REF]\n"
           "  manifest FILE [PLATFORM]\n");
  return 64;
}

static int
open_in (const char *path)
{
  return strcmp (path, "-") == 0 ? dup (0) : open (path, O_RDONLY | O_CLOEXEC);
}

static int
open_out (const char *path)
{
  return strcmp (path, "-") == 0 ? dup (1)
                                 : open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

static void
print_json (json_t *j)
{
  char *s = json_dumps (j, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  puts (s);
  free (s);
}

/* Feed the streaming API the way a network does: in chunks of any size
 * (BERTH_IMAGE_TOOL_CHUNK bytes each), through begin/write/finish. */
static int
unpack_in_chunks (struct image_store *s, int fd, size_t chunk, const char *digest,
                  const char *media_type, char **diff_id, struct berth_error **err)
{
  if (chunk == 0)
    chunk = 1;
  struct image_layer_unpack *u = image_layer_unpack_begin (s, digest, -1, media_type, err);
  if (u == NULL)
    return -1;
  char *buf = malloc (chunk);
  ssize_t n;
  while ((n = read (fd, buf, chunk)) > 0)
    if (image_layer_unpack_write (u, buf, (size_t)n, err) < 0)
      {
        free (buf);
        image_layer_unpack_abort (u);
        return -1;
      }
  free (buf);
  return image_layer_unpack_finish (u, diff_id, err);
}

static int
cmd_manifest (int argc, char **argv)
{
  struct berth_error *err = NULL;
  if (argc < 1)
    return usage ();
  char *text = NULL;
  size_t len = 0;
  if (fs_read_file (AT_FDCWD, argv[0], &text, &len, &err) < 0)
    return fail (err);
  struct image_manifest *m = NULL;
  int r = image_manifest_parse (text, len, NULL, &m, &err);
  free (text);
  if (r < 0)
    return fail (err);
  printf ("kind %d\n", m->kind);
  if (image_manifest_kind_is_index (m->kind))
    {
      struct image_platform p = { 0 };
      if (argc > 1 && image_platform_parse (argv[1], &p, &err) < 0)
        return fail (err);
      ssize_t i = image_manifest_select (m, argc > 1 ? &p : NULL, &err);
      image_platform_clear (&p);
      if (i < 0)
        return fail (err);
      printf ("selected %s\n", m->manifests[i].digest);
    }
  else
    for (size_t i = 0; i < m->n_layers; i++)
      printf ("layer %s %s\n", m->layers[i].digest, m->layers[i].media_type);
  image_manifest_free (m);
  return 0;
}

int
main (int argc, char **argv)
{
  struct image_store_options opts = { .root = getenv ("BERTH_IMAGE_ROOT") };
  static const struct option longopts[] = {
    { "root", required_argument, NULL, 'r' },
    { "wait", no_argument, NULL, 'w' },
    { NULL, 0, NULL, 0 },
  };
  int c;
  while ((c = getopt_long (argc, argv, "+", longopts, NULL)) != -1)
    {
      if (c == 'r')
        opts.root = optarg;
      else if (c == 'w')
        opts.wait_for_lock = true;
      else
        return usage ();
    }
  if (optind >= argc)
    return usage ();
  const char *cmd = argv[optind];
  char **args = argv + optind + 1;
  int nargs = argc - optind - 1;
  if (getenv ("BERTH_IMAGE_DEBUG"))
    berth_log_configure (2, false, BERTH_LOG_DEBUG);
  if (strcmp (cmd, "manifest") == 0)
    return cmd_manifest (nargs, args);

  struct berth_error *err = NULL;
  struct image_store *s = image_store_open (&opts, &err);
  if (s == NULL)
    return fail (err);
  _cleanup_image_store_ struct image_store *guard = s;
#define NEED(n)                                                                                    \
  do                                                                                               \
    if (nargs < (n))                                                                               \
      return usage ();                                                                             \
  while (0)

  if (strcmp (cmd, "unpack") == 0)
    {
      NEED (1);
      int fd = open_in (args[0]);
      if (fd < 0)
        return perror (args[0]), 1;
      char *diff_id = NULL;
      const char *chunk_env = getenv ("BERTH_IMAGE_TOOL_CHUNK");
      int r;
      if (chunk_env)
        r = unpack_in_chunks (s, fd, (size_t)atol (chunk_env),
                              nargs > 1 && *args[1] ? args[1] : NULL, nargs > 2 ? args[2] : NULL,
                              &diff_id, &err);
      else
        r = image_layer_unpack_fd (s, fd, nargs > 1 && *args[1] ? args[1] : NULL,
                                   nargs > 2 ? args[2] : NULL, &diff_id, &err);
      close (fd);
      if (r < 0)
        return fail (err);
      puts (diff_id);
      free (diff_id);
      return 0;
    }
  if (strcmp (cmd, "import") == 0)
    {
      NEED (1);
      struct image_ref *ref = NULL;
      if (nargs > 1 && *args[1] && image_ref_parse (args[1], IMAGE_REF_DEFAULT_TAG, &ref, &err) < 0)
        return fail (err);
      json_t *changes = nargs > 3 ? json_loads (args[3], 0, NULL) : NULL;
      int fd = open_in (args[0]);
      if (fd < 0)
        return perror (args[0]), 1;
      char *id = NULL;
      int r = image_import (s, fd, ref, changes, nargs > 2 && *args[2] ? args[2] : NULL, &id, &err);
      close (fd);
      image_ref_free (ref);
      json_decref (changes);
      if (r < 0)
        return fail (err);
      puts (id);
      free (id);
      return 0;
    }
  if (strcmp (cmd, "load") == 0)
    {
      NEED (1);
      int fd = open_in (args[0]);
      if (fd < 0)
        return perror (args[0]), 1;
      char **lines = NULL;
      int r = image_load (s, fd, &lines, &err);
      close (fd);
      for (char **l = lines; l && *l; l++)
        puts (*l);
      strv_freep (&lines);
      return r < 0 ? fail (err) : 0;
    }
  if (strcmp (cmd, "save") == 0)
    {
      NEED (2);
      int fd = open_out (args[0]);
      if (fd < 0)
        return perror (args[0]), 1;
      char **names = strv_dup (args + 1);
      int r = image_save (s, names, fd, &err);
      strv_freep (&names);
      close (fd);
      return r < 0 ? fail (err) : 0;
    }
  if (strcmp (cmd, "export") == 0)
    {
      NEED (2);
      int dfd = open (args[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      int fd = open_out (args[1]);
      if (dfd < 0 || fd < 0)
        return perror ("export"), 1;
      int r = image_export_rootfs (dfd, fd, &err);
      close (dfd);
      close (fd);
      return r < 0 ? fail (err) : 0;
    }
  if (strcmp (cmd, "ls") == 0)
    {
      struct image_info **list = NULL;
      size_t n = 0;
      if (image_list (s, &list, &n, &err) < 0)
        return fail (err);
      json_t *a = json_array ();
      for (size_t i = 0; i < n; i++)
        {
          json_t *tags = json_array (), *digests = json_array ();
          for (char **t = list[i]->repo_tags; *t; t++)
            json_array_append_new (tags, json_string (*t));
          for (char **t = list[i]->repo_digests; *t; t++)
            json_array_append_new (digests, json_string (*t));
          json_array_append_new (
              a, json_pack ("{s:s,s:o,s:o,s:I,s:s,s:I}", "Id", list[i]->id, "RepoTags", tags,
                            "RepoDigests", digests, "Size", (json_int_t)list[i]->size, "Created",
                            list[i]->created, "Layers", (json_int_t)list[i]->n_layers));
        }
      image_info_list_free (list, n);
      print_json (a);
      json_decref (a);
      return 0;
    }
  if (strcmp (cmd, "inspect") == 0 || strcmp (cmd, "history") == 0)
    {
      NEED (1);
      char *id = NULL;
      json_t *j = NULL;
      if (image_resolve (s, args[0], &id, &err) < 0)
        return fail (err);
      int r = cmd[0] == 'i' ? image_inspect (s, id, &j, &err) : image_history (s, id, &j, &err);
      free (id);
      if (r < 0)
        return fail (err);
      print_json (j);
      json_decref (j);
      return 0;
    }
  if (strcmp (cmd, "resolve") == 0)
    {
      NEED (1);
      char *id = NULL;
      if (image_resolve (s, args[0], &id, &err) < 0)
        return fail (err);
      puts (id);
      free (id);
      return 0;
    }
  if (strcmp (cmd, "tag") == 0)
    {
      NEED (2);
      return image_tag (s, args[0], args[1], &err) < 0 ? fail (err) : 0;
    }
  if (strcmp (cmd, "rm") == 0)
    {
      NEED (1);
      bool force = strcmp (args[0], "-f") == 0;
      if (force)
        NEED (2);
      json_t *report = NULL;
      if (image_remove (s, args[force], force, &report, &err) < 0)
        return fail (err);
      print_json (report);
      json_decref (report);
      return 0;
    }
  if (strcmp (cmd, "prune") == 0)
    {
      json_t *report = NULL;
      if (image_prune (s, nargs > 0 && strcmp (args[0], "-a") == 0, &report, &err) < 0)
        return fail (err);
      print_json (report);
      json_decref (report);
      return 0;
    }
  if (strcmp (cmd, "gc") == 0)
    {
      int64_t freed = 0;
      if (image_store_gc (s, &freed, &err) < 0)
        return fail (err);
      printf ("freed %lld\n", (long long)freed);
      return 0;
    }
  if (strcmp (cmd, "check") == 0)
    {
      char **problems = NULL;
      if (image_store_check (s, &problems, &err) < 0)
        return fail (err);
      for (char **p = problems; *p; p++)
        puts (*p);
      int r = strv_len (problems) ? 1 : 0;
      strv_freep (&problems);
      return r;
    }
  if (strcmp (cmd, "blob-put") == 0)
    {
      NEED (1);
      char *text = NULL, *digest = NULL;
      size_t len = 0;
      if (fs_read_file (AT_FDCWD, args[0], &text, &len, &err) < 0
          || image_blob_put (s, text, len, nargs > 1 ? args[1] : NULL, &digest, &err) < 0)
        return free (text), fail (err);
      free (text);
      puts (digest);
      free (digest);
      return 0;
    }
  if (strcmp (cmd, "add") == 0)
    {
      NEED (1);
      struct image_ref *ref = NULL;
      if (nargs > 2 && image_ref_parse (args[2], IMAGE_REF_DEFAULT_TAG, &ref, &err) < 0)
        return fail (err);
      struct image_add_options add = {
        .config_digest = args[0],
        .manifest_digest = nargs > 1 && *args[1] ? args[1] : NULL,
        .repo_digest = nargs > 1 && *args[1] ? args[1] : NULL,
        .ref = ref,
      };
      char *id = NULL;
      int r = image_store_add (s, &add, &id, &err);
      image_ref_free (ref);
      if (r < 0)
        return fail (err);
      puts (id);
      free (id);
      return 0;
    }
  if (strcmp (cmd, "snapshot-create") == 0)
    {
      NEED (2);
      char *id = NULL;
      if (strcmp (args[1], "-") != 0 && image_resolve (s, args[1], &id, &err) < 0)
        return fail (err);
      int r = image_snapshot_create (s, args[0], id, &err);
      free (id);
      return r < 0 ? fail (err) : 0;
    }
  if (strcmp (cmd, "snapshot-mount") == 0)
    {
      NEED (1);
      char *mp = NULL;
      if (image_snapshot_mount (s, args[0], nargs > 1 ? args[1] : NULL, &mp, &err) < 0)
        return fail (err);
      puts (mp);
      free (mp);
      return 0;
    }
  if (strcmp (cmd, "snapshot-unmount") == 0)
    {
      NEED (1);
      return image_snapshot_unmount (s, args[0], &err) < 0 ? fail (err) : 0;
    }
  if (strcmp (cmd, "snapshot-remove") == 0)
    {
      NEED (1);
      return image_snapshot_remove (s, args[0], &err) < 0 ? fail (err) : 0;
    }
  if (strcmp (cmd, "snapshot-changes") == 0)
    {
      NEED (1);
      struct image_change *ch = NULL;
      size_t n = 0;
      if (image_snapshot_changes (s, args[0], &ch, &n, &err) < 0)
        return fail (err);
      for (size_t i = 0; i < n; i++)
        printf ("%c %s\n", "CAD"[ch[i].kind], ch[i].path);
      image_changes_free (ch, n);
      return 0;
    }
  if (strcmp (cmd, "snapshot-ls") == 0)
    {
      char **ids = NULL;
      if (image_snapshot_list (s, &ids, &err) < 0)
        return fail (err);
      for (char **i = ids; *i; i++)
        puts (*i);
      strv_freep (&ids);
      return 0;
    }
  if (strcmp (cmd, "snapshot-size") == 0)
    {
      NEED (1);
      int64_t rw = 0, all = 0;
      if (image_snapshot_size (s, args[0], &rw, &all, &err) < 0)
        return fail (err);
      printf ("%lld %lld\n", (long long)rw, (long long)all);
      return 0;
    }
  if (strcmp (cmd, "snapshot-diff") == 0)
    {
      NEED (2);
      int fd = open_out (args[1]);
      if (fd < 0)
        return perror (args[1]), 1;
      int r = image_snapshot_diff_tar (s, args[0], fd, IMAGE_COMPRESSION_NONE, &err);
      close (fd);
      return r < 0 ? fail (err) : 0;
    }
  if (strcmp (cmd, "commit") == 0)
    {
      NEED (1);
      struct image_ref *ref = NULL;
      if (nargs > 1 && *args[1] && image_ref_parse (args[1], IMAGE_REF_DEFAULT_TAG, &ref, &err) < 0)
        return fail (err);
      struct image_commit_options co
          = { .ref = ref, .container_id = args[0], .comment = "committed" };
      if (nargs > 2 && strcmp (args[2], "zstd") == 0)
        co.compression = IMAGE_COMPRESSION_ZSTD;
      char *id = NULL;
      int r = image_commit (s, args[0], &co, &id, &err);
      image_ref_free (ref);
      if (r < 0)
        return fail (err);
      puts (id);
      free (id);
      return 0;
    }
  return usage ();
}
