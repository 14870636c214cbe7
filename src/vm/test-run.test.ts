// Test runs in the VM, checked against the kernel's BPF_PROG_TEST_RUN: every example packet program
// over every packet of testdata/pcap/sample.pcap, the quirks of each program type, the packet
// helpers, and random straight-line XDP programs. Kernel comparisons skip, with the reason printed,
// where bpf() is not permitted.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { assemble } from '../isa/llvm.js';
import { isPerCpu, type MapOps, type MapSpec, UpdateFlags } from '../maps/ops.js';
import { loadObjectSpec, type ObjectSpec } from '../object/object.js';
import { readCapture } from '../pcap/pcap.js';
import type { TestRunOptions, TestRunResult } from '../program.js';
import type { ProgTypeName } from '../uapi.js';
import { DEFAULT_DEVICES, type TestRunDevice, TestRunError } from './test-run.js';
import { VerifierRejectedError } from './verify.js';
import { ProgramTypeError, Vm } from './vm.js';

/** This host's network devices (the kernel's test runs may name them by ifindex). */
const hostDevices = (): TestRunDevice[] => {
  try {
    return readdirSync('/sys/class/net').map((name) => ({
      name,
      ifindex: Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8')),
      xdpRxQueues: name === 'lo' ? 1 : 0,
    }));
  } catch {
    return [...DEFAULT_DEVICES];
  }
};

const packets = readCapture(
  readFileSync(new URL('../../testdata/pcap/sample.pcap', import.meta.url)),
).packets.map((packet) => packet.data);

// ---- the kernel side, loaded lazily so the VM tests run anywhere ----

type Kernel = typeof import('../kernel/index.js');
let kernel: Kernel | undefined;
/** Why the kernel comparisons cannot run here, or undefined when they can. */
const unavailable: string | undefined = await (async () => {
  if (typeof process === 'undefined' || process.platform !== 'linux') return 'not Linux';
  kernel = await import('../kernel/index.js');
  return kernel.bpfUnavailable();
})();

function kernelTest(name: string, fn: (t: TestContext, k: Kernel) => void | Promise<void>): void {
  test(name, (t) => {
    if (unavailable || !kernel) {
      t.skip(unavailable);
      return;
    }
    return fn(t, kernel);
  });
}

/** What a test run gave, errors included, in a form both backends share. */
type Outcome =
  | { readonly error: string }
  | { readonly retval: number; readonly dataOut: string; readonly ctxOut: string | undefined };

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function outcome(run: () => TestRunResult): Outcome {
  try {
    const result = run();
    return {
      retval: result.retval,
      dataOut: hex(result.dataOut),
      ctxOut: result.ctxOut && hex(result.ctxOut),
    };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return { error: code };
    throw error;
  }
}

/** An object loaded into the kernel: maps created and filled, programs loaded with the map fds. */
interface KernelObject {
  readonly programs: Map<string, { testRun(options: TestRunOptions): TestRunResult; close(): void }>;
  readonly maps: Map<string, MapOps & { readonly fd: number; close(): void }>;
  /** Programs this BTF-less loader could not load, and the kernel's reason. */
  readonly refused: Map<string, string>;
  close(): void;
}

const u32Key = (index: number): Uint8Array => new Uint8Array(new Uint32Array([index]).buffer);

function loadKernelObject(k: Kernel, spec: ObjectSpec): KernelObject {
  const maps = new Map<string, MapOps & { readonly fd: number; close(): void }>();
  const fds: number[] = [];
  for (const m of spec.maps) {
    // Without the object's BTF loaded, the maps are created from sizes alone.
    const plain: MapSpec = {
      name: m.name,
      type: m.type,
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      flags: m.flags,
      ...(m.innerMap ? { innerMap: m.innerMap } : {}),
    };
    const map = k.createMap(plain);
    if (m.initialValue) {
      const value = new Uint8Array(m.valueSize);
      value.set(m.initialValue.subarray(0, m.valueSize));
      map.update(u32Key(0), value, UpdateFlags.ANY);
    }
    if (m.freeze) map.freeze();
    maps.set(m.name, map);
    fds.push(map.fd);
  }
  const programs = new Map<string, ReturnType<Kernel['loadProgram']>>();
  const refused = new Map<string, string>();
  for (const p of spec.programs) {
    if (!p.sectionInfo) continue;
    try {
      programs.set(
        p.name,
        k.loadProgram({
          type: p.sectionInfo.progType,
          insns: p.insns,
          license: p.license,
          name: p.name,
          fdArray: fds,
          expectedAttachType: p.sectionInfo.attachType,
        }),
      );
    } catch (error) {
      // This minimal loader sends no BTF: programs that need func_info (bpf_loop callbacks) are refused.
      if (!(error instanceof k.VerifierError) || !/btf func_info/.test(error.message)) throw error;
      refused.set(p.name, error.message);
    }
  }
  for (const [index, m] of spec.maps.entries())
    for (const slot of m.initialSlots ?? []) {
      const fd = slot.kind === 'program' ? programs.get(slot.name)?.fd : maps.get(slot.name)?.fd;
      if (fd !== undefined)
        maps.get(spec.maps[index].name)?.update(u32Key(slot.index), u32Key(fd), UpdateFlags.ANY);
    }
  return {
    programs,
    maps,
    refused,
    close() {
      for (const program of programs.values()) program.close();
      for (const map of maps.values()) map.close();
    },
  };
}

