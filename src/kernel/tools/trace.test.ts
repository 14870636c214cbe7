import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { tsbpf } from '../../cli/test-harness.js';
import { runTool, toolsUnavailable } from './live.fixture.js';
import { parseTracepoint } from './trace.js';
import {
  compileFilter,
  decodeRecord,
  fixedSize,
  parseTraceFormat,
  TraceFormatError,
} from './trace-format.js';

const format = (name: string) =>
  parseTraceFormat(readFileSync(new URL(`../../../testdata/tools/${name}.format`, import.meta.url), 'utf8'));

test('tracefs format files parse into typed fields', () => {
  const exec = format('sched_process_exec');
  assert.deepEqual(
    exec.filter((f) => !f.name.startsWith('common_')).map((f) => [f.name, f.kind, f.offset, f.size]),
    [
      ['filename', 'data_loc', 8, 4],
      ['pid', 'int', 12, 4],
      ['old_pid', 'int', 16, 4],
    ],
  );
  const openat = format('sys_enter_openat');
  assert.deepEqual(
    openat.find((f) => f.name === 'filename'),
    { name: 'filename', type: 'const char *', offset: 24, size: 8, signed: false, kind: 'string_pointer' },
  );
  assert.equal(fixedSize(openat), 48);
  const sock = format('inet_sock_set_state');
  assert.deepEqual(
    sock.find((f) => f.name === 'saddr'),
    {
      name: 'saddr',
      type: '__u8',
      offset: 32,
      size: 4,
      signed: false,
      arrayLength: 4,
      kind: 'array',
    },
  );
  assert.throws(() => parseTraceFormat('name: x\nID: 1\n'), TraceFormatError);
});

test('records decode: __data_loc strings, integers, arrays, pointers with their strings', () => {
  const exec = format('sched_process_exec');
  const data = new Uint8Array(64);
  const view = new DataView(data.buffer);
  const path = new TextEncoder().encode('/bin/true\0');
  view.setUint32(8, (path.length << 16) | 20, true);
  view.setInt32(12, 1234, true);
  view.setInt32(16, 1233, true);
  data.set(path, 20);
  assert.deepEqual(decodeRecord(exec, data), { filename: '/bin/true', pid: 1234, old_pid: 1233 });

  const openat = format('sys_enter_openat');
  const raw = new Uint8Array(48);
  new DataView(raw.buffer).setBigUint64(24, 0x7ffd1234n, true);
  new DataView(raw.buffer).setBigInt64(16, -100n, true);
  assert.equal(decodeRecord(openat, raw).filename, '0x7ffd1234');
  assert.equal(decodeRecord(openat, raw).dfd, -100);
  assert.equal(decodeRecord(openat, raw, new Map([['filename', '/etc/passwd']])).filename, '/etc/passwd');
});

test('filters use ftrace syntax: comparisons, bit tests, globs, && || ! and parentheses', () => {
  const known = ['flags', 'filename', 'pid', 'comm'];
  const rec = { flags: 0o101, filename: '/tmp/x.txt', pid: 7, comm: 'cat' };
  const yes = (expr: string) => assert.equal(compileFilter(expr, known)(rec), true, expr);
  const no = (expr: string) => assert.equal(compileFilter(expr, known)(rec), false, expr);
  yes('flags & 64');
  no('flags & 2');
  yes('filename ~ "/tmp/*"');
  no("filename ~ '/etc/*'");
  yes('pid == 7 && comm == "cat"');
  yes('pid == 8 || comm != "dog"');
  no('!(pid >= 7)');
  yes('(pid < 8) && !(flags & 0x2)');
  assert.throws(() => compileFilter('nope == 1', known), /no field 'nope'/);
  assert.throws(() => compileFilter('pid ==', known), /expected a number or a string at the end/);
  assert.throws(() => compileFilter('pid == 1 pid', known), /expected &&, \|\| or the end at column 10/);
  assert.throws(() => compileFilter('pid $ 1', known), /unexpected '\$'/);
  assert.deepEqual(parseTracepoint('t:syscalls:sys_enter_openat'), ['syscalls', 'sys_enter_openat']);
  assert.deepEqual(parseTracepoint('sched/sched_switch'), ['sched', 'sched_switch']);
});

const skip = toolsUnavailable();

test('trace prints sched_process_exec events matching a filter, then detaches', { skip }, async () => {
  const run = await runTool(
    ['trace', 'sched:sched_process_exec', '--json', '--filter', 'filename ~ "*/true" && old_pid > 0'],
    {
      prefix: 'trace_record',
      trigger: () => {
        spawnSync('/bin/true');
        spawnSync('/bin/echo', ['not me']);
      },
    },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(run.attached, ['trace_record']);
  const mine = run.records.filter((r) => (r.args as { filename: string }).filename === '/bin/true');
  assert.ok(mine.length >= 1, run.stdout);
  assert.equal(mine[0]!.comm, 'true');
  assert.equal(mine[0]!.tracepoint, 'sched:sched_process_exec');
  assert.equal((mine[0]!.args as { pid: number }).pid, mine[0]!.pid);
  assert.ok(run.records.every((r) => String((r.args as { filename: string }).filename).endsWith('/true')));
  assert.deepEqual(run.leftover, []);
  assert.equal(run.openLinks, 0);
});

test('trace reads the strings syscall arguments point to', { skip }, async () => {
  const run = await runTool(
    [
      'trace',
      'syscalls:sys_enter_openat',
      '-p',
      String(process.pid),
      '-f',
      'filename,flags',
      '--filter',
      'filename ~ "*tsbpf-trace-probe*"',
    ],
    {
      prefix: 'trace_record',
      ready: (out) => out.includes('FUNC'),
      trigger: () => {
        try {
          readFileSync('/nonexistent/tsbpf-trace-probe');
        } catch {}
      },
    },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(
    run.stdout,
    new RegExp(
      `^${process.pid} +\\d+ +node +sys_enter_openat +filename="/nonexistent/tsbpf-trace-probe" flags=\\d+$`,
      'm',
    ),
  );
});

test('trace: a kprobe, a missing tracepoint or a bad filter is bad input (exit 2)', { skip }, async () => {
  const kprobe = await tsbpf('tools', 'trace', 'p:do_sys_open');
  assert.equal(kprobe.status, 2);
  assert.match(kprobe.stderr, /needs a kprobe or uprobe; .*kprobes are not configured/);
  const missing = await tsbpf('tools', 'trace', 'sched:no_such_event');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no tracepoint sched:no_such_event/);
  const filter = await tsbpf('tools', 'trace', 'sched:sched_process_exec', '--filter', 'nope == 1');
  assert.equal(filter.status, 2);
  assert.match(filter.stderr, /no field 'nope'/);
});
