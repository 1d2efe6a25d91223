/* docker's human units (github.com/docker/go-units) and time arguments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "cli/cli-internal.h"

static void
test_duration (void **state)
{
  static const struct
  {
    double secs;
    const char *out;
  } cases[] = {
    { 0, "Less than a second" }, { 0.9, "Less than a second" }, { 1, "1 second" },
    { 3, "3 seconds" },          { 59, "59 seconds" },          { 60, "About a minute" },
    { 119, "About a minute" },   { 120, "2 minutes" },          { 59 * 60, "59 minutes" },
    { 3600, "About an hour" },   { 5399, "About an hour" },     { 5400, "2 hours" },
    { 47 * 3600, "47 hours" },   { 48 * 3600, "2 days" },       { 14 * 86400, "2 weeks" },
    { 59 * 86400, "8 weeks" },   { 60 * 86400, "2 months" },    { 3 * 365 * 86400, "3 years" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      _cleanup_free_ char *s = human_duration (cases[k].secs);
      if (strcmp (s, cases[k].out) != 0)
        fail_msg ("%g: got '%s' want '%s'", cases[k].secs, s, cases[k].out);
    }
}

static void
test_sizes (void **state)
{
  static const struct
  {
    double bytes;
    int prec;
    const char *out;
  } cases[] = {
    { 0, 3, "0B" },          { 999, 3, "999B" },           { 1000, 3, "1kB" },
    { 1982380, 3, "1.98MB" }, { 4260000, 3, "4.26MB" },     { 1234567890, 3, "1.23GB" },
    { 1e12, 4, "1TB" },       { 65536, 4, "65.54kB" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      _cleanup_free_ char *s = human_size (cases[k].bytes, cases[k].prec);
      if (strcmp (s, cases[k].out) != 0)
        fail_msg ("%g: got '%s' want '%s'", cases[k].bytes, s, cases[k].out);
    }
  static const struct
  {
    double bytes;
    const char *out;
  } bin[] = { { 0, "0B" }, { 1024, "1KiB" }, { 753664, "736KiB" }, { 1.5 * 1048576, "1.5MiB" },
              { 25275805696.0, "23.54GiB" } };
  for (size_t k = 0; k < sizeof bin / sizeof bin[0]; k++)
    {
      _cleanup_free_ char *s = human_bytes (bin[k].bytes);
      if (strcmp (s, bin[k].out) != 0)
        fail_msg ("%g: got '%s' want '%s'", bin[k].bytes, s, bin[k].out);
    }
}

static void
test_ram_parse (void **state)
{
  static const struct
  {
    const char *in;
    int64_t out; /* -1: error */
  } cases[] = {
    { "512m", 536870912 }, { "64m", 67108864 }, { "1g", 1073741824 }, { "1G", 1073741824 },
    { "100", 100 },        { "1k", 1024 },      { "1kb", 1024 },      { "1KiB", 1024 },
    { "1.5g", 1610612736 }, { "2 m", 2097152 }, { "", -1 },           { "m", -1 },
    { "12x", -1 },         { "-1", -1 },        { "1mm", -1 },
    /* beyond int64 bytes (fuzzing: the conversion was undefined behaviour) */
    { "99999999999p", -1 }, { "1e400", -1 },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      int64_t v = 0;
      _cleanup_error_ struct berth_error *err = NULL;
      int rc = parse_ram_bytes (cases[k].in, &v, &err);
      if (cases[k].out < 0)
        {
          assert_int_equal (rc, -1);
          assert_non_null (strstr (err->msg, "invalid size"));
        }
      else
        {
          if (rc != 0 || v != cases[k].out)
            fail_msg ("%s: got %lld", cases[k].in, (long long) v);
        }
    }
}

static void
test_go_duration (void **state)
{
  static const struct
  {
    const char *in;
    int64_t ns; /* -2: error */
  } cases[] = {
    { "5s", 5000000000LL }, { "1m30s", 90000000000LL }, { "1.5h", 5400000000000LL },
    { "300ms", 300000000 }, { "0", 0 },                  { "10", -2 },
    { "abc", -2 },          { "", -2 },
    /* beyond int64 nanoseconds: Go says "time: invalid duration" (fuzzing) */
    { "152020232232m", -2 },
    { "1e400h", -2 },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      int64_t v = 0;
      _cleanup_error_ struct berth_error *err = NULL;
      int rc = parse_go_duration (cases[k].in, &v, &err);
      if (cases[k].ns == -2)
        assert_int_equal (rc, -1);
      else if (rc != 0 || v != cases[k].ns)
        fail_msg ("%s: got %lld", cases[k].in, (long long) v);
    }
}

static void
test_timestamps (void **state)
{
  static const struct
  {
    const char *in, *out;
  } cases[] = {
    { "10m", "1795361400" },                    /* ten minutes before now */
    { "1795362600", "1795362600" },             /* unix seconds pass through */
    { "1795362600.5", "1795362600.5" },
    { "2026-11-22T15:50:00Z", "1795362600" },
    { "2026-11-22T15:50:00.25Z", "1795362600.250000000" },
    { "2026-11-22", "1795305600" },
    { "yesterday", NULL },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      _cleanup_free_ char *s = parse_timestamp_arg (cases[k].in, 1795362000, &err);
      if (cases[k].out == NULL)
        {
          assert_null (s);
          assert_non_null (err);
        }
      else if (s == NULL || strcmp (s, cases[k].out) != 0)
        fail_msg ("%s: got %s want %s", cases[k].in, s ? s : "(null)", cases[k].out);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_duration),  cmocka_unit_test (test_sizes),
    cmocka_unit_test (test_ram_parse), cmocka_unit_test (test_go_duration),
    cmocka_unit_test (test_timestamps),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
