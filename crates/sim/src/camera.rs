//! The simulated camera: a responder state machine with no I/O and no clock of its own.
//!
//! A transport opens a [`ConnectionId`] per host, hands each operation (with its data-out phase,
//! if any) to [`SimulatedCamera::handle`] together with the current camera time, and sends back
//! the [`Reply`]. Time only moves when the caller says so, so tests run instantly and repeatably:
//! a setting applies `apply_delay` of camera time after it was accepted, at the first call whose
//! `now` has passed that point ([`SimulatedCamera::advance`]), and raises 0xC203 for every host.
//!
//! What it models is what the real bodies in `../shared/vectors` and the fact sheet show: session
//! rules, the SDIO handshake and version negotiation, both 0x9209 layouts (and the protocol-200
//! view of a protocol-300 body), settings with enable/list/mode rules, 0x9207 steps through the
//! values selectable now, buttons, one host at a time (0xA101), and counters for benchmarks.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use sonyctl_ptp::{
    Codec, DataType, Event, OperationCode, Params, PropertyCode, ResponseCode, Value, Writer,
};
use sonyctl_sony::codes::{control, event, op, prop};
use sonyctl_sony::request::{signed_from_data, value_from_data};
use sonyctl_sony::values::{DriveMode, ExposureProgram, is_button};
use sonyctl_sony::{AllPropInfo, Enabled, ExtDeviceInfo, SdioRequest, SdioVersion, SonyForm};

use crate::capture::CaptureState;
use crate::live_view::{HostLiveView, LiveViewState, LiveViewStats, is_live_view_request};
use crate::profile::Profile;
use crate::script::{Fault, OwnerAction, Rng, ScheduledAction, WireFault};
use crate::v200;

/// A host connection to the camera (a USB claim, or a PTP/IP command+event connection pair).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u32);

/// How the simulated camera behaves beyond its profile.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Camera time between accepting a setting and reporting it (real bodies: 0.2–1 s).
    pub apply_delay: Duration,
    /// Most events kept per host before the oldest are dropped (hosts poll anyway).
    pub event_queue_limit: usize,
    /// Seed of everything random (faults), so runs repeat.
    pub seed: u64,
    /// Faults to show.
    pub faults: std::collections::BTreeSet<Fault>,
    /// What the owner does, counted from the end of the first host's SDIO handshake.
    pub actions: Vec<ScheduledAction>,
    /// The size of RAW files in bytes, to test large downloads (default: the ARW's own size;
    /// larger pads the ARW, smaller gives a TIFF header and filler: see `image`).
    pub raw_size: Option<u64>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            apply_delay: Duration::from_millis(300),
            event_queue_limit: 256,
            seed: 0x5EED,
            faults: Default::default(),
            actions: Vec::new(),
            raw_size: None,
        }
    }
}

/// The camera's answer to one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The data-in phase, if the operation has one and succeeded.
    pub data: Option<Vec<u8>>,
    /// The response code.
    pub code: ResponseCode,
    /// Response parameters.
    pub params: Params,
    /// How long the camera takes before answering (the `slow` fault).
    pub delay: Duration,
    /// Something the transport must do wrong on purpose (faults).
    pub wire: Option<WireFault>,
}

impl Reply {
    pub(crate) fn ok() -> Reply {
        Reply::code(ResponseCode::OK)
    }
    pub(crate) fn code(code: ResponseCode) -> Reply {
        Reply {
            data: None,
            code,
            params: Params::NONE,
            delay: Duration::ZERO,
            wire: None,
        }
    }
    pub(crate) fn data(data: Vec<u8>) -> Reply {
        Reply {
            data: Some(data),
            ..Reply::ok()
        }
    }
}

/// What each host did, for benchmarks and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Operations received, by code.
    pub operations: BTreeMap<u16, u64>,
    /// Bytes received in data-out phases.
    pub bytes_in: u64,
    /// Bytes sent in data-in phases.
    pub bytes_out: u64,
    /// 0x9207 steps received.
    pub steps: u64,
    /// Large data phases as the transport timed them: bytes, and from the first byte sent to
    /// the host's next request (the host had all of it by then).
    pub transfers: Vec<(u64, Duration)>,
    /// Live view (0xFFFFC002).
    pub live_view: LiveViewStats,
}

impl Stats {
    /// Total operations received.
    pub fn round_trips(&self) -> u64 {
        self.operations.values().sum()
    }
}

#[derive(Clone, Debug, Default)]
struct Connection {
    session: Option<u32>,
    /// Highest SDIOConnect phase completed in this session.
    sdio_phase: u32,
    /// Version negotiated with 0x9202 (protocol 300 until a host asks for less).
    version: Option<SdioVersion>,
    /// Change sequence number up to which this host has read 0x9209.
    seen_seq: u64,
    /// When the current session opened (camera time).
    session_opened: Option<Duration>,
    events: VecDeque<Event>,
    stats: Stats,
    live_view: HostLiveView,
}

