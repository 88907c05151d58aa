// The function's key/value store (capability "kv").

import { kvDelete, kvGet, kvKeys, kvSet } from "./imports";
import { bytesPtr, fill, len, ptr, readA, scratchBytes, scratchList, utf8 } from "./buffer";
import { quoted, StatusError } from "./errors";
import { Entry, failed, Revision } from "./entry";

// revSlot receives the revision kv_get and props_get write (calls never
// overlap, so one slot is enough).
export const revSlot = memory.data(8);

function readKV(p: usize, c: usize): i32 {
  return kvGet(ptr(readA), len(readA), p, c, revSlot);
}

function readKeys(p: usize, c: usize): i32 {
  return kvKeys(ptr(readA), len(readA), p, c);
}

// Keys is what KV.keys returns: the keys, sorted, or the error.
export class Keys {
  constructor(public keys: string[], public error: Error | null) {}
}

// KV is the function's key/value store, one namespace per function. Keys
// are 1-1024 bytes of UTF-8 without NUL; values up to 1 MiB of any bytes.
// Every write returns the entry's new revision.
export class KV {
  // get returns the value of key with its revision; a missing key is an
  // error for which isNotFound is true.
  get(key: string): Entry {
    readA = utf8(key);
    store<u64>(revSlot, 0);
    const n = fill(readKV);
    if (n < 0) return failed(new StatusError("kv get " + quoted(key), n));
    return new Entry(scratchBytes(n), load<u64>(revSlot), null);
  }

  // set stores value under key and returns its new revision.
  set(key: string, value: Uint8Array): Revision {
    const k = utf8(key);
    const rev = kvSet(ptr(k), len(k), bytesPtr(value), <usize>value.length);
    if (rev < 0) return new Revision(0, new StatusError("kv set " + quoted(key), <i32>rev));
    return new Revision(<u64>rev, null);
  }

  // setString stores the UTF-8 text value under key.
  setString(key: string, value: string): Revision {
    return this.set(key, Uint8Array.wrap(utf8(value)));
  }

  // delete deletes key; deleting a missing key is not an error.
  delete(key: string): Error | null {
    const k = utf8(key);
    const rc = kvDelete(ptr(k), len(k));
    return rc < 0 ? new StatusError("kv delete " + quoted(key), rc) : null;
  }

  // keys returns the keys that start with prefix ("" for all), sorted.
  keys(prefix: string): Keys {
    readA = utf8(prefix);
    const n = fill(readKeys);
    if (n < 0) return new Keys([], new StatusError("kv keys " + quoted(prefix), n));
    return new Keys(n > 0 ? scratchList(n) : [], null);
  }
}
