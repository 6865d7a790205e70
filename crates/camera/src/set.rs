//! Setting a property and verifying the camera reached the value.
//!
//! - One read: the descriptor is read once (0x9209), text is parsed against it, and what it says
//!   decides how to set: refusals come from it without asking the camera anything more.
//! - Absolute (0x9205) when the property is enabled and writable.
//! - Stepping (0x9207) on protocol-200 bodies, where shutter, aperture, ISO and EV are enabled
//!   but not writable: jump by the estimated distance, read back, then correct. The distance is
//!   the position difference in the reported list, or, where the descriptor is only a dummy range
//!   (shutter, aperture), the number of 1/3 stops between the two values. The reported list may
//!   hold values that are not selectable, so a jump can overshoot; corrections go one notch at a
//!   time. It stops when the value is reached, when a step changes nothing (an end of the list),
//!   when a value repeats (the target is between two selectable values), or after a bounded
//!   number of steps. It never loops.
//! - Confirmation: after a change is sent, the camera's change event (0xC203 for that property)
//!   says when to read back, so a body that announces its changes costs one more read. Bodies
//!   drop events, so when none comes within [`EVENT_WAIT`] the value is polled until
//!   [`SETTLE_TIMEOUT`].
//! - Failures are typed ([`SetError`], grouped by [`SetErrorKind`]): what the user asked for
//!   (an unknown name, a value the camera does not take, a property that cannot change now or
//!   ever) is told apart from a busy or failing camera, so front ends map them mechanically.

use std::collections::HashSet;
use std::time::Duration;

use sonyctl_ptp::{PropertyCode, ResponseCode, Value};
use sonyctl_sony::codes::{event, prop};
use sonyctl_sony::values::{Iso, ShutterSpeed};
use sonyctl_sony::{
    Enabled, GetSet, SdioRequest, SdioVersion, SonyDevicePropDesc, SonyEvent, SonyForm,
    format_value, parse_value,
};

use crate::{Camera, CameraError};

/// How a value was reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetOutcome {
    /// The property that was set (what a name given to [`Camera::set_text`] resolved to).
    pub code: PropertyCode,
    /// The value before.
    pub before: Value,
    /// The value the camera reports now (the one asked for).
    pub after: Value,
    /// Notches stepped in all (0 for an absolute set).
    pub steps: u32,
    /// 0x9207 requests sent.
    pub step_requests: u32,
    /// Operations sent, reads included.
    pub round_trips: u32,
}

/// Why a value could not be set.
///
/// The input variants (`UnknownName`, `NotAccepted`, `NotSettableNow`, `ReadOnly`) come from
/// what was asked and what the camera's descriptor says; `Busy` and `Camera` from the camera
/// or the connection. [`SetError::kind`] groups them for front ends.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetError {
    /// No property of this camera has that name (or code).
    #[error("the camera has no setting called {0:?}")]
    UnknownName(String),
    /// The value is not one the camera takes now (it does not parse, or the camera does not
    /// list it as settable).
    #[error("{value} is not a value {name} can take now{}", accepted_now(.accepted))]
    NotAccepted {
        /// The property's name.
        name: String,
        /// The value asked for, as given or as it displays.
        value: String,
        /// The display texts of the values settable now (empty when the camera lists none).
        accepted: Vec<String>,
    },
    /// The property exists and can be set, but not in the camera's present state (disabled or
    /// display-only, for example in this exposure mode).
    #[error("{name} cannot be changed now ({why})")]
    NotSettableNow {
        /// The property's name.
        name: String,
        /// Why.
        why: String,
    },
    /// The property is never set by value: it is read-only or a control.
    #[error("{name} is read-only")]
    ReadOnly {
        /// The property's name.
        name: String,
    },
    /// The camera answered DeviceBusy until the retries ran out.
    #[error("the camera stayed busy; try again in a moment")]
    Busy,
    /// The camera or the connection failed.
    #[error(transparent)]
    Camera(CameraError),
    /// The camera took the request but did not reach the value.
    #[error("{name} did not reach {wanted}: the camera reports {got}")]
    NotReached {
        /// The property's name.
        name: String,
        /// The value asked for.
        wanted: String,
        /// The value the camera reports.
        got: String,
    },
}

