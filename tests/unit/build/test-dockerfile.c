/* The Dockerfile parser: each row is a behaviour of docker's parser
 * (moby/buildkit frontend/dockerfile/parser and instructions), from its
 * parser tests and what `docker build` answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "build/build.h"

struct ok_case
{
  const char *text;
  size_t n_insts;
  size_t which;        /* instruction checked */
  enum df_kind kind;
  bool is_json;
  const char *args;    /* args joined with "|" */
  const char *flags;   /* "name=value,name" or NULL for none */
  unsigned line;
};

static const struct ok_case ok_cases[] = {
  /* shell form keeps the rest of the line verbatim */
  { "FROM a\nRUN echo  hi   there\n", 2, 1, DF_RUN, false, "echo  hi   there", NULL, 2 },
  /* exec form: a JSON array of strings */
  { "FROM a\nRUN [\"echo\", \"hi\"]\n", 2, 1, DF_RUN, true, "echo|hi", NULL, 2 },
  /* not valid JSON: docker falls back to the shell form */
  { "FROM a\nCMD [\"echo\", hi]\n", 2, 1, DF_CMD, false, "[\"echo\", hi]", NULL, 2 },
  { "FROM a\nCMD [\"a\", 1]\n", 2, 1, DF_CMD, false, "[\"a\", 1]", NULL, 2 },
  /* instructions are case-insensitive */
  { "from a\nrun true\n", 2, 1, DF_RUN, false, "true", NULL, 2 },
  /* continuation with the default escape, trailing spaces allowed after it */
  { "FROM a\nRUN echo a \\  \n  b\n", 2, 1, DF_RUN, false, "echo a   b", NULL, 2 },
  /* comments inside a continuation are dropped */
  { "FROM a\nRUN echo a \\\n# comment\n b\n", 2, 1, DF_RUN, false, "echo a  b", NULL, 2 },
  /* empty continuation lines are skipped (docker warns) */
  { "FROM a\nRUN echo a \\\n\n b\n", 2, 1, DF_RUN, false, "echo a  b", NULL, 2 },
  /* the escape directive switches to backtick; backslash is then literal */
  { "# escape=`\nFROM a\nRUN dir c:\\ `\n x\n", 2, 1, DF_RUN, false, "dir c:\\  x", NULL, 3 },
  /* a directive after an instruction is just a comment */
  { "FROM a\n# escape=`\nRUN echo \\\n x\n", 2, 1, DF_RUN, false, "echo  x", NULL, 3 },
  /* syntax directive is recorded, instruction lines counted after it */
  { "# syntax=docker/dockerfile:1\nFROM a\n", 1, 0, DF_FROM, false, "a", NULL, 2 },
  /* FROM … AS name */
  { "FROM busybox AS build\n", 1, 0, DF_FROM, false, "busybox|AS|build", NULL, 1 },
  { "FROM --platform=linux/amd64 a as b\n", 1, 0, DF_FROM, false, "a|as|b", "platform=linux/amd64", 1 },
  /* ENV: new form with quotes kept for the lexer, several pairs */
  { "FROM a\nENV A=1 B=\"x y\" C='z'\n", 2, 1, DF_ENV, false, "A|1|B|\"x y\"|C|'z'", NULL, 2 },
  /* ENV legacy form: one pair, the value is the rest of the line */
  { "FROM a\nENV A hello  world\n", 2, 1, DF_ENV, false, "A|hello  world", NULL, 2 },
  /* an escaped space keeps a value in one word */
  { "FROM a\nENV A=x\\ y\n", 2, 1, DF_ENV, false, "A|x\\ y", NULL, 2 },
  { "FROM a\nLABEL \"com.x\"=\"1\" b=2\n", 2, 1, DF_LABEL, false, "\"com.x\"|\"1\"|b|2", NULL, 2 },
  /* any space separates pairs, \v and \f too (Go unicode.IsSpace); once looped forever (fuzzing) */
  { "FROM a\nENV A=1\vB=2\f C=3\n", 2, 1, DF_ENV, false, "A|1|B|2|C|3", NULL, 2 },
  /* ARG before FROM is allowed */
  { "ARG V=1\nFROM a:$V\n", 2, 0, DF_ARG, false, "V=1", NULL, 1 },
  /* COPY flags */
  { "FROM a\nCOPY --from=build --chown=1:2 --chmod=0755 /a /b/\n", 2, 1, DF_COPY, false, "/a|/b/",
    "from=build,chown=1:2,chmod=0755", 2 },
  { "FROM a\nCOPY --link a b\n", 2, 1, DF_COPY, false, "a|b", "link", 2 },
  { "FROM a\nCOPY [\"a b\", \"/c/\"]\n", 2, 1, DF_COPY, true, "a b|/c/", NULL, 2 },
  { "FROM a\nADD x.tar /\n", 2, 1, DF_ADD, false, "x.tar|/", NULL, 2 },
  /* RUN flags */
  { "FROM a\nRUN --network=none --mount=type=cache,target=/c true\n", 2, 1, DF_RUN, false, "true",
    "network=none,mount=type=cache,target=/c", 2 },
  { "FROM a\nHEALTHCHECK --interval=5s --retries=3 CMD curl -f x\n", 2, 1, DF_HEALTHCHECK, false,
    "CMD|curl -f x", "interval=5s,retries=3", 2 },
  { "FROM a\nHEALTHCHECK CMD [\"/bin/check\", \"-q\"]\n", 2, 1, DF_HEALTHCHECK, true,
    "CMD|/bin/check|-q", NULL, 2 },
  { "FROM a\nhealthcheck none\n", 2, 1, DF_HEALTHCHECK, false, "NONE", NULL, 2 },
  { "FROM a\nEXPOSE 80 443/tcp 53/udp\n", 2, 1, DF_EXPOSE, false, "80|443/tcp|53/udp", NULL, 2 },
  { "FROM a\nVOLUME [\"/a\", \"/b\"]\n", 2, 1, DF_VOLUME, true, "/a|/b", NULL, 2 },
  { "FROM a\nVOLUME /a /b\n", 2, 1, DF_VOLUME, false, "/a|/b", NULL, 2 },
  { "FROM a\nSHELL [\"/bin/bash\", \"-c\"]\n", 2, 1, DF_SHELL, true, "/bin/bash|-c", NULL, 2 },
  { "FROM a\nWORKDIR /a b\n", 2, 1, DF_WORKDIR, false, "/a b", NULL, 2 },
  { "FROM a\nUSER 1000:1000\n", 2, 1, DF_USER, false, "1000:1000", NULL, 2 },
  { "FROM a\nSTOPSIGNAL SIGKILL\n", 2, 1, DF_STOPSIGNAL, false, "SIGKILL", NULL, 2 },
  { "FROM a\nMAINTAINER Jo <jo@x>\n", 2, 1, DF_MAINTAINER, false, "Jo <jo@x>", NULL, 2 },
  { "FROM a\nONBUILD RUN echo x\n", 2, 1, DF_ONBUILD, false, "RUN echo x", NULL, 2 },
  /* any Go whitespace separates words (a form feed hung an early parser) */
  { "FROM a\nEXPOSE 80\f81\v82\n", 2, 1, DF_EXPOSE, false, "80|81|82", NULL, 2 },
  /* comments and blank lines anywhere; CRLF line ends */
  { "# c\n\nFROM a\r\n  # indented comment\r\nRUN x\r\n", 2, 1, DF_RUN, false, "x", NULL, 5 },
  /* heredoc: the line keeps its marker, the body is attached */
  { "FROM a\nRUN <<EOF\necho 1\necho 2\nEOF\nCMD x\n", 3, 1, DF_RUN, false, "<<EOF", NULL, 2 },
  { "FROM a\nCOPY <<EOF /f\nhello\nEOF\n", 2, 1, DF_COPY, false, "<<EOF|/f", NULL, 2 },
};

