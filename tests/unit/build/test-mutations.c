/* Hostile input for the parsers: thousands of deterministic mutations of
 * real Dockerfiles, words and .dockerignore files (bytes flipped, cut,
 * duplicated, special characters spliced in). Every one must either parse
 * or fail with a message; under ASan+UBSan (make unit) nothing may read or
 * write out of bounds or leak. (There is no libFuzzer setup in the tree
 * yet; this is its deterministic stand-in.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "build/build.h"

static const char *const seeds[] = {
  "# syntax=docker/dockerfile:1\n# escape=`\nFROM busybox AS b\nRUN echo `\n  hi\nCOPY --from=b --chown=1:2 [\"a\", \"b/\"]\n",
  "ARG V=1\nFROM a:${V:-x}\nENV A=\"q \\\" z\" B='s' C=d\\ e\nLABEL \"k\"=\"v\"\nEXPOSE 80/tcp 1-2\n",
  "FROM a\nRUN <<EOF bash\nline $X\nEOF\nCOPY <<-'E1' <<E2 /d/\n\tx\n\tE1\ny\nE2\n",
  "FROM a\nHEALTHCHECK --interval=1s CMD [\"x\"]\nONBUILD RUN y\nSHELL [\"sh\",\"-c\"]\nCMD z\n",
  "FROM a\nVOLUME [\"/a\"]\nUSER u:g\nWORKDIR /w\nSTOPSIGNAL 9\nMAINTAINER m\nENTRYPOINT [\"e\"]\n",
};
static const char splice[] = "\\`\"'$ {}[]<<-=:\n\t#";

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t
next (void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t) rng;
}

static char *
mutate (const char *seed, size_t *len)
{
  size_t n = strlen (seed);
  char *b = malloc (n * 2 + 64);
  memcpy (b, seed, n);
  int ops = 1 + (int) (next () % 6);
  for (int i = 0; i < ops; i++)
    {
      size_t at = n ? next () % n : 0;
      switch (next () % 4)
        {
        case 0: /* flip */
          if (n)
            b[at] = (char) (next () & 0xff);
          break;
        case 1: /* cut */
          n = at;
          break;
        case 2: /* splice a special char */
          if (n < strlen (seed) * 2 + 32)
            {
              memmove (b + at + 1, b + at, n - at);
              b[at] = splice[next () % (sizeof splice - 1)];
              n++;
            }
          break;
        case 3: /* duplicate a chunk */
          {
            size_t k = next () % 16;
            if (at + k <= n && n + k < strlen (seed) * 2 + 48)
              {
                memmove (b + at + k, b + at, n - at);
                n += k;
              }
          }
          break;
        }
    }
  b[n] = '\0';
  *len = n;
  return b;
}

static const char *
env (const char *name, void *data)
{
  (void) data;
  return strcmp (name, "X") == 0 ? "x" : NULL;
}

static void
test_mutations (void **state)
{
  (void) state;
  size_t parsed = 0, failed = 0;
  for (int i = 0; i < 100000; i++)
    {
      size_t len;
      char *in = mutate (seeds[i % (sizeof seeds / sizeof seeds[0])], &len);
      struct dockerfile *df = NULL;
      struct berth_error *err = NULL;
      if (dockerfile_parse (in, len, "Dockerfile", &df, &err) == 0)
        {
          parsed++;
          for (size_t k = 0; k < df->n_insts; k++)
            for (char **a = df->insts[k].args; a && *a; a++)
              {
                char *out = NULL;
                struct berth_error *e2 = NULL;
                if (df_word_expand (*a, df->escape, env, NULL, &out, &e2) == 0)
                  free (out);
                else
                  berth_error_free (e2);
              }
          dockerfile_free (df);
        }
      else
        {
          failed++;
          assert_non_null (err);
          assert_non_null (err->msg);
          berth_error_free (err);
        }
      struct build_ignore *ig = NULL;
      if (build_ignore_parse (in, len, &ig, &err) == 0)
        {
          build_ignore_match (ig, "a/b/c.txt");
          build_ignore_match (ig, in[0] ? in : "x");
          build_ignore_free (ig);
        }
      free (in);
    }
  /* the mutations exercise both outcomes */
  assert_true (parsed > 100);
  assert_true (failed > 100);
}

int
main (void)
{
  const struct CMUnitTest tests[] = { cmocka_unit_test (test_mutations) };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
