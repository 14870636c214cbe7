/**
 * Program section names → program type, expected attach type and attach target, following the
 * conventions libbpf documents (Documentation/bpf/libbpf/program_types.rst). One table row per
 * convention, most specific first.
 *
 * A row's `prefix` matches a section name exactly; with `args: true` it also matches
 * `prefix/anything`, and the part after the slash is the attach target (`tracepoint/syscalls/
 * sys_enter_execve` → target `syscalls/sys_enter_execve`). Unknown names are reported, never
 * guessed.
 */
import { TsbpfError } from '../errors.js';
import { AttachType, type AttachTypeName, ProgType, type ProgTypeName } from '../uapi.js';

/** How a program of a section is attached (what its loader does after loading it). */
export type AttachKind =
  | 'none'
  | 'kprobe'
  | 'kretprobe'
  | 'ksyscall'
  | 'kretsyscall'
  | 'kprobe.multi'
  | 'kretprobe.multi'
  | 'kprobe.session'
  | 'uprobe'
  | 'uretprobe'
  | 'uprobe.multi'
  | 'uretprobe.multi'
  | 'uprobe.session'
  | 'usdt'
  | 'tracepoint'
  | 'raw_tracepoint'
  | 'tracing'
  | 'lsm'
  | 'iter'
  | 'xdp'
  | 'tc'
  | 'tcx'
  | 'netkit'
  | 'cgroup'
  | 'sockmap'
  | 'socket'
  | 'perf_event'
  | 'flow_dissector'
  | 'sk_lookup'
  | 'lirc'
  | 'netfilter'
  | 'struct_ops'
  | 'freplace';

export interface SectionDef {
  readonly prefix: string;
  /** Whether `prefix/…` matches too, the rest being the attach target. */
  readonly args: boolean;
  readonly progType: ProgTypeName;
  /** The expected attach type sent at load, if the convention has one. */
  readonly attachType?: AttachTypeName;
  /** The attach type is only a default: kernels that lack it load the program without it. */
  readonly attachOptional?: boolean;
  /** The attach target is a BTF id (`fentry/`, `tp_btf/`, `lsm/`, `iter/`…). */
  readonly btfTarget?: boolean;
  readonly sleepable?: boolean;
  /** XDP multi-buffer support (BPF_F_XDP_HAS_FRAGS). */
  readonly xdpFrags?: boolean;
  readonly attach: AttachKind;
}

type Row = readonly [
  prefix: string,
  progType: ProgTypeName,
  attachType: AttachTypeName | '',
  attach: AttachKind,
  flags?: string,
];

