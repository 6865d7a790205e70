//! Writes a simulator profile (TOML) from real captures: a 0x9202 reply, a 0x9209 reply and
//! optionally a DeviceInfo, each a hex dump (USB container or bare payload).
//!
//! ```text
//! cargo run -p sonyctl-sim --example profile_from_capture -- NAME USB_PRODUCT 9202.hex 9209.hex [DEVICEINFO.hex]
//! ```
//! The output is a starting point: review it, and mark by hand what the captures do not show.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sonyctl_ptp::{Codec, DeviceInfo, OperationCode, UsbContainer};
use sonyctl_sim::Profile;
use sonyctl_sony::{AllPropInfo, ExtDeviceInfo};

fn payload(path: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let bytes = sonyctl_ptp::hexdump::parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    match UsbContainer::decode(&bytes) {
        Ok(c) => c.payload,
        Err(_) => bytes,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [name, product, ext, props, rest @ ..] = args.as_slice() else {
        eprintln!(
            "usage: profile_from_capture NAME USB_PRODUCT 9202.hex 9209.hex [DEVICEINFO.hex]"
        );
        std::process::exit(2);
    };
    let ext = ExtDeviceInfo::decode_exact(&payload(ext)).expect("0x9202 reply");
    let props = AllPropInfo::decode(&payload(props), ext.version).expect("0x9209 reply");
    let device_info = match rest.first() {
        Some(path) => DeviceInfo::decode_exact(&payload(path)).expect("DeviceInfo"),
        None => DeviceInfo {
            standard_version: 100,
            vendor_extension_id: 0x11,
            vendor_extension_version: 100,
            vendor_extension_desc: "Sony PTP Extensions".into(),
            functional_mode: 0,
            operations: [
                0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x1006, 0x1007, 0x1008, 0x1009, 0x100A,
                0x101B, 0x9201, 0x9202, 0x9205, 0x9207, 0x9209,
            ]
            .map(OperationCode)
            .to_vec(),
            events: (0xC201..=0xC20C).map(sonyctl_ptp::EventCode).collect(),
            device_properties: vec![],
            capture_formats: vec![],
            image_formats: [0x3801, 0xB301, 0xB101]
                .map(sonyctl_ptp::ObjectFormatCode)
                .to_vec(),
            manufacturer: "Sony Corporation".into(),
            model: name.to_uppercase(),
            device_version: "1.00".into(),
            serial_number: "0".repeat(32),
        },
    };
    let profile = Profile {
        name: name.clone(),
        usb_vendor: 0x054C,
        usb_product: u16::from_str_radix(product.trim_start_matches("0x"), 16)
            .expect("hex product id"),
        sdio_version: ext.version,
        buffer_depth: 8,
        sensor: (6000, 4000),
        // The RAW format (and the sensor above) of the ILCE-6000, a stand-in: a capture does not
        // show how a body writes its RAW files.
        raw: sonyctl_sim::profile::Profile::builtin("ilce-6000")
            .expect("a built-in profile")
            .raw,
        live_view_fps: sonyctl_sim::profile::DEFAULT_LIVE_VIEW_FPS,
        device_info,
        controls: ext.controls,
        ext_properties: None,
        properties: props.properties,
        steps: vec![],
    };
    print!("{}", profile.to_toml());
}
