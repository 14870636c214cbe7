// Attaching programs to real hooks and checking what comes back: spawned processes, packets on a
// veth pair in a network namespace made for the test, a uprobe on a freshly compiled binary.
// Every test skips, with the reason printed, when what it needs (bpf(), tracefs, ip, gcc, a PMU) is
// missing.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { matchSection, type SectionInfo } from '../../object/sections.js';
import { KernelRingBuffer } from '../events/ringbuf.js';
import { createMap, type KernelMapOps } from '../load/map.js';
import { loadObject } from '../load/object.js';
import { type KernelProgram, loadProgram } from '../load/program.js';
import { bpfUnavailable, tracefsUnavailable } from '../sys/availability.js';
import { objectIds } from '../sys/objects.js';
import {
  AttachError,
  attachBySection,
  attachCgroup,
  attachKprobe,
  attachPerfEventSampling,
  attachSocketFilter,
  attachTcx,
  attachTracing,
  attachUprobe,
  attachXdp,
  cgroup2Root,
  findBinarySymbol,
  loadTracingProgram,
  ProbeUnavailableError,
  probePmu,
  syscallFunctionName,
  TracingDeniedError,
} from './attach.js';
import { attachRawTracepoint, attachTracepoint, openLinkCount } from './links.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

const unavailable = bpfUnavailable();

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function kernelTest(
  name: string,
  fn: (t: TestContext) => void | Promise<void>,
  needs: { commands?: string[]; check?: () => string | undefined } = {},
): void {
  test(name, (t) => {
    const missing = unavailable ?? needs.commands?.find((c) => !has(c));
    if (missing) {
      t.skip(unavailable ?? `${missing} is not installed`);
      return;
    }
    const reason = needs.check?.();
    if (reason) {
      t.skip(reason);
      return;
    }
    return fn(t);
  });
}

/** One raw instruction. */
function insn(opcode: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  out[0] = opcode;
  out[1] = (src << 4) | dst;
  view.setInt16(2, off, true);
  view.setInt32(4, imm, true);
  return out;
}

/** `counter[0] += 1; return ret;` — the smallest program that shows it ran. */
function countingInsns(counterFd: number, ret: number): Uint8Array {
  const parts = [
    insn(0x62, 10, 0, -4, 0), // *(u32 *)(r10 - 4) = 0
    insn(0xbf, 2, 10, 0, 0), // r2 = r10
    insn(0x07, 2, 0, 0, -4), // r2 += -4
    insn(0x18, 1, 1, 0, counterFd), // r1 = map
    insn(0, 0, 0, 0, 0),
    insn(0x85, 0, 0, 0, 1), // call bpf_map_lookup_elem
    insn(0x15, 0, 0, 2, 0), // if r0 == 0 goto +2
    insn(0xb7, 1, 0, 0, 1), // r1 = 1
    insn(0xdb, 0, 1, 0, 0), // lock *(u64 *)(r0 + 0) += r1
    insn(0xb7, 0, 0, 0, ret), // r0 = ret
    insn(0x95, 0, 0, 0, 0), // exit
  ];
  const out = new Uint8Array(parts.length * 8);
  parts.forEach((part, i) => {
    out.set(part, i * 8);
  });
  return out;
}

function counterMap(): KernelMapOps {
  return createMap({ name: 'hits', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1 });
}

function count(map: KernelMapOps): number {
  const value = map.lookup(new Uint8Array(4));
  return value ? Number(new DataView(value.buffer).getBigUint64(0, true)) : 0;
}

function run(command: string, args: string[]): Promise<{ pid: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, (error) => {
      if (error && typeof error.code !== 'number') reject(error);
    });
    child.on('exit', (code) => resolve({ pid: child.pid ?? -1, code }));
  });
}

