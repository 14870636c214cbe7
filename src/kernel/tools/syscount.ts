/**
 * syscount: system calls counted, and with `-L` timed, per syscall or per process, the top N
 * printed every interval, as bcc's `syscount` prints them. The BPF side
 * (`tools/syscount.bpf.c`) uses the `raw_syscalls:sys_enter`/`sys_exit` tracepoints.
 */
import { readFileSync } from 'node:fs';
import type { BtfValue } from '../../maps/btf-codec.js';
import { clockTime, intervals, runTool, type ToolOutput, type ToolStop } from './session.js';
import { ARM64_SYSCALLS, X86_64_SYSCALLS } from './syscall-names.js';

/** bcc's syscount options. */
export interface SyscountOptions {
  /** `-p PID`: only this process. */
  readonly pid?: number;
  /** `-i INTERVAL`: print every this many seconds. */
  readonly interval?: number;
  /** How many intervals to print before stopping. */
  readonly count?: number;
  /** `-T TOP`: rows to print (default 10). */
  readonly top?: number;
  /** `-x`: only failed calls. */
  readonly failed?: boolean;
  /** `-e ERRNO`: only calls failing with this errno (a number or a name like ENOENT). */
  readonly errno?: number;
  /** `-L`: also total time in each. */
  readonly latency?: boolean;
  /** `-m`: milliseconds instead of microseconds. */
  readonly millis?: boolean;
  /** `-P`: per process instead of per syscall. */
  readonly byProcess?: boolean;
  readonly json?: boolean;
}

/** The name of system call `nr` on this machine (bcc's `syscall_name`), or `[unknown: nr]`. */
export function syscallName(nr: number, arch: string = process.arch): string {
  const table = arch === 'arm64' ? ARM64_SYSCALLS : arch === 'x64' ? X86_64_SYSCALLS : {};
  return table[nr] ?? `[unknown: ${nr}]`;
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '[exited]';
  }
}

/** Run syscount until stopped (or `count` intervals). */
export async function syscount(options: SyscountOptions, out: ToolOutput, stop: ToolStop): Promise<void> {
  const top = options.top ?? 10;
  const unit = options.millis ? 'ms' : 'us';
  await runTool(
    'syscount',
    {
      rodata: {
        target_pid: options.pid ?? 0,
        failed_only: Boolean(options.failed),
        target_errno: options.errno ?? 0,
        by_process: Boolean(options.byProcess),
        latency: Boolean(options.latency),
      },
    },
    stop,
    async (session, control) => {
      const data = session.typedMap('data');
      (options.json ? out.note : out.line)(
        `Tracing ${options.failed ? 'failed ' : ''}syscalls, printing top ${top}... Ctrl+C to quit.`,
      );
      const tick = () => {
        const rows = [...data.entries()].map(([key, value]) => {
          const v = value as Record<string, BtfValue>;
          return {
            key: Number(key),
            count: Number(v.count),
            totalNs: Number(v.total_ns),
          };
        });
        data.deleteBatch(rows.map((r) => r.key));
        rows.sort((a, b) => (options.latency ? b.totalNs - a.totalNs : b.count - a.count));
        const time = clockTime();
        const label = options.byProcess ? `${'PID'.padEnd(6)} ${'COMM'.padEnd(15)}` : 'SYSCALL'.padEnd(22);
        if (!options.json) {
          out.line(`[${time}]`);
          out.line(
            `${label} ${'COUNT'.padStart(8)}${options.latency ? ` ${`TIME (${unit})`.padStart(16)}` : ''}`,
          );
        }
        for (const row of rows.slice(0, top)) {
          const time_ = row.totalNs / (options.millis ? 1e6 : 1e3);
          const name = options.byProcess ? commOf(row.key) : syscallName(row.key);
          if (options.json) {
            out.record({
              time,
              ...(options.byProcess ? { pid: row.key, comm: name } : { syscall: name, nr: row.key }),
              count: row.count,
              ...(options.latency ? { [`total_${unit}`]: Number(time_.toFixed(3)) } : {}),
            });
            continue;
          }
          const column = options.byProcess
            ? `${String(row.key).padEnd(6)} ${name.padEnd(15)}`
            : name.padEnd(22);
          out.line(
            `${column} ${String(row.count).padStart(8)}${options.latency ? ` ${time_.toFixed(options.millis ? 6 : 3).padStart(16)}` : ''}`,
          );
        }
        if (!options.json) out.line('');
      };
      await intervals(control, options, tick);
    },
  );
}
