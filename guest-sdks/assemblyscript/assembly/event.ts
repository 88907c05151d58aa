// The CloudEvent that triggered the call.

import { eventAttr, eventData, eventExtensions } from "./imports";
import { fill, len, ptr, readA, scratchBytes, scratchList, scratchString, utf8, bytesToString } from "./buffer";
import { parseJSON, JSONValue } from "./json";

function readAttr(p: usize, c: usize): i32 {
  return eventAttr(ptr(readA), len(readA), p, c);
}

function readData(p: usize, c: usize): i32 {
  return eventData(p, c);
}

function readExtensions(p: usize, c: usize): i32 {
  return eventExtensions(p, c);
}

// Event is the CloudEvent that triggered the call. Attributes are read from
// the host on use; the data is read once and kept. An Event is only valid
// during the call it was passed to.
export class Event {
  private dataBytes: Uint8Array | null = null;

  // reset forgets the previous call's data.
  reset(): void {
    this.dataBytes = null;
  }

  // attr returns the attribute name (a context attribute such as "id" or
  // "source", or an extension) in its canonical CloudEvents string form, or
  // null when the event does not have it.
  attr(name: string): string | null {
    readA = utf8(name);
    const n = fill(readAttr);
    if (n < 0) return null;
    return scratchString(n);
  }

  private attrOrEmpty(name: string): string {
    const v = this.attr(name);
    return v !== null ? v : "";
  }

  // id is the event's id.
  get id(): string { return this.attrOrEmpty("id"); }
  // source is the event's source.
  get source(): string { return this.attrOrEmpty("source"); }
  // type is the event's type.
  get type(): string { return this.attrOrEmpty("type"); }
  // subject is the event's subject, or "" when it has none.
  get subject(): string { return this.attrOrEmpty("subject"); }
  // specVersion is the CloudEvents spec version, normally "1.0".
  get specVersion(): string { return this.attrOrEmpty("specversion"); }
  // dataContentType is the content type of the data, or "" when unset.
  get dataContentType(): string { return this.attrOrEmpty("datacontenttype"); }
  // dataSchema is the event's dataschema, or "" when unset.
  get dataSchema(): string { return this.attrOrEmpty("dataschema"); }
  // time is the event's time as RFC 3339 (UTC), or "" when it has none.
  get time(): string { return this.attrOrEmpty("time"); }

  // extension returns the extension attribute name, or null. Values are
  // strings in CloudEvents canonical form (integers in decimal, booleans
  // true/false, binary in base64).
  extension(name: string): string | null {
    return this.attr(name);
  }

  // extensions returns the names of the event's extension attributes, sorted.
  extensions(): string[] {
    const n = fill(readExtensions);
    if (n <= 0) return [];
    return scratchList(n);
  }

  // data returns the event's data exactly as received (empty for none). The
  // array is shared by every data() of this call: do not modify it.
  data(): Uint8Array {
    const cached = this.dataBytes;
    if (cached !== null) return cached;
    const n = fill(readData);
    const d = n > 0 ? scratchBytes(n) : new Uint8Array(0);
    this.dataBytes = d;
    return d;
  }

  // text returns the data decoded as UTF-8 (invalid bytes as U+FFFD).
  text(): string {
    return bytesToString(this.data());
  }

  // json returns the data as a JSON value, or null when it is not valid
  // JSON (or empty).
  json(): JSONValue | null {
    return parseJSON(this.text());
  }
}
