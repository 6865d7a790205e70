//! USB containers: framing, the typed views of command/response/event containers, and what the
//! camera side makes of a command plus a data phase (SDIO requests, lenient value reading).
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonyctl_ptp::{DataType, UsbContainer};
use sonyctl_sony::SdioRequest;
use sonyctl_sony::request::{signed_from_data, value_from_data};

fuzz_target!(|data: &[u8]| {
    // The first container-sized prefix is a command; the rest is its data phase.
    let split = data.first().map_or(0, |&n| usize::from(n)).min(data.len());
    let (head, rest) = data.split_at(split);
    if let Ok(c) = UsbContainer::decode(head) {
        assert_eq!(c.encode().expect("a decoded container encodes"), head);
        if let Ok(op) = c.to_operation() {
            assert_eq!(UsbContainer::command(&op), c);
            if let Ok(req) = SdioRequest::from_operation(&op, Some(rest)) {
                assert_eq!(req.operation(op.transaction_id).code, op.code);
            }
        }
        if let Ok(r) = c.to_response() {
            assert_eq!(UsbContainer::response(&r), c);
        }
        if let Ok(e) = c.to_event() {
            assert_eq!(UsbContainer::event(&e), c);
        }
    }
    if let Ok(c) = UsbContainer::decode(data) {
        assert_eq!(c.encode().expect("a decoded container encodes"), data);
    }
    for dt in DataType::all() {
        if let Ok(v) = value_from_data(rest, dt) {
            assert_eq!(v.data_type(), dt);
        }
    }
    let _ = signed_from_data(rest);
});
