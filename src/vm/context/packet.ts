/**
 * The packet a test run hands a program, as the packet helpers and legacy packet loads see it:
 * where the buffer, packet, metadata and headers are in VM memory, and what the program asked for
 * (a redirect). Addresses are absolute VM addresses; the program's context holds the same values in
 * its `data`/`data_end`/`data_meta` fields, and helpers that move them write both.
 *
 * ```
 *  frame.start        dataMeta      data (= mac for tc, network for sockets)      dataEnd  hardEnd
 *  |── headroom ──────|── meta ─────|── packet ────────────────────────────────────|── tailroom ─|
 * ```
 */
import type { Region, VmMemory } from '../memory.js';

/** Which kind of program the packet was built for. */
export type PacketKind = 'xdp' | 'socket' | 'tc' | 'cgroup';

/** Where `bpf_redirect` / `bpf_redirect_map` asked the packet to go. */
export type RedirectTarget =
  | { readonly kind: 'ifindex'; readonly ifindex: number; readonly flags: number }
  | {
      readonly kind: 'map';
      readonly map: string;
      readonly mapType: string;
      readonly key: number;
      readonly flags: number;
    };

/** The packet of one test run. Mutable: helpers move its pointers. */
export interface PacketState {
  readonly kind: PacketKind;
  readonly memory: VmMemory;
  /** The whole buffer (headroom, packet, tailroom). */
  readonly frame: Region;
  /** Address of the program's context. */
  readonly ctx: number;
  data: number;
  dataEnd: number;
  dataMeta: number;
  /** Highest `dataEnd` may grow to (XDP: the frame minus its reserved tailroom). */
  readonly hardEnd: number;
  /** Lowest address the metadata or packet may grow down to. */
  readonly hardStart: number;
  /** skb: the link-layer and network headers (`skb_mac_header`, `skb_network_header`). */
  readonly mac: number;
  readonly network: number;
  /** XDP: bytes past the linear part (fragments), which only the load/store-bytes helpers reach. */
  readonly frags: Uint8Array;
  /** skb: `skb->hash`, cleared by `BPF_F_INVALIDATE_HASH`. */
  hash: number;
  redirect: RedirectTarget | undefined;
  /** Write `data`/`data_end`/`data_meta` (and `len` for skbs) back into the context. */
  syncContext(): void;
}
