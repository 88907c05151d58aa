// Buffers: the scratch buffer every variable-length host call copies into
// (the guest allocates, abi/README.md §3), a growable byte builder, and UTF-8
// conversion with Go's rules, so that text crosses the ABI as the Go and C
// SDKs send it.

// INITIAL_SCRATCH is the scratch buffer's size before any result needed
// more: enough for attributes, config values and small properties, so most
// reads need one host call.
const INITIAL_SCRATCH = 1024;

// scratch is shared by every read: calls on an instance never overlap and
// every reader copies its data out before the next host call. It keeps the
// largest size it grew to.
let scratch = new Uint8Array(INITIAL_SCRATCH);

// Read is one step of the grow-and-retry protocol: it calls the host with
// the buffer (ptr, cap) and returns what the host returned.
export type Read = (ptr: usize, cap: usize) => i32;

// readArgs are the inputs of the read in progress (AssemblyScript has no
// closures, so a Read finds its arguments here). Each is UTF-8 or raw bytes.
export let readA: ArrayBuffer = new ArrayBuffer(0);
export let readB: ArrayBuffer = new ArrayBuffer(0);

// fill runs read with the scratch buffer until the data fits, growing the
// buffer to the length the host reported and asking again, because data
// such as a KV value can change size between two calls. It returns the
// length (the data is in scratch[0:n], valid until the next host call) or
// the negative status read returned.
export function fill(read: Read): i32 {
  while (true) {
    const n = read(scratch.dataStart, <usize>scratch.length);
    if (n < 0 || n <= scratch.length) return n;
    scratch = new Uint8Array(n);
  }
}

// scratchBytes copies the first n bytes of scratch out.
export function scratchBytes(n: i32): Uint8Array {
  return scratch.slice(0, n);
}

// scratchString decodes the first n bytes of scratch as UTF-8.
export function scratchString(n: i32): string {
  return decodeUTF8(scratch.dataStart, n);
}

// scratchList splits the first n bytes of scratch, a run of NUL-terminated
// strings (event_extensions, kv_keys). A last string without its NUL is kept.
export function scratchList(n: i32): string[] {
  const out = new Array<string>();
  let start = 0;
  for (let i = 0; i < n; i++) {
    if (scratch[i] == 0) {
      out.push(decodeUTF8(scratch.dataStart + start, i - start));
      start = i + 1;
    }
  }
  if (start < n) out.push(decodeUTF8(scratch.dataStart + start, n - start));
  return out;
}

// utf8 encodes s for the host. Lone surrogates, which UTF-8 cannot hold,
// become U+FFFD.
export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s, false, String.UTF8.ErrorMode.REPLACE);
}

// ptr and len give an ArrayBuffer's region as the host reads it; an empty
// buffer is (0, 0), which the ABI accepts for any empty input.
// @ts-ignore: decorator
@inline export function ptr(b: ArrayBuffer): usize {
  return b.byteLength == 0 ? 0 : changetype<usize>(b);
}

// @ts-ignore: decorator
@inline export function len(b: ArrayBuffer): usize {
  return <usize>b.byteLength;
}

// bytesPtr is ptr for a Uint8Array (any view of a buffer).
// @ts-ignore: decorator
@inline export function bytesPtr(b: Uint8Array): usize {
  return b.length == 0 ? 0 : b.dataStart;
}

