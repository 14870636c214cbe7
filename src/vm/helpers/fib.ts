/**
 * `bpf_fib_lookup` (69, since 4.18) over a routing table the caller gives the VM.
 *
 * `struct bpf_fib_lookup` (64 bytes): family @0, l4_protocol @1, sport @2, dport @4, tot_len /
 * mtu_result @6, ifindex @8, tos / flowinfo / rt_metric @12, src @16 (4 or 16 bytes), dst @32,
 * vlan / tbid @48, smac @52, dmac @58.
 *
 * Measured on Linux 6.18 from an XDP test run on loopback (forwarding off, as in a fresh
 * namespace): `plen` below 64 or an unknown flag is -EINVAL, a family other than AF_INET (2) or
 * AF_INET6 (10) -EAFNOSUPPORT, an ifindex with no device -ENODEV, and any valid lookup
 * BPF_FIB_LKUP_RET_FWD_DISABLED (5) — with or without BPF_FIB_LOOKUP_OUTPUT. That is what the VM
 * answers without a routing table. With one ({@link FibOptions}), the devices forward, and the
 * lookup follows `bpf_ipv4_fib_lookup`/`bpf_ipv6_fib_lookup`: the longest matching prefix, or
 * NOT_FWDED (4); blackhole / unreachable / prohibit routes give 1 / 2 / 3; a `tot_len` above the
 * route's MTU gives FRAG_NEEDED (8) with `mtu_result`; then `ifindex` becomes the route's device,
 * `dst` its gateway if it has one, `smac` the device's address, and `dmac` the neighbour's —
 * NO_NEIGH (7) when the route names none, unless BPF_FIB_LOOKUP_SKIP_NEIGH — and SUCCESS (0).
 */
import { Errno } from '../../errno.js';
import type { Helper } from '../helpers.js';
import type { TestRunDevice } from '../host.js';
import { defineHelper, negErrno, writableArgument } from './common.js';

/** `BPF_FIB_LKUP_RET_*`. */
export const FibResult = {
  SUCCESS: 0,
  BLACKHOLE: 1,
  UNREACHABLE: 2,
  PROHIBIT: 3,
  NOT_FWDED: 4,
  FWD_DISABLED: 5,
  UNSUPP_LWT: 6,
  NO_NEIGH: 7,
  FRAG_NEEDED: 8,
  NO_SRC_ADDR: 9,
} as const;

/** `BPF_FIB_LOOKUP_DIRECT | OUTPUT | SKIP_NEIGH | TBID | SRC | MARK`. */
const KNOWN_FLAGS = 0x3f;
const SKIP_NEIGH = 4;
const FIB_LOOKUP_SIZE = 64;
const AF_INET = 2;
const AF_INET6 = 10;

/** One route of the simulated table. */
export interface FibRoute {
  /** `10.0.0.0/8` or `2001:db8::/32`. */
  readonly prefix: string;
  /** `unicast` (default), or a route that refuses: `blackhole`, `unreachable`, `prohibit`. */
  readonly type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';
  /** Output device (it need not be one of the test-run devices). */
  readonly ifindex?: number;
  /** Next hop; without it the destination is on the link. */
  readonly gateway?: string;
  /** MAC of the output device (`smac`); default 00:00:00:00:00:00. */
  readonly smac?: string;
  /** MAC of the neighbour (`dmac`); without it the lookup is NO_NEIGH. */
  readonly dmac?: string;
  /** Route MTU; default 1500. */
  readonly mtu?: number;
}

/** The routing table of `bpf_fib_lookup`. */
export interface FibOptions {
  readonly routes: readonly FibRoute[];
}

/** Address bytes of an IPv4 or IPv6 literal (IPv6 with `::` shorthand). */
export function addressBytes(text: string): Uint8Array {
  if (text.includes(':')) {
    const [head, tail] = text.split('::') as [string, string | undefined];
    const words = (s: string | undefined) => (s ? s.split(':').map((w) => Number.parseInt(w, 16)) : []);
    const left = words(head);
    const right = words(tail);
    const all =
      tail === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
    if (all.length !== 8 || all.some((w) => !(w >= 0 && w <= 0xffff)))
      throw new Error(`bad IPv6 address '${text}'`);
    return new Uint8Array(all.flatMap((w) => [w >> 8, w & 0xff]));
  }
  const parts = text.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(Number.isInteger(p) && p >= 0 && p <= 255)))
    throw new Error(`bad IPv4 address '${text}'`);
  return new Uint8Array(parts);
}