kernelTest(
  'execsnoop: the ring buffer yields the spawned command with its pid',
  async () => {
    const object = loadObject(join(EXAMPLES, 'execsnoop.bpf.o'));
    const links = [];
    const reader = new KernelRingBuffer(object.map('events').ops as KernelMapOps);
    try {
      const loaded = object.programs.get('trace_execve');
      assert.ok(loaded?.program, `trace_execve did not load: ${loaded?.error?.message}`);
      links.push(attachBySection(loaded.program, loaded.spec));
      reader.consume(() => {});
      const { pid } = await run('/bin/true', []);
      const events: Array<{ pid: number; filename: string; comm: string }> = [];
      const deadline = Date.now() + 3000;
      while (!events.some((e) => e.pid === pid) && Date.now() < deadline) {
        await reader.poll((record) => {
          const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
          const text = (from: number, to: number) => {
            const bytes = record.subarray(from, to);
            const end = bytes.indexOf(0);
            return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString();
          };
          events.push({ pid: view.getUint32(0, true), comm: text(16, 32), filename: text(32, 288) });
        }, 500);
      }
      const mine = events.find((e) => e.pid === pid);
      assert.ok(mine, `no event for pid ${pid} among ${JSON.stringify(events.slice(0, 5))}`);
      assert.equal(mine.filename, '/bin/true');
    } finally {
      for (const link of links) link.close();
      reader.close();
      object.close();
    }
  },
  { check: tracefsUnavailable },
);

/** A veth pair with one end in a fresh network namespace, removed by `close()`. */
interface Veth {
  readonly ns: string;
  readonly host: string;
  readonly hostIp: string;
  readonly peerIp: string;
  /** Run a Node script inside the namespace. */
  inNs(script: string): Promise<string>;
  close(): void;
}

