//! Connection strings as copied from the Azure portal:
//! `Endpoint=sb://<ns>.servicebus.windows.net/;SharedAccessKeyName=..;SharedAccessKey=..[;EntityPath=..]`
//! and `HostName=<hub>.azure-devices.net;DeviceId=..;SharedAccessKey=..`.
//! Segments are split at `;`, each at its FIRST `=` (base64 keys end in `=`).

use crate::error::{Error, Result};

/// Iterates the `name=value` segments; empty segments (a trailing `;`) are skipped.
pub struct Pairs<'a> {
    rest: &'a [u8],
}

impl<'a> Pairs<'a> {
    pub fn new(s: &'a [u8]) -> Self {
        Pairs { rest: s }
    }

    /// Bytes not yet consumed.
    pub fn remaining_len(&self) -> usize {
        self.rest.len()
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<(&'a [u8], &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (seg, rest) = match self.rest.iter().position(|&b| b == b';') {
                Some(i) => (
                    self.rest.get(..i).unwrap_or(&[]),
                    self.rest.get(i + 1..).unwrap_or(&[]),
                ),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            if seg.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            return Some(match seg.iter().position(|&b| b == b'=') {
                Some(0) | None => {
                    self.rest = &[];
                    Err(Error::ConnStrMalformed)
                }
                Some(i) => Ok((seg.get(..i).unwrap_or(&[]), seg.get(i + 1..).unwrap_or(&[]))),
            });
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Event Hubs or Service Bus (`Endpoint=sb://...`).
    ServiceBus,
    /// IoT Hub (`HostName=...`).
    IotHub,
}

/// The parts of a connection string the library uses, as slices of it.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnStr<'a> {
    pub endpoint: Option<&'a [u8]>,
    pub host_name: Option<&'a [u8]>,
    pub key_name: Option<&'a [u8]>,
    pub key: Option<&'a [u8]>,
    pub entity_path: Option<&'a [u8]>,
    pub device_id: Option<&'a [u8]>,
    pub module_id: Option<&'a [u8]>,
}

impl<'a> ConnStr<'a> {
    pub fn kind(&self) -> Kind {
        if self.endpoint.is_some() {
            Kind::ServiceBus
        } else {
            Kind::IotHub
        }
    }

    /// The namespace or hub host name (`Endpoint` without `sb://` and `/`, or `HostName`).
    pub fn host(&self) -> Option<&'a [u8]> {
        match self.endpoint {
            Some(e) => endpoint_host(e).ok(),
            None => self.host_name,
        }
    }
}

/// `sb://host/` -> `host`.
pub fn endpoint_host(endpoint: &[u8]) -> Result<&[u8]> {
    let host = endpoint
        .strip_prefix(b"sb://")
        .ok_or(Error::ConnStrInvalidEndpoint)?;
    let host = host.strip_suffix(b"/").unwrap_or(host);
    if !valid_host(host) {
        return Err(Error::ConnStrInvalidEndpoint);
    }
    Ok(host)
}

/// A DNS name or address with an optional port: letters, digits, `-`, `.`, `:`.
pub fn valid_host(host: &[u8]) -> bool {
    !host.is_empty()
        && host
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'_'))
}

fn set<'a>(slot: &mut Option<&'a [u8]>, v: &'a [u8]) -> Result<()> {
    if slot.is_some() {
        return Err(Error::ConnStrDuplicate);
    }
    *slot = Some(v);
    Ok(())
}