static char *
join (char **v)
{
  return strv_join (v, "|");
}

static void
test_ok (void **state)
{
  (void) state;
  for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++)
    {
      const struct ok_case *c = &ok_cases[i];
      struct dockerfile *df = NULL;
      struct berth_error *err = NULL;
      int r = dockerfile_parse (c->text, strlen (c->text), "Dockerfile", &df, &err);
      if (r < 0)
        fail_msg ("case %zu: %s", i, err->msg);
      assert_int_equal (df->n_insts, c->n_insts);
      struct df_instruction *in = &df->insts[c->which];
      if (in->kind != c->kind)
        fail_msg ("case %zu: kind %d", i, in->kind);
      assert_int_equal (in->is_json, c->is_json);
      assert_int_equal (in->line, c->line);
      _cleanup_free_ char *a = join (in->args);
      if (strcmp (a, c->args) != 0)
        fail_msg ("case %zu: args `%s`, want `%s`", i, a, c->args);
      _cleanup_free_ char *f = NULL;
      for (size_t k = 0; k < in->n_flags; k++)
        {
          char *nf = in->flags[k].value ? xasprintf ("%s%s%s=%s", f ? f : "", f ? "," : "", in->flags[k].name, in->flags[k].value)
                                        : xasprintf ("%s%s%s", f ? f : "", f ? "," : "", in->flags[k].name);
          free (f);
          f = nf;
        }
      if ((f == NULL) != (c->flags == NULL) || (f && strcmp (f, c->flags) != 0))
        fail_msg ("case %zu: flags `%s`, want `%s`", i, f ? f : "(none)", c->flags ? c->flags : "(none)");
      dockerfile_free (df);
    }
}

struct err_case
{
  const char *text;
  const char *msg; /* exact */
};

