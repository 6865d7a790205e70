//! Faults and the owner's actions on the simulated camera, in memory with virtual time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::Duration;

use sonyctl_ptp::{
    Codec, ObjectInfo, Operation, OperationCode, Params, PropertyCode, ResponseCode, Value,
};
use sonyctl_sim::{
    ConnectionId, Fault, OwnerAction, Profile, Reply, SimOptions, SimulatedCamera, WireFault,
};
use sonyctl_sony::SdioRequest;

fn camera(model: &str, faults: &[Fault], acts: &[&str]) -> SimulatedCamera {
    let options = SimOptions {
        faults: faults.iter().copied().collect(),
        actions: acts.iter().map(|a| a.parse().unwrap()).collect(),
        ..SimOptions::default()
    };
    SimulatedCamera::new(Profile::builtin(model).unwrap(), options)
}

struct Host {
    id: ConnectionId,
    tid: u32,
    now: Duration,
}

impl Host {
    fn connect(cam: &mut SimulatedCamera) -> Host {
        Host {
            id: cam.connect(),
            tid: 1,
            now: Duration::ZERO,
        }
    }

    fn op(
        &mut self,
        cam: &mut SimulatedCamera,
        code: u16,
        params: &[u32],
        data: Option<&[u8]>,
    ) -> Reply {
        let op = Operation {
            code: OperationCode(code),
            transaction_id: self.tid,
            params: Params::new(params).unwrap(),
        };
        self.tid += 1;
        cam.handle(self.id, self.now, &op, data)
    }

    /// Sends until the camera is not busy (what a host does with DeviceBusy).
    fn retry(
        &mut self,
        cam: &mut SimulatedCamera,
        code: u16,
        params: &[u32],
        data: Option<&[u8]>,
    ) -> Reply {
        for _ in 0..100 {
            let r = self.op(cam, code, params, data);
            if r.code != ResponseCode::DEVICE_BUSY {
                return r;
            }
        }
        panic!("busy 100 times in a row");
    }

    fn handshake(&mut self, cam: &mut SimulatedCamera) {
        assert_eq!(self.retry(cam, 0x1002, &[1], None).code, ResponseCode::OK);
        for phase in [1, 2] {
            assert_eq!(
                self.retry(cam, 0x9201, &[phase, 0, 0], None).code,
                ResponseCode::OK
            );
        }
        assert_eq!(self.retry(cam, 0x9202, &[300], None).code, ResponseCode::OK);
        assert_eq!(
            self.retry(cam, 0x9201, &[3, 0, 0], None).code,
            ResponseCode::OK
        );
    }

    fn press(&mut self, cam: &mut SimulatedCamera, code: u16, pressed: bool) -> ResponseCode {
        let r = SdioRequest::button(PropertyCode(code), pressed);
        self.op(cam, 0x9207, &[u32::from(code)], r.data()).code
    }

    fn wait(&mut self, cam: &mut SimulatedCamera, d: Duration) {
        self.now += d;
        cam.advance(self.now);
    }

    fn shoot(&mut self, cam: &mut SimulatedCamera) {
        for (c, p) in [(0xD2C1, true), (0xD2C2, true)] {
            assert_eq!(self.press(cam, c, p), ResponseCode::OK);
        }
        self.wait(cam, Duration::from_millis(300));
        for (c, p) in [(0xD2C2, false), (0xD2C1, false)] {
            self.press(cam, c, p);
        }
        self.wait(cam, Duration::from_secs(1));
    }
}

fn pending(cam: &SimulatedCamera) -> u64 {
    cam.value(PropertyCode(0xD215)).unwrap().as_u64().unwrap()
}

