//! The XML of the INDI protocol: a bounded incremental reader for what clients send, and the
//! escaping of what the driver writes.
//!
//! INDI is a stream of XML elements with no envelope. [`Reader::feed`] takes the bytes as they
//! come (any chunking) and gives each complete top-level element as an [`Element`] tree, or a
//! [`ParseError`] for one that is refused:
//!
//! - a top-level element larger than [`Limits::max_element`] (1 MiB), or nesting deeper than
//!   [`Limits::max_depth`]: the rest of the element is read without being kept (only its depth
//!   is followed) and dropped, and the stream goes on after it;
//! - malformed XML (a bad tag, attribute, entity or UTF-8, an end tag that does not match):
//!   the element is dropped, and the reader resynchronises at the next top-level start tag
//!   (stray end tags meanwhile are skipped silently).
//!
//! Processing instructions (`<?xml …?>`) and comments are skipped, text outside elements is
//! ignored, CDATA sections and DTDs are refused. Memory is bounded by the limits whatever the
//! input.

use std::fmt;

/// One XML element: name, attributes in order, child elements, and its text (character data
/// directly inside it, entities decoded, concatenated).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    /// The tag name.
    pub name: String,
    /// The attributes, in document order.
    pub attrs: Vec<(String, String)>,
    /// The child elements.
    pub children: Vec<Element>,
    /// The text directly inside it.
    pub text: String,
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why an element was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The element grew past the size limit (bytes).
    TooLarge(usize),
    /// Elements nested past the depth limit.
    TooDeep(usize),
    /// More elements in one message than the limit.
    TooMany(usize),
    /// Not well-formed XML (what was wrong).
    Malformed(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooLarge(limit) => {
                write!(f, "a message larger than {limit} bytes was refused")
            }
            ParseError::TooDeep(limit) => {
                write!(f, "a message nested deeper than {limit} levels was refused")
            }
            ParseError::TooMany(limit) => {
                write!(f, "a message of more than {limit} elements was refused")
            }
            ParseError::Malformed(why) => write!(f, "a malformed message was refused: {why}"),
        }
    }
}

/// The reader's bounds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes one top-level element may take.
    pub max_element: usize,
    /// The deepest nesting (the top-level element is depth 1).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_element: 1 << 20,
            max_depth: 16,
        }
    }
}

/// What the reader found: a whole element, or one refused.
pub type Item = Result<Element, ParseError>;

/// The most elements one top-level element may hold (itself included): INDI's messages hold
/// a member each, so a few hundred at most; this bounds the memory of many tiny ones.
pub const MAX_ELEMENTS: usize = 4096;

/// The longest tag or attribute name taken.
const MAX_NAME: usize = 256;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    /// Character data (or nothing, at depth 0).
    Text,
    /// Just after `<`.
    Open,
    /// In a start tag's name.
    StartName,
    /// In an end tag's name (after `</`).
    EndName,
    /// After an end tag's name, before `>`.
    EndSpace,
    /// Inside a start tag, between attributes.
    InTag,
    /// In an attribute's name.
    AttrName,
    /// After an attribute's name, before `=`.
    AttrEq,
    /// After `=`, before the quote.
    AttrQuote,
    /// In an attribute's value, closed by this quote.
    AttrValue(u8),
    /// After `/` in a start tag, before `>`.
    SelfClose,
    /// In `<?…?>`; true after a `?`.
    Pi(bool),
    /// After `<!`: how many bytes of `--` were seen.
    Bang(u8),
    /// In a comment; how many `-` in a row were seen.
    Comment(u8),
}

