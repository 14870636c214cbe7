/**
 * `struct __sk_buff`, the context of socket filters and tc (sched_cls / sched_act) programs, laid
 * out as in `include/uapi/linux/bpf.h` (192 bytes on Linux 6.18):
 *
 * ```
 *   0 len            4 pkt_type        8 mark           12 queue_mapping   16 protocol
 *  20 vlan_present  24 vlan_tci       28 vlan_proto     32 priority        36 ingress_ifindex
 *  40 ifindex       44 tc_index       48 cb[5]          68 hash            72 tc_classid
 *  76 data          80 data_end       84 napi_id        88 family          92 remote_ip4
 *  96 local_ip4    100 remote_ip6[4] 116 local_ip6[4]  132 remote_port    136 local_port
 * 140 data_meta    144 flow_keys (8) 152 tstamp (8)    160 wire_len       164 gso_segs
 * 168 sk (8)       176 gso_size      180 tstamp_type (u8, 3 bytes padding)  184 hwtstamp (8)
 * ```
 *
 * As with `struct xdp_md`, the kernel rewrites loads of `data`, `data_end` and `data_meta` into
 * loads of real pointers; the VM stores its own (32-bit) packet addresses in those fields.
 */

/** Bytes of `struct __sk_buff`. */
export const SK_BUFF_SIZE = 192;

/** A field of `struct __sk_buff`: offset and size in bytes. */
export interface SkBuffField {
  readonly offset: number;
  readonly size: number;
}

const f = (offset: number, size = 4): SkBuffField => ({ offset, size });

/** The fields of `struct __sk_buff`, by their UAPI names. */
export const SkBuff = {
  len: f(0),
  pkt_type: f(4),
  mark: f(8),
  queue_mapping: f(12),
  protocol: f(16),
  vlan_present: f(20),
  vlan_tci: f(24),
  vlan_proto: f(28),
  priority: f(32),
  ingress_ifindex: f(36),
  ifindex: f(40),
  tc_index: f(44),
  cb: f(48, 20),
  hash: f(68),
  tc_classid: f(72),
  data: f(76),
  data_end: f(80),
  napi_id: f(84),
  family: f(88),
  remote_ip4: f(92),
  local_ip4: f(96),
  remote_ip6: f(100, 16),
  local_ip6: f(116, 16),
  remote_port: f(132),
  local_port: f(136),
  data_meta: f(140),
  flow_keys: f(144, 8),
  tstamp: f(152, 8),
  wire_len: f(160),
  gso_segs: f(164),
  sk: f(168, 8),
  gso_size: f(176),
  tstamp_type: f(180, 1),
  hwtstamp: f(184, 8),
} as const satisfies Record<string, SkBuffField>;

/** A field name of `struct __sk_buff`. */
export type SkBuffFieldName = keyof typeof SkBuff;

/** The skb program families whose test runs the VM implements. */
export type SkbProgramKind = 'socket' | 'tc' | 'cgroup';

/**
 * What a program of each kind may read and write (`sk_filter_is_valid_access`,
 * `tc_cls_act_is_valid_access`, `cg_skb_is_valid_access`; each rule checked on Linux 6.18, where the verifier refuses the
 * others with "invalid bpf_context access"). Fields a program may not read hold 0 in the VM's
 * context, and writes to fields it may not write make the test run fail.
 */
export const SKB_ACCESS: Readonly<
  Record<
    SkbProgramKind,
    { readonly hidden: readonly SkBuffFieldName[]; readonly writable: readonly SkBuffFieldName[] }
  >
> = {
  socket: {
    hidden: [
      'tc_classid',
      'data',
      'data_meta',
      'data_end',
      'family',
      'remote_ip4',
      'local_ip4',
      'remote_ip6',
      'local_ip6',
      'remote_port',
      'local_port',
      'tstamp',
      'wire_len',
      'hwtstamp',
      'flow_keys',
      'sk',
    ],
    writable: ['cb'],
  },
  tc: {
    hidden: [
      'family',
      'remote_ip4',
      'local_ip4',
      'remote_ip6',
      'local_ip6',
      'remote_port',
      'local_port',
      'flow_keys',
      'sk',
    ],
    writable: ['mark', 'tc_index', 'priority', 'tc_classid', 'cb', 'tstamp', 'queue_mapping'],
  },
  // CGROUP_SKB (since 4.10): the socket fields come from the test run's stand-in socket.
  cgroup: {
    hidden: ['tc_classid', 'data_meta', 'wire_len', 'flow_keys', 'sk'],
    writable: ['mark', 'priority', 'cb', 'tstamp'],
  },
};

