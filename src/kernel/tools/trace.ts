/**
 * trace: bcc's `trace` for any tracepoint, without a compiler at run time. One precompiled
 * program (`tools/trace.bpf.c`) copies the raw record (and the strings its `char *` fields point
 * to) into a ring buffer; here the record is decoded with the tracepoint's tracefs `format`,
 * filtered with an ftrace-syntax expression, and printed in bcc's columns
 * (`PID TID COMM FUNC -` and the fields).
 */
import { existsSync, readFileSync } from 'node:fs';
import { attachTracepoint } from '../attach/links.js';
import {
  clockTime,
  monotonicNs,
  num,
  runTool,
  str,
  ToolError,
  type ToolOutput,
  type ToolStop,
} from './session.js';
import {
  compileFilter,
  decodeRecord,
  fixedSize,
  parseTraceFormat,
  type TraceField,
  type TraceValue,
} from './trace-format.js';

/** Options of `tsbpf tools trace`. */
export interface TraceOptions {
  /** `category:name` (bcc's `t:category:name` and `category/name` work too). */
  readonly tracepoint: string;
  /** ftrace-syntax filter over the record's fields and comm, pid, tid, uid. */
  readonly filter?: string;
  /** Fields to print (default: all but the `common_*` ones). */
  readonly fields?: readonly string[];
  /** `-p PID`: only this process (in the kernel). */
  readonly pid?: number;
  /** `-n NAME`: only process names containing this. */
  readonly name?: string;
  /** `-T`: a time column. */
  readonly time?: boolean;
  /** `-t`: a timestamp column (seconds since start). */
  readonly timestamp?: boolean;
  /** `-M`: stop after this many events. */
  readonly maxEvents?: number;
  readonly json?: boolean;
}

const TRACEFS_ROOTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];
/** `MAX_DATA`, `MAX_STRS` and `STR_LEN` of tools/trace.bpf.c. */
const MAX_DATA = 512;
const MAX_STRS = 2;

/** `t:cat:name`, `cat:name` or `cat/name` → [category, name]. */
export function parseTracepoint(spec: string): [string, string] {
  const parts = spec.replace(/^(t|tracepoint):/, '').split(/[:/]/);
  if (parts.length !== 2 || !parts[0] || !parts[1])
    throw new ToolError(
      'trace',
      `'${spec}' is not a tracepoint (expected category:name, e.g. syscalls:sys_enter_openat)`,
      { badInput: true },
    );
  return [parts[0], parts[1]];
}

function readFormat(category: string, name: string): TraceField[] {
  for (const root of TRACEFS_ROOTS) {
    const path = `${root}/events/${category}/${name}/format`;
    if (existsSync(path)) return parseTraceFormat(readFileSync(path, 'utf8'));
  }
  if (!TRACEFS_ROOTS.some((root) => existsSync(`${root}/events`)))
    throw new ToolError('trace', 'tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)');
  throw new ToolError(
    'trace',
    `no tracepoint ${category}:${name} (see /sys/kernel/tracing/available_events; kprobes (p:) are not configured in this kernel)`,
    { badInput: true },
  );
}

function show(value: TraceValue): string {
  return Array.isArray(value)
    ? `[${value.join(',')}]`
    : typeof value === 'string'
      ? JSON.stringify(value)
      : String(value);
}