// decodeRune decodes the UTF-8 sequence at p (n bytes left, n >= 1) as Go's
// utf8.DecodeRune does: it returns the code point in the low 21 bits and the
// sequence's width above bit 24, and (U+FFFD, 1) for every byte that does
// not start a valid, shortest-form sequence.
export function decodeRune(p: usize, n: i32): u32 {
  const b0 = <u32>load<u8>(p);
  if (b0 < 0x80) return b0 | (1 << 24);
  const bad: u32 = 0xfffd | (1 << 24);
  if (b0 < 0xc2 || b0 > 0xf4) return bad;
  if (n < 2) return bad;
  const b1 = <u32>load<u8>(p, 1);
  if (b0 < 0xe0) {
    if (b1 < 0x80 || b1 > 0xbf) return bad;
    return (((b0 & 0x1f) << 6) | (b1 & 0x3f)) | (2 << 24);
  }
  let lo: u32 = 0x80, hi: u32 = 0xbf;
  if (b0 == 0xe0) lo = 0xa0;
  else if (b0 == 0xed) hi = 0x9f;
  else if (b0 == 0xf0) lo = 0x90;
  else if (b0 == 0xf4) hi = 0x8f;
  if (b1 < lo || b1 > hi) return bad;
  if (n < 3) return bad;
  const b2 = <u32>load<u8>(p, 2);
  if (b2 < 0x80 || b2 > 0xbf) return bad;
  if (b0 < 0xf0) {
    return (((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f)) | (3 << 24);
  }
  if (n < 4) return bad;
  const b3 = <u32>load<u8>(p, 3);
  if (b3 < 0x80 || b3 > 0xbf) return bad;
  return (((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f)) | (4 << 24);
}

// decodeUTF8 decodes n bytes at p into a string; each byte of an invalid
// sequence becomes U+FFFD, as in Go.
export function decodeUTF8(p: usize, n: i32): string {
  if (n <= 0) return "";
  // At most one UTF-16 unit per byte.
  const out = new Uint16Array(n);
  let o = 0;
  let i = 0;
  while (i < n) {
    const r = decodeRune(p + <usize>i, n - i);
    const c = r & 0x1fffff;
    i += <i32>(r >> 24);
    if (c >= 0x10000) {
      const v = c - 0x10000;
      unchecked(out[o++] = <u16>(0xd800 | (v >> 10)));
      unchecked(out[o++] = <u16>(0xdc00 | (v & 0x3ff)));
    } else {
      unchecked(out[o++] = <u16>c);
    }
  }
  return String.UTF16.decodeUnsafe(out.dataStart, <usize>o << 1);
}

// bytesToString decodes a byte array as UTF-8 (Go's rules).
export function bytesToString(b: Uint8Array): string {
  return decodeUTF8(b.dataStart, b.length);
}

// Builder is a growable byte buffer, for data sent to the host: JSON values
// (see JSONWriter) and emit_event's attrs block.
export class Builder {
  private buf: Uint8Array = new Uint8Array(64);
  private n: i32 = 0;

  // length is the number of bytes written.
  get length(): i32 {
    return this.n;
  }

  // dataStart is the address of the first byte (valid until the next write).
  get dataStart(): usize {
    return this.n == 0 ? 0 : this.buf.dataStart;
  }

  // byteAt returns the i-th byte written.
  byteAt(i: i32): u8 {
    return this.buf[i];
  }

  private reserve(extra: i32): void {
    const need = this.n + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length << 1;
    if (cap < need) cap = need;
    const b = new Uint8Array(cap);
    memory.copy(b.dataStart, this.buf.dataStart, <usize>this.n);
    this.buf = b;
  }

  // byte appends one byte.
  byte(b: u32): Builder {
    this.reserve(1);
    unchecked(this.buf[this.n++] = <u8>b);
    return this;
  }

  // raw appends n bytes at p.
  raw(p: usize, n: i32): Builder {
    if (n <= 0) return this;
    this.reserve(n);
    memory.copy(this.buf.dataStart + <usize>this.n, p, <usize>n);
    this.n += n;
    return this;
  }

  // bytes appends b.
  bytes(b: Uint8Array): Builder {
    return this.raw(b.dataStart, b.length);
  }

  // ascii appends s, which must be ASCII (names, digits, JSON syntax).
  ascii(s: string): Builder {
    const n = s.length;
    this.reserve(n);
    for (let i = 0; i < n; i++) unchecked(this.buf[this.n++] = <u8>s.charCodeAt(i));
    return this;
  }

  // string appends s as UTF-8 (lone surrogates as U+FFFD).
  string(s: string): Builder {
    const b = utf8(s);
    return this.raw(changetype<usize>(b), b.byteLength);
  }

  // reset empties the builder and keeps its memory.
  reset(): void {
    this.n = 0;
  }

  // toBytes copies what was written.
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.n);
  }

  // toString decodes what was written as UTF-8.
  toString(): string {
    return decodeUTF8(this.buf.dataStart, this.n);
  }
}
