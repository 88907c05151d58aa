//! A small JSON encoder and decoder, enough for handlers: property values,
//! domain fields, results and event data are JSON, and the SDK depends on no
//! crate.
//!
//! Encoding writes what Go's `encoding/json` writes for the same values
//! (strings escaped alike, `<`, `>` and `&` included; numbers `10`, `47.5`,
//! `1e+21`), so a Rust handler's fields, results and properties read the
//! same as a Go handler's. [`ToJson`] is implemented for the usual types;
//! [`object`] and [`array()`] build composite values:
//!
//! ```
//! use wasmfaas::json;
//! let body = json::to_string(&json::object().field("count", 42).field("tags", ["a", "b"])).unwrap();
//! assert_eq!(body, r#"{"count":42,"tags":["a","b"]}"#);
//! ```
//!
//! Decoding parses into a [`Value`]; [`FromJson`] turns a value into a typed
//! one with errors that name the field (`field "tempc" must be a number, got
//! string`):
//!
//! ```
//! use wasmfaas::json::{self, DecodeError, FromJson, Value};
//! struct Reading { tempc: f64 }
//! impl FromJson for Reading {
//!     fn from_json(v: &Value) -> Result<Self, DecodeError> {
//!         let o = v.object()?;
//!         Ok(Reading { tempc: o.required("tempc")? })
//!     }
//! }
//! let r: Reading = json::from_slice(br#"{"tempc": 21.5}"#).unwrap();
//! assert_eq!(r.tempc, 21.5);
//! ```

use std::collections::BTreeMap;
use std::fmt;

use crate::error::Error;

/// MAX_DEPTH bounds the nesting the parser follows, so that hostile data
/// cannot exhaust the guest's stack.
pub const MAX_DEPTH: usize = 512;

// ---------------------------------------------------------------------------
// Values

/// A parsed JSON value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as its text so that integers stay exact.
    Number(Number),
    /// A string, decoded.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object, its members in document order.
    Object(Object),
}

/// A JSON number as written (`-0.5e+3`); it is always valid JSON number
/// syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Number(String);

impl Number {
    /// Returns the number's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the number as the nearest f64, or `None` when it is out of
    /// range (`1e400`).
    pub fn as_f64(&self) -> Option<f64> {
        self.0.parse::<f64>().ok().filter(|f| f.is_finite())
    }

    /// Returns the number when it is an integer written without fraction or
    /// exponent that fits an i64 (`3`, not `3.0` or `1e3`), as Go's
    /// encoding/json decodes into an int64.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse::<i64>().ok()
    }

    /// Is [`Number::as_i64`] for u64.
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse::<u64>().ok()
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A JSON object's members in document order. [`Object::get`] finds a key
/// exactly (the last of duplicates wins); [`Object::required`] and
/// [`Object::optional`] match as encoding/json matches struct fields.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Object(Vec<(String, Value)>);

static EMPTY_OBJECT: Object = Object(Vec::new());

impl Object {
    /// Returns the value of key (exact match; the last duplicate wins).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Returns the members in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Returns the number of members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Reports whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Finds a member as encoding/json finds a struct field: the last key
    /// equal to name, exactly or case-insensitively.
    pub fn field(&self, name: &str) -> Option<&Value> {
        let folded = name.to_lowercase();
        self.0.iter().rev().find(|(k, _)| k == name || k.to_lowercase() == folded).map(|(_, v)| v)
    }

    /// Decodes the member name, which must be present and not null.
    pub fn required<T: FromJson>(&self, name: &str) -> Result<T, DecodeError> {
        match self.field(name) {
            None | Some(Value::Null) => Err(DecodeError::new(DecodeErrorKind::Required(name.to_string()))),
            Some(v) => T::from_json(v).map_err(|e| e.within_field(name)),
        }
    }

    /// Decodes the member name, or returns `None` when it is absent or null.
    pub fn optional<T: FromJson>(&self, name: &str) -> Result<Option<T>, DecodeError> {
        match self.field(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => T::from_json(v).map(Some).map_err(|e| e.within_field(name)),
        }
    }
}

