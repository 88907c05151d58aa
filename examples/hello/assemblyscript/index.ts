// hello echoes the event's data back as the call's result, with the event's
// content type: the AssemblyScript twin of examples/hello/go, sharing its
// testdata. It needs no capability beyond the defaults.
//
// Build: make guests (or see guest-sdks/assemblyscript/README.md).

import { register, Context, Event, Level } from "../../../guest-sdks/assemblyscript/assembly";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../guest-sdks/assemblyscript/assembly";

function handle(ctx: Context, ev: Event): Error | null {
  const data = ev.data();
  let ct = ev.dataContentType;
  if (ct == "") ct = "application/octet-stream";
  ctx.log(Level.Info, `echoing ${data.length} bytes of ${ct}`);
  const err = ctx.field("bytes", data.length);
  if (err !== null) return err;
  return ctx.result(ct, data);
}

register(handle);
