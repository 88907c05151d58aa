// Context: the host's services for the current call.

import {
  configGet, emitEvent, infoGet, infoSet, logWrite, resultHeader, resultSet, resultStatus,
  scheduleCancel, scheduleEvent, scheduleEventAt,
} from "./imports";
import { Builder, bytesPtr, fill, len, ptr, readA, scratchString, utf8 } from "./buffer";
import { INVALID, quoted, StatusError, statusWithMessage } from "./errors";
import { encode } from "./json";
import { HTTP } from "./http";
import { KV } from "./kv";
import { Subject } from "./subject";

// Level is a log level; the values are log/slog's.
export enum Level {
  Debug = -4,
  Info = 0,
  Warn = 4,
  Error = 8,
}

// EmitEvent is a CloudEvent for Context.emit, scheduleIn and scheduleAt.
// The host sets id, specversion and time, and source defaults to
// wasmfaas/functions/<function>. Empty attributes are left out.
export class EmitEvent {
  // type is required.
  type: string = "";
  subject: string = "";
  source: string = "";
  dataContentType: string = "";
  dataSchema: string = "";
  // extensions are extension attributes; names are 1-20 characters of [a-z0-9].
  extensions: Map<string, string> = new Map();
  data: Uint8Array = new Uint8Array(0);
}

function readInfo(p: usize, c: usize): i32 {
  return infoGet(ptr(readA), len(readA), p, c);
}

function readConfig(p: usize, c: usize): i32 {
  return configGet(ptr(readA), len(readA), p, c);
}

function hasNUL(s: string): bool {
  return s.indexOf("\0") >= 0;
}

// Context gives a handler the host's services for the current call: its
// result and HTTP response, logs, domain fields, config, emitted and
// scheduled events, KV store, subject properties and outbound HTTP. It is only valid during the call it was passed to.
export class Context {
  // result sets the call's result: body with its content type ("" means
  // application/octet-stream). A later call replaces an earlier one. Past
  // the function's max output bytes it fails with TOO_LARGE, which also
  // fails the call whatever the handler returns.
  result(contentType: string, body: Uint8Array): Error | null {
    const ct = utf8(contentType);
    const rc = resultSet(bytesPtr(body), <usize>body.length, ptr(ct), len(ct));
    return rc < 0 ? new StatusError("set result", rc) : null;
  }

  // resultText sets the call's result to text as UTF-8.
  resultText(contentType: string, text: string): Error | null {
    return this.result(contentType, Uint8Array.wrap(utf8(text)));
  }

  // resultJSON sets the call's result to v encoded as JSON (see
  // JSONWriter.value: a JSONWriter, a JSONValue, a string, a number, a bool).
  resultJSON<T>(v: T): Error | null {
    const w = encode<T>(v);
    const e = w.error;
    if (e !== null) return new Error("encode result: " + e);
    const ct = utf8("application/json");
    const rc = resultSet(w.b.dataStart, <usize>w.b.length, ptr(ct), len(ct));
    return rc < 0 ? new StatusError("set result", rc) : null;
  }

  // log appends a line to the call's logs. Past the function's max log
  // bytes the host drops the line and marks the logs truncated; that is not
  // the handler's problem, so log reports nothing.
  log(level: Level, message: string): void {
    const m = utf8(message);
    logWrite(<i32>level, ptr(m), len(m));
  }

  // field adds the domain field key, with v encoded as JSON, to the call's
  // ExecutionInfo; the same key again replaces it. Keys are 1-64 characters
  // of [A-Za-z0-9_.-]. It fails with LIMIT past the function's max log bytes.
  field<T>(key: string, v: T): Error | null {
    const w = encode<T>(v);
    const e = w.error;
    if (e !== null) return new Error("field " + quoted(key) + ": encode: " + e);
    const k = utf8(key);
    const rc = infoSet(ptr(k), len(k), w.b.dataStart, <usize>w.b.length);
    return rc < 0 ? new StatusError("field " + quoted(key), rc) : null;
  }

  // callInfo returns a fact about the call: "call_id", "function",
  // "module_digest", "attempt" (from 1) or "deadline" (RFC 3339); null when
  // there is no such fact.
  callInfo(name: string): string | null {
    readA = utf8(name);
    const n = fill(readInfo);
    return n < 0 ? null : scratchString(n);
  }

  // config returns the function's config entry key, or null when it is not
  // set. It needs the "config" capability.
  config(key: string): string | null {
    readA = utf8(key);
    const n = fill(readConfig);
    return n < 0 ? null : scratchString(n);
  }

  // emit emits ev. It needs the "emit" capability. Emitted events are
  // published only if the call ends ok. A malformed event or one past the
  // function's limits fails the call whatever the handler returns; an empty
  // type or a NUL in an attribute is refused here, before the host sees it.
  emit(ev: EmitEvent): Error | null {
    const op = "emit " + quoted(ev.type);
    const b = new Builder();
    const bad = encodeAttrs(ev, b);
    if (bad !== null) return statusWithMessage(op + ": invalid argument: " + bad, INVALID);
    const rc = emitEvent(b.dataStart, <usize>b.length, bytesPtr(ev.data), <usize>ev.data.length);
    return rc < 0 ? new StatusError(op, rc) : null;
  }

