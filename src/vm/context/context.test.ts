// Context layouts against the UAPI header and tracefs, and tracepoint records run in the VM.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { assemble } from '../../isa/llvm.js';
import { runOnRecord } from '../test-run.js';
import { Vm } from '../vm.js';
import { decodeRawTpArgs, encodeRawTpArgs } from './raw-tp.js';
import { ethTypeTrans, PacketType, SK_BUFF_SIZE, SkBuff } from './skb.js';
import {
  buildTracepointRecord,
  parseTracepointFormat,
  readTracepointRecord,
  TracepointFormatError,
} from './tracepoint.js';
import { decodeXdpMd, encodeXdpMd, XDP_MAX_LINEAR, XDP_MD_SIZE, XdpMd } from './xdp.js';

const UAPI = '/usr/include/linux/bpf.h';

/** Field names of a struct in the UAPI header, in order (anonymous padding skipped). */
function uapiFields(struct: string): string[] {
  const text = readFileSync(UAPI, 'utf8');
  const body = new RegExp(`struct ${struct} \\{([\\s\\S]*?)\\n\\};`).exec(text)?.[1] ?? '';
  return [...body.matchAll(/(?:__bpf_md_ptr\([^,]+,\s*(\w+)\)|\b(\w+)(?:\[\d+\])?;)/g)]
    .map((m) => m[1] ?? m[2])
    .filter((name) => name !== undefined && !/^\d+$/.test(name)); // `__u32 :24;` padding
}

describe('struct layouts', () => {
  test('__sk_buff fields are the UAPI header fields, in order, 192 bytes', (t) => {
    if (!existsSync(UAPI)) return t.skip(`${UAPI} not installed`);
    assert.deepEqual(Object.keys(SkBuff), uapiFields('__sk_buff'));
    const fields = Object.values(SkBuff);
    for (let i = 1; i < fields.length; i++)
      assert.ok(fields[i].offset >= fields[i - 1].offset + fields[i - 1].size);
    assert.equal(SK_BUFF_SIZE, 192);
  });

  test('xdp_md fields are the UAPI header fields, in order', (t) => {
    if (!existsSync(UAPI)) return t.skip(`${UAPI} not installed`);
    assert.deepEqual(Object.keys(XdpMd), uapiFields('xdp_md'));
    assert.equal(XDP_MD_SIZE, 24);
    assert.equal(XDP_MAX_LINEAR, 3520);
  });

  test('xdp_md round-trips; short input is zero-extended', () => {
    const md = { data: 8, dataEnd: 60, dataMeta: 0, ingressIfindex: 1, rxQueueIndex: 0, egressIfindex: 0 };
    assert.deepEqual(decodeXdpMd(encodeXdpMd(md)), md);
    assert.deepEqual(decodeXdpMd(new Uint8Array([4, 0, 0, 0])), {
      ...md,
      data: 4,
      dataEnd: 0,
      ingressIfindex: 0,
    });
  });

  test('raw tracepoint args round-trip as u64', () => {
    assert.deepEqual(decodeRawTpArgs(encodeRawTpArgs([1, -1n, 2n ** 40n])), [1n, 2n ** 64n - 1n, 2n ** 40n]);
  });
});

describe('eth_type_trans on loopback', () => {
  const frame = (dest: number[], type: number[], next: number[] = [0x45, 0]) =>
    new Uint8Array([...dest, 1, 2, 3, 4, 5, 6, ...type, ...next]);
  const table: Array<[string, Uint8Array, number, number]> = [
    ['to lo', frame([0, 0, 0, 0, 0, 0], [8, 0]), PacketType.HOST, 0x0800],
    [
      'broadcast is multicast on lo',
      frame([255, 255, 255, 255, 255, 255], [8, 0]),
      PacketType.MULTICAST,
      0x0800,
    ],
    ['multicast', frame([1, 0, 0x5e, 0, 0, 1], [0x86, 0xdd]), PacketType.MULTICAST, 0x86dd],
    ['other host', frame([2, 0, 0, 0, 0, 1], [8, 6]), PacketType.OTHERHOST, 0x0806],
    ['802.3 length, LLC', frame([0, 0, 0, 0, 0, 0], [0, 0x2e], [0xaa, 0xaa]), PacketType.HOST, 0x0004],
    ['802.3 length, raw', frame([0, 0, 0, 0, 0, 0], [0, 0x2e], [0xff, 0xff]), PacketType.HOST, 0x0001],
  ];
  for (const [name, bytes, pktType, protocol] of table)
    test(name, () => assert.deepEqual(ethTypeTrans(bytes), { pktType, protocol }));
});

