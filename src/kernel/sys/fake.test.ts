// Unit tests of the kernel layer through a fake bpf(): exact attr bytes, errno handling, and the
// retry logic of loads, test runs and batches. No kernel, root or koffi needed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Errno } from '../../errno.js';
import { makeInsn } from '../../isa/instruction.js';
import { u32, u64 } from '../../maps/codec.js';
import { BpfMap } from '../../maps/map.js';
import { MapError } from '../../maps/ops.js';
import { createMap, parseCpuList } from '../load/map.js';
import { loadProgram } from '../load/program.js';
import { BpfCmd, COMMAND_LAYOUTS, decodeStruct } from './attr.js';
import { BpfSyscallError, hintFor, parseVerifierLog, VerifierError } from './errors.js';
import { FakeSys, fakeErrno } from './fake.js';

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A fake kernel with one hash map stored in a JS Map, keyed by hex. */
function fakeHashKernel(maxEntries: number) {
  const store = new Map<string, Uint8Array>();
  const sys = new FakeSys((cmd, attr, memory) => {
    const elem = decodeStruct(COMMAND_LAYOUTS.MAP_LOOKUP_ELEM, attr);
    switch (cmd) {
      case BpfCmd.MAP_CREATE:
        return 42;
      case BpfCmd.MAP_LOOKUP_ELEM: {
        const value = store.get(hex(memory.read(elem.key, 4)));
        if (!value) throw fakeErrno(cmd, Errno.ENOENT);
        memory.read(elem.value, 8).set(value);
        return 0;
      }
      case BpfCmd.MAP_UPDATE_ELEM: {
        const key = hex(memory.read(elem.key, 4));
        const flags = Number(elem.flags);
        if (flags === 1 && store.has(key)) throw fakeErrno(cmd, Errno.EEXIST);
        if (flags === 2 && !store.has(key)) throw fakeErrno(cmd, Errno.ENOENT);
        if (!store.has(key) && store.size >= maxEntries) throw fakeErrno(cmd, Errno.E2BIG);
        store.set(key, memory.read(elem.value, 8).slice());
        return 0;
      }
      case BpfCmd.MAP_DELETE_ELEM:
        if (!store.delete(hex(memory.read(elem.key, 4)))) throw fakeErrno(cmd, Errno.ENOENT);
        return 0;
      case BpfCmd.MAP_GET_NEXT_KEY: {
        const keys = [...store.keys()];
        const at = elem.key === 0n ? 0 : keys.indexOf(hex(memory.read(elem.key, 4))) + 1;
        if (at >= keys.length) throw fakeErrno(cmd, Errno.ENOENT);
        memory.read(elem.next_key, 4).set(Buffer.from(keys[at], 'hex'));
        return 0;
      }
      default:
        throw fakeErrno(cmd, Errno.EINVAL);
    }
  });
  return { sys, store };
}

test('createMap sends the exact MAP_CREATE attr', () => {
  const { sys } = fakeHashKernel(4);
  const ops = createMap(
    { name: 'my map!', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 4, flags: 1 },
    { sys },
  );
  assert.equal(ops.fd, 42);
  assert.equal(sys.calls.length, 1);
  const { cmd, attr } = sys.calls[0];
  assert.equal(cmd, BpfCmd.MAP_CREATE);
  assert.equal(
    hex(attr),
    '01000000' + // map_type HASH
      '04000000' + // key_size
      '08000000' + // value_size
      '04000000' + // max_entries
      '01000000' + // map_flags NO_PREALLOC
      '00000000' + // inner_map_fd
      '00000000' + // numa_node
      hex(Buffer.from('my_map_\0\0\0\0\0\0\0\0\0')) + // map_name, sanitised
      '00'.repeat(16) + // ifindex, btf_fd, btf key/value ids
      '00000000' + // btf_vmlinux_value_type_id
      '0000000000000000', // map_extra
  );
  ops.close();
  ops.close();
  assert.deepEqual(sys.closed, [42], 'close is idempotent');
});

