// _azure: MicroPython bindings of the upy-azure Rust library (SAS tokens,
// clock, CRC-32; the HTTP side is in modazure_http.c). Thin by design: check and convert arguments,
// allocate the output, call Rust, then raise in C if Rust reported an error.
// No MicroPython exception is ever raised while a Rust frame is on the stack.

#include <stdint.h>
#include <string.h>

#if MICROPY_ENABLE_DYNRUNTIME
#include "natmod.h" // the dynamic native module (.mpy): make natmod
#else
#include "py/runtime.h"
#include "py/objint.h"
#include "py/objstr.h"
#include "py/smallint.h"
#include "py/mphal.h"
#endif

#include "upy_azure.h"
#include "modazure.h"

// ---- Errors: the one table of messages, and the one place that turns a
// Rust error code into an exception (ValueError: every code is about a
// value the caller passed).

static mp_rom_error_text_t azure_message(int code) {
    switch (code) {
        case UPY_AZURE_ERROR_EMPTY_URI:
            return MP_ERROR_TEXT("uri must not be empty");
        case UPY_AZURE_ERROR_EMPTY_KEY:
            return MP_ERROR_TEXT("key must not be empty");
        case UPY_AZURE_ERROR_INVALID_BASE64_KEY:
            return MP_ERROR_TEXT("key is not valid base64 (key_is_base64=True is for IoT Hub keys)");
        case UPY_AZURE_ERROR_KEY_TOO_LONG:
            return MP_ERROR_TEXT("base64 key too long: the limit is 344 characters");
        case UPY_AZURE_ERROR_EMPTY_KEY_NAME:
            return MP_ERROR_TEXT("key_name must not be empty (pass None to leave skn out)");
        case UPY_AZURE_ERROR_INVALID_HOST:
            return MP_ERROR_TEXT("invalid host name: use letters, digits, - and . with an optional :port");
        case UPY_AZURE_ERROR_EXPIRY_OVERFLOW:
            return MP_ERROR_TEXT("expiry overflows 64 bits");
        case UPY_AZURE_ERROR_CLOCK_NOT_SET:
            return MP_ERROR_TEXT("clock is not set (it reads before 2020-01-01): set it from NTP, or pass expiry=");
        case UPY_AZURE_ERROR_INVALID_HEADER_NAME:
            return MP_ERROR_TEXT("invalid property name: an HTTP token, not a header the library sets");
        case UPY_AZURE_ERROR_INVALID_HEADER_VALUE:
            return MP_ERROR_TEXT("invalid property, partition key or token: printable ASCII only");
        case UPY_AZURE_ERROR_INVALID_PATH_SEGMENT:
            return MP_ERROR_TEXT("path names (entity, device, ...) must not be empty");
        case UPY_AZURE_ERROR_MESSAGE_TOO_LARGE:
            return MP_ERROR_TEXT("message larger than max_size (256 KB by default, 1 MB at most)");
        case UPY_AZURE_ERROR_EMPTY_BATCH:
            return MP_ERROR_TEXT("a batch needs at least one event");
        case UPY_AZURE_ERROR_INVALID_UTF8:
            return MP_ERROR_TEXT("Event Hubs/Service Bus batches need UTF-8 text: send binary bodies one by one");
        case UPY_AZURE_ERROR_INVALID_STATE:
            return MP_ERROR_TEXT("invalid method or combination of arguments (e.g. partition_key for IoT Hub)");
        case UPY_AZURE_ERROR_INVALID_MAX_SIZE:
            return MP_ERROR_TEXT("max_size must be between 1 and 1048576 bytes");
        case UPY_AZURE_ERROR_EMPTY_REGISTRATION_ID:
            return MP_ERROR_TEXT("registration_id must not be empty");
        case UPY_AZURE_ERROR_INVALID_PATH:
            return MP_ERROR_TEXT("invalid path or query: printable ASCII, no spaces");
        case UPY_AZURE_ERROR_MQTT_MALFORMED:
            return MP_ERROR_TEXT("mqtt: malformed packet");
        case UPY_AZURE_ERROR_MQTT_REMAINING_LENGTH:
            return MP_ERROR_TEXT("mqtt: bad remaining length");
        case UPY_AZURE_ERROR_MQTT_LENGTH_PAST_END:
            return MP_ERROR_TEXT("mqtt: length past the end");
        case UPY_AZURE_ERROR_MQTT_INVALID_STRING:
            return MP_ERROR_TEXT("mqtt: bad topic or string");
        case UPY_AZURE_ERROR_MQTT_TOO_LONG:
            return MP_ERROR_TEXT("mqtt: too long");
        case UPY_AZURE_ERROR_MQTT_BAD_BAG:
            return MP_ERROR_TEXT("mqtt: bad property bag");
        case UPY_AZURE_ERROR_MQTT_BAD_TOPIC:
            return MP_ERROR_TEXT("mqtt: bad IoT Hub topic");
        case UPY_AZURE_ERROR_MQTT_BAD_ARGUMENT:
            return MP_ERROR_TEXT("mqtt: value out of range");
        default:
            return NULL;
    }
}

