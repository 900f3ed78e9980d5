// _azure bindings of the MQTT 3.1.1 codec (src/mqtt.rs; the Python API is
// docs/mqtt-ffi-spec.md's): framing of what a device sends, parsing of
// what a broker sends, IoT Hub topics. Same rules as modazure.c: check
// types and convert, allocate, call Rust, raise afterwards. Value checks
// (ranges, UTF-8, wildcards, sizes) are Rust's, done once there.

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

// Malformed input from a broker: the packet type in the message when it is
// the type that is wrong.
static NORETURN void azure_mqtt_raise(ptrdiff_t rc, const uint8_t *p) {
    if (rc == -UPY_AZURE_ERROR_MQTT_UNEXPECTED_TYPE) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("mqtt: unexpected packet type %d"), p[0] >> 4);
    }
    azure_raise(rc);
}

// The one framing path: count (validates everything), allocate, write.
static mp_obj_t azure_mqtt_frame(UpyAzureMqttFrame *f, mp_obj_t number, qstr name, const UpyAzureStr *strs, size_t n) {
    f->number = azure_get_u32(number, name);
    ptrdiff_t len = upy_azure_mqtt_frame(NULL, 0, f, strs, n);
    if (len < 0) {
        azure_raise(len);
    }
    vstr_t vstr;
    vstr_init_len(&vstr, (size_t)len);
    ptrdiff_t w = upy_azure_mqtt_frame((uint8_t *)vstr.buf, vstr.len, f, strs, n);
    if (w != len) {
        vstr_clear(&vstr);
        azure_raise(w < 0 ? w : -UPY_AZURE_ERROR_INVALID_STATE);
    }
    return mp_obj_new_bytes_from_vstr(&vstr);
}

static UpyAzureStr azure_text(mp_obj_t o, qstr name) {
    size_t len;
    const uint8_t *p = azure_get_text(o, &len, name, false);
    return azure_str(p, len);
}

// ---- mqtt_connect(client_id, username, password, keepalive, clean_session) -> bytes

static mp_obj_t mod_azure_mqtt_connect(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    UpyAzureStr s[3];
    s[0] = azure_text(args[0], MP_QSTR_client_id);
    s[1] = azure_text(args[1], MP_QSTR_username);
    size_t n = 2;
    if (args[2] != mp_const_none) {
        s[n++] = azure_text(args[2], MP_QSTR_password);
    }
    UpyAzureMqttFrame f = { UPY_AZURE_MQTT_CONNECT, mp_obj_is_true(args[4]) ? 2 : 0, 0, 0 };
    return azure_mqtt_frame(&f, args[3], MP_QSTR_keepalive, s, n);
}
MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_azure_mqtt_connect_obj, 5, 5, mod_azure_mqtt_connect);

// ---- mqtt_publish(topic, properties, packet_id, body_len, dup) -> bytes (header only)

static mp_obj_t mod_azure_mqtt_publish(size_t n_args, const mp_obj_t *args) {
    (void)n_args;
    UpyAzureStr s[1 + 2 * UPY_AZURE_MAX_PROPERTIES];
    s[0] = azure_text(args[0], MP_QSTR_topic);
    size_t n = 1 + azure_get_properties(args[1], s + 1);
    UpyAzureMqttFrame f = { UPY_AZURE_MQTT_PUBLISH, mp_obj_is_true(args[4]) ? 8 : 0, 0,
                            azure_get_size(args[3], MP_QSTR_body_len) };
    return azure_mqtt_frame(&f, args[2], MP_QSTR_packet_id, s, n);
}
MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(mod_azure_mqtt_publish_obj, 5, 5, mod_azure_mqtt_publish);

// ---- mqtt_subscribe(packet_id, filters) -> bytes; a filter is str (QoS 1) or (str, qos)

