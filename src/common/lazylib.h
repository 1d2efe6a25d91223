/* berth common: binding a shared library on first use. A library that only
 * some requests need (libarchive, libcurl, libcrypto, libnftables, ...) is
 * not linked: src/common/lazy-<lib>.c defines each function berth calls with
 * the library's exact prototype (the library's header is included, so a
 * wrong one does not compile) and forwards to the real symbol, loaded with
 * dlopen on the first call. A process that never calls into the library
 * never maps it, nor the dozens of libraries it depends on.
 *
 * Never for a library that code running inside a container calls (after
 * pivot_root, or setns into its mount namespace): dlopen would search the
 * container's file system, and load the image's copy. The runtime's
 * libseccomp and libcap are linked for that reason. */
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

/* The resolved function, cached after the first call (type: a function
 * pointer type; name: the library's symbol). */
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

/* Wrapper definitions: LAZYLIB_FN (lib, return type, name, (parameters),
 * (arguments)) and LAZYLIB_VOID for functions returning nothing; variadic
 * ones are written by hand with LAZYLIB_RESOLVE. After the first call a
 * call costs one indirect call. */
#define LAZYLIB_FN(lib, ret, name, params, args)                                                   \
  ret name params                                                                                  \
  {                                                                                                \
    return LAZYLIB_RESOLVE (lib, ret (*) params, name) args;                                       \
  }
#define LAZYLIB_VOID(lib, name, params, args)                                                      \
  void name params                                                                                 \
  {                                                                                                \
    LAZYLIB_RESOLVE (lib, void (*) params, name) args;                                             \
  }
