//! Setting a property and verifying the camera reached the value.
//!
//! - Absolute (0x9205) when the property is enabled and writable: send, then read back until the
//!   camera reports the value or `settle_timeout` passes.
//! - Stepping (0x9207) on protocol-200 bodies, where shutter, aperture, ISO and EV are enabled
//!   but not writable: jump by the estimated distance, read back, then correct. The distance is
//!   the position difference in the reported list, or, where the descriptor is only a dummy range
//!   (shutter, aperture), the number of 1/3 stops between the two values. The reported list may
//!   hold values that are not selectable, so a jump can overshoot; corrections go one notch at a
//!   time. It stops when the value is reached, when a step changes nothing (an end of the list),
//!   when a value repeats (the target is between two selectable values), or after a bounded
//!   number of steps. It never loops.

use std::collections::HashSet;
use std::time::Duration;

use sonyctl_ptp::{PropertyCode, Value};
use sonyctl_sony::codes::prop;
use sonyctl_sony::values::{Iso, ShutterSpeed};
use sonyctl_sony::{Enabled, GetSet, SdioRequest, SonyDevicePropDesc, SonyForm, format_value};

use crate::{Camera, CameraError};

/// How a value was reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetOutcome {
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
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetError {
    /// The camera failed.
    #[error(transparent)]
    Camera(#[from] CameraError),
    /// The camera has no such property.
    #[error("the camera has no property {0:?}")]
    NoSuchProperty(PropertyCode),
    /// The property cannot be changed now (disabled, display only, or read-only).
    #[error("{name} cannot be changed now ({why})")]
    NotWritable {
        /// The property's name.
        name: String,
        /// Why.
        why: String,
    },
    /// The value is not one the camera lists as settable now.
    #[error("{value} is not a value {name} can take now; settable now: {settable}")]
    NotSettable {
        /// The property's name.
        name: String,
        /// The value asked for.
        value: String,
        /// The values settable now.
        settable: String,
    },
    /// The camera did not reach the value.
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

/// Patience for a change to show (real bodies: 0.2–2 s).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(3);
/// Interval between reads while waiting.
const POLL: Duration = Duration::from_millis(150);

fn name_of(code: PropertyCode) -> String {
    sonyctl_sony::codes::describe(sonyctl_sony::property_name(code), code.0)
}

/// Seconds of a shutter value; `None` for BULB and unknown.
fn shutter_seconds(v: &Value) -> Option<f64> {
    ShutterSpeed::from_value(v.as_u64()?)?.seconds()
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

impl Camera {
    /// The current descriptor of `code`, freshly read.
    pub async fn get(&mut self, code: PropertyCode) -> Result<SonyDevicePropDesc, SetError> {
        let all = self.properties().await?;
        all.get(code).cloned().ok_or(SetError::NoSuchProperty(code))
    }

    /// Sets `code` to `value` and returns once the camera reports it.
    pub async fn set(&mut self, code: PropertyCode, value: &Value) -> Result<SetOutcome, SetError> {
        let mut round_trips = 1;
        let d = self.get(code).await?;
        let before = d.current.clone();
        if d.current == *value {
            return Ok(SetOutcome {
                before,
                after: value.clone(),
                steps: 0,
                step_requests: 0,
                round_trips,
            });
        }
        let show = |v: &Value| format_value(code, v);
        if d.enabled != Enabled::ENABLED {
            return Err(SetError::NotWritable {
                name: name_of(code),
                why: format!("the camera shows it as {}", d.enabled.label()),
            });
        }
        if d.get_set == GetSet::READ_WRITE {
            if let SonyForm::Enumeration { settable, .. } = &d.form {
                if !settable.contains(value) {
                    return Err(SetError::NotSettable {
                        name: name_of(code),
                        value: show(value),
                        settable: settable.iter().map(show).collect::<Vec<_>>().join(", "),
                    });
                }
            }
            let req = SdioRequest::set(code, value).map_err(|e| SetError::NotWritable {
                name: name_of(code),
                why: e.to_string(),
            })?;
            self.conn.sdio(&req).await?;
            round_trips += 1;
            let (now, reads) = self.wait_for(code, &before, value).await?;
            round_trips += reads;
            if now != *value {
                return Err(SetError::NotReached {
                    name: name_of(code),
                    wanted: show(value),
                    got: show(&now),
                });
            }
            return Ok(SetOutcome {
                before,
                after: now,
                steps: 0,
                step_requests: 0,
                round_trips,
            });
        }
        if d.get_set == GetSet::READ_ONLY {
            // Enabled but not writable: protocol-200 bodies change these by steps.
            return self.step_to(d, value, round_trips).await;
        }
        Err(SetError::NotWritable {
            name: name_of(code),
            why: format!("it is a {} control", d.get_set.label()),
        })
    }

    /// Reads `code` until it shows `target`, or shows a change from `from` that holds for one
    /// more read, or `SETTLE_TIMEOUT` passes. Returns the last value and the number of reads.
    async fn wait_for(
        &mut self,
        code: PropertyCode,
        from: &Value,
        target: &Value,
    ) -> Result<(Value, u32), SetError> {
        let mut reads = 0;
        let start = self.conn.link.now();
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
            // The camera announces the change (0xC203): read again when it does, or after a
            // poll interval for bodies that stay silent.
            self.wait_events(POLL).await;
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
            return Err(SetError::NotSettable {
                name: name_of(code),
                value: show(target),
                settable: list.iter().map(show).collect::<Vec<_>>().join(", "),
            });
        }
        let Some(mut notches) = estimate(&before) else {
            return Err(SetError::NotWritable {
                name: name_of(code),
                why: "it changes only by steps and its values are not listed".into(),
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
        while current != *target {
            if notches == 0 {
                notches = 1;
            }
            self.conn.sdio(&SdioRequest::step(code, notches)).await?;
            steps += notches.unsigned_abs();
            step_requests += 1;
            round_trips += 1;
            let (now, reads) = self.wait_for(code, &current, target).await?;
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
            before,
            after: current,
            steps,
            step_requests,
            round_trips,
        })
    }
}
