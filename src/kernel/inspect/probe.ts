/**
 * Feature probes for a future `tsbpf feature` command: does this kernel know a program type, a map
 * type, a helper for a program type? Each loads or creates the smallest object that exercises the
 * feature, as bpftool and libbpf do (`libbpf_probes.c`), and reads the verdict from the errno or
 * the verifier log.
 *
 * A probe that cannot tell (EPERM: not privileged) throws rather than answering "no".
 */
import { MapFlags } from '../../maps/ops.js';
import {
  AttachType,
  type AttachTypeName,
  MapType,
  type MapTypeName,
  ProgType,
  type ProgTypeName,
} from '../../uapi.js';
import { cString } from '../sys/attr.js';
import { BpfSyscallError } from '../sys/errors.js';
import { bpfCall, bpfTry } from '../sys/objects.js';
import { getSys, type Sys } from '../sys/syscall.js';

/** `r0 = 0; exit`, or `call helper; exit`: the two probe programs. */
function probeInsns(helper?: number): Uint8Array {
  const bytes = new Uint8Array(new ArrayBuffer(16));
  const view = new DataView(bytes.buffer);
  if (helper === undefined) {
    bytes[0] = 0xb7; // mov64 r0, imm 0
  } else {
    bytes[0] = 0x85; // call imm
    view.setInt32(4, helper, true);
  }
  bytes[8] = 0x95; // exit
  return bytes;
}

/** How to make a program type loadable at all: what the kernel insists on at load time. */
interface ProgProbeSetup {
  readonly expectedAttachType?: AttachTypeName;
  readonly attachBtfId?: number;
  readonly progFlags?: number;
  /**
   * Types that need an attach target always fail; a log line proves the kernel got past the type
   * check (so knows the type).
   */
  readonly expectLog?: string;
}

const PROG_SETUP: Partial<Record<ProgTypeName, ProgProbeSetup>> = {
  CGROUP_SOCK_ADDR: { expectedAttachType: 'CGROUP_INET4_CONNECT' },
  CGROUP_SOCKOPT: { expectedAttachType: 'CGROUP_GETSOCKOPT' },
  SK_LOOKUP: { expectedAttachType: 'SK_LOOKUP' },
  LIRC_MODE2: { expectedAttachType: 'LIRC_MODE2' },
  NETFILTER: { expectedAttachType: 'NETFILTER' },
  SYSCALL: { progFlags: 1 << 4 /* BPF_F_SLEEPABLE */ },
  TRACING: {
    expectedAttachType: 'TRACE_FENTRY',
    attachBtfId: 1,
    expectLog: 'attach_btf_id 1 is not a function',
  },
  LSM: { expectedAttachType: 'LSM_MAC', attachBtfId: 1, expectLog: 'attach_btf_id 1 is not a function' },
  EXT: { attachBtfId: 1, expectLog: 'Cannot replace kernel functions' },
  STRUCT_OPS: { attachBtfId: 1, expectLog: 'attach_btf_id 1 is not a supported struct' },
};

/** Load a probe program and close it; returns the failure (if any) and the log. */
function probeLoad(
  sys: Sys,
  type: ProgTypeName,
  insns: Uint8Array,
  withLog: boolean,
): { error: BpfSyscallError | undefined; log: string } {
  const setup = PROG_SETUP[type] ?? {};
  const log = new Uint8Array(new ArrayBuffer(withLog || setup.expectLog ? 4096 : 0));
  const call = bpfTry(sys, 'PROG_LOAD', {
    prog_type: ProgType[type],
    insn_cnt: insns.length / 8,
    insns,
    license: cString('GPL'),
    log_level: log.length ? 1 : 0,
    log_size: log.length,
    log_buf: log.length ? log : null,
    expected_attach_type: setup.expectedAttachType ? AttachType[setup.expectedAttachType] : 0,
    attach_btf_id: setup.attachBtfId ?? 0,
    prog_flags: setup.progFlags ?? 0,
  });
  if (!call.error) sys.close(call.result);
  const end = log.indexOf(0);
  return { error: call.error, log: new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end)) };
}

function cannotTell(what: string, error: BpfSyscallError): never {
  throw new BpfSyscallError(error.cmd, error.errno, `probe ${what}: cannot tell`, { cause: error });
}

/** Whether the kernel can load programs of `type`. Throws when it cannot tell (EPERM). */
export function probeProgType(type: ProgTypeName, options: { sys?: Sys } = {}): boolean {
  const sys = getSys(options.sys);
  const { error, log } = probeLoad(sys, type, probeInsns(), false);
  const expect = PROG_SETUP[type]?.expectLog;
  if (expect && log.includes(expect)) return true;
  if (!error) return true;
  if (error.is('EINVAL') || error.is('EOPNOTSUPP') || error.is('ENOTSUPP') || error.is('E2BIG')) return false;
  cannotTell(`program type ${type}`, error);
}

/**
 * Whether programs of `progType` may call helper `helperId` (an `enum bpf_func_id` value). The
 * verifier says "invalid func", "unknown func" or "program of this type cannot use helper" when
 * not; any other outcome (success, or a complaint about arguments) means the helper is there.
 */
export function probeHelper(progType: ProgTypeName, helperId: number, options: { sys?: Sys } = {}): boolean {
  const sys = getSys(options.sys);
  const { error, log } = probeLoad(sys, progType, probeInsns(helperId), true);
  if (error && !log && !(error.is('EINVAL') || error.is('EACCES') || error.is('ENOSPC'))) {
    cannotTell(`helper ${helperId} for ${progType}`, error);
  }
  return !(
    log.includes('invalid func ') ||
    log.includes('unknown func ') ||
    log.includes('program of this type cannot use helper ')
  );
}

