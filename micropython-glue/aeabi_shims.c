// ARM EABI memory helpers for the Rust archive, forwarded to the port's own
// memcpy/memmove/memset (shared/libc/string0.c on cc3200 and qemu).
//
// Rust code for thumbv7em-none-eabi calls __aeabi_memcpy*, __aeabi_memclr*,
// __aeabi_memset*, __aeabi_memmove*. Without these definitions the linker
// takes them from the archive's compiler_builtins, which brings its own
// memcpy/memset implementations (~3 KB, all WEAK symbols). A strong
// definition here wins whatever the link order, and --gc-sections then drops
// the unused compiler_builtins copies. Each shim is a tail call (a few bytes).
//
// Host builds (unix port) need none of this: the file compiles to nothing.

#if defined(__arm__)

#include <stddef.h>
#include <string.h>

void __aeabi_memcpy(void *dest, const void *src, size_t n);
void __aeabi_memcpy4(void *dest, const void *src, size_t n);
void __aeabi_memcpy8(void *dest, const void *src, size_t n);
void __aeabi_memmove(void *dest, const void *src, size_t n);
void __aeabi_memmove4(void *dest, const void *src, size_t n);
void __aeabi_memmove8(void *dest, const void *src, size_t n);
void __aeabi_memset(void *dest, size_t n, int c);
void __aeabi_memset4(void *dest, size_t n, int c);
void __aeabi_memset8(void *dest, size_t n, int c);
void __aeabi_memclr(void *dest, size_t n);
void __aeabi_memclr4(void *dest, size_t n);
void __aeabi_memclr8(void *dest, size_t n);

void __aeabi_memcpy(void *dest, const void *src, size_t n) {
    memcpy(dest, src, n);
}
void __aeabi_memcpy4(void *dest, const void *src, size_t n) __attribute__((alias("__aeabi_memcpy")));
void __aeabi_memcpy8(void *dest, const void *src, size_t n) __attribute__((alias("__aeabi_memcpy")));

void __aeabi_memmove(void *dest, const void *src, size_t n) {
    memmove(dest, src, n);
}
void __aeabi_memmove4(void *dest, const void *src, size_t n) __attribute__((alias("__aeabi_memmove")));
void __aeabi_memmove8(void *dest, const void *src, size_t n) __attribute__((alias("__aeabi_memmove")));

// Note the EABI argument order: (dest, n, c), not memset's (dest, c, n).
void __aeabi_memset(void *dest, size_t n, int c) {
    memset(dest, c, n);
}
void __aeabi_memset4(void *dest, size_t n, int c) __attribute__((alias("__aeabi_memset")));
void __aeabi_memset8(void *dest, size_t n, int c) __attribute__((alias("__aeabi_memset")));

void __aeabi_memclr(void *dest, size_t n) {
    memset(dest, 0, n);
}
void __aeabi_memclr4(void *dest, size_t n) __attribute__((alias("__aeabi_memclr")));
void __aeabi_memclr8(void *dest, size_t n) __attribute__((alias("__aeabi_memclr")));

#else

// ISO C wants at least one declaration per translation unit.
typedef int upy_azure_aeabi_shims_unused_t;

#endif
