// emptytype emits an event whose type is empty. The SDK refuses it with a
// clear error without calling the host; the raw import then sends it anyway
// and the guest claims success: the host's sticky failure must win over the
// handler's 0.

import { register, newError, isStatus, Context, EmitEvent, Event, Builder, INVALID } from "../../../../guest-sdks/assemblyscript/assembly";
import { emitEvent } from "../../../../guest-sdks/assemblyscript/assembly/imports";
import { bad, calm } from "./common";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../../guest-sdks/assemblyscript/assembly";

register((ctx: Context, ev: Event): Error | null => {
  if (!bad(ev)) return calm(ctx);
  const e = new EmitEvent();
  e.subject = "s";
  const err = ctx.emit(e);
  if (err === null || !isStatus(err, INVALID) || err.message != `emit "": invalid argument: empty type`) {
    return newError("error", "the SDK did not refuse an empty type: " + (err !== null ? err.message : "no error"));
  }
  const attrs = new Builder().ascii("type").byte(0).byte(0).ascii("subject").byte(0).ascii("s").byte(0);
  const data = new Builder().ascii("{}");
  const rc = emitEvent(attrs.dataStart, attrs.length, data.dataStart, data.length);
  if (rc != INVALID) return newError("error", `emit_event returned ${rc}, not INVALID`);
  return calm(ctx);
});