static mp_obj_t mod_azure_mqtt_subscribe(mp_obj_t id, mp_obj_t filters) {
    if (!mp_obj_is_type(filters, &mp_type_tuple) && !mp_obj_is_type(filters, &mp_type_list)) {
        mp_raise_TypeError(MP_ERROR_TEXT("filters must be a list"));
    }
    size_t n;
    mp_obj_t *items;
    mp_obj_get_array(filters, &n, &items);
    if (n > UPY_AZURE_MQTT_MAX_FILTERS) {
        azure_raise(-UPY_AZURE_ERROR_MQTT_BAD_ARGUMENT);
    }
    UpyAzureStr s[UPY_AZURE_MQTT_MAX_FILTERS];
    UpyAzureMqttFrame f = { UPY_AZURE_MQTT_SUBSCRIBE, 0, 0, 0 };
    for (size_t i = 0; i < n; i++) {
        mp_obj_t filter = items[i];
        uint32_t qos = 1;
        if (mp_obj_is_type(filter, &mp_type_tuple)) {
            size_t k;
            mp_obj_t *fq;
            mp_obj_tuple_get(filter, &k, &fq);
            if (k != 2) {
                mp_raise_TypeError(MP_ERROR_TEXT("a filter is str or (str, qos)"));
            }
            filter = fq[0];
            qos = azure_get_u32(fq[1], MP_QSTR_qos);
            if (qos > 1) {
                azure_raise(-UPY_AZURE_ERROR_MQTT_BAD_ARGUMENT);
            }
        }
        s[i] = azure_text(filter, MP_QSTR_filters);
        f.flags |= qos << i;
    }
    return azure_mqtt_frame(&f, id, MP_QSTR_packet_id, s, n);
}
MP_DEFINE_CONST_FUN_OBJ_2(mod_azure_mqtt_subscribe_obj, mod_azure_mqtt_subscribe);

// ---- mqtt_packet(kind, packet_id) -> bytes: PUBACK (4), PINGREQ (12), DISCONNECT (14)

static mp_obj_t mod_azure_mqtt_packet(mp_obj_t kind, mp_obj_t id) {
    uint32_t k = azure_get_u32(kind, MP_QSTR_kind);
    // Rust refuses any other kind (without strings, CONNECT, PUBLISH and
    // SUBSCRIBE are refused too); 0 stands for a kind that is not a byte.
    UpyAzureMqttFrame f = { k > 255 ? 0 : k, 0, 0, 0 };
    return azure_mqtt_frame(&f, id, MP_QSTR_packet_id, NULL, 0);
}
MP_DEFINE_CONST_FUN_OBJ_2(mod_azure_mqtt_packet_obj, mod_azure_mqtt_packet);

// ---- mqtt_header(buf) -> None | (type, flags, header_len, remaining_len)
// (Offsets and lengths are small ints: a packet is at most 268,435,460
// bytes, below 2**30 on every port.)

static mp_obj_t mod_azure_mqtt_header(mp_obj_t buf) {
    mp_buffer_info_t bi;
    mp_get_buffer_raise(buf, &bi, MP_BUFFER_READ);
    size_t rl = 0;
    ptrdiff_t hl = upy_azure_mqtt_header(bi.buf, bi.len, &rl);
    if (hl < 0) {
        azure_mqtt_raise(hl, bi.buf);
    }
    if (hl == 0) {
        return mp_const_none;
    }
    uint8_t b0 = ((const uint8_t *)bi.buf)[0];
    mp_obj_t t[4] = { MP_OBJ_NEW_SMALL_INT(b0 >> 4), MP_OBJ_NEW_SMALL_INT(b0 & 15),
                      MP_OBJ_NEW_SMALL_INT(hl), MP_OBJ_NEW_SMALL_INT(rl) };
    return mp_obj_new_tuple(4, t);
}
MP_DEFINE_CONST_FUN_OBJ_1(mod_azure_mqtt_header_obj, mod_azure_mqtt_header);

// ---- mqtt_parse(packet) -> (2, session_present, code) | (3, qos, dup, packet_id,
//      topic_start, topic_end, payload_start) | (4, id) | (9, id, codes) | (11, id) | (13,)

