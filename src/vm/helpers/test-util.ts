/** Shared pieces of the helper tests: a VM with every helper of this folder, and direct calls. */
import { assemble } from '../../isa/llvm.js';
import { baseHelpers, type Helper, type HelperEnv, HelperRegistry } from '../helpers.js';
import { mapHelpers } from '../map-helpers.js';
import type { VmMap } from '../maps/base.js';
import { VmMemory } from '../memory.js';
import { Vm } from '../vm.js';
import { probeHelpers } from './probe.js';
import { perfEventHelpers, ringbufHelpers } from './ringbuf.js';
import { stackHelpers } from './stack.js';
import { stringHelpers } from './strings.js';
import { lockHelpers } from './sync.js';
import { type Task, taskHelpers } from './task.js';
import { ManualClock, timeHelpers } from './time.js';

/** A VM whose registry holds the base, map and all of this folder's helpers. */
export function helperVm(options: { task?: Task; clock?: ManualClock; cpus?: number } = {}): {
  vm: Vm;
  lines: string[];
  run(source: string, fdArray?: VmMap[]): bigint;
} {
  const registry = new HelperRegistry(baseHelpers);
  const lines: string[] = [];
  const vm = new Vm({ helpers: registry, trace: (line) => lines.push(line), cpus: options.cpus });
  const helpers = [
    ...mapHelpers(vm.maps),
    ...timeHelpers(options.clock ?? new ManualClock()),
    ...taskHelpers(options.task),
    ...stringHelpers(),
    ...probeHelpers(),
    ...lockHelpers(),
    ...stackHelpers(),
    ...ringbufHelpers(vm.maps),
    ...perfEventHelpers(vm.maps),
  ];
  for (const helper of helpers) registry.register(helper);
  return { vm, lines, run: (source, fdArray = []) => vm.run(vm.load(assemble(source), { fdArray })).r0 };
}

/** A bare helper environment over `memory`, for calling helpers directly. */
export function bareEnv(memory = new VmMemory()): HelperEnv & { lines: string[] } {
  const lines: string[] = [];
  return {
    memory,
    lines,
    trace: (line) => lines.push(line),
    now: () => 0n,
    random: () => 4,
    readString: () => undefined,
    callFunction: () => {
      throw new Error('no callbacks in a bare env');
    },
    tailCall: () => false,
  };
}

/** Call the helper named `name` of `helpers` with up to five arguments. */
export function call(helpers: readonly Helper[], env: HelperEnv, name: string, ...args: bigint[]): bigint {
  const helper = helpers.find((h) => h.name === name);
  if (!helper) throw new Error(`no helper ${name}`);
  const [a = 0n, b = 0n, c = 0n, d = 0n, e = 0n] = args;
  return helper.call(env, a, b, c, d, e);
}

/** r0 for `-errno`. */
export const neg = (errno: number): bigint => BigInt.asUintN(64, BigInt(-errno));

/** Bytes of a string, optionally NUL-terminated. */
export function cstr(text: string, nul = true): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (!nul) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}
