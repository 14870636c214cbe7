/**
 * Every helper with a pointer argument faults as a load or store would when that argument points
 * at NULL, unmapped memory, a freed region or (for the bytes it writes) read-only memory: a
 * `MemoryAccessError` at the call, never a read of bytes no load could see.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { helperId } from '../../isa/helper-ids.js';
import { assemble } from '../../isa/llvm.js';
import type { ProgTypeName } from '../../uapi.js';
import { MemoryAccessError } from '../errors.js';
import type { VmMap } from '../maps/base.js';
import { Vm } from '../vm.js';

/** One argument register of a call: a pointer the helper reads or writes, or a fixed value. */
type Arg =
  | { readonly ptr: 'read' | 'write'; readonly size: number; readonly maybeNull?: boolean }
  | { readonly value: number }
  | 'map'
  | 'ring'
  | 'perf'
  | 'ctx';

interface Case {
  readonly helper: string;
  readonly args: readonly Arg[];
  /** Program type whose test run gives the packet helpers their packet. */
  readonly type?: ProgTypeName;
}

const read = (size: number): Arg => ({ ptr: 'read', size });
const write = (size: number): Arg => ({ ptr: 'write', size });
const n = (value: number): Arg => ({ value });

/**
 * Every VM helper that takes a pointer to program memory, with arguments valid but for the one
 * under test. The probe reads' source is not one: it is read "nofault" (an errno, as in Linux).
 */
const cases: readonly Case[] = [
  { helper: 'map_lookup_elem', args: ['map', read(4)] },
  { helper: 'map_update_elem', args: ['map', read(4), read(8), n(0)] },
  { helper: 'map_delete_elem', args: ['map', read(4)] },
  { helper: 'probe_read', args: [write(8), n(8), n(0)] },
  { helper: 'probe_read_kernel', args: [write(8), n(8), n(0)] },
  { helper: 'probe_read_str', args: [write(8), n(8), n(0)] },
  { helper: 'probe_read_kernel_str', args: [write(8), n(8), n(0)] },
  { helper: 'probe_read_user', args: [write(8), n(8), n(0)] },
  { helper: 'probe_read_user_str', args: [write(8), n(8), n(0)] },
  { helper: 'trace_printk', args: [read(4), n(4)] },
  { helper: 'get_current_comm', args: [write(16), n(16)] },
  { helper: 'get_stack', args: ['ctx', write(32), n(32), n(0)] },
  { helper: 'get_task_stack', args: [n(0), write(32), n(32), n(0)] },
  { helper: 'strtol', args: [read(4), n(4), n(0), write(8)] },
  { helper: 'strtoul', args: [read(4), n(4), n(0), write(8)] },
  { helper: 'strncmp', args: [read(4), n(4), read(4)] },
  { helper: 'snprintf', args: [write(16), n(16), read(1), { ptr: 'read', size: 8, maybeNull: true }, n(8)] },
  { helper: 'trace_vprintk', args: [read(4), n(4), { ptr: 'read', size: 8, maybeNull: true }, n(8)] },
  { helper: 'ringbuf_output', args: ['ring', read(8), n(8), n(0)] },
  { helper: 'perf_event_output', args: ['ctx', 'perf', n(0xffffffff), read(8), n(8)] },
  { helper: 'spin_lock', args: [write(4)] },
  { helper: 'csum_diff', args: [read(4), n(4), read(4), n(4), n(0)], type: 'SCHED_CLS' },
  { helper: 'skb_load_bytes', args: ['ctx', n(0), write(8), n(8)], type: 'SCHED_CLS' },
  { helper: 'skb_load_bytes_relative', args: ['ctx', n(0), write(8), n(8), n(0)], type: 'SCHED_CLS' },
  { helper: 'skb_store_bytes', args: ['ctx', n(0), read(8), n(8), n(0)], type: 'SCHED_CLS' },
  { helper: 'xdp_load_bytes', args: ['ctx', n(0), write(8), n(8)], type: 'XDP' },
  { helper: 'xdp_store_bytes', args: ['ctx', n(0), read(8), n(8)], type: 'XDP' },
];

