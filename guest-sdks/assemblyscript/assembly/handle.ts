// Handler registration and the exports of a reactor module (abi/README.md
// §2).

import { errorSet } from "./imports";
import { abort } from "./abort";
import { len, ptr, utf8 } from "./buffer";
import { errorKind, KIND_ERROR } from "./errors";
import { Context } from "./context";
import { Event } from "./event";

// Handler handles one event. It returns null for success or the error that
// fails the call: a KindError reports its kind (invalid_input makes the
// call "rejected"), any other Error kind "error". AssemblyScript has no
// exceptions: a `throw`, like any abort, ends the call as a trap.
export type Handler = (ctx: Context, ev: Event) => Error | null;

let handler: Handler | null = null;

// One Context and one Event serve every call (calls on an instance never
// overlap); the Event forgets its data between calls. Allocating them per
// call cost a fifth of a no-op call.
const theContext = new Context();
const theEvent = new Event();

// register makes h the module's handler. Call it once, at the top level of
// the entry file, which runs when the instance is created.
export function register(h: Handler): void {
  if (handler !== null) {
    abort("wasmfaas: register called twice; a module has exactly one handler");
  }
  handler = h;
}

// setError reports the call's failure. Its status is ignored: a bad kind
// still fails the call, with kind "error" (abi/README.md §4, error_set).
function setError(kind: string, message: string): void {
  const k = utf8(kind);
  const m = utf8(message);
  errorSet(ptr(k), len(k), ptr(m), len(m));
}

// wasmfaas_abi_v1 marks the module as speaking ABI v1; the host never calls
// it. The entry file re-exports it.
export function wasmfaas_abi_v1(): void {}

// wasmfaas_handle is the entry point the host calls once per event; the
// entry file re-exports it.
export function wasmfaas_handle(): i32 {
  const h = handler;
  if (h === null) {
    setError(KIND_ERROR, "no handler registered: call register(handler) at the top level of the entry file");
    return 1;
  }
  theEvent.reset();
  const err = h(theContext, theEvent);
  if (err === null) return 0;
  setError(errorKind(err), err.message);
  return 1;
}
