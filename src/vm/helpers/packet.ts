/**
 * Packet helpers, by the kernel's ids and prototypes (`net/core/filter.c`, Linux 6.18): XDP head,
 * tail and metadata adjustment, skb byte loads and stores, checksum arithmetic, redirects — and
 * the legacy `BPF_LD_ABS`/`BPF_LD_IND` packet loads of socket filters.
 *
 * Each helper works on the packet of the test run in progress ({@link PacketState}); the
 * {@link PACKET_HELPER_TYPES} table says which program kinds may call it (the kernel's
 * `*_func_proto`), and the VM refuses to load a program calling one its type lacks, as the
 * verifier does ("program of this type cannot use helper …").
 *
 * Error returns are the kernel's: a negative errno in r0 (EINVAL, EFAULT), or for redirects a
 * verdict (`XDP_ABORTED`, `TC_ACT_SHOT`).
 */
import { Errno } from '../../errno.js';
import { helperId } from '../../isa/helper-ids.js';
import { MapError } from '../../maps/ops.js';
import type { PacketKind, PacketState } from '../context/packet.js';
import { XdpAction } from '../context/xdp.js';
import { VmError } from '../errors.js';
import type { Helper, HelperFn } from '../helpers.js';
import { MapArgumentError } from '../maps/base.js';
import type { VmMapRegistry } from '../maps/registry.js';
import { SlotArrayMap } from '../maps/slot-maps.js';
import { checkedArgument, HelperArgumentError, readableArgument } from './common.js';

const u64 = (value: number | bigint): bigint => BigInt.asUintN(64, BigInt(value));
const err = (errno: number): bigint => u64(-errno);
/** `ETH_HLEN`: a packet never shrinks below an Ethernet header. */
const ETH_HLEN = 14;
/** tc verdicts (`TC_ACT_*`) the redirect helper returns. */
const TcAction = { SHOT: 2, REDIRECT: 7 } as const;

/** The program kinds (of {@link PacketKind}) that may call each packet helper, by helper name. */
export const PACKET_HELPER_TYPES: Readonly<Record<string, readonly PacketKind[]>> = {
  xdp_adjust_head: ['xdp'],
  xdp_adjust_tail: ['xdp'],
  xdp_adjust_meta: ['xdp'],
  xdp_load_bytes: ['xdp'],
  xdp_store_bytes: ['xdp'],
  xdp_get_buff_len: ['xdp'],
  redirect_map: ['xdp'],
  redirect: ['xdp', 'tc'],
  csum_diff: ['xdp', 'tc'],
  fib_lookup: ['xdp', 'tc'],
  skb_load_bytes: ['socket', 'tc', 'cgroup'],
  skb_load_bytes_relative: ['socket', 'tc', 'cgroup'],
  skb_store_bytes: ['tc'],
  l3_csum_replace: ['tc'],
  l4_csum_replace: ['tc'],
};

/** A helper called with no packet test run in progress (the VM's plain `run`). */
export class NoPacketError extends VmError {
  override name = 'NoPacketError';
}

function id(name: string): number {
  const value = helperId(name);
  if (value === undefined) throw new HelperArgumentError(name, 'no helper of this name in enum bpf_func_id');
  return value;
}

/** A helper's `int` argument. */
const int = (value: bigint): number => Number(BigInt.asIntN(32, value));
/** A helper's `u32` argument. */
const uint = (value: bigint): number => Number(BigInt.asUintN(32, value));

// ---- Internet checksum arithmetic, as x86-64 computes it (arch/x86/include/asm/checksum_64.h) ----

/** `csum_add`: 32-bit ones'-complement addition (end-around carry). */
export function csumAdd(a: number, b: number): number {
  const sum = (a >>> 0) + (b >>> 0);
  return (sum + (sum > 0xffffffff ? 1 : 0)) >>> 0;
}

/** `csum_sub`. */
export function csumSub(a: number, b: number): number {
  return csumAdd(a, ~b >>> 0);
}

