//! Events from a USB container, typed as Sony events and back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonyctl_ptp::UsbContainer;
use sonyctl_sony::SonyEvent;

fuzz_target!(|data: &[u8]| {
    if let Ok(ev) = UsbContainer::decode(data).and_then(|c| c.to_event()) {
        let sony = SonyEvent::from_event(&ev);
        let _ = sony.describe();
        assert_eq!(SonyEvent::from_event(&sony.to_event()), sony);
    }
});