/**
 * A map's contents in a backend-neutral form: sorted `key=value` hex lines; per-CPU values summed
 * over CPUs as u64 words (the kernel and the VM have different CPU counts, and the kernel runs on
 * whichever CPU the test is on).
 */
function contents(ops: MapOps): string[] {
  const spec = ops.spec;
  if (spec.type === 'PROG_ARRAY' || spec.type === 'ARRAY_OF_MAPS' || spec.type === 'HASH_OF_MAPS') return [];
  const lines: string[] = [];
  let key: Uint8Array | undefined;
  for (let n = 0; n <= spec.maxEntries; n++) {
    key = ops.nextKey(key);
    if (!key) break;
    const value = ops.lookup(key);
    if (!value) continue;
    if (isPerCpu(spec.type)) {
      const slot = Math.ceil(spec.valueSize / 8) * 8;
      const sums = new BigUint64Array(slot / 8);
      const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
      for (let cpu = 0; cpu < ops.possibleCpus; cpu++)
        for (let w = 0; w < sums.length; w++) sums[w] += view.getBigUint64(cpu * slot + w * 8, true);
      lines.push(`${hex(key)}=${[...sums].join(',')}`);
    } else lines.push(`${hex(key)}=${hex(value)}`);
  }
  return lines.sort();
}

// ---- every example packet program over every sample packet ----

const EXAMPLES = [
  'xdp_count',
  'socket_filter',
  'tc_classifier',
  'loop',
  'globals',
  'subprog',
  'tail_call',
  'lpm_firewall',
] as const;

describe('example programs on the sample packets', () => {
  test('sample.pcap has the 22 packets the tests expect', () => {
    assert.equal(packets.length, 22);
  });

  for (const name of EXAMPLES) {
    const bytes = readFileSync(new URL(`../../examples/${name}.bpf.o`, import.meta.url));
    test(`${name}: runs in the VM on every packet`, () => {
      const vm = new Vm();
      const object = vm.loadObject(bytes);
      assert.deepEqual(object.skipped, []);
      assert.ok(object.programs.size > 0);
      for (const program of object.programs.values())
        for (const data of packets) {
          const result = vm.testRun(program, { data });
          assert.ok(result.retval >= 0 && result.retval < 2 ** 32);
        }
    });

    kernelTest(`${name}: VM and kernel agree on retval, data_out and maps`, (t, k) => {
      const spec = loadObjectSpec(bytes);
      const vm = new Vm();
      const object = vm.loadObject(spec);
      const native = loadKernelObject(k, spec);
      try {
        for (const [programName, program] of object.programs) {
          const kernelProgram = native.programs.get(programName);
          if (!kernelProgram) {
            t.diagnostic(
              `${programName}: not compared, the kernel refused it: ${native.refused.get(programName)}`,
            );
            continue;
          }
          for (const [index, data] of packets.entries()) {
            const expected = outcome(() => kernelProgram.testRun({ data }));
            const actual = outcome(() => vm.testRun(program, { data }));
            assert.deepEqual(actual, expected, `${programName}, packet ${index}`);
          }
          for (const [mapName, map] of object.maps)
            assert.deepEqual(
              contents(map.ops),
              contents(native.maps.get(mapName)!),
              `${programName}: map ${mapName}`,
            );
        }
      } finally {
        native.close();
      }
    });
  }

  kernelTest('lpm_firewall: a blocked prefix drops, and both backends count the hit', (_t, k) => {
    const spec = loadObjectSpec(readFileSync(new URL('../../examples/lpm_firewall.bpf.o', import.meta.url)));
    const vm = new Vm();
    const object = vm.loadObject(spec);
    const native = loadKernelObject(k, spec);
    try {
      const frame = packets.find((data) => data[12] === 0x08 && data[13] === 0x00)!;
      // Block the frame's source /24: key {prefixlen 24, addr}, value {action DROP, pad, hits 0}.
      const key = new Uint8Array(8);
      new DataView(key.buffer).setUint32(0, 24, true);
      key.set(frame.subarray(26, 29), 4);
      const value = new Uint8Array(16);
      value[0] = 1;
      object.maps.get('blocked_nets')!.set(key, value);
      native.maps.get('blocked_nets')!.update(key, value, UpdateFlags.ANY);
      const program = object.programs.get('xdp_lpm_firewall')!;
      const vmResult = vm.testRun(program, { data: frame });
      const kernelResult = native.programs.get('xdp_lpm_firewall')!.testRun({ data: frame });
      assert.equal(vmResult.retval, 1);
      assert.equal(kernelResult.retval, 1);
      assert.deepEqual(
        contents(object.maps.get('blocked_nets')!.ops),
        contents(native.maps.get('blocked_nets')!),
      );
    } finally {
      native.close();
    }
  });
});

// ---- the quirks of each program type, VM against kernel ----

interface Case {
  readonly name: string;
  readonly type: ProgTypeName;
  readonly src: string;
  readonly options: TestRunOptions;
}

