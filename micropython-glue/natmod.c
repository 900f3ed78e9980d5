// _azure as a dynamic native module: the helpers behind micropython-glue/natmod.h
// and the C library functions the Rust object and the glue call, forwarded to
// the firmware's own through mp_fun_table (nothing of a libc is linked in).
// Compiled only by mk/natmod.mk (py/dynruntime.mk); never in a firmware.

#include <stdarg.h>

#include "natmod.h"

// ---- memcpy & co.: the firmware's memmove/memset.

void *memcpy(void *dst, const void *src, size_t n) {
    return mp_fun_table.memmove_(dst, src, n);
}

void *memmove(void *dst, const void *src, size_t n) {
    return mp_fun_table.memmove_(dst, src, n);
}

void *memset(void *s, int c, size_t n) {
    return mp_fun_table.memset_(s, c, n);
}

int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (; n > 0; n--, x++, y++) {
        if (*x != *y) {
            return *x - *y;
        }
    }
    return 0;
}

#if defined(__arm__)
// What Rust's ARM targets call (see aeabi_shims.c for the firmware's side).
// Note the EABI argument order for memset: (dest, n, c).
void __aeabi_memcpy(void *d, const void *s, size_t n);
void __aeabi_memcpy4(void *d, const void *s, size_t n);
void __aeabi_memcpy8(void *d, const void *s, size_t n);
void __aeabi_memmove(void *d, const void *s, size_t n);
void __aeabi_memmove4(void *d, const void *s, size_t n);
void __aeabi_memmove8(void *d, const void *s, size_t n);
void __aeabi_memset(void *d, size_t n, int c);
void __aeabi_memset4(void *d, size_t n, int c);
void __aeabi_memset8(void *d, size_t n, int c);
void __aeabi_memclr(void *d, size_t n);
void __aeabi_memclr4(void *d, size_t n);
void __aeabi_memclr8(void *d, size_t n);
void __aeabi_memcpy(void *d, const void *s, size_t n) {
    mp_fun_table.memmove_(d, s, n);
}
void __aeabi_memcpy4(void *d, const void *s, size_t n) {
    mp_fun_table.memmove_(d, s, n);
}
void __aeabi_memcpy8(void *d, const void *s, size_t n) {
    mp_fun_table.memmove_(d, s, n);
}
void __aeabi_memmove(void *d, const void *s, size_t n) {
    mp_fun_table.memmove_(d, s, n);
}
void __aeabi_memmove4(void *d, const void *s, size_t n) {
    mp_fun_table.memmove_(d, s, n);
}
void __aeabi_memmove8(void *d, const void *s, size_t n) {
    mp_fun_table.memmove_(d, s, n);
}
void __aeabi_memset(void *d, size_t n, int c) {
    mp_fun_table.memset_(d, c, n);
}
void __aeabi_memset4(void *d, size_t n, int c) {
    mp_fun_table.memset_(d, c, n);
}
void __aeabi_memset8(void *d, size_t n, int c) {
    mp_fun_table.memset_(d, c, n);
}
void __aeabi_memclr(void *d, size_t n) {
    mp_fun_table.memset_(d, 0, n);
}
void __aeabi_memclr4(void *d, size_t n) {
    mp_fun_table.memset_(d, 0, n);
}
void __aeabi_memclr8(void *d, size_t n) {
    mp_fun_table.memset_(d, 0, n);
}
#endif

// ---- Exceptions

typedef struct {
    char *buf;
    size_t len, cap;
} natmod_out_t;

static void natmod_out(void *env, const char *s, size_t n) {
    natmod_out_t *o = env;
    for (; n > 0 && o->len < o->cap; n--) {
        o->buf[o->len++] = *s++;
    }
}

NORETURN void natmod_raise_msg_varg(const mp_obj_type_t *type, const char *fmt, ...) {
    char buf[128];
    natmod_out_t out = { buf, 0, sizeof(buf) };
    mp_print_t print = { &out, natmod_out };
    va_list ap;
    va_start(ap, fmt);
    mp_vprintf(&print, fmt, ap);
    va_end(ap);
    nlr_raise(mp_obj_new_exception_arg1(type, mp_obj_new_str(buf, out.len)));
}

bool natmod_exception_match(mp_obj_t exc, mp_obj_t type) {
    mp_obj_t args[2] = { exc, type };
    return mp_obj_is_true(mp_call_function_n_kw(mp_load_global(MP_QSTR_isinstance), 2, 0, args));
}

// ---- Integers

