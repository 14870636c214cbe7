/**
 * What the VM runs, as data: program types (and how each runs), map types, helpers. The VM's
 * loader refuses what is not here at load time, with one message naming it; the README's
 * "What the VM supports" section is generated from this module ({@link supportMarkdown}) and a
 * test keeps the two equal, so the list cannot drift from the code.
 */
import { HELPER_NAMES } from '../isa/helper-ids.js';
import { MapType, type MapTypeName, ProgType, type ProgTypeName } from '../uapi.js';
import type { HelperRegistry } from './helpers.js';
import { VM_MAP_TYPES } from './maps/create.js';

/** How the VM runs programs of a type, or why it cannot. */
export type ProgramSupport =
  | { readonly run: 'test run' | 'context'; readonly how: string }
  | { readonly run: 'none'; readonly why: string };

/** Every program type of this kernel and how the VM runs it. */
export const PROGRAM_TYPES: Readonly<Record<Exclude<ProgTypeName, 'UNSPEC'>, ProgramSupport>> = {
  SOCKET_FILTER: { run: 'test run', how: 'BPF_PROG_TEST_RUN rules (skb from `data`, L3 view)' },
  SCHED_CLS: { run: 'test run', how: 'BPF_PROG_TEST_RUN rules (skb from `data`, L2 view)' },
  SCHED_ACT: { run: 'test run', how: 'BPF_PROG_TEST_RUN rules (skb from `data`, L2 view)' },
  XDP: { run: 'test run', how: 'BPF_PROG_TEST_RUN rules (headroom, fragments, `xdp_md` in/out)' },
  RAW_TRACEPOINT: { run: 'test run', how: 'BPF_PROG_TEST_RUN rules (u64 arguments in `ctx`)' },
  SYSCALL: { run: 'test run', how: 'BPF_PROG_TEST_RUN rules (`ctx` bytes in and out)' },
  TRACEPOINT: { run: 'context', how: '`runOnRecord` with a record built from the tracefs format' },
  PERF_EVENT: { run: 'context', how: '`runOnRecord` with a `bpf_perf_event_data` sample' },
  KPROBE: { run: 'context', how: '`runWithContext` with caller-built `pt_regs`' },
  TRACING: { run: 'context', how: '`runWithContext` with the u64 argument array' },
  LSM: { run: 'context', how: '`runWithContext` with the u64 argument array' },
  RAW_TRACEPOINT_WRITABLE: { run: 'context', how: '`runWithContext` with the u64 argument array' },
  CGROUP_SKB: { run: 'test run', how: 'BPF_PROG_TEST_RUN rules (skb from `data`, L3 view, stand-in socket)' },
  CGROUP_SOCK: { run: 'none', why: 'needs a kernel socket (`struct bpf_sock`)' },
  CGROUP_SOCK_ADDR: { run: 'none', why: 'needs a kernel socket and its address' },
  CGROUP_SOCKOPT: { run: 'none', why: 'needs a socket option call' },
  CGROUP_SYSCTL: { run: 'none', why: 'needs a sysctl write' },
  CGROUP_DEVICE: { run: 'none', why: 'needs a device access check' },
  LWT_IN: { run: 'none', why: 'needs a route with a lightweight tunnel' },
  LWT_OUT: { run: 'none', why: 'needs a route with a lightweight tunnel' },
  LWT_XMIT: { run: 'none', why: 'needs a route with a lightweight tunnel' },
  LWT_SEG6LOCAL: { run: 'none', why: 'needs an SRv6 route' },
  SOCK_OPS: { run: 'none', why: 'needs TCP socket events' },
  SK_SKB: { run: 'none', why: 'needs a sockmap stream parser' },
  SK_MSG: { run: 'none', why: 'needs a sockmap message' },
  SK_REUSEPORT: { run: 'none', why: 'needs a reuseport socket group' },
  SK_LOOKUP: { run: 'none', why: 'needs the socket lookup of the network stack' },
  FLOW_DISSECTOR: { run: 'none', why: 'no flow-dissector test run yet' },
  LIRC_MODE2: { run: 'none', why: 'needs an infrared receiver' },
  STRUCT_OPS: { run: 'none', why: 'kernel subsystems call it with kernel structures' },
  EXT: { run: 'none', why: 'replaces a function of another loaded program (freplace)' },
  NETFILTER: { run: 'none', why: 'needs a netfilter hook state' },
};