type Target = 'null' | 'unmapped' | 'freed' | 'read-only';

/** A VM with the maps the cases name, a freed region and a read-only one. */
function setup() {
  const vm = new Vm();
  const maps: VmMap[] = [
    vm.maps.create({ name: 'h', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 4 }),
    vm.maps.create({ name: 'rb', type: 'RINGBUF', keySize: 0, valueSize: 0, maxEntries: 4096 }),
    vm.maps.create({ name: 'pe', type: 'PERF_EVENT_ARRAY', keySize: 4, valueSize: 4, maxEntries: 2 }),
  ];
  const readOnly = vm.memory.alloc(64, { name: 'read-only', writable: false });
  // A large hole, aimed at near its end: what a run allocates later fills it from the start.
  const freed = vm.memory.alloc(1 << 20, { name: 'freed' });
  vm.memory.alloc(64, { name: 'keeps the hole' });
  vm.memory.free(freed);
  const address: Record<Target, number> = {
    null: 0,
    unmapped: 0x7fff_0000,
    freed: freed.end - 64,
    'read-only': readOnly.start,
  };
  return { vm, maps, address };
}

/** The program calling `c.helper` with argument `bad` (0-based) pointing at `at`, the others valid. */
function program(c: Case, bad: number, at: number): string {
  const lines = ['r6 = r1'];
  c.args.forEach((arg, i) => {
    const r = `r${i + 1}`;
    if (arg === 'ctx') lines.push(`${r} = r6`);
    else if (arg === 'map') lines.push(`${r} = map[idx:0]`);
    else if (arg === 'ring') lines.push(`${r} = map[idx:1]`);
    else if (arg === 'perf') lines.push(`${r} = map[idx:2]`);
    else if ('value' in arg) lines.push(`${r} = ${arg.value} ll`);
    else if (i === bad) lines.push(`${r} = ${at} ll`);
    // Each pointer gets its own 64 stack bytes; the stack is zero, so strings are empty.
    else lines.push(`${r} = r10`, `${r} += ${-64 * (i + 1)}`);
  });
  lines.push(`call ${helperId(c.helper)}`, 'r0 = 0', 'exit');
  return lines.join('\n');
}

function run(c: Case, bad: number, target: Target | undefined): unknown {
  const { vm, maps, address } = setup();
  const insns = assemble(program(c, bad, target ? address[target] : 0));
  try {
    if (c.type) {
      // Bad pointers on purpose (the verifier refuses them): the helpers must fault, not corrupt.
      const loaded = vm.loadProgram({ type: c.type, insns, fdArray: maps, verify: false });
      vm.testRun(loaded, { data: new Uint8Array(64) });
    } else vm.run(vm.load(insns, { fdArray: maps }));
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('helpers fault on pointers no load or store could use', () => {
  for (const c of cases) {
    c.args.forEach((arg, i) => {
      if (typeof arg !== 'object' || !('ptr' in arg)) return;
      // A maybe-NULL pointer with a size is -EINVAL, as in Linux, not a fault.
      const targets: Target[] = arg.maybeNull ? ['unmapped', 'freed'] : ['null', 'unmapped', 'freed'];
      if (arg.ptr === 'write') targets.push('read-only');
      test(`bpf_${c.helper} argument ${i + 1} (${arg.ptr})`, () => {
        // The valid call runs (no fault), so each fault below is the argument's.
        assert.equal(run(c, -1, undefined), undefined, 'the call with every argument valid');
        for (const target of targets) {
          const error = run(c, i, target);
          assert.ok(
            error instanceof MemoryAccessError,
            `${target}: expected a MemoryAccessError, got ${error instanceof Error ? error.message : String(error)}`,
          );
          assert.equal(error.access, arg.ptr, target);
          assert.match(error.message, new RegExp(`bpf_${c.helper}`));
          assert.match(
            error.message,
            target === 'null'
              ? /null pointer/
              : target === 'read-only'
                ? /read-only/
                : /not mapped|crosses the end/,
          );
        }
      });
    });
  }
});