function macBytes(text: string | undefined): Uint8Array {
  if (!text) return new Uint8Array(6);
  const parts = text.split(':').map((p) => Number.parseInt(p, 16));
  if (parts.length !== 6 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`bad MAC '${text}'`);
  return new Uint8Array(parts);
}

interface CompiledRoute {
  readonly route: FibRoute;
  readonly network: Uint8Array;
  readonly length: number;
}

function compileRoutes(routes: readonly FibRoute[]): CompiledRoute[] {
  return routes.map((route) => {
    const [address, bits] = route.prefix.split('/');
    const network = addressBytes(address);
    const length = bits === undefined ? network.length * 8 : Number(bits);
    if (!(Number.isInteger(length) && length >= 0 && length <= network.length * 8))
      throw new Error(`bad prefix '${route.prefix}'`);
    return { route, network, length };
  });
}

function matches(prefix: CompiledRoute, address: Uint8Array): boolean {
  if (prefix.network.length !== address.length) return false;
  for (let bit = 0; bit < prefix.length; bit++) {
    const mask = 0x80 >> (bit & 7);
    if ((prefix.network[bit >> 3] & mask) !== (address[bit >> 3] & mask)) return false;
  }
  return true;
}

/** `bpf_fib_lookup` over `fib` (none: forwarding disabled) for the test-run `devices`. */
export function fibHelpers(devices: () => readonly TestRunDevice[], fib?: FibOptions): Helper[] {
  const routes = fib ? compileRoutes(fib.routes) : undefined;
  return [
    defineHelper('fib_lookup', (env, _ctx, paramsArg, plenArg, flagsArg) => {
      const plen = Number(BigInt.asUintN(32, plenArg));
      if (plen < FIB_LOOKUP_SIZE) return negErrno(Errno.EINVAL);
      if (flagsArg & ~BigInt(KNOWN_FLAGS)) return negErrno(Errno.EINVAL);
      const at = writableArgument(env.memory, 'fib_lookup', 'params', paramsArg, FIB_LOOKUP_SIZE);
      const bytes = env.memory.bytes;
      const view = env.memory.view;
      const family = bytes[at];
      if (family !== AF_INET && family !== AF_INET6) return negErrno(Errno.EAFNOSUPPORT);
      const ifindex = view.getUint32(at + 8, true);
      if (!devices().some((d) => d.ifindex === ifindex)) return negErrno(Errno.ENODEV);
      if (!routes) return BigInt(FibResult.FWD_DISABLED);
      const size = family === AF_INET ? 4 : 16;
      const dst = bytes.slice(at + 32, at + 32 + size);
      let best: CompiledRoute | undefined;
      for (const r of routes) if (matches(r, dst) && (!best || r.length > best.length)) best = r;
      if (!best) return BigInt(FibResult.NOT_FWDED);
      const { route } = best;
      if (route.type === 'blackhole') return BigInt(FibResult.BLACKHOLE);
      if (route.type === 'unreachable') return BigInt(FibResult.UNREACHABLE);
      if (route.type === 'prohibit') return BigInt(FibResult.PROHIBIT);
      const mtu = route.mtu ?? 1500;
      const totLen = view.getUint16(at + 6, true);
      if (totLen > mtu) {
        view.setUint16(at + 6, mtu, true);
        return BigInt(FibResult.FRAG_NEEDED);
      }
      view.setUint32(at + 8, route.ifindex ?? ifindex, true);
      if (route.gateway) {
        const gateway = addressBytes(route.gateway);
        if (gateway.length === size) bytes.set(gateway, at + 32);
      }
      bytes.set(macBytes(route.smac), at + 52);
      view.setUint16(at + 6, mtu, true);
      if (Number(flagsArg) & SKIP_NEIGH) return BigInt(FibResult.SUCCESS);
      if (!route.dmac) return BigInt(FibResult.NO_NEIGH);
      bytes.set(macBytes(route.dmac), at + 58);
      return BigInt(FibResult.SUCCESS);
    }),
  ];
}
