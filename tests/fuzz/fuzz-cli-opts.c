/* The CLI's option value parsers, each on the whole input: -p, --expose,
 * -v, --mount, --ulimit, --device, --restart, --tmpfs, --filter,
 * --detach-keys, signals, --cpus, sizes, durations, --since/--until,
 * image references and -H endpoints. */
#include "cli/cli-internal.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  _cleanup_free_ char *s = fuzz_strndup (data, size);
  _cleanup_json_ json_t *exposed = json_object (), *bindings = json_object (),
                        *binds = json_array (), *volumes = json_object (), *tmpfs = json_object ();
#define TRY(call)                                                                                  \
  do                                                                                               \
    {                                                                                              \
      _cleanup_error_ struct berth_error *err = NULL;                                            \
      (void) (call);                                                                               \
    }                                                                                              \
  while (0)
#define TRY_JSON(call)                                                                             \
  do                                                                                               \
    {                                                                                              \
      _cleanup_error_ struct berth_error *err = NULL;                                            \
      json_decref (call);                                                                          \
    }                                                                                              \
  while (0)
  TRY (parse_port_spec (s, exposed, bindings, &err));
  TRY (parse_expose (s, exposed, &err));
  TRY (parse_volume_spec (s, "/work", binds, volumes, &err));
  TRY_JSON (parse_mount_spec (s, "/work", &err));
  TRY_JSON (parse_ulimit (s, &err));
  TRY_JSON (parse_device (s, &err));
  TRY_JSON (parse_restart_policy (s, &err));
  TRY (parse_tmpfs (s, tmpfs, &err));
  {
    char *specs[] = { s, "label=a=b", NULL };
    TRY_JSON (parse_filters (specs, &err));
  }
  {
    unsigned char keys[16];
    TRY (parse_detach_keys (s, keys, sizeof keys, &err));
  }
  (void) parse_signal (s);
  int64_t v = 0;
  TRY (parse_nano_cpus (s, &v, &err));
  TRY (parse_ram_bytes (s, &v, &err));
  TRY (parse_human_size (s, &v, &err));
  TRY (parse_go_duration (s, &v, &err));
  {
    _cleanup_error_ struct berth_error *err = NULL;
    free (parse_timestamp_arg (s, 1700000000, &err));
  }
  free (parse_env_opt (s));
  {
    char *labels[] = { s, NULL };
    _cleanup_json_ json_t *obj = json_object ();
    TRY (parse_kv_into (labels, obj, false, "label", &err));
  }
  {
    char *repo = NULL, *tag = NULL, *digest = NULL;
    TRY (cli_parse_reference (s, &repo, &tag, &digest, &err));
    free (repo);
    free (tag);
    free (digest);
  }
  {
    struct cli_endpoint ep = { 0 };
    TRY (cli_endpoint_parse (s, &ep, &err));
    cli_endpoint_clear (&ep);
  }
  return 0;
}