/// What kind of failure a [`SetError`] is, for front ends that map failures to their own
/// codes (the table in `docs/architecture.md`, "Setting").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SetErrorKind {
    /// No such setting.
    UnknownName,
    /// The value is not one the setting takes now.
    InvalidValue,
    /// The setting cannot take the value in the camera's present state.
    NotNow,
    /// The setting is never set by value.
    ReadOnly,
    /// The camera stayed busy; the same request may succeed later.
    Busy,
    /// The camera or the connection failed.
    Camera,
}

impl SetError {
    /// The kind of failure.
    pub fn kind(&self) -> SetErrorKind {
        match self {
            SetError::UnknownName(_) => SetErrorKind::UnknownName,
            SetError::NotAccepted { .. } => SetErrorKind::InvalidValue,
            // The request was valid and the camera works, but it did not move there in its
            // present state: the same as a refusal for now.
            SetError::NotSettableNow { .. } | SetError::NotReached { .. } => SetErrorKind::NotNow,
            SetError::ReadOnly { .. } => SetErrorKind::ReadOnly,
            SetError::Busy => SetErrorKind::Busy,
            SetError::Camera(e) if e.is_retryable() => SetErrorKind::Busy,
            SetError::Camera(_) => SetErrorKind::Camera,
        }
    }
}

impl From<CameraError> for SetError {
    fn from(e: CameraError) -> Self {
        // DeviceBusy reaches here only once the connection's retries have run out.
        if e.is_retryable() {
            SetError::Busy
        } else {
            SetError::Camera(e)
        }
    }
}

fn accepted_now(accepted: &[String]) -> String {
    if accepted.is_empty() {
        String::new()
    } else {
        format!("; settable now: {}", accepted.join(", "))
    }
}

/// Patience for a change to show (real bodies: 0.2–2 s).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(3);
/// Patience for the change event before polling instead (most changes show within 1 s; a body
/// that drops events costs this much once per set).
const EVENT_WAIT: Duration = Duration::from_secs(1);
/// Interval between reads while polling.
const POLL: Duration = Duration::from_millis(150);
/// Batches of unrelated events read while waiting for the change event, at most: the wait ends
/// on time anyway, this bounds it on a clock that does not move.
const EVENT_BATCHES: u32 = 64;

fn name_of(code: PropertyCode) -> String {
    sonyctl_sony::codes::describe(sonyctl_sony::property_name(code), code.0)
}

/// The display texts of the values `d` lists as settable now.
fn accepted(d: &SonyDevicePropDesc) -> Vec<String> {
    d.settable_values()
        .unwrap_or(&[])
        .iter()
        .map(|v| format_value(d.code, v))
        .collect()
}

/// True when `ev` says `code` may have changed (0xC203 for it, or for no property in
/// particular).
fn announces(ev: &sonyctl_ptp::Event, code: PropertyCode) -> bool {
    ev.code == event::DEVICE_PROP_CHANGED
        && matches!(
            SonyEvent::from_event(ev),
            SonyEvent::PropertyChanged { property } if property.is_none_or(|p| p == code)
        )
}

/// Seconds of a shutter value; `None` for BULB and unknown.
fn shutter_seconds(v: &Value) -> Option<f64> {
    ShutterSpeed::from_value(v.as_u64()?)?.seconds()
}

/// True for the properties [`estimate_notches`] can step without a list.
fn has_scale(code: PropertyCode) -> bool {
    matches!(code, prop::SHUTTER_SPEED | prop::F_NUMBER)
}

/// Estimated notches from `from` to `to` where the descriptor gives no usable list.
fn estimate_notches(code: PropertyCode, from: &Value, to: &Value) -> Option<i32> {
    match code {
        prop::SHUTTER_SPEED => {
            // +1 = one third of a stop faster. BULB sits below 30".
            let (a, b) = (shutter_seconds(from), shutter_seconds(to));
            match (a, b) {
                (Some(a), Some(b)) => Some((3.0 * (a / b).log2()).round() as i32),
                (Some(a), None) => Some((3.0 * (a / 30.0).log2()).round() as i32 - 1),
                (None, Some(b)) => Some((3.0 * (30.0 / b).log2()).round() as i32 + 1),
                (None, None) => Some(0),
            }
        }
        prop::F_NUMBER => {
            // +1 = one third of a stop smaller aperture: f × 2^(1/6).
            let (a, b) = (from.as_u64()? as f64, to.as_u64()? as f64);
            (a > 0.0 && b > 0.0 && a < 65000.0 && b < 65000.0)
                .then(|| (6.0 * (b / a).log2()).round() as i32)
        }
        _ => None,
    }
}