#[test]
fn busy_answers_are_random_repeatable_and_spare_the_session_operations() {
    let run = |seed: u64| {
        let mut cam = SimulatedCamera::new(
            Profile::builtin("ilce-7sm3").unwrap(),
            SimOptions {
                faults: [Fault::Busy].into(),
                seed,
                ..SimOptions::default()
            },
        );
        let mut h = Host::connect(&mut cam);
        h.handshake(&mut cam);
        (0..200)
            .map(|_| h.op(&mut cam, 0x9209, &[], None).code)
            .collect::<Vec<_>>()
    };
    let a = run(1);
    let busy = a
        .iter()
        .filter(|c| **c == ResponseCode::DEVICE_BUSY)
        .count();
    assert!((10..=60).contains(&busy), "{busy} of 200 busy");
    assert_eq!(a, run(1), "same seed, same answers");
    assert_ne!(a, run(2));
    let mut cam = camera("ilce-7sm3", &[Fault::Busy], &[]);
    let mut h = Host::connect(&mut cam);
    for _ in 0..50 {
        assert_eq!(h.op(&mut cam, 0x1001, &[], None).code, ResponseCode::OK);
    }
}

#[test]
fn slow_delays_every_answer() {
    let mut cam = camera("ilce-6000", &[Fault::Slow], &[]);
    let mut h = Host::connect(&mut cam);
    let r = h.op(&mut cam, 0x1001, &[], None);
    assert!(r.delay >= Duration::from_millis(50));
}

#[test]
fn slow_start_refuses_the_shutter_for_three_seconds() {
    let mut cam = camera("ilce-7sm3", &[Fault::SlowStart], &[]);
    let mut h = Host::connect(&mut cam);
    h.handshake(&mut cam);
    assert_eq!(h.press(&mut cam, 0xD2C2, true), ResponseCode::DEVICE_BUSY);
    h.wait(&mut cam, Duration::from_secs(3));
    h.shoot(&mut cam);
    assert_eq!(pending(&cam), 0x8001);
}

#[test]
fn disconnect_mid_data_keeps_the_image_for_the_next_try() {
    let mut cam = camera("ilce-7sm3", &[Fault::DisconnectMidData], &[]);
    let mut h = Host::connect(&mut cam);
    h.handshake(&mut cam);
    h.shoot(&mut cam);
    let r = h.op(&mut cam, 0x1009, &[0xFFFF_C001], None);
    let len = r.data.as_ref().unwrap().len();
    assert_eq!(r.wire, Some(WireFault::CutDataAfter(len / 2)));
    cam.disconnect(h.id);
    assert_eq!(pending(&cam), 0x8001, "the image is still waiting");
    let mut again = Host::connect(&mut cam);
    again.handshake(&mut cam);
    let r = again.op(&mut cam, 0x1009, &[0xFFFF_C001], None);
    assert_eq!(
        (r.code, r.wire, r.data.unwrap().len()),
        (ResponseCode::OK, None, len)
    );
    // Read whole: it leaves the buffer with the host's next request.
    assert_eq!(pending(&cam), 0x8001);
    again.op(&mut cam, 0x1001, &[], None);
    assert_eq!(pending(&cam), 0);
}

#[test]
fn an_image_is_kept_until_the_host_shows_it_got_it_whole() {
    let mut cam = camera("ilce-7sm3", &[], &[]);
    let mut h = Host::connect(&mut cam);
    h.handshake(&mut cam);
    h.shoot(&mut cam);
    let r = h.op(&mut cam, 0x1009, &[0xFFFF_C001], None);
    assert_eq!(r.code, ResponseCode::OK);
    // The cable is pulled before the host asks anything else: the image stays.
    cam.disconnect(h.id);
    assert_eq!(pending(&cam), 0x8001);
}

#[test]
fn garbage_once_then_clean() {
    let mut cam = camera("ilce-7sm3", &[Fault::Garbage], &[]);
    let mut h = Host::connect(&mut cam);
    h.handshake(&mut cam);
    assert_eq!(
        h.op(&mut cam, 0x9209, &[], None).wire,
        Some(WireFault::GarbageFirst)
    );
    assert_eq!(h.op(&mut cam, 0x9209, &[], None).wire, None);
}

