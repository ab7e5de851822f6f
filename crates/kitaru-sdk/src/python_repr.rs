//! Python's `repr()` and `str()` of the built-in values Kitaru stores, as
//! the reference shows values and exceptions: strings, bytes, numbers,
//! containers, UUIDs and pydantic models / dataclasses (from their JSON dump).

use std::fmt::Write as _;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Number, Value};

/// A loaded value, as far as it matters for showing it: the Python types
/// the readable materializers produce.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Py {
    None,
    Bool(bool),
    Int(Number),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Py>),
    Tuple(Vec<Py>),
    Set(Vec<Py>),
    Dict(Vec<(Py, Py)>),
    /// Hyphenated, lower case.
    Uuid(String),
    /// A pydantic model or dataclass: its class name and its JSON dump.
    Model {
        class: String,
        dump: Box<Py>,
        kind: ModelKind,
    },
}

/// Which kind of class a [`Py::Model`] is: their `str()` differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ModelKind {
    /// A pydantic model: `str()` is its fields, space-separated.
    Pydantic,
    /// A dataclass: `str()` is its `repr()`.
    Dataclass,
}

/// Python's `json.loads`, keeping the order of object keys (`repr` shows it).
impl<'de> Deserialize<'de> for Py {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct JsonVisitor;
        impl<'de> Visitor<'de> for JsonVisitor {
            type Value = Py;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Py, E> {
                Ok(Py::None)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Py, E> {
                Ok(Py::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Py, E> {
                Ok(Py::Int(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Py, E> {
                Ok(Py::Int(n.into()))
            }
            fn visit_f64<E>(self, f: f64) -> Result<Py, E> {
                Ok(Py::Float(f))
            }
            fn visit_str<E>(self, s: &str) -> Result<Py, E> {
                Ok(Py::Str(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Py, E> {
                Ok(Py::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Py, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Py::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Py, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Py>()? {
                    entries.push((Py::Str(key), value));
                }
                Ok(Py::Dict(entries))
            }
        }
        deserializer.deserialize_any(JsonVisitor)
    }
}

impl Py {
    pub(crate) fn model(data_type: &str, dump: Py, kind: ModelKind) -> Self {
        let class = data_type.rsplit('.').next().unwrap_or(data_type).to_owned();
        Self::Model {
            class,
            dump: Box::new(dump),
            kind,
        }
    }

    /// The JSON form, if every part has one (bytes and UUIDs have none).
    pub(crate) fn to_json(&self) -> Option<Value> {
        Some(match self {
            Self::None => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(n) => Value::Number(n.clone()),
            Self::Float(f) => Value::Number(Number::from_f64(*f)?),
            Self::Str(s) => Value::String(s.clone()),
            Self::Bytes(_) | Self::Uuid(_) => return None,
            Self::List(items) | Self::Tuple(items) => {
                Value::Array(items.iter().map(Self::to_json).collect::<Option<_>>()?)
            }
            Self::Set(items) => {
                let mut items: Vec<&Py> = items.iter().collect();
                items.sort_by_cached_key(|item| item.repr());
                Value::Array(
                    items
                        .into_iter()
                        .map(Self::to_json)
                        .collect::<Option<_>>()?,
                )
            }
            Self::Dict(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| Some((k.str(), v.to_json()?)))
                    .collect::<Option<_>>()?,
            ),
            Self::Model { dump, .. } => dump.to_json()?,
        })
    }

    /// Python's `str()`: the text itself for strings and UUIDs, a pydantic
    /// model's fields, else `repr()`.
    pub(crate) fn str(&self) -> String {
        match self {
            Self::Str(s) | Self::Uuid(s) => s.clone(),
            Self::Model {
                dump,
                kind: ModelKind::Pydantic,
                ..
            } => model_fields(dump).join(" "),
            other => other.repr(),
        }
    }

    /// Python's `repr()`.
    pub(crate) fn repr(&self) -> String {
        let join = |items: &[Py]| items.iter().map(Py::repr).collect::<Vec<_>>().join(", ");
        match self {
            Self::None => "None".to_owned(),
            Self::Bool(true) => "True".to_owned(),
            Self::Bool(false) => "False".to_owned(),
            Self::Int(n) => n.to_string(),
            Self::Float(f) => float_repr(*f),
            Self::Str(s) => str_repr(s),
            Self::Bytes(b) => bytes_repr(b),
            Self::List(items) => format!("[{}]", join(items)),
            Self::Tuple(items) if items.len() == 1 => format!("({},)", items[0].repr()),
            Self::Tuple(items) => format!("({})", join(items)),
            Self::Set(items) if items.is_empty() => "set()".to_owned(),
            Self::Set(items) => format!("{{{}}}", join(items)),
            Self::Dict(entries) => {
                let entries: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.repr(), v.repr()))
                    .collect();
                format!("{{{}}}", entries.join(", "))
            }
            Self::Uuid(id) => format!("UUID('{id}')"),
            Self::Model { class, dump, .. } => {
                format!("{class}({})", model_fields(dump).join(", "))
            }
        }
    }

    /// Python's `json.dumps(value, sort_keys=True, default=str)`: `None`
    /// where Python raises a `TypeError` (mapping keys it cannot order or
    /// cannot turn into JSON keys).
    pub(crate) fn json_dumps_sorted(&self) -> Option<String> {
        let mut out = String::new();
        self.write_json_sorted(&mut out)?;
        Some(out)
    }

    fn write_json_sorted(&self, out: &mut String) -> Option<()> {
        match self {
            Self::None => out.push_str("null"),
            Self::Bool(true) => out.push_str("true"),
            Self::Bool(false) => out.push_str("false"),
            Self::Int(n) => out.push_str(&n.to_string()),
            Self::Float(f) => out.push_str(&float_json(*f)),
            Self::Str(s) => json_string(out, s),
            Self::List(items) | Self::Tuple(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write_json_sorted(out)?;
                }
                out.push(']');
            }
            Self::Dict(entries) => {
                let mut entries: Vec<&(Py, Py)> = entries.iter().collect();
                // Python sorts the items first: keys it cannot compare raise.
                if entries.len() > 1 {
                    let first = &entries[0].0;
                    let orderable = entries
                        .iter()
                        .all(|(key, _)| python_order(key, first).is_some());
                    if !orderable {
                        return None;
                    }
                    entries.sort_by(|a, b| {
                        python_order(&a.0, &b.0).unwrap_or(std::cmp::Ordering::Equal)
                    });
                }
                out.push('{');
                for (i, (key, value)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let key = match key {
                        Self::Str(s) => s.clone(),
                        Self::Float(f) => float_json(*f),
                        Self::Bool(true) => "true".to_owned(),
                        Self::Bool(false) => "false".to_owned(),
                        Self::None => "null".to_owned(),
                        Self::Int(n) => n.to_string(),
                        _ => return None,
                    };
                    json_string(out, &key);
                    out.push_str(": ");
                    value.write_json_sorted(out)?;
                }
                out.push('}');
            }
            // Not JSON: `default=str` writes their `str()`.
            Self::Bytes(_) | Self::Set(_) | Self::Uuid(_) | Self::Model { .. } => {
                json_string(out, &self.str());
            }
        }
        Some(())
    }
}

/// A model's fields as `name=repr` (a root model's as `root=repr`).
fn model_fields(dump: &Py) -> Vec<String> {
    match dump {
        Py::Dict(fields) => fields
            .iter()
            .map(|(k, v)| format!("{}={}", k.str(), v.repr()))
            .collect(),
        root => vec![format!("root={}", root.repr())],
    }
}

/// How Python's `<` orders two mapping keys of the kinds JSON keys can be
/// made of (numbers with numbers, strings with strings); `None` where it
/// raises a `TypeError`.
fn python_order(a: &Py, b: &Py) -> Option<std::cmp::Ordering> {
    let number = |value: &Py| match value {
        Py::Bool(flag) => Some(f64::from(u8::from(*flag))),
        Py::Int(n) => n.as_f64(),
        Py::Float(f) => Some(*f),
        _ => None,
    };
    let integer = |value: &Py| match value {
        Py::Bool(flag) => Some(i128::from(*flag)),
        Py::Int(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from)),
        _ => None,
    };
    match (a, b) {
        (Py::Str(a), Py::Str(b)) => Some(a.cmp(b)),
        _ => match (integer(a), integer(b)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => Some(
                number(a)?
                    .partial_cmp(&number(b)?)
                    .unwrap_or(std::cmp::Ordering::Equal),
            ),
        },
    }
}

/// A float as Python's `json` writes it: `repr()`, with `NaN`, `Infinity`
/// and `-Infinity` for the values JSON lacks.
pub(crate) fn float_json(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        float_repr(f)
    }
}

/// A JSON string as Python's `json` writes it by default (`ensure_ascii`):
/// everything outside printable ASCII escaped, as UTF-16 `\uXXXX` units.
pub(crate) fn json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(out, "\\u{unit:04x}").unwrap_or(());
                }
            }
        }
    }
    out.push('"');
}

