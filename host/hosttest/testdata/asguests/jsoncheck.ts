// jsoncheck exposes the SDK's JSON helpers for comparison with Go: the
// event's type picks the helper, its data is the input, the result is the
// output.

import { register, newError, parseJSON, formatNumber, formatFloat, Context, Event, JSONWriter } from "../../../../guest-sdks/assemblyscript/assembly";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../../guest-sdks/assemblyscript/assembly";

register((ctx: Context, ev: Event): Error | null => {
  const op = ev.type;
  let out = "";
  if (op == "number" || op == "g") {
    const v = parseJSON(ev.text());
    const n = v !== null ? v.asNumber() : NaN;
    if (isNaN(n)) return newError("invalid", "not a number");
    out = op == "g" ? formatFloat(n) : formatNumber(n);
  } else if (op == "quote") {
    return ctx.result("application/octet-stream", new JSONWriter().stringUTF8(ev.data()).toBytes());
  } else if (op == "string") {
    const v = parseJSON(ev.text());
    const s = v !== null ? v.asString() : null;
    if (s === null) return newError("invalid", "not a string");
    out = s;
  } else if (op == "type") {
    const v = parseJSON(ev.text());
    out = v !== null ? v.type : "invalid";
  } else {
    return newError("invalid", "unknown helper " + op);
  }
  return ctx.resultText("application/octet-stream", out);
});