/// A property change waiting for its apply time.
#[derive(Clone, Debug)]
struct PendingChange {
    due: Duration,
    code: PropertyCode,
    value: Value,
}

/// The simulated camera.
#[derive(Debug)]
pub struct SimulatedCamera {
    pub(crate) profile: Profile,
    pub(crate) options: SimOptions,
    props: Vec<sonyctl_sony::SonyDevicePropDesc>,
    /// Per property: the sequence number of its last change.
    changed: HashMap<PropertyCode, u64>,
    seq: u64,
    pending: Vec<PendingChange>,
    connections: BTreeMap<ConnectionId, Connection>,
    next_connection: u32,
    /// The host that completed SDIOConnect 1 and has not left.
    holder: Option<ConnectionId>,
    pub(crate) pressed: HashSet<PropertyCode>,
    pub(crate) now: Duration,
    pub(crate) capture: CaptureState,
    pub(crate) live_view: LiveViewState,
    rng: Rng,
    /// When the first host completed SDIOConnect 3 (owner actions count from here).
    pub(crate) handshake_done: Option<Duration>,
    /// Owner actions not yet done, in time order.
    actions: Vec<ScheduledAction>,
    /// Faults that happen once and already did.
    used_faults: HashSet<Fault>,
    pub(crate) hostile_names: usize,
    /// Hosts the owner disconnected (cable pulled), for the transport to close.
    unplugged: Vec<ConnectionId>,
    /// Counters of hosts that left.
    finished: Vec<(ConnectionId, Stats)>,
    /// Owner actions that could not be done, for the transport to report.
    action_errors: Vec<String>,
}

/// Operations whose host sends a data-out phase.
pub fn has_data_out(code: OperationCode) -> bool {
    matches!(
        code.0,
        0x9205 | 0x9207 | 0x100C | 0x100D | 0x1016 | 0x9280 | 0x920F
    )
}

/// The live-view object handle.
const LIVE_VIEW: u32 = sonyctl_sony::codes::handle::LIVE_VIEW;

/// The four settings the exposure program enables or disables: shutter (and its 64-bit twin),
/// aperture, ISO, exposure compensation.
const SHUTTER: [PropertyCode; 2] = [prop::SHUTTER_SPEED, prop::EXTENDED_SHUTTER_SPEED];

/// Settings that auto and scene modes take away: white balance, metering, DRO, picture effect.
const CREATIVE: [PropertyCode; 4] = [
    prop::WHITE_BALANCE,
    prop::METERING_MODE,
    prop::DRO,
    prop::PICTURE_EFFECT,
];

impl SimulatedCamera {
    /// A camera of `profile`, powered on, with nobody connected.
    pub fn new(profile: Profile, options: SimOptions) -> SimulatedCamera {
        let props = profile.properties.clone();
        let mut actions = options.actions.clone();
        actions.sort_by_key(|a| a.delay);
        let rng = Rng::new(options.seed);
        SimulatedCamera {
            profile,
            options,
            props,
            changed: HashMap::new(),
            seq: 0,
            pending: Vec::new(),
            connections: BTreeMap::new(),
            next_connection: 1,
            holder: None,
            pressed: HashSet::new(),
            now: Duration::ZERO,
            capture: CaptureState::default(),
            live_view: LiveViewState::new(),
            rng,
            handshake_done: None,
            actions,
            used_faults: HashSet::new(),
            hostile_names: 0,
            unplugged: Vec::new(),
            finished: Vec::new(),
            action_errors: Vec::new(),
        }
    }

    /// The profile this camera was made from.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The camera's time as last advanced.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// A new host connection.
    pub fn connect(&mut self) -> ConnectionId {
        let id = ConnectionId(self.next_connection);
        self.next_connection = self.next_connection.wrapping_add(1);
        let mut c = Connection::default();
        c.stats.live_view.frame_interval = self.live_view_interval();
        self.connections.insert(id, c);
        id
    }

    /// The host went away (closed, or the link dropped): its session ends and the camera is free
    /// for the next host. Pending images and settings stay.
    pub fn disconnect(&mut self, id: ConnectionId) {
        if self.capture.handed_over == Some(id) {
            // Gone before asking anything else: it may not have the whole image. Keep it.
            self.capture.handed_over = None;
        }
        if let Some(c) = self.connections.remove(&id) {
            self.finished.push((id, c.stats));
        }
        if self.holder == Some(id) {
            self.holder = None;
            self.release_all_buttons();
        }
    }

    /// A transport's timing of one large data phase to host `id`.
    pub fn record_transfer(&mut self, id: ConnectionId, bytes: u64, took: Duration) {
        if let Some(c) = self.connections.get_mut(&id) {
            c.stats.transfers.push((bytes, took));
        }
    }

    /// When host `id`'s session opened, if it has one.
    pub(crate) fn session_opened(&self, id: ConnectionId) -> Option<Duration> {
        self.connections.get(&id).and_then(|c| c.session_opened)
    }