/** A 60-byte IPv4 broadcast frame with recognisable bytes. */
const frame = (() => {
  const bytes = new Uint8Array(60);
  bytes.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 0x08, 0x00, 0x45]);
  for (let i = 15; i < 60; i++) bytes[i] = i;
  return bytes;
})();
const withType = (type: number, length = 60, dest?: number[]): Uint8Array => {
  const bytes = new Uint8Array(length);
  bytes.set(frame.subarray(0, Math.min(length, 60)));
  bytes[12] = type >> 8;
  bytes[13] = type & 0xff;
  if (dest) bytes.set(dest, 0);
  return bytes;
};
const u32s = (...values: number[]): Uint8Array => new Uint8Array(new Uint32Array(values).buffer);
const skbCtx = (...fields: Array<[offset: number, value: number]>): Uint8Array => {
  const bytes = new Uint8Array(192);
  for (const [offset, value] of fields) new DataView(bytes.buffer).setUint32(offset, value, true);
  return bytes;
};
const XDP_LEN = 'r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr0 = r3\nr0 -= r2\nexit';
const read = (offset: number, size = 'u32') => `r0 = *(${size} *)(r1 + ${offset})\nexit`;
/** Call helper `id` with r2…r5 set, r1 = ctx; returns r0. */
const call = (id: number, ...args: number[]) =>
  `${args.map((value, i) => `r${i + 2} = ${value}`).join('\n')}\ncall ${id}\nexit`;
/** Store 0x41424344 on the stack, call `id` with (ctx, r2, fp-8, r4, r5). */
const withStack = (id: number, r2: number, r4: number, r5 = 0, then = 'exit') =>
  `r6 = 0x41424344\n*(u32 *)(r10 - 8) = r6\nr2 = ${r2}\nr3 = r10\nr3 += -8\nr4 = ${r4}\nr5 = ${r5}\ncall ${id}\n${then}`;
const loadThenRead = (id: number, offset: number, r5?: number) =>
  `r2 = ${offset}\nr3 = r10\nr3 += -8\nr4 = 4\n${r5 === undefined ? '' : `r5 = ${r5}\n`}call ${id}\nif r0 != 0 goto +2\nr0 = *(u32 *)(r10 - 8)\nexit\nexit`;

