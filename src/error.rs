//! Typed errors with stable numeric codes: the C ABI returns `-(code)`, and
//! the glue turns each code into one Python exception with an actionable text.

/// Every failure the library can report. The discriminants are part of the
/// C ABI (see `include/upy_azure.h`): never renumber, only append. The
/// `ConnStr*`, `BadResponse` and `ResponseHeaderTooLong` codes are no longer
/// produced (connection strings and responses are read by the Python layer,
/// `azure/_connstr.py` and `azure/response.py`); they keep their numbers.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The caller's output buffer cannot hold the result.
    BufferTooSmall = 1,
    /// The resource URI is empty.
    EmptyUri = 2,
    /// The key is empty.
    EmptyKey = 3,
    /// `key_is_base64` was set but the key is not valid standard base64.
    InvalidBase64Key = 4,
    /// The base64 key is longer than the internal decode buffer.
    KeyTooLong = 5,
    /// The key name is empty (leave it out instead).
    EmptyKeyName = 6,
    /// A connection-string segment has no `=` or an empty name.
    ConnStrMalformed = 7,
    /// The connection string has neither `Endpoint=` nor `HostName=`.
    ConnStrMissingEndpoint = 8,
    /// `Endpoint=` is not of the form `sb://<host>/`.
    ConnStrInvalidEndpoint = 9,
    /// `SharedAccessKeyName=` is missing (Event Hubs / Service Bus).
    ConnStrMissingKeyName = 10,
    /// `SharedAccessKey=` is missing.
    ConnStrMissingKey = 11,
    /// IoT Hub string without `DeviceId=` or `SharedAccessKeyName=`.
    ConnStrMissingDeviceId = 12,
    /// The connection string is empty.
    ConnStrEmpty = 13,
    /// A header name is empty or has a character HTTP forbids in a token.
    InvalidHeaderName = 14,
    /// A header value has CR, LF, NUL or another control character.
    InvalidHeaderValue = 15,
    /// A path part (hub, publisher, partition, device) is empty or has a
    /// character that would change the request line.
    InvalidPathSegment = 16,
    /// The body or batch is larger than the configured size limit.
    MessageTooLarge = 17,
    /// The HTTP response is malformed.
    BadResponse = 18,
    /// A response header line is longer than the parser's buffer.
    ResponseHeaderTooLong = 19,
    /// The host name is empty or invalid.
    InvalidHost = 20,
    /// A batch was closed without any event in it.
    EmptyBatch = 21,
    /// The expiry overflows 64 bits (now + ttl).
    ExpiryOverflow = 22,
    /// A value passed to a batch or property is not valid UTF-8 where JSON needs it.
    InvalidUtf8 = 23,
    /// An operation was called in the wrong state (e.g. batch not open).
    InvalidState = 24,
    /// The clock reads earlier than 2020-01-01: it was never set.
    ClockNotSet = 25,
    /// A connection-string name appears twice.
    ConnStrDuplicate = 26,
    /// `max_size` is 0 or above the 1 MB that any tier accepts.
    InvalidMaxSize = 27,
    /// A request path given as is (a `Location`) or a query has a space, a
    /// control character, a non-ASCII byte, or a `?`/`#` where it cannot be.
    InvalidPath = 28,
    /// The connection string is longer than 4,096 bytes.
    ConnStrTooLong = 29,
    /// A DPS registration id is empty.
    EmptyRegistrationId = 30,
    /// An MQTT packet breaks MQTT 3.1.1 (a fixed remaining length with
    /// another value, packet id 0, a SUBACK code outside 0/1/2/0x80, a size
    /// other than its header says, fixed-header flags MQTT forbids).
    MqttMalformed = 31,
    /// An MQTT remaining length of more than 4 bytes.
    MqttRemainingLength = 32,
    /// An MQTT packet type a broker must not send a client (or 0/15).
    MqttUnexpectedType = 33,
    /// An MQTT string length or packet id runs past the end of the packet.
    MqttLengthPastEnd = 34,
    /// An MQTT topic or string is empty where it cannot be, has U+0000,
    /// `+`/`#` in a topic name, or is not UTF-8.
    MqttInvalidString = 35,
    /// An MQTT string over 65,535 bytes or a packet over 268,435,455.
    MqttTooLong = 36,
    /// An IoT Hub property bag with a bad `%` escape, a piece that is not
    /// UTF-8 once decoded, or more than 16 pairs.
    MqttBadBag = 37,
    /// An IoT Hub topic without its numeric status / `$version`, or `$rid`.
    MqttBadTopic = 38,
    /// An MQTT argument out of range: packet id, keep-alive, QoS, DUP
    /// without QoS 1, number of filters or properties, packet kind.
    MqttBadArgument = 39,
}

impl Error {
    /// The stable numeric code of this error (positive).
    pub const fn code(self) -> i32 {
        self as i32
    }
}

pub type Result<T> = core::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn codes_are_stable() {
        assert_eq!(Error::BufferTooSmall.code(), 1);
        assert_eq!(Error::InvalidBase64Key.code(), 4);
        assert_eq!(Error::ConnStrEmpty.code(), 13);
        assert_eq!(Error::InvalidState.code(), 24);
    }
}