NORETURN void azure_raise(intptr_t neg_code) {
    int code = (int)-neg_code;
    mp_rom_error_text_t msg = azure_message(code);
    if (msg == NULL) {
        mp_raise_msg_varg(&mp_type_RuntimeError, MP_ERROR_TEXT("_azure: internal error %d"), code);
    }
    mp_raise_ValueError(msg);
}

// ---- Argument helpers shared with the send bindings.

// Reads a non-negative int of up to 64 bits, on 32-bit ports too.
uint64_t azure_get_u64(mp_obj_t o, qstr name) {
    if (!mp_obj_is_int(o)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("%q must be an int"), name);
    }
    if (mp_obj_int_sign(o) < 0) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q must not be negative"), name);
    }
    if (mp_obj_is_small_int(o)) {
        return (uint64_t)MP_OBJ_SMALL_INT_VALUE(o);
    }
    #if MICROPY_LONGINT_IMPL != MICROPY_LONGINT_IMPL_NONE
    byte b[8];
    if (!mp_obj_int_to_bytes_impl(o, false, sizeof(b), b)) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q must be below 2**64"), name);
    }
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | b[i];
    }
    return v;
    #else
    mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q out of range"), name);
    #endif
}

uint32_t azure_get_u32(mp_obj_t o, qstr name) {
    uint64_t v = azure_get_u64(o, name);
    if (v > 0xffffffffu) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q must be below 2**32"), name);
    }
    return (uint32_t)v;
}

mp_obj_t azure_new_u64(uint64_t v) {
    if (v <= (uint64_t)MP_SMALL_INT_MAX) {
        return MP_OBJ_NEW_SMALL_INT((mp_int_t)v);
    }
    return mp_obj_new_int_from_ull(v);
}

// str -> its UTF-8 bytes; with allow_bytes, any read buffer (bytes,
// bytearray, memoryview) as well.
const uint8_t *azure_get_text(mp_obj_t o, size_t *len, qstr name, bool allow_bytes) {
    if (mp_obj_is_str(o)) {
        return (const uint8_t *)mp_obj_str_get_data(o, len);
    }
    mp_buffer_info_t bi;
    if (allow_bytes && mp_get_buffer(o, &bi, MP_BUFFER_READ)) {
        *len = bi.len;
        return bi.buf;
    }
    mp_raise_msg_varg(&mp_type_TypeError,
        allow_bytes ? MP_ERROR_TEXT("%q must be str or bytes") : MP_ERROR_TEXT("%q must be str"), name);
}

// ---- unix_time()

