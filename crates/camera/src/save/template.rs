//! `--name` templates: parsing them into path components of literal text and placeholders.

use std::path::{Component, Path};

use super::SaveError;
use super::sanitize::is_unwanted_char;

/// The placeholders a `--name` template may use, for error messages.
pub(super) const PLACEHOLDERS: &str = "{model} {seq} {date} {time} {ext} {name}";

/// A `--name` placeholder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Placeholder {
    Model,
    Seq,
    Date,
    Time,
    Ext,
    Name,
}

impl Placeholder {
    fn parse(name: &str) -> Option<Placeholder> {
        Some(match name {
            "model" => Placeholder::Model,
            "seq" => Placeholder::Seq,
            "date" => Placeholder::Date,
            "time" => Placeholder::Time,
            "ext" => Placeholder::Ext,
            "name" => Placeholder::Name,
            _ => return None,
        })
    }
}

/// A piece of a template path component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Piece {
    Literal(String),
    Value(Placeholder),
}

/// A parsed `--name` template: path components, each a list of pieces.
pub(super) type Template = Vec<Vec<Piece>>;

pub(super) fn template_error(template: &str, reason: &str) -> SaveError {
    SaveError::Template(format!(
        "bad --name template {template:?}: {reason}; use the placeholders {PLACEHOLDERS} and \
         '/' between subfolder names (a relative path without empty, '.' or '..' parts)"
    ))
}

pub(super) fn parse_template(template: &str) -> Result<Template, SaveError> {
    let err = |reason: &str| Err(template_error(template, reason));
    if template.is_empty() {
        return err("it is empty");
    }
    if template.starts_with('/') {
        return err("it is an absolute path");
    }
    if template.contains('\\') {
        return err("it contains a backslash");
    }
    if template.chars().any(is_unwanted_char) {
        return err("it contains a control character");
    }
    let mut components: Template = Vec::new();
    let mut current: Vec<Piece> = Vec::new();
    let mut literal = String::new();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') | None => return err("a '{' is not closed by '}'"),
                        Some(c) => name.push(c),
                    }
                }
                let Some(p) = Placeholder::parse(&name) else {
                    return err(&format!("unknown placeholder {{{name}}}"));
                };
                if !literal.is_empty() {
                    current.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                current.push(Piece::Value(p));
            }
            '}' => return err("a '}' has no matching '{'"),
            '/' => {
                if !literal.is_empty() {
                    current.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                components.push(std::mem::take(&mut current));
            }
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        current.push(Piece::Literal(literal));
    }
    components.push(current);
    for component in &components {
        if component.is_empty() {
            return err("it has an empty path component (\"//\" or a '/' at the end)");
        }
        // With every placeholder standing for a plain name, the component must be one plain
        // name too (this also rejects "." and "..", and drive prefixes on Windows).
        let sample: String = component
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => s.as_str(),
                Piece::Value(_) => "x",
            })
            .collect();
        if sample == "." || sample == ".." {
            return err(&format!("it has a {sample:?} path component"));
        }
        if !is_single_normal(&sample) {
            return err(&format!("{sample:?} is not a plain file or folder name"));
        }
    }
    Ok(components)
}

/// True if `s` is exactly one normal path component.
pub(super) fn is_single_normal(s: &str) -> bool {
    let mut parts = Path::new(s).components();
    matches!(
        (parts.next(), parts.next()),
        (Some(Component::Normal(n)), None) if n == s
    )
}
