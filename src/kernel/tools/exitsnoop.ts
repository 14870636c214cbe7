/**
 * exitsnoop: trace process exits with their age and exit code, as bcc's `exitsnoop` prints them
 * (`PCOMM PID PPID TID AGE(s) EXIT_CODE`), from the `sched:sched_process_exit` tracepoint
 * (`tools/exitsnoop.bpf.c`).
 */
import { constants } from 'node:os';
import { clockTime, num, runTool, str, type ToolOutput, type ToolStop } from './session.js';

/** bcc's exitsnoop options. */
export interface ExitsnoopOptions {
  /** `-t`: a time column (HH:MM:SS). */
  readonly timestamp?: boolean;
  /** `-x`: only non-zero exits (codes and signals). */
  readonly failed?: boolean;
  /** `-p PID`: only this process. */
  readonly pid?: number;
  /** `--per-thread`: every thread's exit, not only the process's. */
  readonly perThread?: boolean;
  readonly count?: number;
  readonly json?: boolean;
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name.slice(3)]));

/** bcc's EXIT_CODE text: `0`, `code 1`, `signal 9 (KILL)`, `signal 11 (SEGV), core dumped`. */
export function exitCodeText(code: number): string {
  const signal = code & 0x7f;
  if (signal) {
    const name = SIGNAL_NAMES.get(signal);
    return `signal ${signal}${name ? ` (${name})` : ''}${code & 0x80 ? ', core dumped' : ''}`;
  }
  const status = (code >> 8) & 0xff;
  return status === 0 ? '0' : `code ${status}`;
}

/** Run exitsnoop until stopped. */
export async function exitsnoop(options: ExitsnoopOptions, out: ToolOutput, stop: ToolStop): Promise<void> {
  await runTool(
    'exitsnoop',
    {
      rodata: {
        target_pid: options.pid ?? 0,
        per_thread: Boolean(options.perThread),
        failed_only: Boolean(options.failed),
      },
    },
    stop,
    (session, control) => {
      const codec = session.codec('exitsnoop_event');
      if (options.json) out.note('Tracing process exits... Hit Ctrl-C to end.');
      else
        out.line(
          `${options.timestamp ? `${'TIME'.padEnd(12)} ` : ''}${'PCOMM'.padEnd(16)} ${'PID'.padEnd(7)} ${'PPID'.padEnd(7)} ${'TID'.padEnd(7)} ${'AGE(s)'.padEnd(7)} EXIT_CODE`,
        );
      let seen = 0;
      session.readEvents('events', (bytes) => {
        // A batch may hold more records than the count: the stop takes effect after it.
        if (options.count !== undefined && seen >= options.count) return;
        const ev = codec.decode(bytes) as Record<string, bigint | number | string>;
        const age = Number((ev.exit_time_ns as bigint) - (ev.start_time_ns as bigint)) / 1e9;
        const code = num(ev, 'exit_code');
        const signal = code & 0x7f;
        const comm = str(ev, 'comm');
        if (options.json)
          out.record({
            ...(options.timestamp ? { time: clockTime() } : {}),
            comm,
            pid: num(ev, 'pid'),
            ppid: num(ev, 'ppid'),
            tid: num(ev, 'tid'),
            uid: num(ev, 'uid'),
            age: Number(age.toFixed(6)),
            exit_code: signal ? 0 : (code >> 8) & 0xff,
            sig: signal,
            core_dumped: (code & 0x80) !== 0,
          });
        else
          out.line(
            `${options.timestamp ? `${clockTime()}.${String(Date.now() % 1000).padStart(3, '0')} ` : ''}${comm.padEnd(16)} ${String(ev.pid).padEnd(7)} ${String(ev.ppid).padEnd(7)} ${String(ev.tid).padEnd(7)} ${age.toFixed(2).padEnd(7)} ${exitCodeText(code)}`,
          );
        seen++;
        if (options.count !== undefined && seen >= options.count) control.stop();
      });
    },
  );
}