// The port's clock as Unix seconds, through its own time.time(), whatever
// its epoch (1970 on unix, 2000 on the WiPy).
static uint64_t azure_unix_time(void) {
    mp_obj_t now;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t time_mod = mp_import_name(MP_QSTR_time, mp_const_none, MP_OBJ_NEW_SMALL_INT(0));
        now = mp_call_function_0(mp_load_attr(time_mod, MP_QSTR_time));
        nlr_pop();
    } else {
        // Only "there is no time.time()" means no clock; anything else
        // (KeyboardInterrupt, MemoryError, an OSError of the RTC) propagates.
        mp_obj_t exc = MP_OBJ_FROM_PTR(nlr.ret_val);
        if (!mp_obj_exception_match(exc, MP_OBJ_FROM_PTR(&mp_type_ImportError))
            && !mp_obj_exception_match(exc, MP_OBJ_FROM_PTR(&mp_type_AttributeError))) {
            nlr_jump(nlr.ret_val);
        }
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("this port has no clock (no time.time()): pass expiry="));
    }
    uint64_t secs;
    #if MICROPY_PY_BUILTINS_FLOAT
    if (mp_obj_is_float(now)) {
        mp_float_t f = mp_obj_get_float(now);
        if (!(f >= 0)) {
            azure_raise(-UPY_AZURE_ERROR_CLOCK_NOT_SET);
        }
        // Converting a float at or above 2**64 (or inf) to uint64_t is undefined.
        if (f >= (mp_float_t)18446744073709551616.0) {
            mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q must be below 2**64"), MP_QSTR_time);
        }
        secs = (uint64_t)f;
    } else
    #elif MICROPY_ENABLE_DYNRUNTIME
    now = natmod_float_clock(now);
    #endif
    {
        secs = azure_get_u64(now, MP_QSTR_time);
    }
    uint64_t unix_now;
    #if MICROPY_ENABLE_DYNRUNTIME
    const bool epoch_2000 = natmod_epoch_is_2000();
    #elif MICROPY_EPOCH_IS_1970
    const bool epoch_2000 = false;
    #else
    const bool epoch_2000 = true;
    #endif
    intptr_t rc = upy_azure_unix_time(secs, epoch_2000, &unix_now);
    if (rc < 0) {
        azure_raise(rc);
    }
    return unix_now;
}

static mp_obj_t mod_azure_unix_time(void) {
    return azure_new_u64(azure_unix_time());
}
static MP_DEFINE_CONST_FUN_OBJ_0(mod_azure_unix_time_obj, mod_azure_unix_time);

// ---- sas_token(uri, key, key_name=None, *, expiry=None, ttl=3600, key_is_base64=False)

static mp_obj_t mod_azure_sas_token(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_uri, ARG_key, ARG_key_name, ARG_expiry, ARG_ttl, ARG_key_is_base64 };
    AZURE_ARG_TABLE mp_arg_t allowed_args[] = {
        { MP_QSTR_uri, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_key, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_key_name, MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_expiry, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_ttl, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(3600)} },
        { MP_QSTR_key_is_base64, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = false} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);

    size_t uri_len, key_len, name_len = 0;
    const uint8_t *uri = azure_get_text(args[ARG_uri].u_obj, &uri_len, MP_QSTR_uri, false);
    const uint8_t *key = azure_get_text(args[ARG_key].u_obj, &key_len, MP_QSTR_key, true);
    const uint8_t *name = NULL;
    if (args[ARG_key_name].u_obj != mp_const_none) {
        name = azure_get_text(args[ARG_key_name].u_obj, &name_len, MP_QSTR_key_name, false);
    }

    uint64_t expiry;
    if (args[ARG_expiry].u_obj != mp_const_none) {
        // An explicit expiry is never second-guessed.
        expiry = azure_get_u64(args[ARG_expiry].u_obj, MP_QSTR_expiry);
    } else {
        uint64_t ttl = azure_get_u64(args[ARG_ttl].u_obj, MP_QSTR_ttl);
        if (ttl == 0) {
            mp_raise_ValueError(MP_ERROR_TEXT("ttl must be positive"));
        }
        intptr_t rc = upy_azure_expiry(azure_unix_time(), ttl, &expiry);
        if (rc < 0) {
            azure_raise(rc);
        }
    }

    // Allocate the result first, then let Rust fill it.
    size_t cap = upy_azure_sas_token_max_len(uri_len, name != NULL, name_len);
    vstr_t vstr;
    vstr_init_len(&vstr, cap);
    intptr_t n = upy_azure_sas_token((uint8_t *)vstr.buf, cap, uri, uri_len, key, key_len,
        name, name_len, expiry, args[ARG_key_is_base64].u_bool);
    if (n < 0) {
        vstr_clear(&vstr);
        azure_raise(n);
    }
    vstr.len = (size_t)n;
    return mp_obj_new_str_from_vstr(&vstr);
}
static MP_DEFINE_CONST_FUN_OBJ_KW(mod_azure_sas_token_obj, 2, mod_azure_sas_token);

