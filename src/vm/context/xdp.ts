/**
 * `struct xdp_md`, the context of XDP programs, laid out as in `include/uapi/linux/bpf.h`:
 *
 * ```
 *  +0 data  +4 data_end  +8 data_meta  +12 ingress_ifindex  +16 rx_queue_index  +20 egress_ifindex
 * ```
 *
 * The kernel rewrites a program's 32-bit loads of `data`, `data_end` and `data_meta` into loads
 * of the real 64-bit pointers of its `xdp_buff`. VM addresses are below 4 GiB, so the VM gets the
 * same effect without rewriting: those u32 fields hold the packet's actual VM addresses.
 */

/** Bytes of `struct xdp_md`. */
export const XDP_MD_SIZE = 24;

/** Field offsets of `struct xdp_md`. */
export const XdpMd = {
  data: 0,
  data_end: 4,
  data_meta: 8,
  ingress_ifindex: 12,
  rx_queue_index: 16,
  egress_ifindex: 20,
} as const;

/** `XDP_PACKET_HEADROOM`: bytes before the packet that `bpf_xdp_adjust_head`/`_meta` may claim. */
export const XDP_PACKET_HEADROOM = 256;
/** The test run's frame: one page (`PAGE_SIZE` on x86-64). */
export const XDP_FRAME_SIZE = 4096;
/**
 * `sizeof(struct xdp_frame)` on x86-64 (Linux 6.18): the start of the headroom that stays reserved,
 * so the packet (with its metadata) can grow down to `XDP_PACKET_HEADROOM - 40` bytes (measured:
 * `bpf_xdp_adjust_head(ctx, -216)` succeeds, `-217` is EINVAL).
 */
export const XDP_FRAME_RESERVED = 40;
/**
 * `SKB_DATA_ALIGN(sizeof(struct skb_shared_info))` on x86-64: the tailroom the frame keeps, so a
 * test run's linear data is at most 4096 - 256 - 320 = 3520 bytes (measured).
 */
export const XDP_TAILROOM = 320;
/** Largest linear packet of an XDP test run without metadata. */
export const XDP_MAX_LINEAR = XDP_FRAME_SIZE - XDP_PACKET_HEADROOM - XDP_TAILROOM;

/** XDP verdicts (`enum xdp_action`). */
export const XdpAction = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;

/** The `struct xdp_md` a test run's `ctx_in` describes, validated as the kernel does. */
export interface XdpMdIn {
  readonly data: number;
  readonly dataEnd: number;
  readonly dataMeta: number;
  readonly ingressIfindex: number;
  readonly rxQueueIndex: number;
  readonly egressIfindex: number;
}

/** Decode a `struct xdp_md` (shorter input is zero-extended, as `bpf_ctx_init` does). */
export function decodeXdpMd(bytes: Uint8Array): XdpMdIn {
  const padded = new Uint8Array(XDP_MD_SIZE);
  padded.set(bytes.subarray(0, XDP_MD_SIZE));
  const view = new DataView(padded.buffer);
  return {
    data: view.getUint32(XdpMd.data, true),
    dataEnd: view.getUint32(XdpMd.data_end, true),
    dataMeta: view.getUint32(XdpMd.data_meta, true),
    ingressIfindex: view.getUint32(XdpMd.ingress_ifindex, true),
    rxQueueIndex: view.getUint32(XdpMd.rx_queue_index, true),
    egressIfindex: view.getUint32(XdpMd.egress_ifindex, true),
  };
}

/** Encode a `struct xdp_md`. */
export function encodeXdpMd(md: XdpMdIn): Uint8Array {
  const bytes = new Uint8Array(XDP_MD_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(XdpMd.data, md.data, true);
  view.setUint32(XdpMd.data_end, md.dataEnd, true);
  view.setUint32(XdpMd.data_meta, md.dataMeta, true);
  view.setUint32(XdpMd.ingress_ifindex, md.ingressIfindex, true);
  view.setUint32(XdpMd.rx_queue_index, md.rxQueueIndex, true);
  view.setUint32(XdpMd.egress_ifindex, md.egressIfindex, true);
  return bytes;
}

/**
 * Whether a metadata length is refused (`xdp_metalen_invalid`): not a multiple of 4, or more than
 * `skb_shared_info.meta_len` (a u8) can hold.
 */
export function xdpMetalenInvalid(length: number): boolean {
  return length % 4 !== 0 || length > 255;
}
