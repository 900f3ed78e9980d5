// _azure bindings of the sending side: request heads, batch bodies, the
// incremental response reader, status classes and backoff. Same rules as
// modazure.c: convert and allocate first, call Rust, raise afterwards.

#include <stdint.h>
#include <string.h>

#include "py/runtime.h"
#include "py/objstr.h"

#include "upy_azure.h"
#include "modazure.h"

#if MICROPY_PY_AZURE_SEND

// Properties per event or request. They are converted into a stack array,
// so the limit keeps the stack small on a WiPy.
#define AZURE_MAX_PROPERTIES (16)

static UpyAzureStr azure_str(const uint8_t *p, size_t len) {
    UpyAzureStr s = { p, len };
    return s;
}

// None -> absent; str -> its bytes; anything else: TypeError.
static UpyAzureStr azure_opt_str(mp_obj_t o, qstr name) {
    if (o == mp_const_none) {
        return azure_str(NULL, 0);
    }
    size_t len;
    const uint8_t *p = azure_get_text(o, &len, name, false);
    return azure_str(p, len);
}

// A dict of str -> str into props[]; returns how many.
static size_t azure_get_properties(mp_obj_t o, UpyAzureProperty *props) {
    if (o == mp_const_none) {
        return 0;
    }
    if (!mp_obj_is_type(o, &mp_type_dict)) {
        mp_raise_TypeError(MP_ERROR_TEXT("properties must be a dict of str to str"));
    }
    mp_map_t *map = mp_obj_dict_get_map(o);
    if (map->used > AZURE_MAX_PROPERTIES) {
        mp_raise_ValueError(MP_ERROR_TEXT("too many properties: the limit is 16"));
    }
    size_t n = 0;
    for (size_t i = 0; i < map->alloc; i++) {
        if (!mp_map_slot_is_filled(map, i)) {
            continue;
        }
        size_t kl, vl;
        const uint8_t *k = azure_get_text(map->table[i].key, &kl, MP_QSTR_properties, false);
        const uint8_t *v = azure_get_text(map->table[i].value, &vl, MP_QSTR_properties, false);
        props[n].name = azure_str(k, kl);
        props[n].value = azure_str(v, vl);
        n++;
    }
    return n;
}

// An int in [lo, hi]: TypeError for other types, ValueError with msg for
// any other int. A long int is always out of range (results that fit are
// small ints): ValueError, not OverflowError, and the same answer on 32-
// and 64-bit ports.
static mp_int_t azure_get_int_in(mp_obj_t o, mp_int_t lo, mp_int_t hi, mp_rom_error_text_t msg) {
    if (mp_obj_is_int(o) && !mp_obj_is_small_int(o)) {
        mp_raise_ValueError(msg);
    }
    mp_int_t v = mp_obj_get_int(o);
    if (v < lo || v > hi) {
        mp_raise_ValueError(msg);
    }
    return v;
}

static uint8_t azure_get_kind(mp_obj_t o) {
    return (uint8_t)azure_get_int_in(o, 0, 2, MP_ERROR_TEXT("kind must be EVENT_HUB, SERVICE_BUS or IOT_HUB"));
}

static size_t azure_get_max_size(mp_obj_t o) {
    uint64_t v = azure_get_u64(o, MP_QSTR_max_size);
    if (v == 0 || v > 1048576) {
        mp_raise_ValueError(MP_ERROR_TEXT("max_size must be between 1 and 1048576 bytes"));
    }
    return (size_t)v;
}

// ---- frame_request(kind, host, entity, token, body_len, *, ...) -> bytes

