// Integration tests against the running kernel. Each test skips, with the reason printed, when
// bpf() is not permitted here (not root, no CAP_BPF, no koffi) — never a silent pass.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { type TestContext, test } from 'node:test';
import type { Errno } from '../errno.js';
import { type Insn, makeInsn, type RawInsn } from '../isa/instruction.js';
import { u32, u64 } from '../maps/codec.js';
import { BpfMap } from '../maps/map.js';
import { MapError, MapFlags, type MapSpec } from '../maps/ops.js';
import { attachRawTracepoint, attachTracepoint, openLinkCount, tracepointId } from './attach/links.js';
import { probeHelper, probeMapType, probeProgType, storageProbeBtf } from './inspect/probe.js';
import { loadBtf } from './load/btf.js';
import { createMap, type KernelMapOps, mapFromId, openPinnedMap, possibleCpus } from './load/map.js';
import { type KernelProgram, loadProgram, openPinnedProgram } from './load/program.js';
import { bpffsUnavailable, bpfUnavailable } from './sys/availability.js';
import { BpfSyscallError, SyscallError, VerifierError } from './sys/errors.js';
import { objectIds } from './sys/objects.js';
import { rawSyscall } from './sys/syscall.js';

/** Why the kernel tests cannot run here, or undefined when they can. */
const unavailable = bpfUnavailable();

function kernelTest(name: string, fn: (t: TestContext) => void | Promise<void>): void {
  test(name, (t) => {
    if (unavailable) {
      t.skip(unavailable);
      return;
    }
    return fn(t);
  });
}

const insn = (opcode: number, dst: number, src: number, off: number, imm: number): Insn =>
  makeInsn({ opcode, dst, src, off, imm } satisfies RawInsn);
/** `r<dst> = map fd` (`BPF_PSEUDO_MAP_FD`). */
const ldMapFd = (dst: number, fd: number): Insn =>
  makeInsn({ opcode: 0x18, dst, src: 1, off: 0, imm: fd }, 0, 0);
const EXIT = insn(0x95, 0, 0, 0, 0);

/** getpid(2) through the raw system call (Node caches process.pid). */
const SYS_GETPID: Record<string, number> = { x64: 39, arm64: 172, riscv64: 172 };
function getpid(): number {
  return rawSyscall('getpid', SYS_GETPID[process.arch]);
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail('expected an error');
}

const isMapErrno = (name: keyof typeof Errno) => (e: unknown) => e instanceof MapError && e.is(name);

function spec(
  type: MapSpec['type'],
  keySize: number,
  valueSize: number,
  maxEntries: number,
  flags = 0,
): MapSpec {
  return { name: `t_${type.toLowerCase()}`, type, keySize, valueSize, maxEntries, flags };
}

kernelTest('ARRAY: get/set, every index exists, delete is EINVAL', () => {
  const map = new BpfMap(createMap(spec('ARRAY', 4, 8, 4)), { key: u32, value: u64 });
  try {
    assert.equal(map.get(2), 0n);
    map.set(2, 0x1234n);
    assert.equal(map.get(2), 0x1234n);
    assert.deepEqual([...map.keys()], [0, 1, 2, 3]);
    assert.equal(map.get(4), undefined);
    assert.throws(() => map.set(4, 1n), isMapErrno('E2BIG'));
    assert.throws(() => map.delete(0), isMapErrno('EINVAL'));
    assert.throws(() => map.set(1, 1n, { mode: 'noexist' }), isMapErrno('EEXIST'));
  } finally {
    map.close();
  }
});

kernelTest('HASH: flags errors, E2BIG when full, keys, delete', () => {
  const map = new BpfMap(createMap(spec('HASH', 4, 8, 2)), { key: u32, value: u64 });
  try {
    assert.equal(map.get(1), undefined);
    map.set(1, 10n);
    assert.throws(() => map.set(1, 11n, { mode: 'noexist' }), isMapErrno('EEXIST'));
    assert.throws(() => map.set(7, 11n, { mode: 'exist' }), isMapErrno('ENOENT'));
    map.set(1, 12n, { mode: 'exist' });
    map.set(2, 20n);
    const full = catchError(() => map.set(3, 30n));
    assert.ok(isMapErrno('E2BIG')(full), String(full));
    assert.match(String(full), /map 't_hash': update: E2BIG/);
    assert.deepEqual([...map.keys()].sort(), [1, 2]);
    assert.deepEqual(
      new Map(map.entries()),
      new Map([
        [1, 12n],
        [2, 20n],
      ]),
    );
    assert.equal(map.delete(1), true);
    assert.equal(map.delete(1), false);
    assert.equal(map.has(2), true);
  } finally {
    map.close();
  }
});