    pub(crate) fn host_live_view(&mut self, id: ConnectionId) -> Option<&mut HostLiveView> {
        self.connections.get_mut(&id).map(|c| &mut c.live_view)
    }

    pub(crate) fn live_view_stats(&mut self, id: ConnectionId) -> Option<&mut LiveViewStats> {
        self.connections
            .get_mut(&id)
            .map(|c| &mut c.stats.live_view)
    }

    /// Counters for one host still connected.
    pub fn stats(&self, id: ConnectionId) -> Option<&Stats> {
        self.connections.get(&id).map(|c| &c.stats)
    }

    /// Counters of every host, those that left first, in connection order.
    pub fn all_stats(&self) -> Vec<(ConnectionId, Stats)> {
        let mut all = self.finished.clone();
        all.extend(
            self.connections
                .iter()
                .map(|(id, c)| (*id, c.stats.clone())),
        );
        all.sort_by_key(|(id, _)| *id);
        all
    }

    /// True if the fault was asked for.
    pub fn has_fault(&self, fault: Fault) -> bool {
        self.options.faults.contains(&fault)
    }

    /// Takes a once-only fault: true the first time, if asked for.
    pub(crate) fn once(&mut self, fault: Fault) -> bool {
        self.has_fault(fault) && self.used_faults.insert(fault)
    }

    /// Hosts the owner disconnected since the last call; the transport closes their links.
    pub fn take_unplugged(&mut self) -> Vec<ConnectionId> {
        std::mem::take(&mut self.unplugged)
    }

    /// Owner actions that failed since the last call, as messages.
    pub fn take_action_errors(&mut self) -> Vec<String> {
        std::mem::take(&mut self.action_errors)
    }

    /// Checks that an owner action makes sense for this body (names and values).
    pub fn check_action(&self, action: &OwnerAction) -> Result<(), String> {
        match action {
            OwnerAction::Set(name, value) => self.resolve_set(name, value).map(|_| ()),
            OwnerAction::Mode(name) => self.resolve_set("mode", name).map(|_| ()),
            _ => Ok(()),
        }
    }

    /// A `set NAME VALUE`: the property and value, or `None` for the camera's own switches
    /// (`lenr`, `scene`), whose value must be on/off.
    fn resolve_set(
        &self,
        name: &str,
        value: &str,
    ) -> Result<Option<(PropertyCode, Value)>, String> {
        if matches!(name.to_ascii_lowercase().as_str(), "lenr" | "scene") {
            return on_off(value).map(|_| None);
        }
        let code = sonyctl_sony::codes::property_by_name(name)
            .ok_or_else(|| format!("no setting called {name:?}"))?;
        let d = self.descriptor(code).ok_or_else(|| {
            format!(
                "{name}: this {} has no {code:?}",
                self.profile.device_info.model
            )
        })?;
        let v = sonyctl_sony::parse_value(code, value, d.data_type, Some(d))
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(Some((code, v)))
    }

    /// Does one owner action now. An action that fails (a name or value this body does not
    /// have) changes nothing.
    pub fn owner(&mut self, action: &OwnerAction) -> Result<(), String> {
        match action {
            OwnerAction::Set(name, value) => match name.to_ascii_lowercase().as_str() {
                "lenr" => {
                    self.owner_long_exposure_nr(on_off(value)?);
                    Ok(())
                }
                "scene" => {
                    self.owner_scene_dark(on_off(value)?);
                    Ok(())
                }
                _ => match self.resolve_set(name, value)? {
                    Some((code, v)) => self.owner_set(code, v),
                    None => Ok(()),
                },
            },
            OwnerAction::Mode(name) => match self.resolve_set("mode", name)? {
                Some((code, v)) => self.owner_set(code, v),
                None => Ok(()),
            },
            OwnerAction::Shutter => {
                self.owner_shutter();
                Ok(())
            }
            OwnerAction::Unplug => {
                let ids: Vec<ConnectionId> = self.connections.keys().copied().collect();
                for id in ids {
                    self.disconnect(id);
                    self.unplugged.push(id);
                }
                Ok(())
            }
            OwnerAction::Battery(pct) => {
                let code = prop::BATTERY_REMAINING;
                let Some(d) = self.descriptor(code) else {
                    return Err("this body reports no battery level".into());
                };
                let v = Value::from_integer(d.data_type, i128::from(*pct))
                    .ok_or_else(|| format!("battery {pct} does not fit {}", d.data_type))?;
                self.set_now(code, v);
                Ok(())
            }
        }
    }

    fn run_due_actions(&mut self) {
        let Some(start) = self.handshake_done else {
            return;
        };
        while let Some(a) = self
            .actions
            .first()
            .filter(|a| start + a.delay <= self.now)
            .cloned()
        {
            self.actions.remove(0);
            if let Err(e) = self.owner(&a.action) {
                self.action_errors
                    .push(format!("owner action {:?}: {e}", a.action));
            }
        }
    }