/// A number that orders the values of `code` the way the camera's dial does: seconds for the
/// shutter (BULB the longest), ISO with AUTO lowest, the raw number otherwise.
fn order_key(code: PropertyCode, v: &Value) -> Option<f64> {
    match code {
        prop::SHUTTER_SPEED => match v.as_u64()? {
            0 => Some(1e9),
            _ => shutter_seconds(v),
        },
        prop::ISO => Some(Iso::from_value(v.as_u64()?)?.value().map_or(0.0, f64::from)),
        _ => v.as_i128().map(|x| x as f64),
    }
}

/// How one descriptor says a value is set.
enum Method {
    /// 0x9205 with the value.
    Absolute,
    /// 0x9207 steps (protocol 200).
    Steps,
}

impl Camera {
    /// The current descriptor of `code`, freshly read.
    pub async fn get(&mut self, code: PropertyCode) -> Result<SonyDevicePropDesc, SetError> {
        let all = self.properties().await?;
        all.get(code)
            .cloned()
            .ok_or_else(|| SetError::UnknownName(name_of(code)))
    }

    /// Sets `code` to `value` and returns once the camera reports it.
    pub async fn set(&mut self, code: PropertyCode, value: &Value) -> Result<SetOutcome, SetError> {
        let d = self.get(code).await?;
        self.set_described(d, value).await
    }

    /// Sets the setting called `name` (an alias such as `iso` or `shutter`, a catalogue name
    /// from `sonyctl props`, or a hex code such as `0xD21E`) to `text` as a person writes it
    /// (`800`, `1/250`, `f/5.6`, `+0.7`, `daylight`), and returns once the camera reports it.
    ///
    /// The descriptor is read once; the text is parsed against it, so it picks the exact value
    /// the camera lists.
    pub async fn set_text(&mut self, name: &str, text: &str) -> Result<SetOutcome, SetError> {
        let d = self.named(name).await?;
        let code = d.code;
        let value = match parse_value(code, text, d.data_type, Some(&d)) {
            Ok(v) => v,
            Err(_) => {
                // Why it cannot be set at all says more than why the text does not parse.
                method(&d, self.protocol())?;
                return Err(SetError::NotAccepted {
                    name: name_of(code),
                    value: text.trim().to_string(),
                    accepted: accepted(&d),
                });
            }
        };
        self.set_described(d, &value).await
    }

    /// Sets the setting called `name` (as [`set_text`](Camera::set_text) takes it) to the raw
    /// value `raw`, as on the wire (`800` for ISO 800, `0x0001_00FA` for 1/250 s), and returns
    /// once the camera reports it. The number takes the descriptor's data type; one that does
    /// not fit it is not accepted. Read once, like `set_text`.
    pub async fn set_raw(&mut self, name: &str, raw: i128) -> Result<SetOutcome, SetError> {
        let d = self.named(name).await?;
        let Some(value) = Value::from_integer(d.data_type, raw) else {
            // Why it cannot be set at all says more than why the number does not fit.
            method(&d, self.protocol())?;
            return Err(SetError::NotAccepted {
                name: name_of(d.code),
                value: raw.to_string(),
                accepted: accepted(&d),
            });
        };
        self.set_described(d, &value).await
    }

    /// The descriptor of the setting called `name`, freshly read.
    async fn named(&mut self, name: &str) -> Result<SonyDevicePropDesc, SetError> {
        let unknown = || SetError::UnknownName(name.trim().to_string());
        let code = sonyctl_sony::codes::property_by_name(name).ok_or_else(unknown)?;
        match self.get(code).await {
            Err(SetError::UnknownName(_)) => Err(unknown()),
            other => other,
        }
    }

    /// Sets the property `d` describes (read once, just before) to `value`.
    pub(crate) async fn set_described(
        &mut self,
        d: SonyDevicePropDesc,
        value: &Value,
    ) -> Result<SetOutcome, SetError> {
        let code = d.code;
        let round_trips = 1;
        let before = d.current.clone();
        if d.current == *value {
            return Ok(SetOutcome {
                code,
                before,
                after: value.clone(),
                steps: 0,
                step_requests: 0,
                round_trips,
            });
        }
        match method(&d, self.protocol())? {
            Method::Absolute => self.set_absolute(d, value, round_trips).await,
            Method::Steps => self.step_to(d, value, round_trips).await,
        }
    }

