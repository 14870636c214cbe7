/**
 * The kernel as the verifier's oracle: load a corpus case with `BPF_PROG_LOAD` and report the
 * kernel's verdict (accepted, first error line, failing instruction, `insns_processed`).
 *
 * Node-only (it uses `src/kernel/`); only tests and scripts import it, never the verifier.
 * Capability modes other than the current process's run in a child process started through
 * `setpriv` with the capability bounding set cut down, many cases per child:
 * - `root`: this process (CAP_SYS_ADMIN…), in-process.
 * - `bpf`: only CAP_BPF + CAP_NET_ADMIN.
 * - `unpriv`: no capability; needs `kernel.unprivileged_bpf_disabled=0`
 *   ({@link withUnprivilegedBpf} sets it for the duration and restores it).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMap, type KernelMapOps } from '../../kernel/load/map.js';
import { BPF_PROG_INFO, cString } from '../../kernel/sys/attr.js';
import { bpfUnavailable } from '../../kernel/sys/availability.js';
import { bpfTry, objectInfo } from '../../kernel/sys/objects.js';
import { getSys } from '../../kernel/sys/syscall.js';
import { ProgType } from '../../uapi.js';
import type { Caps } from '../types.js';
import { type CorpusCase, type DecodedCase, decodeCase } from './corpus.js';
import { type KernelVerdict, parseRejection } from './kernel-log.js';

/** A verdict, or why the case could not be set up (a map this mode may not create…). */
export type OracleResult = KernelVerdict | { readonly setupError: string };

export const isSetupError = (r: OracleResult): r is { readonly setupError: string } => 'setupError' in r;

/**
 * Size of the log buffer. Since 6.4 the log is a ring: when it overflows the kernel keeps the
 * tail (the error and the `processed N insns` line, all we read) and fails with ENOSPC, so the
 * buffer never needs to grow, even for programs that hit the 1,000,000-instruction limit.
 */
const LOG_SIZE = 1 << 20;
const log = new Uint8Array(new ArrayBuffer(LOG_SIZE));
const LICENSE = cString('GPL');

/**
 * The kernel's verdict: a load without a log first (formatting the log costs far more than
 * verifying: a program that runs into the 1,000,000-instruction limit takes ~10 s at level 1),
 * then, for a rejection, the same load at level 1 for the error line and the instruction.
 */
function load(decoded: DecodedCase, maps: readonly KernelMapOps[]): KernelVerdict {
  const sys = getSys();
  const fdArray = maps.length ? new Uint8Array(new Int32Array(maps.map((m) => m.fd)).buffer) : null;
  const attempt = (level: 0 | 1) => {
    for (let tries = 0; ; tries++) {
      if (level) log.fill(0, 0, 64);
      const call = bpfTry(sys, 'PROG_LOAD', {
        prog_type: ProgType[decoded.progType],
        insn_cnt: decoded.insns.length / 8,
        insns: decoded.insns,
        license: LICENSE,
        log_level: level,
        log_size: level ? LOG_SIZE : 0,
        log_buf: level ? log : null,
        prog_flags: decoded.flags,
        prog_name: 'vcorpus',
        fd_array: fdArray,
      });
      // EAGAIN: a signal interrupted the verifier; the load is safe to repeat.
      if (call.error && (call.error.is('EAGAIN') || call.error.is('EINTR')) && tries < 10) continue;
      return call;
    }
  };
  const quiet = attempt(0);
  if (!quiet.error) {
    const info = objectInfo(quiet.result, BPF_PROG_INFO, {}, sys);
    sys.close(quiet.result);
    return { accepted: true, error: null, insn: null, insns_processed: info.verified_insns };
  }
  const loud = attempt(1);
  if (!loud.error) {
    // Accepted with a log but not without one: never seen; report it rather than guess.
    sys.close(loud.result);
    return { accepted: true, error: null, insn: null, insns_processed: 0, errno: 'FLAKY' };
  }
  const errno = quiet.error.code;
  const end = log.indexOf(0);
  const text = new TextDecoder().decode(log.subarray(0, end < 0 ? LOG_SIZE : end));
  // ENOSPC: the ring kept the log's tail, which holds all we read.
  if (text.trim() === '') return { accepted: false, error: null, insn: null, insns_processed: 0, errno };
  return parseRejection(text, errno);
}

