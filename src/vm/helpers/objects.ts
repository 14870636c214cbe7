/**
 * Helpers over maps of kernel objects the VM stands in for: `bpf_get_stackid` (27, since 4.6) into
 * a STACK_TRACE map, and `bpf_current_task_under_cgroup` (37, since 4.9) over a CGROUP_ARRAY.
 *
 * `bpf_get_stackid(ctx, map, flags)` follows `bpf_get_stackid` in kernel/bpf/stackmap.c: unknown
 * flag bits are -EINVAL; the stack (kernel, or user with BPF_F_USER_STACK) minus `flags & 0xff`
 * skipped frames, at most value_size / 8 of them, is hashed into a bucket; an empty stack is
 * -EFAULT (the VM runs no code around a program, so without {@link StackOptions} every stack is
 * empty); a bucket holding another stack is -EEXIST unless BPF_F_REUSE_STACKID.
 *
 * `bpf_current_task_under_cgroup(map, index)`: index ≥ max_entries is -E2BIG, an empty slot
 * -EAGAIN, else 1 when the VM's task is in that cgroup (its `cgroupId` equals the slot's value,
 * or the slot holds the root cgroup, 1) and 0 otherwise.
 */
import { Errno } from '../../errno.js';
import type { Helper } from '../helpers.js';
import { MapArgumentError } from '../maps/base.js';
import type { VmMapRegistry } from '../maps/registry.js';
import { SlotArrayMap } from '../maps/slot-maps.js';
import { StackTraceMap } from '../maps/stack-trace.js';
import { defineHelper, negErrno, u64 } from './common.js';
import type { StackOptions } from './stack.js';
import { DEFAULT_TASK, type Task } from './task.js';

/** `BPF_F_SKIP_FIELD_MASK`, `BPF_F_USER_STACK`, `BPF_F_FAST_STACK_CMP`, `BPF_F_REUSE_STACKID`. */
export const StackIdFlags = {
  SKIP_MASK: 0xff,
  USER_STACK: 1 << 8,
  FAST_STACK_CMP: 1 << 9,
  REUSE_STACKID: 1 << 10,
} as const;

/** The helpers above, over the maps of `registry`, the current task and its stacks. */
export function objectHelpers(
  registry: VmMapRegistry,
  current: Task | (() => Task) = DEFAULT_TASK,
  stacks: StackOptions = {},
): Helper[] {
  const task = typeof current === 'function' ? current : () => current;
  return [
    defineHelper('get_stackid', (_env, _ctx, handle, flagsArg) => {
      const map = registry.mapByHandle(handle);
      if (!(map instanceof StackTraceMap))
        throw new MapArgumentError(`bpf_get_stackid: 0x${handle.toString(16)} is not a stack trace map`);
      const known = BigInt(
        StackIdFlags.SKIP_MASK |
          StackIdFlags.USER_STACK |
          StackIdFlags.FAST_STACK_CMP |
          StackIdFlags.REUSE_STACKID,
      );
      if (flagsArg & ~known) return negErrno(Errno.EINVAL);
      const flags = Number(flagsArg);
      const stack = (flags & StackIdFlags.USER_STACK ? stacks.userStack : stacks.kernelStack)?.() ?? [];
      const ips = stack.slice(flags & StackIdFlags.SKIP_MASK).slice(0, map.spec.valueSize / 8);
      if (ips.length === 0) return negErrno(Errno.EFAULT);
      return u64(map.record(ips, (flags & StackIdFlags.REUSE_STACKID) !== 0));
    }),
    defineHelper('current_task_under_cgroup', (_env, handle, indexArg) => {
      const map = registry.mapByHandle(handle);
      if (!(map instanceof SlotArrayMap) || map.spec.type !== 'CGROUP_ARRAY')
        throw new MapArgumentError(
          `bpf_current_task_under_cgroup: 0x${handle.toString(16)} is not a cgroup array`,
        );
      const index = Number(BigInt.asUintN(32, indexArg));
      if (index >= map.spec.maxEntries) return negErrno(Errno.E2BIG);
      const cgroup = map.valueAt(index);
      if (cgroup === undefined) return negErrno(Errno.EAGAIN);
      return cgroup === 1 || BigInt(cgroup) === (task().cgroupId ?? 1n) ? 1n : 0n;
    }),
  ];
}
