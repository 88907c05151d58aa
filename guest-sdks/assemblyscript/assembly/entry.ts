// The values reads and writes return: AssemblyScript has no multiple return
// values, so a result carries its error.

import { bytesToString } from "./buffer";
import { isNotFound } from "./errors";
import { parseJSON, JSONValue } from "./json";

// Entry is what a read returns: a KV value, a property's JSON value or an
// extended property, with its revision (0 where there is none) or the
// error. A missing key or property is an error for which isNotFound is true
// (found is false).
export class Entry {
  constructor(public value: Uint8Array, public rev: u64, public error: Error | null) {}

  // found reports whether the read succeeded.
  get found(): bool {
    return this.error === null;
  }

  // notFound reports whether the key or property does not exist.
  get notFound(): bool {
    return isNotFound(this.error);
  }

  // text returns the value decoded as UTF-8 (for a property, its JSON text).
  text(): string {
    return bytesToString(this.value);
  }

  // json returns the value as a JSON value, or null when it is not JSON (or
  // the read failed).
  json(): JSONValue | null {
    if (this.error !== null) return null;
    return parseJSON(this.text());
  }
}

// Revision is what a write that creates a revision returns: the new
// revision (> 0), or the error.
export class Revision {
  constructor(public rev: u64, public error: Error | null) {}
}

// failed returns an Entry for a read that failed with err.
export function failed(err: Error): Entry {
  return new Entry(new Uint8Array(0), 0, err);
}
