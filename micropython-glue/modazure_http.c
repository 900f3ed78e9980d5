// _azure bindings of the HTTP side: request heads (any method and path),
// batch bodies and backoff (responses are read by azure/response.py).
// Same rules as modazure.c: check types and convert, allocate, call Rust,
// raise afterwards. Value checks (sizes, names, injection) are
// Rust's, done once there.

#include <stdint.h>
#include <string.h>

#if MICROPY_ENABLE_DYNRUNTIME
#include "natmod.h" // the dynamic native module (.mpy): make natmod
#else
#include "py/runtime.h"
#include "py/objstr.h"
#endif

#include "upy_azure.h"
#include "modazure.h"

// None -> absent (NULL); str -> its bytes; anything else: TypeError.
UpyAzureStr azure_opt_str(mp_obj_t o, qstr name) {
    if (o == mp_const_none) {
        return azure_str(NULL, 0);
    }
    size_t len;
    const uint8_t *p = azure_get_text(o, &len, name, false);
    return azure_str(p, len);
}

// A dict of str -> str into out[] as name, value, ...; returns how many strings.
size_t azure_get_properties(mp_obj_t o, UpyAzureStr *out) {
    if (o == mp_const_none) {
        return 0;
    }
    if (!mp_obj_is_type(o, &mp_type_dict)) {
        mp_raise_TypeError(MP_ERROR_TEXT("properties must be a dict of str to str"));
    }
    mp_map_t *map = mp_obj_dict_get_map(o);
    if (map->used > UPY_AZURE_MAX_PROPERTIES) {
        mp_raise_ValueError(MP_ERROR_TEXT("too many properties: the limit is 16"));
    }
    size_t n = 0;
    for (size_t i = 0; i < map->alloc; i++) {
        if (mp_map_slot_is_filled(map, i)) {
            out[n++] = azure_opt_str(map->table[i].key, MP_QSTR_properties);
            out[n++] = azure_opt_str(map->table[i].value, MP_QSTR_properties);
            if (out[n - 2].ptr == NULL || out[n - 1].ptr == NULL) {
                mp_raise_TypeError(MP_ERROR_TEXT("properties must be a dict of str to str"));
            }
        }
    }
    return n;
}

// A size from Python: an int (TypeError otherwise); a negative or huge one
// becomes SIZE_MAX, which Rust refuses with its own message (MessageTooLarge,
// InvalidMaxSize), the same on 32- and 64-bit boards.
size_t azure_get_size(mp_obj_t o, qstr name) {
    if (mp_obj_is_small_int(o)) {
        mp_int_t v = MP_OBJ_SMALL_INT_VALUE(o);
        return v < 0 ? SIZE_MAX : (size_t)v;
    }
    if (!mp_obj_is_int(o)) {
        azure_get_u64(o, name); // raises the TypeError
    }
    return SIZE_MAX;
}

// ---- frame_head(method, path, host, token, body_len=0, query=None,
//      content_type=None, properties=None, prefix=None, partition_key=None,
//      keep_alive=True, max_size=262144) -> bytes
// Positional only (the clients' building block; keywords would cost the
// WiPy's image a table and a name each). `path` is a tuple or list of
// names (each percent-encoded) or a str used as given (a Location from the
// service); None for token, query, content_type, prefix and partition_key
// leaves that part out.

static mp_obj_t mod_azure_frame_head(size_t n_args, const mp_obj_t *args) {
    enum { ARG_method, ARG_path, ARG_host, ARG_token, ARG_body_len, ARG_query, ARG_content_type,
           ARG_properties, ARG_prefix, ARG_partition_key, ARG_keep_alive, ARG_max_size, N_ARGS };
    mp_obj_t a[N_ARGS];
    for (size_t i = 0; i < N_ARGS; i++) {
        a[i] = i < n_args ? args[i] : mp_const_none;
    }
    UpyAzureStr segs[UPY_AZURE_MAX_PATH_SEGMENTS];
    UpyAzureStr props[2 * UPY_AZURE_MAX_PROPERTIES];
    UpyAzureHead h;
    memset(&h, 0, sizeof(h));
    size_t len;
    const uint8_t *p = azure_get_text(a[ARG_method], &len, MP_QSTR_method, false);
    h.method = azure_str(p, len);
    p = azure_get_text(a[ARG_host], &len, MP_QSTR_host, false);
    h.host = azure_str(p, len);
    mp_obj_t path = a[ARG_path];
    if (mp_obj_is_str(path)) {
        h.raw_path = azure_opt_str(path, MP_QSTR_path);
    } else {
        if (!mp_obj_is_type(path, &mp_type_tuple) && !mp_obj_is_type(path, &mp_type_list)) {
            mp_raise_TypeError(MP_ERROR_TEXT("path must be a tuple of names or a str"));
        }
        size_t n;
        mp_obj_t *items;
        mp_obj_get_array(path, &n, &items);
        if (n > UPY_AZURE_MAX_PATH_SEGMENTS) {
            mp_raise_ValueError(MP_ERROR_TEXT("path has more than 8 names"));
        }
        for (size_t i = 0; i < n; i++) {
            size_t len;
            const uint8_t *p = azure_get_text(items[i], &len, MP_QSTR_path, false);
            segs[i] = azure_str(p, len);
        }
        h.segments = segs;
        h.n_segments = n;
    }
    h.token = azure_opt_str(a[ARG_token], MP_QSTR_token);
    h.body_len = a[ARG_body_len] == mp_const_none ? 0 : azure_get_size(a[ARG_body_len], MP_QSTR_body_len);
    h.query = azure_opt_str(a[ARG_query], MP_QSTR_query);
    h.content_type = azure_opt_str(a[ARG_content_type], MP_QSTR_content_type);
    h.properties = props;
    h.n_properties = azure_get_properties(a[ARG_properties], props);
    h.prefix = azure_opt_str(a[ARG_prefix], MP_QSTR_prefix);
    h.partition_key = azure_opt_str(a[ARG_partition_key], MP_QSTR_partition_key);
    h.keep_alive = a[ARG_keep_alive] == mp_const_none || mp_obj_is_true(a[ARG_keep_alive]);
    h.max_size = a[ARG_max_size] == mp_const_none ? UPY_AZURE_MAX_SIZE_DEFAULT : azure_get_size(a[ARG_max_size], MP_QSTR_max_size);

    // Count (validates everything), allocate, write.
    ptrdiff_t n = upy_azure_head(NULL, 0, &h);
    if (n < 0) {
        azure_raise(n);
    }
    vstr_t vstr;
    vstr_init_len(&vstr, (size_t)n);
    ptrdiff_t w = upy_azure_head((uint8_t *)vstr.buf, vstr.len, &h);
    if (w != n) {
        vstr_clear(&vstr);
        azure_raise(w < 0 ? w : -UPY_AZURE_ERROR_INVALID_STATE);
    }
    return mp_obj_new_bytes_from_vstr(&vstr);
}
MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_azure_frame_head_obj, 4, 12, mod_azure_frame_head);