kernelTest('PERCPU_ARRAY: one value per possible CPU', () => {
  const ops = createMap(spec('PERCPU_ARRAY', 4, 4, 1));
  const map = new BpfMap<number, Uint8Array[]>(ops, { key: u32 });
  try {
    const cpus = possibleCpus();
    assert.equal(ops.possibleCpus, cpus);
    const values = Array.from({ length: cpus }, (_, i) => new Uint8Array([i + 1, 0, 0, 0]));
    map.set(0, values);
    assert.deepEqual(
      map.get(0)?.map((v) => v[0]),
      values.map((v) => v[0]),
    );
  } finally {
    map.close();
  }
});

kernelTest('LRU_HASH: evicts instead of failing when full', () => {
  const map = new BpfMap(createMap(spec('LRU_HASH', 4, 8, 64)), { key: u32, value: u64 });
  try {
    for (let i = 0; i < 1000; i++) map.set(i, BigInt(i));
    const keys = [...map.keys()];
    assert.ok(keys.length <= 1000 && keys.length > 0);
    assert.equal(map.get(999), 999n, 'the newest element survives');
  } finally {
    map.close();
  }
});

kernelTest('QUEUE and STACK: push/pop/peek order, ENOENT on empty, full is E2BIG', () => {
  const queue = new BpfMap(createMap(spec('QUEUE', 0, 4, 3)), { value: u32 });
  const stack = new BpfMap(createMap(spec('STACK', 0, 4, 3)), { value: u32 });
  try {
    for (const map of [queue, stack]) {
      assert.equal(map.pop(), undefined);
      map.push(1);
      map.push(2);
      map.push(3);
      assert.throws(() => map.push(4), isMapErrno('E2BIG'));
    }
    assert.equal(queue.peek(), 1);
    assert.deepEqual([queue.pop(), queue.pop(), queue.pop(), queue.pop()], [1, 2, 3, undefined]);
    assert.equal(stack.peek(), 3);
    assert.deepEqual([stack.pop(), stack.pop(), stack.pop()], [3, 2, 1]);
    // BPF_EXIST on a full queue replaces the oldest element.
    for (const v of [1, 2, 3]) queue.push(v);
    queue.push(4, { mode: 'exist' });
    assert.equal(queue.pop(), 2);
  } finally {
    queue.close();
    stack.close();
  }
});

kernelTest('LPM_TRIE: longest prefix match', () => {
  const lpmKey = (prefix: number, ip: [number, number, number, number]) => {
    const key = new Uint8Array(8);
    new DataView(key.buffer).setUint32(0, prefix, true);
    key.set(ip, 4);
    return key;
  };
  const ops = createMap(spec('LPM_TRIE', 8, 4, 16, MapFlags.NO_PREALLOC));
  const map = new BpfMap(ops, { value: u32 });
  try {
    map.set(lpmKey(8, [10, 0, 0, 0]), 8);
    map.set(lpmKey(24, [10, 1, 2, 0]), 24);
    assert.equal(map.get(lpmKey(32, [10, 1, 2, 3])), 24);
    assert.equal(map.get(lpmKey(32, [10, 9, 9, 9])), 8);
    assert.equal(map.get(lpmKey(32, [11, 0, 0, 0])), undefined);
    assert.throws(() => ops.delete(lpmKey(16, [10, 1, 0, 0])), isMapErrno('ENOENT'));
  } finally {
    map.close();
  }
});

kernelTest('batch operations: update, lookup, lookup-and-delete, delete', () => {
  const ops = createMap(spec('HASH', 4, 8, 1024));
  const array = createMap(spec('ARRAY', 4, 4, 10));
  try {
    const entries = Array.from({ length: 600 }, (_, i): [Uint8Array, Uint8Array] => [
      u32.encode(i),
      u64.encode(BigInt(i * 3)),
    ]);
    assert.equal(ops.updateBatch(entries), 600);
    const all = ops.lookupBatch({ batchSize: 64 });
    assert.equal(all.length, 600);
    for (const [key, value] of all) assert.equal(u64.decode(value), BigInt(u32.decode(key) * 3));
    assert.equal(ops.deleteBatch(entries.slice(0, 100).map(([k]) => k)), 100);
    const missing = catchError(() => ops.deleteBatch([u32.encode(0)]));
    assert.ok(isMapErrno('ENOENT')(missing), String(missing));
    assert.equal(ops.lookupAndDeleteBatch().length, 500);
    assert.equal(ops.lookupBatch().length, 0);
    assert.equal(array.lookupBatch({ batchSize: 3 }).length, 10);
  } finally {
    ops.close();
    array.close();
  }
});