  // emitJSON emits an event of type typ about subject ("" for none) with v
  // encoded as JSON as its data.
  emitJSON<T>(typ: string, subject: string, v: T): Error | null {
    const w = encode<T>(v);
    const e = w.error;
    if (e !== null) return new Error("emit " + quoted(typ) + ": encode data: " + e);
    const ev = new EmitEvent();
    ev.type = typ;
    ev.subject = subject;
    ev.dataContentType = "application/json";
    ev.data = w.toBytes();
    return this.emit(ev);
  }

  // scheduleIn schedules ev to be delivered delayMs milliseconds after the
  // call ends, under key: scheduling again under the same key replaces the
  // pending event. It needs the "schedule" capability. Like emitted events,
  // schedules take effect only if the call ends ok. A negative delay, an
  // empty type or a NUL in an attribute is refused here (INVALID), before
  // the host sees it; a bad key or an event past the function's limits
  // fails the call whatever the handler returns.
  scheduleIn(key: string, delayMs: i64, ev: EmitEvent): Error | null {
    const op = "schedule " + quoted(key);
    if (delayMs < 0) return statusWithMessage(op + ": invalid argument: negative delay " + delayMs.toString() + "ms", INVALID);
    const b = new Builder();
    const bad = encodeAttrs(ev, b);
    if (bad !== null) return statusWithMessage(op + ": invalid argument: " + bad, INVALID);
    const k = utf8(key);
    const rc = scheduleEvent(ptr(k), len(k), b.dataStart, <usize>b.length, bytesPtr(ev.data), <usize>ev.data.length, delayMs);
    return rc < 0 ? new StatusError(op, rc) : null;
  }

  // scheduleAt schedules ev to be delivered at unixMs, milliseconds since
  // the Unix epoch (UTC), under key (see scheduleIn); a time in the past is
  // delivered at once.
  scheduleAt(key: string, unixMs: i64, ev: EmitEvent): Error | null {
    const op = "schedule " + quoted(key);
    const b = new Builder();
    const bad = encodeAttrs(ev, b);
    if (bad !== null) return statusWithMessage(op + ": invalid argument: " + bad, INVALID);
    const k = utf8(key);
    const rc = scheduleEventAt(ptr(k), len(k), b.dataStart, <usize>b.length, bytesPtr(ev.data), <usize>ev.data.length, unixMs);
    return rc < 0 ? new StatusError(op, rc) : null;
  }

  // cancelSchedule cancels the pending event under key, if any (a missing
  // key is not an error). It needs the "schedule" capability and, like
  // scheduling, takes effect only if the call ends ok.
  cancelSchedule(key: string): Error | null {
    const k = utf8(key);
    const rc = scheduleCancel(ptr(k), len(k));
    return rc < 0 ? new StatusError("cancel schedule " + quoted(key), rc) : null;
  }

  // setStatus sets the HTTP status of the call's response (100-599), for a
  // function that serves an HTTP route; the default is 200. A code outside
  // 100-599 fails with INVALID, which also fails the call whatever the
  // handler returns.
  setStatus(code: i32): Error | null {
    const rc = resultStatus(code);
    return rc < 0 ? new StatusError("set status " + code.toString(), rc) : null;
  }

  // setHeader adds a header to the call's HTTP response; the same name
  // again adds another value. A Content-Type header replaces the result's
  // content type. A bad name or value fails with INVALID (a value over 8 KiB
  // with TOO_LARGE), which also fails the call whatever the handler returns.
  setHeader(name: string, value: string): Error | null {
    const n = utf8(name);
    const v = utf8(value);
    const rc = resultHeader(ptr(n), len(n), ptr(v), len(v));
    return rc < 0 ? new StatusError("set header " + quoted(name), rc) : null;
  }

  // http returns the function's outbound HTTP client. It needs the "http"
  // capability.
  http(): HTTP {
    return new HTTP();
  }

  // kv returns the function's key/value store. It needs the "kv" capability.
  kv(): KV {
    return new KV();
  }

  // subject returns the subject name, whose properties the handler can read
  // and change. It needs the "props" capability.
  subject(name: string): Subject {
    return new Subject(name);
  }
}

// encodeAttrs writes the attrs block of emit_event and schedule_event*
// into b: name NUL value NUL pairs, type first, extensions sorted so the same
// event always crosses as the same bytes. It returns why the event cannot
// be sent ("empty type", or an attribute that contains NUL, which would
// shift every pair after it), or null.
function encodeAttrs(ev: EmitEvent, b: Builder): string | null {
  if (ev.type.length == 0) return "empty type";
  let bad = addAttr(b, "type", ev.type);
  if (bad === null && ev.subject.length > 0) bad = addAttr(b, "subject", ev.subject);
  if (bad === null && ev.source.length > 0) bad = addAttr(b, "source", ev.source);
  if (bad === null && ev.dataContentType.length > 0) bad = addAttr(b, "datacontenttype", ev.dataContentType);
  if (bad === null && ev.dataSchema.length > 0) bad = addAttr(b, "dataschema", ev.dataSchema);
  if (bad === null) {
    const names = ev.extensions.keys().sort();
    for (let i = 0; i < names.length && bad === null; i++) {
      bad = addAttr(b, names[i], ev.extensions.get(names[i]));
    }
  }
  return bad !== null ? "attribute " + quoted(bad) + " contains NUL" : null;
}

// addAttr appends one name/value pair of an emit_event attrs block, or
// returns the name when it or the value contains NUL, which would shift
// every pair after it.
function addAttr(b: Builder, name: string, value: string): string | null {
  if (hasNUL(name) || hasNUL(value)) return name;
  b.string(name).byte(0).string(value).byte(0);
  return null;
}

