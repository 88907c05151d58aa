// The AssemblyScript guest SDK for wasmfaas ABI v1 (abi/README.md). The raw
// host functions are in imports.ts; everything here is built on them.
//
// A handler's entry file registers its handler and re-exports the ABI's
// entry points:
//
//   import { register, Context, Event } from "<sdk>/assembly";
//   export { wasmfaas_abi_v1, wasmfaas_handle } from "<sdk>/assembly";
//   register((ctx: Context, ev: Event): Error | null => { ... });

export { register, Handler, wasmfaas_abi_v1, wasmfaas_handle } from "./handle";
export { Context, EmitEvent, Level } from "./context";
export { Event } from "./event";
export { Entry, Revision } from "./entry";
export { KV, Keys } from "./kv";
export { HTTP, HTTPError, HTTPHeader, HTTPRequest, HTTPResponse } from "./http";
export { Subject, Updater, REV_ANY, REV_ABSENT, MAX_UPDATE_ATTEMPTS } from "./subject";
export {
  OK, NOT_FOUND, CONFLICT, INVALID, TOO_LARGE, LIMIT, UNAVAILABLE, INTERNAL, DENIED, TIMEOUT,
  KIND_ERROR, KIND_INVALID_INPUT,
  StatusError, KindError, newError, reject, isStatus, isNotFound, statusText, quoted,
} from "./errors";
export { JSONWriter, JSONValue, Kind, parseJSON, encode, formatNumber, formatFloat } from "./json";
export { Builder, bytesToString } from "./buffer";