// ---- frame_batch(events, iot=False, max_size=262144) -> bytes

// Adds every event to b, counting (buf NULL) or writing; returns 0 or -code.
static int azure_batch_add_all(UpyAzureBatch *b, uint8_t *buf, size_t cap, size_t n_events, mp_obj_t *events) {
    UpyAzureStr props[2 * UPY_AZURE_MAX_PROPERTIES];
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
        int rc = upy_azure_batch_add(b, buf, cap, azure_str(body, body_len), props, n_props, pk);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static mp_obj_t mod_azure_frame_batch(size_t n_args, const mp_obj_t *args) {
    mp_obj_t ev_obj = args[0];
    if (!mp_obj_is_type(ev_obj, &mp_type_list) && !mp_obj_is_type(ev_obj, &mp_type_tuple)) {
        mp_raise_TypeError(MP_ERROR_TEXT("events must be a list"));
    }
    size_t n_events;
    mp_obj_t *events;
    mp_obj_get_array(ev_obj, &n_events, &events);
    UpyAzureBatch b0 = { 0 };
    b0.iot = n_args > 1 && mp_obj_is_true(args[1]);
    b0.max_size = n_args > 2 ? azure_get_size(args[2], MP_QSTR_max_size) : UPY_AZURE_MAX_SIZE_DEFAULT;

    // Pass 1 counts, pass 2 writes into a buffer of exactly that size.
    UpyAzureBatch b = b0;
    int rc = azure_batch_add_all(&b, NULL, 0, n_events, events);
    ptrdiff_t total = rc < 0 ? rc : upy_azure_batch_finish(&b, NULL, 0);
    if (total < 0) {
        azure_raise(total);
    }
    vstr_t vstr;
    vstr_init_len(&vstr, (size_t)total);
    b = b0;
    rc = azure_batch_add_all(&b, (uint8_t *)vstr.buf, vstr.len, n_events, events);
    ptrdiff_t w = rc < 0 ? rc : upy_azure_batch_finish(&b, (uint8_t *)vstr.buf, vstr.len);
    if (w != total) {
        vstr_clear(&vstr);
        azure_raise(w < 0 ? w : -UPY_AZURE_ERROR_INVALID_STATE);
    }
    return mp_obj_new_bytes_from_vstr(&vstr);
}
MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_azure_frame_batch_obj, 1, 3, mod_azure_frame_batch);

// ---- backoff_ms(attempt, rand, retry_after=None, base_ms=500, cap_ms=30000) -> int

static mp_obj_t mod_azure_backoff_ms(size_t n_args, const mp_obj_t *args) {
    int32_t retry_after = -1;
    if (n_args > 2 && args[2] != mp_const_none) {
        uint32_t ra = azure_get_u32(args[2], MP_QSTR_retry_after);
        retry_after = ra > 0x7fffffff ? 0x7fffffff : (int32_t)ra;
    }
    uint32_t ms = upy_azure_backoff_ms(
        azure_get_u32(args[0], MP_QSTR_attempt),
        n_args > 3 ? azure_get_u32(args[3], MP_QSTR_base_ms) : 500,
        n_args > 4 ? azure_get_u32(args[4], MP_QSTR_cap_ms) : 30000,
        azure_get_u32(args[1], MP_QSTR_rand),
        retry_after);
    return azure_new_u64(ms);
}
MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_azure_backoff_ms_obj, 2, 5, mod_azure_backoff_ms);
