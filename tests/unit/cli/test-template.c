/* The Go text/template subset of --format, and docker's table alignment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "cli/cli-internal.h"
#include "cli/rows.h"

static const char *data_json
    = "{\"Id\":\"abc\",\"Name\":\"/web\",\"State\":{\"Status\":\"running\",\"Pid\":42,\"Running\":true},"
      "\"Config\":{\"Env\":[\"A=1\",\"B=2\"],\"Labels\":{\"z\":\"last\",\"a\":\"first\"},\"Tty\":false},"
      "\"Empty\":[],\"Null\":null,\"Ratio\":1.5,\"Ports\":{\"80/tcp\":[{\"HostPort\":\"8080\"}]}}";

static char *
render (const char *tpl, struct berth_error **err)
{
  json_error_t jerr;
  _cleanup_json_ json_t *data = json_loads (data_json, 0, &jerr);
  assert_non_null (data);
  _cleanup_ (tmpl_freep) struct tmpl *t = tmpl_parse (tpl, err);
  if (t == NULL)
    return NULL;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  int rc = tmpl_execute (t, data, f, err);
  fclose (f);
  if (rc < 0)
    {
      free (buf);
      return NULL;
    }
  return buf;
}

static void
test_render (void **state)
{
  static const struct
  {
    const char *tpl, *out;
  } cases[] = {
    { "{{.Id}}", "abc" },
    { "id={{.Id}} pid={{.State.Pid}}", "id=abc pid=42" },
    { "{{.State.Running}}", "true" },
    { "{{.Ratio}}", "1.5" },
    { "{{.Missing}}", "<no value>" },  /* Go prints a missing map key so */
    { "{{.Null}}", "<nil>" },
    { "{{.Config.Env}}", "[A=1 B=2]" }, /* %v of a slice */
    { "{{.Config.Labels}}", "map[a:first z:last]" }, /* sorted keys */
    { "{{json .Config.Env}}", "[\"A=1\",\"B=2\"]" },
    { "{{json .State.Pid}}", "42" },
    /* Go's encoding/json escapes HTML characters (docker images' "<none>") */
    { "{{json \"<none> & co\"}}", "\"\\u003cnone\\u003e \\u0026 co\"" },
    { "{{.Config.Env | json}}", "[\"A=1\",\"B=2\"]" },
    { "{{range .Config.Env}}[{{.}}]{{end}}", "[A=1][B=2]" },
    { "{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}", "0:A=1 1:B=2 " },
    { "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "a=first;z=last;" },
    { "{{range .Empty}}x{{else}}none{{end}}", "none" },
    { "{{index .Config.Labels \"z\"}}", "last" },
    { "{{index .Config.Env 1}}", "B=2" },
    { "{{(index (index .Ports \"80/tcp\") 0).HostPort}}", "8080" },
    { "{{if .State.Running}}up{{else}}down{{end}}", "up" },
    { "{{if .Config.Tty}}tty{{else if .State.Running}}notty{{else}}x{{end}}", "notty" },
    { "{{if not .Config.Tty}}no{{end}}", "no" },
    { "{{if eq .State.Status \"running\"}}yes{{end}}", "yes" },
    { "{{if and .State.Running (gt .State.Pid 10)}}big{{end}}", "big" },
    { "{{if or .Config.Tty .Empty}}t{{else}}f{{end}}", "f" },
    { "{{with .State}}{{.Status}}{{end}}", "running" },
    { "{{len .Config.Env}}", "2" },
    { "{{join .Config.Env \",\"}}", "A=1,B=2" },
    { "{{upper .State.Status}} {{lower \"AB\"}} {{title \"hello world\"}}", "RUNNING ab Hello World" },
    { "{{printf \"%s-%d\" .Id .State.Pid}}", "abc-42" },
    { "{{printf \"%-5s|\" .Id}}", "abc  |" },
    /* %q quotes; its JSON string once leaked on every use (fuzzing) */
    { "{{printf \"%q\" .Id}}", "\"abc\"" },
    { "{{truncate .Id 2}}", "ab" },
    { "{{pad .Id 1 2}}", " abc  " },
    { "{{split \"a:b\" \":\"}}", "[a b]" },
    { "a {{- \" b \" -}} c", "a b c" },
    { "x {{/* a comment */}}y", "x y" },
    { "{{$n := .Name}}{{$n}}", "/web" },
    /* docker's .Label method (ps/images rows carry "k=v,…" strings) */
    { "{{.Config.Label \"z\"}}|{{.Config.Label \"none\"}}", "last|" },
    { "{{.}}", "map[Config:map[Env:[A=1 B=2] Labels:map[a:first z:last] Tty:false] Empty:[] Id:abc Name:/web Null:<nil> Ports:map[80/tcp:[map[HostPort:8080]]] Ratio:1.5 State:map[Pid:42 Running:true Status:running]]" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      _cleanup_free_ char *out = render (cases[k].tpl, &err);
      if (out == NULL)
        fail_msg ("%s: %s", cases[k].tpl, err ? err->msg : "?");
      if (strcmp (out, cases[k].out) != 0)
        fail_msg ("%s: got '%s' want '%s'", cases[k].tpl, out, cases[k].out);
    }
}