// ---- derive_device_key(group_key, registration_id) -> str

static mp_obj_t mod_azure_derive_device_key(mp_obj_t key_in, mp_obj_t id_in) {
    size_t key_len, id_len;
    const uint8_t *key = azure_get_text(key_in, &key_len, MP_QSTR_group_key, true);
    const uint8_t *id = azure_get_text(id_in, &id_len, MP_QSTR_registration_id, false);
    vstr_t vstr;
    vstr_init_len(&vstr, UPY_AZURE_DERIVED_KEY_LEN);
    intptr_t n = upy_azure_derive_device_key((uint8_t *)vstr.buf, vstr.len, key, key_len, id, id_len);
    if (n < 0) {
        vstr_clear(&vstr);
        azure_raise(n);
    }
    return mp_obj_new_str_from_vstr(&vstr);
}
static MP_DEFINE_CONST_FUN_OBJ_2(mod_azure_derive_device_key_obj, mod_azure_derive_device_key);

// ---- crc32(data, crc=0) -> int: the CRC-32 of zlib and binascii.crc32

static mp_obj_t mod_azure_crc32(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t bi;
    mp_get_buffer_raise(args[0], &bi, MP_BUFFER_READ);
    uint32_t crc = n_args > 1 ? azure_get_u32(args[1], MP_QSTR_crc) : 0;
    return mp_obj_new_int_from_uint(upy_azure_crc32(crc, bi.buf, bi.len));
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_azure_crc32_obj, 1, 2, mod_azure_crc32);

// ---- Module