/** The smallest valid attributes per map type (libbpf's `probe_map_create`). */
function mapProbeAttrs(type: MapTypeName): {
  key: number;
  value: number;
  max: number;
  flags: number;
  btf?: boolean;
  btfVmlinuxValueTypeId?: number;
  expectErrno?: 'ENOTSUPP';
} {
  switch (type) {
    case 'STACK_TRACE':
      return { key: 4, value: 8, max: 1, flags: 0 };
    case 'LPM_TRIE':
      return { key: 8, value: 8, max: 1, flags: MapFlags.NO_PREALLOC };
    case 'CGROUP_STORAGE':
    case 'PERCPU_CGROUP_STORAGE':
      // key: struct bpf_cgroup_storage_key { __u64 cgroup_inode_id; __u32 attach_type; }, padded to 16
      return { key: 16, value: 8, max: 0, flags: 0 };
    case 'QUEUE':
    case 'STACK':
      return { key: 0, value: 4, max: 1, flags: 0 };
    case 'BLOOM_FILTER':
      return { key: 0, value: 4, max: 1, flags: 0 };
    case 'RINGBUF':
    case 'USER_RINGBUF':
      return { key: 0, value: 0, max: 4096, flags: 0 };
    case 'ARENA':
      return { key: 0, value: 0, max: 1, flags: MapFlags.MMAPABLE };
    case 'SK_STORAGE':
    case 'INODE_STORAGE':
    case 'TASK_STORAGE':
    case 'CGRP_STORAGE':
      return { key: 4, value: 8, max: 0, flags: MapFlags.NO_PREALLOC, btf: true };
    case 'STRUCT_OPS':
      // No struct has BTF id 1, so a kernel that knows the type fails with ENOTSUPP.
      return { key: 4, value: 256, max: 1, flags: 0, btfVmlinuxValueTypeId: 1, expectErrno: 'ENOTSUPP' };
    default:
      return { key: 4, value: 4, max: 1, flags: 0 };
  }
}

/**
 * BTF with `int` [1], `struct bpf_spin_lock { int val; }` [2] and
 * `struct val { int cnt; struct bpf_spin_lock l; }` [3]: what local-storage maps insist on.
 */
export function storageProbeBtf(): Uint8Array {
  const strings = new TextEncoder().encode('\0bpf_spin_lock\0val\0cnt\0l\0');
  const types = new Uint32Array([
    // [1] int: INT, size 4, signed 32 bits
    0, 0x01000000, 4, 0x01000020,
    // [2] struct bpf_spin_lock: STRUCT vlen 1, size 4; val: int at bit 0
    1, 0x04000001, 4, 15, 1, 0,
    // [3] struct val: STRUCT vlen 2, size 8; cnt: int at 0; l: bpf_spin_lock at bit 32
    15, 0x04000002, 8, 19, 1, 0, 23, 2, 32,
  ]);
  const header = 24;
  const bytes = new Uint8Array(new ArrayBuffer(header + types.byteLength + strings.length));
  const view = new DataView(bytes.buffer);
  view.setUint16(0, 0xeb9f, true); // magic
  view.setUint8(2, 1); // version
  view.setUint32(4, header, true); // hdr_len
  view.setUint32(8, 0, true); // type_off
  view.setUint32(12, types.byteLength, true); // type_len
  view.setUint32(16, types.byteLength, true); // str_off
  view.setUint32(20, strings.length, true); // str_len
  bytes.set(new Uint8Array(types.buffer), header);
  bytes.set(strings, header + types.byteLength);
  return bytes;
}

/** Whether the kernel can create maps of `type`. Throws when it cannot tell (EPERM). */
export function probeMapType(type: MapTypeName, options: { sys?: Sys } = {}): boolean {
  const sys = getSys(options.sys);
  const attrs = mapProbeAttrs(type);
  const fds: number[] = [];
  try {
    let btfFd = 0;
    if (attrs.btf) {
      const btf = bpfTry(sys, 'BTF_LOAD', { btf: storageProbeBtf(), btf_size: storageProbeBtf().length });
      if (btf.error) return false;
      btfFd = btf.result;
      fds.push(btfFd);
    }
    let innerFd = 0;
    if (type === 'ARRAY_OF_MAPS' || type === 'HASH_OF_MAPS') {
      innerFd = bpfCall(sys, 'MAP_CREATE', {
        map_type: MapType.HASH,
        key_size: 4,
        value_size: 4,
        max_entries: 1,
      }).result;
      fds.push(innerFd);
    }
    const call = bpfTry(sys, 'MAP_CREATE', {
      map_type: MapType[type],
      key_size: attrs.key,
      value_size: attrs.value,
      max_entries: attrs.max,
      map_flags: attrs.flags,
      inner_map_fd: innerFd,
      btf_fd: btfFd,
      btf_key_type_id: attrs.btf ? 1 : 0,
      btf_value_type_id: attrs.btf ? 3 : 0,
      btf_vmlinux_value_type_id: attrs.btfVmlinuxValueTypeId ?? 0,
    });
    if (!call.error) {
      fds.push(call.result);
      return attrs.expectErrno === undefined;
    }
    if (attrs.expectErrno && call.error.is(attrs.expectErrno)) return true;
    if (call.error.is('EPERM')) cannotTell(`map type ${type}`, call.error);
    return false;
  } finally {
    for (const fd of fds) sys.close(fd);
  }
}
