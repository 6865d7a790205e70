//! USB/IP messages: every header a host or a device may send decodes or fails cleanly, and what
//! decodes encodes back to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonyctl_ptp::Reader;
use sonyctl_transport::usbip_codec::{
    Command, DEVICE_LEN, DeviceBlock, OP_HEADER_LEN, OpHeader, Ret, URB_HEADER_LEN,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = OpHeader::decode(&mut Reader::new(data)) {
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out, data[..OP_HEADER_LEN]);
    }
    if let Ok(c) = Command::decode(&mut Reader::new(data)) {
        let mut out = Vec::new();
        c.encode(&mut out);
        let again = Command::decode(&mut Reader::new(&out)).expect("an encoded command decodes");
        assert_eq!(again, c);
        assert_eq!(out.len(), URB_HEADER_LEN);
    }
    for dir_in in [false, true] {
        if let Ok(r) = Ret::decode(&mut Reader::new(data), dir_in) {
            let mut out = Vec::new();
            r.encode(&mut out);
            let again = Ret::decode(&mut Reader::new(&out), dir_in).expect("a reply decodes");
            assert_eq!(again, r);
        }
    }
    if let Ok(d) = DeviceBlock::decode(&mut Reader::new(data)) {
        let mut out = Vec::new();
        d.encode(&mut out);
        assert_eq!(out.len(), DEVICE_LEN);
        // Text is kept up to its first NUL, so it decodes back the same way.
        let again = DeviceBlock::decode(&mut Reader::new(&out)).expect("a device decodes");
        assert_eq!(again.bus_num, d.bus_num);
        assert_eq!(again.vendor, d.vendor);
    }
});