static const struct err_case err_cases[] = {
  /* the brief's example: file, line, column of the keyword */
  { "FROM a\n\nRNU x\n", "Dockerfile:3:1: unknown instruction: RNU" },
  { "FROM a\n    RNU x\n", "Dockerfile:2:5: unknown instruction: RNU" },
  { "FROM a\nCOPY --form=x a b\n", "Dockerfile:2:6: unknown flag: form" },
  { "FROM a\nRUN --chown=1 true\n", "Dockerfile:2:5: unknown flag: chown" },
  { "FROM a\nCOPY onlyone\n", "Dockerfile:2:6: COPY requires at least two arguments, but only 1 provided" },
  { "FROM a b\n", "Dockerfile:1:6: FROM requires either one or three arguments" },
  { "FROM a\nENV A=1 B\n", "Dockerfile:2:5: Syntax error - can't find = in \"B\". Must be of the form: name=value" },
  { "FROM a\nENV A\n", "Dockerfile:2:5: ENV names can not be blank" },
  { "FROM a\nSHELL /bin/sh -c\n", "Dockerfile:2:7: SHELL requires the arguments to be in JSON form" },
  { "FROM a\nONBUILD ONBUILD RUN x\n", "Dockerfile:2:9: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed" },
  { "FROM a\nONBUILD FROM x\n", "Dockerfile:2:9: FROM isn't allowed as an ONBUILD trigger" },
  { "FROM a\nHEALTHCHECK FOO x\n", "Dockerfile:2:13: Unknown type \"FOO\" in HEALTHCHECK (try CMD)" },
  { "RUN x\n", "Dockerfile:1:1: no build stage in current context" },
  { "# escape=x\nFROM a\n", "Dockerfile:1:1: invalid escape token 'x' does not match ` or \\" },
  { "FROM a\nRUN <<EOF\nx\n", "Dockerfile:2:1: unterminated heredoc EOF" },
  { "FROM a\nENV A=\"x\n", "Dockerfile:2:5: unexpected end of statement while looking for matching \"" },
  { "\n# only comments\n", "Dockerfile: the Dockerfile cannot be empty" },
};

static void
test_errors (void **state)
{
  (void) state;
  for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++)
    {
      struct dockerfile *df = NULL;
      struct berth_error *err = NULL;
      int r = dockerfile_parse (err_cases[i].text, strlen (err_cases[i].text), "Dockerfile", &df, &err);
      if (r == 0)
        fail_msg ("case %zu parsed", i);
      if (strcmp (err->msg, err_cases[i].msg) != 0)
        fail_msg ("case %zu: `%s`, want `%s`", i, err->msg, err_cases[i].msg);
      assert_int_equal (err->kind, BERTH_E_INVALID);
      berth_error_free (err);
    }
}

static void
test_heredoc_bodies (void **state)
{
  (void) state;
  const char *t = "FROM a\nRUN <<-EOT cat <<'RAW'\n\tline $X\n\tEOT\nraw $Y\nRAW\nCOPY <<EOF /f\nEOF\n";
  struct dockerfile *df = NULL;
  struct berth_error *err = NULL;
  if (dockerfile_parse (t, strlen (t), "Dockerfile", &df, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (df->n_insts, 3);
  struct df_instruction *r = &df->insts[1];
  assert_int_equal (r->n_heredocs, 2);
  /* <<- strips leading tabs of the body and the delimiter line */
  assert_string_equal (r->heredocs[0].name, "EOT");
  assert_string_equal (r->heredocs[0].content, "line $X\n");
  assert_true (r->heredocs[0].expand);
  /* a quoted delimiter turns expansion off */
  assert_string_equal (r->heredocs[1].content, "raw $Y\n");
  assert_false (r->heredocs[1].expand);
  /* an empty body */
  assert_int_equal (df->insts[2].n_heredocs, 1);
  assert_string_equal (df->insts[2].heredocs[0].content, "");
  dockerfile_free (df);
}

static void
test_directives (void **state)
{
  (void) state;
  const char *t = "# syntax = docker/dockerfile:1.4\n#escape=`\n# unknown=1\nFROM a\n";
  struct dockerfile *df = NULL;
  struct berth_error *err = NULL;
  if (dockerfile_parse (t, strlen (t), "Dockerfile", &df, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_string_equal (df->syntax, "docker/dockerfile:1.4");
  assert_int_equal (df->escape, '`');
  dockerfile_free (df);
  /* a blank line ends the directives: escape is then a comment */
  t = "\n# escape=`\nFROM a\n";
  assert_int_equal (dockerfile_parse (t, strlen (t), "Dockerfile", &df, &err), 0);
  assert_int_equal (df->escape, '\\');
  dockerfile_free (df);
}

static void
test_onbuild_trigger (void **state)
{
  (void) state;
  const char *t = "FROM a\nONBUILD COPY --chown=1 a /b\n";
  struct dockerfile *df = NULL;
  struct berth_error *err = NULL;
  assert_int_equal (dockerfile_parse (t, strlen (t), "Dockerfile", &df, &err), 0);
  struct df_instruction *tr = df->insts[1].trigger;
  assert_non_null (tr);
  assert_int_equal (tr->kind, DF_COPY);
  bool present = false;
  assert_string_equal (df_instruction_flag (tr, "chown", &present), "1");
  assert_true (present);
  dockerfile_free (df);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ok),
    cmocka_unit_test (test_errors),
    cmocka_unit_test (test_heredoc_bodies),
    cmocka_unit_test (test_directives),
    cmocka_unit_test (test_onbuild_trigger),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