static void
test_errors (void **state)
{
  static const struct
  {
    const char *tpl, *msg_part;
  } cases[] = {
    { "{{.Id", "unclosed action" },
    { "{{nosuchfunc .Id}}", "function \"nosuchfunc\" not defined" },
    { "{{if .Id}}x", "unexpected EOF" },
    { "{{end}}", "unexpected {{end}}" },
    { "{{\"abc}}", "unterminated quoted string" },
    { "{{.Id.Sub}}", "can't evaluate field" },
    { "{{index .Config.Env 5}}", "index out of range" },
    { "{{range .Id}}x{{end}}", "range can't iterate" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      _cleanup_free_ char *out = render (cases[k].tpl, &err);
      if (out != NULL)
        fail_msg ("%s: expected an error, got '%s'", cases[k].tpl, out);
      assert_non_null (err);
      if (strstr (err->msg, cases[k].msg_part) == NULL)
        fail_msg ("%s: error '%s' lacks '%s'", cases[k].tpl, err->msg, cases[k].msg_part);
    }
}

static void
test_tabwriter (void **state)
{
  /* docker ps header, as the docker CLI prints it (minwidth 10, padding 3);
   * the last column is not padded; widths count runes ("…"). */
  _cleanup_free_ char *out = tabwriter_format ("CONTAINER ID\tIMAGE\tPORTS\tNAMES\n"
                                               "44a73b91f32d\tbusybox:local\t\tt1\n"
                                               "x\t\"sleep 300…\"\t\tlongername",
                                               10, 3);
  assert_string_equal (out, "CONTAINER ID   IMAGE           PORTS     NAMES\n"
                            "44a73b91f32d   busybox:local             t1\n"
                            "x              \"sleep 300…\"              longername");
  /* a line without tabs ends the column block */
  _cleanup_free_ char *out2 = tabwriter_format ("a\tb\nplain\nlonger-cell\tc", 1, 1);
  assert_string_equal (out2, "a b\nplain\nlonger-cell c");
}

static void
test_format_rows (void **state)
{
  json_error_t jerr;
  _cleanup_json_ json_t *rows = json_loads ("[{\"ID\":\"abc\",\"Names\":\"web\",\"Labels\":\"a=1,com.x.project=p\"},"
                                            "{\"ID\":\"defghi\",\"Names\":\"db\",\"Labels\":\"\"}]", 0, &jerr);
  _cleanup_json_ json_t *headers = json_loads ("{\"ID\":\"CONTAINER ID\",\"Names\":\"NAMES\"}", 0, &jerr);
  static const struct
  {
    const char *fmt, *out;
  } cases[] = {
    { "table {{.ID}}\\t{{.Names}}", "CONTAINER ID   NAMES\nabc            web\ndefghi         db\n" },
    { "table {{.Names}}", "NAMES\nweb\ndb\n" },
    { "{{.ID}}:{{.Names}}", "abc:web\ndefghi:db\n" },
    { "{{.Names}}={{.Label \"com.x.project\"}}", "web=p\ndb=\n" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      char *buf = NULL;
      size_t len = 0;
      FILE *f = open_memstream (&buf, &len);
      _cleanup_error_ struct berth_error *err = NULL;
      assert_int_equal (cli_format_rows (f, cases[k].fmt, headers, rows, &err), 0);
      fclose (f);
      if (strcmp (buf, cases[k].out) != 0)
        fail_msg ("%s: got '%s'", cases[k].fmt, buf);
      free (buf);
    }
}

static void
test_ps_ports (void **state)
{
  /* docker's DisplayablePorts (cli/command/formatter/container.go) */
  static const struct
  {
    const char *ports, *out;
  } cases[] = {
    { "[]", "" },
    { "[{\"PrivatePort\":80,\"Type\":\"tcp\"}]", "80/tcp" },
    { "[{\"IP\":\"127.0.0.1\",\"PrivatePort\":80,\"PublicPort\":18080,\"Type\":\"tcp\"}]",
      "127.0.0.1:18080->80/tcp" },
    { "[{\"IP\":\"::\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"},"
      "{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"}]",
      "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp" },
    /* consecutive exposed ports fold into a range, per type */
    { "[{\"PrivatePort\":81,\"Type\":\"tcp\"},{\"PrivatePort\":80,\"Type\":\"tcp\"},"
      "{\"PrivatePort\":82,\"Type\":\"tcp\"},{\"PrivatePort\":53,\"Type\":\"udp\"},"
      "{\"PrivatePort\":90,\"Type\":\"tcp\"}]",
      "80-82/tcp, 53/udp, 90/tcp" },
    /* same public and private ports on one ip fold too */
    { "[{\"IP\":\"0.0.0.0\",\"PrivatePort\":8000,\"PublicPort\":8000,\"Type\":\"tcp\"},"
      "{\"IP\":\"0.0.0.0\",\"PrivatePort\":8001,\"PublicPort\":8001,\"Type\":\"tcp\"}]",
      "0.0.0.0:8000-8001->8000-8001/tcp" },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    {
      json_error_t jerr;
      _cleanup_json_ json_t *p = json_loads (cases[k].ports, 0, &jerr);
      assert_non_null (p);
      _cleanup_free_ char *s = displayable_ports (p);
      if (strcmp (s, cases[k].out) != 0)
        fail_msg ("case %zu: got '%s' want '%s'", k, s, cases[k].out);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_render),
    cmocka_unit_test (test_errors),
    cmocka_unit_test (test_tabwriter),
    cmocka_unit_test (test_format_rows),
    cmocka_unit_test (test_ps_ports),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
