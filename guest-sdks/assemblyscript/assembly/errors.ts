// Status codes, error kinds and the errors a handler returns.

// Status codes of abi/README.md §3: a host function's negative result.
export const OK: i32 = 0;
export const NOT_FOUND: i32 = -1;
export const CONFLICT: i32 = -2;
export const INVALID: i32 = -3;
export const TOO_LARGE: i32 = -4;
export const LIMIT: i32 = -5;
export const UNAVAILABLE: i32 = -6;
export const INTERNAL: i32 = -7;
export const DENIED: i32 = -8;
export const TIMEOUT: i32 = -9;

// Error kinds the host interprets; a handler may use any kind of 1-64
// characters of [a-z0-9_].
export const KIND_ERROR = "error";
// KIND_INVALID_INPUT marks the event itself as wrong: the call ends
// "rejected" and is not retried.
export const KIND_INVALID_INPUT = "invalid_input";

// statusText names a status code as the Go SDK's sentinel errors do.
// Unknown negative codes are INTERNAL (abi/README.md §3).
export function statusText(status: i64): string {
  switch (<i32>status) {
    case NOT_FOUND: return "not found";
    case CONFLICT: return "conflict";
    case INVALID: return "invalid argument";
    case TOO_LARGE: return "too large";
    case LIMIT: return "limit reached";
    case UNAVAILABLE: return "unavailable";
    case INTERNAL: return "host internal error";
    case DENIED: return "denied";
    case TIMEOUT: return "timed out";
  }
  return "host internal error: unknown status code " + status.toString();
}

// StatusError is a host function's failure: op says what was being done
// ("kv set \"a\"") and status is the code. Its message is "<op>: <status
// text>", as the Go SDK's. A handler that returns it fails with kind "error".
export class StatusError extends Error {
  constructor(public op: string, public status: i32) {
    super(op + ": " + statusText(status));
    this.name = "StatusError";
  }
}

// statusWithMessage returns a StatusError whose message is message alone,
// for messages that already say the status in their own words.
export function statusWithMessage(message: string, status: i32): StatusError {
  const e = new StatusError("", status);
  e.message = message;
  return e;
}

// KindError is a handler failure with an error kind, which becomes
// error.kind in the call's ExecutionInfo. Any other Error a handler returns
// is reported with kind "error".
export class KindError extends Error {
  constructor(public kind: string, message: string) {
    super(message);
    this.name = "KindError";
  }
}

// newError returns an error of the given kind (the Go SDK's Errorf).
export function newError(kind: string, message: string): KindError {
  return new KindError(kind, message);
}

// reject returns an error of kind invalid_input: the event is wrong, the
// call ends "rejected" and is not retried.
export function reject(message: string): KindError {
  return new KindError(KIND_INVALID_INPUT, message);
}

// isStatus reports whether err is a host failure with status code status
// (the Go SDK's errors.Is(err, ErrNotFound)).
export function isStatus(err: Error | null, status: i32): bool {
  if (err === null) return false;
  if (!(err instanceof StatusError)) return false;
  return (<StatusError>err).status == status;
}

// isNotFound is isStatus(err, NOT_FOUND).
export function isNotFound(err: Error | null): bool {
  return isStatus(err, NOT_FOUND);
}

// check turns a host function's result into an error: null for a
// non-negative result, else a StatusError for op.
export function check(op: string, result: i64): Error | null {
  if (result >= 0) return null;
  return new StatusError(op, <i32>result);
}

// errorKind returns the kind error_set reports for err.
export function errorKind(err: Error): string {
  if (err instanceof KindError) {
    const k = (<KindError>err).kind;
    if (k.length > 0) return k;
  }
  return KIND_ERROR;
}

// quoted writes s in double quotes for messages, as Go's %q does for the
// names in them (printable text unchanged, `"` and `\` escaped).
export function quoted(s: string): string {
  let out = "\"";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22 || c == 0x5c) out += "\\" + String.fromCharCode(c);
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x09) out += "\\t";
    else if (c == 0x0d) out += "\\r";
    else if (c < 0x20 || c == 0x7f) {
      const h = "0123456789abcdef";
      out += "\\x" + h.charAt(c >> 4) + h.charAt(c & 15);
    } else out += String.fromCharCode(c);
  }
  return out + "\"";
}
