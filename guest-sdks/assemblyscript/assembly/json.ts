// JSON without a JSON library: JSONWriter encodes values as Go's
// encoding/json does (the same escaping, the same number format), and
// parseJSON checks a text and gives a JSONValue whose members, elements and
// scalars can be read. Property values, domain fields and event data are
// JSON, so a handler needs both.

import { Builder, decodeRune } from "./buffer";
import { parseFloat64, shortestDigits, sDigits as fDigits, sPoint as fPoint } from "./float";

// MAX_DEPTH is the deepest nesting parseJSON accepts, as Go's decoder.
const MAX_DEPTH = 10000;

// ---------------------------------------------------------------------------
// Numbers

// shortest sets sDigits and sDP for |v| (finite, not 0): the shortest
// digits that read back as v; the value is 0.<digits> x 10^dp.
let sDigits = "";
let sDP: i32 = 0;

function shortest(v: f64): void {
  shortestDigits(v);
  sDigits = fDigits;
  sDP = fPoint;
}

function isNegative(v: f64): bool {
  return (reinterpret<u64>(v) >> 63) != 0;
}

// fmtE writes the shortest digits in Go's %e form: d.ddde±XX.
function fmtE(neg: bool): string {
  let out = neg ? "-" : "";
  out += sDigits.charAt(0);
  if (sDigits.length > 1) out += "." + sDigits.substring(1);
  let exp = sDP - 1;
  out += exp < 0 ? "e-" : "e+";
  if (exp < 0) exp = -exp;
  if (exp < 10) out += "0";
  return out + exp.toString();
}

// fmtF writes the shortest digits in Go's %f form, without exponent.
function fmtF(neg: bool): string {
  let out = neg ? "-" : "";
  const nd = sDigits.length;
  if (sDP > 0) {
    const m = min(nd, sDP);
    out += sDigits.substring(0, m);
    for (let i = m; i < sDP; i++) out += "0";
  } else {
    out += "0";
  }
  if (nd > sDP) {
    out += ".";
    for (let i = sDP; i < nd; i++) out += i < 0 ? "0" : sDigits.charAt(i);
  }
  return out;
}

// formatNumber formats v as encoding/json writes a float64: the shortest
// digits that read back as v, in exponent form below 1e-6 and from 1e21 on
// (10, 47.5, 1e+21, 1e-7). It returns "" for NaN and the infinities, which
// JSON cannot hold.
export function formatNumber(v: f64): string {
  if (!isFinite(v)) return "";
  const neg = isNegative(v);
  if (v == 0) return neg ? "-0" : "0";
  shortest(v);
  const abs = Math.abs(v);
  if (abs < 1e-6 || abs >= 1e21) {
    let s = fmtE(neg);
    // encoding/json writes e-07 as e-7.
    const n = s.length;
    if (n >= 4 && s.charCodeAt(n - 4) == 0x65 && s.charCodeAt(n - 3) == 0x2d && s.charCodeAt(n - 2) == 0x30) {
      s = s.substring(0, n - 2) + s.substring(n - 1);
    }
    return s;
  }
  return fmtF(neg);
}

