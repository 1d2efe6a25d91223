/* Image references (image_ref_parse, as docker's ParseNormalizedNamed) and
 * platform strings: whatever parses must print back to a string that parses
 * to the same reference. */
#include "fuzz-common.h"
#include "image/image.h"

static void
check_ref (const char *s, unsigned flags)
{
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_image_ref_ struct image_ref *ref = NULL;
  if (image_ref_parse (s, flags, &ref, &err) < 0)
    {
      FUZZ_ASSERT (err != NULL && err->msg != NULL);
      return;
    }
  FUZZ_ASSERT (ref != NULL && ref->domain != NULL && ref->path != NULL);
  _cleanup_free_ char *name = image_ref_name (ref);
  _cleanup_free_ char *familiar_name = image_ref_familiar_name (ref);
  _cleanup_free_ char *full = image_ref_string (ref);
  _cleanup_free_ char *familiar = image_ref_familiar (ref);
  FUZZ_ASSERT (name && familiar_name && full && familiar);
  /* The canonical string is itself a valid reference naming the same image. */
  _cleanup_error_ struct berth_error *err2 = NULL;
  _cleanup_image_ref_ struct image_ref *again = NULL;
  FUZZ_ASSERT (image_ref_parse (full, 0, &again, &err2) == 0);
  _cleanup_free_ char *full2 = image_ref_string (again);
  FUZZ_ASSERT (strcmp (full, full2) == 0);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  _cleanup_free_ char *s = fuzz_strndup (data, size);
  check_ref (s, 0);
  check_ref (s, IMAGE_REF_DEFAULT_TAG);
  check_ref (s, IMAGE_REF_NAME_ONLY);
  free (image_ref_familiarize (s));

  struct image_platform p = { 0 };
  _cleanup_error_ struct berth_error *err = NULL;
  if (image_platform_parse (s, &p, &err) == 0)
    free (image_platform_string (&p));
  image_platform_clear (&p);
  return 0;
}