const cases: Case[] = [
  // XDP: sizes, return value width, ctx_in rules, metadata
  { name: 'xdp: packet length', type: 'XDP', src: XDP_LEN, options: { data: frame } },
  { name: 'xdp: ingress_ifindex is loopback', type: 'XDP', src: read(12), options: { data: frame } },
  { name: 'xdp: rx_queue_index', type: 'XDP', src: read(16), options: { data: frame } },
  {
    name: 'xdp: 13 bytes is EINVAL',
    type: 'XDP',
    src: 'r0 = 2\nexit',
    options: { data: frame.subarray(0, 13) },
  },
  { name: 'xdp: 14 bytes', type: 'XDP', src: 'r0 = 2\nexit', options: { data: frame.subarray(0, 14) } },
  { name: 'xdp: no data', type: 'XDP', src: 'r0 = 2\nexit', options: {} },
  { name: 'xdp: retval is u32', type: 'XDP', src: 'r0 = -1\nexit', options: { data: frame } },
  {
    name: 'xdp: 64-bit r0 truncated',
    type: 'XDP',
    src: 'r0 = 0x100000002 ll\nexit',
    options: { data: frame },
  },
  { name: 'xdp: 3520 linear bytes', type: 'XDP', src: XDP_LEN, options: { data: new Uint8Array(3520) } },
  {
    name: 'xdp: 5000 bytes, the rest in fragments',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: new Uint8Array(5000) },
  },
  {
    name: 'xdp: ctx zeros',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: frame, ctx: u32s(0, 0, 0, 0, 0, 0) },
  },
  {
    name: 'xdp: ctx data_end = size',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: frame, ctx: u32s(0, 60, 0, 0, 0, 0) },
  },
  {
    name: 'xdp: ctx data_end short',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: frame, ctx: u32s(0, 30, 0, 0, 0, 0) },
  },
  {
    name: 'xdp: ctx data_end past data',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: frame, ctx: u32s(0, 61, 0, 0, 0, 0) },
  },
  {
    name: 'xdp: 8 bytes of metadata',
    type: 'XDP',
    src: 'r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 8)\nr0 = r2\nr0 -= r3\nexit',
    options: { data: frame, ctx: u32s(8, 60, 0, 0, 0, 0) },
  },
  {
    name: 'xdp: metadata not a multiple of 4',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: frame, ctx: u32s(6, 60, 0, 0, 0, 0) },
  },
  {
    name: 'xdp: 216 bytes of metadata',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: new Uint8Array(300), ctx: u32s(216, 300, 0, 0, 0, 0) },
  },
  {
    name: 'xdp: 220 bytes of metadata',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: new Uint8Array(300), ctx: u32s(220, 300, 0, 0, 0, 0) },
  },
  {
    name: 'xdp: data_meta set',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: frame, ctx: u32s(0, 60, 4, 0, 0, 0) },
  },
  {
    name: 'xdp: ingress_ifindex 1',
    type: 'XDP',
    src: read(12),
    options: { data: frame, ctx: u32s(0, 60, 0, 1, 0, 0) },
  },
  {
    name: 'xdp: rx queue without device',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: frame, ctx: u32s(0, 60, 0, 0, 1, 0) },
  },
  {
    name: 'xdp: rx queue 1 of lo',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: frame, ctx: u32s(0, 60, 0, 1, 1, 0) },
  },
  {
    name: 'xdp: unknown device',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: frame, ctx: u32s(0, 60, 0, 999, 0, 0) },
  },
  {
    name: 'xdp: egress_ifindex set',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: frame, ctx: u32s(0, 60, 0, 0, 0, 1) },
  },
  { name: 'xdp: short ctx', type: 'XDP', src: XDP_LEN, options: { data: frame, ctx: u32s(0, 60) } },
  {
    name: 'xdp: ctx tail not zero',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: frame, ctx: u32s(0, 60, 0, 0, 0, 0, 1) },
  },
  {
    name: 'xdp: ctx tail zero',
    type: 'XDP',
    src: XDP_LEN,
    options: { data: frame, ctx: u32s(0, 60, 0, 0, 0, 0, 0) },
  },
  { name: 'xdp: ctx_out only', type: 'XDP', src: XDP_LEN, options: { data: frame, ctxSizeOut: 24 } },
  { name: 'xdp: cpu is EINVAL', type: 'XDP', src: XDP_LEN, options: { data: frame, cpu: 0 } },
  { name: 'xdp: repeat', type: 'XDP', src: call(44, -4), options: { data: frame, repeat: 3 } },
  // XDP helpers
  ...[-216, -217, 46, 47, -8].map(
    (delta): Case => ({
      name: `xdp: adjust_head ${delta}`,
      type: 'XDP',
      src: call(44, delta),
      options: { data: frame },
    }),
  ),
  ...[-46, -47, 3460, 3461, 10].map(
    (delta): Case => ({
      name: `xdp: adjust_tail ${delta}`,
      type: 'XDP',
      src: call(65, delta),
      options: { data: frame },
    }),
  ),
  ...[-4, -216, -220, -6, 4].map(
    (delta): Case => ({
      name: `xdp: adjust_meta ${delta}`,
      type: 'XDP',
      src: call(54, delta),
      options: { data: frame },
    }),
  ),
  {
    name: 'xdp: adjust_head moves metadata',
    type: 'XDP',
    src: call(44, -8),
    options: { data: frame, ctx: u32s(8, 60, 0, 0, 0, 0) },
  },
  {
    name: 'xdp: adjust_head -212 with 4 bytes of metadata',
    type: 'XDP',
    src: call(44, -212),
    options: { data: frame, ctx: u32s(4, 60, 0, 0, 0, 0) },
  },
  {
    name: 'xdp: adjust_head -213 with 4 bytes of metadata',
    type: 'XDP',
    src: call(44, -213),
    options: { data: frame, ctx: u32s(4, 60, 0, 0, 0, 0) },
  },
  { name: 'xdp: xdp_load_bytes', type: 'XDP', src: loadThenRead(189, 10), options: { data: frame } },
  {
    name: 'xdp: xdp_load_bytes from fragments',
    type: 'XDP',
    src: loadThenRead(189, 4000),
    options: { data: new Uint8Array(5000).fill(7) },
  },
  {
    name: 'xdp: xdp_load_bytes past the end',
    type: 'XDP',
    src: loadThenRead(189, 57),
    options: { data: frame },
  },
  { name: 'xdp: xdp_store_bytes', type: 'XDP', src: withStack(190, 3, 4), options: { data: frame } },
  {
    name: 'xdp: xdp_get_buff_len',
    type: 'XDP',
    src: 'call 188\nexit',
    options: { data: new Uint8Array(5000) },
  },
  { name: 'xdp: redirect', type: 'XDP', src: 'r1 = 1\nr2 = 0\ncall 23\nexit', options: { data: frame } },
  {
    name: 'xdp: redirect with flags',
    type: 'XDP',
    src: 'r1 = 1\nr2 = 1\ncall 23\nexit',
    options: { data: frame },
  },
  {
    name: 'xdp: csum_diff',
    type: 'XDP',
    src: 'r1 = 0x01020304\n*(u32 *)(r10 - 8) = r1\nr1 = 0x0a0b0c0d\n*(u32 *)(r10 - 4) = r1\nr1 = r10\nr1 += -8\nr2 = 4\nr3 = r10\nr3 += -4\nr4 = 4\nr5 = 0x1234\ncall 28\nexit',
    options: { data: frame },
  },
  {
    name: 'xdp: csum_diff of 8 bytes, no from',
    type: 'XDP',
    src: 'r1 = 0xfffefdfc\n*(u32 *)(r10 - 8) = r1\nr1 = 0xffffffff\n*(u32 *)(r10 - 4) = r1\nr1 = 0\nr2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\nr5 = 0xffffffff\ncall 28\nexit',
    options: { data: frame },
  },
  // skb: sizes, fields, contexts
  ...(['SOCKET_FILTER', 'SCHED_CLS'] as const).flatMap((type): Case[] => [
    ...Object.entries({
      len: 0,
      pkt_type: 4,
      mark: 8,
      queue_mapping: 12,
      protocol: 16,
      vlan_present: 20,
      priority: 32,
      ingress_ifindex: 36,
      ifindex: 40,
      tc_index: 44,
      cb0: 48,
      hash: 68,
      napi_id: 84,
      gso_segs: 164,
      gso_size: 176,
    }).map(
      ([field, offset]): Case => ({
        name: `${type}: reads ${field}`,
        type,
        src: read(offset),
        options: { data: frame },
      }),
    ),
    { name: `${type}: narrow read of len`, type, src: read(0, 'u8'), options: { data: frame } },
    { name: `${type}: 13 bytes`, type, src: 'r0 = 7\nexit', options: { data: frame.subarray(0, 13) } },
    { name: `${type}: 14-byte IPv4 frame`, type, src: read(0), options: { data: frame.subarray(0, 14) } },
    { name: `${type}: 33-byte IPv4 frame`, type, src: read(0), options: { data: frame.subarray(0, 33) } },
    { name: `${type}: 34-byte IPv4 frame`, type, src: read(0), options: { data: frame.subarray(0, 34) } },
    { name: `${type}: 53-byte IPv6 frame`, type, src: read(0), options: { data: withType(0x86dd, 53) } },
    { name: `${type}: 54-byte IPv6 frame`, type, src: read(0), options: { data: withType(0x86dd, 54) } },
    { name: `${type}: 14-byte ARP frame`, type, src: read(0), options: { data: withType(0x0806, 14) } },
    { name: `${type}: 3712 bytes`, type, src: read(0), options: { data: withType(0x0806, 3712) } },
    { name: `${type}: 3713 bytes`, type, src: read(0), options: { data: withType(0x0806, 3713) } },
    {
      name: `${type}: unicast to lo`,
      type,
      src: read(4),
      options: { data: withType(0x0800, 60, [0, 0, 0, 0, 0, 0]) },
    },
    {
      name: `${type}: multicast`,
      type,
      src: read(4),
      options: { data: withType(0x0800, 60, [1, 0, 0x5e, 0, 0, 1]) },
    },
    {
      name: `${type}: other host`,
      type,
      src: read(4),
      options: { data: withType(0x0800, 60, [2, 0, 0, 0, 0, 1]) },
    },
    { name: `${type}: 802.2 protocol`, type, src: read(16), options: { data: withType(0x002e) } },
    {
      name: `${type}: raw 802.3 protocol`,
      type,
      src: read(16),
      options: {
        data: (() => {
          const b = withType(0x002e);
          b.set([0xff, 0xff], 14);
          return b;
        })(),
      },
    },
    { name: `${type}: retval u32`, type, src: 'r0 = -1\nexit', options: { data: frame } },
    { name: `${type}: cpu is EINVAL`, type, src: 'r0 = 1\nexit', options: { data: frame, cpu: 0 } },
    { name: `${type}: empty ctx`, type, src: read(0), options: { data: frame, ctx: skbCtx() } },
    {
      name: `${type}: ctx round trip`,
      type,
      src: read(36),
      options: {
        data: frame,
        ctx: skbCtx(
          [8, 1],
          [32, 2],
          [36, 3],
          [40, 1],
          [48, 4],
          [52, 5],
          [64, 6],
          [152, 7],
          [156, 8],
          [160, 61],
          [164, 9],
          [176, 10],
          [184, 11],
          [188, 12],
        ),
      },
    },
    ...Object.entries({
      len: 0,
      queue_mapping: 12,
      tc_index: 44,
      hash: 68,
      data_meta: 140,
      tstamp_type: 180,
    }).map(
      ([field, offset]): Case => ({
        name: `${type}: ctx_in ${field} must be 0`,
        type,
        src: read(0),
        options: { data: frame, ctx: skbCtx([offset, 7]) },
      }),
    ),
    {
      name: `${type}: ctx_in ifindex 2`,
      type,
      src: read(40),
      options: { data: frame, ctx: skbCtx([40, 2]) },
    },
    {
      name: `${type}: ctx_in ifindex 999`,
      type,
      src: read(40),
      options: { data: frame, ctx: skbCtx([40, 999]) },
    },
    {
      name: `${type}: ctx_in wire_len too small`,
      type,
      src: read(0),
      options: { data: frame, ctx: skbCtx([160, 10]) },
    },
    {
      name: `${type}: ctx_in wire_len 60`,
      type,
      src: read(0),
      options: { data: frame, ctx: skbCtx([160, 60]) },
    },
    {
      name: `${type}: ctx_in gso_segs too many`,
      type,
      src: read(0),
      options: { data: frame, ctx: skbCtx([164, 65536]) },
    },
    {
      name: `${type}: short ctx_in`,
      type,
      src: read(8),
      options: { data: frame, ctx: skbCtx([8, 9]).subarray(0, 12) },
    },
    {
      name: `${type}: ctx_in tail not zero`,
      type,
      src: read(8),
      options: {
        data: frame,
        ctx: (() => {
          const b = new Uint8Array(196);
          b[192] = 1;
          return b;
        })(),
      },
    },
    { name: `${type}: ctx_out only`, type, src: read(8), options: { data: frame, ctxSizeOut: 192 } },
    {
      name: `${type}: writes cb[0]`,
      type,
      src: 'r2 = 0x55\n*(u32 *)(r1 + 48) = r2\nr0 = 0\nexit',
      options: { data: frame, ctx: skbCtx() },
    },
    { name: `${type}: skb_load_bytes`, type, src: loadThenRead(26, 0), options: { data: frame } },
    {
      name: `${type}: skb_load_bytes past the end`,
      type,
      src: loadThenRead(26, 44),
      options: { data: frame },
    },
    { name: `${type}: skb_load_bytes negative`, type, src: loadThenRead(26, -14), options: { data: frame } },
    { name: `${type}: load_bytes_relative mac`, type, src: loadThenRead(68, 2, 0), options: { data: frame } },
    { name: `${type}: load_bytes_relative net`, type, src: loadThenRead(68, 2, 1), options: { data: frame } },
    {
      name: `${type}: load_bytes_relative bad header`,
      type,
      src: loadThenRead(68, 2, 2),
      options: { data: frame },
    },
    {
      name: `${type}: load_bytes_relative past the end`,
      type,
      src: loadThenRead(68, 43, 1),
      options: { data: frame },
    },
    {
      name: `${type}: ld_abs u16`,
      type,
      src: 'r6 = r1\nr0 = *(u16 *)skb[12]\nexit',
      options: { data: frame },
    },
    {
      name: `${type}: ld_abs u32`,
      type,
      src: 'r6 = r1\nr0 = *(u32 *)skb[0]\nexit',
      options: { data: frame },
    },
    {
      name: `${type}: ld_abs past the end returns 0`,
      type,
      src: 'r6 = r1\nr0 = *(u32 *)skb[58]\nr0 = 99\nexit',
      options: { data: frame },
    },
    {
      name: `${type}: ld_abs network header`,
      type,
      src: 'r6 = r1\nr0 = *(u8 *)skb[-0x100000]\nexit',
      options: { data: frame },
    },
    {
      name: `${type}: ld_abs link-layer header`,
      type,
      src: 'r6 = r1\nr0 = *(u16 *)skb[-0x1ffff4]\nexit',
      options: { data: frame },
    },
    {
      name: `${type}: ld_ind`,
      type,
      src: 'r6 = r1\nr7 = 10\nr0 = *(u8 *)skb[r7 + 3]\nexit',
      options: { data: frame },
    },
    {
      name: `${type}: repeat`,
      type,
      src: 'r0 = *(u32 *)(r1 + 48)\nr0 += 1\n*(u32 *)(r1 + 48) = r0\nexit',
      options: { data: frame, repeat: 5, ctx: skbCtx() },
    },
  ]),
  // tc only
  {
    name: 'tc: writes mark, priority, tc_index, tc_classid, queue_mapping, cb',
    type: 'SCHED_CLS',
    src: 'r2 = 0x55\n*(u32 *)(r1 + 44) = r2\n*(u32 *)(r1 + 72) = r2\n*(u32 *)(r1 + 12) = r2\n*(u32 *)(r1 + 8) = r2\n*(u32 *)(r1 + 32) = r2\n*(u32 *)(r1 + 56) = r2\nr0 = *(u32 *)(r1 + 72)\nexit',
    options: { data: frame, ctx: skbCtx([8, 1], [160, 61]) },
  },
  {
    name: 'tc: writes tstamp',
    type: 'SCHED_CLS',
    src: 'r2 = 0x55\n*(u64 *)(r1 + 152) = r2\nr0 = 0\nexit',
    options: { data: frame, ctx: skbCtx([152, 7]) },
  },
  { name: 'tc: reads wire_len', type: 'SCHED_CLS', src: read(160), options: { data: frame } },
  {
    name: 'tc: data_end - data',
    type: 'SCHED_CLS',
    src: 'r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr0 = r3\nr0 -= r2\nexit',
    options: { data: frame },
  },
  {
    name: 'tc: data - data_meta',
    type: 'SCHED_CLS',
    src: 'r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 140)\nr0 = r2\nr0 -= r3\nexit',
    options: { data: frame },
  },
  {
    name: 'tc: direct packet write',
    type: 'SCHED_CLS',
    src: 'r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 1\nif r4 > r3 goto +2\nr5 = 0x77\n*(u8 *)(r2 + 0) = r5\nr0 = 0\nexit',
    options: { data: frame },
  },
  { name: 'tc: skb_store_bytes', type: 'SCHED_CLS', src: withStack(9, 2, 4), options: { data: frame } },
  {
    name: 'tc: skb_store_bytes bad flags',
    type: 'SCHED_CLS',
    src: withStack(9, 2, 4, 4),
    options: { data: frame },
  },
  {
    name: 'tc: skb_store_bytes past the end',
    type: 'SCHED_CLS',
    src: withStack(9, 57, 4),
    options: { data: frame },
  },
  {
    name: 'tc: l3_csum_replace 4 bytes',
    type: 'SCHED_CLS',
    src: call(10, 24, 0x01020304, 0x0a0b0c0d, 4),
    options: { data: frame },
  },
  {
    name: 'tc: l3_csum_replace 2 bytes',
    type: 'SCHED_CLS',
    src: call(10, 24, 0x0102, 0xfffe, 2),
    options: { data: frame },
  },
  {
    name: 'tc: l3_csum_replace by diff',
    type: 'SCHED_CLS',
    src: call(10, 24, 0, 0x12345678, 0),
    options: { data: frame },
  },
  {
    name: 'tc: l3_csum_replace odd offset',
    type: 'SCHED_CLS',
    src: call(10, 25, 0x0102, 0x0304, 2),
    options: { data: frame },
  },
  {
    name: 'tc: l3_csum_replace bad size',
    type: 'SCHED_CLS',
    src: call(10, 24, 0x0102, 0x0304, 3),
    options: { data: frame },
  },
  {
    name: 'tc: l4_csum_replace 4 bytes pseudo',
    type: 'SCHED_CLS',
    src: call(11, 50, 0x01020304, 0x0a0b0c0d, 0x14),
    options: { data: frame },
  },
  {
    name: 'tc: l4_csum_replace 2 bytes',
    type: 'SCHED_CLS',
    src: call(11, 50, 0x0102, 0xfffe, 2),
    options: { data: frame },
  },
  {
    name: 'tc: l4_csum_replace mangled zero',
    type: 'SCHED_CLS',
    src: call(11, 52, 0x0102, 0x0304, 0x22),
    options: { data: new Uint8Array(60).fill(0) },
  },
  { name: 'tc: redirect', type: 'SCHED_CLS', src: 'r1 = 1\nr2 = 0\ncall 23\nexit', options: { data: frame } },
  {
    name: 'tc: redirect ingress',
    type: 'SCHED_CLS',
    src: 'r1 = 1\nr2 = 1\ncall 23\nexit',
    options: { data: frame },
  },
  {
    name: 'tc: redirect bad flags',
    type: 'SCHED_CLS',
    src: 'r1 = 1\nr2 = 2\ncall 23\nexit',
    options: { data: frame },
  },
  // raw tracepoints
  {
    name: 'raw_tp: reads an argument',
    type: 'RAW_TRACEPOINT',
    src: read(8, 'u64'),
    options: { ctx: u32s(5, 0, 7, 0), ctxSizeOut: 0 },
  },
  {
    name: 'raw_tp: ctx_out is EINVAL',
    type: 'RAW_TRACEPOINT',
    src: 'r0 = 1\nexit',
    options: { ctx: u32s(5, 0, 7, 0) },
  },
  {
    name: 'raw_tp: data is EINVAL',
    type: 'RAW_TRACEPOINT',
    src: 'r0 = 1\nexit',
    options: { ctx: u32s(5, 0), ctxSizeOut: 0, data: frame },
  },
  {
    name: 'raw_tp: repeat is EINVAL',
    type: 'RAW_TRACEPOINT',
    src: 'r0 = 1\nexit',
    options: { ctx: u32s(5, 0), ctxSizeOut: 0, repeat: 2 },
  },
  { name: 'raw_tp: no ctx', type: 'RAW_TRACEPOINT', src: 'r0 = 1\nexit', options: {} },
  { name: 'raw_tp: on CPU 1', type: 'RAW_TRACEPOINT', src: 'call 8\nexit', options: { cpu: 1 } },
  { name: 'raw_tp: retval u32', type: 'RAW_TRACEPOINT', src: 'r0 = 0x100000003 ll\nexit', options: {} },
  { name: 'tracepoint: no test run', type: 'TRACEPOINT', src: 'r0 = 1\nexit', options: {} },
];