impl Value {
    /// Names the value's type as the decode errors do: `null`, `bool`,
    /// `number`, `string`, `array`, `object`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Reports whether the value is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Returns the string, if the value is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Returns the number as f64, if the value is a number in range.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// Returns the number as i64, if the value is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    /// Returns the bool, if the value is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Returns the elements, if the value is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// Returns the object, if the value is one.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// Returns the object for decoding a record: `null` is an object without
    /// members (so its required fields are reported missing, as Go does),
    /// anything else but an object is a type error.
    pub fn object(&self) -> Result<&Object, DecodeError> {
        match self {
            Value::Object(o) => Ok(o),
            Value::Null => Ok(&EMPTY_OBJECT),
            v => Err(DecodeError::type_error("an object", v)),
        }
    }

    /// Returns the member key of an object (exact match), or `None`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|o| o.get(key))
    }
}

// ---------------------------------------------------------------------------
// Parsing

/// A JSON syntax error at a byte offset (the number of bytes read,
/// counting the offending one, as encoding/json reports it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong, in encoding/json's words where it has them.
    pub message: String,
    /// How far the parser read.
    pub offset: usize,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for SyntaxError {}

/// Parses one JSON document (surrounding whitespace allowed). Invalid UTF-8
/// inside strings becomes U+FFFD, as encoding/json does.
pub fn parse(data: &[u8]) -> Result<Value, SyntaxError> {
    let mut p = Parser { b: data, i: 0 };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i < p.b.len() {
        return Err(p.invalid("after top-level value"));
    }
    Ok(v)
}

/// Parses JSON text; see [`parse`].
pub fn parse_str(s: &str) -> Result<Value, SyntaxError> {
    parse(s.as_bytes())
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eof(&self) -> SyntaxError {
        SyntaxError { message: "unexpected end of JSON input".into(), offset: self.b.len() }
    }

    fn invalid(&self, context: &str) -> SyntaxError {
        match self.peek() {
            None => self.eof(),
            Some(c) => SyntaxError { message: format!("invalid character {} {}", quote_char(c), context), offset: self.i + 1 },
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(SyntaxError { message: format!("exceeded max depth {}", MAX_DEPTH), offset: self.i });
        }
        match self.peek() {
            None => Err(self.eof()),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
            Some(_) => Err(self.invalid("looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, SyntaxError> {
        for &w in word.as_bytes() {
            match self.peek() {
                None => return Err(self.eof()),
                Some(c) if c == w => self.i += 1,
                Some(_) => return Err(self.invalid(&format!("in literal {} (expecting {})", word, quote_char(w)))),
            }
        }
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().map_or(false, |c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, SyntaxError> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(c) if c.is_ascii_digit() => {
                self.digits();
            }
            _ => return Err(self.invalid("in numeric literal")),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.invalid("after decimal point in numeric literal"));
            }
        }
        if matches!(self.peek(), Some(b'e') | Some(b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+') | Some(b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.invalid("in exponent of numeric literal"));
            }
        }
        // The bytes are ASCII digits and signs, so this cannot fail.
        let text = String::from_utf8_lossy(&self.b[start..self.i]).into_owned();
        Ok(Value::Number(Number(text)))
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let h = self.b.get(at..at + 4)?;
        let mut v = 0u32;
        for &c in h {
            v = v * 16 + (c as char).to_digit(16)?;
        }
        Some(v)
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.i += 1; // the opening quote
        let mut out = String::new();
        loop {
            let c = match self.peek() {
                None => return Err(self.eof()),
                Some(c) => c,
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                0..=0x1f => return Err(self.invalid("in string literal")),
                b'\\' => {
                    let esc = match self.b.get(self.i + 1) {
                        None => {
                            self.i += 1;
                            return Err(self.eof());
                        }
                        Some(&e) => e,
                    };
                    let simple = match esc {
                        b'"' => Some('"'),
                        b'\\' => Some('\\'),
                        b'/' => Some('/'),
                        b'b' => Some('\u{8}'),
                        b'f' => Some('\u{c}'),
                        b'n' => Some('\n'),
                        b'r' => Some('\r'),
                        b't' => Some('\t'),
                        _ => None,
                    };
                    if let Some(ch) = simple {
                        out.push(ch);
                        self.i += 2;
                        continue;
                    }
                    if esc != b'u' {
                        self.i += 1;
                        return Err(self.invalid("in string escape code"));
                    }
                    let r = match self.hex4(self.i + 2) {
                        Some(r) => r,
                        None => {
                            self.i += 2;
                            return Err(self.invalid("in \\u hexadecimal character escape"));
                        }
                    };
                    self.i += 6;
                    if (0xD800..0xDC00).contains(&r) && self.b.get(self.i) == Some(&b'\\') && self.b.get(self.i + 1) == Some(&b'u') {
                        if let Some(lo) = self.hex4(self.i + 2).filter(|lo| (0xDC00..0xE000).contains(lo)) {
                            let cp = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
                            out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                            self.i += 6;
                            continue;
                        }
                    }
                    out.push(char::from_u32(r).unwrap_or('\u{FFFD}'));
                }
                _ => {
                    // A run of plain bytes: copy its valid UTF-8, and one
                    // U+FFFD per byte that does not start a valid sequence.
                    let start = self.i;
                    while self.i < self.b.len() && self.b[self.i] >= 0x20 && self.b[self.i] != b'"' && self.b[self.i] != b'\\' {
                        self.i += 1;
                    }
                    push_lossy(&mut out, &self.b[start..self.i]);
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.invalid("after array element")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, SyntaxError> {
        self.i += 1;
        let mut members = Vec::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::Object(Object(members)));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.invalid("looking for beginning of object key string"));
            }
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.invalid("after object key"));
            }
            self.i += 1;
            self.ws();
            let v = self.value(depth + 1)?;
            members.push((key, v));
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::Object(Object(members)));
                }
                _ => return Err(self.invalid("after object key:value pair")),
            }
        }
    }
}

