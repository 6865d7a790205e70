//! INDI properties (vectors of members) and the messages that define, set and delete them, as
//! the INDI protocol 1.7 writes them. Every attribute value and text is escaped.

use std::fmt::Write as _;
use std::time::SystemTime;

use crate::xml::escape;

/// A property's state.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Nothing going on.
    Idle,
    /// Done, fine.
    Ok,
    /// Under way.
    Busy,
    /// Failed.
    Alert,
}

impl State {
    /// The protocol's word.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Ok => "Ok",
            State::Busy => "Busy",
            State::Alert => "Alert",
        }
    }
}

/// Who may write a property.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Perm {
    /// Read only.
    Ro,
    /// Write only.
    Wo,
    /// Read and write.
    Rw,
}

impl Perm {
    fn as_str(self) -> &'static str {
        match self {
            Perm::Ro => "ro",
            Perm::Wo => "wo",
            Perm::Rw => "rw",
        }
    }
}

/// A switch vector's rule.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Exactly one on.
    OneOfMany,
    /// None or one on.
    AtMostOne,
    /// Any.
    AnyOfMany,
}

impl Rule {
    fn as_str(self) -> &'static str {
        match self {
            Rule::OneOfMany => "OneOfMany",
            Rule::AtMostOne => "AtMostOne",
            Rule::AnyOfMany => "AnyOfMany",
        }
    }
}

/// A number member's bounds and format.
#[derive(Clone, Debug, PartialEq)]
pub struct NumberSpec {
    /// printf-style format (`%5.2f`).
    pub format: &'static str,
    /// Smallest value.
    pub min: f64,
    /// Largest value (ignored by clients when equal to `min`).
    pub max: f64,
    /// Step (0: any).
    pub step: f64,
}

/// A member's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Text.
    Text(String),
    /// A number with its bounds.
    Number(f64, NumberSpec),
    /// A switch.
    Switch(bool),
    /// A BLOB (its content is sent separately).
    Blob,
}

/// One member of a vector.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Its name.
    pub name: String,
    /// What clients show.
    pub label: String,
    /// The value.
    pub value: Value,
}

impl Member {
    /// A text member.
    pub fn text(name: &str, label: &str, value: &str) -> Member {
        Member {
            name: name.into(),
            label: label.into(),
            value: Value::Text(value.into()),
        }
    }

    /// A number member.
    pub fn number(name: &str, label: &str, value: f64, spec: NumberSpec) -> Member {
        Member {
            name: name.into(),
            label: label.into(),
            value: Value::Number(value, spec),
        }
    }

    /// A switch member.
    pub fn switch(name: &str, label: &str, on: bool) -> Member {
        Member {
            name: name.into(),
            label: label.into(),
            value: Value::Switch(on),
        }
    }
}

/// The kind of a vector, from its members.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Text.
    Text,
    /// Number.
    Number,
    /// Switch.
    Switch,
    /// BLOB.
    Blob,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "Text",
            Kind::Number => "Number",
            Kind::Switch => "Switch",
            Kind::Blob => "BLOB",
        }
    }
}

/// A property.
#[derive(Clone, Debug, PartialEq)]
pub struct Vector {
    /// Its name (`CCD_EXPOSURE`).
    pub name: String,
    /// What clients show.
    pub label: String,
    /// The tab it goes in.
    pub group: String,
    /// Its kind.
    pub kind: Kind,
    /// Who writes it.
    pub perm: Perm,
    /// Switches only.
    pub rule: Rule,
    /// Its state.
    pub state: State,
    /// The worst case a change takes, in seconds.
    pub timeout: u32,
    /// Its members.
    pub members: Vec<Member>,
}

impl Vector {
    /// A vector of `kind`, Idle, rw, OneOfMany, timeout 60.
    pub fn new(kind: Kind, name: &str, label: &str, group: &str, members: Vec<Member>) -> Vector {
        Vector {
            name: name.into(),
            label: label.into(),
            group: group.into(),
            kind,
            perm: Perm::Rw,
            rule: Rule::OneOfMany,
            state: State::Idle,
            timeout: 60,
            members,
        }
    }