describe('test-run quirks, VM against kernel', () => {
  for (const c of cases) {
    kernelTest(c.name, (_t, k) => {
      const insns = assemble(c.src);
      const native = k.loadProgram({ type: c.type, insns, license: 'GPL', name: 'quirk' });
      try {
        const expected = outcome(() => native.testRun(c.options));
        const vm = new Vm({ devices: hostDevices() });
        const program = vm.loadProgram({ type: c.type, insns, name: 'quirk' });
        assert.deepEqual(
          outcome(() => vm.testRun(program, c.options)),
          expected,
        );
      } finally {
        native.close();
      }
    });
  }
});

describe('test-run rules in the VM alone', () => {
  test('kernel errors are TestRunErrors with the errno name', () => {
    const vm = new Vm();
    const program = vm.loadProgram({ type: 'XDP', insns: assemble('r0 = 2\nexit'), name: 'p' });
    assert.throws(
      () => vm.testRun(program, { data: frame.subarray(0, 13) }),
      (error: unknown) => error instanceof TestRunError && error.code === 'EINVAL' && error.errno === 22,
    );
    assert.throws(
      () => vm.testRun(program, { data: frame, ctx: u32s(0, 60, 0, 999, 0, 0) }),
      (error: unknown) => error instanceof TestRunError && error.code === 'ENODEV',
    );
  });

  test('repeat is the kernel’s u32: a larger, negative or fractional count is EINVAL', () => {
    const vm = new Vm();
    const program = vm.loadProgram({ type: 'XDP', insns: assemble('r0 = 2\nexit'), name: 'p' });
    for (const repeat of [2 ** 32, -1, 1.5])
      assert.throws(
        () => vm.testRun(program, { data: frame, repeat }),
        (error: unknown) =>
          error instanceof TestRunError && error.code === 'EINVAL' && /not a u32/.test(error.message),
      );
    assert.equal(vm.testRun(program, { data: frame, repeat: 3 }).retval, 2);
  });

  test('a socket filter sees the packet after the Ethernet header and returns it zeroed', () => {
    const vm = new Vm();
    const program = vm.loadProgram({ type: 'SOCKET_FILTER', insns: assemble(read(0)), name: 'p' });
    const result = vm.testRun(program, { data: frame });
    assert.equal(result.retval, 46);
    assert.deepEqual(result.dataOut.subarray(0, 14), new Uint8Array(14));
    assert.deepEqual(result.dataOut.subarray(14), frame.subarray(14));
  });

  test('packet helpers are refused for program types that lack them', () => {
    const vm = new Vm();
    assert.throws(
      () => vm.loadProgram({ type: 'SOCKET_FILTER', insns: assemble(withStack(9, 0, 4)), name: 'p' }),
      (error: unknown) => error instanceof ProgramTypeError && error.helper === 'skb_store_bytes',
    );
    assert.throws(
      () => vm.loadProgram({ type: 'XDP', insns: assemble('r6 = r1\nr0 = *(u8 *)skb[0]\nexit'), name: 'p' }),
      ProgramTypeError,
    );
  });

  // The verifier refuses these writes at load; unverified, the run itself still refuses them.
  test('a write to a read-only __sk_buff field fails the run', () => {
    const vm = new Vm();
    const load = (verify: boolean) =>
      vm.loadProgram({
        type: 'SOCKET_FILTER',
        insns: assemble('r2 = 5\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit'),
        name: 'p',
        verify,
      });
    assert.throws(() => load(true), VerifierRejectedError);
    assert.throws(() => vm.testRun(load(false), { data: frame }), /__sk_buff->mark/);
  });

  test('the XDP context is read-only', () => {
    const vm = new Vm();
    const load = (verify: boolean) =>
      vm.loadProgram({
        type: 'XDP',
        insns: assemble('r2 = 5\n*(u32 *)(r1 + 12) = r2\nr0 = 0\nexit'),
        name: 'p',
        verify,
      });
    assert.throws(() => load(true), VerifierRejectedError);
    assert.throws(() => vm.testRun(load(false), { data: frame }), /read-only/);
  });

  test('redirects are recorded in the result', () => {
    const vm = new Vm();
    const program = vm.loadProgram({
      type: 'XDP',
      insns: assemble('r1 = 7\nr2 = 0\ncall 23\nexit'),
      name: 'p',
    });
    const result = vm.testRun(program, { data: frame });
    assert.equal(result.retval, 4);
    assert.deepEqual(result.redirect, { kind: 'ifindex', ifindex: 7, flags: 0 });
  });
});