/// Appends bytes as text: valid UTF-8 as is, and U+FFFD for each byte that
/// does not start a valid sequence (Go's utf8.DecodeRune rule, which differs
/// from Rust's lossy conversion for truncated sequences).
fn push_lossy(out: &mut String, mut b: &[u8]) {
    while !b.is_empty() {
        match std::str::from_utf8(b) {
            Ok(s) => {
                out.push_str(s);
                return;
            }
            Err(e) => {
                let (good, bad) = b.split_at(e.valid_up_to());
                // from_utf8 said these bytes are valid.
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                out.push('\u{FFFD}');
                b = &bad[1..];
            }
        }
    }
}

/// Quotes a byte as encoding/json's syntax errors do: 'x', or '\x01'.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        0x20..=0x7e => format!("'{}'", c as char),
        _ => format!("'\\x{:02x}'", c),
    }
}

// ---------------------------------------------------------------------------
// Typed decoding

/// What a decode found wrong; see [`DecodeError`].
#[derive(Clone, Debug, PartialEq)]
pub enum DecodeErrorKind {
    /// The text is not JSON.
    Syntax(SyntaxError),
    /// A value has the wrong type: `want` is `"a number"`, `got` is
    /// `"string"` (or `"number 1.5"` for a number that does not fit).
    Type {
        /// What was expected, with an article.
        want: &'static str,
        /// What was found.
        got: String,
    },
    /// The object lacks the named member, or it is null.
    Required(String),
    /// A check of the decoded value failed.
    Invalid(String),
}

/// A decode failure and where it happened: the path of fields and indexes
/// from the document's root.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeError {
    path: Vec<Segment>,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Field(String),
    Index(usize),
}

impl DecodeError {
    /// Returns an error of the given kind at the value being decoded.
    pub fn new(kind: DecodeErrorKind) -> DecodeError {
        DecodeError { path: Vec::new(), kind }
    }

    /// Returns a type error: `want` (with an article) expected, `got` found.
    pub fn type_error(want: &'static str, got: &Value) -> DecodeError {
        DecodeError::new(DecodeErrorKind::Type { want, got: got.type_name().to_string() })
    }

    /// Returns a failed check of the decoded value, e.g. from a record's
    /// validation (`tempc -300 is below absolute zero`).
    pub fn invalid(message: impl Into<String>) -> DecodeError {
        DecodeError::new(DecodeErrorKind::Invalid(message.into()))
    }

    /// Places the error inside the member name of an object.
    pub fn within_field(mut self, name: &str) -> DecodeError {
        self.path.insert(0, Segment::Field(name.to_string()));
        self
    }

    /// Places the error inside element i of an array.
    pub fn within_index(mut self, i: usize) -> DecodeError {
        self.path.insert(0, Segment::Index(i));
        self
    }

