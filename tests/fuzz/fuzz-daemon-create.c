/* POST /containers/create's body (container_create_body_parse: Config,
 * HostConfig, NetworkingConfig validated at the edge and normalized) and
 * POST /containers/{id}/update's HostConfig (container_host_config_validate),
 * then docker's merge with an image config, as the create handler does.
 * The input is the request body (JSON). */
#include "daemon/container.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  json_error_t jerr;
  _cleanup_json_ json_t *body = json_loadb ((const char *) data, size, 0, &jerr);
  if (body == NULL)
    return 0;

  _cleanup_json_ json_t *config = NULL, *host_config = NULL, *networking = NULL;
  _cleanup_error_ struct berth_error *err = NULL;
  if (container_create_body_parse (body, &config, &host_config, &networking, &err) == 0)
    {
      FUZZ_ASSERT (json_is_object (config) && json_is_object (host_config));
      /* The normalized HostConfig is itself valid (update takes it again). */
      _cleanup_json_ json_t *hc = json_deep_copy (host_config);
      _cleanup_error_ struct berth_error *err2 = NULL;
      if (container_host_config_validate (hc, &err2) < 0)
        fprintf (stderr, "normalized HostConfig refused: %s\n", err2->msg);
      FUZZ_ASSERT (err2 == NULL);

      _cleanup_json_ json_t *image_config
          = json_pack ("{s:[s], s:[s], s:s, s:[s], s:{s:{}}}", "Cmd", "sh", "Entrypoint",
                       "/bin/entry", "WorkingDir", "/srv", "Env", "PATH=/usr/bin:/bin",
                       "ExposedPorts", "80/tcp");
      _cleanup_free_ char *path = NULL;
      char **args = NULL;
      _cleanup_error_ struct berth_error *err3 = NULL;
      if (container_config_merge_image (config, image_config, &path, &args, &err3) == 0)
        FUZZ_ASSERT (path != NULL);
      for (char **a = args; a && *a; a++)
        free (*a);
      free (args);
    }
  else
    FUZZ_ASSERT (err && err->msg);

  /* The update endpoint's body goes straight to the validator. */
  json_t *hc = json_object_get (body, "HostConfig");
  if (json_is_object (hc))
    {
      _cleanup_json_ json_t *copy = json_deep_copy (hc);
      _cleanup_error_ struct berth_error *err4 = NULL;
      (void) container_host_config_validate (copy, &err4);
    }
  else if (json_is_object (body))
    {
      _cleanup_json_ json_t *copy = json_deep_copy (body);
      _cleanup_error_ struct berth_error *err5 = NULL;
      (void) container_host_config_validate (copy, &err5);
    }
  return 0;
}
