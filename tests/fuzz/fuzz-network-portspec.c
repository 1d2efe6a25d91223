/* Published ports: `-p` specs (network_port_spec_parse, as docker's
 * nat.ParsePortSpec: [ip:][host[-end]:]container[-end][/proto]) and, when the
 * input is JSON, HostConfig.PortBindings as the API sends them
 * (network_port_bindings_from_api). */
#include <netinet/in.h>

#include "fuzz-common.h"
#include "network/network.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  _cleanup_free_ char *s = fuzz_strndup (data, size);
  {
    struct network_port_binding *b = NULL;
    size_t n = 0;
    _cleanup_error_ struct berth_error *err = NULL;
    if (network_port_spec_parse (s, &b, &n, &err) == 0)
      for (size_t i = 0; i < n; i++)
        {
          FUZZ_ASSERT (b[i].proto == IPPROTO_TCP || b[i].proto == IPPROTO_UDP);
          FUZZ_ASSERT (b[i].host_port_lo <= b[i].host_port_hi);
          FUZZ_ASSERT (memchr (b[i].host_ip, '\0', sizeof b[i].host_ip) != NULL);
        }
    else
      FUZZ_ASSERT (err && err->msg);
    free (b);
  }
  json_error_t jerr;
  _cleanup_json_ json_t *j = json_loadb ((const char *) data, size, 0, &jerr);
  if (j)
    {
      for (int publish_all = 0; publish_all < 2; publish_all++)
        {
          struct network_port_binding *b = NULL;
          size_t n = 0;
          _cleanup_error_ struct berth_error *err = NULL;
          json_t *bindings = json_object_get (j, "PortBindings");
          json_t *exposed = json_object_get (j, "ExposedPorts");
          if (network_port_bindings_from_api (bindings ? bindings : j, exposed, publish_all, &b,
                                              &n, &err)
              == 0)
            for (size_t i = 0; i < n; i++)
              FUZZ_ASSERT (b[i].host_port_lo <= b[i].host_port_hi);
          free (b);
        }
    }
  return 0;
}