    fn joined(path: &[Segment], leading_dot: bool) -> String {
        let mut s = String::new();
        for (i, seg) in path.iter().enumerate() {
            match seg {
                Segment::Field(f) => {
                    if i > 0 || leading_dot {
                        s.push('.');
                    }
                    s.push_str(f);
                }
                Segment::Index(n) => s.push_str(&format!("[{}]", n)),
            }
        }
        s
    }

    /// Describes the error with root naming the document, in the Go SDK's
    /// words: `data: field "tempc" must be a number, got string`,
    /// `data.location: field "lon" is required`, `data: invalid JSON: …`.
    pub fn describe(&self, root: &str) -> String {
        let here = format!("{}{}", root, DecodeError::joined(&self.path, true));
        match &self.kind {
            DecodeErrorKind::Syntax(e) => format!("{}: invalid JSON: {}", here, e),
            DecodeErrorKind::Type { want, got } if self.path.is_empty() => {
                format!("{}: must be {}, got {}", root, want, got)
            }
            DecodeErrorKind::Type { want, got } => {
                format!("{}: field \"{}\" must be {}, got {}", root, DecodeError::joined(&self.path, false), want, got)
            }
            DecodeErrorKind::Required(name) => format!("{}: field \"{}\" is required", here, name),
            DecodeErrorKind::Invalid(msg) => format!("{}: {}", here, msg),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe("value"))
    }
}

impl std::error::Error for DecodeError {}

impl From<SyntaxError> for DecodeError {
    fn from(e: SyntaxError) -> DecodeError {
        DecodeError::new(DecodeErrorKind::Syntax(e))
    }
}

/// A type that can be decoded from a JSON [`Value`]. Implement it for a
/// record with [`Value::object`] and [`Object::required`] /
/// [`Object::optional`]; check the decoded values there too, returning
/// [`DecodeError::invalid`].
pub trait FromJson: Sized {
    /// Decodes v.
    fn from_json(v: &Value) -> Result<Self, DecodeError>;
}

/// Parses data and decodes it as a T.
pub fn from_slice<T: FromJson>(data: &[u8]) -> Result<T, DecodeError> {
    T::from_json(&parse(data)?)
}

/// Parses s and decodes it as a T.
pub fn from_str<T: FromJson>(s: &str) -> Result<T, DecodeError> {
    from_slice(s.as_bytes())
}

impl FromJson for Value {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        Ok(v.clone())
    }
}

impl FromJson for bool {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        v.as_bool().ok_or_else(|| DecodeError::type_error("a boolean", v))
    }
}

impl FromJson for String {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        v.as_str().map(str::to_string).ok_or_else(|| DecodeError::type_error("a string", v))
    }
}

/// number_error is the type error for a number that is not of the wanted
/// kind or does not fit: encoding/json names the number then.
fn number_error(want: &'static str, v: &Value) -> DecodeError {
    match v {
        Value::Number(n) => DecodeError::new(DecodeErrorKind::Type { want, got: format!("number {}", n) }),
        _ => DecodeError::type_error(want, v),
    }
}

impl FromJson for f64 {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        v.as_f64().ok_or_else(|| number_error("a number", v))
    }
}

impl FromJson for f32 {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        v.as_f64()
            .filter(|f| f.abs() <= f32::MAX as f64)
            .map(|f| f as f32)
            .ok_or_else(|| number_error("a number", v))
    }
}

macro_rules! from_json_int {
    ($want:expr, $($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(v: &Value) -> Result<Self, DecodeError> {
                match v {
                    Value::Number(n) => n.as_str().parse::<$t>().map_err(|_| number_error($want, v)),
                    _ => Err(DecodeError::type_error($want, v)),
                }
            }
        }
    )*};
}
from_json_int!("an integer", i8, i16, i32, i64, isize);
from_json_int!("a non-negative integer", u8, u16, u32, u64, usize);

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        match v {
            Value::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        match v {
            Value::Array(items) => {
                items.iter().enumerate().map(|(i, item)| T::from_json(item).map_err(|e| e.within_index(i))).collect()
            }
            Value::Null => Ok(Vec::new()),
            v => Err(DecodeError::type_error("an array", v)),
        }
    }
}

impl<T: FromJson> FromJson for BTreeMap<String, T> {
    fn from_json(v: &Value) -> Result<Self, DecodeError> {
        let o = v.object()?;
        o.iter().map(|(k, item)| T::from_json(item).map(|t| (k.to_string(), t)).map_err(|e| e.within_field(k))).collect()
    }
}

// ---------------------------------------------------------------------------
// Encoding