static mp_obj_t mod_azure_frame_request(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_kind, ARG_host, ARG_entity, ARG_token, ARG_body_len, ARG_publisher, ARG_partition_id,
           ARG_module_id, ARG_content_type, ARG_properties, ARG_partition_key, ARG_batch,
           ARG_keep_alive, ARG_max_size };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_kind, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_host, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_entity, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_token, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_body_len, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_publisher, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_partition_id, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_module_id, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_content_type, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_properties, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_partition_key, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_batch, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = false} },
        { MP_QSTR_keep_alive, MP_ARG_KW_ONLY | MP_ARG_BOOL, {.u_bool = true} },
        { MP_QSTR_max_size, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(262144)} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);

    UpyAzureProperty props[AZURE_MAX_PROPERTIES];
    UpyAzureRequest r;
    memset(&r, 0, sizeof(r));
    r.kind = azure_get_kind(args[ARG_kind].u_obj);
    r.batch = args[ARG_batch].u_bool;
    r.keep_alive = args[ARG_keep_alive].u_bool;
    r.host = azure_opt_str(args[ARG_host].u_obj, MP_QSTR_host);
    r.entity = azure_opt_str(args[ARG_entity].u_obj, MP_QSTR_entity);
    r.token = azure_opt_str(args[ARG_token].u_obj, MP_QSTR_token);
    r.publisher = azure_opt_str(args[ARG_publisher].u_obj, MP_QSTR_publisher);
    r.partition_id = azure_opt_str(args[ARG_partition_id].u_obj, MP_QSTR_partition_id);
    r.module_id = azure_opt_str(args[ARG_module_id].u_obj, MP_QSTR_module_id);
    r.content_type = azure_opt_str(args[ARG_content_type].u_obj, MP_QSTR_content_type);
    r.partition_key = azure_opt_str(args[ARG_partition_key].u_obj, MP_QSTR_partition_key);
    r.properties.ptr = props;
    r.properties.len = azure_get_properties(args[ARG_properties].u_obj, props);
    uint64_t body_len = azure_get_u64(args[ARG_body_len].u_obj, MP_QSTR_body_len);
    r.max_size = azure_get_max_size(args[ARG_max_size].u_obj);
    if (body_len > r.max_size) {
        azure_raise(-UPY_AZURE_ERROR_MESSAGE_TOO_LARGE);
    }
    r.body_len = (size_t)body_len;

    ptrdiff_t n = upy_azure_request_head_len(&r);
    if (n < 0) {
        azure_raise(n);
    }
    vstr_t vstr;
    vstr_init_len(&vstr, (size_t)n);
    ptrdiff_t w = upy_azure_request_head((uint8_t *)vstr.buf, vstr.len, &r);
    if (w != n) {
        vstr_clear(&vstr);
        azure_raise(w < 0 ? w : -UPY_AZURE_ERROR_INVALID_STATE);
    }
    return mp_obj_new_bytes_from_vstr(&vstr);
}
MP_DEFINE_CONST_FUN_OBJ_KW(mod_azure_frame_request_obj, 5, mod_azure_frame_request);

// ---- frame_batch(kind, events, *, max_size=262144) -> bytes

