/* docker's shell-word lexer for Dockerfile substitution: rows from
 * moby/buildkit frontend/dockerfile/shell/envVarTest and what `docker
 * build` does with ENV/COPY/WORKDIR words. Environment: A=a, B="b c",
 * EMPTY="", UNSET unset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "build/build.h"

static const char *
env (const char *name, void *data)
{
  (void) data;
  if (strcmp (name, "A") == 0)
    return "a";
  if (strcmp (name, "B") == 0)
    return "b c";
  if (strcmp (name, "EMPTY") == 0)
    return "";
  return NULL;
}

static const struct
{
  const char *in, *out;
  char escape;
} cases[] = {
  { "hello", "hello", '\\' },
  { "$A", "a", '\\' },
  { "${A}", "a", '\\' },
  { "x${A}y", "xay", '\\' },
  { "$A$A", "aa", '\\' },
  { "$UNSET", "", '\\' },
  { "${UNSET:-def}", "def", '\\' },
  { "${A:-def}", "a", '\\' },
  { "${EMPTY:-def}", "def", '\\' },   /* ':' treats empty as unset */
  { "${EMPTY-def}", "", '\\' },       /* without ':' only unset counts */
  { "${UNSET-def}", "def", '\\' },
  { "${A:+alt}", "alt", '\\' },
  { "${UNSET:+alt}", "", '\\' },
  { "${EMPTY:+alt}", "", '\\' },
  { "${EMPTY+alt}", "alt", '\\' },
  { "${UNSET:-$A}", "a", '\\' },       /* the word is itself expanded */
  { "${UNSET:-'x y'}", "x y", '\\' },
  { "\\$A", "$A", '\\' },              /* escaped dollar */
  { "'$A'", "$A", '\\' },              /* single quotes are literal */
  { "\"$A\"", "a", '\\' },             /* double quotes expand */
  { "\"\\$A\"", "$A", '\\' },
  { "\"a\\b\"", "a\\b", '\\' },        /* other escapes stay in "…" */
  { "\"x\\\"y\"", "x\"y", '\\' },
  { "a\\ b", "a b", '\\' },
  { "$", "$", '\\' },
  { "$1x", "x", '\\' },                 /* a digit is a one-character name (unset) */
  { "`$A", "$A", '`' },                 /* backtick escape */
  { "c:\\dir", "c:\\dir", '`' },
  { "${B}", "b c", '\\' },
};

static void
test_expand (void **state)
{
  (void) state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      char *out = NULL;
      struct berth_error *err = NULL;
      if (df_word_expand (cases[i].in, cases[i].escape, env, NULL, &out, &err) < 0)
        fail_msg ("case %zu (%s): %s", i, cases[i].in, err->msg);
      if (strcmp (out, cases[i].out) != 0)
        fail_msg ("case %zu (%s): `%s`, want `%s`", i, cases[i].in, out, cases[i].out);
      free (out);
    }
}

static void
test_errors (void **state)
{
  (void) state;
  static const char *const bad[] = { "'abc", "\"abc", "${A", "${UNSET:?must be set}", "${A:%x}", NULL };
  for (size_t i = 0; bad[i]; i++)
    {
      char *out = NULL;
      struct berth_error *err = NULL;
      if (df_word_expand (bad[i], '\\', env, NULL, &out, &err) == 0)
        fail_msg ("case %s expanded to %s", bad[i], out);
      assert_int_equal (err->kind, BERTH_E_INVALID);
      berth_error_free (err);
    }
}

static void
test_words (void **state)
{
  (void) state;
  char **w = NULL;
  struct berth_error *err = NULL;
  /* a variable's value is not split again when quoted; unquoted it is kept
   * whole too (docker splits before substitution) */
  assert_int_equal (df_words_expand ("x 'y z'  \"$B\" ''", '\\', env, NULL, &w, &err), 0);
  assert_int_equal (strv_len (w), 4);
  assert_string_equal (w[0], "x");
  assert_string_equal (w[1], "y z");
  assert_string_equal (w[2], "b c");
  assert_string_equal (w[3], "");
  strv_freep (&w);
  assert_int_equal (df_words_expand ("  ", '\\', env, NULL, &w, &err), 0);
  assert_int_equal (strv_len (w), 0);
  strv_freep (&w);
}

static void
test_cache_key (void **state)
{
  (void) state;
  char *args1[] = { "X=1", NULL };
  char *args2[] = { "X=2", NULL };
  _cleanup_free_ char *a = build_cache_key ("sha256:p", "RUN echo", args1, NULL);
  _cleanup_free_ char *b = build_cache_key ("sha256:p", "RUN echo", args1, NULL);
  _cleanup_free_ char *c = build_cache_key ("sha256:p", "RUN echo", args2, NULL);
  _cleanup_free_ char *d = build_cache_key ("sha256:q", "RUN echo", args1, NULL);
  _cleanup_free_ char *e = build_cache_key ("sha256:p", "RUN echo", args1, "sha256:files1");
  _cleanup_free_ char *f = build_cache_key ("sha256:p", "RUN echo", args1, "sha256:files2");
  _cleanup_free_ char *g = build_cache_key (NULL, "RUN echo", args1, NULL);
  /* same inputs, same key; every input changes it */
  assert_string_equal (a, b);
  assert_string_not_equal (a, c);
  assert_string_not_equal (a, d);
  assert_string_not_equal (a, e);
  assert_string_not_equal (e, f);
  assert_string_not_equal (a, g);
  /* no ambiguity between fields ("ab"+"c" vs "a"+"bc") */
  _cleanup_free_ char *h = build_cache_key ("ab", "c", NULL, NULL);
  _cleanup_free_ char *k = build_cache_key ("a", "bc", NULL, NULL);
  assert_string_not_equal (h, k);
  assert_int_equal (strlen (a), SHA256_HEX_LEN);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_expand),
    cmocka_unit_test (test_errors),
    cmocka_unit_test (test_words),
    cmocka_unit_test (test_cache_key),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
