// badlen passes a negative length (-1, read as 0xFFFFFFFF) and a huge one to
// host calls, depending on the event's subject.

import { register, newError, Context, Event } from "../../../../guest-sdks/assemblyscript/assembly";
import { eventAttr, logWrite } from "../../../../guest-sdks/assemblyscript/assembly/imports";
import { bad, calm } from "./common";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../../guest-sdks/assemblyscript/assembly";

const name = memory.data<u8>([0x74, 0x79, 0x70, 0x65]); // "type"

register((ctx: Context, ev: Event): Error | null => {
  if (!bad(ev)) return calm(ctx);
  let n: i32;
  if (ev.subject == "huge") {
    n = logWrite(0, name, 0x7ffffff0);
  } else {
    n = eventAttr(name, <usize>-1, 0, 0);
  }
  return newError("error", `host call returned ${n} instead of trapping`);
});
