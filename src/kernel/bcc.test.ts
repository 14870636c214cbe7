// The BCC-style front end: C text compiled with clang (cached), loaded, attached, and its
// bpf_printk lines and maps read back for processes the test spawns. Skips without clang, bpf()
// or (to attach tracepoints) tracefs.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { u32 } from '../maps/codec.js';
import { BpfMap } from '../maps/map.js';
import { BPF, CompileError, compileBpf } from './bcc.js';
import { bpfUnavailable, tracefsUnavailable } from './sys/availability.js';

const unavailable: string | undefined = (() => {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  try {
    execFileSync(process.env.CLANG ?? 'clang-19', ['--version'], { stdio: 'ignore' });
  } catch {
    try {
      execFileSync('clang', ['--version'], { stdio: 'ignore' });
    } catch {
      return 'clang is not installed';
    }
  }
  return bpfUnavailable();
})();

function kernelTest(
  name: string,
  fn: (t: TestContext) => void | Promise<void>,
  check: () => string | undefined = () => undefined,
): void {
  test(name, (t) => {
    const reason = unavailable ?? check();
    if (reason) {
      t.skip(reason);
      return;
    }
    return fn(t);
  });
}

const cacheDir = mkdtempSync(join(tmpdir(), 'tsbpf-bcc-'));
test.after(() => rmSync(cacheDir, { recursive: true, force: true }));

const HELLO = `
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("tracepoint")
int hello(void *ctx)
{
	bpf_printk("Hello, World!");
	return 0;
}
`;

kernelTest('compileBpf: caches by content; clang errors become CompileError', () => {
  const first = compileBpf(HELLO, { cacheDir });
  assert.ok(existsSync(first.path));
  const second = compileBpf(HELLO, { cacheDir });
  assert.equal(second.path, first.path);
  assert.equal(second.cached, true);
  assert.notEqual(compileBpf(`${HELLO}\n// changed\n`, { cacheDir }).path, first.path);
  assert.throws(
    () => compileBpf('int broken( {', { cacheDir }),
    (error: unknown) => error instanceof CompileError && /error:/.test(error.diagnostics),
  );
});

kernelTest(
  'BPF: hello world on execve, read with traceFields()',
  async () => {
    const b = new BPF({ text: HELLO, cacheDir });
    try {
      b.attachTracepoint('syscalls:sys_enter_execve', 'hello');
      // Open the pipe first: it only sees lines printed after it exists.
      const lines = b.traceFields();
      const child = execFile('/bin/true');
      const timeout = setTimeout(() => b.close(), 3000);
      let found: string | undefined;
      for await (const line of lines) {
        if (line.pid === child.pid) {
          found = line.message;
          break;
        }
      }
      clearTimeout(timeout);
      assert.equal(found, 'Hello, World!');
    } finally {
      b.close();
    }
  },
  tracefsUnavailable,
);

kernelTest(
  'BPF: maps example — attachAll, then the spawned pid is in the hash map',
  async () => {
    const b = new BPF({
      cacheDir,
      text: `
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} execs SEC(".maps");
SEC("tracepoint/syscalls/sys_enter_execve")
int record(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32, uid = (__u32)bpf_get_current_uid_gid();
	bpf_map_update_elem(&execs, &pid, &uid, BPF_ANY);
	return 0;
}
`,
    });
    try {
      assert.equal(b.attachAll().length, 1);
      const pid = await new Promise<number>((resolve) => {
        const child = execFile('/bin/true');
        child.on('exit', () => resolve(child.pid ?? -1));
      });
      const execs = new BpfMap(b.map('execs').ops, { key: u32, value: u32 });
      assert.equal(execs.get(pid), process.getuid?.() ?? 0);
      assert.equal(b.maps.get('execs'), b.map('execs'));
    } finally {
      b.close();
    }
  },
  tracefsUnavailable,
);

kernelTest('BPF: getSyscallFnName and a clear error for kprobes where there are none', () => {
  if (process.arch === 'x64') assert.equal(BPF.getSyscallFnName('clone'), '__x64_sys_clone');
  const b = new BPF({
    cacheDir,
    text: `
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
SEC("kprobe")
int on_clone(void *ctx) { return 0; }
`,
  });
  try {
    if (existsSync('/sys/bus/event_source/devices/kprobe')) {
      b.attachKprobe(b.getSyscallFnName('clone'), 'on_clone').close();
    } else {
      assert.throws(
        () => b.attachKprobe(b.getSyscallFnName('clone'), 'on_clone'),
        /kprobes are not available/,
      );
    }
  } finally {
    b.close();
  }
});
