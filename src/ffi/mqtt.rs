//! C ABI of the MQTT codec (`crate::mqtt`). Same conventions as `http`: a
//! length (>= 0) or `-code`; a NULL output buffer means "count only".

use super::types::{strs, UpyAzureStr};
use super::{ret, slice, slice_mut};
use crate::error::Error;
use crate::mqtt::{self, Frame, Packet, Topic};

/// Frames one packet (see `mqtt::frame` for `strs` per kind) into `out`
/// and returns its length, or `-code`. `out` NULL: only the exact length
/// (validating everything).
///
/// # Safety
/// `out` NULL or valid for `out_len` writes, not overlapping the inputs;
/// `f` NULL or valid; `strs[0..n_strs]` NULL or valid, each string in it too.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_mqtt_frame(
    out: *mut u8,
    out_len: usize,
    f: *const Frame,
    strs_ptr: *const UpyAzureStr<'_>,
    n_strs: usize,
) -> isize {
    let Some(f) = f.as_ref() else {
        return ret(Err(Error::MqttBadArgument));
    };
    let out = if out.is_null() {
        None
    } else {
        Some(slice_mut(out, out_len))
    };
    ret(mqtt::frame_into(out, f, strs(strs_ptr, n_strs)))
}

/// The fixed header at the start of `buf`: returns its length and sets
/// `*remaining_len`; 0 when `buf` holds only part of it; or `-code`.
///
/// # Safety
/// `buf` NULL or valid for `len` reads; `remaining_len` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_mqtt_header(
    buf: *const u8,
    len: usize,
    remaining_len: *mut usize,
) -> isize {
    ret(mqtt::header(slice(buf, len)).map(|h| match h {
        Some((_, hl, rl)) => {
            if let Some(r) = remaining_len.as_mut() {
                *r = rl;
            }
            hl
        }
        None => 0,
    }))
}

/// Parses one whole packet into `*out`: 0, or `-code`.
///
/// # Safety
/// `p` NULL or valid for `len` reads; `out` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_mqtt_parse(p: *const u8, len: usize, out: *mut Packet) -> isize {
    let Some(out) = out.as_mut() else {
        return ret(Err(Error::MqttBadArgument));
    };
    ret(mqtt::parse(slice(p, len)).map(|r| {
        *out = r;
        0
    }))
}

/// Classifies IoT Hub topic `t` for `device_id` (see `mqtt::topic`),
/// decoding its pieces into `out` (give it `t_len` bytes): 0, or `-code`.
///
/// # Safety
/// `t`, `device_id` NULL or valid for their lengths; `out` NULL or valid
/// for `out_len` writes, not overlapping them; `r` NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn upy_azure_mqtt_topic(
    t: *const u8,
    t_len: usize,
    device_id: *const u8,
    device_id_len: usize,
    out: *mut u8,
    out_len: usize,
    r: *mut Topic,
) -> isize {
    let Some(r) = r.as_mut() else {
        return ret(Err(Error::MqttBadArgument));
    };
    ret(mqtt::topic(
        slice(t, t_len),
        slice(device_id, device_id_len),
        slice_mut(out, out_len),
        r,
    )
    .map(|()| 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_round_trip() {
        let s = [UpyAzureStr::new(b"$iothub/twin/GET/?$rid=1")];
        let f = Frame {
            kind: mqtt::PUBLISH,
            ..Frame::default()
        };
        let null = core::ptr::null_mut();
        unsafe {
            let n = upy_azure_mqtt_frame(null, 0, &f, s.as_ptr(), 1);
            assert_eq!(n, 28);
            let mut out = [0u8; 28];
            assert_eq!(
                upy_azure_mqtt_frame(out.as_mut_ptr(), 28, &f, s.as_ptr(), 1),
                28
            );
            assert_eq!(&out[..4], b"\x30\x1a\x00\x18");
            assert_eq!(
                upy_azure_mqtt_frame(out.as_mut_ptr(), 27, &f, s.as_ptr(), 1),
                -(Error::BufferTooSmall.code() as isize)
            );
            assert_eq!(
                upy_azure_mqtt_frame(null, 0, core::ptr::null(), s.as_ptr(), 1),
                -(Error::MqttBadArgument.code() as isize)
            );
            let mut rl = 0;
            assert_eq!(upy_azure_mqtt_header(out.as_ptr(), 28, &mut rl), 2);
            assert_eq!(rl, 26);
            assert_eq!(upy_azure_mqtt_header(out.as_ptr(), 1, &mut rl), 0);
            let mut p = Packet::default();
            assert_eq!(upy_azure_mqtt_parse(out.as_ptr(), 28, &mut p), 0);
            assert_eq!(
                (p.kind, p.topic_start, p.topic_end, p.payload_start),
                (3, 4, 28, 28)
            );
            assert_eq!(
                upy_azure_mqtt_parse(out.as_ptr(), 27, &mut p),
                -(Error::MqttMalformed.code() as isize)
            );
            let t = b"$iothub/twin/res/204/?$rid=2&$version=6";
            let mut buf = [0u8; 40];
            let mut r = Topic::default();
            assert_eq!(
                upy_azure_mqtt_topic(
                    t.as_ptr(),
                    t.len(),
                    b"d".as_ptr(),
                    1,
                    buf.as_mut_ptr(),
                    40,
                    &mut r
                ),
                0
            );
            assert_eq!((r.kind, r.number, r.n_pieces), (1, 204, 3));
            assert_eq!(&buf[..r.ends[2]], b"2$version6");
        }
    }
}
