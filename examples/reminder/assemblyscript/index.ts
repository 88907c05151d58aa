// reminder notices subjects that fall silent: the AssemblyScript twin of
// examples/reminder/go, sharing its testdata. Every com.example.reading
// marks its subject "reporting" and schedules a com.example.check for the
// subject after check_after_ms milliseconds (config, default 10000), under
// the subject as the key: a newer reading replaces the pending check, so a
// check arrives only once a subject has sent nothing for that long. The
// check marks the subject "silent".
//
// Grants: props, schedule, config.

import { register, reject, newError, quoted, Context, EmitEvent, Event, JSONWriter } from "../../../guest-sdks/assemblyscript/assembly";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../guest-sdks/assemblyscript/assembly";

const READING_TYPE = "com.example.reading";
const CHECK_TYPE = "com.example.check";

// DEFAULT_CHECK_AFTER_MS is the silence, in milliseconds, after which a
// subject is checked when the config has no check_after_ms.
const DEFAULT_CHECK_AFTER_MS: i64 = 10000;

// I64_MAX_TENTH is the largest magnitude that can take another decimal
// digit without overflowing an i64.
const I64_MAX_TENTH: u64 = <u64>i64.MAX_VALUE / 10;

// parseMillis reads s as Go's strconv.ParseInt(s, 10, 64) does (an optional
// sign, then decimal digits, within i64) and returns it, or -1 when s is not
// such a number or is negative: either way not a number of milliseconds.
function parseMillis(s: string): i64 {
  let i = 0;
  let negative = false;
  if (s.length > 0 && (s.charCodeAt(0) == 0x2b || s.charCodeAt(0) == 0x2d)) {
    negative = s.charCodeAt(0) == 0x2d;
    i = 1;
  }
  if (i == s.length) return -1;
  let n: u64 = 0;
  for (; i < s.length; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    if (n > I64_MAX_TENTH) return -1;
    n = n * 10 + <u64>d;
    if (n > <u64>i64.MAX_VALUE) return -1;
  }
  // "-0" is zero; any other negative number is not a delay.
  if (negative && n != 0) return -1;
  return <i64>n;
}

// reading marks subject "reporting" and (re)schedules its check.
function reading(ctx: Context, subject: string): Error | null {
  let after = DEFAULT_CHECK_AFTER_MS;
  const s = ctx.config("check_after_ms");
  if (s !== null) {
    after = parseMillis(s);
    if (after < 0) return newError("config", "check_after_ms " + quoted(s) + " is not a number of milliseconds");
  }
  let err = ctx.subject(subject).set("status", "reporting");
  if (err !== null) return err;
  const check = new EmitEvent();
  check.type = CHECK_TYPE;
  check.subject = subject;
  check.dataContentType = "application/json";
  check.data = new JSONWriter().startObject().entry("after_ms", after).endObject().toBytes();
  err = ctx.scheduleIn(subject, after, check);
  if (err !== null) return err;
  return ctx.resultJSON(new JSONWriter().startObject().entry("check_after_ms", after).entry("status", "reporting").endObject());
}

// check marks subject "silent": nothing arrived since its check was
// scheduled.
function check(ctx: Context, subject: string): Error | null {
  const err = ctx.subject(subject).set("status", "silent");
  if (err !== null) return err;
  return ctx.resultJSON(new JSONWriter().startObject().entry("status", "silent").endObject());
}

function handle(ctx: Context, ev: Event): Error | null {
  const subject = ev.subject;
  if (subject == "") return reject("event has no subject: reminder watches subjects");
  const typ = ev.type;
  if (typ == READING_TYPE) return reading(ctx, subject);
  if (typ == CHECK_TYPE) return check(ctx, subject);
  return reject(`reminder handles ${READING_TYPE} and ${CHECK_TYPE}, not ${typ}`);
}

register(handle);
