/* berth cli: `cp` both ways (trace 11): HEAD the target to learn whether
 * it is a directory, then PUT a tar built with libarchive (or the tar on
 * stdin for `-`); out of a container GET the tar and extract it safely (no
 * "..", no absolute paths, no writing through symlinks), renaming the top
 * entry when the destination names a new file, or stream it to stdout. */
#include "cli/cli-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const struct cli_opt cli_cp_opts[] = {
  { "archive", 'a', CLI_OPT_BOOL, "Archive mode (copy all uid/gid information)", NULL },
  { "follow-link", 'L', CLI_OPT_BOOL, "Always follow symbol link in SRC_PATH", NULL },
  { "quiet", 'q', CLI_OPT_BOOL, "Suppress progress output during copy", NULL },
  { NULL, 0, 0, NULL, NULL },
};

/* docker's splitCpArg: "container:path", unless the argument is clearly a
 * local path (absolute, or starting with "."). */
static bool
split_cp_arg (const char *arg, char **container, char **path)
{
  if (arg[0] == '/' || arg[0] == '.')
    return *container = NULL, *path = xstrdup (arg), false;
  const char *colon = strchr (arg, ':');
  if (colon == NULL || colon == arg)
    return *container = NULL, *path = xstrdup (arg), false;
  *container = strndup (arg, (size_t) (colon - arg));
  *path = xstrdup (colon + 1);
  return true;
}

static char *
path_base (const char *p)
{
  _cleanup_free_ char *copy = xstrdup (p);
  size_t l = strlen (copy);
  while (l > 1 && copy[l - 1] == '/')
    copy[--l] = '\0';
  return xstrdup (basename (copy));
}

static char *
path_dir (const char *p)
{
  _cleanup_free_ char *copy = xstrdup (p);
  size_t l = strlen (copy);
  while (l > 1 && copy[l - 1] == '/')
    copy[--l] = '\0';
  return xstrdup (dirname (copy));
}

struct tar_sink
{
  int fd;
  struct tar_end end;
};

/* Write the archive, and stop at its end as the docker CLI's tar reader
 * does (a daemon may keep the response open after it). */
static int
write_tar (void *ud, const char *data, size_t len)
{
  struct tar_sink *s = ud;
  size_t n = tar_end_feed (&s->end, data, len);
  if (fs_write_all (s->fd, data, n) < 0)
    return -1;
  return s->end.done ? 1 : 0;
}

/* Tar `src` (file or tree) into a memfd, its top entry named `top`. */
static int
tar_local_path (const char *src, const char *top, bool follow, struct berth_error **err)
{
  _cleanup_close_ int fd = memfd_create ("berth-cp", MFD_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "memfd_create");
  struct archive *w = archive_write_new ();
  archive_write_set_format_pax_restricted (w);
  if (archive_write_open_fd (w, fd) != ARCHIVE_OK)
    {
      berth_error_set (err, 0, "tar: %s", archive_error_string (w));
      archive_write_free (w);
      return -1;
    }
  struct archive *disk = archive_read_disk_new ();
  archive_read_disk_set_standard_lookup (disk);
  archive_read_disk_set_symlink_physical (disk);
  if (follow)
    archive_read_disk_set_symlink_hybrid (disk);
  int rc = 0;
  if (archive_read_disk_open (disk, src) != ARCHIVE_OK)
    {
      rc = berth_error_set (err, 0, "%s", archive_error_string (disk));
      goto out;
    }
  size_t src_len = strlen (src);
  while (src_len > 1 && src[src_len - 1] == '/')
    src_len--;
  for (;;)
    {
      struct archive_entry *e = archive_entry_new ();
      int r = archive_read_next_header2 (disk, e);
      if (r == ARCHIVE_EOF)
        {
          archive_entry_free (e);
          break;
        }
      if (r < ARCHIVE_WARN)
        {
          rc = berth_error_set (err, 0, "%s", archive_error_string (disk));
          archive_entry_free (e);
          break;
        }
      archive_read_disk_descend (disk);
      const char *p = archive_entry_pathname (e);
      /* rename the walked root to `top` */
      const char *rest = strlen (p) >= src_len ? p + src_len : "";
      _cleanup_free_ char *name = xasprintf ("%s%s", top, rest);
      archive_entry_set_pathname (e, name);
      if (archive_write_header (w, e) < ARCHIVE_WARN)
        {
          rc = berth_error_set (err, 0, "tar %s: %s", p, archive_error_string (w));
          archive_entry_free (e);
          break;
        }
      if (archive_entry_filetype (e) == AE_IFREG && archive_entry_size (e) > 0)
        {
          _cleanup_close_ int in = open (archive_entry_sourcepath (e), O_RDONLY | O_CLOEXEC);
          if (in < 0)
            {
              rc = berth_error_set (err, errno, "open %s", archive_entry_sourcepath (e));
              archive_entry_free (e);
              break;
            }
          char buf[65536];
          ssize_t n;
          while ((n = read (in, buf, sizeof buf)) > 0)
            archive_write_data (w, buf, (size_t) n);
        }
      archive_entry_free (e);
    }
out:
  archive_read_free (disk);
  archive_write_close (w);
  archive_write_free (w);
  if (rc < 0)
    return -1;
  lseek (fd, 0, SEEK_SET);
  return steal_fd (&fd);
}