    /// The current value of a property.
    pub fn value(&self, code: PropertyCode) -> Option<&Value> {
        self.props
            .iter()
            .find(|p| p.code == code)
            .map(|p| &p.current)
    }

    /// The current descriptor of a property.
    pub fn descriptor(&self, code: PropertyCode) -> Option<&sonyctl_sony::SonyDevicePropDesc> {
        self.props.iter().find(|p| p.code == code)
    }

    /// The earliest camera time at which something will happen by itself.
    pub fn next_deadline(&self) -> Option<Duration> {
        let action = self
            .handshake_done
            .and_then(|t| self.actions.first().map(|a| t + a.delay));
        self.pending
            .iter()
            .map(|p| p.due)
            .chain(self.capture_deadline())
            .chain(action)
            .min()
    }

    /// Camera time spent exposing and writing shots since power-on.
    pub fn camera_time(&self) -> (Duration, Duration) {
        (self.capture.exposing_time, self.capture.processing_time)
    }

    /// Camera time spent focusing since power-on.
    pub fn focusing_time(&self) -> Duration {
        self.capture.focusing_time
    }

    /// Moves camera time to `now` (never backwards) and does what falls due on the way, in time
    /// order: delayed settings, the shooting pipeline and the owner's actions.
    pub fn advance(&mut self, now: Duration) {
        let target = now.max(self.now);
        // Every step consumes what is due at its time, so this ends.
        while let Some(t) = self.next_deadline().filter(|&t| t <= target) {
            self.now = t.max(self.now);
            self.apply_due();
        }
        self.now = target;
        self.apply_due();
    }

    fn apply_due(&mut self) {
        let now = self.now;
        let mut due: Vec<PendingChange> = Vec::new();
        self.pending.retain(|p| {
            if p.due <= now {
                due.push(p.clone());
                false
            } else {
                true
            }
        });
        due.sort_by_key(|p| p.due);
        for p in due {
            self.set_now(p.code, p.value);
        }
        self.advance_capture(now);
        self.run_due_actions();
    }

    /// Events waiting for one host, oldest first.
    pub fn take_events(&mut self, id: ConnectionId) -> Vec<Event> {
        self.connections
            .get_mut(&id)
            .map(|c| c.events.drain(..).collect())
            .unwrap_or_default()
    }

    pub(crate) fn emit(&mut self, ev: Event) {
        if self.has_fault(Fault::DropEvents) {
            return;
        }
        let limit = self.options.event_queue_limit.max(1);
        for c in self.connections.values_mut() {
            if c.events.len() >= limit {
                c.events.pop_front();
            }
            c.events.push_back(ev.clone());
        }
    }

    /// Changes a value immediately (no delay), records the change and raises 0xC203.
    pub(crate) fn set_now(&mut self, code: PropertyCode, value: Value) {
        let Some(p) = self.props.iter_mut().find(|p| p.code == code) else {
            return;
        };
        if p.current == value {
            return;
        }
        p.current = value;
        self.seq += 1;
        self.changed.insert(code, self.seq);
        self.emit(Event {
            code: event::DEVICE_PROP_CHANGED,
            transaction_id: sonyctl_ptp::container::EVENT_TRANSACTION_ID,
            params: Params::new(&[u32::from(code.0)]).unwrap_or_default(),
        });
        if code == prop::EXPOSURE_PROGRAM {
            self.apply_mode_rules();
        }
    }

    /// The host left: its buttons come up. A movie being recorded goes on (it is recorded to
    /// the card; only a host's explicit 0xD2C8 := 1 stops it).
    fn release_all_buttons(&mut self) {
        let pressed: Vec<PropertyCode> = self.pressed.drain().collect();
        for code in pressed {
            self.set_now(code, Value::U16(control::RELEASE));
            if code != control::MOVIE_REC {
                self.release(code);
            }
        }
    }

    /// The owner turns a dial on the body: the value changes at once, whatever the host may do.
    pub fn owner_set(&mut self, code: PropertyCode, value: Value) -> Result<(), String> {
        let d = self
            .descriptor(code)
            .ok_or_else(|| format!("{code:?} is not a property of this camera"))?;
        if value.data_type() != d.data_type {
            return Err(format!(
                "{code:?} is {}, not {}",
                d.data_type,
                value.data_type()
            ));
        }
        self.set_now(code, value);
        Ok(())
    }

    /// Which of shutter / aperture / ISO / EV the exposure program lets the host change.
    fn mode_allows(&self) -> [bool; 4] {
        let program = self
            .value(prop::EXPOSURE_PROGRAM)
            .and_then(Value::as_u64)
            .and_then(ExposureProgram::from_value)
            .map_or(1, ExposureProgram::code);
        match program {
            1 | 0x8053 | 0x8083 | 0x805C => [true, true, true, true],
            2 | 0x8050 | 0x8080 | 0x8059 => [false, false, true, true],
            3 | 0x8051 | 0x8081 | 0x805A => [false, true, true, true],
            4 | 0x8052 | 0x8082 | 0x805B => [true, false, true, true],
            _ => [false, false, false, false],
        }
    }

