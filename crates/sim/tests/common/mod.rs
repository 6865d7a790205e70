//! Test support shared by the simulated camera's tests: a host talking to the camera in memory,
//! through Sony's handshake, on virtual time it moves itself.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use sonyctl_ptp::{Operation, OperationCode, Params, PropertyCode, ResponseCode, Value};
use sonyctl_sim::{ConnectionId, Fault, Profile, Reply, SimOptions, SimulatedCamera};
use sonyctl_sony::SdioRequest;

/// One host connected to a simulated camera, with its transaction ids and its clock.
pub struct Host {
    pub cam: SimulatedCamera,
    pub id: ConnectionId,
    pub tid: u32,
    pub now: Duration,
}

impl Host {
    /// A built-in `model` and a host through the handshake at time 0.
    pub fn new(model: &str) -> Host {
        Host::with(Profile::builtin(model).unwrap(), &[])
    }

    /// A camera of `profile` with `faults`, and a host through the handshake at time 0.
    pub fn with(profile: Profile, faults: &[Fault]) -> Host {
        let options = SimOptions {
            faults: faults.iter().copied().collect(),
            ..SimOptions::default()
        };
        let mut cam = SimulatedCamera::new(profile, options);
        let id = cam.connect();
        let mut h = Host {
            cam,
            id,
            tid: 1,
            now: Duration::ZERO,
        };
        h.op(0x1002, &[1]);
        for phase in [1, 2] {
            h.op(0x9201, &[phase, 0, 0]);
        }
        let v = if h.cam.profile().sdio_version.0 >= 300 {
            300
        } else {
            200
        };
        h.op(0x9202, &[v]);
        h.op(0x9201, &[3, 0, 0]);
        h
    }

    /// One operation without data out.
    pub fn op(&mut self, code: u16, params: &[u32]) -> Reply {
        let op = Operation {
            code: OperationCode(code),
            transaction_id: self.tid,
            params: Params::new(params).unwrap(),
        };
        self.tid += 1;
        self.cam.handle(self.id, self.now, &op, None)
    }

    /// One SDIO request; its response code.
    pub fn sdio(&mut self, r: &SdioRequest) -> ResponseCode {
        let op = r.operation(self.tid);
        self.tid += 1;
        self.cam.handle(self.id, self.now, &op, r.data()).code
    }

    /// Presses or releases a button; the camera must accept it.
    pub fn button(&mut self, code: PropertyCode, pressed: bool) {
        assert_eq!(
            self.sdio(&SdioRequest::button(code, pressed)),
            ResponseCode::OK
        );
    }

    /// Moves the host's clock on by `d`, and the camera with it.
    pub fn wait(&mut self, d: Duration) {
        self.now += d;
        self.cam.advance(self.now);
    }

    /// The camera's value of `code`.
    pub fn value(&self, code: u16) -> Value {
        self.cam.value(PropertyCode(code)).unwrap().clone()
    }

    /// Sets `code` absolutely, waits a second and checks the camera took it.
    pub fn set(&mut self, code: u16, value: Value) {
        assert_eq!(
            self.sdio(&SdioRequest::set(PropertyCode(code), &value).unwrap()),
            ResponseCode::OK
        );
        self.wait(Duration::from_secs(1));
        assert_eq!(self.value(code), value, "{code:#06x} set");
    }
}
