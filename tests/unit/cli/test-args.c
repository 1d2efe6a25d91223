/* docker's flag syntax (spf13/pflag as configured by the docker CLI). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "cli/cli-internal.h"

static const struct cli_opt opts[] = {
  { "interactive", 'i', CLI_OPT_BOOL, "", NULL },
  { "tty", 't', CLI_OPT_BOOL, "", NULL },
  { "detach", 'd', CLI_OPT_BOOL, "", NULL },
  { "rm", 0, CLI_OPT_BOOL, "", NULL },
  { "sig-proxy", 0, CLI_OPT_BOOL, "", "true" },
  { "name", 0, CLI_OPT_STRING, "", NULL },
  { "env", 'e', CLI_OPT_LIST, "", NULL },
  { "publish", 'p', CLI_OPT_LIST, "", NULL },
  { "tail", 'n', CLI_OPT_STRING, "", "all" },
  { NULL, 0, 0, NULL, NULL },
};

static int
parse (const char *line, bool interspersed, struct cli_args *a, struct berth_error **err)
{
  _cleanup_strv_ char **v = strv_split (line, ' ');
  if (*line == '\0')
    {
      strv_freep (&v);
      v = calloc (1, sizeof (char *));
    }
  return cli_args_parse (opts, (int) strv_len (v), v, interspersed, a, err);
}

static void
test_accepted (void **state)
{
  static const struct
  {
    const char *argv;
    bool interspersed;
    bool i, t, d, rm, sig_proxy;
    const char *name;
    const char *env; /* joined with , */
    const char *pos; /* joined with , */
  } cases[] = {
    /* combined short booleans, as in docker run -it */
    { "-it busybox sh", false, true, true, false, false, true, NULL, "", "busybox,sh" },
    { "-dit busybox", false, true, true, true, false, true, NULL, "", "busybox" },
    /* --flag value, --flag=value, last wins for strings */
    { "--name a --name=b img", false, false, false, false, false, true, "b", "", "img" },
    /* repeated list flags keep order; -eX and -e=X */
    { "-e A=1 -eB=2 -e=C=3 --env D img", false, false, false, false, false, true, NULL,
      "A=1,B=2,C=3,D", "img" },
    /* --bool=false overrides a default of true */
    { "--sig-proxy=false img", false, false, false, false, false, false, NULL, "", "img" },
    { "--rm=true -t=false img", false, false, false, false, true, true, NULL, "", "img" },
    /* not interspersed: flags after the image belong to the command */
    { "img -it --rm", false, false, false, false, false, true, NULL, "", "img,-it,--rm" },
    /* interspersed (docker rm x -f): flags anywhere */
    { "x --rm y", true, false, false, false, true, true, NULL, "", "x,y" },
    /* -- ends the flags */
    { "-- -i", true, false, false, false, false, true, NULL, "", "-i" },
    /* a lone "-" is an argument (stdin) */
    { "-", true, false, false, false, false, true, NULL, "", "-" },
    /* the short flag with a value takes the rest of the word */
    { "-tdeX=1 img", false, false, true, true, false, true, NULL, "X=1", "img" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      struct cli_args a;
      _cleanup_error_ struct berth_error *err = NULL;
      assert_int_equal (parse (cases[k].argv, cases[k].interspersed, &a, &err), 0);
      assert_int_equal (cli_args_bool (&a, "interactive"), cases[k].i);
      assert_int_equal (cli_args_bool (&a, "tty"), cases[k].t);
      assert_int_equal (cli_args_bool (&a, "detach"), cases[k].d);
      assert_int_equal (cli_args_bool (&a, "rm"), cases[k].rm);
      assert_int_equal (cli_args_bool (&a, "sig-proxy"), cases[k].sig_proxy);
      if (cases[k].name)
        assert_string_equal (cli_args_str (&a, "name"), cases[k].name);
      else
        assert_null (cli_args_str (&a, "name"));
      _cleanup_free_ char *env = strv_join (cli_args_list (&a, "env"), ",");
      assert_string_equal (env, cases[k].env);
      _cleanup_free_ char *pos = strv_join (a.pos, ",");
      assert_string_equal (pos, cases[k].pos);
      assert_string_equal (cli_args_str (&a, "tail"), "all"); /* default */
      cli_args_free (&a);
    }
}

static void
test_rejected (void **state)
{
  static const struct
  {
    const char *argv;
    const char *msg;
  } cases[] = {
    { "--bogus", "unknown flag: --bogus" },
    { "--bogus=1", "unknown flag: --bogus" },
    { "-z", "unknown shorthand flag: 'z' in -z" },
    { "-iz", "unknown shorthand flag: 'z' in -iz" },
    { "--name", "flag needs an argument: --name" },
    { "-e", "flag needs an argument: 'e' in -e" },
    { "--rm=maybe", "invalid argument \"maybe\" for \"--rm\" flag: strconv.ParseBool: parsing \"maybe\": invalid syntax" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      struct cli_args a;
      _cleanup_error_ struct berth_error *err = NULL;
      assert_int_equal (parse (cases[k].argv, true, &a, &err), -1);
      assert_non_null (err);
      assert_string_equal (err->msg, cases[k].msg);
      cli_args_free (&a);
    }
}

static void
test_help_and_int (void **state)
{
  struct cli_args a;
  _cleanup_error_ struct berth_error *err = NULL;
  assert_int_equal (parse ("--help", true, &a, &err), 0);
  assert_true (a.want_help);
  cli_args_free (&a);
  assert_int_equal (parse ("-h", true, &a, &err), 0);
  assert_true (a.want_help);
  cli_args_free (&a);
  assert_int_equal (parse ("-n 10", true, &a, &err), 0);
  long long v = 0;
  assert_int_equal (cli_args_int (&a, "tail", &v, &err), 0);
  assert_int_equal (v, 10);
  cli_args_free (&a);
  assert_int_equal (parse ("-n ten", true, &a, &err), 0);
  assert_int_equal (cli_args_int (&a, "tail", &v, &err), -1);
  assert_non_null (strstr (err->msg, "invalid argument \"ten\" for \"--tail\""));
  cli_args_free (&a);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_accepted),
    cmocka_unit_test (test_rejected),
    cmocka_unit_test (test_help_and_int),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