    /// Enables or disables the four exposure settings after the mode dial moved. A disabled
    /// property is display-only and (protocol 300) has an empty list 1; an enabled one gets the
    /// profile's list back.
    fn apply_mode_rules(&mut self) {
        let [shutter, aperture, iso, ev] = self.mode_allows();
        // Auto and scene modes take the creative settings away too (the ILCE-6000 capture, taken
        // in iAuto, shows them disabled); P, A, S and M give them back.
        let creative = ev;
        let groups: [(&[PropertyCode], bool, Enabled); 5] = [
            (&SHUTTER, shutter, Enabled::DISPLAY_ONLY),
            (&[prop::F_NUMBER], aperture, Enabled::DISPLAY_ONLY),
            (&[prop::ISO], iso, Enabled::DISPLAY_ONLY),
            (&[prop::EXPOSURE_COMPENSATION], ev, Enabled::DISPLAY_ONLY),
            (&CREATIVE, creative, Enabled::DISABLED),
        ];
        for (codes, allowed, off) in groups {
            for &code in codes {
                let original = self.profile.property(code).cloned();
                let Some(p) = self.props.iter_mut().find(|p| p.code == code) else {
                    continue;
                };
                let before = (p.enabled, p.form.clone());
                p.enabled = if allowed { Enabled::ENABLED } else { off };
                if let SonyForm::Enumeration { settable, all } = &mut p.form {
                    if self.profile.sdio_version.has_two_lists() {
                        *settable = if allowed {
                            original
                                .as_ref()
                                .and_then(|o| o.settable_values())
                                .filter(|s| !s.is_empty())
                                .map_or_else(|| all.clone(), <[Value]>::to_vec)
                        } else {
                            Vec::new()
                        };
                    }
                }
                if (p.enabled, p.form.clone()) != before {
                    self.seq += 1;
                    self.changed.insert(code, self.seq);
                }
            }
        }
    }

    /// Handles one operation from host `id` at camera time `now`. `data` is the data-out phase,
    /// for the operations that have one ([`has_data_out`]).
    pub fn handle(
        &mut self,
        id: ConnectionId,
        now: Duration,
        op: &sonyctl_ptp::Operation,
        data: Option<&[u8]>,
    ) -> Reply {
        self.advance(now);
        // A frame whose transport never reported its last byte gets no age.
        if let Some(h) = self.host_live_view(id) {
            h.in_flight = None;
        }
        // The host's next request means it received the last image whole.
        if self.capture.handed_over == Some(id) {
            self.capture.handed_over = None;
            self.take_head_file();
        }
        let exempt = matches!(op.code.0, 0x1001..=0x1003);
        let in_session = self
            .connections
            .get(&id)
            .is_some_and(|c| c.session.is_some());
        let busy = self.has_fault(Fault::Busy) && in_session && !exempt && self.rng.chance(15);
        let mut reply = if busy {
            Reply::code(ResponseCode::DEVICE_BUSY)
        } else {
            self.dispatch(id, op, data)
        };
        if self.has_fault(Fault::Slow) {
            reply.delay = Duration::from_millis(50 + self.rng.next() % 200);
        }
        if is_live_view_request(op) {
            self.count_live_view_request(id, op, reply.code);
        }
        if op.code == op::SDIO_GET_ALL_EXT_DEVICE_PROP_INFO
            && reply.code == ResponseCode::OK
            && self.once(Fault::Garbage)
        {
            reply.wire = Some(WireFault::GarbageFirst);
        }
        if let Some(c) = self.connections.get_mut(&id) {
            *c.stats.operations.entry(op.code.0).or_default() += 1;
            c.stats.bytes_in += data.map_or(0, |d| d.len() as u64);
            c.stats.bytes_out += reply.data.as_ref().map_or(0, |d| d.len() as u64);
            if op.code == op::SDIO_CONTROL_DEVICE {
                c.stats.steps += 1;
            }
        }
        reply
    }