#[test]
fn drop_events_sends_none() {
    let mut cam = camera("ilce-7sm3", &[Fault::DropEvents], &[]);
    let mut h = Host::connect(&mut cam);
    h.handshake(&mut cam);
    h.shoot(&mut cam);
    assert_eq!(pending(&cam), 0x8001, "the shot happened");
    assert!(cam.take_events(h.id).is_empty());
}

#[test]
fn hostile_filenames_come_in_turn() {
    let mut cam = camera("ilce-6000", &[Fault::HostileFilename], &[]);
    let mut h = Host::connect(&mut cam);
    h.handshake(&mut cam);
    let mut names = Vec::new();
    for _ in 0..3 {
        h.shoot(&mut cam);
        let r = h.op(&mut cam, 0x1008, &[0xFFFF_C001], None);
        names.push(ObjectInfo::decode_exact(&r.data.unwrap()).unwrap().filename);
        h.op(&mut cam, 0x1009, &[0xFFFF_C001], None);
    }
    assert_eq!(names, ["../../x.JPG", "DSC\u{1b}[2J01.JPG", ""]);
}

/// The ObjectInfo at 0xFFFFC001 (answered OK).
fn waiting_name(h: &mut Host, cam: &mut SimulatedCamera) -> String {
    let r = h.op(cam, 0x1008, &[0xFFFF_C001], None);
    assert_eq!(r.code, ResponseCode::OK);
    ObjectInfo::decode_exact(&r.data.unwrap()).unwrap().filename
}

#[test]
fn next_frame_writing_refuses_one_get_object_and_keeps_the_image() {
    let mut cam = camera("ilce-6000", &[Fault::NextFrameWriting], &[]);
    // Continuous drive; the shutter at its 1/100 s.
    cam.owner_set(PropertyCode(0x5013), Value::U16(2)).unwrap();
    let mut h = Host::connect(&mut cam);
    h.handshake(&mut cam);
    for c in [0xD2C1, 0xD2C2] {
        assert_eq!(h.press(&mut cam, c, true), ResponseCode::OK);
    }
    // Focus (200 ms), the first frame (10 ms), its writing (300 ms); the second frame is
    // exposing now.
    h.wait(&mut cam, Duration::from_millis(512));
    assert_eq!(pending(&cam), 0x8001);
    let first = waiting_name(&mut h, &mut cam);
    // The second frame started writing right after that answer.
    assert_eq!(pending(&cam), 1, "writing");
    let r = h.op(&mut cam, 0x1009, &[0xFFFF_C001], None);
    assert_eq!(
        (r.code, r.data.is_none()),
        (ResponseCode::INVALID_OBJECT_HANDLE, true)
    );
    assert_eq!(
        cam.pending_shots(),
        1,
        "the first frame is still in the buffer"
    );
    // Once written, both wait, the first at the head; the fault does not come back.
    h.wait(&mut cam, Duration::from_millis(300));
    assert_eq!(pending(&cam), 0x8002);
    assert_eq!(waiting_name(&mut h, &mut cam), first);
    assert_eq!(pending(&cam), 0x8002, "no second time");
    let r = h.op(&mut cam, 0x1009, &[0xFFFF_C001], None);
    assert_eq!(r.code, ResponseCode::OK);
    assert_eq!(r.data.unwrap(), cam.produced()[0].file.bytes());
}

