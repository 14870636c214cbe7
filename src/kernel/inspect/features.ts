/**
 * `tsbpf feature`: what this kernel supports, probed the way `bpftool feature probe` does — by
 * loading or creating the smallest object that uses each feature (probes in `probe.ts`), plus
 * the kernel config and BPF sysctls. The JSON keeps bpftool's layout (`system_config`,
 * `program_types` with `have_<type>_prog_type`, `map_types`, `helpers`, `misc`) and adds
 * `attach_types` and `btf_features`, which bpftool does not report.
 */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { HELPER_NAMES } from '../../isa/helper-ids.js';
import { SECTION_DEFS } from '../../object/sections.js';
import {
  AttachType,
  type AttachTypeName,
  MapType,
  type MapTypeName,
  ProgType,
  type ProgTypeName,
} from '../../uapi.js';
import { probeBtfFeatures } from '../load/btf-sanitize.js';
import { readKernelConfig } from '../load/kconfig.js';
import { cString } from '../sys/attr.js';
import { bpfTry } from '../sys/objects.js';
import { getSys, type Sys } from '../sys/syscall.js';
import { probeHelper, probeMapType, probeProgType } from './probe.js';

/** The kernel config options bpftool reports (`bpftool feature probe kernel`). */
const CONFIG_OPTIONS = [
  'CONFIG_BPF',
  'CONFIG_BPF_SYSCALL',
  'CONFIG_HAVE_EBPF_JIT',
  'CONFIG_BPF_JIT',
  'CONFIG_BPF_JIT_ALWAYS_ON',
  'CONFIG_DEBUG_INFO_BTF',
  'CONFIG_DEBUG_INFO_BTF_MODULES',
  'CONFIG_CGROUPS',
  'CONFIG_CGROUP_BPF',
  'CONFIG_CGROUP_NET_CLASSID',
  'CONFIG_SOCK_CGROUP_DATA',
  'CONFIG_BPF_EVENTS',
  'CONFIG_KPROBE_EVENTS',
  'CONFIG_UPROBE_EVENTS',
  'CONFIG_TRACING',
  'CONFIG_FTRACE_SYSCALLS',
  'CONFIG_FUNCTION_ERROR_INJECTION',
  'CONFIG_BPF_KPROBE_OVERRIDE',
  'CONFIG_NET',
  'CONFIG_XDP_SOCKETS',
  'CONFIG_LWTUNNEL_BPF',
  'CONFIG_NET_ACT_BPF',
  'CONFIG_NET_CLS_BPF',
  'CONFIG_NET_CLS_ACT',
  'CONFIG_NET_SCH_INGRESS',
  'CONFIG_XFRM',
  'CONFIG_IP_ROUTE_CLASSID',
  'CONFIG_IPV6_SEG6_BPF',
  'CONFIG_BPF_LIRC_MODE2',
  'CONFIG_BPF_STREAM_PARSER',
  'CONFIG_NETFILTER_XT_MATCH_BPF',
  'CONFIG_BPFILTER',
  'CONFIG_BPFILTER_UMH',
  'CONFIG_TEST_BPF',
  'CONFIG_BPF_LSM',
  'CONFIG_HZ',
] as const;

/** The BPF sysctls bpftool reads, by their JSON names. */
const SYSCTLS = {
  unprivileged_bpf_disabled: '/proc/sys/kernel/unprivileged_bpf_disabled',
  bpf_jit_enable: '/proc/sys/net/core/bpf_jit_enable',
  bpf_jit_harden: '/proc/sys/net/core/bpf_jit_harden',
  bpf_jit_kallsyms: '/proc/sys/net/core/bpf_jit_kallsyms',
  bpf_jit_limit: '/proc/sys/net/core/bpf_jit_limit',
} as const;

/** A probe's answer: supported, not supported, or null when the kernel would not say (EPERM). */
export type Verdict = boolean | null;

/** Everything `tsbpf feature` reports. */
export interface FeatureReport {
  readonly kernel_release: string;
  readonly system_config: Readonly<Record<string, string | number | null>>;
  readonly syscall_config: { readonly have_bpf_syscall: boolean };
  readonly program_types: Readonly<Record<string, Verdict>>;
  readonly map_types: Readonly<Record<string, Verdict>>;
  readonly attach_types: Readonly<Record<string, Verdict>>;
  /** Per program type, the helpers it may call (only with `helpers: true`). */
  readonly helpers?: Readonly<Record<string, readonly string[]>>;
  readonly misc: Readonly<Record<string, Verdict>>;
  readonly btf_features: Readonly<Record<string, boolean>>;
}