    fn dispatch(
        &mut self,
        id: ConnectionId,
        operation: &sonyctl_ptp::Operation,
        data: Option<&[u8]>,
    ) -> Reply {
        let Some(conn) = self.connections.get(&id) else {
            return Reply::code(ResponseCode::SESSION_NOT_OPEN);
        };
        let code = operation.code;
        // PIMA 15740: GetDeviceInfo works with or without a session.
        if code == OperationCode::GET_DEVICE_INFO {
            return match self.profile.device_info.to_bytes() {
                Ok(bytes) => Reply::data(bytes),
                Err(_) => Reply::code(ResponseCode::GENERAL_ERROR),
            };
        }
        if code == OperationCode::OPEN_SESSION {
            return self.open_session(id, operation.params.get(0));
        }
        if conn.session.is_none() {
            return Reply::code(ResponseCode::SESSION_NOT_OPEN);
        }
        let phase = conn.sdio_phase;
        match code {
            OperationCode::CLOSE_SESSION => {
                if let Some(c) = self.connections.get_mut(&id) {
                    c.session = None;
                    c.sdio_phase = 0;
                    c.version = None;
                }
                if self.holder == Some(id) {
                    self.holder = None;
                    self.release_all_buttons();
                }
                Reply::ok()
            }
            OperationCode::GET_STORAGE_IDS => {
                // PC-remote mode: no storage is exposed (the A7S III answers an empty array).
                let mut out = Vec::new();
                let _ = out.put_u16_array(&[]);
                Reply::data(out)
            }
            OperationCode::GET_STORAGE_INFO => Reply::code(ResponseCode::INVALID_STORAGE_ID),
            OperationCode::GET_NUM_OBJECTS | OperationCode::GET_OBJECT_HANDLES => {
                Reply::code(ResponseCode::STORE_NOT_AVAILABLE)
            }
            // Touching the shot handle with nothing ready is refused instead of crashing like
            // real firmware.
            OperationCode::GET_OBJECT_INFO if operation.params.get(0) == Some(LIVE_VIEW) => {
                self.live_view_info(id)
            }
            OperationCode::GET_OBJECT if operation.params.get(0) == Some(LIVE_VIEW) => {
                self.live_view_frame(id)
            }
            OperationCode::GET_OBJECT_INFO => {
                self.object_info(operation.params.get(0).unwrap_or(0))
            }
            OperationCode::GET_OBJECT => {
                self.object_data(id, operation.params.get(0).unwrap_or(0), None)
            }
            OperationCode::GET_PARTIAL_OBJECT => {
                let p = |i| u64::from(operation.params.get(i).unwrap_or(0));
                self.object_data(id, p(0) as u32, Some((p(1), p(2))))
            }
            OperationCode::GET_THUMB => Reply::code(ResponseCode::NO_THUMBNAIL_PRESENT),
            c if c.0 & 0xFF00 == 0x9200 => self.sdio(id, phase, operation, data),
            _ => Reply::code(ResponseCode::OPERATION_NOT_SUPPORTED),
        }
    }

    fn open_session(&mut self, id: ConnectionId, session: Option<u32>) -> Reply {
        let Some(c) = self.connections.get_mut(&id) else {
            return Reply::code(ResponseCode::GENERAL_ERROR);
        };
        match session {
            None | Some(0) => Reply::code(ResponseCode::INVALID_PARAMETER),
            Some(_) if c.session.is_some() => Reply::code(ResponseCode::SESSION_ALREADY_OPEN),
            Some(s) => {
                c.session = Some(s);
                c.session_opened = Some(self.now);
                c.sdio_phase = 0;
                Reply::ok()
            }
        }
    }

    fn sdio(
        &mut self,
        id: ConnectionId,
        phase: u32,
        operation: &sonyctl_ptp::Operation,
        data: Option<&[u8]>,
    ) -> Reply {
        let request = match SdioRequest::from_operation(operation, data) {
            Ok(r) => r,
            Err(sonyctl_sony::RequestError::NotSdio(_)) => {
                return Reply::code(ResponseCode::OPERATION_NOT_SUPPORTED);
            }
            Err(_) => return Reply::code(ResponseCode::INVALID_PARAMETER),
        };
        let handshake = matches!(
            request,
            SdioRequest::Connect { .. } | SdioRequest::GetExtDeviceInfo { .. }
        );
        if !handshake && phase < 3 {
            // The real answer is undocumented; refusing keeps hosts honest about the handshake.
            return Reply::code(ResponseCode::GENERAL_ERROR);
        }
        match request {
            SdioRequest::Connect { phase: p } => self.sdio_connect(id, p),
            SdioRequest::GetExtDeviceInfo { version } => self.ext_device_info(id, version),
            SdioRequest::GetAllExtDevicePropInfo { only_changed } => {
                self.all_prop_info(id, only_changed)
            }
            SdioRequest::GetExtDeviceProp { .. } => {
                Reply::code(ResponseCode::OPERATION_NOT_SUPPORTED)
            }
            SdioRequest::SetExtDevicePropValue { code, data } => self.set_value(code, &data),
            SdioRequest::ControlDevice { code, data } => self.control(code, &data),
        }
    }

