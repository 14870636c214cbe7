/**
 * execsnoop: trace every execve() with its arguments, as bcc's `execsnoop` prints it
 * (`PCOMM PID PPID RET ARGS`). The BPF side (`tools/execsnoop.bpf.c`) uses only the
 * `syscalls:sys_enter_execve` and `sys_exit_execve` tracepoints.
 */
import { clockTime, monotonicNs, num, runTool, str, type ToolOutput, type ToolStop } from './session.js';

/** bcc's execsnoop options. */
export interface ExecsnoopOptions {
  /** `-T`: an HH:MM:SS column. */
  readonly time?: boolean;
  /** `-t`: a seconds-since-start column. */
  readonly timestamp?: boolean;
  /** `-x`: only failed execs. */
  readonly failed?: boolean;
  /** `-n NAME`: only commands whose name matches this regular expression. */
  readonly name?: string;
  /** `-l LINE`: only commands whose arguments match this regular expression. */
  readonly line?: string;
  /** `-u USER`: only this user (a uid or a name from /etc/passwd). */
  readonly uid?: number;
  /** `-U`: a UID column. */
  readonly printUid?: boolean;
  /** `-q`: quote the arguments. */
  readonly quote?: boolean;
  /** `--max-args N` (default 20, at most 20). */
  readonly maxArgs?: number;
  /** Stop after this many events. */
  readonly count?: number;
  readonly json?: boolean;
}

/** The record of one exec, as `--json` prints it (bcc's field names). */
export interface ExecRecord {
  readonly time?: string;
  readonly ts: number;
  readonly comm: string;
  readonly pid: number;
  readonly ppid: number;
  readonly uid: number;
  readonly ret: number;
  readonly args: string[];
  readonly truncated: boolean;
}

function splitArgs(bytes: string, count: number): string[] {
  return bytes.split('\0').slice(0, count);
}

/** Run execsnoop until stopped; writes to `out`. */
export async function execsnoop(options: ExecsnoopOptions, out: ToolOutput, stop: ToolStop): Promise<void> {
  const maxArgs = Math.min(options.maxArgs ?? 20, 20);
  const nameRe = options.name !== undefined ? new RegExp(options.name) : undefined;
  const lineRe = options.line !== undefined ? new RegExp(options.line) : undefined;
  const start = monotonicNs();
  await runTool(
    'execsnoop',
    { rodata: { target_uid: BigInt(options.uid ?? -1), max_args: maxArgs } },
    stop,
    (session, control) => {
      const codec = session.codec('execsnoop_event');
      const header = [
        options.time ? 'TIME    ' : '',
        options.timestamp ? 'TIME(s) ' : '',
        options.printUid ? 'UID   ' : '',
        `${'PCOMM'.padEnd(16)} ${'PID'.padEnd(7)} ${'PPID'.padEnd(7)} RET ARGS`,
      ].join('');
      if (!options.json) out.line(header);
      else out.note('Tracing exec()s... Hit Ctrl-C to end.');
      const argsAt = session.offsetOf('execsnoop_event', 'args');
      let seen = 0;
      session.readEvents('events', (bytes) => {
        // A batch may hold more records than the count: the stop takes effect after it.
        if (options.count !== undefined && seen >= options.count) return;
        const ev = codec.decode(bytes);
        const ret = num(ev, 'retval');
        if (options.failed && ret === 0) return;
        const comm = str(ev, 'comm');
        if (nameRe && !nameRe.test(comm)) return;
        const argsBytes = Buffer.from(bytes.subarray(argsAt)).toString('latin1');
        const args = splitArgs(argsBytes.slice(0, num(ev, 'args_size')), num(ev, 'args_count'));
        const argLine = args.map((a) => (options.quote ? `"${a.replaceAll('"', '\\"')}"` : a)).join(' ');
        if (lineRe && !lineRe.test(argLine)) return;
        const ts = Number(BigInt((ev as Record<string, bigint>).ts_ns ?? 0n) - start) / 1e9;
        const truncated = num(ev, 'truncated') !== 0;
        const record: ExecRecord = {
          ...(options.time ? { time: clockTime() } : {}),
          ts: Math.max(0, Number(ts.toFixed(6))),
          comm,
          pid: num(ev, 'pid'),
          ppid: num(ev, 'ppid'),
          uid: num(ev, 'uid'),
          ret,
          args,
          truncated,
        };
        if (options.json) out.record(record as unknown as Record<string, unknown>);
        else
          out.line(
            [
              options.time ? `${record.time?.padEnd(8)} ` : '',
              options.timestamp ? `${record.ts.toFixed(3).padEnd(8)}` : '',
              options.printUid ? `${String(record.uid).padEnd(6)}` : '',
              `${comm.padEnd(16)} ${String(record.pid).padEnd(7)} ${String(record.ppid).padEnd(7)} ${String(ret).padStart(3)} ${argLine}${truncated ? ' ...' : ''}`,
            ].join(''),
          );
        seen++;
        if (options.count !== undefined && seen >= options.count) control.stop();
      });
    },
  );
}
