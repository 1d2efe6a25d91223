/* exec-threaded-probe: calls runtime_container_exec from a process with a
 * second thread running (as berthd does), waits for the exec'd process and
 * exits with its status. For tests/integration/runtime/test_more.py.
 *
 *   exec-threaded-probe STATE_ROOT ID CMD [ARG...] */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/runtime.h"

static void *
busy_thread (void *arg)
{
  (void)arg;
  for (;;)
    {
      /* Keep malloc busy in another thread while the child is forked. */
      free (malloc (64));
      usleep (100);
    }
  return NULL;
}

int
main (int argc, char **argv)
{
  if (argc < 4)
    {
      fprintf (stderr, "usage: exec-threaded-probe STATE_ROOT ID CMD [ARG...]\n");
      return 2;
    }
  pthread_t t;
  pthread_create (&t, NULL, busy_thread, NULL);
  json_t *args = json_array ();
  for (int i = 3; i < argc; i++)
    json_array_append_new (args, json_string (argv[i]));
  json_t *process = json_pack ("{s:o}", "args", args);
  struct runtime_context ctx = { .state_root = argv[1] };
  struct runtime_exec_options o
      = { .id = argv[2], .process = process, .console_socket_fd = -1, .stdio_fds = { -1, -1, -1 } };
  struct berth_error *err = NULL;
  pid_t pid;
  if (runtime_container_exec (&ctx, &o, &pid, &err) < 0)
    {
      fprintf (stderr, "exec-threaded-probe: %s\n", err->msg);
      return 1;
    }
  int status = 0;
  waitpid (pid, &status, 0);
  json_decref (process);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}