/// Parses and validates `s`.
pub fn parse(s: &[u8]) -> Result<ConnStr<'_>> {
    let mut c = ConnStr::default();
    let mut any = false;
    let mut names_seen = 0usize;
    for pair in Pairs::new(s) {
        let (name, value) = pair?;
        any = true;
        // Names we do not use are still checked for duplicates.
        let slot = match name {
            b"Endpoint" => &mut c.endpoint,
            b"HostName" => &mut c.host_name,
            b"SharedAccessKeyName" => &mut c.key_name,
            b"SharedAccessKey" => &mut c.key,
            b"EntityPath" => &mut c.entity_path,
            b"DeviceId" => &mut c.device_id,
            b"ModuleId" => &mut c.module_id,
            _ => {
                if Pairs::new(s)
                    .take(names_seen)
                    .any(|p| matches!(p, Ok((n, _)) if n == name))
                {
                    return Err(Error::ConnStrDuplicate);
                }
                names_seen += 1;
                continue;
            }
        };
        names_seen += 1;
        set(slot, value)?;
    }
    if !any {
        return Err(Error::ConnStrEmpty);
    }
    match (c.endpoint, c.host_name) {
        (Some(e), _) => {
            endpoint_host(e)?;
            if c.key_name.is_none_or(<[u8]>::is_empty) {
                return Err(Error::ConnStrMissingKeyName);
            }
        }
        (None, Some(h)) => {
            if !valid_host(h) {
                return Err(Error::InvalidHost);
            }
            if c.device_id.is_none_or(<[u8]>::is_empty) && c.key_name.is_none_or(<[u8]>::is_empty) {
                return Err(Error::ConnStrMissingDeviceId);
            }
        }
        (None, None) => return Err(Error::ConnStrMissingEndpoint),
    }
    if c.key.is_none_or(<[u8]>::is_empty) {
        return Err(Error::ConnStrMissingKey);
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EH: &[u8] = b"Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=abc+/def=;EntityPath=hub";
    const IOT: &[u8] = b"HostName=h.azure-devices.net;DeviceId=dev1;SharedAccessKey=a2V5a2V5==";

    #[test]
    fn event_hubs() {
        let c = parse(EH).unwrap();
        assert_eq!(c.kind(), Kind::ServiceBus);
        assert_eq!(c.host(), Some(&b"myns.servicebus.windows.net"[..]));
        assert_eq!(c.key, Some(&b"abc+/def="[..]));
        assert_eq!(c.key_name, Some(&b"RootManageSharedAccessKey"[..]));
        assert_eq!(c.entity_path, Some(&b"hub"[..]));
    }

    #[test]
    fn iot_hub() {
        let c = parse(IOT).unwrap();
        assert_eq!(c.kind(), Kind::IotHub);
        assert_eq!(c.host(), Some(&b"h.azure-devices.net"[..]));
        assert_eq!(c.device_id, Some(&b"dev1"[..]));
        assert_eq!(c.key, Some(&b"a2V5a2V5=="[..]));
    }

    #[test]
    fn first_equals_only_and_trailing_semicolon() {
        let v: std::vec::Vec<_> = Pairs::new(b"A=b=c;;D==;").collect();
        assert_eq!(
            v,
            [Ok((&b"A"[..], &b"b=c"[..])), Ok((&b"D"[..], &b"="[..]))]
        );
    }

    #[test]
    fn errors() {
        assert_eq!(parse(b"").unwrap_err(), Error::ConnStrEmpty);
        assert_eq!(parse(b";;").unwrap_err(), Error::ConnStrEmpty);
        assert_eq!(parse(b"Endpoint").unwrap_err(), Error::ConnStrMalformed);
        assert_eq!(parse(b"=x").unwrap_err(), Error::ConnStrMalformed);
        assert_eq!(
            parse(b"SharedAccessKey=k").unwrap_err(),
            Error::ConnStrMissingEndpoint
        );
        assert_eq!(
            parse(b"Endpoint=https://x/;SharedAccessKeyName=n;SharedAccessKey=k").unwrap_err(),
            Error::ConnStrInvalidEndpoint
        );
        assert_eq!(
            parse(b"Endpoint=sb://x/;SharedAccessKey=k").unwrap_err(),
            Error::ConnStrMissingKeyName
        );
        assert_eq!(
            parse(b"Endpoint=sb://x/;SharedAccessKeyName=n").unwrap_err(),
            Error::ConnStrMissingKey
        );
        assert_eq!(
            parse(b"HostName=h;SharedAccessKey=k").unwrap_err(),
            Error::ConnStrMissingDeviceId
        );
        assert_eq!(
            parse(b"HostName=h;DeviceId=d;DeviceId=e;SharedAccessKey=k").unwrap_err(),
            Error::ConnStrDuplicate
        );
        assert_eq!(
            parse(b"HostName=h;Foo=1;Foo=2;DeviceId=d;SharedAccessKey=k").unwrap_err(),
            Error::ConnStrDuplicate
        );
        assert_eq!(
            parse(b"HostName=h/x;DeviceId=d;SharedAccessKey=k").unwrap_err(),
            Error::InvalidHost
        );
    }
}
