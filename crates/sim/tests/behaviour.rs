//! The simulated camera's rules, driven in memory with virtual time (no sleeps).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use sonyctl_ptp::{
    Codec, DeviceInfo, Operation, OperationCode, Params, PropertyCode, Reader, ResponseCode, Value,
};
use sonyctl_sim::{ConnectionId, Profile, SimOptions, SimulatedCamera};
use sonyctl_sony::{AllPropInfo, Enabled, ExtDeviceInfo, SdioRequest, SdioVersion, SonyEvent};

const MS: Duration = Duration::from_millis(1);

/// A minimal host for tests: numbers transactions, keeps camera time.
struct Host<'a> {
    cam: &'a mut SimulatedCamera,
    id: ConnectionId,
    tid: u32,
    now: Duration,
}

impl<'a> Host<'a> {
    fn new(cam: &'a mut SimulatedCamera) -> Self {
        let id = cam.connect();
        Host {
            cam,
            id,
            tid: 0,
            now: Duration::ZERO,
        }
    }

    fn op(&mut self, code: u16, params: &[u32], data: Option<&[u8]>) -> sonyctl_sim::Reply {
        let op = Operation {
            code: OperationCode(code),
            transaction_id: self.tid,
            params: Params::new(params).unwrap(),
        };
        self.tid += 1;
        self.cam.handle(self.id, self.now, &op, data)
    }

    fn sdio(&mut self, r: &SdioRequest) -> sonyctl_sim::Reply {
        let op = r.operation(self.tid);
        self.tid += 1;
        self.cam.handle(self.id, self.now, &op, r.data())
    }

    fn ok(&mut self, code: u16, params: &[u32]) -> Option<Vec<u8>> {
        let r = self.op(code, params, None);
        assert_eq!(r.code, ResponseCode::OK, "{code:#06x}");
        r.data
    }

    /// OpenSession, SDIOConnect 1 and 2, 0x9202(version), SDIOConnect 3.
    fn handshake(&mut self, version: u16) -> ExtDeviceInfo {
        self.ok(0x1002, &[1]);
        self.ok(0x9201, &[1, 0, 0]);
        self.ok(0x9201, &[2, 0, 0]);
        let r = self.op(0x9202, &[u32::from(version)], None);
        assert_eq!(r.code, ResponseCode::OK);
        let info = ExtDeviceInfo::decode_exact(&r.data.unwrap()).unwrap();
        assert_eq!(
            r.params.as_slice(),
            [u32::from(info.version.0)],
            "response carries the version"
        );
        assert_eq!(self.ok(0x9201, &[3, 0, 0]).unwrap(), [0; 8]);
        info
    }

    fn props(&mut self, version: SdioVersion) -> AllPropInfo {
        let data = self.ok(0x9209, &[]).unwrap();
        AllPropInfo::decode(&data, version).unwrap()
    }

    fn value(&mut self, version: SdioVersion, code: u16) -> Value {
        self.props(version)
            .get(PropertyCode(code))
            .unwrap()
            .current
            .clone()
    }

    fn wait(&mut self, d: Duration) {
        self.now += d;
        self.cam.advance(self.now);
    }
}

fn camera(model: &str) -> SimulatedCamera {
    SimulatedCamera::new(Profile::builtin(model).unwrap(), SimOptions::default())
}

#[test]
fn session_rules() {
    let mut cam = camera("ilce-7sm3");
    let mut h = Host::new(&mut cam);
    let di = DeviceInfo::decode_exact(&h.ok(0x1001, &[]).unwrap()).unwrap();
    assert_eq!(di.model, "ILCE-7SM3");
    assert_eq!(h.op(0x1004, &[], None).code, ResponseCode::SESSION_NOT_OPEN);
    assert_eq!(
        h.op(0x9201, &[1, 0, 0], None).code,
        ResponseCode::SESSION_NOT_OPEN
    );
    assert_eq!(
        h.op(0x1002, &[0], None).code,
        ResponseCode::INVALID_PARAMETER
    );
    h.ok(0x1002, &[1]);
    assert_eq!(
        h.op(0x1002, &[1], None).code,
        ResponseCode::SESSION_ALREADY_OPEN
    );
    // Sony operations other than 0x9201/0x9202 wait for SDIOConnect 3.
    assert_ne!(h.op(0x9209, &[], None).code, ResponseCode::OK);
    assert_ne!(
        h.sdio(&SdioRequest::set(PropertyCode(0xD21E), &Value::U32(800)).unwrap())
            .code,
        ResponseCode::OK
    );
    h.ok(0x1001, &[]);
    let ids = h.ok(0x1004, &[]).unwrap();
    assert!(
        Reader::new(&ids).u16_array().is_ok(),
        "an empty array: no storage in PC remote"
    );
    assert_eq!(
        h.op(0x1008, &[0xFFFF_C001], None).code,
        ResponseCode::INVALID_OBJECT_HANDLE
    );
    assert_eq!(
        h.op(0x1009, &[0xFFFF_C001], None).code,
        ResponseCode::INVALID_OBJECT_HANDLE
    );
    h.ok(0x1003, &[]);
    assert_eq!(h.op(0x1004, &[], None).code, ResponseCode::SESSION_NOT_OPEN);
}

