// Helpers shared by the _azure binding files.
#ifndef MICROPY_INCLUDED_MODAZURE_H
#define MICROPY_INCLUDED_MODAZURE_H

#include "py/obj.h"

// Keyword tables: in ROM in the firmware; on the stack in a dynamic module,
// where qstrs and None are run-time values.
#if MICROPY_ENABLE_DYNRUNTIME
#define AZURE_ARG_TABLE const
#else
#define AZURE_ARG_TABLE static const
#endif

NORETURN void azure_raise(intptr_t neg_code);
uint64_t azure_get_u64(mp_obj_t o, qstr name);
uint32_t azure_get_u32(mp_obj_t o, qstr name);
mp_obj_t azure_new_u64(uint64_t v);
const uint8_t *azure_get_text(mp_obj_t o, size_t *len, qstr name, bool allow_bytes);

// Defined in modazure_http.c, listed in modazure.c's globals table.
extern const mp_obj_fun_builtin_var_t mod_azure_frame_head_obj;
extern const mp_obj_fun_builtin_var_t mod_azure_frame_batch_obj;
extern const mp_obj_fun_builtin_var_t mod_azure_backoff_ms_obj;

#endif