test('BpfMap over KernelMapOps: get/set/delete/keys and errno mapping', () => {
  const { sys } = fakeHashKernel(2);
  const map = new BpfMap(
    createMap({ name: 'h', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 2 }, { sys }),
    {
      key: u32,
      value: u64,
    },
  );
  assert.equal(map.get(1), undefined);
  map.set(1, 10n).set(2, 20n);
  assert.equal(map.get(2), 20n);
  assert.deepEqual([...map.keys()], [1, 2]);
  assert.throws(
    () => map.set(3, 1n),
    (e: unknown) => e instanceof MapError && e.is('E2BIG') && /max_entries/.test(e.message),
  );
  assert.throws(
    () => map.set(1, 1n, { mode: 'noexist' }),
    (e: unknown) => e instanceof MapError && e.is('EEXIST'),
  );
  assert.throws(
    () => map.set(9, 1n, { mode: 'exist' }),
    (e: unknown) => e instanceof MapError && e.is('ENOENT'),
  );
  assert.equal(map.delete(1), true);
  assert.equal(map.delete(1), false);
  const update = decodeStruct(COMMAND_LAYOUTS.MAP_UPDATE_ELEM, sys.calls[3].attr);
  assert.equal(update.map_fd, 42);
  assert.notEqual(update.key, 0n);
});

test('a key of the wrong size is refused before the kernel could read past it', () => {
  const { sys } = fakeHashKernel(2);
  const ops = createMap({ name: 'h', type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 2 }, { sys });
  const before = sys.calls.length;
  assert.throws(
    () => ops.lookup(new Uint8Array(2)),
    (e: unknown) => e instanceof MapError && e.is('EINVAL'),
  );
  assert.throws(() => ops.update(new Uint8Array(4), new Uint8Array(4), 0), MapError);
  assert.equal(sys.calls.length, before);
});

test('per-CPU maps size values by the possible CPUs', () => {
  const sys = new FakeSys((cmd, attr, memory) => {
    if (cmd === BpfCmd.MAP_CREATE) return 3;
    const elem = decodeStruct(COMMAND_LAYOUTS.MAP_LOOKUP_ELEM, attr);
    memory.read(elem.value, 24).fill(1); // 3 CPUs × 8-byte slots
    return 0;
  });
  const ops = createMap(
    { name: 'p', type: 'PERCPU_ARRAY', keySize: 4, valueSize: 4, maxEntries: 1 },
    { sys, possibleCpus: 3 },
  );
  assert.equal(ops.possibleCpus, 3);
  assert.equal(ops.lookup(new Uint8Array(4))?.length, 24);
  assert.deepEqual(new BpfMap(ops, { key: u32, value: undefined }).get(0)?.length, 3);
});

test('parseCpuList counts CPUs the way num_possible_cpus() does', () => {
  assert.equal(parseCpuList('0\n'), 1);
  assert.equal(parseCpuList('0-3\n'), 4);
  assert.equal(parseCpuList('0-1,4-5,8'), 5);
  assert.throws(() => parseCpuList('3-1'));
});

test('lookupBatch walks with the out_batch cursor until ENOENT, keeping the last count', () => {
  const cursors: bigint[] = [];
  const sys = new FakeSys((cmd, attr, memory) => {
    if (cmd === BpfCmd.MAP_CREATE) return 5;
    const batch = decodeStruct(COMMAND_LAYOUTS.MAP_LOOKUP_BATCH, attr);
    cursors.push(batch.in_batch);
    const round = cursors.length;
    const count = round === 1 ? 2 : 1;
    for (let i = 0; i < count; i++) {
      memory.read(batch.keys + BigInt(i * 4), 4).set([round * 10 + i, 0, 0, 0]);
      memory.read(batch.values + BigInt(i * 4), 4).set([round, 0, 0, 0]);
    }
    new DataView(attr.buffer).setUint32(32, count, true); // batch.count
    if (round === 2) throw fakeErrno(cmd, Errno.ENOENT);
    return 0;
  });
  const ops = createMap({ name: 'b', type: 'HASH', keySize: 4, valueSize: 4, maxEntries: 8 }, { sys });
  const entries = ops.lookupBatch({ batchSize: 2 });
  assert.deepEqual(
    entries.map(([k, v]) => [k[0], v[0]]),
    [
      [10, 1],
      [11, 1],
      [20, 2],
    ],
  );
  assert.equal(cursors[0], 0n, 'first call starts from NULL');
  assert.notEqual(cursors[1], 0n, 'second call passes the cursor back');
});

