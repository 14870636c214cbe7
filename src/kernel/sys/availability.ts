/**
 * Whether the `bpf()` system call can be used here: tests and tools skip with this reason rather
 * than fail (or silently pass) on machines without Linux, root or CAP_BPF.
 */
import { existsSync, statfsSync } from 'node:fs';
import { createMap } from '../load/map.js';
import { loadProgram } from '../load/program.js';

/** `r0 = 2 (XDP_PASS); exit`. */
const XDP_PASS = new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

let cached: { reason: string | undefined } | undefined;

/** Why bpf() is unavailable (not Linux, not permitted…), or undefined when it works. Probed once. */
export function bpfUnavailable(): string | undefined {
  if (!cached) {
    let reason: string | undefined;
    if (process.env.TSBPF_NO_KERNEL) reason = 'TSBPF_NO_KERNEL is set (npm run test:quick): no kernel calls';
    else if (process.platform !== 'linux') reason = `not Linux (${process.platform})`;
    else {
      try {
        createMap({ name: 'probe', type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1 }).close();
        // An unprivileged user may create some maps (kernel.unprivileged_bpf_disabled = 0) but not
        // load the program types tests and tools use: probe one (XDP: `r0 = XDP_PASS; exit`).
        loadProgram({ type: 'XDP', insns: XDP_PASS, license: 'GPL', name: 'probe' }).close();
      } catch (error) {
        reason = `bpf() not permitted: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    cached = { reason };
  }
  return cached.reason;
}

/** Where tracefs may be mounted, in the order the kernel backend looks. */
const TRACEFS_ROOTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** Why tracefs (tracepoint ids and formats, trace_pipe) is unusable here, or undefined when it is mounted. */
export function tracefsUnavailable(): string | undefined {
  const unusable = bpfUnavailable();
  if (unusable) return unusable;
  if (TRACEFS_ROOTS.some((root) => existsSync(`${root}/events`))) return undefined;
  return 'tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)';
}

/** `f_type` of a bpffs mount (`BPF_FS_MAGIC`, include/uapi/linux/magic.h). */
export const BPF_FS_MAGIC = 0xcafe4a11;

/** Why pinning under `dir` cannot work here (no bpf(), no bpffs mounted there), or undefined. */
export function bpffsUnavailable(dir = '/sys/fs/bpf'): string | undefined {
  const unusable = bpfUnavailable();
  if (unusable) return unusable;
  try {
    if (statfsSync(dir).type === BPF_FS_MAGIC) return undefined;
  } catch {
    // Missing: reported below like any other non-bpffs path.
  }
  return `no bpffs mounted at ${dir} (mount -t bpf bpf ${dir})`;
}
