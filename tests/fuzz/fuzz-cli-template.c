/* --format: the Go text/template subset (tmpl_parse, tmpl_execute) the CLI
 * runs over inspect output and list rows, and the table form
 * (cli_format_rows with "table ..."). Input: the template on the first
 * line; the rest, when it is JSON, is the data (else an inspect-like
 * object is used). */
#include "cli/cli-internal.h"
#include "fuzz-common.h"

static json_t *
default_data (void)
{
  json_error_t e;
  return json_loads ("{\"Id\":\"4f1c2a\",\"Name\":\"/web\",\"State\":{\"Status\":\"running\","
                     "\"Running\":true,\"Pid\":4242,\"ExitCode\":0},\"Config\":{\"Env\":[\"A=1\","
                     "\"PATH=/bin\"],\"Labels\":{\"com.example\":\"x\",\"k\":\"\"},\"Cmd\":null},"
                     "\"Mounts\":[{\"Source\":\"/v\",\"Destination\":\"/data\"}],\"Size\":123.5,"
                     "\"Ports\":{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"}]}}",
                     0, &e);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *nl = memchr (data, '\n', size);
  size_t tlen = nl ? (size_t) (nl - data) : size;
  _cleanup_free_ char *text = fuzz_strndup (data, tlen);
  json_error_t jerr;
  _cleanup_json_ json_t *j = nl ? json_loadb ((const char *) nl + 1, size - tlen - 1,
                                              JSON_DECODE_ANY, &jerr)
                                : NULL;
  if (j == NULL)
    j = default_data ();

  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream (&buf, &len);
  FUZZ_ASSERT (out != NULL);
  {
    _cleanup_error_ struct berth_error *err = NULL;
    _cleanup_ (tmpl_freep) struct tmpl *t = tmpl_parse (text, &err);
    if (t)
      {
        _cleanup_error_ struct berth_error *err2 = NULL;
        (void) tmpl_execute (t, j, out, &err2);
      }
    else
      FUZZ_ASSERT (err && err->msg);
  }
  {
    _cleanup_json_ json_t *rows = json_is_array (j) ? json_incref (j) : json_pack ("[O,O]", j, j);
    _cleanup_json_ json_t *headers = json_pack ("{s:s,s:s}", "Id", "CONTAINER ID", "Name", "NAMES");
    _cleanup_free_ char *table = NULL;
    FUZZ_ASSERT (asprintf (&table, "table %s", text) > 0);
    _cleanup_error_ struct berth_error *err = NULL;
    (void) cli_format_rows (out, table, headers, rows, &err);
  }
  fclose (out);
  free (buf);
  return 0;
}
