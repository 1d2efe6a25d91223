/* runtime-internal: libseccomp's <seccomp.h>. Our contract header has the
 * same name and meson puts src/runtime on the include path, so reach the
 * system one past it. */
#pragma once
#pragma GCC system_header
#include_next <seccomp.h>
