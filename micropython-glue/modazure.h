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

// Shared by modazure_http.c (which defines them) and modazure_mqtt.c;
// UpyAzureStr is upy_azure.h's (include it first).
static inline UpyAzureStr azure_str(const uint8_t *p, size_t len) {
    UpyAzureStr s = { p, len };
    return s;
}
UpyAzureStr azure_opt_str(mp_obj_t o, qstr name);
size_t azure_get_properties(mp_obj_t o, UpyAzureStr *out);
size_t azure_get_size(mp_obj_t o, qstr name);

// Defined in modazure_http.c, listed in modazure.c's globals table.
extern const mp_obj_fun_builtin_var_t mod_azure_frame_head_obj;
extern const mp_obj_fun_builtin_var_t mod_azure_frame_batch_obj;
extern const mp_obj_fun_builtin_var_t mod_azure_backoff_ms_obj;

// Defined in modazure_mqtt.c.
extern const mp_obj_fun_builtin_var_t mod_azure_mqtt_connect_obj;
extern const mp_obj_fun_builtin_var_t mod_azure_mqtt_publish_obj;
extern const mp_obj_fun_builtin_fixed_t mod_azure_mqtt_subscribe_obj;
extern const mp_obj_fun_builtin_fixed_t mod_azure_mqtt_packet_obj;
extern const mp_obj_fun_builtin_fixed_t mod_azure_mqtt_header_obj;
extern const mp_obj_fun_builtin_fixed_t mod_azure_mqtt_parse_obj;
extern const mp_obj_fun_builtin_fixed_t mod_azure_mqtt_topic_obj;

#endif
