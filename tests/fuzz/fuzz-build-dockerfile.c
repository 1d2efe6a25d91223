/* The Dockerfile a build context brings (dockerfile_parse: directives,
 * continuations, heredocs, flags, JSON and shell forms, ONBUILD), then
 * docker's word expansion (df_word_expand, df_words_expand) over every
 * argument as the builder applies it, with a few variables set. */
#include "build/build.h"
#include "fuzz-common.h"

static const char *
lookup (const char *name, void *data)
{
  (void) data;
  if (strcmp (name, "HOME") == 0)
    return "/root";
  if (strcmp (name, "EMPTY") == 0)
    return "";
  if (strcmp (name, "VERSION") == 0)
    return "1.2 beta";
  return NULL;
}

static void
expand_args (const struct df_instruction *inst, char escape)
{
  for (char **a = inst->args; a && *a; a++)
    {
      _cleanup_error_ struct berth_error *err = NULL;
      _cleanup_free_ char *out = NULL;
      if (df_word_expand (*a, escape, lookup, NULL, &out, &err) == 0)
        FUZZ_ASSERT (out != NULL);
      else
        FUZZ_ASSERT (err && err->msg);
      char **words = NULL;
      _cleanup_error_ struct berth_error *err2 = NULL;
      if (df_words_expand (*a, escape, lookup, NULL, &words, &err2) == 0)
        fuzz_strv_free (words);
    }
  for (size_t i = 0; i < inst->n_flags; i++)
    (void) df_instruction_flag (inst, inst->flags[i].name, NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* A private copy so reads past the end are caught by ASan. */
  char *text = malloc (size ? size : 1);
  memcpy (text, data, size);
  _cleanup_error_ struct berth_error *err = NULL;
  _cleanup_dockerfile_ struct dockerfile *df = NULL;
  if (dockerfile_parse (text, size, "Dockerfile", &df, &err) == 0)
    {
      FUZZ_ASSERT (df != NULL);
      FUZZ_ASSERT (df->escape == '\\' || df->escape == '`');
      for (size_t i = 0; i < df->n_insts; i++)
        {
          const struct df_instruction *inst = &df->insts[i];
          FUZZ_ASSERT (inst->name != NULL && inst->line >= 1);
          expand_args (inst, df->escape);
          if (inst->trigger)
            expand_args (inst->trigger, df->escape);
        }
    }
  else
    FUZZ_ASSERT (err && err->msg);
  free (text);

  /* ONBUILD triggers are parsed again at build time, one line each. */
  _cleanup_free_ char *line = fuzz_strndup (data, size);
  struct df_instruction inst = { 0 };
  _cleanup_error_ struct berth_error *err2 = NULL;
  if (dockerfile_parse_line (line, '\\', "Dockerfile", 1, &inst, &err2) == 0)
    df_instruction_clear (&inst);
  return 0;
}