    async fn set_absolute(
        &mut self,
        d: SonyDevicePropDesc,
        value: &Value,
        mut round_trips: u32,
    ) -> Result<SetOutcome, SetError> {
        let code = d.code;
        let show = |v: &Value| format_value(code, v);
        let not_accepted = || SetError::NotAccepted {
            name: name_of(code),
            value: show(value),
            accepted: accepted(&d),
        };
        if let SonyForm::Enumeration { settable, .. } = &d.form {
            if !settable.contains(value) {
                return Err(not_accepted());
            }
        }
        let req = SdioRequest::set(code, value).map_err(|_| not_accepted())?;
        // An event already waiting is about an earlier change, not this one.
        self.drain_events();
        match self.conn.sdio(&req).await {
            Ok(_) => {}
            Err(CameraError::Response { code: refusal, .. }) => {
                return Err(match refusal {
                    ResponseCode::INVALID_DEVICE_PROP_VALUE
                    | ResponseCode::INVALID_DEVICE_PROP_FORMAT => not_accepted(),
                    ResponseCode::ACCESS_DENIED => SetError::NotSettableNow {
                        name: name_of(code),
                        why: "the camera refused it (AccessDenied)".into(),
                    },
                    ResponseCode::DEVICE_PROP_NOT_SUPPORTED => SetError::UnknownName(name_of(code)),
                    _ => SetError::from(CameraError::Response {
                        operation: req.operation(0).code,
                        code: refusal,
                    }),
                });
            }
            Err(e) => return Err(e.into()),
        }
        round_trips += 1;
        let before = d.current.clone();
        let (now, reads) = self.confirm(code, &before, value, &mut false).await?;
        round_trips += reads;
        if now != *value {
            return Err(SetError::NotReached {
                name: name_of(code),
                wanted: show(value),
                got: show(&now),
            });
        }
        Ok(SetOutcome {
            code,
            before,
            after: now,
            steps: 0,
            step_requests: 0,
            round_trips,
        })
    }

    /// Drops the events that have arrived, and with them the cached properties they concern.
    fn drain_events(&mut self) {
        if !self.conn.link.take_events().is_empty() {
            self.invalidate_cache();
        }
    }

    /// Waits up to `limit` for the camera to announce a change of `code`; false when it did not.
    async fn hear_change(&mut self, code: PropertyCode, limit: Duration) -> bool {
        let start = self.conn.link.now();
        for _ in 0..EVENT_BATCHES {
            let left = limit.saturating_sub(self.conn.link.now().saturating_sub(start));
            if left.is_zero() {
                break;
            }
            let events = self.wait_events(left).await;
            if events.is_empty() {
                break;
            }
            if events.iter().any(|e| announces(e, code)) {
                return true;
            }
        }
        false
    }

    /// After a change of `code` was sent: waits for the camera's change event, then reads until
    /// `code` shows `target`, or shows a change from `from` that holds for one more read, or
    /// `SETTLE_TIMEOUT` passes. `silent` says the camera has not announced a change during this
    /// set, so waiting for the event is skipped (and becomes true when no event comes). Returns
    /// the last value and the number of reads.
    async fn confirm(
        &mut self,
        code: PropertyCode,
        from: &Value,
        target: &Value,
        silent: &mut bool,
    ) -> Result<(Value, u32), SetError> {
        let start = self.conn.link.now();
        if !*silent && !self.hear_change(code, EVENT_WAIT).await {
            *silent = true;
        }
        let mut reads = 0;
        let mut last: Option<Value> = None;
        loop {
            let now = self.get(code).await?.current;
            reads += 1;
            let settled = now != *from && last.as_ref() == Some(&now);
            let waited = self.conn.link.now().saturating_sub(start);
            if now == *target || settled || waited >= SETTLE_TIMEOUT {
                return Ok((now, reads));
            }
            last = Some(now);
            // Read again when the camera announces a change of this property, or after a
            // poll interval for bodies that stay silent; other events (a chatty body's focus or
            // buffer news) do not cost a read.
            self.hear_change(code, POLL).await;
        }
    }

