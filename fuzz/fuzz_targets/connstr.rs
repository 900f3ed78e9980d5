//! Connection strings on arbitrary bytes: `connstr::parse`, the `Pairs`
//! iterator and the C walker `upy_azure_connstr_next`, against a plain
//! std model of the documented grammar (segments split at `;`, blank ones
//! skipped, each split at its FIRST `=`; names unique; required fields).
#![no_main]

use libfuzzer_sys::fuzz_target;
use upy_azure::connstr::{self, ConnStr, Kind, Pairs};
use upy_azure::error::Error;
use upy_azure::ffi::auth::{upy_azure_connstr_check, upy_azure_connstr_next};

/// `part` lies inside `whole` (pointer range, not just equal bytes).
fn within(whole: &[u8], part: &[u8]) -> bool {
    let (w, p) = (whole.as_ptr() as usize, part.as_ptr() as usize);
    p >= w && p + part.len() <= w + whole.len()
}

type Pair<'a> = Result<(&'a [u8], &'a [u8]), Error>;

/// The grammar, written the obvious way.
fn model_pairs(s: &[u8]) -> Vec<Pair<'_>> {
    let mut out = Vec::new();
    for seg in s.split(|&b| b == b';') {
        if seg.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match seg.iter().position(|&b| b == b'=') {
            Some(i) if i > 0 => out.push(Ok((&seg[..i], &seg[i + 1..]))),
            _ => {
                out.push(Err(Error::ConnStrMalformed));
                break;
            }
        }
    }
    out
}

fn valid_host(h: &[u8]) -> bool {
    !h.is_empty()
        && h.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b))
}

fn model_parse(s: &[u8]) -> Result<ConnStr<'_>, Error> {
    let mut c = ConnStr::default();
    let mut seen: Vec<&[u8]> = Vec::new();
    for p in model_pairs(s) {
        let (name, value) = p?;
        if seen.contains(&name) {
            return Err(Error::ConnStrDuplicate);
        }
        seen.push(name);
        let slot = match name {
            b"Endpoint" => &mut c.endpoint,
            b"HostName" => &mut c.host_name,
            b"SharedAccessKeyName" => &mut c.key_name,
            b"SharedAccessKey" => &mut c.key,
            b"EntityPath" => &mut c.entity_path,
            b"DeviceId" => &mut c.device_id,
            b"ModuleId" => &mut c.module_id,
            _ => continue,
        };
        *slot = Some(value);
    }
    if seen.is_empty() {
        return Err(Error::ConnStrEmpty);
    }
    let nonempty = |v: Option<&[u8]>| v.is_some_and(|v| !v.is_empty());
    if let Some(e) = c.endpoint {
        let host = e.strip_prefix(b"sb://").ok_or(Error::ConnStrInvalidEndpoint)?;
        let host = host.strip_suffix(b"/").unwrap_or(host);
        if !valid_host(host) {
            return Err(Error::ConnStrInvalidEndpoint);
        }
        if !nonempty(c.key_name) {
            return Err(Error::ConnStrMissingKeyName);
        }
    } else if let Some(h) = c.host_name {
        if !valid_host(h) {
            return Err(Error::InvalidHost);
        }
        if !nonempty(c.device_id) && !nonempty(c.key_name) {
            return Err(Error::ConnStrMissingDeviceId);
        }
    } else {
        return Err(Error::ConnStrMissingEndpoint);
    }
    if !nonempty(c.key) {
        return Err(Error::ConnStrMissingKey);
    }
    Ok(c)
}

fn fields<'a>(c: &ConnStr<'a>) -> [Option<&'a [u8]>; 7] {
    [
        c.endpoint,
        c.host_name,
        c.key_name,
        c.key,
        c.entity_path,
        c.device_id,
        c.module_id,
    ]
}

fuzz_target!(|s: &[u8]| {
    // Pairs: sub-slices of the input, the documented split, ends after an error.
    let pairs: Vec<Pair<'_>> = Pairs::new(s).take(s.len() + 2).collect();
    assert!(pairs.len() <= s.len() / 2 + 1);
    for p in &pairs {
        if let Ok((name, value)) = p {
            assert!(within(s, name) && within(s, value));
            assert!(!name.is_empty());
            assert!(!name.contains(&b'=') && !name.contains(&b';') && !value.contains(&b';'));
        }
    }
    if let Some(i) = pairs.iter().position(Result::is_err) {
        assert_eq!(i, pairs.len() - 1, "Pairs went on after an error");
    }
    assert_eq!(pairs, model_pairs(s));

    // The C walker gives the same pairs, as in-bounds offsets.
    let mut pos = 0usize;
    let mut walked = Vec::new();
    for _ in 0..s.len() + 2 {
        let (mut no, mut nl, mut vo, mut vl) = (0, 0, 0, 0);
        // SAFETY: `s` is a live slice; the out pointers are locals.
        let rc = unsafe {
            upy_azure_connstr_next(s.as_ptr(), s.len(), &mut pos, &mut no, &mut nl, &mut vo, &mut vl)
        };
        match rc {
            0 => break,
            1 => {
                assert!(no + nl <= s.len() && vo + vl <= s.len() && pos <= s.len());
                walked.push(Ok((&s[no..no + nl], &s[vo..vo + vl])));
            }
            e => {
                assert_eq!(e, -Error::ConnStrMalformed.code());
                walked.push(Err(Error::ConnStrMalformed));
                break;
            }
        }
    }
    assert_eq!(walked, pairs);

    // parse agrees with the model, field by field.
    let got = connstr::parse(s);
    let want = model_parse(s);
    match (&got, &want) {
        (Ok(c), Ok(m)) => {
            assert_eq!(fields(c), fields(m));
            for f in fields(c).into_iter().flatten() {
                assert!(within(s, f), "a field is not a slice of the input");
            }
            // Ok implies the required fields.
            assert!(c.key.is_some_and(|k| !k.is_empty()));
            let host = c.host().expect("Ok without a host");
            assert!(within(s, host) && valid_host(host));
            match c.kind() {
                Kind::ServiceBus => {
                    assert!(c.key_name.is_some_and(|k| !k.is_empty()));
                    assert_eq!(connstr::endpoint_host(c.endpoint.unwrap()), Ok(host));
                }
                Kind::IotHub => {
                    assert!(c.endpoint.is_none() && c.host_name == Some(host));
                    assert!(
                        c.device_id.is_some_and(|d| !d.is_empty())
                            || c.key_name.is_some_and(|k| !k.is_empty())
                    );
                }
            }
        }
        (Err(e), Err(f)) => assert_eq!(e, f),
        _ => panic!("parse {:?} but the model says {:?}", got.map(|c| fields(&c)), want.map(|c| fields(&c))),
    }
    // SAFETY: `s` is a live slice.
    let rc = unsafe { upy_azure_connstr_check(s.as_ptr(), s.len()) };
    assert_eq!(rc, got.map_or_else(|e| -e.code(), |_| 0));
});
