/* The `filters` query argument every list endpoint takes (api_filters_parse:
 * {"label":{"a=b":true}} and the older {"label":["a=b"]}), then matching
 * against values and labels as the list handlers do. Also the events
 * endpoint's since/until times, which come from the same query string. */
#include "daemon/api.h"
#include "daemon/daemon-internal.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  _cleanup_free_ char *s = fuzz_strndup (data, size);
  static const char *const allowed[] = { "label", "label!", "name", "id", "status", "dangling",
                                         "before", "since", "reference", "until", "ancestor",
                                         "network", "volume", "driver", "type", "event", NULL };
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_filters_ struct api_filters *f = NULL;
  if (api_filters_parse (s, allowed, &f, &err) == 0)
    {
      FUZZ_ASSERT (f != NULL);
      _cleanup_json_ json_t *labels
          = json_pack ("{s:s, s:s, s:s}", "a", "b", "com.example.x", "", "k", "v=w");
      for (const char *const *k = allowed; *k; k++)
        {
          (void) api_filters_has (f, *k);
          for (char *const *v = api_filters_values (f, *k); v && *v; v++)
            FUZZ_ASSERT (api_filters_match (f, *k, *v));
          (void) api_filters_match (f, *k, "busybox");
          _cleanup_error_ struct berth_error *berr = NULL;
          int b = api_filters_bool (f, *k, &berr);
          FUZZ_ASSERT (b >= -1 || (b == -2 && berr && berr->msg));
        }
      (void) api_filters_match_labels (f, "label", labels);
      (void) api_filters_match_labels (f, "label!", labels);
      (void) api_filters_match_labels (f, "label", NULL);
    }
  else
    FUZZ_ASSERT (err && err->msg);

  uint64_t t = 0;
  _cleanup_error_ struct berth_error *terr = NULL;
  (void) events_parse_time (s, 1700000000ULL * 1000000000ULL, &t, &terr);
  return 0;
}