#[test]
fn owner_actions_run_after_the_handshake() {
    let acts = [
        "1s:set iso 800",
        "2s:mode a",
        "3s:shutter",
        "4s:battery 15",
        "5s:unplug",
    ];
    let mut cam = camera("ilce-7sm3", &[], &acts);
    let mut h = Host::connect(&mut cam);
    h.wait(&mut cam, Duration::from_secs(10));
    assert_eq!(
        cam.value(PropertyCode(0xD21E)),
        Some(&Value::U32(0x00FF_FFFF)),
        "nothing before the handshake"
    );
    h.handshake(&mut cam);
    h.wait(&mut cam, Duration::from_secs(1));
    assert_eq!(cam.value(PropertyCode(0xD21E)), Some(&Value::U32(800)));
    h.wait(&mut cam, Duration::from_secs(1));
    assert_eq!(
        cam.value(PropertyCode(0x500E)),
        Some(&Value::U32(0x0002_0003))
    );
    assert_eq!(
        cam.descriptor(PropertyCode(0xD20D)).unwrap().enabled.0,
        2,
        "shutter is the camera's in A"
    );
    h.wait(&mut cam, Duration::from_secs(2));
    assert_eq!(pending(&cam), 0x8001, "the body's own shutter button");
    assert_eq!(cam.value(PropertyCode(0xD218)), Some(&Value::I8(15)));
    h.wait(&mut cam, Duration::from_secs(1));
    assert_eq!(cam.take_unplugged(), vec![h.id]);
    assert_eq!(
        h.op(&mut cam, 0x9209, &[], None).code,
        ResponseCode::SESSION_NOT_OPEN
    );
    assert_eq!(cam.all_stats().len(), 1, "the host's counters survive it");
    assert!(cam.take_action_errors().is_empty());
    // The next host finds the camera ready, the shot still waiting.
    let mut next = Host::connect(&mut cam);
    next.handshake(&mut cam);
    assert_eq!(pending(&cam), 0x8001);
}

#[test]
fn owner_actions_are_checked() {
    let cam = camera("ilce-6000", &[], &[]);
    assert!(
        cam.check_action(&OwnerAction::Set("iso".into(), "800".into()))
            .is_ok()
    );
    assert!(
        cam.check_action(&OwnerAction::Set("lenr".into(), "on".into()))
            .is_ok()
    );
    assert!(
        cam.check_action(&OwnerAction::Set("lenr".into(), "maybe".into()))
            .is_err()
    );
    assert!(
        cam.check_action(&OwnerAction::Set("nonsense".into(), "1".into()))
            .is_err()
    );
    assert!(
        cam.check_action(&OwnerAction::Set("iso".into(), "loud".into()))
            .is_err()
    );
    assert!(
        cam.check_action(&OwnerAction::Set("destination".into(), "pc".into()))
            .is_err(),
        "no 0xD222 on this body"
    );
    assert!(cam.check_action(&OwnerAction::Mode("iauto".into())).is_ok());
}

#[test]
fn a_failed_owner_action_changes_nothing() {
    let mut cam = camera("ilce-6000", &[], &[]);
    let mut h = Host::connect(&mut cam);
    h.handshake(&mut cam);
    cam.take_events(h.id);
    let codes: Vec<PropertyCode> = cam.profile().properties.iter().map(|p| p.code).collect();
    let values = |cam: &SimulatedCamera| -> Vec<Option<Value>> {
        codes.iter().map(|c| cam.value(*c).cloned()).collect()
    };
    let before = values(&cam);
    for bad in [
        OwnerAction::Set("iso".into(), "loud".into()),
        OwnerAction::Set("nonsense".into(), "1".into()),
        OwnerAction::Set("lenr".into(), "maybe".into()),
        OwnerAction::Set("destination".into(), "pc".into()),
        OwnerAction::Mode("underwater".into()),
    ] {
        assert!(cam.owner(&bad).is_err(), "{bad:?}");
        assert!(cam.check_action(&bad).is_err(), "{bad:?}");
    }
    assert_eq!(values(&cam), before);
    assert!(cam.take_events(h.id).is_empty());
    // A good one after them is done.
    cam.owner(&OwnerAction::Set("iso".into(), "800".into()))
        .unwrap();
    assert_ne!(values(&cam), before);
    assert!(!cam.take_events(h.id).is_empty());
}
