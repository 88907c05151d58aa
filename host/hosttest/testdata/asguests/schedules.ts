// schedules drives the SDK's schedule and HTTP response methods by the
// event's data: "plan" schedules, replaces and cancels events and shapes
// the response; "negative" asks for a negative delay, which the SDK refuses
// without calling the host; "badkey" and "badstatus" pass the host values
// it refuses (sticky: the call fails whatever the handler returns).

import { register, newError, isStatus, Context, EmitEvent, Event, INVALID } from "../../../../guest-sdks/assemblyscript/assembly";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../../guest-sdks/assemblyscript/assembly";

// LATER is 2030-01-01T00:00:00Z in milliseconds since the Unix epoch.
const LATER: i64 = 1893456000000;

function later(): EmitEvent {
  const e = new EmitEvent();
  e.type = "com.example.later";
  e.subject = "s";
  e.extensions.set("step", "1");
  e.data = Uint8Array.wrap(String.UTF8.encode(`{"n":1}`));
  return e;
}

function plan(ctx: Context): Error | null {
  let err = ctx.scheduleAt("at", LATER, later());
  if (err !== null) return err;
  const soon = new EmitEvent();
  soon.type = "com.example.soon";
  soon.data = Uint8Array.wrap(String.UTF8.encode("soon"));
  err = ctx.scheduleIn("in", 1500, soon);
  if (err !== null) return err;
  err = ctx.cancelSchedule("gone");
  if (err !== null) return err;
  err = ctx.setStatus(201);
  if (err !== null) return err;
  err = ctx.setHeader("X-Plan", "at in gone");
  if (err !== null) return err;
  return ctx.resultText("text/plain", "planned");
}

// invalid answers with err's message when err is INVALID, and fails the
// call otherwise.
function invalid(ctx: Context, what: string, err: Error | null): Error | null {
  if (err === null || !isStatus(err, INVALID)) {
    return newError("error", what + " returned " + (err !== null ? err.message : "no error") + ", not INVALID");
  }
  return ctx.resultText("text/plain", err.message);
}

register((ctx: Context, ev: Event): Error | null => {
  const step = ev.text();
  if (step == "plan") return plan(ctx);
  if (step == "negative") return invalid(ctx, "scheduleIn with a negative delay", ctx.scheduleIn("neg", -1, later()));
  if (step == "badkey") return invalid(ctx, "scheduleIn with an empty key", ctx.scheduleIn("", 10, later()));
  if (step == "badstatus") return invalid(ctx, "setStatus(42)", ctx.setStatus(42));
  if (step == "badheader") return invalid(ctx, "setHeader with a bad name", ctx.setHeader("Bad Name", "v"));
  return newError("error", "unknown step " + step);
});
