/* berth common: binding a shared library on first use. A library that only
 * some requests need (libarchive, libcurl, libcrypto, libnftables, ...) is
 * not linked: src/common/lazy-<lib>.c defines each function berth calls with
 * the library's exact prototype (the library's header is included, so a
 * wrong one does not compile) and forwards to the real symbol, loaded with
 * dlopen on the first call. A process that never calls into the library
 * never maps it, nor the dozens of libraries it depends on. */
#pragma once

#include <stddef.h>

struct lazylib
{
  const char *const *sonames; /* tried in order; the first names the library in errors */
  void *handle;               /* dlopen handle, set on first use */
};

/* The address of `name` in lib, loading lib first. A library that cannot be
 * loaded, or lacks the symbol, is a broken installation: the message names
 * both and the process exits 125 (the wrappers have the library's
 * prototypes and no way to report an error). Thread-safe. */
void *lazylib_sym (struct lazylib *lib, const char *name);

/* Wrapper definitions: LAZYLIB_FN (lib, return type, name, (parameters),
 * (arguments)) and LAZYLIB_VOID for functions returning nothing. The symbol
 * is resolved once; later calls cost one indirect call. */
#define LAZYLIB_FN(lib, ret, name, params, args)                                                   \
  ret name params                                                                                  \
  {                                                                                                \
    static ret (*fn_) params;                                                                      \
    ret (*f_) params = __atomic_load_n (&fn_, __ATOMIC_ACQUIRE);                                   \
    if (f_ == NULL)                                                                                \
      {                                                                                            \
        f_ = (ret (*) params)lazylib_sym (&(lib), #name);                                          \
        __atomic_store_n (&fn_, f_, __ATOMIC_RELEASE);                                             \
      }                                                                                            \
    return f_ args;                                                                                \
  }
#define LAZYLIB_VOID(lib, name, params, args)                                                      \
  void name params                                                                                 \
  {                                                                                                \
    static void (*fn_) params;                                                                     \
    void (*f_) params = __atomic_load_n (&fn_, __ATOMIC_ACQUIRE);                                  \
    if (f_ == NULL)                                                                                \
      {                                                                                            \
        f_ = (void (*) params)lazylib_sym (&(lib), #name);                                         \
        __atomic_store_n (&fn_, f_, __ATOMIC_RELEASE);                                             \
      }                                                                                            \
    f_ args;                                                                                       \
  }
/* The resolved function for a wrapper written by hand (variadic ones). */
#define LAZYLIB_RESOLVE(lib, type, name)                                                           \
  ({                                                                                               \
    static __typeof__ (type) fn_;                                                                  \
    __typeof__ (type) f_ = __atomic_load_n (&fn_, __ATOMIC_ACQUIRE);                               \
    if (f_ == NULL)                                                                                \
      {                                                                                            \
        f_ = (type)lazylib_sym (&(lib), #name);                                                    \
        __atomic_store_n (&fn_, f_, __ATOMIC_RELEASE);                                             \
      }                                                                                            \
    f_;                                                                                            \
  })