    async fn step_to(
        &mut self,
        d: SonyDevicePropDesc,
        target: &Value,
        mut round_trips: u32,
    ) -> Result<SetOutcome, SetError> {
        let code = d.code;
        let show = |v: &Value| format_value(code, v);
        let before = d.current.clone();
        let list: Vec<Value> = d.all_values().map(<[Value]>::to_vec).unwrap_or_default();
        let position = |v: &Value| list.iter().position(|x| x == v).map(|i| i as i32);
        // First guess: the distance in the reported list (or the 1/3-stop scale for a dummy
        // range). Reported lists can hold values that are not selectable and put some values
        // out of order, so once a move shows which way a step goes, the distance is the number
        // of reported values between here and the target.
        let estimate = |from: &Value| -> Option<i32> {
            match (position(from), position(target)) {
                (Some(a), Some(b)) if !list.is_empty() => Some(b - a),
                _ => estimate_notches(code, from, target),
            }
        };
        let by_value = |from: &Value, up: i32| -> Option<i32> {
            let (a, b) = (order_key(code, from)?, order_key(code, target)?);
            if list.is_empty() || a == b {
                return None;
            }
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            let mut between: Vec<f64> = list
                .iter()
                .filter_map(|v| order_key(code, v))
                .filter(|k| *k > lo && *k < hi)
                .collect();
            between.sort_by(f64::total_cmp);
            between.dedup();
            let n = between.len() as i32 + 1;
            Some(if b > a { up * n } else { -up * n })
        };
        if !list.is_empty() && position(target).is_none() {
            return Err(SetError::NotAccepted {
                name: name_of(code),
                value: show(target),
                accepted: list.iter().map(show).collect(),
            });
        }
        let Some(mut notches) = estimate(&before) else {
            return Err(SetError::NotSettableNow {
                name: name_of(code),
                why: "it changes only by steps, and the values the camera reports give no \
                      distance from its present value"
                    .into(),
            });
        };
        let max_steps = (list.len() as u32).max(64) * 2 + 8;
        let mut steps = 0u32;
        let mut step_requests = 0u32;
        let mut current = before.clone();
        let mut seen: HashSet<Value> = HashSet::from([current.clone()]);
        // +1 if a positive step raises the value, -1 if it lowers it; learnt from the first move.
        let mut up: Option<i32> = None;
        let mut tried_back = false;
        let mut silent = false;
        while current != *target {
            if notches == 0 {
                notches = 1;
            }
            self.drain_events();
            self.conn.sdio(&SdioRequest::step(code, notches)).await?;
            steps += notches.unsigned_abs();
            step_requests += 1;
            round_trips += 1;
            let (now, reads) = self.confirm(code, &current, target, &mut silent).await?;
            round_trips += reads;
            if now == current {
                // No change: an end of the list. Once, the other way (the guess may have pointed
                // off the end); then the camera does not reach the value.
                if tried_back {
                    return Err(SetError::NotReached {
                        name: name_of(code),
                        wanted: show(target),
                        got: show(&now),
                    });
                }
                tried_back = true;
                notches = -notches.signum();
                continue;
            }
            if !seen.insert(now.clone()) || steps > max_steps {
                // Back to a value already seen: the target is not selectable now.
                return Err(SetError::NotReached {
                    name: name_of(code),
                    wanted: show(target),
                    got: show(&now),
                });
            }
            if let (Some(a), Some(b)) = (order_key(code, &current), order_key(code, &now)) {
                if a != b {
                    up = Some(notches.signum() * if b > a { 1 } else { -1 });
                }
            }
            current = now;
            notches = up
                .and_then(|u| by_value(&current, u))
                .or_else(|| estimate(&current))
                .unwrap_or(notches.signum());
        }
        Ok(SetOutcome {
            code,
            before,
            after: current,
            steps,
            step_requests,
            round_trips,
        })
    }
}