/// The bounded incremental reader (see the module's documentation).
#[derive(Debug)]
pub struct Reader {
    limits: Limits,
    state: State,
    /// The open elements, innermost last (empty while discarding).
    stack: Vec<Element>,
    /// The depth while discarding (the elements are followed, not kept).
    depth: usize,
    /// Dropping the rest of the current top-level element.
    discarding: bool,
    /// After a malformed element: skip to the next top-level start tag.
    recovering: bool,
    /// A malformed element was refused and none read whole since: more malformed input is
    /// dropped without a word (a stream of garbage gets one message, not one per `<`).
    quiet: bool,
    /// Elements in the current top-level element so far.
    elements: usize,
    /// Bytes of the current top-level element so far.
    size: usize,
    /// The token being read (a name, a value or text), raw.
    token: Vec<u8>,
    /// The attribute name waiting for its value.
    attr_name: String,
}

impl Default for Reader {
    fn default() -> Self {
        Reader::new(Limits::default())
    }
}

impl Reader {
    /// A reader with these bounds.
    pub fn new(limits: Limits) -> Reader {
        Reader {
            limits,
            state: State::Text,
            stack: Vec::new(),
            depth: 0,
            discarding: false,
            recovering: false,
            quiet: false,
            elements: 0,
            size: 0,
            token: Vec::new(),
            attr_name: String::new(),
        }
    }

    /// The current nesting depth (0 between top-level elements).
    fn level(&self) -> usize {
        if self.discarding {
            self.depth
        } else {
            self.stack.len()
        }
    }

