// badresult sets its result from a pointer outside its memory.

import { register, newError, Context, Event } from "../../../../guest-sdks/assemblyscript/assembly";
import { resultSet } from "../../../../guest-sdks/assemblyscript/assembly/imports";
import { bad, calm, memoryEnd } from "./common";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../../guest-sdks/assemblyscript/assembly";

const ct = memory.data<u8>([0x74, 0x65, 0x78, 0x74, 0x2f, 0x70, 0x6c, 0x61, 0x69, 0x6e]); // "text/plain"

register((ctx: Context, ev: Event): Error | null => {
  if (!bad(ev)) return calm(ctx);
  const n = resultSet(memoryEnd() + 0x100, 32, ct, 10);
  return newError("error", `result_set returned ${n} instead of trapping`);
});