/// How `d` is set on a body speaking `protocol`, or why it cannot be set now.
fn method(d: &SonyDevicePropDesc, protocol: SdioVersion) -> Result<Method, SetError> {
    let name = || name_of(d.code);
    // Controls take presses and notches, not values. A read-only property of a protocol-300
    // body stays so whatever the camera's state; a protocol-200 body reports the stepped
    // settings as read-only too, so there only those with nothing to step through (no list and
    // no scale, such as the battery level) are read-only.
    let read_only = d.get_set == GetSet::READ_ONLY
        && (protocol.has_two_lists()
            || (d.all_values().is_none_or(<[Value]>::is_empty) && !has_scale(d.code)));
    if d.get_set.is_control() || read_only {
        return Err(SetError::ReadOnly { name: name() });
    }
    if d.enabled != Enabled::ENABLED {
        return Err(SetError::NotSettableNow {
            name: name(),
            why: format!("the camera shows it as {}", d.enabled.label()),
        });
    }
    match d.get_set {
        GetSet::READ_WRITE => Ok(Method::Absolute),
        // Enabled but not writable: protocol-200 bodies change these by steps.
        GetSet::READ_ONLY => Ok(Method::Steps),
        _ => Err(SetError::ReadOnly { name: name() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonyctl_ptp::{EventCode, OperationCode};
    use sonyctl_transport::TransportError;

    fn response(code: ResponseCode) -> CameraError {
        CameraError::Response {
            operation: OperationCode(0x9205),
            code,
        }
    }

    #[test]
    fn every_error_has_its_kind() {
        let name = || "ISO".to_string();
        let cases = [
            (
                SetError::UnknownName("isoo".into()),
                SetErrorKind::UnknownName,
            ),
            (
                SetError::NotAccepted {
                    name: name(),
                    value: "333".into(),
                    accepted: vec!["AUTO".into(), "800".into()],
                },
                SetErrorKind::InvalidValue,
            ),
            (
                SetError::NotSettableNow {
                    name: name(),
                    why: "the camera shows it as display-only".into(),
                },
                SetErrorKind::NotNow,
            ),
            (
                SetError::NotReached {
                    name: name(),
                    wanted: "25".into(),
                    got: "AUTO".into(),
                },
                SetErrorKind::NotNow,
            ),
            (SetError::ReadOnly { name: name() }, SetErrorKind::ReadOnly),
            (SetError::Busy, SetErrorKind::Busy),
            (
                SetError::Camera(response(ResponseCode::DEVICE_BUSY)),
                SetErrorKind::Busy,
            ),
            (
                SetError::Camera(response(ResponseCode::GENERAL_ERROR)),
                SetErrorKind::Camera,
            ),
            (
                SetError::Camera(CameraError::Transport(TransportError::Timeout(
                    Duration::from_secs(30),
                    "the response",
                ))),
                SetErrorKind::Camera,
            ),
        ];
        for (e, kind) in cases {
            assert_eq!(e.kind(), kind, "{e}");
        }
    }

    #[test]
    fn busy_after_the_retries_becomes_busy_and_the_rest_stays_a_camera_failure() {
        assert!(matches!(
            SetError::from(response(ResponseCode::DEVICE_BUSY)),
            SetError::Busy
        ));
        assert!(matches!(
            SetError::from(response(ResponseCode::GENERAL_ERROR)),
            SetError::Camera(CameraError::Response { .. })
        ));
    }

    #[test]
    fn messages_read_well() {
        let e = SetError::NotAccepted {
            name: "ISO".into(),
            value: "333".into(),
            accepted: vec!["AUTO".into(), "800".into()],
        };
        assert_eq!(
            e.to_string(),
            "333 is not a value ISO can take now; settable now: AUTO, 800"
        );
        let e = SetError::NotAccepted {
            name: "Zoom".into(),
            value: "far".into(),
            accepted: vec![],
        };
        assert_eq!(e.to_string(), "far is not a value Zoom can take now");
        assert_eq!(
            SetError::ReadOnly {
                name: "BatteryRemaining".into()
            }
            .to_string(),
            "BatteryRemaining is read-only"
        );
    }

    #[test]
    fn change_events_are_recognised_for_their_property_or_none() {
        let ev = |code: EventCode, p: &[u32]| sonyctl_ptp::Event {
            code,
            transaction_id: 0xFFFF_FFFF,
            params: sonyctl_ptp::Params::new(p).unwrap_or_default(),
        };
        let iso = prop::ISO;
        assert!(announces(&ev(event::DEVICE_PROP_CHANGED, &[0xD21E]), iso));
        assert!(announces(&ev(event::DEVICE_PROP_CHANGED, &[]), iso));
        assert!(!announces(&ev(event::DEVICE_PROP_CHANGED, &[0xD20D]), iso));
        assert!(!announces(&ev(event::OBJECT_ADDED, &[0xD21E]), iso));
    }
}
