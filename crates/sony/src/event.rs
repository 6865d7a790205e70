//! Sony events (0xC2xx), typed. Events are hints: hosts must also poll, since bodies drop them.

use sonyctl_ptp::container::EVENT_TRANSACTION_ID;
use sonyctl_ptp::{Event, EventCode, Params, PropertyCode};

use crate::codes::{self, event};

/// A Sony event with its meaning decoded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SonyEvent {
    /// 0xC201: an object is ready at `handle` (0xFFFFC001 for a shot).
    ObjectAdded {
        /// The object handle.
        handle: u32,
    },
    /// 0xC202: an object went away.
    ObjectRemoved {
        /// The object handle.
        handle: u32,
    },
    /// 0xC203: a property changed. `None` when the camera does not say which (p1 = 0 or absent).
    PropertyChanged {
        /// The property, if named.
        property: Option<PropertyCode>,
    },
    /// Any other event, kept as it came.
    Other {
        /// The event code.
        code: EventCode,
        /// Its parameters.
        params: Params,
    },
}

impl SonyEvent {
    /// Interprets a PTP event.
    pub fn from_event(ev: &Event) -> SonyEvent {
        let p1 = ev.params.get(0);
        match (ev.code, p1) {
            (event::OBJECT_ADDED, Some(handle)) => SonyEvent::ObjectAdded { handle },
            (event::OBJECT_REMOVED, Some(handle)) => SonyEvent::ObjectRemoved { handle },
            (event::DEVICE_PROP_CHANGED, p) => SonyEvent::PropertyChanged {
                property: p
                    .and_then(|v| u16::try_from(v).ok())
                    .filter(|&v| v != 0)
                    .map(PropertyCode),
            },
            _ => SonyEvent::Other {
                code: ev.code,
                params: ev.params,
            },
        }
    }

    /// The PTP event a camera sends for this (transaction id 0xFFFFFFFF, as Sony bodies do).
    pub fn to_event(&self) -> Event {
        let (code, params) = match self {
            SonyEvent::ObjectAdded { handle } => (event::OBJECT_ADDED, one(*handle)),
            SonyEvent::ObjectRemoved { handle } => (event::OBJECT_REMOVED, one(*handle)),
            SonyEvent::PropertyChanged { property } => (
                event::DEVICE_PROP_CHANGED,
                one(property.map_or(0, |p| u32::from(p.0))),
            ),
            SonyEvent::Other { code, params } => (*code, *params),
        };
        Event {
            code,
            transaction_id: EVENT_TRANSACTION_ID,
            params,
        }
    }

    /// A one-line description, e.g. `DevicePropChanged ShutterSpeed`.
    pub fn describe(&self) -> String {
        match self {
            SonyEvent::ObjectAdded { handle } => format!("ObjectAdded {handle:#010X}"),
            SonyEvent::ObjectRemoved { handle } => format!("ObjectRemoved {handle:#010X}"),
            SonyEvent::PropertyChanged { property: Some(p) } => format!(
                "DevicePropChanged {}",
                codes::describe(codes::property_name(*p), p.0)
            ),
            SonyEvent::PropertyChanged { property: None } => {
                "DevicePropChanged (unspecified)".into()
            }
            SonyEvent::Other { code, params } => format!(
                "{} {:?}",
                codes::describe(codes::event_name(*code), code.0),
                params
            ),
        }
    }
}

fn one(v: u32) -> Params {
    // One parameter always fits the five-slot parameter block.
    Params::new(&[v]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for e in [
            SonyEvent::ObjectAdded {
                handle: 0xFFFF_C001,
            },
            SonyEvent::ObjectRemoved { handle: 1 },
            SonyEvent::PropertyChanged {
                property: Some(PropertyCode(0xD213)),
            },
            SonyEvent::PropertyChanged { property: None },
            SonyEvent::Other {
                code: EventCode(0xC207),
                params: Params::NONE,
            },
        ] {
            assert_eq!(SonyEvent::from_event(&e.to_event()), e);
        }
    }
}
