// overflow hands the host a 16-byte buffer at the very end of its memory but
// claims a capacity of 64: a host that trusted the capacity would write past
// the buffer (and past memory).

import { register, newError, Context, Event } from "../../../../guest-sdks/assemblyscript/assembly";
import { eventData } from "../../../../guest-sdks/assemblyscript/assembly/imports";
import { bad, calm, memoryEnd } from "./common";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../../guest-sdks/assemblyscript/assembly";

register((ctx: Context, ev: Event): Error | null => {
  if (!bad(ev)) return calm(ctx);
  const n = eventData(memoryEnd() - 16, 64);
  return newError("error", `event_data returned ${n} instead of trapping`);
});
