//! USB containers: framing, and the typed views of command/response/event containers.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonyctl_ptp::UsbContainer;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = UsbContainer::decode(data) {
        assert_eq!(c.encode().expect("a decoded container encodes"), data);
        if let Ok(op) = c.to_operation() {
            assert_eq!(UsbContainer::command(&op), c);
        }
        if let Ok(r) = c.to_response() {
            assert_eq!(UsbContainer::response(&r), c);
        }
        if let Ok(e) = c.to_event() {
            assert_eq!(UsbContainer::event(&e), c);
        }
    }
});