/** Load one case in this process, with this process's capabilities. Never throws. */
export function kernelVerdict(c: CorpusCase): OracleResult {
  let decoded: ReturnType<typeof decodeCase>;
  try {
    decoded = decodeCase(c);
  } catch (error) {
    return { setupError: (error as Error).message };
  }
  const maps: KernelMapOps[] = [];
  try {
    for (const [i, map] of decoded.maps.entries()) {
      try {
        maps.push(
          createMap({
            name: `m${i}`,
            type: map.type,
            keySize: map.keySize,
            valueSize: map.valueSize,
            maxEntries: map.maxEntries,
            flags: map.flags,
          }),
        );
      } catch (error) {
        return { setupError: `map ${i} (${map.type}): ${(error as Error).message}` };
      }
    }
    return load(decoded, maps);
  } finally {
    for (const map of maps) map.close();
  }
}

/** The capability sets setpriv leaves a child of each mode. */
const CAPS_OF: Readonly<Record<Exclude<Caps, 'root'>, string>> = {
  bpf: '-all,+bpf,+net_admin',
  unpriv: '-all',
};

const CHILD = fileURLToPath(new URL('./oracle-child.ts', import.meta.url));
const BATCH = 400;

/** Why the oracle cannot run in this mode here, or undefined when it can. */
export function oracleUnavailable(caps: Caps): string | undefined {
  const reason = bpfUnavailable();
  if (reason) return reason;
  if (caps === 'root') return undefined;
  if (process.getuid?.() !== 0) return `capability mode '${caps}' needs root to drop capabilities from`;
  const probe = spawnSync('setpriv', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return 'setpriv (util-linux) is not installed';
  return undefined;
}

/**
 * The kernel's verdict on each case in capability mode `caps` (the case's own `caps` is ignored).
 * `root` loads in this process; `bpf` and `unpriv` in `setpriv` children, {@link BATCH} cases each.
 * `unpriv` needs {@link withUnprivilegedBpf} around the call.
 */
export function runOracle(cases: readonly CorpusCase[], caps: Caps): OracleResult[] {
  if (caps === 'root') return cases.map(kernelVerdict);
  const results: OracleResult[] = [];
  const tsx = fileURLToPath(import.meta.resolve('tsx'));
  for (let start = 0; start < cases.length; start += BATCH) {
    const batch = cases.slice(start, start + BATCH);
    const input = batch.map((c) => JSON.stringify(c)).join('\n');
    const child = spawnSync(
      'setpriv',
      [
        `--bounding-set=${CAPS_OF[caps]}`,
        `--inh-caps=${CAPS_OF[caps]}`,
        '--',
        process.execPath,
        '--import',
        tsx,
        CHILD,
      ],
      { input, encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 },
    );
    if (child.error || child.status !== 0) {
      throw new Error(
        `oracle child (${caps}) failed: ${child.error?.message ?? `exit ${child.status}`}\n${child.stderr}`,
      );
    }
    const lines = child.stdout.split('\n').filter((line) => line !== '');
    if (lines.length !== batch.length)
      throw new Error(`oracle child (${caps}) answered ${lines.length} of ${batch.length} cases`);
    for (const line of lines) results.push(JSON.parse(line) as OracleResult);
  }
  return results;
}

const SYSCTL = '/proc/sys/kernel/unprivileged_bpf_disabled';

/**
 * Run `fn` with `kernel.unprivileged_bpf_disabled=0` and restore the previous value after. Throws
 * when the sysctl is 1 (only a reboot clears it) or cannot be written.
 */
export function withUnprivilegedBpf<T>(fn: () => T): T {
  const previous = readFileSync(SYSCTL, 'utf8').trim();
  if (previous === '0') return fn();
  if (previous === '1')
    throw new Error('kernel.unprivileged_bpf_disabled=1 cannot be cleared before a reboot');
  writeFileSync(SYSCTL, '0');
  try {
    return fn();
  } finally {
    writeFileSync(SYSCTL, previous);
  }
}
