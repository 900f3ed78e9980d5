// Helpers shared by the _azure binding files.
#ifndef MICROPY_INCLUDED_MODAZURE_H
#define MICROPY_INCLUDED_MODAZURE_H

#include "py/obj.h"

NORETURN void azure_raise(intptr_t neg_code);
uint64_t azure_get_u64(mp_obj_t o, qstr name);
mp_obj_t azure_new_u64(uint64_t v);
const uint8_t *azure_get_text(mp_obj_t o, size_t *len, qstr name, bool allow_bytes);

// The send path (request framing, batches, the response reader): left out
// where the firmware has no room (the WiPy), where the Python layer frames
// requests itself.
#ifndef MICROPY_PY_AZURE_SEND
#define MICROPY_PY_AZURE_SEND (1)
#endif

// The native connection-string parser: left out on the WiPy too, whose
// Python layer parses connection strings itself (azure/_connstr.py).
#ifndef MICROPY_PY_AZURE_CONNSTR
#define MICROPY_PY_AZURE_CONNSTR (1)
#endif

// Defined in modazure_send.c, listed in modazure.c's globals table.
extern const mp_obj_fun_builtin_var_t mod_azure_frame_request_obj;
extern const mp_obj_fun_builtin_var_t mod_azure_frame_batch_obj;
extern const mp_obj_fun_builtin_fixed_t mod_azure_classify_obj;
extern const mp_obj_fun_builtin_var_t mod_azure_backoff_ms_obj;
extern const mp_obj_type_t azure_response_type;

#endif
