// common.ts: shared by the misbehaving AssemblyScript guests. Each guest
// misbehaves only when the event's data is "bad", so the test can check that
// the next call on the same function ("calm") is ok.

import { Context, Event } from "../../../../guest-sdks/assemblyscript/assembly";

// bad reports whether the event asks for the misbehaviour.
export function bad(ev: Event): bool {
  return ev.text() == "bad";
}

// calm is the well-behaved answer.
export function calm(ctx: Context): Error | null {
  return ctx.resultText("text/plain", "calm");
}

// memoryEnd is the first address past the guest's linear memory.
export function memoryEnd(): usize {
  return <usize>memory.size() << 16;
}
