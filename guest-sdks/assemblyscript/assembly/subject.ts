// Reactive properties of a subject (capability "props").

import { propsDelete, propsExtDelete, propsExtGet, propsExtSet, propsGet, propsSet } from "./imports";
import { fill, len, ptr, readA, readB, scratchBytes, utf8 } from "./buffer";
import { CONFLICT, isNotFound, quoted, StatusError, statusWithMessage } from "./errors";
import { Entry, failed, Revision } from "./entry";
import { encode } from "./json";
import { revSlot } from "./kv";

// Expected revisions for compare-and-set (setIf, deleteIf).
// REV_ANY makes a write unconditional.
export const REV_ANY: i64 = -1;
// REV_ABSENT makes a write succeed only if the property does not exist.
export const REV_ABSENT: i64 = 0;

// MAX_UPDATE_ATTEMPTS bounds update's compare-and-set loop. Each conflict
// means another writer succeeded, so running out takes extraordinary
// contention; the bound turns a livelock into an error instead of a timeout.
export const MAX_UPDATE_ATTEMPTS = 1000;

function readProp(p: usize, c: usize): i32 {
  return propsGet(ptr(readA), len(readA), ptr(readB), len(readB), p, c, revSlot);
}

function readExt(p: usize, c: usize): i32 {
  return propsExtGet(ptr(readA), len(readA), ptr(readB), len(readB), p, c);
}

// Updater computes a property's new value for Subject.update. Extend it:
// compute may keep what it learns in fields of the subclass (AssemblyScript
// has no closures).
export abstract class Updater {
  // value is the JSON text compute chose to write.
  value: string = "";

  // compute is called with the property's current JSON text (null when it
  // does not exist) and sets value, or returns an error to end the update
  // with that error and nothing written. It may run several times, once per
  // conflict: only the last run's value is written.
  abstract compute(old: string | null): Error | null;
}

// Subject is a subject's reactive properties (JSON values, each with a
// revision) and extended properties (string metadata copied as extensions
// onto events about the subject). Every property change produces a
// property-changed event.
export class Subject {
  constructor(readonly name: string) {}

  private op(verb: string, prop: string): string {
    return verb + " property " + quoted(prop) + " of " + quoted(this.name);
  }

  // get returns property prop's JSON value (Entry.text, Entry.json) with its
  // revision; a missing property is an error for which isNotFound is true.
  get(prop: string): Entry {
    readA = utf8(this.name);
    readB = utf8(prop);
    store<u64>(revSlot, 0);
    const n = fill(readProp);
    if (n < 0) return failed(new StatusError(this.op("get", prop), n));
    return new Entry(scratchBytes(n), load<u64>(revSlot), null);
  }

  // set sets property prop to v encoded as JSON (see JSONWriter.value),
  // whatever its revision.
  set<T>(prop: string, v: T): Error | null {
    return this.setIf<T>(prop, v, REV_ANY).error;
  }

  // setIf sets property prop to v encoded as JSON if its revision is expect
  // (REV_ABSENT: it must not exist; REV_ANY: unconditional) and returns the
  // new revision, or an error for which isStatus(err, CONFLICT) is true.
  setIf<T>(prop: string, v: T, expect: i64): Revision {
    const w = encode<T>(v);
    const e = w.error;
    if (e !== null) return new Revision(0, new Error(this.op("set", prop) + ": encode: " + e));
    return this.setRaw(prop, w.b.dataStart, w.b.length, expect);
  }

  private setRaw(prop: string, p: usize, n: i32, expect: i64): Revision {
    const s = utf8(this.name);
    const k = utf8(prop);
    const rev = propsSet(ptr(s), len(s), ptr(k), len(k), p, <usize>n, expect);
    if (rev < 0) return new Revision(0, new StatusError(this.op("set", prop), <i32>rev));
    return new Revision(<u64>rev, null);
  }

  // delete deletes property prop. Deleting a missing property is not an
  // error; use deleteIf to learn that it was missing.
  delete(prop: string): Error | null {
    const err = this.deleteIf(prop, REV_ANY);
    return isNotFound(err) ? null : err;
  }

  // deleteIf deletes property prop if its revision is expect (REV_ANY:
  // whatever it is). It fails with NOT_FOUND when the property does not
  // exist and CONFLICT when the revision differs.
  deleteIf(prop: string, expect: i64): Error | null {
    const s = utf8(this.name);
    const k = utf8(prop);
    const rc = propsDelete(ptr(s), len(s), ptr(k), len(k), expect);
    return rc < 0 ? new StatusError(this.op("delete", prop), rc) : null;
  }

  // update atomically replaces property prop with u's value: it reads the
  // property, calls u.compute with its JSON text (null when absent), and
  // writes u.value only if nobody wrote in between, calling compute again
  // with the newer value otherwise. It returns the value written with its
  // revision, or the error (compute's own, unchanged).
  update(prop: string, u: Updater): Entry {
    for (let i = 0; i < MAX_UPDATE_ATTEMPTS; i++) {
      const cur = this.get(prop);
      let old: string | null = null;
      let expect: i64 = REV_ABSENT;
      if (cur.found) {
        old = cur.text();
        expect = <i64>cur.rev;
      } else if (!cur.notFound) {
        const e = <StatusError>cur.error!;
        return failed(statusWithMessage("update " + quoted(prop) + ": " + e.message, e.status));
      }
      const err = u.compute(old);
      if (err !== null) return failed(err);
      const val = utf8(u.value);
      const r = this.setRaw(prop, ptr(val), val.byteLength, expect);
      const werr = r.error;
      if (werr !== null) {
        if ((<StatusError>werr).status == CONFLICT) continue;
        const e = <StatusError>werr;
        return failed(statusWithMessage("update " + quoted(prop) + ": " + e.message, e.status));
      }
      return new Entry(Uint8Array.wrap(val), r.rev, null);
    }
    return failed(statusWithMessage("update " + quoted(prop) + ": gave up after " + MAX_UPDATE_ATTEMPTS.toString() + " conflicts", CONFLICT));
  }

  // ext returns the extended property name (a string; Entry.text); a
  // missing one is an error for which isNotFound is true.
  ext(name: string): Entry {
    readA = utf8(this.name);
    readB = utf8(name);
    const n = fill(readExt);
    if (n < 0) return failed(new StatusError(this.op("get extended", name), n));
    return new Entry(scratchBytes(n), 0, null);
  }

  // setExt sets the extended property name, 1-20 characters of [a-z0-9] (it
  // becomes a CloudEvents extension on events about the subject).
  setExt(name: string, value: string): Error | null {
    const s = utf8(this.name);
    const k = utf8(name);
    const v = utf8(value);
    const rc = propsExtSet(ptr(s), len(s), ptr(k), len(k), ptr(v), len(v));
    return rc < 0 ? new StatusError(this.op("set extended", name), rc) : null;
  }

  // deleteExt deletes the extended property name; a missing one is not an
  // error.
  deleteExt(name: string): Error | null {
    const s = utf8(this.name);
    const k = utf8(name);
    const rc = propsExtDelete(ptr(s), len(s), ptr(k), len(k));
    return rc < 0 ? new StatusError(this.op("delete extended", name), rc) : null;
  }
}