/** Run trace until stopped (or `maxEvents`). */
export async function trace(options: TraceOptions, out: ToolOutput, stop: ToolStop): Promise<void> {
  if (/^(p|r|u|uretprobe|kprobe|kretprobe):/.test(options.tracepoint))
    throw new ToolError(
      'trace',
      `'${options.tracepoint}' needs a kprobe or uprobe; this tool traces tracepoints only (kprobes are not configured in this kernel). Pick one from /sys/kernel/tracing/available_events.`,
      { badInput: true },
    );
  const [category, name] = parseTracepoint(options.tracepoint);
  const fields = readFormat(category, name);
  const recordFields = fields.filter((f) => !f.name.startsWith('common_')).map((f) => f.name);
  // The record's own fields win over the current task's (sched_wakeup's pid is the woken task).
  const known = [...new Set([...recordFields, 'comm', 'pid', 'tid', 'uid'])];
  const filter = options.filter ? compileFilter(options.filter, known) : undefined;
  for (const field of options.fields ?? [])
    if (!known.includes(field))
      throw new ToolError(
        'trace',
        `${category}:${name} has no field '${field}' (fields: ${recordFields.join(', ')})`,
        {
          badInput: true,
        },
      );
  // Strings to fetch: the char * fields printed or filtered on, in that order, at most MAX_STRS.
  const wanted = [
    ...(options.fields ?? recordFields),
    ...(options.filter ? recordFields.filter((f) => options.filter?.includes(f)) : []),
  ];
  const stringFields = fields
    .filter((f) => f.kind === 'string_pointer' && wanted.includes(f.name))
    .slice(0, MAX_STRS);
  const offsets = new Uint8Array(4 * MAX_STRS);
  for (const [i, f] of stringFields.entries()) new DataView(offsets.buffer).setUint32(4 * i, f.offset, true);
  const hasDataLoc = fields.some((f) => f.kind === 'data_loc');
  const size = hasDataLoc ? MAX_DATA : Math.min(MAX_DATA, fixedSize(fields));
  const start = monotonicNs();
  await runTool(
    'trace',
    {
      rodata: { record_size: size, str_offsets: offsets, target_pid: options.pid ?? 0 },
      attachWith: { trace_record: (program) => attachTracepoint(program, category, name) },
    },
    stop,
    (session, control) => {
      const codec = session.codec('trace_record');
      const dataAt = session.offsetOf('trace_record', 'data');
      const strsAt = session.offsetOf('trace_record', 'strs');
      if (options.json) out.note(`Tracing ${category}:${name}... Hit Ctrl-C to end.`);
      else
        out.line(
          `${options.time ? 'TIME     ' : ''}${options.timestamp ? 'TIME     ' : ''}${'PID'.padEnd(7)} ${'TID'.padEnd(7)} ${'COMM'.padEnd(15)} ${'FUNC'.padEnd(16)} -`,
        );
      let seen = 0;
      session.readEvents('events', (bytes) => {
        // A batch may hold more records than the count: the stop takes effect after it.
        if (options.maxEvents !== undefined && seen >= options.maxEvents) return;
        const ev = codec.decode(bytes) as Record<string, bigint | number | string>;
        const comm = str(ev, 'comm');
        if (options.name !== undefined && !comm.includes(options.name)) return;
        const strings = new Map<string, string>();
        stringFields.forEach((f, i) => {
          const raw = bytes.subarray(strsAt + i * 256, strsAt + (i + 1) * 256);
          const end = raw.indexOf(0);
          strings.set(f.name, new TextDecoder().decode(raw.subarray(0, end < 0 ? raw.length : end)));
        });
        const record = decodeRecord(fields, bytes.subarray(dataAt, dataAt + num(ev, 'size')), strings);
        const task = { comm, pid: num(ev, 'pid'), tid: num(ev, 'tid'), uid: num(ev, 'uid') };
        const values: Record<string, TraceValue> = { ...task, ...record };
        if (filter && !filter(values)) return;
        const chosen = options.fields ?? recordFields;
        const ts = Number((ev.ts_ns as bigint) - start) / 1e9;
        if (options.json)
          // The task that hit the tracepoint at the top; the record's fields under `args`, as
          // bcc's trace names them (`args->filename`).
          out.record({
            ts: Math.max(0, Number(ts.toFixed(6))),
            ...task,
            tracepoint: `${category}:${name}`,
            args: Object.fromEntries(chosen.map((f) => [f, values[f]])),
          });
        else
          out.line(
            `${options.time ? `${clockTime()} ` : ''}${options.timestamp ? `${ts.toFixed(6).padEnd(8)} ` : ''}${String(task.pid).padEnd(7)} ${String(task.tid).padEnd(7)} ${comm.slice(0, 15).padEnd(15)} ${name.slice(0, 16).padEnd(16)} ${chosen.map((f) => `${f}=${show(values[f] as TraceValue)}`).join(' ')}`,
          );
        seen++;
        if (options.maxEvents !== undefined && seen >= options.maxEvents) control.stop();
      });
    },
  );
}