test('PROG_LOAD: first without a log, then with one that grows on ENOSPC; VerifierError', () => {
  const logSizes: number[] = [];
  const sys = new FakeSys((cmd, attr, memory) => {
    const load = decodeStruct(COMMAND_LAYOUTS.PROG_LOAD, attr);
    logSizes.push(load.log_size);
    assert.equal(load.insn_cnt, 2);
    assert.equal(hex(memory.read(load.license, 4)), hex(Buffer.from('GPL\0')));
    if (load.log_level === 0) throw fakeErrno(cmd, Errno.EACCES);
    const log = Buffer.from(
      `${'func#0 @0\n'.repeat(150)}0: R1=ctx() R10=fp0\n0: (bf) r0 = r2\nR2 !read_ok\nprocessed 1 insns\n\0`,
    );
    const buffer = memory.read(load.log_buf, load.log_size);
    buffer.set(log.subarray(0, Math.min(log.length, buffer.length)));
    if (load.log_size < log.length) throw fakeErrno(cmd, Errno.ENOSPC);
    throw fakeErrno(cmd, Errno.EACCES);
  });
  const insns = [
    makeInsn({ opcode: 0xbf, dst: 0, src: 2, off: 0, imm: 0 }),
    makeInsn({ opcode: 0x95, dst: 0, src: 0, off: 0, imm: 0 }),
  ];
  const error = (() => {
    try {
      loadProgram({
        type: 'XDP',
        insns,
        license: 'GPL',
        name: 'bad',
        logSize: 16,
        sys,
        lineOf: (i) => ({ file: 'x.c', line: 7 + i, column: 3, text: 'return r2;' }),
      });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof VerifierError, String(error));
  assert.deepEqual(logSizes, [0, 1024, 4096]);
  assert.equal(error.insnIndex, 0);
  assert.equal(error.summary, 'R2 !read_ok');
  assert.equal(error.insnText, '(bf) r0 = r2');
  assert.equal(error.code, 'EACCES');
  assert.equal(error.source?.line, 7);
  assert.match(error.message, /program 'bad' rejected by the verifier: instruction 0: x\.c:7:3: R2 !read_ok/);
  assert.match(error.log, /processed 1 insns/);
});

test('PROG_LOAD attr bytes: type, count, name, attach type', () => {
  const sys = new FakeSys(() => 9);
  const program = loadProgram({
    type: 'CGROUP_SOCK_ADDR',
    insns: new Uint8Array([0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]),
    license: 'Dual MIT/GPL',
    name: 'connect4',
    expectedAttachType: 'CGROUP_INET4_CONNECT',
    progFlags: 1,
    fdArray: [5, 6],
    sys,
  });
  assert.equal(program.fd, 9);
  const [{ attr }] = sys.calls;
  assert.equal(attr.length, 140);
  const view = new DataView(attr.buffer);
  assert.equal(view.getUint32(0, true), 18); // prog_type
  assert.equal(view.getUint32(4, true), 2); // insn_cnt
  assert.equal(view.getUint32(24, true), 0); // log_level: no log on the first attempt
  assert.equal(view.getUint32(44, true), 1); // prog_flags
  assert.equal(Buffer.from(attr.subarray(48, 64)).toString('latin1'), 'connect4\0\0\0\0\0\0\0\0');
  assert.equal(view.getUint32(68, true), 10); // expected_attach_type
  const fdArray = sys.read(view.getBigUint64(120, true), 8);
  assert.deepEqual([...new Int32Array(fdArray.slice().buffer)], [5, 6]);
});

test('a failed load with an empty log is a BpfSyscallError with a hint, not a VerifierError', () => {
  const sys = new FakeSys((cmd) => {
    throw fakeErrno(cmd, Errno.EPERM);
  });
  assert.throws(
    () => loadProgram({ type: 'TRACEPOINT', insns: new Uint8Array(16), license: 'GPL', sys }),
    (e: unknown) =>
      e instanceof BpfSyscallError &&
      !(e instanceof VerifierError) &&
      e.code === 'EPERM' &&
      /CAP_BPF/.test(e.message),
  );
});

test('testRun retries once with the size the kernel asked for', () => {
  const sizes: number[] = [];
  const sys = new FakeSys((cmd, attr, memory) => {
    if (cmd === BpfCmd.PROG_LOAD) return 4;
    const run = decodeStruct(COMMAND_LAYOUTS.PROG_TEST_RUN, attr);
    sizes.push(run.data_size_out);
    const view = new DataView(attr.buffer);
    view.setUint32(4, 7, true); // retval
    view.setUint32(36, 99, true); // duration
    view.setUint32(12, 400, true); // data_size_out: what the program produced
    if (run.data_size_out < 400) throw fakeErrno(cmd, Errno.ENOSPC);
    memory.read(run.data_out, 400).fill(0xaa);
    return 0;
  });
  const program = loadProgram({ type: 'XDP', insns: new Uint8Array(16), license: 'GPL', sys });
  const result = program.testRun({ data: new Uint8Array(64) });
  assert.deepEqual(sizes, [320, 400]);
  assert.equal(result.retval, 7);
  assert.equal(result.durationNs, 99);
  assert.equal(result.dataOut.length, 400);
  assert.equal(result.ctxOut, undefined);
});

test('parseVerifierLog finds the complaint and the instruction before it', () => {
  const log = [
    'func#0 @0',
    '0: R1=ctx() R10=fp0',
    '0: (b7) r1 = 0                        ; R1_w=0',
    '1: (61) r0 = *(u32 *)(r1 +0)',
    "R1 invalid mem access 'scalar'",
    'verification time 12 usec',
    'stack depth 0',
    'processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
    '',
  ].join('\n');
  assert.deepEqual(parseVerifierLog(log), {
    summary: "R1 invalid mem access 'scalar'",
    insnIndex: 1,
    insnText: '(61) r0 = *(u32 *)(r1 +0)',
  });
  assert.deepEqual(parseVerifierLog('unknown opcode 8d'), {
    summary: 'unknown opcode 8d',
    insnIndex: undefined,
    insnText: undefined,
  });
});

test('hints name the usual cause', () => {
  assert.match(hintFor('PROG_LOAD', Errno.EPERM) ?? '', /CAP_SYS_ADMIN.*lockdown/);
  assert.doesNotMatch(hintFor('MAP_LOOKUP_ELEM', Errno.EPERM) ?? '', /lockdown/);
  // bpffs refuses a path outside it, and a dotted name, with EPERM even for root.
  assert.match(hintFor('OBJ_PIN', Errno.EPERM) ?? '', /inside a bpffs.*'\.'/);
  assert.match(hintFor('PROG_LOAD', Errno.ENOSPC) ?? '', /log buffer/);
  assert.match(hintFor('MAP_UPDATE_ELEM', Errno.E2BIG) ?? '', /full/);
  assert.equal(new BpfSyscallError(BpfCmd.OBJ_GET, Errno.ENOENT).command, 'OBJ_GET');
  assert.equal(new BpfSyscallError(BpfCmd.OBJ_GET, 4242).code, 'E4242');
});