static mp_obj_t natmod_int_op(mp_binary_op_t op, mp_obj_t a, mp_int_t b) {
    return mp_binary_op(op, a, MP_OBJ_NEW_SMALL_INT(b));
}

int natmod_int_sign(mp_obj_t o) {
    if (mp_obj_is_small_int(o)) {
        mp_int_t v = MP_OBJ_SMALL_INT_VALUE(o);
        return v < 0 ? -1 : v > 0;
    }
    return natmod_int_op(MP_BINARY_OP_LESS, o, 0) == mp_const_true ? -1 : 1;
}

// A non-negative int below 2**64 as 8 little-endian bytes; false if larger.
bool natmod_int_to_u64(mp_obj_t o, uint8_t *le8) {
    if (natmod_int_op(MP_BINARY_OP_RSHIFT, o, 64) != MP_OBJ_NEW_SMALL_INT(0)) {
        return false;
    }
    for (int i = 0; i < 8; i++) {
        mp_obj_t b = natmod_int_op(MP_BINARY_OP_AND, natmod_int_op(MP_BINARY_OP_RSHIFT, o, 8 * i), 0xff);
        le8[i] = (uint8_t)MP_OBJ_SMALL_INT_VALUE(b);
    }
    return true;
}

mp_obj_t natmod_new_int_from_ull(uint64_t v) {
    if (sizeof(mp_uint_t) >= sizeof(uint64_t) || v <= 0xffffffffu) {
        return mp_obj_new_int_from_uint((mp_uint_t)v);
    }
    mp_obj_t hi = natmod_int_op(MP_BINARY_OP_LSHIFT, mp_obj_new_int_from_uint((mp_uint_t)(v >> 32)), 32);
    return mp_binary_op(MP_BINARY_OP_OR, hi, mp_obj_new_int_from_uint((mp_uint_t)(uint32_t)v));
}

#if !MICROPY_PY_BUILTINS_FLOAT
#include "upy_azure.h"
#include "modazure.h"

mp_obj_t natmod_float_clock(mp_obj_t now) {
    if (!mp_obj_is_float(now)) {
        return now;
    }
    if (natmod_int_op(MP_BINARY_OP_MORE_EQUAL, now, 0) != mp_const_true) { // negative or NaN
        azure_raise(-UPY_AZURE_ERROR_CLOCK_NOT_SET);
    }
    mp_obj_t limit = natmod_int_op(MP_BINARY_OP_LSHIFT, MP_OBJ_NEW_SMALL_INT(1), 64);
    if (mp_binary_op(MP_BINARY_OP_MORE_EQUAL, now, limit) == mp_const_true) { // inf too
        return limit;
    }
    return mp_call_function_n_kw(mp_load_global(MP_QSTR_int), 1, 0, &now);
}
#endif

// ---- Clock: the year of time.gmtime(0) (or localtime(0)); 1970 without either.

bool natmod_epoch_is_2000(void) {
    mp_obj_t time_mod = mp_import_name(MP_QSTR_time, mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
    mp_obj_t dest[3];
    mp_load_method_maybe(time_mod, MP_QSTR_gmtime, dest);
    if (dest[0] == MP_OBJ_NULL) {
        mp_load_method_maybe(time_mod, MP_QSTR_localtime, dest);
        if (dest[0] == MP_OBJ_NULL) {
            return false;
        }
    }
    dest[2] = MP_OBJ_NEW_SMALL_INT(0);
    mp_obj_t t = mp_fun_table.call_method_n_kw(1, 0, dest);
    return mp_obj_subscr(t, MP_OBJ_NEW_SMALL_INT(0), MP_OBJ_SENTINEL) == MP_OBJ_NEW_SMALL_INT(2000);
}

// ---- vstr: exactly len bytes on the heap; the object gets a copy.

void natmod_vstr_init_len(vstr_t *vstr, size_t len) {
    vstr->alloc = len + 1;
    vstr->len = len;
    vstr->buf = m_malloc(len + 1);
    vstr->fixed_buf = false;
}

// The buffer is left to the garbage collector, not freed: m_free moves the
// heap's first-free mark back to its hole, and the next allocation that does
// not fit the hole (the result object) then scans every block after it. In
// a heap full of garbage that made each token or request head cost 2-5x the
// firmware's (bench/natmod_bench.py). The peak is the same either way (the
// buffer and its copy), and a collection reclaims it whenever room is needed.
mp_obj_t natmod_vstr_to_obj(vstr_t *vstr, bool is_bytes) {
    return is_bytes ? mp_obj_new_bytes((const byte *)vstr->buf, vstr->len)
        : mp_obj_new_str(vstr->buf, vstr->len);
}