    fn sdio_connect(&mut self, id: ConnectionId, phase: u32) -> Reply {
        if !(1..=3).contains(&phase) {
            return Reply::code(ResponseCode::INVALID_PARAMETER);
        }
        if let Some(holder) = self.holder {
            if holder != id {
                // Another host controls the camera.
                return Reply::code(sonyctl_sony::codes::response::AUTHENTICATION_FAILED);
            }
        }
        if phase == 1 {
            self.holder = Some(id);
        }
        if phase == 3 && self.handshake_done.is_none() {
            self.handshake_done = Some(self.now);
        }
        if let Some(c) = self.connections.get_mut(&id) {
            // libgphoto2 re-runs the whole handshake inside one session; each phase counts.
            c.sdio_phase = if phase == 1 {
                1
            } else {
                c.sdio_phase.max(phase)
            };
        }
        Reply::data(vec![0; 8])
    }

    /// The version this camera speaks to a host that asked for `asked`.
    fn negotiate(&self, asked: SdioVersion) -> SdioVersion {
        if self.profile.sdio_version.has_two_lists() && asked.has_two_lists() {
            self.profile.sdio_version
        } else {
            SdioVersion::V200
        }
    }

    fn ext_device_info(&mut self, id: ConnectionId, asked: SdioVersion) -> Reply {
        let version = self.negotiate(asked);
        if let Some(c) = self.connections.get_mut(&id) {
            c.version = Some(version);
        }
        let (properties, controls) = if version == self.profile.sdio_version {
            (
                self.profile.ext_property_codes(),
                self.profile.controls.clone(),
            )
        } else {
            let view = v200::view(&self.props);
            let props = view
                .iter()
                .filter(|p| !p.get_set.is_control())
                .map(|p| p.code)
                .collect();
            let controls = view
                .iter()
                .filter(|p| p.get_set.is_control())
                .map(|p| p.code)
                .collect();
            (props, controls)
        };
        let info = ExtDeviceInfo {
            version,
            properties,
            controls,
        };
        match info.to_bytes() {
            Ok(bytes) => Reply {
                params: Params::new(&[u32::from(version.0)]).unwrap_or_default(),
                ..Reply::data(bytes)
            },
            Err(_) => Reply::code(ResponseCode::GENERAL_ERROR),
        }
    }

    fn all_prop_info(&mut self, id: ConnectionId, only_changed: bool) -> Reply {
        let Some(c) = self.connections.get(&id) else {
            return Reply::code(ResponseCode::GENERAL_ERROR);
        };
        let version = c.version.unwrap_or(self.profile.sdio_version);
        let seen = c.seen_seq;
        let mut properties = if version == self.profile.sdio_version {
            self.props.clone()
        } else {
            v200::view(&self.props)
        };
        if only_changed {
            properties.retain(|p| self.changed.get(&p.code).is_some_and(|&s| s > seen));
        }
        let reply = AllPropInfo {
            version,
            properties,
        };
        let seq = self.seq;
        if let Some(c) = self.connections.get_mut(&id) {
            c.seen_seq = seq;
        }
        match reply.to_bytes() {
            Ok(bytes) => Reply::data(bytes),
            Err(_) => Reply::code(ResponseCode::GENERAL_ERROR),
        }
    }

    /// 0x9205: accepted when the property is enabled, writable and the value is in list 1;
    /// applied after `apply_delay`. A value that is already current answers OK. A value that
    /// cannot be set answers OK and changes nothing: hosts read back to verify, and which code a
    /// real body gives is not documented.
    fn set_value(&mut self, code: PropertyCode, data: &[u8]) -> Reply {
        let Some(d) = self.descriptor(code) else {
            // 0x5004 in the protocol-200 view of a protocol-300 body maps to file format and
            // quality.
            if code == prop::COMPRESSION_SETTING {
                return self.set_compression(data);
            }
            return Reply::code(ResponseCode::DEVICE_PROP_NOT_SUPPORTED);
        };
        let Ok(value) = value_from_data(data, d.data_type) else {
            return Reply::code(ResponseCode::INVALID_DEVICE_PROP_FORMAT);
        };
        // A u16 exposure program or drive mode from a protocol-200 host on a protocol-300 body.
        let value = self.widen(code, value);
        if value == d.current {
            return Reply::ok();
        }
        if self.busy() {
            return Reply::code(ResponseCode::DEVICE_BUSY);
        }
        let allowed = d.enabled == Enabled::ENABLED
            && d.get_set == sonyctl_sony::GetSet::READ_WRITE
            && match &d.form {
                SonyForm::Enumeration { settable, .. } => settable.contains(&value),
                SonyForm::Range { min, max, .. } => {
                    match (value.as_i128(), min.as_i128(), max.as_i128()) {
                        (Some(v), Some(lo), Some(hi)) => lo <= v && v <= hi,
                        _ => false,
                    }
                }
                SonyForm::None => true,
            };
        if allowed {
            self.schedule(code, value);
        }
        Reply::ok()
    }

    fn widen(&self, code: PropertyCode, value: Value) -> Value {
        let Some(d) = self.descriptor(code) else {
            return value;
        };
        if d.data_type == DataType::UINT32
            && matches!(code, prop::EXPOSURE_PROGRAM | prop::DRIVE_MODE)
        {
            if let Value::U16(low) = value {
                let found = d.all_values().unwrap_or(&[]).iter().find(|v| {
                    v.as_u64()
                        .and_then(DriveMode::from_value)
                        .is_some_and(|x| x.code() == low)
                });
                if let Some(v) = found {
                    return v.clone();
                }
            }
        }
        value
    }

