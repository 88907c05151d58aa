// hello echoes the event's data back as the call's result, with the event's
// content type: the AssemblyScript twin of examples/hello/go, sharing its
// testdata. It needs no capability beyond the defaults. Served on an HTTP
// route with a {name} parameter, it greets the name instead, setting the
// response's status and a header.
//
// Build: make guests (or see guest-sdks/assemblyscript/README.md).

import { register, Context, Event, Level } from "../../../guest-sdks/assemblyscript/assembly";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../guest-sdks/assemblyscript/assembly";

// greet answers a request to the route GET /hello/{name}.
function greet(ctx: Context, name: string): Error | null {
  ctx.log(Level.Info, "greeting " + name);
  let err = ctx.setStatus(200);
  if (err !== null) return err;
  err = ctx.setHeader("X-Hello-Name", name);
  if (err !== null) return err;
  return ctx.resultText("text/plain; charset=utf-8", "hello, " + name + "\n");
}

function handle(ctx: Context, ev: Event): Error | null {
  const name = ev.extension("paramname");
  if (name !== null) return greet(ctx, name);
  const data = ev.data();
  let ct = ev.dataContentType;
  if (ct == "") ct = "application/octet-stream";
  ctx.log(Level.Info, `echoing ${data.length} bytes of ${ct}`);
  const err = ctx.field("bytes", data.length);
  if (err !== null) return err;
  return ctx.result(ct, data);
}

register(handle);