// formatFloat formats v as Go's fmt %g does (the shortest digits that read
// back as v, exponent form below 1e-4 and from 1e6 on: 47.5, 1e+06), for
// messages that must read like the Go SDK's.
export function formatFloat(v: f64): string {
  if (isNaN(v)) return "NaN";
  if (!isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  const neg = isNegative(v);
  if (v == 0) return neg ? "-0" : "0";
  shortest(v);
  const exp = sDP - 1;
  if (exp < -4 || exp >= 6) return fmtE(neg);
  return fmtF(neg);
}

// ---------------------------------------------------------------------------
// Strings

const HEX = "0123456789abcdef";

// escapeASCII appends the encoding/json form of the ASCII character c.
function escapeASCII(b: Builder, c: u32): void {
  switch (c) {
    case 0x22: b.byte(0x5c).byte(0x22); return;
    case 0x5c: b.byte(0x5c).byte(0x5c); return;
    case 0x08: b.byte(0x5c).byte(0x62); return;
    case 0x0c: b.byte(0x5c).byte(0x66); return;
    case 0x0a: b.byte(0x5c).byte(0x6e); return;
    case 0x0d: b.byte(0x5c).byte(0x72); return;
    case 0x09: b.byte(0x5c).byte(0x74); return;
  }
  // Control characters, and <, > and & (HTML-safe, as json.Marshal).
  if (c < 0x20 || c == 0x3c || c == 0x3e || c == 0x26) {
    b.ascii("\\u00").byte(HEX.charCodeAt(c >> 4)).byte(HEX.charCodeAt(c & 15));
    return;
  }
  b.byte(c);
}

// quoteString appends s as a JSON string, escaped as encoding/json does;
// a lone surrogate becomes \ufffd.
export function quoteString(b: Builder, s: string): void {
  b.byte(0x22);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = <u32>s.charCodeAt(i);
    if (c < 0x80) {
      escapeASCII(b, c);
      continue;
    }
    if (c >= 0xd800 && c < 0xe000) {
      const d = i + 1 < n ? <u32>s.charCodeAt(i + 1) : 0;
      if (c < 0xdc00 && d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else {
        b.ascii("\\ufffd");
        continue;
      }
    }
    if (c == 0x2028 || c == 0x2029) {
      b.ascii(c == 0x2028 ? "\\u2028" : "\\u2029");
    } else if (c < 0x800) {
      b.byte(0xc0 | (c >> 6)).byte(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      b.byte(0xe0 | (c >> 12)).byte(0x80 | ((c >> 6) & 0x3f)).byte(0x80 | (c & 0x3f));
    } else {
      b.byte(0xf0 | (c >> 18)).byte(0x80 | ((c >> 12) & 0x3f)).byte(0x80 | ((c >> 6) & 0x3f)).byte(0x80 | (c & 0x3f));
    }
  }
  b.byte(0x22);
}

// quoteUTF8 appends n bytes of UTF-8 at p as a JSON string, exactly as
// encoding/json encodes a Go string: each byte of an invalid sequence
// becomes \ufffd.
export function quoteUTF8(b: Builder, p: usize, n: i32): void {
  b.byte(0x22);
  let i = 0;
  while (i < n) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c < 0x80) {
      escapeASCII(b, c);
      i++;
      continue;
    }
    const r = decodeRune(p + <usize>i, n - i);
    const w = <i32>(r >> 24);
    const cp = r & 0x1fffff;
    if (cp == 0xfffd && w == 1) {
      b.ascii("\\ufffd");
    } else if (cp == 0x2028 || cp == 0x2029) {
      b.ascii(cp == 0x2028 ? "\\u2028" : "\\u2029");
    } else {
      b.raw(p + <usize>i, w);
    }
    i += w;
  }
  b.byte(0x22);
}

// ---------------------------------------------------------------------------
// Writing

// JSONWriter builds one JSON value as UTF-8, with commas and colons placed
// for you:
//
//   const w = new JSONWriter();
//   w.startObject().entry("count", 3).entry("ok", true).endObject();
//
// Every method returns the writer. A NaN or infinite number makes the
// writer invalid (error is set): JSON has no such values.
export class JSONWriter {
  readonly b: Builder = new Builder();
  // error is set when a value could not be encoded.
  error: string | null = null;
  private first: bool = true;
  private afterKey: bool = false;
  private levels: bool[] = [];

  private beforeValue(): void {
    if (this.afterKey) {
      this.afterKey = false;
      return;
    }
    if (!this.first) this.b.byte(0x2c);
    this.first = false;
  }

  startObject(): JSONWriter {
    this.beforeValue();
    this.b.byte(0x7b);
    this.levels.push(this.first);
    this.first = true;
    return this;
  }