    /// The same, with another permission.
    pub fn perm(mut self, perm: Perm) -> Vector {
        self.perm = perm;
        self
    }

    /// The same, with another rule.
    pub fn rule(mut self, rule: Rule) -> Vector {
        self.rule = rule;
        self
    }

    /// The member called `name`.
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The member called `name`, to change.
    pub fn member_mut(&mut self, name: &str) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.name == name)
    }

    /// The text of member `name`.
    pub fn text(&self, name: &str) -> Option<&str> {
        match &self.member(name)?.value {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The number of member `name`.
    pub fn number(&self, name: &str) -> Option<f64> {
        match &self.member(name)?.value {
            Value::Number(v, _) => Some(*v),
            _ => None,
        }
    }

    /// The name of the switch that is on.
    pub fn on(&self) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.value == Value::Switch(true))
            .map(|m| m.name.as_str())
    }

    /// Turns switch `name` on and the others off (OneOfMany); false if there is no such member.
    pub fn select(&mut self, name: &str) -> bool {
        if self.member(name).is_none() {
            return false;
        }
        for m in &mut self.members {
            if let Value::Switch(on) = &mut m.value {
                *on = m.name == name;
            }
        }
        true
    }

    /// Sets text member `name`.
    pub fn set_text(&mut self, name: &str, text: &str) {
        if let Some(Member {
            value: Value::Text(t),
            ..
        }) = self.member_mut(name)
        {
            *t = text.to_string();
        }
    }

    /// Sets number member `name`.
    pub fn set_number(&mut self, name: &str, value: f64) {
        if let Some(Member {
            value: Value::Number(v, _),
            ..
        }) = self.member_mut(name)
        {
            *v = value;
        }
    }

    /// Sets number member `name`'s bounds.
    pub fn set_bounds(&mut self, name: &str, min: f64, max: f64) {
        if let Some(Member {
            value: Value::Number(_, spec),
            ..
        }) = self.member_mut(name)
        {
            spec.min = min;
            spec.max = max;
        }
    }

    /// The `defXVector` message.
    pub fn def(&self, device: &str) -> String {
        let mut s = String::with_capacity(256);
        let kind = self.kind.as_str();
        let _ = write!(
            s,
            "<def{kind}Vector device=\"{}\" name=\"{}\" label=\"{}\" group=\"{}\" state=\"{}\" \
             perm=\"{}\"",
            escape(device),
            escape(&self.name),
            escape(&self.label),
            escape(&self.group),
            self.state.as_str(),
            self.perm.as_str(),
        );
        if self.kind == Kind::Switch {
            let _ = write!(s, " rule=\"{}\"", self.rule.as_str());
        }
        let _ = writeln!(
            s,
            " timeout=\"{}\" timestamp=\"{}\">",
            self.timeout,
            timestamp(SystemTime::now())
        );
        for m in &self.members {
            let (name, label) = (escape(&m.name), escape(&m.label));
            let _ = match &m.value {
                Value::Text(t) => writeln!(
                    s,
                    "  <defText name=\"{name}\" label=\"{label}\">{}</defText>",
                    escape(t)
                ),
                Value::Number(v, spec) => writeln!(
                    s,
                    "  <defNumber name=\"{name}\" label=\"{label}\" format=\"{}\" min=\"{}\" \
                     max=\"{}\" step=\"{}\">{}</defNumber>",
                    escape(spec.format),
                    number(spec.min),
                    number(spec.max),
                    number(spec.step),
                    number(*v)
                ),
                Value::Switch(on) => writeln!(
                    s,
                    "  <defSwitch name=\"{name}\" label=\"{label}\">{}</defSwitch>",
                    on_off(*on)
                ),
                Value::Blob => writeln!(s, "  <defBLOB name=\"{name}\" label=\"{label}\"/>"),
            };
        }
        let _ = writeln!(s, "</def{kind}Vector>");
        s
    }

    /// The `setXVector` message with every member, and `message` when given.
    pub fn set(&self, device: &str, message: Option<&str>) -> String {
        let mut s = String::with_capacity(256);
        let kind = self.kind.as_str();
        let _ = write!(
            s,
            "<set{kind}Vector device=\"{}\" name=\"{}\" state=\"{}\" timeout=\"{}\" \
             timestamp=\"{}\"",
            escape(device),
            escape(&self.name),
            self.state.as_str(),
            self.timeout,
            timestamp(SystemTime::now())
        );
        if let Some(m) = message {
            let _ = write!(s, " message=\"{}\"", escape(m));
        }
        s.push_str(">\n");
        for m in &self.members {
            let name = escape(&m.name);
            let _ = match &m.value {
                Value::Text(t) => {
                    writeln!(s, "  <oneText name=\"{name}\">{}</oneText>", escape(t))
                }
                Value::Number(v, _) => {
                    writeln!(s, "  <oneNumber name=\"{name}\">{}</oneNumber>", number(*v))
                }
                Value::Switch(on) => {
                    writeln!(
                        s,
                        "  <oneSwitch name=\"{name}\">{}</oneSwitch>",
                        on_off(*on)
                    )
                }
                Value::Blob => Ok(()),
            };
        }
        let _ = writeln!(s, "</set{kind}Vector>");
        s
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "On" } else { "Off" }
}

