//! wasi-upper is a plain WASI command in Rust, the twin of
//! examples/wasi-upper/go (same testdata): wasmfaas runs any module with
//! _start in command mode, passing the triggering event as a structured
//! CloudEvent on stdin and taking stdout as the result. It writes the
//! event's data upper-cased: a JSON string is upper-cased and written as
//! JSON, other JSON is written unchanged, and data_base64 that is UTF-8 text
//! is decoded and upper-cased.
//!
//! It uses no SDK, only std: a small bounds-checked JSON scanner finds the
//! top-level members "type", "data" and "data_base64". Member names match
//! exactly (encoding/json would also accept "Type").

use std::io::{self, Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wasi-upper: {}", e);
            ExitCode::from(1)
        }
    }
}

fn run() -> Result<(), String> {
    let mut input = Vec::new();
    io::stdin().read_to_end(&mut input).map_err(|e| format!("read stdin: {}", e))?;
    let ev = parse(&input).ok_or("stdin is not a structured CloudEvent: invalid JSON")?;
    let ty = match ev.ty.and_then(|t| decode_string(t)) {
        Some(t) if !t.is_empty() => t,
        _ => return Err("stdin is not a CloudEvent: no type".into()),
    };
    let out = upper(&ev)?;
    eprintln!("wasi-upper: {} event, {} bytes out", ty, out.len());
    io::stdout().write_all(&out).map_err(|e| format!("write stdout: {}", e))
}

/// Event holds the raw JSON text of the members this command reads.
#[derive(Default)]
struct Event<'a> {
    ty: Option<&'a [u8]>,
    data: Option<&'a [u8]>,
    data_base64: Option<&'a [u8]>,
}

fn upper(ev: &Event) -> Result<Vec<u8>, String> {
    if let Some(b64) = ev.data_base64.filter(|v| v.first() == Some(&b'"')) {
        let text = decode_string(b64).ok_or("data_base64: not a string")?;
        let b = base64(text.as_bytes())?;
        return Ok(match String::from_utf8(b) {
            Ok(s) => to_upper(&s).into_bytes(),
            Err(e) => e.into_bytes(),
        });
    }
    match ev.data {
        None | Some(b"null") => Ok(Vec::new()),
        Some(d) if d.first() == Some(&b'"') => {
            let s = decode_string(d).ok_or("data: bad string")?;
            Ok(quote(&to_upper(&s)).into_bytes())
        }
        Some(d) => Ok(d.to_vec()),
    }
}

/// to_upper maps each character with Unicode's simple case mapping, as
/// Go's strings.ToUpper does: a character whose upper case is several
/// characters (ß) stays as it is.
fn to_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// quote writes s as encoding/json does (HTML-safe escapes).
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 || c == '<' || c == '>' || c == '&' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// base64 decodes standard, padded base64 (CR and LF ignored, as Go's).
fn base64(s: &[u8]) -> Result<Vec<u8>, String> {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut quad, mut q, mut pad) = (0u32, 0, 0);
    for (i, &c) in s.iter().enumerate() {
        if c == b'\r' || c == b'\n' {
            continue;
        }
        let k = ABC.iter().position(|&a| a == c);
        if c == b'=' && q >= 2 {
            pad += 1;
        } else if k.is_none() || pad > 0 {
            return Err(format!("data_base64: illegal base64 data at input byte {}", i));
        }
        quad = quad << 6 | k.unwrap_or(0) as u32;
        q += 1;
        if q < 4 {
            continue;
        }
        out.extend_from_slice(&[(quad >> 16) as u8, (quad >> 8) as u8, quad as u8][..3 - pad]);
        q = 0;
        quad = 0;
    }
    if q != 0 {
        return Err(format!("data_base64: illegal base64 data at input byte {}", s.len()));
    }
    Ok(out)
}

/// MAX_DEPTH bounds the nesting the scanner follows.
const MAX_DEPTH: usize = 64;

/// parse checks that input is one JSON object and finds its members.
fn parse(input: &[u8]) -> Option<Event<'_>> {
    let mut s = Scanner { b: input, i: 0 };
    s.ws();
    if s.peek() != Some(b'{') {
        return None;
    }
    let mut ev = Event::default();
    s.i += 1;
    s.ws();
    if s.peek() == Some(b'}') {
        s.i += 1;
    } else {
        loop {
            s.ws();
            let k = s.i;
            s.string()?;
            let name = decode_string(&input[k..s.i])?;
            s.ws();
            s.expect(b':')?;
            s.ws();
            let v = s.i;
            s.value(1)?;
            let raw = &input[v..s.i];
            match name.as_str() {
                "type" => ev.ty = Some(raw),
                "data" => ev.data = Some(raw),
                "data_base64" => ev.data_base64 = Some(raw),
                _ => {}
            }
            s.ws();
            match s.peek()? {
                b',' => s.i += 1,
                b'}' => {
                    s.i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    s.ws();
    if s.i == input.len() {
        Some(ev)
    } else {
        None
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn string(&mut self) -> Option<()> {
        self.expect(b'"')?;
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                0..=0x1f => return None,
                b'\\' => {
                    self.i += 1;
                    match self.peek()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => {
                            let hex = self.b.get(self.i + 1..self.i + 5)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.i += 5;
                        }
                        _ => return None,
                    }
                }
                _ => self.i += 1,
            }
        }
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.string(),
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            open @ (b'[' | b'{') => {
                let close = if open == b'[' { b']' } else { b'}' };
                self.i += 1;
                self.ws();
                if self.peek() == Some(close) {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.ws();
                    if open == b'{' {
                        self.string()?;
                        self.ws();
                        self.expect(b':')?;
                        self.ws();
                    }
                    self.value(depth + 1)?;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        c if c == close => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            _ => self.number(),
        }
    }

    fn word(&mut self, w: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + w.len())? == w {
            self.i += w.len();
            Some(())
        } else {
            None
        }
    }

    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }
}

/// decode_string decodes a scanned JSON string (quotes included); invalid
/// UTF-8 and lone surrogates become U+FFFD.
fn decode_string(raw: &[u8]) -> Option<String> {
    let inner = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    let mut out = String::new();
    let mut bytes = Vec::new();
    let mut i = 0;
    let hex4 = |at: usize| -> Option<u32> { u32::from_str_radix(std::str::from_utf8(inner.get(at..at + 4)?).ok()?, 16).ok() };
    while i < inner.len() {
        if inner[i] != b'\\' {
            bytes.push(inner[i]);
            i += 1;
            continue;
        }
        out.push_str(&String::from_utf8_lossy(&bytes));
        bytes.clear();
        let e = *inner.get(i + 1)?;
        i += 2;
        let c = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let mut r = hex4(i)?;
                i += 4;
                if (0xD800..0xDC00).contains(&r) && inner.get(i..i + 2) == Some(b"\\u") {
                    if let Some(lo) = hex4(i + 2).filter(|lo| (0xDC00..0xE000).contains(lo)) {
                        r = 0x10000 + ((r - 0xD800) << 10) + (lo - 0xDC00);
                        i += 6;
                    }
                }
                char::from_u32(r).unwrap_or('\u{FFFD}')
            }
            _ => return None,
        };
        out.push(c);
    }
    out.push_str(&String::from_utf8_lossy(&bytes));
    Some(out)
}
