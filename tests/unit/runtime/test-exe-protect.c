/* runtime_exe_open_protected: the view of a binary can be executed (by fd
 * and as /proc/self/fd/N, as posix_spawn does), cannot be opened for
 * writing (the CVE-2019-5736 overwrite), and a program started from it
 * finds /proc/self/exe protected (read-only mount or sealed memfd). The
 * attack itself is tests/integration/runtime's CVE-2019-5736 tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/runtime.h"

extern char **environ;

static int
run_status (pid_t pid)
{
  int st = 0;
  assert_int_equal (waitpid (pid, &st, 0), pid);
  return WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
}

static void
test_view_executes (void **state)
{
  (void)state;
  struct berth_error *err = NULL;
  int fd = runtime_exe_open_protected ("/bin/true", &err);
  assert_null (err);
  assert_true (fd >= 0);
  assert_true (fcntl (fd, F_GETFD) & FD_CLOEXEC);
  char *argv[] = { (char *)"true", NULL };
  pid_t pid = fork ();
  if (pid == 0)
    {
      syscall (SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
      _exit (99);
    }
  assert_int_equal (run_status (pid), 0);
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  assert_int_equal (posix_spawn (&pid, path, NULL, NULL, argv, environ), 0);
  assert_int_equal (run_status (pid), 0);
  close (fd);
}

static void
test_view_is_not_writable (void **state)
{
  (void)state;
  struct berth_error *err = NULL;
  int fd = runtime_exe_open_protected ("/bin/true", &err);
  assert_true (fd >= 0);
  struct statvfs sv;
  bool ro = fstatvfs (fd, &sv) == 0 && (sv.f_flag & ST_RDONLY);
  int seals = fcntl (fd, F_GET_SEALS);
  assert_true (ro || (seals >= 0 && (seals & F_SEAL_WRITE)));
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  errno = 0;
  int w = open (path, O_WRONLY | O_CLOEXEC);
  assert_int_equal (w, -1);
  assert_true (errno == EROFS || errno == EPERM || errno == ETXTBSY);
  close (fd);
}

static bool
fd_is_protected (int fd)
{
  struct statvfs sv;
  if (fstatvfs (fd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
    return true;
  int seals = fcntl (fd, F_GET_SEALS);
  return seals >= 0 && (seals & F_SEAL_WRITE);
}

/* A program started from the view finds its /proc/self/exe protected (this
 * test binary, re-run with --check-exe), one started from the file does not. */
static void
test_started_program_is_protected (void **state)
{
  (void)state;
  struct berth_error *err = NULL;
  int fd = runtime_exe_open_protected ("/proc/self/exe", &err);
  assert_true (fd >= 0);
  char *argv[] = { (char *)"test-exe-protect", (char *)"--check-exe", NULL };
  char path[64];
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  pid_t pid;
  assert_int_equal (posix_spawn (&pid, path, NULL, NULL, argv, environ), 0);
  assert_int_equal (run_status (pid), 0);
  close (fd);
  char self[4096];
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
  assert_true (n > 0);
  self[n] = '\0';
  assert_int_equal (posix_spawn (&pid, self, NULL, NULL, argv, environ), 0);
  assert_int_equal (run_status (pid), 1);
}

static void
test_missing_binary_is_an_error (void **state)
{
  (void)state;
  struct berth_error *err = NULL;
  assert_int_equal (runtime_exe_open_protected ("/nonexistent/berth-monitor", &err), -1);
  assert_non_null (err);
  assert_non_null (strstr (err->msg, "/nonexistent/berth-monitor"));
  berth_error_free (err);
}

int
main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "--check-exe") == 0)
    {
      int fd = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
      return fd >= 0 && fd_is_protected (fd) ? 0 : 1;
    }
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_view_executes),
    cmocka_unit_test (test_view_is_not_writable),
    cmocka_unit_test (test_started_program_is_protected),
    cmocka_unit_test (test_missing_binary_is_an_error),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
