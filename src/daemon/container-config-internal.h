/* daemon-private: the shared pieces of the create-body validators
 * (container-config.c, container-hostconfig.c): JSON type checks against a
 * field table and the 400 error builder. */
#pragma once

#include "daemon/container.h"

enum field_type
{
  F_STR,
  F_BOOL,
  F_INT,
  F_STRV,     /* array of strings (or null) */
  F_STRSLICE, /* a string or an array of strings (docker's strslice) */
  F_STRMAP,   /* object of strings */
  F_OBJ,
  F_ARR,
};

struct field
{
  const char *name;
  enum field_type type;
};

int config_invalid (struct berth_error **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
bool is_integral (const json_t *v);
bool is_strv (const json_t *v);
bool is_strmap (const json_t *v);
bool value_has_type (const json_t *v, enum field_type t);
int check_types (json_t *obj, const char *where, const struct field *fields, size_t n,
                 struct berth_error **err);
/* Set each field of the table obj lacks, except those named in omitempty
 * (NULL-terminated), to its type's zero value as Go prints it. */
void fill_zero_values (json_t *obj, const struct field *fields, size_t n,
                       const char *const *omitempty);
json_int_t int_field (const json_t *obj, const char *name);
const char *str_field (const json_t *obj, const char *name);
void normalize_strslice (json_t *obj, const char *name);
bool is_decimal (const char *s);
bool port_range_is_valid (const char *s, bool allow_zero);
bool port_key_is_valid (const char *key);