  endObject(): JSONWriter {
    this.b.byte(0x7d);
    this.first = this.levels.length > 0 ? this.levels.pop() : false;
    return this;
  }

  startArray(): JSONWriter {
    this.beforeValue();
    this.b.byte(0x5b);
    this.levels.push(this.first);
    this.first = true;
    return this;
  }

  endArray(): JSONWriter {
    this.b.byte(0x5d);
    this.first = this.levels.length > 0 ? this.levels.pop() : false;
    return this;
  }

  // key writes an object member's name; the next value is its value.
  key(k: string): JSONWriter {
    this.beforeValue();
    quoteString(this.b, k);
    this.b.byte(0x3a);
    this.afterKey = true;
    return this;
  }

  // entry writes an object member: key(k).value(v).
  entry<T>(k: string, v: T): JSONWriter {
    return this.key(k).value<T>(v);
  }

  null(): JSONWriter {
    this.beforeValue();
    this.b.ascii("null");
    return this;
  }

  bool(v: bool): JSONWriter {
    this.beforeValue();
    this.b.ascii(v ? "true" : "false");
    return this;
  }

  integer(v: i64): JSONWriter {
    this.beforeValue();
    this.b.ascii(v.toString());
    return this;
  }

  unsigned(v: u64): JSONWriter {
    this.beforeValue();
    this.b.ascii(v.toString());
    return this;
  }

  // number writes v as encoding/json writes a float64.
  number(v: f64): JSONWriter {
    this.beforeValue();
    const s = formatNumber(v);
    if (s.length == 0) {
      this.error = "json: unsupported value: " + formatFloat(v);
      this.b.ascii("null");
    } else {
      this.b.ascii(s);
    }
    return this;
  }

  // string writes s as a JSON string.
  string(s: string): JSONWriter {
    this.beforeValue();
    quoteString(this.b, s);
    return this;
  }

  // stringUTF8 writes the UTF-8 bytes b as a JSON string.
  stringUTF8(b: Uint8Array): JSONWriter {
    this.beforeValue();
    quoteUTF8(this.b, b.dataStart, b.length);
    return this;
  }

  // raw writes text, which must be one valid JSON value, as is.
  raw(text: string): JSONWriter {
    this.beforeValue();
    this.b.string(text);
    return this;
  }

  // value writes v by its type: bool, integer, float, string (null for a
  // null string), a JSONWriter's value or a JSONValue's text.
  value<T>(v: T): JSONWriter {
    if (isBoolean<T>()) return this.bool(<bool>v);
    if (isInteger<T>()) {
      if (isSigned<T>()) return this.integer(<i64>v);
      return this.unsigned(<u64>v);
    }
    if (isFloat<T>()) return this.number(<f64>v);
    if (isNullable<T>()) {
      if (v == null) return this.null();
    }
    if (isString<T>()) return this.string(changetype<string>(v));
    if (v instanceof JSONWriter) {
      const w = changetype<JSONWriter>(v);
      if (w.error !== null) this.error = w.error;
      this.beforeValue();
      this.b.raw(w.b.dataStart, w.b.length);
      return this;
    }
    if (v instanceof JSONValue) return this.raw(changetype<JSONValue>(v).text);
    ERROR("JSONWriter.value: unsupported type (use bool, a number, string, JSONWriter or JSONValue)");
    return this;
  }

  // toBytes returns the JSON text as UTF-8.
  toBytes(): Uint8Array {
    return this.b.toBytes();
  }

  // toString returns the JSON text.
  toString(): string {
    return this.b.toString();
  }
}

// encode returns v as JSON (see JSONWriter.value).
export function encode<T>(v: T): JSONWriter {
  return new JSONWriter().value<T>(v);
}

// ---------------------------------------------------------------------------
// Reading