// Adds every event to b (counting or writing); returns 0 or -code.
static int azure_batch_add_all(UpyAzureBatch *b, size_t n_events, mp_obj_t *events) {
    UpyAzureProperty props[AZURE_MAX_PROPERTIES];
    for (size_t i = 0; i < n_events; i++) {
        mp_obj_t body_obj = events[i], props_obj = mp_const_none, pk_obj = mp_const_none;
        if (mp_obj_is_type(events[i], &mp_type_tuple)) {
            size_t n;
            mp_obj_t *items;
            mp_obj_tuple_get(events[i], &n, &items);
            if (n < 1 || n > 3) {
                mp_raise_ValueError(MP_ERROR_TEXT("a batch event is (body, properties, partition_key)"));
            }
            body_obj = items[0];
            props_obj = n > 1 ? items[1] : mp_const_none;
            pk_obj = n > 2 ? items[2] : mp_const_none;
        }
        size_t body_len;
        const uint8_t *body = azure_get_text(body_obj, &body_len, MP_QSTR_body, true);
        size_t n_props = azure_get_properties(props_obj, props);
        UpyAzureStr pk = azure_opt_str(pk_obj, MP_QSTR_partition_key);
        int rc = upy_azure_batch_add(b, azure_str(body, body_len), props, n_props, pk);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static mp_obj_t mod_azure_frame_batch(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_kind, ARG_events, ARG_max_size };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_kind, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_events, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_max_size, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(262144)} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);
    uint8_t kind = azure_get_kind(args[ARG_kind].u_obj);
    size_t max_size = azure_get_max_size(args[ARG_max_size].u_obj);
    mp_obj_t ev_obj = args[ARG_events].u_obj;
    if (!mp_obj_is_type(ev_obj, &mp_type_list) && !mp_obj_is_type(ev_obj, &mp_type_tuple)) {
        mp_raise_TypeError(MP_ERROR_TEXT("events must be a list"));
    }
    size_t n_events;
    mp_obj_t *events;
    mp_obj_get_array(ev_obj, &n_events, &events);

    // Pass 1 counts, pass 2 writes into a buffer of exactly that size.
    UpyAzureBatch b;
    upy_azure_batch_init(&b, NULL, 0, kind, max_size);
    int rc = azure_batch_add_all(&b, n_events, events);
    ptrdiff_t total = rc < 0 ? rc : upy_azure_batch_finish(&b);
    if (total < 0) {
        azure_raise(total);
    }
    vstr_t vstr;
    vstr_init_len(&vstr, (size_t)total);
    upy_azure_batch_init(&b, (uint8_t *)vstr.buf, vstr.len, kind, max_size);
    rc = azure_batch_add_all(&b, n_events, events);
    ptrdiff_t w = rc < 0 ? rc : upy_azure_batch_finish(&b);
    if (w != total) {
        vstr_clear(&vstr);
        azure_raise(w < 0 ? w : -UPY_AZURE_ERROR_INVALID_STATE);
    }
    return mp_obj_new_bytes_from_vstr(&vstr);
}
MP_DEFINE_CONST_FUN_OBJ_KW(mod_azure_frame_batch_obj, 2, mod_azure_frame_batch);

// ---- Response: the incremental reader, reused across requests

typedef struct {
    mp_obj_base_t base;
    UpyAzureResponse r;
} azure_response_obj_t;

static mp_obj_t azure_response_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    azure_response_obj_t *self = mp_obj_malloc(azure_response_obj_t, type);
    upy_azure_response_init(&self->r);
    return MP_OBJ_FROM_PTR(self);
}

// feed(data) -> bytes consumed (fewer than given only once complete)
static mp_obj_t azure_response_feed(mp_obj_t self_in, mp_obj_t data) {
    azure_response_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_buffer_info_t bi;
    mp_get_buffer_raise(data, &bi, MP_BUFFER_READ);
    ptrdiff_t n = upy_azure_response_feed(&self->r, bi.buf, bi.len);
    if (n < 0) {
        azure_raise(n);
    }
    return MP_OBJ_NEW_SMALL_INT(n);
}
static MP_DEFINE_CONST_FUN_OBJ_2(azure_response_feed_obj, azure_response_feed);

// eof(): the connection closed; raises OSError if the response was cut short.
static mp_obj_t azure_response_eof(mp_obj_t self_in) {
    azure_response_obj_t *self = MP_OBJ_TO_PTR(self_in);
    int rc = upy_azure_response_eof(&self->r);
    if (rc < 0) {
        azure_raise(rc);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(azure_response_eof_obj, azure_response_eof);

static mp_obj_t azure_response_reset(mp_obj_t self_in) {
    azure_response_obj_t *self = MP_OBJ_TO_PTR(self_in);
    upy_azure_response_init(&self->r);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(azure_response_reset_obj, azure_response_reset);

static void azure_response_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    if (dest[0] != MP_OBJ_NULL) {
        return; // read-only
    }
    azure_response_obj_t *self = MP_OBJ_TO_PTR(self_in);
    switch (attr) {
        case MP_QSTR_status:
            dest[0] = MP_OBJ_NEW_SMALL_INT(self->r.status);
            break;
        case MP_QSTR_want:
            dest[0] = azure_new_u64(upy_azure_response_want(&self->r));
            break;
        case MP_QSTR_complete:
            dest[0] = mp_obj_new_bool(self->r.complete);
            break;
        case MP_QSTR_keep_alive:
            dest[0] = mp_obj_new_bool(self->r.keep_alive);
            break;
        case MP_QSTR_retry_after:
            dest[0] = self->r.retry_after < 0 ? mp_const_none : mp_obj_new_int(self->r.retry_after);
            break;
        case MP_QSTR_error_text: {
            size_t n = self->r.excerpt_len;
            dest[0] = mp_obj_new_bytes(self->r.excerpt, n < sizeof(self->r.excerpt) ? n : sizeof(self->r.excerpt));
            break;
        }
        default:
            dest[1] = MP_OBJ_SENTINEL; // methods from the locals dict
    }
}

static const mp_rom_map_elem_t azure_response_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_feed), MP_ROM_PTR(&azure_response_feed_obj) },
    { MP_ROM_QSTR(MP_QSTR_eof), MP_ROM_PTR(&azure_response_eof_obj) },
    { MP_ROM_QSTR(MP_QSTR_reset), MP_ROM_PTR(&azure_response_reset_obj) },
};
static MP_DEFINE_CONST_DICT(azure_response_locals, azure_response_locals_table);

