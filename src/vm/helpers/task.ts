/**
 * The current task: `bpf_get_current_pid_tgid` (14), `bpf_get_current_uid_gid` (15),
 * `bpf_get_current_comm` (16), `bpf_get_current_task` (35) and `_btf` (158),
 * `bpf_get_current_cgroup_id` (80) and `bpf_get_numa_node_id` (42), for a configurable
 * {@link Task}.
 *
 * Kernel facts (Linux 6.18, measured from a raw_tp test run by `node`):
 * - pid_tgid is `tgid << 32 | pid` (the thread id in the low half), uid_gid is `gid << 32 | uid`.
 * - `bpf_get_current_comm(buf, size)` is `strscpy_pad(buf, comm, size)` and returns 0: size 4
 *   gave `"nod\0"`, size 32 gave `"node"` and 28 zero bytes. A comm is at most 15 bytes
 *   (`TASK_COMM_LEN` 16 with the NUL). The -EINVAL branch (no current task) cannot happen in
 *   a VM that always has one.
 * - `bpf_get_numa_node_id` was 0 on this one-node machine; the root cgroup's id is 1.
 *
 * `bpf_get_current_task` returns the address of a read-only stand-in for `task_struct` in VM
 * memory (the kernel's layout depends on its config and is found through BTF/CO-RE, which the
 * VM does not emulate). Its fields, little-endian:
 *
 * ```
 *  +0 pid  +4 tgid  +8 uid  +12 gid   (u32 each)
 *  +16 cgroup id (u64)
 *  +24 comm[16]  (NUL-padded)
 * ```
 */
import type { Helper } from '../helpers.js';
import type { Region, VmMemory } from '../memory.js';
import { defineHelper, writableArgument } from './common.js';

/** `TASK_COMM_LEN`: a comm and its NUL. */
export const TASK_COMM_LEN = 16;
/** Bytes of the emulated task_struct region. */
export const TASK_STRUCT_SIZE = 40;

/** The task programs see as `current`. */
export interface Task {
  /** Thread id (the kernel's `pid`). */
  readonly pid: number;
  /** Process id (the kernel's `tgid`); default: `pid`. */
  readonly tgid?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** Command name; cut to 15 bytes as the kernel's `set_task_comm` does. */
  readonly comm?: string;
  /** cgroup v2 id; default 1, the root cgroup. */
  readonly cgroupId?: bigint;
  /** NUMA node of the CPU it runs on; default 0. */
  readonly numaNode?: number;
}

/** A task standing in for `current` when none is configured. */
export const DEFAULT_TASK: Task = { pid: 1000, tgid: 1000, uid: 0, gid: 0, comm: 'tsbpf', cgroupId: 1n };

/** The comm as the kernel stores it: UTF-8, at most 15 bytes, NUL-padded to 16. */
export function commBytes(comm: string): Uint8Array {
  const bytes = new Uint8Array(TASK_COMM_LEN);
  bytes.set(new TextEncoder().encode(comm).subarray(0, TASK_COMM_LEN - 1));
  return bytes;
}

/** The bytes of the emulated task_struct of `task` (layout in the module comment). */
export function taskStructBytes(task: Task): Uint8Array {
  const bytes = new Uint8Array(TASK_STRUCT_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, task.pid >>> 0, true);
  view.setUint32(4, (task.tgid ?? task.pid) >>> 0, true);
  view.setUint32(8, (task.uid ?? 0) >>> 0, true);
  view.setUint32(12, (task.gid ?? 0) >>> 0, true);
  view.setBigUint64(16, BigInt.asUintN(64, task.cgroupId ?? 1n), true);
  bytes.set(commBytes(task.comm ?? ''), 24);
  return bytes;
}

/**
 * The current-task helpers. `current` may be a function, so a caller can switch tasks between
 * runs. The task_struct region is mapped in the VM's memory at the first `bpf_get_current_task`
 * and rewritten at each call, so it always shows the current task.
 */
export function taskHelpers(current: Task | (() => Task) = DEFAULT_TASK): Helper[] {
  const task = typeof current === 'function' ? current : () => current;
  const regions = new WeakMap<VmMemory, Region>();
  const taskAddress = (memory: VmMemory): bigint => {
    let region = regions.get(memory);
    if (!region) {
      region = memory.alloc(TASK_STRUCT_SIZE, { name: 'task_struct (current)', writable: false });
      regions.set(memory, region);
    }
    memory.bytes.set(taskStructBytes(task()), region.start);
    return BigInt(region.start);
  };
  return [
    defineHelper('get_current_pid_tgid', () => {
      const t = task();
      return (BigInt((t.tgid ?? t.pid) >>> 0) << 32n) | BigInt(t.pid >>> 0);
    }),
    defineHelper('get_current_uid_gid', () => {
      const t = task();
      return (BigInt((t.gid ?? 0) >>> 0) << 32n) | BigInt((t.uid ?? 0) >>> 0);
    }),
    defineHelper('get_current_comm', (env, buf, size) => {
      const length = Number(BigInt.asUintN(32, size));
      const start = writableArgument(env.memory, 'get_current_comm', 'buf', buf, length);
      // strscpy_pad: copy what fits with a NUL, zero the rest.
      const comm = commBytes(task().comm ?? '');
      const bytes = env.memory.bytes;
      bytes.fill(0, start, start + length);
      const copy = Math.min(length - 1, comm.indexOf(0));
      if (copy > 0) bytes.set(comm.subarray(0, copy), start);
      return 0n;
    }),
    defineHelper('get_current_task', (env) => taskAddress(env.memory)),
    defineHelper('get_current_task_btf', (env) => taskAddress(env.memory)),
    defineHelper('get_current_cgroup_id', () => BigInt.asUintN(64, task().cgroupId ?? 1n)),
    defineHelper('get_numa_node_id', () => BigInt(task().numaNode ?? 0)),
  ];
}
