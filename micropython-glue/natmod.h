// _azure as a dynamic native module (.mpy with machine code; `make natmod`,
// mk/natmod.mk): what py/dynruntime.h lacks for the glue of modazure.c and
// modazure_http.c, so that the same source compiles both ways. Included by
// them only when MICROPY_ENABLE_DYNRUNTIME is set (py/dynruntime.mk sets it);
// the firmware builds never see this file.
//
// Every name below is one the glue already uses (a runtime function, a type,
// vstr): it is mapped onto mp_fun_table or onto a small helper in natmod.c.
// Argument handling and error messages stay in the glue, written once.
#ifndef UPY_AZURE_NATMOD_H
#define UPY_AZURE_NATMOD_H

#include "py/dynruntime.h"
#include "py/smallint.h"

// Exception types the glue raises or matches that dynruntime.h does not map.
#define mp_type_OSError (*(mp_obj_type_t *)(mp_load_global(MP_QSTR_OSError)))
#define mp_type_ImportError (*(mp_obj_type_t *)(mp_load_global(MP_QSTR_ImportError)))
#define mp_type_AttributeError (*(mp_obj_type_t *)(mp_load_global(MP_QSTR_AttributeError)))
// A float clock reading is recognised by its type's name: a firmware without
// floats has no `float` to load, and the module is built with float support
// (its conversions through mp_fun_table) whatever the firmware has.
#undef mp_obj_is_float
#define mp_obj_is_float(o) (mp_obj_is_obj(o) && mp_obj_get_type(o)->name == MP_QSTR_float)

// A dynamic module built without floats (armv6m, armv7m, rv32imc), loaded
// by a firmware whose time.time() returns a float: the checks of the float
// branch of azure_unix_time through the runtime's operations; returns an int
// for azure_get_u64 (2**64 when too large, which it refuses).
mp_obj_t natmod_float_clock(mp_obj_t now);

// obj.h's compile-time check that t is not bool/int/str/None cannot see
// through the run-time types above: the exact-type test it guards.
#undef mp_obj_is_type
#define mp_obj_is_type(o, t) mp_obj_is_exact_type((o), (t))

// "%q must be an int" & co.: formatted by the firmware's own mp_vprintf.
NORETURN void natmod_raise_msg_varg(const mp_obj_type_t *type, const char *fmt, ...);
#define mp_raise_msg_varg(type, ...) natmod_raise_msg_varg((type), __VA_ARGS__)

// isinstance(exc, type)
bool natmod_exception_match(mp_obj_t exc, mp_obj_t type);
#define mp_obj_exception_match(exc, type) natmod_exception_match((exc), (type))

// nlr through mp_fun_table. The buffer is larger than any port's nlr_buf_t
// (floating-point registers, pystack): the firmware's nlr_push fills in its
// own layout; prev and ret_val come first in every one of them.
typedef struct {
    void *prev;
    void *ret_val;
    void *room[40];
} natmod_nlr_buf_t;
#define nlr_buf_t natmod_nlr_buf_t
#define nlr_push(buf) (mp_fun_table.nlr_push((struct _nlr_buf_t *)(buf)))
#define nlr_pop() (mp_fun_table.nlr_pop())
#define nlr_jump(val) (mp_fun_table.raise(MP_OBJ_FROM_PTR(val)))

#define mp_call_function_0(fun) mp_call_function_n_kw((fun), 0, 0, NULL)

// Integers: the sign, and 64-bit values on 32-bit ports, through the
// runtime's binary operations (works with any long-int implementation).
int natmod_int_sign(mp_obj_t o);
bool natmod_int_to_u64(mp_obj_t o, uint8_t *le8);
mp_obj_t natmod_new_int_from_ull(uint64_t v);
#define mp_obj_int_sign(o) natmod_int_sign(o)
#define mp_obj_int_to_bytes_impl(o, big_endian, len, buf) natmod_int_to_u64((o), (buf))
#define mp_obj_new_int_from_ull(v) natmod_new_int_from_ull(v)
// The natmod decides at run time (the firmware has no long ints: o is small).
#undef MICROPY_LONGINT_IMPL
#define MICROPY_LONGINT_IMPL (MICROPY_LONGINT_IMPL_MPZ)

// The clock's epoch is the firmware's (1970 on unix and rp2, 2000 on esp32
// and stm32): asked from time.gmtime(0) at run time.
bool natmod_epoch_is_2000(void);

// Containers read in place.
#define mp_obj_dict_get_map(o) (&((mp_obj_dict_t *)MP_OBJ_TO_PTR(o))->map)
#define mp_obj_tuple_get(o, len_out, items_out) do { \
        mp_obj_tuple_t *natmod_t_ = (mp_obj_tuple_t *)MP_OBJ_TO_PTR(o); \
        *(len_out) = natmod_t_->len; \
        *(items_out) = &natmod_t_->items[0]; \
} while (0)

// vstr: a heap buffer of the exact size, handed over as a copy.
void natmod_vstr_init_len(vstr_t *vstr, size_t len);
mp_obj_t natmod_vstr_to_obj(vstr_t *vstr, bool is_bytes);
#define vstr_init_len(vstr, len) natmod_vstr_init_len((vstr), (len))
#define vstr_clear(vstr) m_free((vstr)->buf)
#define mp_obj_new_str_from_vstr(vstr) natmod_vstr_to_obj((vstr), false)
#define mp_obj_new_bytes_from_vstr(vstr) natmod_vstr_to_obj((vstr), true)

#endif