// ---- random straight-line XDP programs on both backends ----

const ALU = ['+=', '-=', '*=', '|=', '&=', '^=', '<<=', '>>=', 's>>='] as const;

/** One random instruction of a straight-line program over r0, r6–r9 (r7 = data, r8 = data_end). */
const insnArbitrary = fc.oneof(
  fc.record({
    kind: fc.constant('alu' as const),
    dst: fc.constantFrom(0, 6, 9),
    op: fc.constantFrom(...ALU),
    src: fc.oneof(fc.constantFrom('r0', 'r6', 'r9'), fc.integer({ min: -1000, max: 1000 }).map(String)),
    wide: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('load' as const),
    dst: fc.constantFrom(0, 6, 9),
    offset: fc.integer({ min: 0, max: 56 }),
    size: fc.constantFrom('u8', 'u16', 'u32', 'u64'),
  }),
  fc.record({ kind: fc.constant('count' as const), key: fc.integer({ min: 0, max: 3 }) }),
);
type Step = typeof insnArbitrary extends fc.Arbitrary<infer T> ? T : never;

/** Assemble steps after a 64-byte bounds check, so packet loads at offsets 0–56 verify. */
function program(steps: readonly Step[]): string {
  const body = steps.map((step) => {
    switch (step.kind) {
      case 'alu': {
        const shift = step.op.includes('<') || step.op.includes('>');
        const src =
          shift && !step.src.startsWith('r')
            ? String(Math.abs(Number(step.src)) % (step.wide ? 64 : 32))
            : step.src;
        if (shift && src.startsWith('r')) return `r${step.dst} ${step.op} 3`;
        return step.wide
          ? `r${step.dst} ${step.op} ${src}`
          : `w${step.dst} ${step.op} ${src.replace('r', 'w')}`;
      }
      case 'load':
        return `r${step.dst} = *(${step.size} *)(r7 + ${step.offset})`;
      case 'count':
        // counts[key] += r6 through a map value pointer.
        return [
          `r1 = ${step.key}`,
          '*(u32 *)(r10 - 4) = r1',
          'r1 = map[idx:0]',
          'r2 = r10',
          'r2 += -4',
          'call 1',
          'if r0 == 0 goto +2',
          'r1 = *(u64 *)(r0 + 0)',
          'r1 += r6',
          'if r0 == 0 goto +1',
          '*(u64 *)(r0 + 0) = r1',
          'r0 = 0',
        ].join('\n');
      default:
        throw new Error('unreachable');
    }
  });
  return [
    'r7 = *(u32 *)(r1 + 0)',
    'r8 = *(u32 *)(r1 + 4)',
    'r0 = r7',
    'r0 += 64',
    'if r0 > r8 goto out',
    'r0 = 0',
    'r6 = 1',
    'r9 = 2',
    ...body,
    'r0 ^= r6',
    'r0 ^= r9',
    'exit',
    'out:',
    'r0 = 1',
    'exit',
  ].join('\n');
}

describe('random straight-line XDP programs', () => {
  kernelTest('VM and kernel agree on retval, data_out and map contents', (_t, k) => {
    const spec: MapSpec = { name: 'counts', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 4 };
    fc.assert(
      fc.property(
        fc.array(insnArbitrary, { minLength: 1, maxLength: 24 }),
        fc.uint8Array({ minLength: 14, maxLength: 128 }),
        (steps, data) => {
          const source = program(steps);
          const insns = assemble(source);
          const map = k.createMap(spec);
          try {
            const native = k.loadProgram({ type: 'XDP', insns, license: 'GPL', fdArray: [map.fd] });
            let expected: Outcome;
            try {
              expected = outcome(() => native.testRun({ data }));
            } finally {
              native.close();
            }
            const vm = new Vm();
            const counts = vm.maps.create(spec);
            const loaded = vm.loadProgram({ type: 'XDP', insns, fdArray: [counts] });
            assert.deepEqual(
              outcome(() => vm.testRun(loaded, { data })),
              expected,
              source,
            );
            assert.deepEqual(contents(counts), contents(map), source);
          } finally {
            map.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