static int
copy_to_container (struct cli_client *c, const char *src, const char *container, const char *dst,
                   bool follow, struct berth_error **err)
{
  _cleanup_free_ char *ec = url_escape (container);
  _cleanup_free_ char *path = xasprintf ("/containers/%s/archive", ec);
  bool dst_is_dir = false, dst_exists = false;
  {
    _cleanup_free_ char *ed = url_escape (dst);
    _cleanup_free_ char *q = xasprintf ("path=%s", ed);
    struct cli_request req = { .method = "HEAD", .path = path, .query = q };
    struct cli_response resp;
    if (cli_http (c, &req, &resp, err) < 0)
      return -1;
    if (resp.status == 200)
      {
        dst_exists = true;
        size_t len = 0;
        _cleanup_free_ unsigned char *raw = resp.header_stat ? base64_decode (resp.header_stat, &len) : NULL;
        json_error_t jerr;
        _cleanup_json_ json_t *st = raw ? json_loadb ((char *) raw, len, 0, &jerr) : NULL;
        /* Go's os.FileMode: ModeDir is the top bit */
        long long mode = json_integer_value (json_object_get (st, "mode"));
        dst_is_dir = (mode & (1LL << 31)) != 0;
      }
    else if (resp.status != 404)
      {
        _cleanup_free_ char *msg = cli_error_message (&resp);
        cli_response_clear (&resp);
        return berth_error_set (err, 0, "Error response from daemon: %s", msg);
      }
    else if (str_has_suffix (dst, "/"))
      {
        cli_response_clear (&resp);
        return berth_error_set (err, 0, "Error response from daemon: Could not find the file %s in container %s",
                                dst, container);
      }
    cli_response_clear (&resp);
  }
  _cleanup_close_ int body = -1;
  _cleanup_free_ char *target_dir = NULL;
  if (strcmp (src, "-") == 0)
    {
      if (!dst_is_dir)
        return berth_error_set (err, 0, "destination \"%s:%s\" must be a directory", container, dst);
      body = dup (STDIN_FILENO);
      target_dir = xstrdup (dst);
    }
  else
    {
      struct stat sst;
      if ((follow ? stat (src, &sst) : lstat (src, &sst)) < 0)
        return berth_error_set (err, errno, "lstat %s", src);
      if (dst_exists && !dst_is_dir && S_ISDIR (sst.st_mode))
        return berth_error_set (err, 0, "cannot copy directory to a file");
      _cleanup_free_ char *top = dst_is_dir ? path_base (src) : path_base (dst);
      target_dir = dst_is_dir ? xstrdup (dst) : path_dir (dst);
      body = tar_local_path (src, top, follow, err);
      if (body < 0)
        return -1;
    }
  _cleanup_free_ char *et = url_escape (target_dir);
  _cleanup_free_ char *q = xasprintf ("noOverwriteDirNonDir=true&path=%s", et);
  struct cli_request put = { .method = "PUT", .path = path, .query = q, .stream_body = true,
                             .body_fd = body, .body_content_type = "application/x-tar" };
  struct cli_response resp;
  int rc = cli_call (c, &put, &resp, err);
  cli_response_clear (&resp);
  return rc;
}