/// Writes JSON text. A value that has no JSON form (NaN, infinities, raw
/// JSON that is not valid) records an error, which [`to_string`] returns.
#[derive(Default)]
pub struct Writer {
    out: String,
    err: Option<String>,
}

impl Writer {
    /// Returns an empty writer.
    pub fn new() -> Writer {
        Writer::default()
    }

    /// Returns the text written, or the first error recorded.
    pub fn finish(self) -> Result<String, Error> {
        match self.err {
            Some(e) => Err(Error::msg(format!("json: {}", e))),
            None => Ok(self.out),
        }
    }

    /// Records an error; the writer's text is then not used.
    pub fn fail(&mut self, msg: impl Into<String>) {
        if self.err.is_none() {
            self.err = Some(msg.into());
        }
    }

    /// Writes `null`.
    pub fn null(&mut self) {
        self.out.push_str("null");
    }

    /// Writes `true` or `false`.
    pub fn bool(&mut self, b: bool) {
        self.out.push_str(if b { "true" } else { "false" });
    }

    /// Writes an integer.
    pub fn int(&mut self, n: i128) {
        self.out.push_str(&n.to_string());
    }

    /// Writes a float64 as encoding/json does (`10`, `47.5`, `1e+21`,
    /// `1e-7`); NaN and infinities record an error.
    pub fn f64(&mut self, v: f64) {
        match format_json_number(v) {
            Some(s) => self.out.push_str(&s),
            None => self.fail(format!("unsupported value: {}", format_g(v))),
        }
    }

    /// Writes a string, escaped as encoding/json escapes it.
    pub fn string(&mut self, s: &str) {
        quote_into(&mut self.out, s.as_bytes());
    }

    /// Writes bytes as a JSON string, escaped as encoding/json escapes a Go
    /// string: each byte that is not valid UTF-8 becomes `\ufffd`.
    pub fn bytes_string(&mut self, b: &[u8]) {
        quote_into(&mut self.out, b);
    }

    /// Writes JSON text as is, after checking that it is one JSON value.
    pub fn raw(&mut self, json: &str) {
        match parse(json.as_bytes()) {
            Ok(_) => self.out.push_str(json.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))),
            Err(e) => self.fail(format!("invalid raw JSON: {}", e)),
        }
    }

    /// Writes a value.
    pub fn value<T: ToJson + ?Sized>(&mut self, v: &T) {
        v.write_json(self);
    }
}

/// A type that can be written as JSON.
pub trait ToJson {
    /// Writes self into w.
    fn write_json(&self, w: &mut Writer);
}

/// Encodes v as JSON text.
pub fn to_string<T: ToJson + ?Sized>(v: &T) -> Result<String, Error> {
    let mut w = Writer::new();
    v.write_json(&mut w);
    w.finish()
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn write_json(&self, w: &mut Writer) {
        (**self).write_json(w)
    }
}

impl ToJson for bool {
    fn write_json(&self, w: &mut Writer) {
        w.bool(*self)
    }
}

impl ToJson for str {
    fn write_json(&self, w: &mut Writer) {
        w.string(self)
    }
}

impl ToJson for String {
    fn write_json(&self, w: &mut Writer) {
        w.string(self)
    }
}

impl ToJson for f64 {
    fn write_json(&self, w: &mut Writer) {
        w.f64(*self)
    }
}

impl ToJson for f32 {
    fn write_json(&self, w: &mut Writer) {
        // The shortest f32 digits, as encoding/json writes a float32.
        match format_number(&format!("{:e}", self.abs()), *self as f64) {
            Some(s) => w.out.push_str(&s),
            None => w.fail(format!("unsupported value: {}", format_g(*self as f64))),
        }
    }
}

macro_rules! to_json_int {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn write_json(&self, w: &mut Writer) {
                w.int(*self as i128)
            }
        }
    )*};
}
to_json_int!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, w: &mut Writer) {
        match self {
            Some(v) => v.write_json(w),
            None => w.null(),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    fn write_json(&self, w: &mut Writer) {
        w.out.push('[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                w.out.push(',');
            }
            v.write_json(w);
        }
        w.out.push(']');
    }
}

impl<T: ToJson, const N: usize> ToJson for [T; N] {
    fn write_json(&self, w: &mut Writer) {
        self[..].write_json(w)
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, w: &mut Writer) {
        self[..].write_json(w)
    }
}