function sysctl(path: string): number | null {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return null;
  }
}

function verdict(probe: () => boolean): Verdict {
  try {
    return probe();
  } catch {
    return null;
  }
}

/** Program types a probe can tell apart (UNSPEC is no type). */
const PROG_TYPES = (Object.keys(ProgType) as ProgTypeName[]).filter((t) => t !== 'UNSPEC');
/** Map types, without the `_DEPRECATED` aliases. */
const MAP_TYPES = (Object.keys(MapType) as MapTypeName[]).filter(
  (t) => t !== 'UNSPEC' && !t.endsWith('_DEPRECATED'),
);

/**
 * Whether the kernel takes `attachType` as the expected attach type of the program type that
 * libbpf's section table pairs it with: the load of `r0 = 0; exit` succeeds, or fails for
 * another reason than an unknown attach type. Attach types of BTF-targeted programs (fentry,
 * LSM, iterators) need a real target and privileges a probe cannot assume: null.
 */
export function probeAttachType(name: AttachTypeName, options: { sys?: Sys } = {}): Verdict {
  const def = SECTION_DEFS.find((d) => d.attachType === name);
  if (!def || def.btfTarget) return null;
  const sys = getSys(options.sys);
  const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  const log = new Uint8Array(new ArrayBuffer(4096));
  const call = bpfTry(sys, 'PROG_LOAD', {
    prog_type: ProgType[def.progType],
    insn_cnt: 2,
    insns,
    license: cString('GPL'),
    expected_attach_type: AttachType[name],
    log_level: 1,
    log_size: log.length,
    log_buf: log,
  });
  if (!call.error) {
    sys.close(call.result);
    return true;
  }
  if (call.error.is('EPERM')) return null;
  // The attach type is checked before verification: a verifier log (here, usually about the
  // return value `r0 = 0` some hooks forbid) proves the kernel accepted it.
  if (log[0] !== 0) return true;
  return call.error.is('EINVAL') || call.error.is('E2BIG') ? false : null;
}

/** Small programs that only load where an instruction-set feature exists (bpftool's `misc`). */
const MISC_PROBES: Readonly<Record<string, readonly number[][]>> = {
  // r0 = 0; if r0 < 1 goto +0 (BPF_JLT, v2, 4.14); exit
  have_v2_isa_extension: [
    [0xb7, 0, 0, 0, 0],
    [0xa5, 0, 0, 0, 1],
    [0x95, 0, 0, 0, 0],
  ],
  // w0 = 0; if w0 == 0 goto +0 (JMP32, v3, 5.1); exit
  have_v3_isa_extension: [
    [0xb4, 0, 0, 0, 0],
    [0x16, 0, 0, 0, 0],
    [0x95, 0, 0, 0, 0],
  ],
  // r0 = 1; r0 = (s8)r0 (MOVSX, v4, 6.6); exit
  have_v4_isa_extension: [
    [0xb7, 0, 0, 0, 1],
    [0xbf, 0, 0, 8, 0],
    [0x95, 0, 0, 0, 0],
  ],
  // r0 = 10; loop: r0 -= 1; if r0 != 0 goto loop (bounded loops, 5.3); exit
  have_bounded_loops: [
    [0xb7, 0, 0, 0, 10],
    [0x17, 0, 0, 0, 1],
    [0x55, 0, 0, -2, 0],
    [0x95, 0, 0, 0, 0],
  ],
};

function probeInsns(rows: readonly number[][], sys: Sys): Verdict {
  const insns = new Uint8Array(new ArrayBuffer(rows.length * 8));
  const view = new DataView(insns.buffer);
  rows.forEach(([opcode, dst, src, off, imm], i) => {
    view.setUint8(i * 8, opcode!);
    view.setUint8(i * 8 + 1, ((src! & 0xf) << 4) | (dst! & 0xf));
    view.setInt16(i * 8 + 2, off!, true);
    view.setInt32(i * 8 + 4, imm!, true);
  });
  const call = bpfTry(sys, 'PROG_LOAD', {
    prog_type: ProgType.SOCKET_FILTER,
    insn_cnt: rows.length,
    insns,
    license: cString('GPL'),
  });
  if (!call.error) {
    sys.close(call.result);
    return true;
  }
  return call.error.is('EPERM') ? null : false;
}

/**
 * Probe the kernel. Helper probing loads one program per helper and program type (thousands of
 * loads, seconds), so it is off unless asked for; program types the kernel lacks are skipped.
 */
