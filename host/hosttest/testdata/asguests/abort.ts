// abort fails as AssemblyScript code does: a throw, an index out of range
// (subject "index") or an assertion (subject "assert"), each of which calls
// abort and so ends the call as a trap whose message starts with abort's.

import { register, Context, Event } from "../../../../guest-sdks/assemblyscript/assembly";
import { bad, calm } from "./common";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../../guest-sdks/assemblyscript/assembly";

register((ctx: Context, ev: Event): Error | null => {
  if (!bad(ev)) return calm(ctx);
  const subject = ev.subject;
  if (subject == "index") {
    const a = new Array<i32>(2);
    const i = ev.data().length; // 3
    return new Error(`a[${i}] is ${a[i]}: no abort`);
  }
  if (subject == "assert") {
    assert(subject.length == 0, "subject must be empty");
    return new Error("assert did not abort");
  }
  throw new Error("the handler gave up");
});
