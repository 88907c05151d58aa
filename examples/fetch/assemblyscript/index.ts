// fetch fetches the URL given in the event's data ({"url": "..."}) and sets
// the response body, with the response's content type, as the call's
// result; the status and size are domain fields: the AssemblyScript twin of
// examples/fetch/go. A request the host refuses or that gets no response
// fails the call with kind fetch_failed and the host's reason, which names
// the host.
//
// Grants: http, with the URL's host on the function's allow-list.
// Build: make guests (or see guest-sdks/assemblyscript/README.md).

import { register, reject, newError, Context, Event, Level } from "../../../guest-sdks/assemblyscript/assembly";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../guest-sdks/assemblyscript/assembly";

// urlOf returns the event's data field "url", or null when the data is not
// a JSON object with a non-empty string there.
function urlOf(ev: Event): string | null {
  const data = ev.json();
  if (data === null) return null;
  const v = data.get("url");
  if (v === null) return null;
  const url = v.asString();
  if (url === null || url.length == 0) return null;
  return url;
}

function handle(ctx: Context, ev: Event): Error | null {
  const url = urlOf(ev);
  if (url === null) return reject(`data: field "url" is required (a string)`);
  const resp = ctx.http().get(url);
  const failed = resp.error;
  if (failed !== null) return newError("fetch_failed", "fetch: " + failed.message);
  let ct = resp.header("content-type");
  if (ct == "") ct = "application/octet-stream";
  ctx.log(Level.Info, `status ${resp.status}, ${resp.body.length} bytes of ${ct}`);
  let err = ctx.field("status", resp.status);
  if (err !== null) return err;
  err = ctx.field("bytes", resp.body.length);
  if (err !== null) return err;
  return ctx.result(ct, resp.body);
}

register(handle);