#[test]
fn protocol_300_handshake_serves_the_profile_table() {
    let mut cam = camera("ilce-7sm3");
    let profile = cam.profile().clone();
    let mut h = Host::new(&mut cam);
    let ext = h.handshake(300);
    assert_eq!(ext.version, SdioVersion::V300);
    assert_eq!(ext.properties, profile.ext_property_codes());
    assert_eq!(ext.controls, profile.controls);
    let props = h.props(SdioVersion::V300);
    assert_eq!(props.properties, profile.properties);
    // libgphoto2 re-runs the handshake inside the same session after a second GetDeviceInfo.
    h.ok(0x1001, &[]);
    h.handshake_again();
}

impl Host<'_> {
    fn handshake_again(&mut self) {
        self.ok(0x9201, &[1, 0, 0]);
        self.ok(0x9201, &[2, 0, 0]);
        self.ok(0x9202, &[300]);
        self.ok(0x9201, &[3, 0, 0]);
        self.ok(0x9209, &[]);
    }
}

/// A protocol-300 body asked for 200 answers like libgphoto2's mode-2 dumps of newer bodies.
#[test]
fn protocol_300_body_asked_for_200_answers_in_the_200_format() {
    let mut cam = camera("ilce-7sm3");
    let mut h = Host::new(&mut cam);
    let ext = h.handshake(200);
    assert_eq!(ext.version, SdioVersion::V200);
    let data = h.ok(0x9209, &[]).unwrap();
    assert!(
        AllPropInfo::decode(&data, SdioVersion::V300).is_err(),
        "one list only"
    );
    let props = AllPropInfo::decode(&data, SdioVersion::V200).unwrap();
    let get = |c: u16| props.get(PropertyCode(c)).unwrap();
    assert_eq!(get(0x500E).data_type, sonyctl_ptp::DataType::UINT16);
    assert_eq!(get(0x5013).data_type, sonyctl_ptp::DataType::UINT16);
    assert!(
        get(0x5004).all_values().unwrap().len() > 3,
        "0x5004 present"
    );
    assert!(get(0xD2C1).get_set.is_control(), "buttons as descriptors");
    assert!(matches!(
        get(0xD20D).form,
        sonyctl_sony::SonyForm::Range { .. }
    ));
    assert!(props.get(PropertyCode(0xD19F)).is_none());
    let codes: Vec<_> = props
        .properties
        .iter()
        .filter(|p| !p.get_set.is_control())
        .map(|p| p.code)
        .collect();
    assert_eq!(codes, ext.properties);
}

#[test]
fn one_host_at_a_time() {
    let mut cam = camera("dsc-rx100m7");
    let first = cam.connect();
    let second = cam.connect();
    let op = |code: u16, params: &[u32]| Operation {
        code: OperationCode(code),
        transaction_id: 1,
        params: Params::new(params).unwrap(),
    };
    for id in [first, second] {
        assert_eq!(
            cam.handle(id, Duration::ZERO, &op(0x1002, &[1]), None).code,
            ResponseCode::OK
        );
    }
    assert_eq!(
        cam.handle(first, Duration::ZERO, &op(0x9201, &[1, 0, 0]), None)
            .code,
        ResponseCode::OK
    );
    assert_eq!(
        cam.handle(second, Duration::ZERO, &op(0x9201, &[1, 0, 0]), None)
            .code,
        ResponseCode(0xA101)
    );
    cam.disconnect(first);
    assert_eq!(
        cam.handle(second, Duration::ZERO, &op(0x9201, &[1, 0, 0]), None)
            .code,
        ResponseCode::OK
    );
}