/** Flags: `+` takes `/args`; `opt` optional attach type; `btf` BTF target; `s` sleepable; `frags`. */
const rows: readonly Row[] = [
  ['socket', 'SOCKET_FILTER', '', 'socket'],
  ['sk_reuseport/migrate', 'SK_REUSEPORT', 'SK_REUSEPORT_SELECT_OR_MIGRATE', 'none'],
  ['sk_reuseport', 'SK_REUSEPORT', 'SK_REUSEPORT_SELECT', 'none'],
  ['kprobe', 'KPROBE', '', 'kprobe', '+'],
  ['uprobe', 'KPROBE', '', 'uprobe', '+'],
  ['uprobe.s', 'KPROBE', '', 'uprobe', '+ s'],
  ['kretprobe', 'KPROBE', '', 'kretprobe', '+'],
  ['uretprobe', 'KPROBE', '', 'uretprobe', '+'],
  ['uretprobe.s', 'KPROBE', '', 'uretprobe', '+ s'],
  ['kprobe.multi', 'KPROBE', 'TRACE_KPROBE_MULTI', 'kprobe.multi', '+'],
  ['kretprobe.multi', 'KPROBE', 'TRACE_KPROBE_MULTI', 'kretprobe.multi', '+'],
  ['kprobe.session', 'KPROBE', 'TRACE_KPROBE_SESSION', 'kprobe.session', '+'],
  ['uprobe.multi', 'KPROBE', 'TRACE_UPROBE_MULTI', 'uprobe.multi', '+'],
  ['uretprobe.multi', 'KPROBE', 'TRACE_UPROBE_MULTI', 'uretprobe.multi', '+'],
  ['uprobe.multi.s', 'KPROBE', 'TRACE_UPROBE_MULTI', 'uprobe.multi', '+ s'],
  ['uretprobe.multi.s', 'KPROBE', 'TRACE_UPROBE_MULTI', 'uretprobe.multi', '+ s'],
  ['uprobe.session', 'KPROBE', 'TRACE_UPROBE_SESSION', 'uprobe.session', '+'],
  ['uprobe.session.s', 'KPROBE', 'TRACE_UPROBE_SESSION', 'uprobe.session', '+ s'],
  ['ksyscall', 'KPROBE', '', 'ksyscall', '+'],
  ['kretsyscall', 'KPROBE', '', 'kretsyscall', '+'],
  ['usdt', 'KPROBE', '', 'usdt', '+'],
  ['usdt.s', 'KPROBE', '', 'usdt', '+ s'],
  ['tc/ingress', 'SCHED_CLS', 'TCX_INGRESS', 'tcx'],
  ['tc/egress', 'SCHED_CLS', 'TCX_EGRESS', 'tcx'],
  ['tcx/ingress', 'SCHED_CLS', 'TCX_INGRESS', 'tcx'],
  ['tcx/egress', 'SCHED_CLS', 'TCX_EGRESS', 'tcx'],
  ['tc', 'SCHED_CLS', '', 'tc'],
  ['classifier', 'SCHED_CLS', '', 'tc'],
  ['action', 'SCHED_ACT', '', 'tc'],
  ['netkit/primary', 'SCHED_CLS', 'NETKIT_PRIMARY', 'netkit'],
  ['netkit/peer', 'SCHED_CLS', 'NETKIT_PEER', 'netkit'],
  ['tracepoint', 'TRACEPOINT', '', 'tracepoint', '+'],
  ['tp', 'TRACEPOINT', '', 'tracepoint', '+'],
  ['raw_tracepoint', 'RAW_TRACEPOINT', '', 'raw_tracepoint', '+'],
  ['raw_tp', 'RAW_TRACEPOINT', '', 'raw_tracepoint', '+'],
  ['raw_tracepoint.w', 'RAW_TRACEPOINT_WRITABLE', '', 'raw_tracepoint', '+'],
  ['raw_tp.w', 'RAW_TRACEPOINT_WRITABLE', '', 'raw_tracepoint', '+'],
  ['tp_btf', 'TRACING', 'TRACE_RAW_TP', 'tracing', '+ btf'],
  ['fentry', 'TRACING', 'TRACE_FENTRY', 'tracing', '+ btf'],
  ['fmod_ret', 'TRACING', 'MODIFY_RETURN', 'tracing', '+ btf'],
  ['fexit', 'TRACING', 'TRACE_FEXIT', 'tracing', '+ btf'],
  ['fentry.s', 'TRACING', 'TRACE_FENTRY', 'tracing', '+ btf s'],
  ['fmod_ret.s', 'TRACING', 'MODIFY_RETURN', 'tracing', '+ btf s'],
  ['fexit.s', 'TRACING', 'TRACE_FEXIT', 'tracing', '+ btf s'],
  ['freplace', 'EXT', '', 'freplace', '+ btf'],
  ['lsm', 'LSM', 'LSM_MAC', 'lsm', '+ btf'],
  ['lsm.s', 'LSM', 'LSM_MAC', 'lsm', '+ btf s'],
  ['lsm_cgroup', 'LSM', 'LSM_CGROUP', 'cgroup', '+ btf'],
  ['iter', 'TRACING', 'TRACE_ITER', 'iter', '+ btf'],
  ['iter.s', 'TRACING', 'TRACE_ITER', 'iter', '+ btf s'],
  ['syscall', 'SYSCALL', '', 'none', 's'],
  ['xdp.frags/devmap', 'XDP', 'XDP_DEVMAP', 'none', 'frags'],
  ['xdp/devmap', 'XDP', 'XDP_DEVMAP', 'none'],
  ['xdp.frags/cpumap', 'XDP', 'XDP_CPUMAP', 'none', 'frags'],
  ['xdp/cpumap', 'XDP', 'XDP_CPUMAP', 'none'],
  ['xdp.frags', 'XDP', 'XDP', 'xdp', 'frags'],
  ['xdp', 'XDP', 'XDP', 'xdp', 'opt'],
  ['perf_event', 'PERF_EVENT', '', 'perf_event'],
  ['lwt_in', 'LWT_IN', '', 'none'],
  ['lwt_out', 'LWT_OUT', '', 'none'],
  ['lwt_xmit', 'LWT_XMIT', '', 'none'],
  ['lwt_seg6local', 'LWT_SEG6LOCAL', '', 'none'],
  ['sockops', 'SOCK_OPS', 'CGROUP_SOCK_OPS', 'cgroup', 'opt'],
  ['sk_skb/stream_parser', 'SK_SKB', 'SK_SKB_STREAM_PARSER', 'sockmap', 'opt'],
  ['sk_skb/stream_verdict', 'SK_SKB', 'SK_SKB_STREAM_VERDICT', 'sockmap', 'opt'],
  ['sk_skb/verdict', 'SK_SKB', 'SK_SKB_VERDICT', 'sockmap', 'opt'],
  ['sk_skb', 'SK_SKB', '', 'sockmap'],
  ['sk_msg', 'SK_MSG', 'SK_MSG_VERDICT', 'sockmap', 'opt'],
  ['lirc_mode2', 'LIRC_MODE2', 'LIRC_MODE2', 'lirc', 'opt'],
  ['flow_dissector', 'FLOW_DISSECTOR', 'FLOW_DISSECTOR', 'flow_dissector', 'opt'],
  ['cgroup_skb/ingress', 'CGROUP_SKB', 'CGROUP_INET_INGRESS', 'cgroup', 'opt'],
  ['cgroup_skb/egress', 'CGROUP_SKB', 'CGROUP_INET_EGRESS', 'cgroup', 'opt'],
  ['cgroup/skb', 'CGROUP_SKB', '', 'cgroup'],
  ['cgroup/sock_create', 'CGROUP_SOCK', 'CGROUP_INET_SOCK_CREATE', 'cgroup'],
  ['cgroup/sock_release', 'CGROUP_SOCK', 'CGROUP_INET_SOCK_RELEASE', 'cgroup'],
  ['cgroup/sock', 'CGROUP_SOCK', 'CGROUP_INET_SOCK_CREATE', 'cgroup', 'opt'],
  ['cgroup/post_bind4', 'CGROUP_SOCK', 'CGROUP_INET4_POST_BIND', 'cgroup'],
  ['cgroup/post_bind6', 'CGROUP_SOCK', 'CGROUP_INET6_POST_BIND', 'cgroup'],
  ['cgroup/bind4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_BIND', 'cgroup'],
  ['cgroup/bind6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_BIND', 'cgroup'],
  ['cgroup/connect4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_CONNECT', 'cgroup'],
  ['cgroup/connect6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_CONNECT', 'cgroup'],
  ['cgroup/connect_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_CONNECT', 'cgroup'],
  ['cgroup/sendmsg4', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP4_SENDMSG', 'cgroup'],
  ['cgroup/sendmsg6', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP6_SENDMSG', 'cgroup'],
  ['cgroup/sendmsg_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_SENDMSG', 'cgroup'],
  ['cgroup/recvmsg4', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP4_RECVMSG', 'cgroup'],
  ['cgroup/recvmsg6', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP6_RECVMSG', 'cgroup'],
  ['cgroup/recvmsg_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_RECVMSG', 'cgroup'],
  ['cgroup/getpeername4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_GETPEERNAME', 'cgroup'],
  ['cgroup/getpeername6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_GETPEERNAME', 'cgroup'],
  ['cgroup/getpeername_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_GETPEERNAME', 'cgroup'],
  ['cgroup/getsockname4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_GETSOCKNAME', 'cgroup'],
  ['cgroup/getsockname6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_GETSOCKNAME', 'cgroup'],
  ['cgroup/getsockname_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_GETSOCKNAME', 'cgroup'],
  ['cgroup/sysctl', 'CGROUP_SYSCTL', 'CGROUP_SYSCTL', 'cgroup'],
  ['cgroup/getsockopt', 'CGROUP_SOCKOPT', 'CGROUP_GETSOCKOPT', 'cgroup'],
  ['cgroup/setsockopt', 'CGROUP_SOCKOPT', 'CGROUP_SETSOCKOPT', 'cgroup'],
  ['cgroup/dev', 'CGROUP_DEVICE', 'CGROUP_DEVICE', 'cgroup', 'opt'],
  ['struct_ops', 'STRUCT_OPS', '', 'struct_ops', '+'],
  ['struct_ops.s', 'STRUCT_OPS', '', 'struct_ops', '+ s'],
  ['sk_lookup', 'SK_LOOKUP', 'SK_LOOKUP', 'sk_lookup'],
  ['netfilter', 'NETFILTER', 'NETFILTER', 'netfilter'],
];

/** The section conventions, in match order. */
export const SECTION_DEFS: readonly SectionDef[] = rows.map(
  ([prefix, progType, attachType, attach, flags = '']) => {
    const has = (flag: string) => flags.split(' ').includes(flag);
    return {
      prefix,
      args: has('+'),
      progType,
      ...(attachType ? { attachType } : {}),
      ...(has('opt') ? { attachOptional: true } : {}),
      ...(has('btf') ? { btfTarget: true } : {}),
      ...(has('s') ? { sleepable: true } : {}),
      ...(has('frags') ? { xdpFrags: true } : {}),
      attach,
    };
  },
);

/** What a section name says about its programs. */
export interface SectionInfo {
  readonly def: SectionDef;
  readonly progType: number;
  readonly attachType: number | undefined;
  /** The part after `prefix/`, e.g. `syscalls/sys_enter_execve`; empty when there is none. */
  readonly target: string;
}

/** A section name no convention matches. */
export class UnknownSectionError extends TsbpfError {
  override name = 'UnknownSectionError';
  readonly section: string;
  constructor(section: string) {
    super(
      `section '${section}': not a known program section name (e.g. 'xdp', 'tracepoint/<category>/<name>', 'kprobe/<function>')`,
    );
    this.section = section;
  }
}

/** Match a program section name against the conventions; undefined when none matches. */
export function matchSection(name: string): SectionInfo | undefined {
  for (const def of SECTION_DEFS) {
    let target: string;
    if (name === def.prefix) target = '';
    else if (def.args && name.startsWith(`${def.prefix}/`)) target = name.slice(def.prefix.length + 1);
    else continue;
    return {
      def,
      progType: ProgType[def.progType],
      attachType: def.attachType ? AttachType[def.attachType] : undefined,
      target,
    };
  }
  return undefined;
}

/** Like {@link matchSection}, but an unknown name is an {@link UnknownSectionError}. */
export function sectionInfo(name: string): SectionInfo {
  const info = matchSection(name);
  if (!info) throw new UnknownSectionError(name);
  return info;
}
