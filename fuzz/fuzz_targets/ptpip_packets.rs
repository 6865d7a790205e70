//! PTP/IP packet streams.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sonyctl_ptp::ptpip::{Packet, peek_packet_len};

fuzz_target!(|data: &[u8]| {
    let _ = peek_packet_len(data);
    if let Ok(packets) = Packet::decode_stream(data) {
        for p in packets {
            let bytes = p.to_bytes().expect("a decoded packet encodes");
            assert_eq!(Packet::decode_exact(&bytes).expect("re-decodes"), p);
        }
    }
});
