// counter atomically increments the property "count" of the event's subject
// and returns the new value as {"count": n}: the AssemblyScript twin of
// examples/counter/go, sharing its testdata. Concurrent calls about the same
// subject never lose an increment: Subject.update is a compare-and-set loop.
//
// Grants: props.

import { register, reject, newError, parseJSON, Context, Event, JSONWriter, Updater, KIND_ERROR } from "../../../guest-sdks/assemblyscript/assembly";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../guest-sdks/assemblyscript/assembly";

// Increment adds one to the stored count. update may call compute several
// times; only the last run's count was written.
class Increment extends Updater {
  count: i64 = 0;

  constructor(readonly subject: string) {
    super();
  }

  compute(old: string | null): Error | null {
    this.count = 0;
    if (old !== null) {
      const v = parseJSON(old);
      if (v === null || !(v.isNull() || v.isInteger())) {
        return newError(KIND_ERROR, `property count of "${this.subject}" is ${old}, not an integer`);
      }
      this.count = v.asInteger();
    }
    this.count++;
    this.value = this.count.toString();
    return null;
  }
}

function handle(ctx: Context, ev: Event): Error | null {
  const subject = ev.subject;
  if (subject == "") return reject("event has no subject: counter counts per subject");
  const inc = new Increment(subject);
  const r = ctx.subject(subject).update("count", inc);
  if (r.error !== null) return r.error;
  return ctx.resultJSON(new JSONWriter().startObject().entry("count", inc.count).endObject());
}

register(handle);