export function featureReport(options: { helpers?: boolean; sys?: Sys } = {}): FeatureReport {
  const sys = getSys(options.sys);
  let config: ReadonlyMap<string, string> | undefined;
  try {
    config = readKernelConfig();
  } catch {
    config = undefined;
  }
  const system: Record<string, string | number | null> = {};
  for (const [name, path] of Object.entries(SYSCTLS)) system[name] = sysctl(path);
  for (const option of CONFIG_OPTIONS) system[option] = config?.get(option) ?? null;

  const programTypes: Record<string, Verdict> = {};
  for (const type of PROG_TYPES)
    programTypes[`have_${type.toLowerCase()}_prog_type`] = verdict(() => probeProgType(type, { sys }));
  const mapTypes: Record<string, Verdict> = {};
  for (const type of MAP_TYPES)
    mapTypes[`have_${type.toLowerCase()}_map_type`] = verdict(() => probeMapType(type, { sys }));
  const attachTypes: Record<string, Verdict> = {};
  for (const name of Object.keys(AttachType) as AttachTypeName[]) {
    attachTypes[`have_${name.toLowerCase()}_attach_type`] = probeAttachType(name, { sys });
  }
  const misc: Record<string, Verdict> = {};
  for (const [name, rows] of Object.entries(MISC_PROBES)) misc[name] = probeInsns(rows, sys);
  let btfFeatures: Record<string, boolean> = {};
  try {
    btfFeatures = { ...probeBtfFeatures({ sys }) };
  } catch {
    btfFeatures = {};
  }

  let helpers: Record<string, string[]> | undefined;
  if (options.helpers) {
    helpers = {};
    for (const type of PROG_TYPES) {
      if (programTypes[`have_${type.toLowerCase()}_prog_type`] !== true) continue;
      const available: string[] = [];
      for (let id = 1; id < HELPER_NAMES.length; id++) {
        if (verdict(() => probeHelper(type, id, { sys })) === true) available.push(`bpf_${HELPER_NAMES[id]}`);
      }
      helpers[`${type.toLowerCase()}_available_helpers`] = available;
    }
  }

  return {
    kernel_release: release(),
    system_config: system,
    syscall_config: { have_bpf_syscall: true },
    program_types: programTypes,
    map_types: mapTypes,
    attach_types: attachTypes,
    ...(helpers ? { helpers } : {}),
    misc,
    btf_features: btfFeatures,
  };
}

const say = (v: Verdict): string =>
  v === null ? 'unknown (not permitted to probe)' : v ? 'available' : 'NOT available';

/** bpftool's plain `feature probe` text: one sentence per feature, in sections. */
export function featureText(report: FeatureReport): string {
  const out: string[] = [`Scanning system configuration (kernel ${report.kernel_release})...`];
  for (const [name, value] of Object.entries(report.system_config)) {
    out.push(`${name} is ${value === null ? 'not set' : String(value)}`);
  }
  out.push('', 'Scanning system call availability...', 'bpf() syscall is available', '');
  out.push('Scanning eBPF program types...');
  for (const [key, value] of Object.entries(report.program_types)) {
    out.push(`eBPF program_type ${key.replace(/^have_|_prog_type$/g, '')} is ${say(value)}`);
  }
  out.push('', 'Scanning eBPF map types...');
  for (const [key, value] of Object.entries(report.map_types)) {
    out.push(`eBPF map_type ${key.replace(/^have_|_map_type$/g, '')} is ${say(value)}`);
  }
  out.push('', 'Scanning eBPF attach types...');
  for (const [key, value] of Object.entries(report.attach_types)) {
    const verdictText = value === null ? 'not probed (needs an attach target)' : say(value);
    out.push(`eBPF attach_type ${key.replace(/^have_|_attach_type$/g, '')} is ${verdictText}`);
  }
  if (report.helpers) {
    out.push('', 'Scanning eBPF helper functions...');
    for (const [key, names] of Object.entries(report.helpers)) {
      out.push(`eBPF helpers supported for program type ${key.replace(/_available_helpers$/, '')}:`);
      for (const name of names) out.push(`\t- ${name}`);
    }
  } else {
    out.push(
      '',
      'eBPF helper functions: not probed (pass --helpers; it loads one program per helper and type)',
    );
  }
  out.push('', 'Scanning miscellaneous eBPF features...');
  for (const [key, value] of Object.entries(report.misc)) {
    out.push(`${key.replace(/^have_/, '').replace(/_/g, ' ')} is ${say(value)}`);
  }
  out.push('', 'Scanning BTF kinds...');
  for (const [key, value] of Object.entries(report.btf_features)) {
    out.push(`BTF ${key} is ${value ? 'available' : 'NOT available'}`);
  }
  return out.join('\n');
}
