// temperature is a KRules-style rule, the AssemblyScript twin of
// examples/temperature/go (same testdata): it records a device's reading as
// the property "tempc" of the event's subject, classifies it against the
// subject's thresholds, and when the class changes it updates "temp_status"
// and emits com.example.temperature.status.changed.
//
// The event data is {"tempc": <number>}. Thresholds are the subject's
// properties "temp_min" and "temp_max" (defaults 20 and 30): tempc <= temp_min
// is COLD, tempc >= temp_max is WARM, 45 and above is CRITICAL, and anything
// between is NORMAL.
//
// Grants: props, emit.

import {
  register, reject, newError, formatFloat, isNotFound, isStatus,
  Context, Event, JSONValue, JSONWriter, Level, Subject, CONFLICT, KIND_ERROR, REV_ABSENT,
} from "../../../guest-sdks/assemblyscript/assembly";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../guest-sdks/assemblyscript/assembly";

// STATUS_CHANGED_TYPE is the type of the event emitted when temp_status changes.
const STATUS_CHANGED_TYPE = "com.example.temperature.status.changed";

// Default thresholds for subjects without temp_min / temp_max.
const DEFAULT_MIN = 20.0;
const DEFAULT_MAX = 30.0;
const CRITICAL = 45.0;

// MAX_STATUS_ATTEMPTS bounds the compare-and-set loop on temp_status.
const MAX_STATUS_ATTEMPTS = 100;

// tempc is the reading readTempC decoded (AssemblyScript has no tuples:
// helpers leave their second results in globals, as below).
let tempc: f64 = 0;

// readTempC decodes {"tempc": <number>}, rejecting the event with the Go
// SDK's messages. It sets tempc, or returns the rejection.
function readTempC(ev: Event): Error | null {
  const text = ev.text();
  if (text.trim().length == 0) return reject("data: invalid JSON: no data");
  const data = ev.json();
  if (data === null) return reject("data: invalid JSON");
  if (data.type != "object" && !data.isNull()) return reject(`data: must be an object, got ${data.type}`);
  const v = data.get("tempc");
  if (v === null || v.isNull()) return reject(`data: field "tempc" is required`);
  if (v.type != "number") return reject(`data: field "tempc" must be a number, got ${v.type}`);
  tempc = v.asNumber();
  if (isNaN(tempc)) return reject(`data: field "tempc" must be a number, got number`);
  // Readings no thermometer can produce are rejected, not recorded.
  if (tempc < -273.15) return reject(`data: tempc ${formatFloat(tempc)} is below absolute zero`);
  return null;
}

// classify maps a temperature to a status; CRITICAL wins over WARM.
function classify(t: f64, lo: f64, hi: f64): string {
  if (t >= CRITICAL) return "CRITICAL";
  if (t >= hi) return "WARM";
  if (t <= lo) return "COLD";
  return "NORMAL";
}

// threshold reads a numeric property into thresholdValue, or def when the
// subject lacks it.
let thresholdValue: f64 = 0;

function threshold(s: Subject, prop: string, def: f64): Error | null {
  thresholdValue = def;
  const e = s.get(prop);
  if (e.notFound) return null;
  if (e.error !== null) return e.error;
  const v = e.json();
  const n = v !== null ? v.asNumber() : NaN;
  if (isNaN(n)) {
    return newError(KIND_ERROR, `get property "${prop}" of "${s.name}": decode: ${e.text()} is not a number`);
  }
  thresholdValue = n;
  return null;
}

// setStatus sets temp_status to status unless it already is; it leaves the
// previous JSON value in oldStatus (null when absent) and whether it wrote
// in changed. The write is a compare-and-set against the revision read, so
// two concurrent readings cannot both report the same transition.
let oldStatus: string | null = null;
let changed = false;

function setStatus(s: Subject, status: string): Error | null {
  changed = false;
  for (let i = 0; i < MAX_STATUS_ATTEMPTS; i++) {
    const cur = s.get("temp_status");
    let expect: i64 = REV_ABSENT;
    oldStatus = null;
    if (cur.found) {
      oldStatus = cur.text();
      expect = <i64>cur.rev;
      const v = cur.json();
      if (v !== null) {
        const str = v.asString();
        if (str !== null && str == status) return null;
      }
    } else if (!isNotFound(cur.error)) {
      return cur.error;
    }
    const r = s.setIf("temp_status", status, expect);
    if (isStatus(r.error, CONFLICT)) continue;
    if (r.error !== null) return r.error;
    changed = true;
    return null;
  }
  return newError(KIND_ERROR, `set temp_status: gave up after ${MAX_STATUS_ATTEMPTS} conflicts`);
}

function handle(ctx: Context, ev: Event): Error | null {
  let err = readTempC(ev);
  if (err !== null) return err;
  const subject = ev.subject;
  if (subject == "") return reject("event has no subject: temperature readings are about a device");
  const s = ctx.subject(subject);
  if ((err = s.set("tempc", tempc)) !== null) return err;
  if ((err = threshold(s, "temp_min", DEFAULT_MIN)) !== null) return err;
  const lo = thresholdValue;
  if ((err = threshold(s, "temp_max", DEFAULT_MAX)) !== null) return err;
  const hi = thresholdValue;
  const status = classify(tempc, lo, hi);
  if ((err = setStatus(s, status)) !== null) return err;
  if ((err = ctx.field("status_changed", changed)) !== null) return err;
  if ((err = ctx.field("temp_status", status)) !== null) return err;
  if (changed) {
    const old = oldStatus;
    const from = old !== null ? old : "none";
    ctx.log(Level.Info, `${subject}: temp_status ${from} -> "${status}" at ${formatFloat(tempc)}°C`);
    const data = new JSONWriter().startObject().key("from");
    if (old !== null) data.raw(old);
    else data.null();
    data.entry("to", status).endObject();
    if ((err = ctx.emitJSON(STATUS_CHANGED_TYPE, subject, data)) !== null) return err;
  }
  return ctx.resultJSON(new JSONWriter().startObject().entry("temp_status", status).entry("changed", changed).endObject());
}

register(handle);
