/**
 * opensnoop: trace open(), openat() and openat2() with their paths and results, as bcc's
 * `opensnoop` prints them (`PID COMM FD ERR PATH`). The BPF side (`tools/opensnoop.bpf.c`) uses
 * only the `syscalls:sys_enter_*`/`sys_exit_*` tracepoints.
 */
import { monotonicNs, num, runTool, str, type ToolOutput, type ToolStop } from './session.js';

/** bcc's opensnoop options. */
export interface OpensnoopOptions {
  /** `-p PID`: only this process. */
  readonly pid?: number;
  /** `-t TID`: only this thread. */
  readonly tid?: number;
  /** `-u UID`: only this user. */
  readonly uid?: number;
  /** `-x`: only failed opens. */
  readonly failed?: boolean;
  /** `-n NAME`: only process names containing this. */
  readonly name?: string;
  /** `-T`: a timestamp column (seconds since start). */
  readonly timestamp?: boolean;
  /** `-U`: a UID column. */
  readonly printUid?: boolean;
  /** `-e`: a FLAGS column (octal). */
  readonly extended?: boolean;
  /** Stop after this many events. */
  readonly count?: number;
  readonly json?: boolean;
}

/** Run opensnoop until stopped. */
export async function opensnoop(options: OpensnoopOptions, out: ToolOutput, stop: ToolStop): Promise<void> {
  const start = monotonicNs();
  await runTool(
    'opensnoop',
    {
      rodata: {
        target_pid: options.pid ?? 0,
        target_tid: options.tid ?? 0,
        target_uid: BigInt(options.uid ?? -1),
        failed_only: Boolean(options.failed),
      },
      // open() is x86's legacy call: arm64 and others have no sys_enter_open.
      optional: ['opensnoop_open', 'opensnoop_open_exit'],
    },
    stop,
    (session, control) => {
      const codec = session.codec('opensnoop_event');
      if (options.json) out.note('Tracing open()s... Hit Ctrl-C to end.');
      else
        out.line(
          [
            options.timestamp ? `${'TIME(s)'.padEnd(14)} ` : '',
            options.printUid ? `${'UID'.padEnd(6)} ` : '',
            `${'PID'.padEnd(6)} ${'COMM'.padEnd(16)} ${'FD'.padStart(4)} ERR `,
            options.extended ? `${'FLAGS'.padEnd(8)} ` : '',
            'PATH',
          ].join(''),
        );
      let seen = 0;
      session.readEvents('events', (bytes) => {
        // A batch may hold more records than the count: the stop takes effect after it.
        if (options.count !== undefined && seen >= options.count) return;
        const ev = codec.decode(bytes);
        const comm = str(ev, 'comm');
        if (options.name !== undefined && !comm.includes(options.name)) return;
        const ret = num(ev, 'ret');
        const fd = ret >= 0 ? ret : -1;
        const err = ret >= 0 ? 0 : -ret;
        const record = ev as Record<string, bigint | number | string>;
        const ts = Number((record.ts_ns as bigint) - start) / 1e9;
        const flags = Number(record.flags);
        const path = str(ev, 'path');
        if (options.json)
          out.record({
            ts: Math.max(0, Number(ts.toFixed(6))),
            pid: num(ev, 'pid'),
            tid: num(ev, 'tid'),
            uid: num(ev, 'uid'),
            comm,
            fd,
            err,
            flags,
            path,
            duration_us: Number(record.duration_ns) / 1000,
          });
        else
          out.line(
            [
              options.timestamp ? `${ts.toFixed(9).padEnd(14)} ` : '',
              options.printUid ? `${String(num(ev, 'uid')).padEnd(6)} ` : '',
              `${String(num(ev, 'pid')).padEnd(6)} ${comm.padEnd(16)} ${String(fd).padStart(4)} ${String(err).padStart(3)} `,
              options.extended ? `${flags.toString(8).padStart(8, '0')} ` : '',
              path,
            ].join(''),
          );
        seen++;
        if (options.count !== undefined && seen >= options.count) control.stop();
      });
    },
  );
}
