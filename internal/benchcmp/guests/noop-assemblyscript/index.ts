// noop does nothing and succeeds: the AssemblyScript twin of guests/noop-c,
// for BenchmarkCompare's noop-assemblyscript row. Built with
// guest-sdks/assemblyscript (hosttest.BuildAssemblyScript).

import { register, Context, Event } from "../../../../guest-sdks/assemblyscript/assembly";
export { wasmfaas_abi_v1, wasmfaas_handle } from "../../../../guest-sdks/assemblyscript/assembly";

register((ctx: Context, ev: Event): Error | null => null);