function createVeth(): Veth {
  const tag = (process.pid % 100000).toString(36);
  const ns = `tsbpf-${tag}`;
  const host = `tsb${tag}a`;
  const peer = `tsb${tag}b`;
  const hostIp = '10.231.0.1';
  const peerIp = '10.231.0.2';
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const close = () => {
    try {
      ip('link', 'del', host);
    } catch {
      // gone with the namespace already
    }
    try {
      ip('netns', 'del', ns);
    } catch {
      // never created
    }
  };
  try {
    ip('netns', 'add', ns);
    ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
    ip('link', 'set', peer, 'netns', ns);
    ip('addr', 'add', `${hostIp}/24`, 'dev', host);
    ip('link', 'set', host, 'up');
    ip('-n', ns, 'addr', 'add', `${peerIp}/24`, 'dev', peer);
    ip('-n', ns, 'link', 'set', peer, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  } catch (error) {
    close();
    throw error;
  }
  return {
    ns,
    host,
    hostIp,
    peerIp,
    inNs: (script) =>
      new Promise((resolve, reject) => {
        execFile(
          'ip',
          ['netns', 'exec', ns, process.execPath, '-e', script],
          { timeout: 10_000 },
          (error, stdout) => (error ? reject(error) : resolve(stdout)),
        );
      }),
    close,
  };
}

/** Send `count` UDP datagrams from inside the namespace to `address:port`. */
function sendUdpScript(address: string, port: number, count: number): string {
  return `
const s = require('dgram').createSocket('udp4');
let sent = 0;
const next = () => sent++ < ${count} ? s.send('tsbpf', ${port}, '${address}', next) : s.close();
next();`;
}

kernelTest(
  'xdp_count: counts UDP packets arriving on a veth pair (native mode)',
  async () => {
    const veth = createVeth();
    const object = loadObject(join(EXAMPLES, 'xdp_count.bpf.o'));
    try {
      const link = attachXdp(object.program('xdp_count_protocols'), veth.host, { mode: 'native' });
      assert.equal(link.info().typeName, 'XDP');
      await veth.inNs(sendUdpScript(veth.hostIp, 9, 20));
      // PERCPU_ARRAY of {packets, bytes}: sum the packets over the CPUs.
      const ops = object.map('proto_stats').ops as KernelMapOps;
      const key = new Uint8Array(new Uint32Array([17]).buffer);
      const value = ops.lookup(key);
      assert.ok(value);
      const view = new DataView(value.buffer);
      let packets = 0n;
      for (let cpu = 0; cpu < ops.possibleCpus; cpu++) packets += view.getBigUint64(cpu * 16, true);
      assert.ok(packets >= 20n, `UDP packets counted: ${packets}`);
      link.close();
      assert.ok(link.closed);
    } finally {
      object.close();
      veth.close();
    }
  },
  { commands: ['ip'] },
);

kernelTest(
  'tcx: tc_classifier drops TCP to port 23 on ingress and counts it',
  async () => {
    const veth = createVeth();
    const object = loadObject(join(EXAMPLES, 'tc_classifier.bpf.o'));
    try {
      const link = attachTcx(object.program('classify'), veth.host, 'ingress');
      assert.equal(link.info().typeName, 'TCX');
      // A SYN to port 23 never reaches the host's stack: the connect times out.
      const out = await veth.inNs(`
const c = require('net').connect({ host: '${veth.hostIp}', port: 23, timeout: 300 });
c.on('timeout', () => { console.log('timeout'); c.destroy(); });
c.on('error', (e) => console.log(e.code));`);
      assert.equal(out.trim(), 'timeout');
      const dropped = (object.map('dropped').ops as KernelMapOps).lookup(new Uint8Array(4));
      assert.ok(dropped && new DataView(dropped.buffer).getBigUint64(0, true) >= 1n);
      link.close();
      // Detached: the same SYN now gets the stack's RST (ECONNREFUSED).
      const after = await veth.inNs(`
const c = require('net').connect({ host: '${veth.hostIp}', port: 23, timeout: 2000 });
c.on('timeout', () => { console.log('timeout'); c.destroy(); });
c.on('error', (e) => console.log(e.code));`);
      assert.equal(after.trim(), 'ECONNREFUSED');
    } finally {
      object.close();
      veth.close();
    }
  },
  { commands: ['ip'] },
);

kernelTest(
  'cgroup: an egress program in a child cgroup blocks sends from processes in it',
  async () => {
    const root = cgroup2Root();
    const dir = join(root, `tsbpf-test-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const counter = counterMap();
    let program: KernelProgram | undefined;
    try {
      program = loadProgram({
        type: 'CGROUP_SKB',
        expectedAttachType: 'CGROUP_INET_EGRESS',
        insns: countingInsns(counter.fd, 0), // 0: drop
        license: 'GPL',
        name: 'cg_drop',
      });
      const link = attachCgroup(program, 'CGROUP_INET_EGRESS', { cgroup: dir });
      assert.equal(link.info().typeName, 'CGROUP');
      const script = (target: string) => `
require('fs').writeFileSync('${target}/cgroup.procs', String(process.pid));
const s = require('dgram').createSocket('udp4');
s.send('x', 9, '127.0.0.1', (e) => { console.log(e ? e.code : 'sent'); s.close(); });`;
      const blocked = execFileSync(process.execPath, ['-e', script(dir)])
        .toString()
        .trim();
      assert.equal(blocked, 'EPERM');
      assert.ok(count(counter) >= 1);
      link.close();
      const allowed = execFileSync(process.execPath, ['-e', script(dir)])
        .toString()
        .trim();
      assert.equal(allowed, 'sent');
    } finally {
      program?.close();
      counter.close();
      // The children exited, so the cgroup is empty and can go.
      for (let i = 0; i < 50; i++) {
        try {
          rmdirSync(dir);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  },
  {
    check: () => {
      try {
        cgroup2Root();
        return undefined;
      } catch (error) {
        return (error as Error).message;
      }
    },
  },
);

kernelTest(
  'socket filter: a drop-all filter on a Node dgram socket hides datagrams until closed',
  async () => {
    const counter = counterMap();
    const program = loadProgram({
      type: 'SOCKET_FILTER',
      insns: countingInsns(counter.fd, 0),
      license: 'GPL',
    });
    const receiver = dgram.createSocket('udp4');
    const sender = dgram.createSocket('udp4');
    try {
      await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
      const port = receiver.address().port;
      const received: string[] = [];
      receiver.on('message', (message) => received.push(message.toString()));
      const link = attachSocketFilter(program, receiver);
      const send = (text: string) =>
        new Promise<void>((resolve) => sender.send(text, port, '127.0.0.1', () => resolve()));
      await send('filtered');
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(received, []);
      assert.equal(count(counter), 1);
      link.close();
      await send('passed');
      for (let i = 0; i < 50 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(received, ['passed']);
    } finally {
      receiver.close();
      sender.close();
      program.close();
      counter.close();
    }
  },
);

/** A tiny C program whose function we probe, built with gcc into a temporary directory. */
function buildTarget(): { path: string; close(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsbpf-uprobe-'));
  const source = join(dir, 'target.c');
  writeFileSync(
    source,
    `#include <stdlib.h>
__attribute__((noinline)) int tsbpf_probe_target(int x) { __asm__ volatile(""); return x * 2; }
int main(int argc, char **argv) { int n = atoi(argv[1]), s = 0; for (int i = 0; i < n; i++) s += tsbpf_probe_target(i); return s == -1; }
`,
  );
  const path = join(dir, 'target');
  execFileSync('gcc', ['-O1', '-o', path, source]);
  return { path, close: () => rmSync(dir, { recursive: true, force: true }) };
}

kernelTest(
  'uprobe and uretprobe: fire once per call of a function found by name in .symtab',
  async () => {
    const target = buildTarget();
    const entries = counterMap();
    const returns = counterMap();
    const onEntry = loadProgram({ type: 'KPROBE', insns: countingInsns(entries.fd, 0), license: 'GPL' });
    const onReturn = loadProgram({ type: 'KPROBE', insns: countingInsns(returns.fd, 0), license: 'GPL' });
    try {
      const symbol = findBinarySymbol(target.path, 'tsbpf_probe_target');
      assert.equal(symbol.table, '.symtab');
      assert.ok(symbol.fileOffset > 0);
      const entry = attachUprobe(onEntry, target.path, 'tsbpf_probe_target');
      const exit = attachUprobe(onReturn, target.path, symbol.fileOffset, { retprobe: true });
      await run(target.path, ['7']);
      assert.equal(count(entries), 7);
      assert.equal(count(returns), 7);
      entry.close();
      exit.close();
      await run(target.path, ['3']);
      assert.equal(count(entries), 7, 'no calls counted after close');
      // By section name, as libbpf spells it.
      const link = attachBySection(onEntry, {
        name: 'on_entry',
        section: `uprobe/${target.path}:tsbpf_probe_target`,
        sectionInfo: { ...sectionOf('uprobe'), target: `${target.path}:tsbpf_probe_target` },
      });
      await run(target.path, ['2']);
      assert.equal(count(entries), 9);
      link.close();
    } finally {
      onEntry.close();
      onReturn.close();
      entries.close();
      returns.close();
      target.close();
    }
  },
  { commands: ['gcc'], check: () => (probePmu('uprobe') ? undefined : 'no uprobe PMU') },
);

function sectionOf(name: string): SectionInfo {
  const info = matchSection(name);
  assert.ok(info);
  return info;
}

kernelTest('uprobe: a function of libc found through .dynsym', () => {
  const libc = [
    '/lib/x86_64-linux-gnu/libc.so.6',
    '/usr/lib/x86_64-linux-gnu/libc.so.6',
    '/lib64/libc.so.6',
  ].find((p) => existsSync(p));
  if (!libc) return;
  const symbol = findBinarySymbol(libc, 'getpid');
  assert.ok(symbol.fileOffset > 0);
});

kernelTest('tp_btf: loads against btf_trace_<name> and runs once attached', async () => {
  const counter = counterMap();
  const program = loadTracingProgram({
    kind: 'tp_btf',
    target: 'sched_process_exec',
    insns: countingInsns(counter.fd, 0),
    license: 'GPL',
    name: 'tpbtf_exec',
  });
  try {
    const link = attachTracing(program, 'tp_btf', { target: 'sched_process_exec' });
    await run('/bin/true', []);
    assert.ok(count(counter) >= 1);
    link.close();
    const before = count(counter);
    await run('/bin/true', []);
    assert.equal(count(counter), before);
  } finally {
    program.close();
    counter.close();
  }
});

kernelTest('fentry/fexit/fmod_ret/LSM: EPERM becomes a clear "platform denies it" error', (t) => {
  const counter = counterMap();
  try {
    for (const [kind, target] of [
      ['fentry', 'do_nanosleep'],
      ['fexit', 'do_nanosleep'],
      ['lsm', 'file_open'],
    ] as const) {
      let program: KernelProgram | undefined;
      try {
        program = loadTracingProgram({ kind, target, insns: countingInsns(counter.fd, 0), license: 'GPL' });
      } catch (error) {
        if (error instanceof TracingDeniedError) {
          assert.equal(error.kind, kind);
          assert.match(error.message, /platform denies/);
          assert.match(error.message, /lockdown/);
          continue;
        }
        throw error;
      }
      t.diagnostic(`${kind} is allowed here: attaching instead`);
      attachTracing(program, kind, { target }).close();
      program.close();
    }
  } finally {
    counter.close();
  }
});

kernelTest('kprobe: a clear error when the kernel has no kprobe PMU; syscall names', (t) => {
  assert.equal(syscallFunctionName('clone', '0000 T __x64_sys_clone\n'), '__x64_sys_clone');
  if (process.arch === 'x64') assert.equal(syscallFunctionName('clone'), '__x64_sys_clone');
  const counter = counterMap();
  const program = loadProgram({ type: 'KPROBE', insns: countingInsns(counter.fd, 0), license: 'GPL' });
  try {
    if (probePmu('kprobe')) {
      t.diagnostic('this kernel has kprobes: attaching for real');
      attachKprobe(program, syscallFunctionName('getpid')).close();
      return;
    }
    assert.throws(
      () => attachKprobe(program, '__x64_sys_clone'),
      (error: unknown) =>
        error instanceof ProbeUnavailableError &&
        /kprobes are not available/.test(error.message) &&
        /tracepoint/.test(error.message),
    );
    assert.throws(
      () =>
        attachBySection(program, {
          name: 'k',
          section: 'kretprobe/do_exit',
          sectionInfo: { ...sectionOf('kretprobe'), target: 'do_exit' },
        }),
      ProbeUnavailableError,
    );
  } finally {
    program.close();
    counter.close();
  }
});

kernelTest('perf_event: a sampling program runs on the CPU clock', async () => {
  const counter = counterMap();
  const program = loadProgram({ type: 'PERF_EVENT', insns: countingInsns(counter.fd, 0), license: 'GPL' });
  try {
    const link = attachPerfEventSampling(program, { frequency: 1000 });
    const until = Date.now() + 200;
    while (Date.now() < until) {
      // busy: the CPU clock only ticks while something runs
    }
    link.close();
    assert.ok(count(counter) > 10, `samples: ${count(counter)}`);
  } finally {
    program.close();
    counter.close();
  }
});

kernelTest('attachBySection: says what is missing', () => {
  const counter = counterMap();
  const program = loadProgram({ type: 'XDP', insns: countingInsns(counter.fd, 2), license: 'GPL' });
  try {
    assert.throws(
      () => attachBySection(program, { name: 'x', section: 'xdp', sectionInfo: sectionOf('xdp') }),
      (error: unknown) => error instanceof AttachError && /options\.iface/.test(error.message),
    );
    assert.throws(
      () => attachBySection(program, { name: 'x', section: 'weird', sectionInfo: undefined }),
      AttachError,
    );
  } finally {
    program.close();
    counter.close();
  }
});

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

kernelTest(
  'no fd leaks over 100 attach/close cycles; no link or program left after close',
  () => {
    const counter = counterMap();
    const tp = loadProgram({
      type: 'TRACEPOINT',
      insns: countingInsns(counter.fd, 0),
      license: 'GPL',
      name: 'leak_tp',
    });
    const raw = loadProgram({
      type: 'RAW_TRACEPOINT',
      insns: countingInsns(counter.fd, 0),
      license: 'GPL',
      name: 'leak_raw',
    });
    const linksBefore = openLinkCount();
    const before = openFds();
    const linkIds: number[] = [];
    for (let i = 0; i < 100; i++) {
      const a = attachTracepoint(tp, 'syscalls', 'sys_enter_getppid');
      const b = attachRawTracepoint(raw, 'sys_enter');
      if (i === 0) linkIds.push(a.info().id, b.info().id);
      a.close();
      b.close();
    }
    assert.equal(openFds(), before, 'open fds changed');
    assert.equal(openLinkCount(), linksBefore);
    const liveLinks = new Set(objectIds('link'));
    for (const id of linkIds) assert.ok(!liveLinks.has(id), `link ${id} still exists`);
    const programIds = [tp.id, raw.id];
    tp.close();
    raw.close();
    counter.close();
    // Programs are freed after an RCU grace period: give the kernel a moment.
    const deadline = Date.now() + 2000;
    let live = new Set(objectIds('prog'));
    while (programIds.some((id) => live.has(id)) && Date.now() < deadline) {
      execFileSync('sleep', ['0.05']);
      live = new Set(objectIds('prog'));
    }
    for (const id of programIds) assert.ok(!live.has(id), `program ${id} still loaded`);
  },
  { check: tracefsUnavailable },
);
