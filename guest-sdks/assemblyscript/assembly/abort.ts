// The abort that every wasmfaas guest is built with (`--use
// abort=<path to this file>/abort`): AssemblyScript calls it for a failed
// assertion, an index out of range, a `throw`, or running out of memory.

import { fdWrite } from "./imports";

// abortBuf holds the message as UTF-8 and abortIOV the iovec and the
// nwritten slot of fd_write: static memory, because abort may be called
// when the heap is exhausted and must not allocate.
const ABORT_CAP: usize = 1024;
const abortBuf = memory.data(1024);
const abortIOV = memory.data(16);

let abortLen: usize = 0;

// abort ends the call as a trap whose message starts with the abort's: the
// host puts the first stderr lines of a call that traps at the start of its
// error message (abi/README.md §2), so the line goes to WASI stderr (fd 2)
// before `unreachable`. The message is "abort: <message> at
// <file>:<line>:<column>".
export function abort(message: string | null = null, fileName: string | null = null, lineNumber: u32 = 0, columnNumber: u32 = 0): void {
  abortLen = 0;
  put("abort: ");
  put(message !== null ? message : "(no message)");
  if (fileName !== null) {
    put(" at ");
    put(fileName);
    put(":");
    putUint(lineNumber);
    put(":");
    putUint(columnNumber);
  }
  putByte(0x0a);
  store<u32>(abortIOV, <u32>abortBuf);
  store<u32>(abortIOV, <u32>abortLen, 4);
  fdWrite(2, abortIOV, 1, abortIOV + 8);
  unreachable();
}

function putByte(b: u32): void {
  // The last byte is kept for the newline.
  if (abortLen < ABORT_CAP - 1 || (b == 0x0a && abortLen < ABORT_CAP)) {
    store<u8>(abortBuf + abortLen, <u8>b);
    abortLen++;
  }
}

// put appends s as UTF-8 (lone surrogates as U+FFFD), without allocating.
function put(s: string): void {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = <u32>s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
      const d = <u32>s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
    if (c < 0x80) {
      putByte(c);
    } else if (c < 0x800) {
      putByte(0xc0 | (c >> 6));
      putByte(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      putByte(0xe0 | (c >> 12));
      putByte(0x80 | ((c >> 6) & 0x3f));
      putByte(0x80 | (c & 0x3f));
    } else {
      putByte(0xf0 | (c >> 18));
      putByte(0x80 | ((c >> 12) & 0x3f));
      putByte(0x80 | ((c >> 6) & 0x3f));
      putByte(0x80 | (c & 0x3f));
    }
  }
}

function putUint(v: u32): void {
  let div: u32 = 1000000000;
  let started = false;
  while (div > 0) {
    const d = (v / div) % 10;
    if (d != 0 || started || div == 1) {
      putByte(0x30 + d);
      started = true;
    }
    div /= 10;
  }
}