kernelTest('freeze: user-space writes fail with EPERM afterwards', () => {
  const map = new BpfMap(createMap(spec('ARRAY', 4, 4, 1)), { key: u32, value: u32 });
  try {
    map.set(0, 5);
    map.freeze();
    assert.throws(() => map.set(0, 6), isMapErrno('EPERM'));
    assert.equal(map.get(0), 5);
  } finally {
    map.close();
  }
});

kernelTest('map info, id, mapFromId and objectIds', () => {
  const ops = createMap({ name: 'info_map', type: 'HASH', keySize: 4, valueSize: 16, maxEntries: 7 });
  try {
    const info = ops.info();
    assert.equal(info.typeName, 'HASH');
    assert.equal(info.name, 'info_map');
    assert.deepEqual([info.keySize, info.valueSize, info.maxEntries], [4, 16, 7]);
    assert.equal(ops.id, info.id);
    assert.ok([...objectIds('map')].includes(info.id));
    const again = mapFromId(info.id);
    try {
      again.update(u32.encode(1), new Uint8Array(16).fill(9), 0);
      assert.equal(ops.lookup(u32.encode(1))?.[0], 9);
      assert.equal(again.spec.name, 'info_map');
    } finally {
      again.close();
    }
  } finally {
    ops.close();
  }
});

/** An XDP program: if the packet has a byte, write 0x42 to it and return XDP_TX, else XDP_DROP. */
function xdpProgram(): Insn[] {
  return [
    insn(0xb7, 0, 0, 0, 1), //          r0 = XDP_DROP
    insn(0x61, 2, 1, 0, 0), //          r2 = ctx->data
    insn(0x61, 3, 1, 4, 0), //          r3 = ctx->data_end
    insn(0xbf, 4, 2, 0, 0), //          r4 = r2
    insn(0x07, 4, 0, 0, 1), //          r4 += 1
    insn(0x2d, 4, 3, 2, 0), //          if r4 > r3 goto exit
    insn(0x72, 2, 0, 0, 0x42), //       *(u8 *)(r2 + 0) = 0x42
    insn(0xb7, 0, 0, 0, 3), //          r0 = XDP_TX
    EXIT,
  ];
}

kernelTest('testRun refuses a repeat past the kernel’s u32 instead of wrapping it', () => {
  const program = loadProgram({ type: 'XDP', insns: xdpProgram(), license: 'GPL', name: 'xdp_repeat' });
  try {
    const data = new Uint8Array(64);
    // 2^32 would reach bpf_attr as 0: one run, reported as a success.
    for (const repeat of [2 ** 32, -1, 1.5])
      assert.throws(
        () => program.testRun({ data, repeat }),
        (error) =>
          error instanceof BpfSyscallError && error.code === 'EINVAL' && /not a u32/.test(error.message),
      );
    assert.equal(program.testRun({ data, repeat: 2 }).retval, 3);
  } finally {
    program.close();
  }
});

kernelTest('XDP program: load, info, testRun retval and data_out', () => {
  const program = loadProgram({ type: 'XDP', insns: xdpProgram(), license: 'GPL', name: 'xdp_mark' });
  try {
    const data = new Uint8Array(64).map((_, i) => i);
    const result = program.testRun({ data, repeat: 3 });
    assert.equal(result.retval, 3);
    assert.equal(result.dataOut.length, 64);
    assert.equal(result.dataOut[0], 0x42);
    assert.deepEqual(result.dataOut.subarray(1), data.subarray(1));
    assert.equal(data[0], 0, 'the input is not modified');
    const info = program.info({ xlated: true, jited: true });
    assert.equal(info.typeName, 'XDP');
    assert.equal(info.name, 'xdp_mark');
    assert.equal(info.tag, program.tag);
    assert.match(info.tag, /^[0-9a-f]{16}$/);
    assert.equal(info.xlated?.length, xdpProgram().length * 8);
    assert.ok(info.gplCompatible);
    try {
      const shown = JSON.parse(
        execFileSync('bpftool', ['-j', 'prog', 'show', 'id', String(info.id)], { encoding: 'utf8' }),
      );
      assert.equal(shown.tag, info.tag, 'bpftool agrees on the tag');
      assert.equal(shown.bytes_xlated, info.xlatedLength);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // bpftool missing is fine
    }
  } finally {
    program.close();
  }
});