impl<T: ToJson> ToJson for BTreeMap<String, T> {
    fn write_json(&self, w: &mut Writer) {
        let mut o = object();
        for (k, v) in self {
            o = o.field(k, v);
        }
        o.write_json(w)
    }
}

impl ToJson for Value {
    fn write_json(&self, w: &mut Writer) {
        match self {
            Value::Null => w.null(),
            Value::Bool(b) => w.bool(*b),
            Value::Number(n) => w.out.push_str(n.as_str()),
            Value::String(s) => w.string(s),
            Value::Array(a) => a.write_json(w),
            Value::Object(o) => o.write_json(w),
        }
    }
}

impl ToJson for Object {
    fn write_json(&self, w: &mut Writer) {
        w.out.push('{');
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                w.out.push(',');
            }
            w.string(k);
            w.out.push(':');
            v.write_json(w);
        }
        w.out.push('}');
    }
}

/// JSON text to embed as is (a property value read from the store, say);
/// it is checked to be one JSON value when written.
#[derive(Clone, Copy, Debug)]
pub struct Raw<'a>(pub &'a str);

impl ToJson for Raw<'_> {
    fn write_json(&self, w: &mut Writer) {
        w.raw(self.0)
    }
}

/// Builds a JSON object member by member, in order; see [`object`].
#[derive(Default)]
pub struct ObjectBuilder {
    w: Writer,
    n: usize,
}

/// Starts a JSON object: `json::object().field("a", 1).field("b", "x")`.
pub fn object() -> ObjectBuilder {
    ObjectBuilder::default()
}

impl ObjectBuilder {
    /// Adds the member key with value v.
    pub fn field<T: ToJson>(mut self, key: &str, v: T) -> ObjectBuilder {
        if self.n > 0 {
            self.w.out.push(',');
        }
        self.n += 1;
        self.w.string(key);
        self.w.out.push(':');
        v.write_json(&mut self.w);
        self
    }
}

impl ToJson for ObjectBuilder {
    fn write_json(&self, w: &mut Writer) {
        if let Some(e) = &self.w.err {
            w.fail(e.clone());
        }
        w.out.push('{');
        w.out.push_str(&self.w.out);
        w.out.push('}');
    }
}

/// Builds a JSON array element by element; see [`array()`].
#[derive(Default)]
pub struct ArrayBuilder {
    w: Writer,
    n: usize,
}

/// Starts a JSON array: `json::array().item(1).item("x")`.
pub fn array() -> ArrayBuilder {
    ArrayBuilder::default()
}

impl ArrayBuilder {
    /// Appends v.
    pub fn item<T: ToJson>(mut self, v: T) -> ArrayBuilder {
        if self.n > 0 {
            self.w.out.push(',');
        }
        self.n += 1;
        v.write_json(&mut self.w);
        self
    }
}

impl ToJson for ArrayBuilder {
    fn write_json(&self, w: &mut Writer) {
        if let Some(e) = &self.w.err {
            w.fail(e.clone());
        }
        w.out.push('[');
        w.out.push_str(&self.w.out);
        w.out.push(']');
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends b as a JSON string the way encoding/json writes a Go string
/// (HTML-safe): `"` and `\` escaped, `\b \f \n \r \t` by name, other control
/// bytes and `<`, `>`, `&` as `\u00XX`, U+2028 and U+2029 as `\u2028` and
/// `\u2029`, and each byte that is not valid UTF-8 as `\ufffd`.
fn quote_into(out: &mut String, b: &[u8]) {
    out.push('"');
    let mut rest = b;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, false),
            // from_utf8 said the prefix is valid.
            Err(e) => (std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(), true),
        };
        for ch in valid.chars() {
            match ch {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                c if (c as u32) < 0x20 || c == '<' || c == '>' || c == '&' => {
                    out.push_str("\\u00");
                    out.push(HEX[(c as usize) >> 4] as char);
                    out.push(HEX[(c as usize) & 0xf] as char);
                }
                c => out.push(c),
            }
        }
        rest = &rest[valid.len()..];
        if bad {
            out.push_str("\\ufffd");
            rest = &rest[1..];
        }
    }
    out.push('"');
}