    /// Takes the next bytes of the stream; returns every top-level element they complete (or
    /// refuse), in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Item> {
        let mut out = Vec::new();
        for &b in bytes {
            self.byte(b, &mut out);
        }
        out
    }

    /// Drops the element under way after an error and says so.
    fn fail(&mut self, error: ParseError, out: &mut Vec<Item>) {
        let recoverable = matches!(error, ParseError::Malformed(_));
        if !(recoverable && self.quiet) {
            out.push(Err(error));
        }
        self.quiet |= recoverable;
        self.token.clear();
        self.attr_name.clear();
        if recoverable {
            // Resynchronise at the next top-level start tag.
            self.stack.clear();
            self.depth = 0;
            self.discarding = false;
            self.recovering = true;
            self.size = 0;
            self.state = State::Text;
        } else {
            // Follow the element's depth to its end without keeping anything.
            self.depth = self.level();
            self.stack.clear();
            self.discarding = true;
        }
    }

    /// Keeps a byte of the token unless discarding.
    fn keep(&mut self, b: u8) {
        if !self.discarding {
            self.token.push(b);
        }
    }

    fn byte(&mut self, b: u8, out: &mut Vec<Item>) {
        if self.level() > 0 || self.state != State::Text {
            self.size += 1;
            if self.size > self.limits.max_element && !self.discarding && self.level() > 0 {
                self.fail(ParseError::TooLarge(self.limits.max_element), out);
            }
        }
        match self.state {
            State::Text => {
                if b == b'<' {
                    if let Err(e) = self.text_done() {
                        self.fail(e, out);
                    }
                    if self.level() == 0 {
                        self.size = 1;
                    }
                    self.state = State::Open;
                } else if self.level() > 0 {
                    self.keep(b);
                    if !self.discarding && self.token.len() > self.limits.max_element {
                        self.fail(ParseError::TooLarge(self.limits.max_element), out);
                    }
                }
            }
            State::Open => match b {
                b'/' => self.state = State::EndName,
                b'?' => self.state = State::Pi(false),
                b'!' => self.state = State::Bang(0),
                _ if is_name_start(b) => {
                    self.token.clear();
                    self.keep(b);
                    self.state = State::StartName;
                }
                _ => self.malformed("a `<` that starts no tag", out),
            },
            State::StartName => {
                if is_name_byte(b) {
                    self.name_byte(b, out);
                } else if is_space(b) || b == b'>' || b == b'/' {
                    let name = self.take_token();
                    match self.start(name) {
                        Ok(()) => {}
                        Err(e) => {
                            self.fail(e, out);
                            if self.state == State::Text {
                                return;
                            }
                            // Too deep: the element is followed to its end, not kept.
                            self.depth += 1;
                        }
                    }
                    self.state = State::InTag;
                    self.in_tag(b, out);
                } else {
                    self.malformed("a bad character in a tag name", out);
                }
            }
            State::InTag => self.in_tag(b, out),
            State::AttrName => {
                if is_name_byte(b) {
                    self.name_byte(b, out);
                } else if is_space(b) || b == b'=' {
                    self.attr_name = self.take_token();
                    self.state = if b == b'=' {
                        State::AttrQuote
                    } else {
                        State::AttrEq
                    };
                } else {
                    self.malformed("an attribute without a value", out);
                }
            }
            State::AttrEq => {
                if b == b'=' {
                    self.state = State::AttrQuote;
                } else if !is_space(b) {
                    self.malformed("an attribute without `=`", out);
                }
            }
            State::AttrQuote => {
                if b == b'"' || b == b'\'' {
                    self.token.clear();
                    self.state = State::AttrValue(b);
                } else if !is_space(b) {
                    self.malformed("an attribute value without quotes", out);
                }
            }
            State::AttrValue(q) => {
                if b == q {
                    let raw = std::mem::take(&mut self.token);
                    let name = std::mem::take(&mut self.attr_name);
                    if !self.discarding {
                        match decode(&raw) {
                            Ok(value) => {
                                if let Some(top) = self.stack.last_mut() {
                                    if top.attrs.iter().any(|(k, _)| *k == name) {
                                        return self.malformed("a repeated attribute", out);
                                    }
                                    top.attrs.push((name, value));
                                }
                            }
                            Err(e) => return self.fail(e, out),
                        }
                    }
                    self.state = State::InTag;
                } else if b == b'<' {
                    self.malformed("`<` in an attribute value", out);
                } else {
                    self.keep(b);
                }
            }
            State::SelfClose => {
                if b == b'>' {
                    self.end(None, out);
                } else {
                    self.malformed("`/` not followed by `>` in a tag", out);
                }
            }
            State::EndName => {
                if is_name_byte(b) || (self.token.is_empty() && is_name_start(b)) {
                    self.name_byte(b, out);
                } else if b == b'>' || is_space(b) {
                    if b == b'>' {
                        let name = self.take_token();
                        self.end(Some(name), out);
                    } else {
                        self.state = State::EndSpace;
                    }
                } else {
                    self.malformed("a bad character in an end tag", out);
                }
            }
            State::EndSpace => {
                if b == b'>' {
                    let name = self.take_token();
                    self.end(Some(name), out);
                } else if !is_space(b) {
                    self.malformed("a bad character in an end tag", out);
                }
            }
            State::Pi(q) => {
                if q && b == b'>' {
                    self.state = State::Text;
                } else {
                    self.state = State::Pi(b == b'?');
                }
            }
            State::Bang(n) => {
                if b == b'-' {
                    if n == 1 {
                        self.state = State::Comment(0);
                    } else {
                        self.state = State::Bang(1);
                    }
                } else {
                    self.malformed("CDATA sections and declarations are not taken", out);
                }
            }
            State::Comment(n) => {
                self.state = match (b, n) {
                    (b'-', n) => State::Comment((n + 1).min(2)),
                    (b'>', 2) => State::Text,
                    _ => State::Comment(0),
                };
            }
        }
    }

    fn malformed(&mut self, why: &str, out: &mut Vec<Item>) {
        self.fail(ParseError::Malformed(why.to_string()), out);
    }

    fn name_byte(&mut self, b: u8, out: &mut Vec<Item>) {
        if self.token.len() >= MAX_NAME {
            return self.malformed("a name longer than 256 bytes", out);
        }
        // Names are followed even while discarding (end tags are matched by depth only then).
        self.token.push(b);
    }

    fn take_token(&mut self) -> String {
        let raw = std::mem::take(&mut self.token);
        String::from_utf8(raw).unwrap_or_default()
    }

    /// Ends a run of character data: decoded into the open element.
    fn text_done(&mut self) -> Result<(), ParseError> {
        if self.token.is_empty() {
            return Ok(());
        }
        let raw = std::mem::take(&mut self.token);
        if self.discarding {
            return Ok(());
        }
        let text = decode(&raw)?;
        if let Some(top) = self.stack.last_mut() {
            top.text.push_str(&text);
        }
        Ok(())
    }

    /// A start tag's name was read.
    fn start(&mut self, name: String) -> Result<(), ParseError> {
        if self.level() == 0 {
            self.recovering = false;
            self.elements = 0;
        }
        if !self.discarding && self.level() >= self.limits.max_depth {
            return Err(ParseError::TooDeep(self.limits.max_depth));
        }
        if !self.discarding {
            self.elements += 1;
            if self.elements > MAX_ELEMENTS {
                return Err(ParseError::TooMany(MAX_ELEMENTS));
            }
        }
        if self.discarding {
            self.depth += 1;
        } else {
            self.stack.push(Element {
                name,
                ..Element::default()
            });
        }
        Ok(())
    }

    fn in_tag(&mut self, b: u8, out: &mut Vec<Item>) {
        match b {
            b'>' => self.state = State::Text,
            b'/' => self.state = State::SelfClose,
            _ if is_space(b) => {}
            _ if is_name_start(b) => {
                self.token.clear();
                self.token.push(b);
                self.state = State::AttrName;
            }
            _ => self.malformed("a bad character in a tag", out),
        }
    }

    /// An element ends (`name` from its end tag, `None` for `/>`).
    fn end(&mut self, name: Option<String>, out: &mut Vec<Item>) {
        self.state = State::Text;
        if self.discarding {
            self.depth = self.depth.saturating_sub(1);
            if self.depth == 0 {
                self.discarding = false;
                self.size = 0;
            }
            return;
        }
        let Some(element) = self.stack.pop() else {
            // A stray end tag between elements: skipped while resynchronising, else refused.
            if !self.recovering {
                self.malformed("an end tag without its start tag", out);
            }
            return;
        };
        if let Some(name) = name {
            if name != element.name {
                return self.malformed(&format!("</{}> closes <{}>", name, element.name), out);
            }
        }
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(element),
            None => {
                self.size = 0;
                self.quiet = false;
                out.push(Ok(element));
            }
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80
}