kernelTest('a rejected program throws VerifierError with the instruction index and the log', () => {
  const bad = [insn(0xb7, 0, 0, 0, 0), insn(0xbf, 0, 3, 0, 0), EXIT]; // r0 = r3: r3 is uninitialised
  const error = catchError(() => loadProgram({ type: 'XDP', insns: bad, license: 'GPL', name: 'bad_prog' }));
  assert.ok(error instanceof VerifierError, String(error));
  assert.equal(error.insnIndex, 1);
  assert.equal(error.summary, 'R3 !read_ok');
  assert.equal(error.program, 'bad_prog');
  assert.equal(error.code, 'EACCES');
  assert.match(error.log, /processed \d+ insns/);
  assert.match(error.message, /instruction 1: R3 !read_ok/);

  const noExit = catchError(() =>
    loadProgram({ type: 'XDP', insns: [insn(0xb7, 0, 0, 0, 0)], license: 'GPL' }),
  );
  assert.ok(noExit instanceof VerifierError, String(noExit));
  assert.ok(noExit.summary.length > 0);
});

kernelTest('pin and open a map and a program under /sys/fs/bpf', (t) => {
  const noBpffs = bpffsUnavailable();
  if (noBpffs) {
    t.skip(noBpffs);
    return;
  }
  const mapPath = `/sys/fs/bpf/tsbpf_test_${process.pid}_map`;
  const progPath = `/sys/fs/bpf/tsbpf_test_${process.pid}_prog`;
  const ops = createMap(spec('HASH', 4, 4, 4));
  const program = loadProgram({ type: 'XDP', insns: xdpProgram(), license: 'GPL', name: 'pinned' });
  try {
    ops.update(u32.encode(1), u32.encode(77), 0);
    ops.pin(mapPath);
    program.pin(progPath);
    assert.throws(() => ops.pin(mapPath), isMapErrno('EEXIST'));
    const reopened = openPinnedMap(mapPath);
    const reprogram = openPinnedProgram(progPath);
    try {
      assert.equal(reopened.id, ops.id);
      assert.equal(reopened.spec.type, 'HASH');
      assert.equal(u32.decode(reopened.lookup(u32.encode(1))!), 77);
      assert.equal(reprogram.tag, program.tag);
      assert.equal(reprogram.testRun({ data: new Uint8Array(16) }).retval, 3);
    } finally {
      reopened.close();
      reprogram.close();
    }
  } finally {
    rmSync(mapPath, { force: true });
    rmSync(progPath, { force: true });
    ops.close();
    program.close();
  }
  assert.throws(() => openPinnedMap(mapPath), isMapErrno('ENOENT'));
});

/** Count calls of this process into counter[0] (an ARRAY of one u64), for tracing programs. */
function countingProgram(counter: KernelMapOps): Insn[] {
  return [
    insn(0x85, 0, 0, 0, 14), //         call bpf_get_current_pid_tgid
    insn(0x77, 0, 0, 0, 32), //         r0 >>= 32 (tgid)
    insn(0x55, 0, 0, 9, process.pid), // if r0 != pid goto out (lddw is two slots)
    insn(0x62, 10, 0, -4, 0), //        *(u32 *)(r10 - 4) = 0
    ldMapFd(1, counter.fd), //          r1 = counter
    insn(0xbf, 2, 10, 0, 0), //         r2 = r10
    insn(0x07, 2, 0, 0, -4), //         r2 += -4
    insn(0x85, 0, 0, 0, 1), //          call bpf_map_lookup_elem
    insn(0x15, 0, 0, 2, 0), //          if r0 == 0 goto out
    insn(0xb7, 1, 0, 0, 1), //          r1 = 1
    insn(0xdb, 0, 1, 0, 0), //          lock *(u64 *)(r0 + 0) += r1
    insn(0xb7, 0, 0, 0, 0), // out:     r0 = 0
    EXIT,
  ];
}

function withCounter(
  type: 'TRACEPOINT' | 'RAW_TRACEPOINT',
  fn: (program: KernelProgram, read: () => bigint) => void,
): void {
  const counter = createMap(spec('ARRAY', 4, 8, 1));
  try {
    const program = loadProgram({
      type,
      insns: countingProgram(counter),
      license: 'GPL',
      name: 'count_getpid',
    });
    try {
      fn(program, () => u64.decode(counter.lookup(u32.encode(0))!));
    } finally {
      program.close();
    }
  } finally {
    counter.close();
  }
}