/// Python's `str()` of a value `json.loads` made.
pub(crate) fn json_str(value: &Value) -> String {
    serde_json::from_value::<Py>(value.clone()).map_or_else(|_| value.to_string(), |py| py.str())
}

/// Python's `repr()` of a value `json.loads` made (`'text'`, `None`,
/// `True`, `1.0`).
pub(crate) fn json_repr(value: &Value) -> String {
    serde_json::from_value::<Py>(value.clone()).map_or_else(|_| value.to_string(), |py| py.repr())
}

/// Python's `repr()` of a float: the shortest digits that round-trip, in
/// positional notation for exponents -4..16, else `1e+16` style.
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // `{:e}` gives the same shortest round-trip digits: `1.2345e-5`, `1e16`.
    let scientific = format!("{f:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(mantissa) => ("-", mantissa),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let body = if (-4..16).contains(&exponent) {
        if exponent >= 0 {
            let point = exponent as usize + 1;
            if digits.len() <= point {
                format!("{digits}{}.0", "0".repeat(point - digits.len()))
            } else {
                format!("{}.{}", &digits[..point], &digits[point..])
            }
        } else {
            format!("0.{}{digits}", "0".repeat((-exponent - 1) as usize))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{first}{fraction}e{exponent_sign}{:02}", exponent.abs())
    };
    format!("{sign}{body}")
}

