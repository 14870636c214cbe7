/**
 * Stack traces and the traced function: `bpf_get_stack` (67, since 4.18), `bpf_get_task_stack`
 * (141, since 5.9) and `bpf_get_func_ip` (173, since 5.15).
 *
 * The VM runs no kernel or user code around a program, so its stacks are empty unless the
 * caller supplies some ({@link StackOptions}). Both helpers follow `__bpf_get_stack`
 * (kernel/bpf/stackmap.c), measured on Linux 6.18 from a raw_tp program:
 *
 * | size, flags | result |
 * |---|---|
 * | 32, 0 | bytes copied (8 per frame), the rest of the buffer zeroed |
 * | 0, 0 | 0 |
 * | 12, 0 (not a multiple of 8) | -EINVAL |
 * | 32, unknown flag bit (1 << 12) | -EINVAL |
 * | 32, `BPF_F_USER_BUILD_ID` without `BPF_F_USER_STACK` | -EINVAL |
 * | 24, user + build id (not a multiple of 32) | -EINVAL |
 * | 32, skip 255 (more frames skipped than exist) | -EFAULT |
 *
 * So an empty stack gives 0 and a zeroed buffer, and any skip > 0 on it gives -EFAULT. On
 * every error the whole buffer is zeroed.
 */
import { Errno } from '../../errno.js';
import type { Helper } from '../helpers.js';
import { defineHelper, negErrno, writableArgument } from './common.js';

/** `BPF_F_SKIP_FIELD_MASK`, `BPF_F_USER_STACK`, `BPF_F_USER_BUILD_ID`. */
export const StackFlags = { SKIP_MASK: 0xff, USER_STACK: 1 << 8, USER_BUILD_ID: 1 << 11 } as const;
/** `sysctl_perf_event_max_stack` default. */
export const PERF_MAX_STACK_DEPTH = 127;
/** `struct bpf_stack_build_id`: s32 status, 20-byte build id, u64 offset or ip. */
const BUILD_ID_ENTRY = 32;
/** `BPF_STACK_BUILD_ID_IP`: no build id known, the entry holds the raw ip. */
const BUILD_ID_IP = 2;

/** What the stack helpers report. */
export interface StackOptions {
  /** Kernel return addresses, innermost first; default none. */
  readonly kernelStack?: () => readonly bigint[];
  /** User return addresses, innermost first; default none. */
  readonly userStack?: () => readonly bigint[];
  /** What `bpf_get_func_ip` returns (the probed function's address); default 0. */
  readonly funcIp?: () => bigint;
}

/** `__bpf_get_stack` into `buf` (a VM address of `size` writable bytes): r0. */
function getStack(
  env: Parameters<Helper['call']>[0],
  name: string,
  options: StackOptions,
  buf: bigint,
  sizeArg: bigint,
  flagsArg: bigint,
): bigint {
  const size = Number(BigInt.asUintN(32, sizeArg));
  const start = writableArgument(env.memory, name, 'buf', buf, size);
  const bytes = env.memory.bytes;
  bytes.fill(0, start, start + size);
  const known = BigInt(StackFlags.SKIP_MASK | StackFlags.USER_STACK | StackFlags.USER_BUILD_ID);
  if (flagsArg & ~known) return negErrno(Errno.EINVAL);
  const flags = Number(flagsArg);
  const user = (flags & StackFlags.USER_STACK) !== 0;
  const buildId = (flags & StackFlags.USER_BUILD_ID) !== 0;
  if (!user && buildId) return negErrno(Errno.EINVAL);
  const element = buildId ? BUILD_ID_ENTRY : 8;
  if (size % element !== 0) return negErrno(Errno.EINVAL);
  const skip = flags & StackFlags.SKIP_MASK;
  const count = size / element;
  const frames = ((user ? options.userStack : options.kernelStack)?.() ?? []).slice(
    0,
    Math.min(count + skip, PERF_MAX_STACK_DEPTH),
  );
  if (frames.length < skip) return negErrno(Errno.EFAULT);
  const copied = frames.slice(skip, skip + count);
  const view = env.memory.view;
  copied.forEach((ip, i) => {
    if (buildId) {
      view.setInt32(start + i * element, BUILD_ID_IP, true);
      view.setBigUint64(start + i * element + 24, ip, true);
    } else view.setBigUint64(start + i * element, ip, true);
  });
  return BigInt(copied.length * element);
}

/** get_stack, get_task_stack (every task is the current one here) and get_func_ip. */
export function stackHelpers(options: StackOptions = {}): Helper[] {
  return [
    defineHelper('get_stack', (env, _ctx, buf, size, flags) =>
      getStack(env, 'get_stack', options, buf, size, flags),
    ),
    defineHelper('get_task_stack', (env, _task, buf, size, flags) =>
      getStack(env, 'get_task_stack', options, buf, size, flags),
    ),
    defineHelper('get_func_ip', () => options.funcIp?.() ?? 0n),
  ];
}