#if MICROPY_ENABLE_DYNRUNTIME
// The dynamic module: its globals are filled in when it is imported.
mp_obj_t mpy_init(mp_obj_fun_bc_t *self, size_t n_args, size_t n_kw, mp_obj_t *args) {
    MP_DYNRUNTIME_INIT_ENTRY
    mp_store_global(MP_QSTR___name__, MP_OBJ_NEW_QSTR(MP_QSTR__azure));
    mp_store_global(MP_QSTR_sas_token, MP_OBJ_FROM_PTR(&mod_azure_sas_token_obj));
    mp_store_global(MP_QSTR_unix_time, MP_OBJ_FROM_PTR(&mod_azure_unix_time_obj));
    mp_store_global(MP_QSTR_crc32, MP_OBJ_FROM_PTR(&mod_azure_crc32_obj));
    mp_store_global(MP_QSTR_derive_device_key, MP_OBJ_FROM_PTR(&mod_azure_derive_device_key_obj));
    mp_store_global(MP_QSTR_frame_head, MP_OBJ_FROM_PTR(&mod_azure_frame_head_obj));
    mp_store_global(MP_QSTR_frame_batch, MP_OBJ_FROM_PTR(&mod_azure_frame_batch_obj));
    mp_store_global(MP_QSTR_backoff_ms, MP_OBJ_FROM_PTR(&mod_azure_backoff_ms_obj));
    mp_store_global(MP_QSTR_mqtt_connect, MP_OBJ_FROM_PTR(&mod_azure_mqtt_connect_obj));
    mp_store_global(MP_QSTR_mqtt_publish, MP_OBJ_FROM_PTR(&mod_azure_mqtt_publish_obj));
    mp_store_global(MP_QSTR_mqtt_subscribe, MP_OBJ_FROM_PTR(&mod_azure_mqtt_subscribe_obj));
    mp_store_global(MP_QSTR_mqtt_packet, MP_OBJ_FROM_PTR(&mod_azure_mqtt_packet_obj));
    mp_store_global(MP_QSTR_mqtt_header, MP_OBJ_FROM_PTR(&mod_azure_mqtt_header_obj));
    mp_store_global(MP_QSTR_mqtt_parse, MP_OBJ_FROM_PTR(&mod_azure_mqtt_parse_obj));
    mp_store_global(MP_QSTR_mqtt_topic, MP_OBJ_FROM_PTR(&mod_azure_mqtt_topic_obj));
    MP_DYNRUNTIME_INIT_EXIT
}
#else
static const mp_rom_map_elem_t mp_module_azure_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__azure) },
    { MP_ROM_QSTR(MP_QSTR_sas_token), MP_ROM_PTR(&mod_azure_sas_token_obj) },
    { MP_ROM_QSTR(MP_QSTR_unix_time), MP_ROM_PTR(&mod_azure_unix_time_obj) },
    { MP_ROM_QSTR(MP_QSTR_crc32), MP_ROM_PTR(&mod_azure_crc32_obj) },
    { MP_ROM_QSTR(MP_QSTR_derive_device_key), MP_ROM_PTR(&mod_azure_derive_device_key_obj) },
    { MP_ROM_QSTR(MP_QSTR_frame_head), MP_ROM_PTR(&mod_azure_frame_head_obj) },
    { MP_ROM_QSTR(MP_QSTR_frame_batch), MP_ROM_PTR(&mod_azure_frame_batch_obj) },
    { MP_ROM_QSTR(MP_QSTR_backoff_ms), MP_ROM_PTR(&mod_azure_backoff_ms_obj) },
    { MP_ROM_QSTR(MP_QSTR_mqtt_connect), MP_ROM_PTR(&mod_azure_mqtt_connect_obj) },
    { MP_ROM_QSTR(MP_QSTR_mqtt_publish), MP_ROM_PTR(&mod_azure_mqtt_publish_obj) },
    { MP_ROM_QSTR(MP_QSTR_mqtt_subscribe), MP_ROM_PTR(&mod_azure_mqtt_subscribe_obj) },
    { MP_ROM_QSTR(MP_QSTR_mqtt_packet), MP_ROM_PTR(&mod_azure_mqtt_packet_obj) },
    { MP_ROM_QSTR(MP_QSTR_mqtt_header), MP_ROM_PTR(&mod_azure_mqtt_header_obj) },
    { MP_ROM_QSTR(MP_QSTR_mqtt_parse), MP_ROM_PTR(&mod_azure_mqtt_parse_obj) },
    { MP_ROM_QSTR(MP_QSTR_mqtt_topic), MP_ROM_PTR(&mod_azure_mqtt_topic_obj) },
};
static MP_DEFINE_CONST_DICT(mp_module_azure_globals, mp_module_azure_globals_table);

const mp_obj_module_t mp_module_azure = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&mp_module_azure_globals,
};

MP_REGISTER_MODULE(MP_QSTR__azure, mp_module_azure);
#endif

#if !defined(__arm__)
// Host builds: the prebuilt `core` for x86_64 is compiled for unwinding and
// references this symbol even though the library aborts on panic.
void rust_eh_personality(void);
void rust_eh_personality(void) {
}
#endif