static mp_obj_t mod_azure_mqtt_parse(mp_obj_t packet) {
    mp_buffer_info_t bi;
    mp_get_buffer_raise(packet, &bi, MP_BUFFER_READ);
    UpyAzureMqttPacket p;
    ptrdiff_t rc = upy_azure_mqtt_parse(bi.buf, bi.len, &p);
    if (rc < 0) {
        azure_mqtt_raise(rc, bi.buf);
    }
    mp_obj_t t[7] = { MP_OBJ_NEW_SMALL_INT(p.kind), MP_OBJ_NEW_SMALL_INT(p.packet_id) };
    size_t n = 2;
    switch (p.kind) {
        case UPY_AZURE_MQTT_CONNACK:
            t[1] = mp_obj_new_bool(p.flags & 1);
            t[2] = MP_OBJ_NEW_SMALL_INT(p.code);
            n = 3;
            break;
        case UPY_AZURE_MQTT_PUBLISH:
            t[1] = MP_OBJ_NEW_SMALL_INT((p.flags >> 1) & 3);
            t[2] = mp_obj_new_bool(p.flags & 8);
            t[3] = MP_OBJ_NEW_SMALL_INT(p.packet_id);
            t[4] = MP_OBJ_NEW_SMALL_INT(p.topic_start);
            t[5] = MP_OBJ_NEW_SMALL_INT(p.topic_end);
            t[6] = MP_OBJ_NEW_SMALL_INT(p.payload_start);
            n = 7;
            break;
        case UPY_AZURE_MQTT_SUBACK:
            t[2] = mp_obj_new_bytes((const uint8_t *)bi.buf + p.payload_start, bi.len - p.payload_start);
            n = 3;
            break;
        case UPY_AZURE_MQTT_PINGRESP:
            n = 1;
            break;
    }
    return mp_obj_new_tuple(n, t);
}
MP_DEFINE_CONST_FUN_OBJ_1(mod_azure_mqtt_parse_obj, mod_azure_mqtt_parse);

// ---- mqtt_topic(topic, device_id) -> (kind, a, b, props)

static mp_obj_t mod_azure_mqtt_topic(mp_obj_t topic, mp_obj_t device_id) {
    size_t t_len, d_len;
    const uint8_t *t = azure_get_text(topic, &t_len, MP_QSTR_topic, true);
    const uint8_t *d = azure_get_text(device_id, &d_len, MP_QSTR_device_id, false);
    // The decoded pieces: never longer than the topic.
    vstr_t vstr;
    vstr_init_len(&vstr, t_len);
    UpyAzureMqttTopic r;
    ptrdiff_t rc = upy_azure_mqtt_topic(t, t_len, d, d_len, (uint8_t *)vstr.buf, vstr.len, &r);
    if (rc < 0) {
        vstr_clear(&vstr);
        azure_raise(rc);
    }
    mp_obj_t pieces[UPY_AZURE_MQTT_TOPIC_PIECES];
    for (size_t i = 0, start = 0; i < r.n_pieces; start = r.ends[i++]) {
        pieces[i] = mp_obj_new_str(vstr.buf + start, r.ends[i] - start);
    }
    vstr_clear(&vstr);
    mp_obj_t res[4] = { MP_OBJ_NEW_SMALL_INT(r.kind), mp_const_none, mp_const_none, mp_obj_new_dict(0) };
    size_t head = 0;
    if (r.kind == 1 || r.kind == 2) {
        res[1] = mp_obj_new_int_from_uint(r.number);
    }
    if (r.kind == 1) {
        res[2] = pieces[head++];
    }
    if (r.kind == 3) {
        res[1] = pieces[head++];
        res[2] = pieces[head++];
    }
    for (; head + 1 < r.n_pieces; head += 2) {
        mp_obj_dict_store(res[3], pieces[head], pieces[head + 1]);
    }
    return mp_obj_new_tuple(4, res);
}
MP_DEFINE_CONST_FUN_OBJ_2(mod_azure_mqtt_topic_obj, mod_azure_mqtt_topic);