#[test]
fn settings_apply_after_a_delay_and_raise_c203() {
    let mut cam = camera("ilce-7sm3");
    let mut h = Host::new(&mut cam);
    h.handshake(300);
    let iso = 0xD21E;
    assert_eq!(h.value(SdioVersion::V300, iso), Value::U32(0x00FF_FFFF));
    assert_eq!(h.cam.take_events(h.id), vec![]);
    let r = h.sdio(&SdioRequest::set(PropertyCode(iso), &Value::U32(800)).unwrap());
    assert_eq!(r.code, ResponseCode::OK);
    assert_eq!(
        h.value(SdioVersion::V300, iso),
        Value::U32(0x00FF_FFFF),
        "not yet"
    );
    h.wait(299 * MS);
    assert_eq!(
        h.value(SdioVersion::V300, iso),
        Value::U32(0x00FF_FFFF),
        "not yet"
    );
    h.wait(MS);
    assert_eq!(h.value(SdioVersion::V300, iso), Value::U32(800));
    let events: Vec<SonyEvent> = h
        .cam
        .take_events(h.id)
        .iter()
        .map(SonyEvent::from_event)
        .collect();
    assert_eq!(
        events,
        [SonyEvent::PropertyChanged {
            property: Some(PropertyCode(iso))
        }]
    );

    // Already current: OK, nothing happens (libgphoto2 2.5.30 sends this after stepping).
    assert_eq!(
        h.sdio(&SdioRequest::set(PropertyCode(iso), &Value::U32(800)).unwrap())
            .code,
        ResponseCode::OK
    );
    h.wait(Duration::from_secs(1));
    assert!(h.cam.take_events(h.id).is_empty());

    // Not in list 1: OK, and the value does not change (hosts verify by reading back).
    assert_eq!(
        h.sdio(&SdioRequest::set(PropertyCode(iso), &Value::U32(801)).unwrap())
            .code,
        ResponseCode::OK
    );
    h.wait(Duration::from_secs(1));
    assert_eq!(h.value(SdioVersion::V300, iso), Value::U32(800));

    // Lenient data lengths: a u32 property sent as 8 bytes uses the low ones.
    let r = h.sdio(&SdioRequest::SetExtDevicePropValue {
        code: PropertyCode(iso),
        data: vec![0x40, 0x06, 0, 0, 0, 0, 0, 0],
    });
    assert_eq!(r.code, ResponseCode::OK);
    h.wait(Duration::from_secs(1));
    assert_eq!(h.value(SdioVersion::V300, iso), Value::U32(1600));

    // Only what changed since the last full read.
    let changed = h.ok(0x9209, &[1]).unwrap();
    assert_eq!(
        AllPropInfo::decode(&changed, SdioVersion::V300)
            .unwrap()
            .properties
            .len(),
        0
    );
    h.sdio(&SdioRequest::set(PropertyCode(iso), &Value::U32(800)).unwrap());
    h.wait(Duration::from_secs(1));
    let changed = AllPropInfo::decode(&h.ok(0x9209, &[1]).unwrap(), SdioVersion::V300).unwrap();
    assert_eq!(
        changed
            .properties
            .iter()
            .map(|p| p.code.0)
            .collect::<Vec<_>>(),
        [iso]
    );
}

#[test]
fn mode_dial_rules_on_a_protocol_300_body() {
    let mut cam = camera("ilce-7sm3");
    let a = Value::U32(0x0002_0003);
    cam.owner_set(PropertyCode(0x500E), a).unwrap();
    let shutter = cam.descriptor(PropertyCode(0xD20D)).unwrap();
    assert_eq!(shutter.enabled, Enabled::DISPLAY_ONLY);
    assert!(shutter.settable_values().unwrap().is_empty());
    assert_eq!(
        cam.descriptor(PropertyCode(0x5007)).unwrap().enabled,
        Enabled::ENABLED
    );
    let mut h = Host::new(&mut cam);
    h.handshake(300);
    let before = h.value(SdioVersion::V300, 0xD20D);
    h.sdio(&SdioRequest::set(PropertyCode(0xD20D), &Value::U32(1 << 16 | 1000)).unwrap());
    h.wait(Duration::from_secs(1));
    assert_eq!(
        h.value(SdioVersion::V300, 0xD20D),
        before,
        "shutter is not the host's in A"
    );
    h.cam
        .owner_set(PropertyCode(0x500E), Value::U32(1))
        .unwrap();
    h.sdio(&SdioRequest::set(PropertyCode(0xD20D), &Value::U32(1 << 16 | 1000)).unwrap());
    h.wait(Duration::from_secs(1));
    assert_eq!(
        h.value(SdioVersion::V300, 0xD20D),
        Value::U32(1 << 16 | 1000)
    );
    assert!(
        h.cam
            .owner_set(PropertyCode(0x500E), Value::U16(1))
            .is_err(),
        "wrong type"
    );
}