/* Extract the tar in fd into dir, renaming the top entry `from` to `to`. */
static int
extract_tar (int fd, const char *dir, const char *from, const char *to, struct berth_error **err)
{
  struct archive *r = archive_read_new ();
  archive_read_support_format_tar (r);
  struct archive *w = archive_write_disk_new ();
  archive_write_disk_set_options (w, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM
                                         | ARCHIVE_EXTRACT_SECURE_NODOTDOT
                                         | ARCHIVE_EXTRACT_SECURE_SYMLINKS
                                         | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
  int rc = 0;
  /* Entries stay relative (libarchive refuses absolute paths and ".."), so
   * extraction happens from inside the destination directory. */
  _cleanup_close_ int cwd = open (".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (chdir (dir) < 0)
    {
      rc = berth_error_set (err, errno, "chdir %s", dir);
      goto out;
    }
  if (archive_read_open_fd (r, fd, 65536) != ARCHIVE_OK)
    {
      rc = berth_error_set (err, 0, "read tar: %s", archive_error_string (r));
      goto out;
    }
  size_t from_len = strlen (from);
  for (;;)
    {
      struct archive_entry *e;
      int h = archive_read_next_header (r, &e);
      if (h == ARCHIVE_EOF)
        break;
      if (h < ARCHIVE_WARN)
        {
          rc = berth_error_set (err, 0, "read tar: %s", archive_error_string (r));
          break;
        }
      const char *p = archive_entry_pathname (e);
      _cleanup_free_ char *rel = NULL;
      if (to && strncmp (p, from, from_len) == 0 && (p[from_len] == '\0' || p[from_len] == '/'))
        rel = xasprintf ("%s%s", to, p + from_len);
      else
        rel = xstrdup (p);
      archive_entry_set_pathname (e, rel);
      const char *hl = archive_entry_hardlink (e);
      if (hl)
        {
          _cleanup_free_ char *hrel = (to && strncmp (hl, from, from_len) == 0)
                                          ? xasprintf ("%s%s", to, hl + from_len)
                                          : xstrdup (hl);
          archive_entry_set_hardlink (e, hrel);
        }
      if (archive_write_header (w, e) < ARCHIVE_WARN)
        {
          rc = berth_error_set (err, 0, "extract %s: %s", rel, archive_error_string (w));
          break;
        }
      const void *buf;
      size_t size;
      la_int64_t off;
      int d;
      while ((d = archive_read_data_block (r, &buf, &size, &off)) == ARCHIVE_OK)
        if (archive_write_data_block (w, buf, size, off) < ARCHIVE_WARN)
          break;
      if (d < ARCHIVE_WARN)
        {
          rc = berth_error_set (err, 0, "read tar: %s", archive_error_string (r));
          break;
        }
      archive_write_finish_entry (w);
    }
out:
  archive_read_free (r);
  archive_write_close (w);
  archive_write_free (w);
  if (cwd >= 0 && fchdir (cwd) < 0 && rc == 0)
    rc = berth_error_set (err, errno, "fchdir back");
  return rc;
}

static int
copy_from_container (struct cli_client *c, const char *container, const char *src, const char *dst,
                     struct berth_error **err)
{
  _cleanup_free_ char *ec = url_escape (container);
  _cleanup_free_ char *es = url_escape (src);
  _cleanup_free_ char *path = xasprintf ("/containers/%s/archive", ec);
  _cleanup_free_ char *q = xasprintf ("path=%s", es);
  if (strcmp (dst, "-") == 0)
    {
      struct tar_sink out = { .fd = STDOUT_FILENO };
      struct cli_request req = { .method = "GET", .path = path, .query = q, .on_chunk = write_tar,
                                 .userdata = &out };
      struct cli_response resp;
      int rc = cli_call (c, &req, &resp, err);
      cli_response_clear (&resp);
      return rc;
    }
  struct stat dst_st;
  bool dst_is_dir = stat (dst, &dst_st) == 0 && S_ISDIR (dst_st.st_mode);
  if (!dst_is_dir && str_has_suffix (dst, "/"))
    return berth_error_set (err, 0, "destination directory \"%s\" does not exist", dst);
  _cleanup_close_ int tmp = memfd_create ("berth-cp", MFD_CLOEXEC);
  if (tmp < 0)
    return berth_error_set (err, errno, "memfd_create");
  struct tar_sink sink = { .fd = tmp };
  struct cli_request req = { .method = "GET", .path = path, .query = q, .on_chunk = write_tar,
                             .userdata = &sink };
  struct cli_response resp;
  int rc = cli_call (c, &req, &resp, err);
  _cleanup_free_ char *stat_hdr = resp.header_stat ? xstrdup (resp.header_stat) : NULL;
  cli_response_clear (&resp);
  if (rc < 0)
    return -1;
  lseek (tmp, 0, SEEK_SET);
  /* the tar's top entry is the source's own name (from its stat) */
  _cleanup_free_ char *src_name = NULL;
  if (stat_hdr)
    {
      size_t len = 0;
      _cleanup_free_ unsigned char *raw = base64_decode (stat_hdr, &len);
      json_error_t jerr;
      _cleanup_json_ json_t *st = raw ? json_loadb ((char *) raw, len, 0, &jerr) : NULL;
      const char *n = json_string_value (json_object_get (st, "name"));
      if (n)
        src_name = xstrdup (n);
    }
  if (src_name == NULL)
    src_name = path_base (src);
  if (dst_is_dir)
    return extract_tar (tmp, dst, src_name, NULL, err);
  _cleanup_free_ char *parent = path_dir (dst);
  _cleanup_free_ char *name = path_base (dst);
  struct stat pst;
  if (stat (parent, &pst) < 0 || !S_ISDIR (pst.st_mode))
    return berth_error_set (err, 0, "destination directory \"%s\" does not exist", parent);
  return extract_tar (tmp, parent, src_name, name, err);
}

int
cmd_cp (struct cli_ctx *ctx, int argc, char **argv)
{
  _cleanup_ (cli_args_free) struct cli_args a = { 0 };
  int ec = 0;
  if (cli_cmd_parse (ctx, cli_command_find ("cp"), argc, argv, &a, &ec) < 0)
    return ec;
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_free_ char *sc = NULL, *sp = NULL, *dc = NULL, *dp = NULL;
  bool src_in = split_cp_arg (a.pos[0], &sc, &sp);
  bool dst_in = split_cp_arg (a.pos[1], &dc, &dp);
  if (src_in == dst_in)
    {
      fprintf (stderr, src_in ? "copying between containers is not supported\n"
                              : "must specify at least one container source\n");
      return 1;
    }
  struct cli_client *c = cli_ctx_client (ctx, &err);
  if (c == NULL)
    return cli_fail (err, 1);
  int rc = dst_in ? copy_to_container (c, sp, dc, dp, cli_args_bool (&a, "follow-link"), &err)
                  : copy_from_container (c, sc, sp, dp, &err);
  if (rc < 0)
    return cli_fail (err, 1);
  return 0;
}
