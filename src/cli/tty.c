/* berth cli: the local terminal: raw mode for -t (restored on every exit
 * path), the window size sent with resize, and the detach-key matcher
 * (ctrl-p ctrl-q by default) that runs on the typed input. */
#include "cli/cli-internal.h"

#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

struct cli_tty_state
{
  int fd;
  struct termios saved;
};

struct cli_tty_state *
cli_tty_make_raw (int fd)
{
  struct termios t;
  if (tcgetattr (fd, &t) < 0)
    return NULL;
  struct cli_tty_state *s = calloc (1, sizeof *s);
  s->fd = fd;
  s->saved = t;
  /* moby/term MakeRaw: like cfmakeraw, keeping output processing as is. */
  t.c_iflag &= ~(unsigned) (IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
  t.c_oflag &= ~(unsigned) OPOST;
  t.c_lflag &= ~(unsigned) (ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  t.c_cflag &= ~(unsigned) (CSIZE | PARENB);
  t.c_cflag |= CS8;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
  if (tcsetattr (fd, TCSANOW, &t) < 0)
    {
      free (s);
      return NULL;
    }
  return s;
}

void
cli_tty_restore (struct cli_tty_state *s)
{
  if (s == NULL)
    return;
  tcsetattr (s->fd, TCSANOW, &s->saved);
  free (s);
}

int
cli_tty_size (int fd, int *h, int *w)
{
  struct winsize ws;
  if (ioctl (fd, TIOCGWINSZ, &ws) < 0)
    return -1;
  *h = ws.ws_row;
  *w = ws.ws_col;
  return 0;
}

size_t
detach_matcher_feed (struct detach_matcher *m, const unsigned char *in, size_t len,
                     unsigned char *out, bool *detached)
{
  size_t n = 0;
  *detached = false;
  for (size_t i = 0; i < len; i++)
    {
      if (m->n_keys > 0 && in[i] == m->keys[m->matched])
        {
          m->matched++;
          if (m->matched == m->n_keys)
            {
              *detached = true;
              m->matched = 0;
              return n;
            }
          continue;
        }
      /* a broken partial match: the held-back keys were ordinary input */
      for (size_t k = 0; k < m->matched; k++)
        out[n++] = m->keys[k];
      m->matched = 0;
      if (m->n_keys > 0 && in[i] == m->keys[0])
        {
          m->matched = 1;
          if (m->n_keys == 1)
            {
              *detached = true;
              m->matched = 0;
              return n;
            }
          continue;
        }
      out[n++] = in[i];
    }
  return n;
}