kernelTest('tracepoint syscalls/sys_enter_getpid: counts our getpid calls until the link closes', (t) => {
  try {
    tracepointId('syscalls', 'sys_enter_getpid');
  } catch (error) {
    t.skip(`tracepoint unavailable: ${(error as Error).message}`);
    return;
  }
  withCounter('TRACEPOINT', (program, read) => {
    const link = attachTracepoint(program, 'syscalls', 'sys_enter_getpid');
    try {
      assert.equal(read(), 0n);
      for (let i = 0; i < 25; i++) getpid();
      assert.equal(read(), 25n);
      assert.ok(link.isBpfLink, 'a perf link on this kernel');
      assert.equal(link.info().typeName, 'PERF_EVENT');
    } finally {
      link.close();
      link.close();
    }
    for (let i = 0; i < 5; i++) getpid();
    assert.equal(read(), 25n, 'no counting after close');
  });
  assert.equal(openLinkCount(), 0);
});

kernelTest('raw tracepoint sys_enter: attach, count, detach on close', () => {
  withCounter('RAW_TRACEPOINT', (program, read) => {
    const link = attachRawTracepoint(program, 'sys_enter');
    try {
      for (let i = 0; i < 10; i++) getpid();
      assert.ok(read() >= 10n, `counted ${read()}`);
      assert.equal(link.info().typeName, 'RAW_TRACEPOINT');
    } finally {
      link.close();
    }
    const after = read();
    for (let i = 0; i < 5; i++) getpid();
    assert.equal(read(), after);
  });
});

kernelTest('errors carry the command, errno and hint', () => {
  const error = catchError(() => createMap(spec('HASH', 0, 4, 1)));
  assert.ok(isMapErrno('EINVAL')(error), String(error));
  assert.ok((error as MapError).cause instanceof BpfSyscallError);
  assert.equal(((error as MapError).cause as BpfSyscallError).command, 'MAP_CREATE');
  const tracing = catchError(() =>
    loadProgram({
      type: 'TRACING',
      expectedAttachType: 'TRACE_FENTRY',
      insns: [insn(0xb7, 0, 0, 0, 0), EXIT],
      license: 'GPL',
    }),
  );
  assert.ok(tracing instanceof SyscallError, String(tracing));
});

kernelTest('BTF load and feature probes', () => {
  const btf = loadBtf(storageProbeBtf());
  try {
    assert.ok(btf.info().id > 0);
  } finally {
    btf.close();
  }
  assert.equal(probeProgType('XDP'), true);
  assert.equal(probeProgType('SOCKET_FILTER'), true);
  assert.equal(probeMapType('HASH'), true);
  assert.equal(probeMapType('RINGBUF'), true);
  assert.equal(probeMapType('SK_STORAGE'), true);
  assert.equal(probeMapType('ARRAY_OF_MAPS'), true);
  assert.equal(probeMapType('CGROUP_STORAGE'), true);
  assert.equal(probeHelper('XDP', 1 /* map_lookup_elem */), true);
  assert.equal(probeHelper('XDP', 6 /* trace_printk */), true);
  assert.equal(probeHelper('SOCKET_FILTER', 65 /* xdp_adjust_head */), false);
  assert.equal(probeHelper('XDP', 100_000), false);
});

kernelTest('no fd leaks over 100 create/load/attach/close cycles', () => {
  const fds = () => readdirSync('/proc/self/fd').length;
  // Warm up: koffi, libc and lazily opened files take their fds before we count.
  withCounter('RAW_TRACEPOINT', (program) => attachRawTracepoint(program, 'sys_enter').close());
  const before = fds();
  for (let i = 0; i < 100; i++) {
    const map = createMap(spec('HASH', 4, 4, 1));
    const program = loadProgram({ type: 'XDP', insns: xdpProgram(), license: 'GPL' });
    program.testRun({ data: new Uint8Array(16) });
    map.close();
    program.close();
    if (i % 10 === 0) withCounter('RAW_TRACEPOINT', (p) => attachRawTracepoint(p, 'sys_enter').close());
    try {
      loadProgram({ type: 'XDP', insns: [EXIT], license: 'GPL' });
    } catch (error) {
      assert.ok(error instanceof VerifierError);
    }
  }
  assert.equal(fds(), before);
});