MP_DEFINE_CONST_OBJ_TYPE(
    azure_response_type,
    MP_QSTR_Response,
    MP_TYPE_FLAG_NONE,
    make_new, azure_response_make_new,
    attr, azure_response_attr,
    locals_dict, &azure_response_locals
    );

// ---- classify(status) and backoff_ms(attempt, rand, *, retry_after=None, base_ms=500, cap_ms=30000)

static mp_obj_t mod_azure_classify(mp_obj_t status) {
    mp_int_t s = azure_get_int_in(status, 100, 999, MP_ERROR_TEXT("status must be an HTTP status code (100-999)"));
    return MP_OBJ_NEW_SMALL_INT(upy_azure_classify((uint16_t)s));
}
MP_DEFINE_CONST_FUN_OBJ_1(mod_azure_classify_obj, mod_azure_classify);

static uint32_t azure_get_u32(mp_obj_t o, qstr name) {
    uint64_t v = azure_get_u64(o, name);
    if (v > 0xffffffffu) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%q must be below 2**32"), name);
    }
    return (uint32_t)v;
}

static mp_obj_t mod_azure_backoff_ms(size_t n_args, const mp_obj_t *pos_args, mp_map_t *kw_args) {
    enum { ARG_attempt, ARG_rand, ARG_retry_after, ARG_base_ms, ARG_cap_ms };
    static const mp_arg_t allowed_args[] = {
        { MP_QSTR_attempt, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_rand, MP_ARG_REQUIRED | MP_ARG_OBJ, {.u_obj = MP_OBJ_NULL} },
        { MP_QSTR_retry_after, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = mp_const_none} },
        { MP_QSTR_base_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(500)} },
        { MP_QSTR_cap_ms, MP_ARG_KW_ONLY | MP_ARG_OBJ, {.u_obj = MP_OBJ_NEW_SMALL_INT(30000)} },
    };
    mp_arg_val_t args[MP_ARRAY_SIZE(allowed_args)];
    mp_arg_parse_all(n_args, pos_args, kw_args, MP_ARRAY_SIZE(allowed_args), allowed_args, args);
    int32_t retry_after = -1;
    if (args[ARG_retry_after].u_obj != mp_const_none) {
        uint32_t ra = azure_get_u32(args[ARG_retry_after].u_obj, MP_QSTR_retry_after);
        retry_after = ra > 0x7fffffff ? 0x7fffffff : (int32_t)ra;
    }
    uint32_t ms = upy_azure_backoff_ms(
        azure_get_u32(args[ARG_attempt].u_obj, MP_QSTR_attempt),
        azure_get_u32(args[ARG_base_ms].u_obj, MP_QSTR_base_ms),
        azure_get_u32(args[ARG_cap_ms].u_obj, MP_QSTR_cap_ms),
        azure_get_u32(args[ARG_rand].u_obj, MP_QSTR_rand),
        retry_after);
    return azure_new_u64(ms);
}
MP_DEFINE_CONST_FUN_OBJ_KW(mod_azure_backoff_ms_obj, 2, mod_azure_backoff_ms);

#endif // MICROPY_PY_AZURE_SEND
