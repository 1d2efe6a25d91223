/* OCI linux.seccomp → a classic BPF program, compiled with libseccomp in
 * the parent (so every error names its field and nothing is parsed inside
 * the container), exported into memory, and installed in the container's
 * process with a single seccomp(2) call right before execve. */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "runtime/seccomp-libseccomp.h"
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/seccomp.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#include "runtime/seccomp-filter-internal.h"

#define P "linux.seccomp."

static int invalid (struct berth_error **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static int
invalid (struct berth_error **err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  _cleanup_free_ char *msg = NULL;
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "%s", msg ? msg : "invalid seccomp");
}

/* errnoRet applies to ERRNO (the errno) and TRACE (the tracer's message). */
static int
parse_action (const json_t *action, const char *field, bool has_errno, uint32_t errno_ret,
              uint32_t *out, bool *is_notify, struct berth_error **err)
{
  const char *a = json_string_value (action);
  if (a == NULL)
    return invalid (err, "%s: is required and must be a string", field);
  *is_notify = false;
  if (has_errno && strcmp (a, "SCMP_ACT_ERRNO") != 0 && strcmp (a, "SCMP_ACT_TRACE") != 0)
    return invalid (err, "%s: errnoRet is only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s",
                    field, a);
  if (strcmp (a, "SCMP_ACT_KILL") == 0 || strcmp (a, "SCMP_ACT_KILL_THREAD") == 0)
    *out = SCMP_ACT_KILL_THREAD;
  else if (strcmp (a, "SCMP_ACT_KILL_PROCESS") == 0)
    *out = SCMP_ACT_KILL_PROCESS;
  else if (strcmp (a, "SCMP_ACT_TRAP") == 0)
    *out = SCMP_ACT_TRAP;
  else if (strcmp (a, "SCMP_ACT_ERRNO") == 0)
    *out = SCMP_ACT_ERRNO (has_errno ? errno_ret : EPERM);
  else if (strcmp (a, "SCMP_ACT_TRACE") == 0)
    *out = SCMP_ACT_TRACE (has_errno ? errno_ret : EPERM);
  else if (strcmp (a, "SCMP_ACT_ALLOW") == 0)
    *out = SCMP_ACT_ALLOW;
  else if (strcmp (a, "SCMP_ACT_LOG") == 0)
    *out = SCMP_ACT_LOG;
  else if (strcmp (a, "SCMP_ACT_NOTIFY") == 0)
    *out = SCMP_ACT_NOTIFY, *is_notify = true;
  else
    return invalid (err, "%s: unknown action \"%s\"", field, a);
  return 0;
}

static int
get_errno_ret (const json_t *obj, const char *key, const char *field, bool *has, uint32_t *out,
               struct berth_error **err)
{
  json_t *v = json_object_get (obj, key);
  *has = false;
  if (v == NULL || json_is_null (v))
    return 0;
  if (!json_is_integer (v) || json_integer_value (v) < 0 || json_integer_value (v) > 0xffff)
    return invalid (err, "%s.%s: must be an integer between 0 and 65535", field, key);
  *has = true;
  *out = (uint32_t)json_integer_value (v);
  return 0;
}

static int
parse_arch (const char *name, uint32_t *arch)
{
  if (!str_has_prefix (name, "SCMP_ARCH_"))
    return -1;
  char lower[32];
  size_t i = 0;
  for (const char *p = name + strlen ("SCMP_ARCH_"); *p && i < sizeof lower - 1; p++)
    lower[i++] = (char)tolower ((unsigned char)*p);
  lower[i] = '\0';
  *arch = seccomp_arch_resolve_name (lower);
  return *arch ? 0 : -1;
}