const EXECVE_FORMAT = `name: sys_enter_execve
ID: 862
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:const char * filename;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char *const * argv;\toffset:24;\tsize:8;\tsigned:0;
\tfield:const char *const * envp;\toffset:32;\tsize:8;\tsigned:0;

print fmt: "filename: 0x%08lx, argv: 0x%08lx, envp: 0x%08lx", ((unsigned long)(REC->filename)), ((unsigned long)(REC->argv)), ((unsigned long)(REC->envp))
`;

describe('tracepoint formats', () => {
  test('sys_enter_execve parses into its record layout', () => {
    const format = parseTracepointFormat(EXECVE_FORMAT);
    assert.equal(format.name, 'sys_enter_execve');
    assert.equal(format.id, 862);
    assert.equal(format.size, 40);
    assert.deepEqual(
      format.fields.map((f) => [f.name, f.type, f.offset, f.size, f.signed]),
      [
        ['common_type', 'unsigned short', 0, 2, false],
        ['common_flags', 'unsigned char', 2, 1, false],
        ['common_preempt_count', 'unsigned char', 3, 1, false],
        ['common_pid', 'int', 4, 4, true],
        ['__syscall_nr', 'int', 8, 4, true],
        ['filename', 'const char *', 16, 8, false],
        ['argv', 'const char *const *', 24, 8, false],
        ['envp', 'const char *const *', 32, 8, false],
      ],
    );
  });

  test('arrays and __data_loc fields', () => {
    const format = parseTracepointFormat(
      'name: t\nID: 1\nformat:\n\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:__data_loc char[] name;\toffset:24;\tsize:4;\tsigned:0;\n',
    );
    assert.equal(format.fields[0].arrayLength, 16);
    assert.equal(format.fields[0].type, 'char[16]');
    assert.equal(format.fields[1].dynamic, true);
    const record = buildTracepointRecord(format, { prev_comm: 'bash' });
    assert.deepEqual(
      readTracepointRecord(format, record).prev_comm,
      new Uint8Array([...Buffer.from('bash'), ...new Uint8Array(12)]),
    );
  });

  test('garbage is a typed error', () => {
    assert.throws(() => parseTracepointFormat('hello'), TracepointFormatError);
    assert.throws(
      () => parseTracepointFormat('name: x\nID: 1\n\tfield:int;offset:x;'),
      TracepointFormatError,
    );
  });

  test('every format file of this machine parses', (t) => {
    const root = '/sys/kernel/tracing/events/syscalls/sys_enter_execve/format';
    if (!existsSync(root)) return t.skip('tracefs not mounted or not readable');
    const format = parseTracepointFormat(readFileSync(root, 'utf8'));
    assert.equal(format.name, 'sys_enter_execve');
    assert.equal(format.fields.find((f) => f.name === 'filename')?.offset, 16);
  });

  test('a sys_enter_execve record feeds a tracepoint program in the VM', () => {
    const format = parseTracepointFormat(EXECVE_FORMAT);
    const record = buildTracepointRecord(format, {
      common_pid: 4242,
      __syscall_nr: 59,
      filename: 0x7fff0000n,
    });
    assert.deepEqual(readTracepointRecord(format, record).common_type, 862n);
    const vm = new Vm();
    // r0 = syscall nr + (filename >> 16): reads both fields at their format offsets.
    const program = vm.loadProgram({
      type: 'TRACEPOINT',
      insns: assemble('r2 = *(s32 *)(r1 + 8)\nr3 = *(u64 *)(r1 + 16)\nr3 >>= 16\nr0 = r2\nr0 += r3\nexit'),
      name: 'execve',
    });
    assert.equal(runOnRecord(vm, program, record).retval, 59 + 0x7fff);
    // The record is read-only, as the verifier makes tracepoint contexts (which refuses the
    // store at load; unverified, the run refuses it).
    const writer = vm.loadProgram({
      type: 'TRACEPOINT',
      insns: assemble('r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit'),
      verify: false,
    });
    assert.throws(() => runOnRecord(vm, writer, record), /read-only/);
  });
});