    fn set_compression(&mut self, data: &[u8]) -> Reply {
        let Some(&v) = data.first() else {
            return Reply::code(ResponseCode::INVALID_DEVICE_PROP_FORMAT);
        };
        let (format, quality) = v200::compression_to(v);
        let format_code = prop::FILE_FORMAT;
        if let Some(d) = self.descriptor(format_code) {
            let value = Value::U8(format);
            if d.all_values().is_some_and(|a| a.contains(&value)) && value != d.current {
                self.schedule(format_code, value);
            }
        }
        if let (Some(q), Some(d)) = (quality, self.descriptor(prop::JPEG_QUALITY)) {
            let value = Value::U8(q);
            if d.all_values().is_some_and(|a| a.contains(&value)) && value != d.current {
                self.schedule(prop::JPEG_QUALITY, value);
            }
        }
        Reply::ok()
    }

    fn schedule(&mut self, code: PropertyCode, value: Value) {
        // A newer request for the same property replaces one still waiting.
        self.pending.retain(|p| p.code != code);
        self.pending.push(PendingChange {
            due: self.now + self.options.apply_delay,
            code,
            value,
        });
    }

    /// 0x9207: buttons (2 press, 1 release) and steps (a signed count of notches).
    fn control(&mut self, code: PropertyCode, data: &[u8]) -> Reply {
        if code == control::AF_AREA_POSITION {
            return self.af_point(data);
        }
        let Some(n) = signed_from_data(data) else {
            return Reply::code(ResponseCode::INVALID_DEVICE_PROP_FORMAT);
        };
        let shutter_press =
            n == 2 && matches!(code, control::S2_BUTTON | control::REQUEST_ONE_SHOOTING);
        if shutter_press && self.has_fault(Fault::SlowStart) {
            let ready = self.handshake_done.map(|t| t + Duration::from_secs(3));
            if ready.is_none_or(|r| self.now < r) {
                return Reply::code(ResponseCode::DEVICE_BUSY);
            }
        }
        if is_button(code) {
            let newly = match n {
                2 => self.pressed.insert(code),
                1 => self.pressed.remove(&code),
                _ => return Reply::code(ResponseCode::INVALID_DEVICE_PROP_VALUE),
            };
            if self.descriptor(code).is_some() {
                self.set_now(code, Value::U16(n as u16));
            }
            // The movie button acts on the recording state, whoever pressed it last.
            if newly || code == control::MOVIE_REC {
                if n == 2 {
                    self.press(code);
                } else {
                    self.release(code);
                }
            }
            return Reply::ok();
        }
        if code == control::NEAR_FAR {
            return self.near_far(n);
        }
        if self.busy() {
            return Reply::code(ResponseCode::DEVICE_BUSY);
        }
        self.step(code, n)
    }

    /// True while the camera exposes or writes a shot: settings wait (DeviceBusy).
    fn busy(&self) -> bool {
        self.capture.exposing_now()
    }

    /// Moves a property `n` notches through the values selectable now (+1 = next; on the shutter
    /// that is faster), clamped at the ends. The list is the profile's step list when it has one
    /// (protocol-200 bodies), else list 1.
    fn step(&mut self, code: PropertyCode, n: i32) -> Reply {
        let Some(d) = self.descriptor(code) else {
            return Reply::code(ResponseCode::DEVICE_PROP_NOT_SUPPORTED);
        };
        if d.enabled != Enabled::ENABLED {
            return Reply::ok();
        }
        let list: Vec<Value> = match self.profile.step_list(code) {
            Some(l) => l.to_vec(),
            None => d.settable_values().unwrap_or(&[]).to_vec(),
        };
        if list.is_empty() || n == 0 {
            return Reply::ok();
        }
        // Steps queue on the value the camera will have once a pending change applies.
        let base = self
            .pending
            .iter()
            .find(|p| p.code == code)
            .map_or_else(|| d.current.clone(), |p| p.value.clone());
        // From a value that is not in the list, the first step lands on the list's nearest end.
        let last = list.len() as i64 - 1;
        let target = match list.iter().position(|v| *v == base) {
            Some(i) => list.get((i as i64 + i64::from(n)).clamp(0, last) as usize),
            None if n > 0 => list.first(),
            None => list.last(),
        }
        .cloned();
        if let Some(t) = target.filter(|t| *t != base) {
            self.schedule(code, t);
        }
        Reply::ok()
    }
}

fn on_off(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "on" | "1" | "true" | "dark" => Ok(true),
        "off" | "0" | "false" | "bright" => Ok(false),
        other => Err(format!("{other:?} is not on/off")),
    }
}