/** Why the kernel map types the VM lacks make no sense without a kernel. */
export const MAP_TYPES_WITHOUT_VM: Readonly<Partial<Record<MapTypeName, string>>> = {
  SOCKMAP: 'holds kernel sockets',
  SOCKHASH: 'holds kernel sockets',
  REUSEPORT_SOCKARRAY: 'holds kernel sockets',
  SK_STORAGE: 'storage attached to kernel sockets',
  INODE_STORAGE: 'storage attached to inodes',
  TASK_STORAGE: 'storage attached to kernel tasks',
  CGRP_STORAGE: 'storage attached to cgroups',
  CGROUP_STORAGE: 'storage of an attached cgroup program',
  PERCPU_CGROUP_STORAGE: 'storage of an attached cgroup program',
  STRUCT_OPS: 'kernel structures of function pointers',
  USER_RINGBUF: 'a ring user space writes into, drained by a helper the VM does not have yet',
  ARENA: 'memory shared with user space by mmap',
};

/** The VM's answer for a program type: undefined when it can load it, else the reason. */
export function unsupportedProgramType(type: ProgTypeName): string | undefined {
  if (type === 'UNSPEC') return 'program type UNSPEC is not a program type';
  const support = PROGRAM_TYPES[type];
  return support.run === 'none'
    ? `program type ${type} is not supported by the VM: ${support.why}`
    : undefined;
}

/**
 * The README section: program types, map types and helpers of `helpers` (the default VM's
 * registry), one list each, generated from the tables above.
 */
export function supportMarkdown(helpers: HelperRegistry): string {
  const progNames = (Object.keys(ProgType) as ProgTypeName[]).filter((t) => t !== 'UNSPEC');
  const runs = progNames.filter((t) => PROGRAM_TYPES[t as Exclude<ProgTypeName, 'UNSPEC'>].run !== 'none');
  const none = progNames.filter((t) => PROGRAM_TYPES[t as Exclude<ProgTypeName, 'UNSPEC'>].run === 'none');
  const mapNames = (Object.keys(MapType) as MapTypeName[]).filter((t) => t !== 'UNSPEC');
  const maps = mapNames.filter((t) => VM_MAP_TYPES[t]);
  const noMaps = mapNames.filter((t) => !VM_MAP_TYPES[t]);
  const helperNames = HELPER_NAMES.flatMap((name, id) => (name && helpers.get(id) ? [`${name}`] : []));
  const missing = HELPER_NAMES.flatMap((name, id) => (name && !helpers.get(id) ? [name] : []));
  const line = (t: string) => {
    const s = PROGRAM_TYPES[t as Exclude<ProgTypeName, 'UNSPEC'>];
    return `- \`${t}\`: ${s.run === 'none' ? s.why : s.how}`;
  };
  return [
    `Program types the VM runs (${runs.length} of ${progNames.length}):`,
    '',
    ...runs.map(line),
    '',
    `Program types it refuses at load, and why (${none.length}):`,
    '',
    ...none.map(line),
    '',
    `Map types (${maps.length} of ${mapNames.length}): ${maps.map((t) => `\`${t}\``).join(', ')}.`,
    '',
    `Map types it refuses at creation, and why (${noMaps.length}):`,
    '',
    ...noMaps.map((t) => `- \`${t}\`: ${MAP_TYPES_WITHOUT_VM[t] ?? 'not implemented yet'}`),
    '',
    `Helpers (${helperNames.length} of ${helperNames.length + missing.length}): ${helperNames.map((n) => `\`${n}\``).join(', ')}.`,
    '',
    `A program calling any other helper (${missing.length}) or a kfunc is refused at load, naming it.`,
  ].join('\n');
}