/**
 * The fields a test run's `ctx_in` may set (`convert___skb_to_skb`): every other byte must be 0,
 * or the run fails with EINVAL.
 */
export const SKB_CTX_IN_FIELDS: readonly SkBuffFieldName[] = [
  'mark',
  'priority',
  'ingress_ifindex',
  'ifindex',
  'cb',
  'tstamp',
  'wire_len',
  'gso_segs',
  'gso_size',
  'hwtstamp',
];

/**
 * The fields a test run copies back to `ctx_out` (`convert_skb_to___skb`); the rest of `ctx_out`
 * is `ctx_in` as given. Measured: `tc_index`, `tc_classid` and `queue_mapping` written by a tc
 * program are not copied back, `gso_size` comes back as it went in.
 */
export const SKB_CTX_OUT_FIELDS: readonly SkBuffFieldName[] = [
  'mark',
  'priority',
  'ingress_ifindex',
  'ifindex',
  'tstamp',
  'cb',
  'wire_len',
  'gso_segs',
  'hwtstamp',
];

/** Read a field (u8/u32/u64; arrays as their bytes) from a `struct __sk_buff` image. */
export function skbField(view: DataView, field: SkBuffFieldName, base = 0): bigint {
  const { offset, size } = SkBuff[field];
  if (size === 1) return BigInt(view.getUint8(base + offset));
  if (size === 8) return view.getBigUint64(base + offset, true);
  return BigInt(view.getUint32(base + offset, true));
}

/** Write a scalar field (u8/u32/u64) of a `struct __sk_buff` image. */
export function setSkbField(view: DataView, field: SkBuffFieldName, value: bigint | number, base = 0): void {
  const { offset, size } = SkBuff[field];
  const v = BigInt(value);
  if (size === 1) view.setUint8(base + offset, Number(v & 0xffn));
  else if (size === 8) view.setBigUint64(base + offset, BigInt.asUintN(64, v), true);
  else view.setUint32(base + offset, Number(BigInt.asUintN(32, v)), true);
}

/** `enum` values of `skb->pkt_type` (`PACKET_*`, `linux/if_packet.h`). */
export const PacketType = { HOST: 0, BROADCAST: 1, MULTICAST: 2, OTHERHOST: 3 } as const;

/** EtherTypes `eth_type_trans` produces besides the frame's own. */
export const EthP = {
  IP: 0x0800,
  IPV6: 0x86dd,
  ETH_802_3: 0x0001,
  ETH_802_2: 0x0004,
  ETH_802_3_MIN: 0x0600,
} as const;

/**
 * What `eth_type_trans` makes of a frame received on the test run's device: `pkt_type` from the
 * destination address and `protocol` (host order) from the EtherType, with the 802.3 rules for a
 * length field (`ffff` → raw 802.3, else 802.2 LLC). The device is loopback, whose address *and
 * broadcast address* are 00:00:00:00:00:00, so ff:ff:ff:ff:ff:ff is MULTICAST, not BROADCAST
 * (measured on Linux 6.18).
 */
export function ethTypeTrans(
  frame: Uint8Array,
  device: { readonly address: Uint8Array; readonly broadcast: Uint8Array } = {
    address: new Uint8Array(6),
    broadcast: new Uint8Array(6),
  },
): { readonly pktType: number; readonly protocol: number } {
  let pktType: number = PacketType.HOST;
  const dest = frame.subarray(0, 6);
  if (!dest.every((byte, i) => byte === device.address[i])) {
    if (dest[0] & 1)
      pktType = dest.every((byte, i) => byte === device.broadcast[i])
        ? PacketType.BROADCAST
        : PacketType.MULTICAST;
    else pktType = PacketType.OTHERHOST;
  }
  const type = (frame[12] << 8) | frame[13];
  if (type >= EthP.ETH_802_3_MIN) return { pktType, protocol: type };
  if (frame.length >= 16 && frame[14] === 0xff && frame[15] === 0xff)
    return { pktType, protocol: EthP.ETH_802_3 };
  return { pktType, protocol: EthP.ETH_802_2 };
}
