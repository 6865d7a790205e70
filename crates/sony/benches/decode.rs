//! Decoder and encoder throughput on real camera bytes: the A7S III 0x9209 reply (9,361-byte
//! container, 320 descriptors), the RX100M7 and A6000 replies, and formatting every value.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use sonyctl_ptp::{Codec, DeviceInfo, UsbContainer};
use sonyctl_sony::{AllPropInfo, ExtDeviceInfo, PropertyReport, SdioVersion};
use sonyctl_vectors as vectors;

fn bench(c: &mut Criterion) {
    let container =
        vectors::hex("ilce7sm3_fw300_usb_9209_getallextdevicepropinfo_reply.container.hex");
    let a7s3 = UsbContainer::decode(&container).unwrap().payload;
    let rx100 =
        vectors::hex("dscrx100m7_fw100_ptpip_9209_getallextdevicepropinfo_reply.payload.hex");
    let a6000 = UsbContainer::decode(&vectors::hex(
        "ilce6000_usb_9209_getallextdevicepropinfo_reply.container.hex",
    ))
    .unwrap()
    .payload;
    let ext = vectors::hex("ilce7sm3_fw300_usb_9202_getextdeviceinfo_reply_v300.payload.hex");
    let di = vectors::hex("dscrx100m7_fw100_ptpip_1001_deviceinfo.payload.hex");

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(container.len() as u64));
    g.bench_function("a7s3_9209_container_v300", |b| {
        b.iter(|| {
            let c = UsbContainer::decode(black_box(&container)).unwrap();
            AllPropInfo::decode(&c.payload, SdioVersion::V300).unwrap()
        })
    });
    g.throughput(Throughput::Bytes(a7s3.len() as u64));
    g.bench_function("a7s3_9209_payload_v300", |b| {
        b.iter(|| AllPropInfo::decode(black_box(&a7s3), SdioVersion::V300).unwrap())
    });
    g.bench_function("a7s3_9209_payload_autodetect", |b| {
        b.iter(|| AllPropInfo::decode_any(black_box(&a7s3), 0).unwrap())
    });
    g.throughput(Throughput::Bytes(rx100.len() as u64));
    g.bench_function("rx100m7_9209_v300", |b| {
        b.iter(|| AllPropInfo::decode(black_box(&rx100), SdioVersion::V300).unwrap())
    });
    g.throughput(Throughput::Bytes(a6000.len() as u64));
    g.bench_function("a6000_9209_v200", |b| {
        b.iter(|| AllPropInfo::decode(black_box(&a6000), SdioVersion::V200).unwrap())
    });
    g.throughput(Throughput::Bytes(ext.len() as u64));
    g.bench_function("a7s3_9202", |b| {
        b.iter(|| ExtDeviceInfo::decode_exact(black_box(&ext)).unwrap())
    });
    g.throughput(Throughput::Bytes(di.len() as u64));
    g.bench_function("rx100m7_device_info", |b| {
        b.iter(|| DeviceInfo::decode_exact(black_box(&di)).unwrap())
    });
    g.finish();

    let info = AllPropInfo::decode(&a7s3, SdioVersion::V300).unwrap();
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Bytes(a7s3.len() as u64));
    g.bench_function("a7s3_9209_v300", |b| {
        b.iter(|| black_box(&info).to_bytes().unwrap())
    });
    g.finish();

    c.bench_function("format/a7s3_all_320_reports", |b| {
        b.iter(|| {
            black_box(&info)
                .properties
                .iter()
                .map(PropertyReport::new)
                .count()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
