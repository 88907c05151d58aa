// httpcheck is the AssemblyScript twin of testdata/guests/httpcheck: it
// makes the requests its event lists ([{"method", "url", "headers": [[name,
// value], ...], "body"}]), in order, and reports each outcome (status,
// headers, body, or the error the host gave and its status name) as its JSON
// result, in the Go guest's shape. A failed request does not fail the call.

import {
  register, reject, isStatus, Context, Event, HTTPRequest, JSONValue, JSONWriter,
  DENIED, TIMEOUT, TOO_LARGE, LIMIT, INVALID, UNAVAILABLE,
} from "../../../../guest-sdks/assemblyscript/assembly";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../../guest-sdks/assemblyscript/assembly";

const CODES: i32[] = [DENIED, TIMEOUT, TOO_LARGE, LIMIT, INVALID, UNAVAILABLE];
const NAMES: string[] = ["DENIED", "TIMEOUT", "TOO_LARGE", "LIMIT", "INVALID", "UNAVAILABLE"];

function str(v: JSONValue | null): string {
  if (v === null) return "";
  const s = v.asString();
  return s !== null ? s : "";
}

function request(r: JSONValue): HTTPRequest {
  const req = new HTTPRequest();
  req.method = str(r.get("method"));
  req.url = str(r.get("url"));
  req.body = Uint8Array.wrap(String.UTF8.encode(str(r.get("body"))));
  const hs = r.get("headers");
  if (hs !== null) {
    for (let i = 0; ; i++) {
      const h = hs.at(i);
      if (h === null) break;
      req.header(str(h.at(0)), str(h.at(1)));
    }
  }
  return req;
}

register((ctx: Context, ev: Event): Error | null => {
  const reqs = ev.json();
  if (reqs === null || reqs.type != "array") return reject("data: a JSON array of requests is required");
  const w = new JSONWriter().startArray();
  for (let i = 0; ; i++) {
    const r = reqs.at(i);
    if (r === null) break;
    const resp = ctx.http().do(request(r));
    w.startObject();
    const err = resp.error;
    if (err !== null) {
      w.entry("error", err.message);
      for (let j = 0; j < CODES.length; j++) {
        if (isStatus(err, CODES[j])) w.entry("code", NAMES[j]);
      }
      w.endObject();
      continue;
    }
    w.entry("status", resp.status);
    if (resp.headers.length > 0) {
      // Names come sorted, so each name's values are adjacent.
      w.key("headers").startObject();
      for (let j = 0; j < resp.headers.length; j++) {
        const h = resp.headers[j];
        if (j == 0 || resp.headers[j - 1].name != h.name) {
          if (j > 0) w.endArray();
          w.key(h.name).startArray();
        }
        w.value(h.value);
      }
      w.endArray().endObject();
    }
    const body = resp.text();
    if (body.length > 0) w.entry("body", body);
    w.endObject();
  }
  return ctx.resultJSON(w.endArray());
});