static int
add_architectures (scmp_filter_ctx ctx, const json_t *arches, struct berth_error **err)
{
  if (arches == NULL || json_is_null (arches))
    return 0;
  if (!json_is_array (arches))
    return invalid (err, P "architectures: must be an array");
  size_t i;
  json_t *a;
  json_array_foreach (arches, i, a)
  {
    uint32_t arch = 0;
    if (!json_is_string (a) || parse_arch (json_string_value (a), &arch) < 0)
      return invalid (err, P "architectures[%zu]: unknown architecture %s", i,
                      json_is_string (a) ? json_string_value (a) : "(not a string)");
    int rc = seccomp_arch_add (ctx, arch);
    if (rc < 0 && rc != -EEXIST)
      return berth_error_set (err, -rc, P "architectures[%zu]: add %s", i, json_string_value (a));
  }
  return 0;
}

static int
parse_flags (const json_t *flags, unsigned *out, struct berth_error **err)
{
  *out = 0;
  if (flags == NULL || json_is_null (flags))
    return 0;
  if (!json_is_array (flags))
    return invalid (err, P "flags: must be an array");
  size_t i;
  json_t *f;
  json_array_foreach (flags, i, f)
  {
    const char *s = json_string_value (f);
    if (s && strcmp (s, "SECCOMP_FILTER_FLAG_LOG") == 0)
      *out |= SECCOMP_FILTER_FLAG_LOG;
    else if (s && strcmp (s, "SECCOMP_FILTER_FLAG_SPEC_ALLOW") == 0)
      *out |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    else if (s && strcmp (s, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") == 0)
      *out |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    else if (s && strcmp (s, "SECCOMP_FILTER_FLAG_TSYNC") == 0)
      ; /* the container's process is single-threaded when it installs */
    else
      return invalid (err, P "flags[%zu]: unknown flag %s", i, s ? s : "(not a string)");
  }
  return 0;
}

static int
parse_op (const char *op, enum scmp_compare *out)
{
  static const struct
  {
    const char *name;
    enum scmp_compare op;
  } ops[] = {
    { "SCMP_CMP_NE", SCMP_CMP_NE },
    { "SCMP_CMP_LT", SCMP_CMP_LT },
    { "SCMP_CMP_LE", SCMP_CMP_LE },
    { "SCMP_CMP_EQ", SCMP_CMP_EQ },
    { "SCMP_CMP_GE", SCMP_CMP_GE },
    { "SCMP_CMP_GT", SCMP_CMP_GT },
    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
  };
  for (size_t i = 0; op && i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp (op, ops[i].name) == 0)
      return *out = ops[i].op, 0;
  return -1;
}

static int
get_u64 (const json_t *obj, const char *key, uint64_t *out)
{
  json_t *v = json_object_get (obj, key);
  if (v == NULL || json_is_null (v))
    return *out = 0, 0;
  if (!json_is_integer (v))
    return -1;
  /* jansson has no uint64: values above INT64_MAX arrive negative only if
   * the writer wrapped them; take the two's complement bits as they are. */
  *out = (uint64_t)json_integer_value (v);
  return 0;
}

static int
parse_args (const json_t *args, const char *field, struct scmp_arg_cmp *cmps, size_t *n_cmps,
            struct berth_error **err)
{
  *n_cmps = 0;
  if (args == NULL || json_is_null (args))
    return 0;
  if (!json_is_array (args))
    return invalid (err, "%s.args: must be an array", field);
  if (json_array_size (args) > 6)
    return invalid (err, "%s.args: at most 6 conditions (a syscall has 6 arguments)", field);
  size_t i;
  json_t *a;
  json_array_foreach (args, i, a)
  {
    json_t *index = json_object_get (a, "index");
    if (!json_is_object (a) || !json_is_integer (index) || json_integer_value (index) < 0
        || json_integer_value (index) > 5)
      return invalid (err, "%s.args[%zu].index: must be 0 to 5", field, i);
    enum scmp_compare op;
    const char *ops = json_string_value (json_object_get (a, "op"));
    if (parse_op (ops, &op) < 0)
      return invalid (err, "%s.args[%zu].op: unknown operator %s", field, i,
                      ops ? ops : "(missing)");
    uint64_t value = 0, value_two = 0;
    if (get_u64 (a, "value", &value) < 0)
      return invalid (err, "%s.args[%zu].value: must be an integer", field, i);
    if (get_u64 (a, "valueTwo", &value_two) < 0)
      return invalid (err, "%s.args[%zu].valueTwo: must be an integer", field, i);
    cmps[(*n_cmps)++] = (struct scmp_arg_cmp){
      .arg = (unsigned)json_integer_value (index), .op = op, .datum_a = value, .datum_b = value_two
    };
  }
  return 0;
}

static bool
has_duplicate_index (const struct scmp_arg_cmp *cmps, size_t n)
{
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      if (cmps[i].arg == cmps[j].arg)
        return true;
  return false;
}

static int
add_rule (scmp_filter_ctx ctx, const json_t *rule, size_t idx, uint32_t default_action,
          uint32_t default_errno, bool *wants_listener, struct berth_error **err)
{
  char field[64];
  snprintf (field, sizeof field, P "syscalls[%zu]", idx);
  if (!json_is_object (rule))
    return invalid (err, "%s: must be an object", field);
  bool has_errno = false;
  uint32_t errno_ret = default_errno;
  if (get_errno_ret (rule, "errnoRet", field, &has_errno, &errno_ret, err) < 0)
    return -1;
  uint32_t action = 0;
  bool is_notify = false;
  char afield[80];
  snprintf (afield, sizeof afield, "%s.action", field);
  if (parse_action (json_object_get (rule, "action"), afield, has_errno, errno_ret, &action,
                    &is_notify, err)
      < 0)
    return -1;
  struct scmp_arg_cmp cmps[6];
  size_t n_cmps = 0;
  if (parse_args (json_object_get (rule, "args"), field, cmps, &n_cmps, err) < 0)
    return -1;
  json_t *names = json_object_get (rule, "names");
  if (!json_is_array (names) || json_array_size (names) == 0)
    return invalid (err, "%s.names: must be a non-empty array of syscall names", field);
  /* The rule equals the default: libseccomp refuses it, and it changes
   * nothing (runc and crun skip it too). */
  if (action == default_action)
    return 0;
  *wants_listener |= is_notify;
  size_t i;
  json_t *name;
  json_array_foreach (names, i, name)
  {
    const char *s = json_string_value (name);
    if (s == NULL)
      return invalid (err, "%s.names[%zu]: must be a string", field, i);
    int nr = seccomp_syscall_resolve_name (s);
    if (nr == __NR_SCMP_ERROR)
      {
        /* Profiles list syscalls of newer kernels or other arches. */
        berth_log (BERTH_LOG_DEBUG, "seccomp: unknown syscall %s skipped", s);
        continue;
      }
    int rc;
    if (n_cmps > 1 && has_duplicate_index (cmps, n_cmps))
      {
        /* libseccomp cannot AND two conditions on one argument; runc
         * adds one rule per condition (they OR), and so do we. */
        rc = 0;
        for (size_t k = 0; k < n_cmps && rc == 0; k++)
          rc = seccomp_rule_add_array (ctx, action, nr, 1, &cmps[k]);
      }
    else
      rc = seccomp_rule_add_array (ctx, action, nr, (unsigned)n_cmps, cmps);
    if (rc < 0)
      return berth_error_set_kind (err, BERTH_E_INVALID, -rc, "%s: add rule for %s", field, s);
  }
  return 0;
}

static void
seccomp_ctx_releasep (scmp_filter_ctx *ctx)
{
  if (*ctx)
    seccomp_release (*ctx);
}

/* libseccomp 2.5 exports only to an fd: a memfd keeps it in memory. */
static int
export_bpf (scmp_filter_ctx ctx, struct seccomp_filter *f, struct berth_error **err)
{
  _cleanup_close_ int fd = memfd_create ("berth-seccomp", MFD_CLOEXEC);
  if (fd < 0)
    return berth_error_set (err, errno, "seccomp: memfd_create");
  int rc = seccomp_export_bpf (ctx, fd);
  if (rc < 0)
    return berth_error_set (err, -rc, "seccomp: export the BPF program");
  off_t size = lseek (fd, 0, SEEK_END);
  if (size <= 0 || size % (off_t)sizeof (struct sock_filter) != 0
      || size / (off_t)sizeof (struct sock_filter) > BPF_MAXINSNS)
    return berth_error_set (err, E2BIG, "seccomp: the program has %lld bytes", (long long)size);
  f->insns = malloc ((size_t)size);
  if (pread (fd, f->insns, (size_t)size, 0) != size)
    return berth_error_set (err, errno ? errno : EIO, "seccomp: read the BPF program back");
  f->n_insns = (unsigned short)(size / (off_t)sizeof (struct sock_filter));
  return 0;
}

struct seccomp_filter *
seccomp_filter_compile (const json_t *seccomp, struct berth_error **err)
{
  if (!json_is_object (seccomp))
    return invalid (err, "linux.seccomp: must be an object"), NULL;
  bool has_default_errno = false;
  uint32_t default_errno = EPERM;
  if (get_errno_ret (seccomp, "defaultErrnoRet", "linux.seccomp", &has_default_errno,
                     &default_errno, err)
      < 0)
    return NULL;
  uint32_t default_action = 0;
  bool default_notify = false;
  if (parse_action (json_object_get (seccomp, "defaultAction"), P "defaultAction",
                    has_default_errno, default_errno, &default_action, &default_notify, err)
      < 0)
    return NULL;
  if (default_notify)
    /* The runtime itself would block on its own execve. */
    return invalid (err, P "defaultAction: SCMP_ACT_NOTIFY cannot be the default action"), NULL;
  _cleanup_free_ struct seccomp_filter *f = calloc (1, sizeof *f);
  if (parse_flags (json_object_get (seccomp, "flags"), &f->flags, err) < 0)
    return NULL;
  _cleanup_ (seccomp_ctx_releasep) scmp_filter_ctx ctx = seccomp_init (default_action);
  if (ctx == NULL)
    return berth_error_set (err, EINVAL, "seccomp: seccomp_init"), NULL;
  /* Keep libseccomp from setting no_new_privs: that is the spec's call. */
  seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (add_architectures (ctx, json_object_get (seccomp, "architectures"), err) < 0)
    return NULL;
  json_t *syscalls = json_object_get (seccomp, "syscalls");
  if (syscalls && !json_is_null (syscalls) && !json_is_array (syscalls))
    return invalid (err, P "syscalls: must be an array"), NULL;
  size_t i;
  json_t *rule;
  json_array_foreach (syscalls, i, rule) if (add_rule (ctx, rule, i, default_action, default_errno,
                                                       &f->wants_listener, err)
                                             < 0) return NULL;
  if (export_bpf (ctx, f, err) < 0)
    {
      free (f->insns);
      return NULL;
    }
  return steal_pointer (&f);
}

bool
seccomp_filter_wants_listener (const struct seccomp_filter *f)
{
  return f && f->wants_listener;
}

int
seccomp_filter_install (struct seccomp_filter *f, int *listener_fd, struct berth_error **err)
{
  struct sock_fprog prog = { .len = f->n_insns, .filter = f->insns };
  unsigned flags = f->flags | (f->wants_listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0);
  *listener_fd = -1;
  long rc = syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc < 0 && errno == EINVAL && (flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV))
    {
      /* Kernels before 5.19 do not know it; it only softens signals. */
      flags &= ~(unsigned)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
      rc = syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    }
  if (rc < 0)
    return berth_error_set (err, errno,
                            errno == EACCES ? "install the seccomp filter (needs noNewPrivileges "
                                              "or CAP_SYS_ADMIN)"
                                            : "install the seccomp filter");
  if (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)
    *listener_fd = (int)rc;
  return 0;
}

void
seccomp_filter_free (struct seccomp_filter *f)
{
  if (f == NULL)
    return;
  free (f->insns);
  free (f);
}
