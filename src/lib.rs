//! upy-azure: Shared Access Signature tokens and HTTPS framing for Azure
//! Event Hubs, Service Bus and IoT Hub, for MicroPython boards.
//!
//! `no_std`, no allocation, no panics on input: every function writes into
//! caller-provided buffers and reports failures as [`error::Error`] codes.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod b64;
pub mod backoff;
pub mod batch;
pub mod clock;
pub mod crc32;
pub mod error;
pub mod ffi;
pub mod hmac_sha256;
pub mod http;
pub mod json;
pub mod mqtt;
pub mod percent;
pub mod request;
pub mod sas;
pub mod strs;
pub mod wipe;
pub mod writer;

pub use error::Error;

/// Only linked in the static archives. The release build never reaches it:
/// the link-map check proves no panic path survives in the firmware.
#[cfg(all(feature = "panic-handler", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    #[cfg(target_arch = "arm")]
    unsafe {
        core::arch::asm!("udf #0", options(noreturn))
    }
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    unsafe {
        core::arch::asm!("ud2", options(noreturn))
    }
    #[cfg(not(any(target_arch = "arm", target_arch = "x86_64", target_arch = "x86")))]
    loop {}
}