/// Protocol 200: shutter, aperture, ISO and EV change only by 0x9207 steps through the values
/// selectable now; +1 on the shutter is faster; steps clamp at the ends.
#[test]
fn protocol_200_stepping() {
    let mut cam = camera("ilce-6000");
    let mut h = Host::new(&mut cam);
    h.handshake(200);
    let v200 = SdioVersion::V200;
    let shutter = |den: u32| Value::U32(1 << 16 | den);
    assert_eq!(h.value(v200, 0xD20D), shutter(100));
    // An absolute set of a GetSet-0 property does nothing.
    h.sdio(&SdioRequest::set(PropertyCode(0xD20D), &shutter(250)).unwrap());
    h.wait(Duration::from_secs(1));
    assert_eq!(h.value(v200, 0xD20D), shutter(100));
    h.sdio(&SdioRequest::step(PropertyCode(0xD20D), 1));
    h.wait(Duration::from_secs(1));
    assert_eq!(h.value(v200, 0xD20D), shutter(125));
    h.sdio(&SdioRequest::step(PropertyCode(0xD20D), 3));
    h.wait(Duration::from_secs(1));
    assert_eq!(h.value(v200, 0xD20D), shutter(250));
    // Steps sent as i16 and i32 (indigo, PTPWebcam) count the same.
    h.sdio(&SdioRequest::ControlDevice {
        code: PropertyCode(0xD20D),
        data: (-1i16).to_le_bytes().to_vec(),
    });
    h.sdio(&SdioRequest::ControlDevice {
        code: PropertyCode(0xD20D),
        data: (-1i32).to_le_bytes().to_vec(),
    });
    h.wait(Duration::from_secs(1));
    assert_eq!(h.value(v200, 0xD20D), shutter(160), "two queued steps back");
    h.sdio(&SdioRequest::step(PropertyCode(0xD20D), 127));
    h.wait(Duration::from_secs(1));
    assert_eq!(
        h.value(v200, 0xD20D),
        shutter(4000),
        "clamped at the fast end"
    );
    h.sdio(&SdioRequest::step(PropertyCode(0xD20D), -127));
    h.wait(Duration::from_secs(1));
    assert_eq!(h.value(v200, 0xD20D), Value::U32(0), "BULB at the slow end");

    // ISO from AUTO: +10 notches through AUTO, 100, 125, … reaches 800.
    h.sdio(&SdioRequest::step(PropertyCode(0xD21E), 10));
    h.wait(Duration::from_secs(1));
    assert_eq!(h.value(v200, 0xD21E), Value::U32(800));
    // A host counting positions in the reported list (AUTO, 25, 100, …) is off by one: 800 is 11
    // positions from AUTO there, and 11 notches land on 1000, so it must read back and correct.
    h.sdio(&SdioRequest::step(PropertyCode(0xD21E), -10));
    h.sdio(&SdioRequest::step(PropertyCode(0xD21E), 11));
    h.wait(Duration::from_secs(1));
    assert_eq!(h.value(v200, 0xD21E), Value::U32(1000));

    // The mode dial to iAuto returns to the captured state: the four are display-only and steps
    // do nothing.
    h.cam
        .owner_set(PropertyCode(0x500E), Value::U16(0x8000))
        .unwrap();
    let props = h.props(v200);
    for c in [0x5007, 0xD20D, 0xD21E, 0x5010] {
        assert_eq!(
            props.get(PropertyCode(c)).unwrap().enabled,
            Enabled::DISPLAY_ONLY
        );
    }
    h.sdio(&SdioRequest::step(PropertyCode(0x5007), 1));
    h.wait(Duration::from_secs(1));
    assert_eq!(h.value(v200, 0x5007), Value::U16(500));
}

#[test]
fn buttons_and_stats() {
    let mut cam = camera("ilce-6000");
    let mut h = Host::new(&mut cam);
    h.handshake(200);
    h.sdio(&SdioRequest::button(PropertyCode(0xD2C1), true));
    assert_eq!(h.value(SdioVersion::V200, 0xD2C1), Value::U16(2));
    h.sdio(&SdioRequest::button(PropertyCode(0xD2C1), false));
    assert_eq!(h.value(SdioVersion::V200, 0xD2C1), Value::U16(1));
    let r = h.sdio(&SdioRequest::ControlDevice {
        code: PropertyCode(0xD2C1),
        data: vec![7, 0],
    });
    assert_eq!(r.code, ResponseCode::INVALID_DEVICE_PROP_VALUE);
    let id = h.id;
    let stats = cam.stats(id).unwrap();
    assert_eq!(stats.operations[&0x9201], 3);
    assert_eq!(stats.operations[&0x9207], 3);
    assert!(stats.bytes_out > 1000);
    assert_eq!(stats.round_trips(), stats.operations.values().sum::<u64>());
}