/// Python's quote choice: single quotes unless the text has a single quote
/// and no double quote.
fn quote_for(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double { '"' } else { '\'' }
}

/// Python's `repr()` of a str.
pub(crate) fn str_repr(s: &str) -> String {
    let quote = quote_for(s.contains('\''), s.contains('"'));
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => write!(out, "\\x{:02x}", c as u32).unwrap_or(()),
            c if (c as u32) < 0x10000 => write!(out, "\\u{:04x}", c as u32).unwrap_or(()),
            c => write!(out, "\\U{:08x}", c as u32).unwrap_or(()),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of bytes.
pub(crate) fn bytes_repr(bytes: &[u8]) -> String {
    let quote = quote_for(bytes.contains(&b'\''), bytes.contains(&b'"'));
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(quote);
    for &byte in bytes {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            byte if byte == quote as u8 => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(byte as char),
            byte => write!(out, "\\x{byte:02x}").unwrap_or(()),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable()` for one character: not a control, format,
/// separator (other than space), surrogate or private-use character.
/// Without Unicode tables, unassigned code points count as printable and the
/// format characters are the common ones.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let format_or_private = [
        0x00AD..=0x00AD,
        0x0600..=0x0605,
        0x061C..=0x061C,
        0x06DD..=0x06DD,
        0x070F..=0x070F,
        0x0890..=0x0891,
        0x08E2..=0x08E2,
        0x180E..=0x180E,
        0x200B..=0x200F,
        0x202A..=0x202E,
        0x2060..=0x2064,
        0x2066..=0x206F,
        0xFEFF..=0xFEFF,
        0xFFF9..=0xFFFB,
        0x110BD..=0x110BD,
        0x110CD..=0x110CD,
        0x13430..=0x1343F,
        0x1BCA0..=0x1BCA3,
        0x1D173..=0x1D17A,
        0xE0001..=0xE0001,
        0xE0020..=0xE007F,
        0xE000..=0xF8FF,
        0xF0000..=0x10FFFF,
        0xFDD0..=0xFDEF,
    ];
    let code = c as u32;
    let noncharacter = code & 0xFFFE == 0xFFFE;
    !noncharacter && !format_or_private.iter().any(|range| range.contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_repr() {
        let cases = [
            (3.5, "3.5"),
            (123.0, "123.0"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e16, "1e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (1.5e300, "1.5e+300"),
            (-0.0, "-0.0"),
            (-2.5e-7, "-2.5e-07"),
            (f64::INFINITY, "inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(float_repr(value), expected, "{value:e}");
        }
    }

    #[test]
    fn strings_print_as_python_repr() {
        let cases = [
            ("plain", "'plain'"),
            ("it's", r#""it's""#),
            (r#"both ' and ""#, r#"'both \' and "'"#),
            ("tab\tnew\nline\\", r"'tab\tnew\nline\\'"),
            ("\u{0}\u{7f}\u{a0}\u{ad}", r"'\x00\x7f\xa0\xad'"),
            ("\u{200b}\u{2028}\u{e000}", r"'\u200b\u2028\ue000'"),
            ("héllo ✓ 😀", "'héllo ✓ 😀'"),
            ("\u{f0000}", r"'\U000f0000'"),
        ];
        for (text, expected) in cases {
            assert_eq!(str_repr(text), expected);
        }
    }

    #[test]
    fn containers_print_as_python_repr() {
        let cases = [
            (Py::Tuple(vec![Py::Int(1.into())]), "(1,)"),
            (Py::Tuple(vec![]), "()"),
            (Py::Set(vec![]), "set()"),
            (Py::Set(vec![Py::Bool(true), Py::None]), "{True, None}"),
            (
                Py::Dict(vec![(Py::Str("k".into()), Py::Float(2.0))]),
                "{'k': 2.0}",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(value.repr(), expected);
        }
    }
}