fn is_name_byte(b: u8) -> bool {
    is_name_start(b) || b.is_ascii_digit() || b == b'-' || b == b'.'
}

/// Character data or an attribute value, raw, with its entities decoded; must be UTF-8.
pub fn decode(raw: &[u8]) -> Result<String, ParseError> {
    let text = std::str::from_utf8(raw)
        .map_err(|_| ParseError::Malformed("text that is not UTF-8".into()))?;
    if !text.contains('&') {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(rest.get(..i).unwrap_or_default());
        let after = rest.get(i + 1..).unwrap_or_default();
        let Some(end) = after.find(';').filter(|&e| e <= 10) else {
            return Err(ParseError::Malformed("an unterminated entity".into()));
        };
        let entity = after.get(..end).unwrap_or_default();
        let c = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = entity.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .filter(|&c| c != '\0')
                    .ok_or_else(|| ParseError::Malformed(format!("an unknown entity &{entity};")))?
            }
        };
        out.push(c);
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(out)
}

/// `s` escaped for an attribute value in double or single quotes, or for text; control
/// characters other than tab and newline become spaces (XML 1.0 cannot carry them).
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| {
        matches!(c, '<' | '>' | '&' | '"' | '\'') || (c.is_control() && c != '\n' && c != '\t')
    }) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
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

    fn all(input: &[u8]) -> Vec<Item> {
        Reader::default().feed(input)
    }

    fn ok(input: &str) -> Element {
        let mut items = all(input.as_bytes());
        assert_eq!(items.len(), 1, "{items:?}");
        items.remove(0).unwrap()
    }

    #[test]
    fn an_indi_command_is_read_with_its_members() {
        let e = ok(
            "<?xml version='1.0'?>\n<newSwitchVector device=\"Sony Camera\" name='CCD_ISO' \
                    timestamp=\"2026-12-01T10:00:00\">\n  <oneSwitch name=\"ISO3\">\n On\n \
                    </oneSwitch>\n<oneSwitch name=\"ISO0\">Off</oneSwitch></newSwitchVector>",
        );
        assert_eq!(e.name, "newSwitchVector");
        assert_eq!(e.attr("device"), Some("Sony Camera"));
        assert_eq!(e.attr("name"), Some("CCD_ISO"));
        assert_eq!(e.children.len(), 2);
        assert_eq!(e.children[0].attr("name"), Some("ISO3"));
        assert_eq!(e.children[0].text.trim(), "On");
        assert_eq!(e.children[1].text, "Off");
    }

    #[test]
    fn any_chunking_gives_the_same_elements() {
        let input = b"<getProperties version=\"1.7\"/><!-- a comment -- - -->\
                      <newTextVector device=\"D\" name=\"UPLOAD_SETTINGS\"><oneText \
                      name=\"UPLOAD_DIR\">/tmp/a &amp; b&#x20;&#65;</oneText></newTextVector>";
        let whole = all(input);
        assert_eq!(whole.len(), 2);
        for chunk in [1, 2, 3, 7, 64] {
            let mut r = Reader::default();
            let mut got = Vec::new();
            for part in input.chunks(chunk) {
                got.extend(r.feed(part));
            }
            assert_eq!(got, whole, "chunks of {chunk}");
        }
        let text = whole[1].as_ref().unwrap();
        assert_eq!(text.children[0].text, "/tmp/a & b A");
        assert_eq!(whole[0].as_ref().unwrap().attr("version"), Some("1.7"));
    }

    #[test]
    fn entities_in_attributes_and_text_are_decoded() {
        let e = ok("<a x=\"&lt;&gt;&amp;&quot;&apos;\" y='&#233;'>&#x1F600;&lt;</a>");
        assert_eq!(e.attr("x"), Some("<>&\"'"));
        assert_eq!(e.attr("y"), Some("é"));
        assert_eq!(e.text, "😀<");
        for bad in [
            "<a>&bogus;</a>",
            "<a>&#0;</a>",
            "<a>&#xD800;</a>",
            "<a>& b</a>",
        ] {
            let items = all(bad.as_bytes());
            assert!(
                matches!(items.as_slice(), [Err(ParseError::Malformed(_))]),
                "{bad}: {items:?}"
            );
        }
    }

    #[test]
    fn malformed_elements_are_refused_and_the_stream_goes_on() {
        for bad in [
            "<a></b>",
            "<a b></a>",
            "<a b=c></a>",
            "<a b='1' b='2'/>",
            "<a x=\"<\"/>",
            "<1a/>",
            "<a/ >",
            "<![CDATA[x]]>",
            "<!DOCTYPE a>",
            "</a>",
        ] {
            let mut r = Reader::default();
            let mut items = r.feed(bad.as_bytes());
            items.extend(r.feed(b"<getProperties version=\"1.7\"/>"));
            assert!(
                matches!(items.first(), Some(Err(ParseError::Malformed(_)))),
                "{bad:?}: {items:?}"
            );
            assert_eq!(
                items
                    .last()
                    .and_then(|i| i.as_ref().ok())
                    .map(|e| e.name.as_str()),
                Some("getProperties"),
                "{bad:?}: {items:?}"
            );
        }
        // Invalid UTF-8 in text.
        let mut r = Reader::default();
        let items = r.feed(b"<a>\xff\xfe</a><b/>");
        assert!(matches!(items.first(), Some(Err(ParseError::Malformed(_)))));
        assert_eq!(items.last().unwrap().as_ref().unwrap().name, "b");
    }

    #[test]
    fn an_oversized_element_is_refused_and_skipped_to_its_end() {
        let limits = Limits {
            max_element: 1000,
            max_depth: 4,
        };
        let mut r = Reader::new(limits);
        let mut items = r.feed(b"<newTextVector name=\"X\"><oneText name=\"A\">");
        for _ in 0..100 {
            items.extend(r.feed(&[b'x'; 100]));
        }
        items.extend(r.feed(b"</oneText><oneText name=\"B\">y</oneText></newTextVector><ok/>"));
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0], Err(ParseError::TooLarge(1000)));
        assert_eq!(items[1].as_ref().unwrap().name, "ok");
        // A huge attribute value too.
        let mut r = Reader::new(limits);
        let mut big = b"<a v=\"".to_vec();
        big.extend([b'v'; 5000]);
        big.extend(b"\"/><ok/>");
        let items = r.feed(&big);
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0], Err(ParseError::TooLarge(1000)));
        assert_eq!(items[1].as_ref().unwrap().name, "ok");
    }

    #[test]
    fn too_deep_nesting_is_refused_and_skipped() {
        let mut r = Reader::new(Limits {
            max_element: 1 << 20,
            max_depth: 4,
        });
        let deep = "<a>".repeat(50) + &"</a>".repeat(50) + "<ok/>";
        let items = r.feed(deep.as_bytes());
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0], Err(ParseError::TooDeep(4)));
        assert_eq!(items[1].as_ref().unwrap().name, "ok");
        // Exactly at the limit is fine.
        let items = r.feed(b"<a><b><c><d/></c></b></a>");
        assert!(items[0].is_ok(), "{items:?}");
    }

    #[test]
    fn garbage_gets_one_message_until_an_element_is_read_whole() {
        let mut r = Reader::default();
        let items = r.feed(&vec![b'<'; 100_000]);
        assert_eq!(items.len(), 1, "one refusal, not one per `<`");
        assert!(r.feed(b"<<< >< &").is_empty());
        let items = r.feed(b"<getProperties version='1.7'/>");
        assert_eq!(items.len(), 1);
        assert!(items[0].is_ok());
        // After a good element, the next malformed one is said again.
        assert!(matches!(
            r.feed(b"<a><</a>")[..],
            [Err(ParseError::Malformed(_))]
        ));
    }

    #[test]
    fn many_tiny_elements_are_refused() {
        let mut r = Reader::default();
        let mut xml = b"<newSwitchVector>".to_vec();
        for _ in 0..MAX_ELEMENTS {
            xml.extend_from_slice(b"<a/>");
        }
        xml.extend_from_slice(b"</newSwitchVector><getProperties/>");
        let items = r.feed(&xml);
        assert_eq!(items.len(), 2, "{:?}", items.first());
        assert_eq!(items[0], Err(ParseError::TooMany(MAX_ELEMENTS)));
        assert_eq!(items[1].as_ref().unwrap().name, "getProperties");
    }

    #[test]
    fn memory_stays_bounded_on_endless_input() {
        let mut r = Reader::new(Limits {
            max_element: 4096,
            max_depth: 8,
        });
        let mut refused = 0;
        r.feed(b"<a>");
        for _ in 0..1000 {
            refused += r.feed(&[b'z'; 1000]).len();
            assert!(r.token.capacity() <= 64 * 1024);
        }
        assert_eq!(refused, 1);
        // Endless garbage between elements is ignored.
        let mut r = Reader::default();
        for _ in 0..100 {
            assert!(r.feed(&[b'g'; 1000]).is_empty());
        }
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("bell\u{7}x\ny"), "bell x\ny");
        // What is escaped reads back the same.
        let s = "<tag a='1'> & \"q\"";
        let e = ok(&format!("<x v=\"{}\">{}</x>", escape(s), escape(s)));
        assert_eq!(e.attr("v"), Some(s));
        assert_eq!(e.text, s);
    }
}
