/**
 * Helper functions, keyed by the kernel's helper ids (`enum bpf_func_id`).
 *
 * A helper receives its five argument registers as unsigned 64-bit bigints and returns r0.
 * Helpers are rare next to ALU work, so clarity wins over speed here.
 */
import { HELPER_NAMES } from '../isa/helper-ids.js';
import type { CompiledProgram, Helper, HelperEnv } from './helper-types.js';
import { checkedArgument, HelperArgumentError } from './helpers/common.js';
import { formatPrintk } from './printk.js';

export type { Helper, HelperEnv, HelperFn } from './helper-types.js';

/** Helper ids as the kernel numbers them, by name. */
function idOf(name: string): number {
  const id = HELPER_NAMES.indexOf(name);
  if (id <= 0) throw new HelperArgumentError(name, 'no helper of this name in enum bpf_func_id');
  return id;
}

const EINVAL = 22n;
const E2BIG = 7n;
const ENOENT = 2n;
const u64 = (value: bigint): bigint => BigInt.asUintN(64, value);

/** The base helpers every program type gets. */
export const baseHelpers: readonly Helper[] = [
  { id: idOf('ktime_get_ns'), name: 'ktime_get_ns', call: (env) => env.now() },
  { id: idOf('get_prandom_u32'), name: 'get_prandom_u32', call: (env) => BigInt(env.random() >>> 0) },
  {
    id: idOf('trace_printk'),
    name: 'trace_printk',
    call: (env, fmt, size, a1, a2, a3) => {
      const text = readFormat(env, fmt, size);
      if (text === undefined) return u64(-EINVAL);
      const line = formatPrintk(text, [a1, a2, a3], (address) => env.readString(address, 1024));
      if (line === undefined) return u64(-EINVAL);
      // The kernel returns the formatted length (a newline in the format counts; none is added).
      env.trace(line.replace(/\n$/, ''));
      return BigInt(new TextEncoder().encode(line).length);
    },
  },
];

/**
 * Control-flow helpers: `bpf_loop` (since 5.17) calls a subprogram up to `nr_loops` times and
 * stops early when it returns 1; `bpf_tail_call` jumps to a program of a PROG_ARRAY, at most
 * 33 times a run, and falls through (returning -ENOENT) when the slot is empty.
 */
export function controlHelpers(
  programAt: (map: bigint, index: bigint) => CompiledProgram | undefined,
): Helper[] {
  return [
    {
      id: idOf('loop'),
      name: 'loop',
      call: (env, nrLoops, callback, context, flags) => {
        // nr_loops is a u32 in the kernel; BPF_MAX_LOOPS (8M) bounds it. Each callback draws
        // on the run's one instruction budget, so the loop as a whole stays within it too.
        const count = nrLoops & 0xffffffffn;
        if (flags !== 0n) return u64(-EINVAL);
        if (count > 1n << 23n) return u64(-E2BIG);
        let done = 0n;
        while (done < count) {
          const stop = env.callFunction(Number(callback), done, context);
          done++;
          if (stop === 1n) break;
        }
        return done;
      },
    },
    {
      id: idOf('tail_call'),
      name: 'tail_call',
      call: (env, _ctx, map, index) => {
        const target = programAt(map, index);
        return target && env.tailCall(target) ? 0n : u64(-ENOENT);
      },
    },
  ];
}

/** Read the format of `bpf_trace_printk(fmt, fmt_size, …)`: it must be NUL-terminated within fmt_size. */
function readFormat(env: HelperEnv, address: bigint, size: bigint): string | undefined {
  if (size === 0n || size > 1024n) return undefined;
  // The verifier proves fmt readable for fmt_size bytes: anything else faults.
  checkedArgument(env.memory, 'trace_printk', 'fmt', address, Number(size), false);
  const text = env.readString(address, Number(size));
  if (text === undefined || new TextEncoder().encode(text).length >= Number(size)) return undefined;
  return text;
}

/** A set of helpers by id. */
export class HelperRegistry {
  private readonly byId = new Map<number, Helper>();

  constructor(helpers: Iterable<Helper> = baseHelpers) {
    for (const helper of helpers) this.register(helper);
  }

  register(helper: Helper): this {
    this.byId.set(helper.id, helper);
    return this;
  }

  get(id: number): Helper | undefined {
    return this.byId.get(id);
  }

  /** Every registered helper, by ascending id. */
  list(): Helper[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }
}