function isWS(c: u32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

function skipWS(s: string, i: i32, end: i32): i32 {
  while (i < end && isWS(<u32>s.charCodeAt(i))) i++;
  return i;
}

function isDigit(c: u32): bool {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: u32): bool {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

// scanString returns the index after the JSON string starting at s[i] (a
// quote), or -1.
function scanString(s: string, i: i32, end: i32): i32 {
  i++;
  while (i < end) {
    const c = <u32>s.charCodeAt(i);
    if (c == 0x22) return i + 1;
    if (c < 0x20) return -1;
    if (c == 0x5c) {
      if (i + 1 >= end) return -1;
      const e = <u32>s.charCodeAt(i + 1);
      if (e == 0x75) {
        if (i + 5 >= end) return -1;
        for (let k = 2; k < 6; k++) if (!isHex(<u32>s.charCodeAt(i + k))) return -1;
        i += 6;
        continue;
      }
      if (e != 0x22 && e != 0x5c && e != 0x2f && e != 0x62 && e != 0x66 && e != 0x6e && e != 0x72 && e != 0x74) return -1;
      i += 2;
      continue;
    }
    i++;
  }
  return -1;
}

// scanNumber returns the index after the JSON number at s[i], or -1.
function scanNumber(s: string, i: i32, end: i32): i32 {
  if (i < end && s.charCodeAt(i) == 0x2d) i++;
  if (i >= end) return -1;
  let c = <u32>s.charCodeAt(i);
  if (c == 0x30) {
    i++;
  } else if (isDigit(c)) {
    while (i < end && isDigit(<u32>s.charCodeAt(i))) i++;
  } else {
    return -1;
  }
  if (i < end && s.charCodeAt(i) == 0x2e) {
    i++;
    if (i >= end || !isDigit(<u32>s.charCodeAt(i))) return -1;
    while (i < end && isDigit(<u32>s.charCodeAt(i))) i++;
  }
  if (i < end && (s.charCodeAt(i) == 0x65 || s.charCodeAt(i) == 0x45)) {
    i++;
    if (i < end && (s.charCodeAt(i) == 0x2b || s.charCodeAt(i) == 0x2d)) i++;
    if (i >= end || !isDigit(<u32>s.charCodeAt(i))) return -1;
    while (i < end && isDigit(<u32>s.charCodeAt(i))) i++;
  }
  return i;
}

function scanLiteral(s: string, i: i32, end: i32, lit: string): i32 {
  const n = lit.length;
  if (i + n > end) return -1;
  for (let k = 0; k < n; k++) if (s.charCodeAt(i + k) != lit.charCodeAt(k)) return -1;
  return i + n;
}

// scanValue returns the index after the JSON value that starts at s[i]
// (after any whitespace), or -1 when it is not valid JSON. It keeps its own
// stack of open containers instead of recursing, so deep nesting cannot
// overflow the guest's stack.
function scanValue(s: string, i: i32, end: i32): i32 {
  const stack = new Array<bool>(); // true: object, false: array
  // 0: a value is expected, 1: an object key, 2: after a value.
  let state = 0;
  while (true) {
    if (state == 0) {
      i = skipWS(s, i, end);
      if (i >= end) return -1;
      const c = <u32>s.charCodeAt(i);
      if (c == 0x7b || c == 0x5b) {
        const obj = c == 0x7b;
        i = skipWS(s, i + 1, end);
        if (i < end && <u32>s.charCodeAt(i) == (obj ? 0x7d : 0x5d)) {
          i++;
          state = 2;
          continue;
        }
        if (stack.length >= MAX_DEPTH) return -1;
        stack.push(obj);
        state = obj ? 1 : 0;
        continue;
      }
      if (c == 0x22) i = scanString(s, i, end);
      else if (c == 0x2d || isDigit(c)) i = scanNumber(s, i, end);
      else if (c == 0x74) i = scanLiteral(s, i, end, "true");
      else if (c == 0x66) i = scanLiteral(s, i, end, "false");
      else if (c == 0x6e) i = scanLiteral(s, i, end, "null");
      else return -1;
      if (i < 0) return -1;
      state = 2;
    } else if (state == 1) {
      i = skipWS(s, i, end);
      if (i >= end || s.charCodeAt(i) != 0x22) return -1;
      i = scanString(s, i, end);
      if (i < 0) return -1;
      i = skipWS(s, i, end);
      if (i >= end || s.charCodeAt(i) != 0x3a) return -1;
      i++;
      state = 0;
    } else {
      if (stack.length == 0) return i;
      i = skipWS(s, i, end);
      if (i >= end) return -1;
      const c = <u32>s.charCodeAt(i);
      const obj = stack[stack.length - 1];
      if (c == 0x2c) {
        i++;
        state = obj ? 1 : 0;
      } else if (c == (obj ? 0x7d : 0x5d)) {
        stack.pop();
        i++;
      } else {
        return -1;
      }
    }
  }
}

function hexVal(c: u32): u32 {
  if (c <= 0x39) return c - 0x30;
  if (c >= 0x61) return c - 0x61 + 10;
  return c - 0x41 + 10;
}

function u4(s: string, i: i32): u32 {
  return (hexVal(<u32>s.charCodeAt(i)) << 12) | (hexVal(<u32>s.charCodeAt(i + 1)) << 8) |
    (hexVal(<u32>s.charCodeAt(i + 2)) << 4) | hexVal(<u32>s.charCodeAt(i + 3));
}

// decodeString decodes the valid JSON string s[i:end) (quotes included) as
// encoding/json does: a surrogate escape that is not half of a pair becomes
// U+FFFD.
function decodeString(s: string, i: i32, end: i32): string {
  const first = s.indexOf("\\", i + 1);
  if (first < 0 || first >= end - 1) return s.substring(i + 1, end - 1);
  const out = new Array<string>();
  let start = i + 1;
  let k = first;
  const stop = end - 1;
  while (k < stop) {
    const c = <u32>s.charCodeAt(k);
    if (c != 0x5c) {
      k++;
      continue;
    }
    if (k > start) out.push(s.substring(start, k));
    const e = <u32>s.charCodeAt(k + 1);
    if (e == 0x75) {
      let r = u4(s, k + 2);
      k += 6;
      if (r >= 0xd800 && r < 0xe000) {
        if (r < 0xdc00 && k + 6 <= stop && s.charCodeAt(k) == 0x5c && s.charCodeAt(k + 1) == 0x75) {
          const r2 = u4(s, k + 2);
          if (r2 >= 0xdc00 && r2 < 0xe000) {
            out.push(String.fromCharCodes([<i32>r, <i32>r2]));
            k += 6;
            start = k;
            continue;
          }
        }
        r = 0xfffd;
      }
      out.push(String.fromCharCode(<i32>r));
    } else {
      let ch: u32 = e;
      if (e == 0x62) ch = 0x08;
      else if (e == 0x66) ch = 0x0c;
      else if (e == 0x6e) ch = 0x0a;
      else if (e == 0x72) ch = 0x0d;
      else if (e == 0x74) ch = 0x09;
      out.push(String.fromCharCode(<i32>ch));
      k += 2;
    }
    start = k;
  }
  if (stop > start) out.push(s.substring(start, stop));
  return out.join("");
}

// JSON value kinds, as JSONValue.type names them.
export const enum Kind {
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
}

const KIND_NAMES = ["null", "bool", "number", "string", "array", "object"];

function kindOf(c: u32): Kind {
  if (c == 0x7b) return Kind.Object;
  if (c == 0x5b) return Kind.Array;
  if (c == 0x22) return Kind.String;
  if (c == 0x74 || c == 0x66) return Kind.Bool;
  if (c == 0x6e) return Kind.Null;
  return Kind.Number;
}

// parseJSON checks that text is exactly one JSON value (whitespace around
// it allowed) and returns it, or null when it is not valid JSON.
export function parseJSON(text: string): JSONValue | null {
  const end = text.length;
  const start = skipWS(text, 0, end);
  const stop = scanValue(text, start, end);
  if (stop < 0 || skipWS(text, stop, end) != end) return null;
  return new JSONValue(text.substring(start, stop));
}

// JSONValue is one valid JSON value (from parseJSON, or a member or element
// of another). Reading it never fails: a method asked for the wrong kind
// returns its zero (null, NaN, false).
export class JSONValue {
  readonly kind: Kind;

  // text is the value's JSON text, as it appeared.
  constructor(readonly text: string) {
    this.kind = kindOf(<u32>text.charCodeAt(0));
  }

  // type names the value's kind: "object", "array", "string", "number",
  // "bool" or "null".
  get type(): string {
    return KIND_NAMES[<i32>this.kind];
  }

  isNull(): bool {
    return this.kind == Kind.Null;
  }

  // get returns the member key of an object (the first with that exact
  // name), or null when there is none or this is not an object.
  get(key: string): JSONValue | null {
    if (this.kind != Kind.Object) return null;
    const s = this.text;
    const end = s.length;
    let i = skipWS(s, 1, end);
    while (i < end && s.charCodeAt(i) == 0x22) {
      const kEnd = scanString(s, i, end);
      const name = decodeString(s, i, kEnd);
      i = skipWS(s, kEnd, end) + 1; // past ':'
      const vStart = skipWS(s, i, end);
      const vEnd = scanValue(s, vStart, end);
      if (name == key) return new JSONValue(s.substring(vStart, vEnd));
      i = skipWS(s, vEnd, end);
      if (s.charCodeAt(i) != 0x2c) break;
      i = skipWS(s, i + 1, end);
    }
    return null;
  }

  // at returns the i-th element of an array, or null.
  at(index: i32): JSONValue | null {
    if (this.kind != Kind.Array || index < 0) return null;
    const s = this.text;
    const end = s.length;
    let i = skipWS(s, 1, end);
    let n = 0;
    while (i < end && s.charCodeAt(i) != 0x5d) {
      const vEnd = scanValue(s, i, end);
      if (n == index) return new JSONValue(s.substring(i, vEnd));
      n++;
      i = skipWS(s, vEnd, end);
      if (s.charCodeAt(i) != 0x2c) break;
      i = skipWS(s, i + 1, end);
    }
    return null;
  }

  // asNumber returns a number's value, or NaN when this is not a number or
  // it is beyond float64's range.
  asNumber(): f64 {
    if (this.kind != Kind.Number) return NaN;
    const v = parseFloat64(this.text);
    return isFinite(v) ? v : NaN;
  }

  // isInteger reports whether this is a number written as an integer that
  // fits in an i64 ("3", not "3.0" or "1e3"), as encoding/json reads an int64.
  isInteger(): bool {
    if (this.kind != Kind.Number) return false;
    const s = this.text;
    for (let i = 0; i < s.length; i++) {
      const c = <u32>s.charCodeAt(i);
      if (!isDigit(c) && !(i == 0 && c == 0x2d)) return false;
    }
    const digits = s.charCodeAt(0) == 0x2d ? s.substring(1) : s;
    if (digits.length < 19) return true;
    if (digits.length > 19) return false;
    return s.charCodeAt(0) == 0x2d ? digits <= "9223372036854775808" : digits <= "9223372036854775807";
  }

  // asInteger returns an integer's value (see isInteger), or 0.
  asInteger(): i64 {
    if (!this.isInteger()) return 0;
    return I64.parseInt(this.text, 10);
  }

  // asString returns a string's decoded value, or null.
  asString(): string | null {
    if (this.kind != Kind.String) return null;
    return decodeString(this.text, 0, this.text.length);
  }

  // asBool returns true for true, false otherwise.
  asBool(): bool {
    return this.text == "true";
  }

  toString(): string {
    return this.text;
  }
}
