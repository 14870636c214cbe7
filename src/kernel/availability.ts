/**
 * Whether the `bpf()` system call can be used here: tests and tools skip with this reason rather
 * than fail (or silently pass) on machines without Linux, root or CAP_BPF.
 */
import { createMap } from './map.js';

let cached: { reason: string | undefined } | undefined;

/** Why bpf() is unavailable (not Linux, not permitted…), or undefined when it works. Probed once. */
export function bpfUnavailable(): string | undefined {
  if (!cached) {
    let reason: string | undefined;
    if (process.platform !== 'linux') reason = `not Linux (${process.platform})`;
    else {
      try {
        createMap({ name: 'probe', type: 'ARRAY', keySize: 4, valueSize: 4, maxEntries: 1 }).close();
      } catch (error) {
        reason = `bpf() not permitted: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    cached = { reason };
  }
  return cached.reason;
}