/** `csum_fold`: fold a 32-bit partial sum to the complemented 16-bit checksum. */
export function csumFold(sum: number): number {
  let s = sum >>> 0;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** `csum_from32to16`: fold a 32-bit partial sum to 16 bits without complementing it. */
export function csumFrom32To16(sum: number): number {
  let s = sum >>> 0;
  s = (s & 0xffff) + (s >>> 16);
  return (s & 0xffff) + (s >>> 16);
}

/**
 * `csum_partial` of x86-64: a 64-bit ones'-complement sum of little-endian 8-byte words (then a
 * 4-byte one; helper sizes are multiples of 4), folded to 32 bits. The exact 32-bit value, not just
 * its class modulo 0xffff, is what `bpf_csum_diff` returns, so the fold order matters.
 */
export function csumPartial(bytes: Uint8Array, seed: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sum = BigInt(seed >>> 0);
  const add = (word: bigint) => {
    sum += word;
    if (sum >= 1n << 64n) sum = (sum & ((1n << 64n) - 1n)) + 1n;
  };
  let i = 0;
  for (; i + 8 <= bytes.length; i += 8) add(view.getBigUint64(i, true));
  if (i + 4 <= bytes.length) {
    add(BigInt(view.getUint32(i, true)));
    i += 4;
  }
  return csumAdd(Number(sum >> 32n), Number(sum & 0xffffffffn));
}

/** `csum_replace4` on the 16-bit checksum at `address` (values as the program holds them). */
function csumReplace4(view: DataView, address: number, from: number, to: number): void {
  const old = view.getUint16(address, true);
  const tmp = csumSub(~old & 0xffff, from >>> 0);
  view.setUint16(address, csumFold(csumAdd(tmp, to >>> 0)), true);
}

/** `csum_replace2`: 16-bit ones'-complement arithmetic. */
function csumReplace2(view: DataView, address: number, from: number, to: number): void {
  const add16 = (a: number, b: number) => {
    const s = a + b;
    return (s & 0xffff) + (s >>> 16);
  };
  const old = view.getUint16(address, true);
  const diff = add16(~old & 0xffff, ~from & 0xffff);
  view.setUint16(address, ~add16(diff, to & 0xffff) & 0xffff, true);
}

/** `csum_replace_by_diff`. */
function csumReplaceByDiff(view: DataView, address: number, diff: number): void {
  const old = view.getUint16(address, true);
  view.setUint16(address, csumFold(csumAdd(diff >>> 0, ~old & 0xffff)), true);
}

/**
 * The packet helpers over the test run in progress (`packet()`); `maps` resolves the map argument
 * of `bpf_redirect_map`.
 */
export function packetHelpers(packet: () => PacketState | undefined, maps: VmMapRegistry): Helper[] {
  const current = (name: string): PacketState => {
    const state = packet();
    if (!state) throw new HelperArgumentError(name, 'needs a packet: run the program with testRun');
    return state;
  };
  /** Check a program buffer argument and give its address (the verifier proved it). */
  const buffer = (state: PacketState, address: bigint, size: number, write: boolean, name: string): number =>
    checkedArgument(state.memory, name, write ? 'to' : 'from', address, Math.max(size, 1), write);
  const helper = (name: string, call: HelperFn): Helper => ({ id: id(name), name, call });

  /** Copy between the XDP packet (linear part, then fragments) and a buffer (`bpf_xdp_copy_buf`). */
  const xdpCopy = (state: PacketState, offset: number, buf: number, len: number, store: boolean): void => {
    const bytes = state.memory.bytes;
    const linear = state.dataEnd - state.data;
    for (let i = 0; i < len; i++) {
      const at = offset + i;
      if (at < linear) {
        if (store) bytes[state.data + at] = bytes[buf + i];
        else bytes[buf + i] = bytes[state.data + at];
      } else if (store) state.frags[at - linear] = bytes[buf + i];
      else bytes[buf + i] = state.frags[at - linear];
    }
  };

  return [
    helper('xdp_adjust_head', (_env, _ctx, delta) => {
      const state = current('xdp_adjust_head');
      const offset = int(delta);
      const metalen = state.data - state.dataMeta;
      const data = state.data + offset;
      // The metadata moves with the packet start; it must stay above the reserved xdp_frame.
      if (data < state.hardStart + metalen || data > state.dataEnd - ETH_HLEN) return err(Errno.EINVAL);
      if (metalen) state.memory.bytes.copyWithin(state.dataMeta + offset, state.dataMeta, state.data);
      state.dataMeta += offset;
      state.data = data;
      state.syncContext();
      return 0n;
    }),
    helper('xdp_adjust_meta', (_env, _ctx, delta) => {
      const state = current('xdp_adjust_meta');
      const meta = state.dataMeta + int(delta);
      if (meta < state.hardStart || meta > state.data) return err(Errno.EINVAL);
      const metalen = state.data - meta;
      if (metalen % 4 !== 0 || metalen > 255) return err(Errno.EACCES);
      state.dataMeta = meta;
      state.syncContext();
      return 0n;
    }),
    helper('xdp_adjust_tail', (_env, _ctx, delta) => {
      const state = current('xdp_adjust_tail');
      const offset = int(delta);
      if (state.frags.length)
        throw new HelperArgumentError(
          'xdp_adjust_tail',
          'a multi-buffer (fragmented) packet is not modelled by the VM',
        );
      const end = state.dataEnd + offset;
      if (end > state.hardEnd || end < state.data + ETH_HLEN) return err(Errno.EINVAL);
      // Growing clears the new bytes: they could hold stale data.
      if (offset > 0) state.memory.bytes.fill(0, state.dataEnd, end);
      state.dataEnd = end;
      state.syncContext();
      return 0n;
    }),
    helper('xdp_get_buff_len', () => {
      const state = current('xdp_get_buff_len');
      return BigInt(state.dataEnd - state.data + state.frags.length);
    }),
    helper('xdp_load_bytes', (_env, _ctx, offset, buf, len) => {
      const state = current('xdp_load_bytes');
      const size = uint(len);
      if (uint(offset) + size > state.dataEnd - state.data + state.frags.length) return err(Errno.EINVAL);
      xdpCopy(state, uint(offset), buffer(state, buf, size, true, 'xdp_load_bytes'), size, false);
      return 0n;
    }),
    helper('xdp_store_bytes', (_env, _ctx, offset, buf, len) => {
      const state = current('xdp_store_bytes');
      const size = uint(len);
      if (uint(offset) + size > state.dataEnd - state.data + state.frags.length) return err(Errno.EINVAL);
      xdpCopy(state, uint(offset), buffer(state, buf, size, false, 'xdp_store_bytes'), size, true);
      return 0n;
    }),
    helper('skb_load_bytes', (_env, _skb, offset, to, len) => {
      const state = current('skb_load_bytes');
      const size = uint(len);
      const target = buffer(state, to, size, true, 'skb_load_bytes');
      const start = uint(offset);
      // An offset above INT_MAX (a negative int) or past the end fails, clearing the buffer.
      if (start > 0x7fffffff || start + size > state.dataEnd - state.data) {
        state.memory.bytes.fill(0, target, target + size);
        return err(Errno.EFAULT);
      }
      state.memory.bytes.copyWithin(target, state.data + start, state.data + start + size);
      return 0n;
    }),
    helper('skb_load_bytes_relative', (_env, _skb, offset, to, len, header) => {
      const state = current('skb_load_bytes_relative');
      const size = uint(len);
      const target = buffer(state, to, size, true, 'skb_load_bytes_relative');
      const start = header === 0n ? state.mac : header === 1n ? state.network : -1;
      const from = start + uint(offset);
      if (start < 0 || uint(offset) > 0xffff || from + size > state.dataEnd) {
        state.memory.bytes.fill(0, target, target + size);
        return err(Errno.EFAULT);
      }
      state.memory.bytes.copyWithin(target, from, from + size);
      return 0n;
    }),
    helper('skb_store_bytes', (_env, _skb, offset, from, len, flags) => {
      const state = current('skb_store_bytes');
      const size = uint(len);
      const source = buffer(state, from, size, false, 'skb_store_bytes');
      // BPF_F_RECOMPUTE_CSUM (1) and BPF_F_INVALIDATE_HASH (2) only.
      if (flags & ~3n) return err(Errno.EINVAL);
      const start = uint(offset);
      if (start > 0x7fffffff || start + size > state.dataEnd - state.data) return err(Errno.EFAULT);
      state.memory.bytes.copyWithin(state.data + start, source, source + size);
      if (flags & 2n) state.hash = 0;
      return 0n;
    }),
    helper('csum_diff', (env, from, fromSize, to, toSize, seed) => {
      const fromLength = uint(fromSize);
      const toLength = uint(toSize);
      // Sizes are multiples of 4 and together fit the 512-byte scratch buffer.
      if ((fromLength | toLength) & 3 || fromLength + toLength > 512) return err(Errno.EINVAL);
      // Both buffers are checked as loads of their bytes would be (ARG_PTR_TO_MEM_OR_NULL with
      // a size that may be zero: NULL is fine only for zero bytes).
      const fromBytes = readableArgument(env.memory, 'csum_diff', 'from', from, fromLength);
      const toBytes = readableArgument(env.memory, 'csum_diff', 'to', to, toLength);
      const diff = new Uint8Array(fromLength + toLength);
      const view = new DataView(diff.buffer);
      const fromView = new DataView(fromBytes.buffer);
      const toView = new DataView(toBytes.buffer);
      for (let i = 0; i < fromLength; i += 4) view.setUint32(i, ~fromView.getUint32(i, true) >>> 0, true);
      for (let i = 0; i < toLength; i += 4) view.setUint32(fromLength + i, toView.getUint32(i, true), true);
      // Since Linux 6.12 every architecture returns the sum folded to 16 bits (not complemented);
      // measured: from 0x01020304, to 0x0a0b0c0d, seed 0x1234 gives 0x2446.
      return BigInt(csumFrom32To16(csumPartial(diff, uint(seed))));
    }),
    helper('l3_csum_replace', (_env, _skb, offset, from, to, flags) => {
      const state = current('l3_csum_replace');
      if (flags & ~0xfn) return err(Errno.EINVAL);
      const at = uint(offset);
      if (at > 0xffff || at & 1 || at + 2 > state.dataEnd - state.data) return err(Errno.EFAULT);
      const view = state.memory.view;
      const address = state.data + at;
      switch (Number(flags & 0xfn)) {
        case 0:
          if (from !== 0n) return err(Errno.EINVAL);
          csumReplaceByDiff(view, address, uint(to));
          break;
        case 2:
          csumReplace2(view, address, uint(from), uint(to));
          break;
        case 4:
          csumReplace4(view, address, uint(from), uint(to));
          break;
        default:
          return err(Errno.EINVAL);
      }
      return 0n;
    }),
    helper('l4_csum_replace', (_env, _skb, offset, from, to, flags) => {
      const state = current('l4_csum_replace');
      // BPF_F_HDR_FIELD_MASK, PSEUDO_HDR (0x10), MARK_MANGLED_0 (0x20), MARK_ENFORCE (0x40), IPV6 (0x80).
      if (flags & ~0xffn) return err(Errno.EINVAL);
      const at = uint(offset);
      if (at > 0xffff || at & 1 || at + 2 > state.dataEnd - state.data) return err(Errno.EFAULT);
      const view = state.memory.view;
      const address = state.data + at;
      const mangledZero = (flags & 0x20n) !== 0n;
      if (mangledZero && !(flags & 0x40n) && view.getUint16(address, true) === 0) return 0n;
      // The test run's skb is CHECKSUM_NONE, so the pseudo-header flag changes nothing here.
      switch (Number(flags & 0xfn)) {
        case 0:
          if (from !== 0n) return err(Errno.EINVAL);
          csumReplaceByDiff(view, address, uint(to));
          break;
        case 2:
          csumReplace4(view, address, uint(from) & 0xffff, uint(to) & 0xffff);
          break;
        case 4:
          csumReplace4(view, address, uint(from), uint(to));
          break;
        default:
          return err(Errno.EINVAL);
      }
      if (mangledZero && view.getUint16(address, true) === 0) view.setUint16(address, 0xffff, true);
      return 0n;
    }),
    helper('redirect', (_env, ifindex, flags) => {
      const state = current('redirect');
      if (state.kind === 'xdp') {
        if (flags !== 0n) return BigInt(XdpAction.ABORTED);
        state.redirect = { kind: 'ifindex', ifindex: uint(ifindex), flags: 0 };
        return BigInt(XdpAction.REDIRECT);
      }
      // BPF_F_INGRESS (1) is the only flag a tc redirect takes.
      if (flags & ~1n) return BigInt(TcAction.SHOT);
      state.redirect = { kind: 'ifindex', ifindex: uint(ifindex), flags: Number(flags) };
      return BigInt(TcAction.REDIRECT);
    }),
    helper('redirect_map', (_env, handle, key, flags) => {
      const state = current('redirect_map');
      const map = maps.mapByHandle(handle);
      if (!map) throw new MapArgumentError(`bpf_redirect_map: 0x${handle.toString(16)} is not a map`);
      // The low two bits are the verdict when the slot is empty; BROADCAST (8) and
      // EXCLUDE_INGRESS (16) are for DEVMAPs only.
      const broadcast = map.spec.type === 'DEVMAP' || map.spec.type === 'DEVMAP_HASH' ? 0x18n : 0n;
      if (flags & ~(3n | broadcast)) return BigInt(XdpAction.ABORTED);
      const index = uint(key);
      const keyBytes = new Uint8Array(new Uint32Array([index]).buffer);
      let present = false;
      try {
        // XSKMAP slots are sockets user space cannot read back; empty ones are not targets.
        present =
          map instanceof SlotArrayMap ? map.valueAt(index) !== undefined : map.lookup(keyBytes) !== undefined;
      } catch (error) {
        if (!(error instanceof MapError)) throw error;
      }
      if (!present && !(flags & 8n)) return flags & 3n;
      state.redirect = {
        kind: 'map',
        map: map.name,
        mapType: map.spec.type,
        key: index,
        flags: Number(flags),
      };
      return BigInt(XdpAction.REDIRECT);
    }),
  ];
}

/** `SKF_NET_OFF` and `SKF_LL_OFF`: negative `ld_abs` offsets relative to the network and link-layer headers. */
const SKF_NET_OFF = -0x100000;
const SKF_LL_OFF = -0x200000;

/**
 * A legacy packet load (`BPF_LD_ABS`/`BPF_LD_IND` of `size` bytes at `offset`, already including
 * the index register): the big-endian value, or undefined when it is out of the packet — then the
 * program returns 0 at once (the kernel's `bpf_gen_ld_abs` sequence). Offsets are relative to
 * `skb->data`; negative ones in the `SKF_NET_OFF`/`SKF_LL_OFF` windows to the network or link-layer
 * header, bounded by the buffer's tail.
 */
export function loadPacketAbs(state: PacketState, offset: number, size: 1 | 2 | 4): number | undefined {
  let at: number;
  if (offset >= 0) at = state.data + offset;
  else if (offset >= SKF_NET_OFF) at = state.network + offset - SKF_NET_OFF;
  else if (offset >= SKF_LL_OFF) at = state.mac + offset - SKF_LL_OFF;
  else return undefined;
  if (at < state.frame.start || at + size > state.dataEnd) return undefined;
  const view = state.memory.view;
  return size === 1 ? view.getUint8(at) : size === 2 ? view.getUint16(at, false) : view.getUint32(at, false);
}