/// A number as INDI reads it (`strtod`): no exponent for ordinary values.
pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    format!("{v}")
}

/// A timestamp: UTC `YYYY-MM-DDTHH:MM:SS`.
pub fn timestamp(t: SystemTime) -> String {
    let s = crate::fits::utc(t);
    s.get(..19).unwrap_or(&s).to_string()
}

/// A `<message>` from the device.
pub fn message(device: &str, text: &str) -> String {
    format!(
        "<message device=\"{}\" timestamp=\"{}\" message=\"{}\"/>\n",
        escape(device),
        timestamp(SystemTime::now()),
        escape(text)
    )
}

/// A `<delProperty>` of one property.
pub fn delete(device: &str, name: &str) -> String {
    format!(
        "<delProperty device=\"{}\" name=\"{}\" timestamp=\"{}\"/>\n",
        escape(device),
        escape(name),
        timestamp(SystemTime::now())
    )
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::xml::Reader;

    #[test]
    fn definitions_read_back_with_escaped_values() {
        let mut v = Vector::new(
            Kind::Text,
            "UPLOAD_SETTINGS",
            "Upload <settings>",
            "Options",
            vec![
                Member::text("UPLOAD_DIR", "Dir", "/tmp/a&b \"c\""),
                Member::text("UPLOAD_PREFIX", "Prefix", "IMAGE_XXX"),
            ],
        );
        v.state = State::Ok;
        let def = v.def("Sony 'Camera'");
        let items = Reader::default().feed(def.as_bytes());
        let e = items[0].as_ref().unwrap();
        assert_eq!(e.name, "defTextVector");
        assert_eq!(e.attr("device"), Some("Sony 'Camera'"));
        assert_eq!(e.attr("label"), Some("Upload <settings>"));
        assert_eq!(e.attr("state"), Some("Ok"));
        assert_eq!(e.attr("perm"), Some("rw"));
        assert_eq!(e.children[0].text, "/tmp/a&b \"c\"");
        let set = v.set("D", Some("a < b"));
        let e = Reader::default().feed(set.as_bytes()).remove(0).unwrap();
        assert_eq!(e.name, "setTextVector");
        assert_eq!(e.attr("message"), Some("a < b"));
        assert_eq!(e.children[1].text, "IMAGE_XXX");
    }

    #[test]
    fn switches_select_one() {
        let mut v = Vector::new(
            Kind::Switch,
            "CCD_ISO",
            "ISO",
            "Image Settings",
            vec![
                Member::switch("ISO0", "100", true),
                Member::switch("ISO1", "200", false),
            ],
        );
        assert_eq!(v.on(), Some("ISO0"));
        assert!(v.select("ISO1"));
        assert_eq!(v.on(), Some("ISO1"));
        assert!(!v.select("ISO9"));
        let def = v.def("D");
        assert!(def.contains("rule=\"OneOfMany\""));
        assert!(def.contains("<defSwitch name=\"ISO1\" label=\"200\">On</defSwitch>"));
    }

    #[test]
    fn numbers_are_plain() {
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(0.00001), "0.00001");
        assert_eq!(number(f64::NAN), "0");
    }
}