/// Shortest decimal digits of a finite float and its decimal point
/// position, from Rust's shortest round-trip `{:e}` form ("4.75e1" gives
/// ("475", 2)).
fn shortest(e_form: &str) -> (String, i32) {
    let (mant, exp) = e_form.split_once('e').unwrap_or((e_form, "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    (digits, exp + 1)
}

/// The shortest digits Go's strconv picks for a non-negative finite a:
/// Rust's, except when a lies exactly halfway between two shortest
/// candidates, where Rust rounds up and Go rounds to even
/// (125539696314135.125 is ...12 in Go, ...13 in Rust).
fn go_shortest(a: f64) -> (String, i32) {
    let (d, dp) = shortest(&format!("{:e}", a));
    let n = d.len();
    // A tie needs the exact value's digit n+1 to be 5 with nothing after
    // it; rounding to n+1 digits shows a 5 then, which is cheap to check.
    let (next, _) = shortest(&format!("{:.*e}", n, a));
    if d == "0" || !next.ends_with('5') {
        return (d, dp);
    }
    // 800 digits hold any f64 exactly.
    let (exact, edp) = shortest(&format!("{:.800e}", a));
    let (lower, rest) = exact.split_at(n.min(exact.len()));
    let tie = rest.starts_with('5') && rest[1..].bytes().all(|c| c == b'0');
    let even = lower.bytes().last().map_or(false, |c| (c - b'0') % 2 == 0);
    if !tie || !even || lower == d {
        return (d, dp);
    }
    // Keep the lower candidate only if it reads back as a.
    let text = format!("0.{}e{}", lower, edp);
    if text.parse::<f64>() == Ok(a) {
        (lower.to_string(), edp)
    } else {
        (d, dp)
    }
}

/// Go's %e with the given digits: d.ddde±XX.
fn fmt_e(neg: bool, digits: &str, dp: i32) -> String {
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.push_str(&digits[..1]);
    if digits.len() > 1 {
        s.push('.');
        s.push_str(&digits[1..]);
    }
    let exp = if digits == "0" { 0 } else { dp - 1 };
    s.push('e');
    s.push(if exp < 0 { '-' } else { '+' });
    let a = exp.abs();
    if a < 10 {
        s.push('0');
    }
    s.push_str(&a.to_string());
    s
}

/// Go's %f with the shortest digits: no exponent, no trailing zeros.
fn fmt_f(neg: bool, digits: &str, dp: i32) -> String {
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    let d = digits.as_bytes();
    if dp > 0 {
        for i in 0..dp as usize {
            s.push(if i < d.len() { d[i] as char } else { '0' });
        }
    } else {
        s.push('0');
    }
    let frac = d.len() as i32 - dp;
    if frac > 0 {
        s.push('.');
        for i in 0..frac {
            let j = dp + i;
            s.push(if j >= 0 && (j as usize) < d.len() { d[j as usize] as char } else { '0' });
        }
    }
    s
}

/// format_number writes a float as encoding/json does, given the shortest
/// `{:e}` form of its absolute value for its own width ("" for an f64, whose
/// digits go_shortest finds).
fn format_number(e_form: &str, f: f64) -> Option<String> {
    let abs = f.abs();
    if !f.is_finite() {
        return None;
    }
    let neg = f.is_sign_negative();
    let (digits, dp) = if e_form.is_empty() { go_shortest(abs) } else { shortest(e_form) };
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut s = fmt_e(neg, &digits, dp);
        // encoding/json writes e-7, not e-07.
        if let Some(i) = s.find("e-0") {
            s.remove(i + 2);
        }
        Some(s)
    } else {
        Some(fmt_f(neg, &digits, dp))
    }
}

/// format_json_number formats a float64 as encoding/json does, or `None`
/// for NaN and infinities, which have no JSON form.
fn format_json_number(v: f64) -> Option<String> {
    format_number("", v)
}

/// Formats a float as Go's `%g` (and `%v`) does: the shortest digits that
/// read back as the same float, in exponent form when the decimal exponent
/// is below -4 or at least 6 (`47.5`, `1e+06`, `1.234567e+06`, `1e-05`).
/// Use it to write numbers in messages exactly as a Go handler would.
pub fn format_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let neg = v.is_sign_negative();
    let (digits, dp) = go_shortest(v.abs());
    let exp = dp - 1;
    if digits != "0" && (exp < -4 || exp >= 6) {
        fmt_e(neg, &digits, dp)
    } else {
        fmt_f(neg, &digits, dp)
    }
}
