/* cgroup v2 device access: v2 has no devices.allow/deny, so like runc and
 * crun we compile the OCI device rules into a BPF_PROG_TYPE_CGROUP_DEVICE
 * program and attach it to the container's cgroup with raw bpf(2) calls
 * (no libbpf). The last rule matching a request decides, as on v1; with no
 * matching rule the access is allowed (a fresh v1 cgroup allows all too —
 * a spec starts its list with a deny-all rule). */
#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime/cgroup-internal.h"

static int
sys_bpf (int cmd, union bpf_attr *attr)
{
  return (int)syscall (SYS_bpf, cmd, attr, sizeof *attr);
}

#define INSN(c, d, s, o, i)                                                                        \
  ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

struct prog
{
  struct bpf_insn *insns;
  size_t n, cap;
};

static void
emit (struct prog *p, struct bpf_insn insn)
{
  if (p->n == p->cap)
    {
      p->cap = p->cap ? p->cap * 2 : 64;
      p->insns = realloc (p->insns, p->cap * sizeof *p->insns);
    }
  p->insns[p->n++] = insn;
}

static int
access_bits (const char *access)
{
  int bits = 0;
  for (const char *a = access; *a; a++)
    bits |= *a == 'r' ? BPF_DEVCG_ACC_READ : *a == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
  return bits;
}

/* One rule: a run of "if it does not match, skip to the next rule" jumps,
 * then "return allow". Registers: w2 type, w3 access, w4 major, w5 minor.
 * Returns true when the rule matches everything (no jump): what follows
 * would be unreachable, which the verifier rejects. */
static bool
emit_rule (struct prog *p, const struct cgroup_device_rule *r)
{
  struct bpf_insn block[8];
  size_t n = 0;
  int acc = access_bits (r->access);
  if (r->type != 'a')
    block[n++] = INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
                       r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  if (acc != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD) || !r->allow)
    {
      /* An allow rule covers a request only if it grants every bit asked
       * for; a deny rule hits a request that asks for any bit it denies. */
      block[n++] = INSN (BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
      if (r->allow)
        {
          block[n++] = INSN (BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, ~acc & 7);
          block[n++] = INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_1, 0, 0, 0);
        }
      else
        {
          block[n++] = INSN (BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, acc);
          block[n++] = INSN (BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_1, 0, 0, 0);
        }
    }
  if (r->major >= 0)
    block[n++] = INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t)r->major);
  if (r->minor >= 0)
    block[n++] = INSN (BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t)r->minor);
  block[n++] = INSN (BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, r->allow ? 1 : 0);
  block[n++] = INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  /* Every conditional jump skips to the end of this block. */
  for (size_t i = 0; i < n; i++)
    if (BPF_CLASS (block[i].code) == BPF_JMP && BPF_OP (block[i].code) != BPF_EXIT)
      block[i].off = (int16_t)(n - i - 1);
  for (size_t i = 0; i < n; i++)
    emit (p, block[i]);
  return n == 2;
}

size_t
cgroup_devices_bpf_build (const struct cgroup_device_rule *rules, size_t n_rules, void **insns)
{
  struct prog p = { 0 };
  /* struct bpf_cgroup_dev_ctx { u32 access_type (access << 16 | type); u32 major; u32 minor; } */
  emit (&p, INSN (BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0));
  emit (&p, INSN (BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));
  emit (&p, INSN (BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0));
  emit (&p, INSN (BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));
  emit (&p, INSN (BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0));
  emit (&p, INSN (BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0));
  bool matched_all = false;
  for (size_t i = n_rules; i-- > 0 && !matched_all;)
    matched_all = emit_rule (&p, &rules[i]);
  if (!matched_all)
    {
      emit (&p, INSN (BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1));
      emit (&p, INSN (BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    }
  *insns = p.insns;
  return p.n;
}

/* Detach every device program attached to the cgroup except keep_fd's. */
static void
detach_others (int dirfd, int keep_fd)
{
  uint32_t ids[64];
  union bpf_attr q = { 0 };
  q.query.target_fd = (uint32_t)dirfd;
  q.query.attach_type = BPF_CGROUP_DEVICE;
  q.query.prog_ids = (uint64_t)(uintptr_t)ids;
  q.query.prog_cnt = 64;
  if (sys_bpf (BPF_PROG_QUERY, &q) < 0)
    return;
  union bpf_attr info_attr = { 0 };
  struct bpf_prog_info keep_info = { 0 };
  info_attr.info.bpf_fd = (uint32_t)keep_fd;
  info_attr.info.info_len = sizeof keep_info;
  info_attr.info.info = (uint64_t)(uintptr_t)&keep_info;
  if (sys_bpf (BPF_OBJ_GET_INFO_BY_FD, &info_attr) < 0)
    return;
  for (uint32_t i = 0; i < q.query.prog_cnt && i < 64; i++)
    {
      if (ids[i] == keep_info.id)
        continue;
      union bpf_attr g = { 0 };
      g.prog_id = ids[i];
      _cleanup_close_ int fd = sys_bpf (BPF_PROG_GET_FD_BY_ID, &g);
      if (fd < 0)
        continue;
      union bpf_attr d = { 0 };
      d.target_fd = (uint32_t)dirfd;
      d.attach_bpf_fd = (uint32_t)fd;
      d.attach_type = BPF_CGROUP_DEVICE;
      sys_bpf (BPF_PROG_DETACH, &d);
    }
}

int
cgroup_devices_bpf_apply (int dirfd, const struct cgroup_device_rule *rules, size_t n_rules,
                          struct berth_error **err)
{
  _cleanup_free_ void *insns = NULL;
  size_t n = cgroup_devices_bpf_build (rules, n_rules, &insns);
  char log[4096] = "";
  union bpf_attr load = { 0 };
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = (uint64_t)(uintptr_t)insns;
  load.insn_cnt = (uint32_t)n;
  load.license = (uint64_t)(uintptr_t) "Apache-2.0";
  load.log_buf = (uint64_t)(uintptr_t)log;
  load.log_size = sizeof log;
  load.log_level = 1;
  _cleanup_close_ int prog = sys_bpf (BPF_PROG_LOAD, &load);
  if (prog < 0 && errno == ENOSPC)
    {
      /* The verifier log did not fit: load again without it. */
      load.log_buf = 0, load.log_size = 0, load.log_level = 0;
      prog = sys_bpf (BPF_PROG_LOAD, &load);
    }
  if (prog < 0)
    return berth_error_set (err, errno, "load the device filter (BPF_PROG_TYPE_CGROUP_DEVICE)%s%s",
                            *log ? ": " : "", log);
  /* Attach the new program before detaching the old, so there is never a
   * moment without a filter. */
  union bpf_attr at = { 0 };
  at.target_fd = (uint32_t)dirfd;
  at.attach_bpf_fd = (uint32_t)prog;
  at.attach_type = BPF_CGROUP_DEVICE;
  at.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf (BPF_PROG_ATTACH, &at) < 0)
    {
      _cleanup_free_ char *dir = fs_fd_path (dirfd);
      return berth_error_set (err, errno, "attach the device filter to %s", dir);
    }
  detach_others (dirfd, prog);
  return 0;
}
