import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttachType, ProgType } from '../uapi.js';
import { matchSection, SECTION_DEFS, sectionInfo, UnknownSectionError } from './sections.js';

const cases: ReadonlyArray<readonly [string, number, number | undefined, string]> = [
  ['tracepoint/syscalls/sys_enter_execve', ProgType.TRACEPOINT, undefined, 'syscalls/sys_enter_execve'],
  ['tp/sched/sched_switch', ProgType.TRACEPOINT, undefined, 'sched/sched_switch'],
  ['raw_tp/sched_switch', ProgType.RAW_TRACEPOINT, undefined, 'sched_switch'],
  ['tp_btf/sched_switch', ProgType.TRACING, AttachType.TRACE_RAW_TP, 'sched_switch'],
  ['fentry/do_unlinkat', ProgType.TRACING, AttachType.TRACE_FENTRY, 'do_unlinkat'],
  ['fexit/do_unlinkat', ProgType.TRACING, AttachType.TRACE_FEXIT, 'do_unlinkat'],
  ['fmod_ret/security_x', ProgType.TRACING, AttachType.MODIFY_RETURN, 'security_x'],
  ['kprobe/do_sys_open', ProgType.KPROBE, undefined, 'do_sys_open'],
  ['kretprobe/do_sys_open', ProgType.KPROBE, undefined, 'do_sys_open'],
  ['ksyscall/execve', ProgType.KPROBE, undefined, 'execve'],
  ['uprobe//bin/bash:readline', ProgType.KPROBE, undefined, '/bin/bash:readline'],
  ['usdt/libc:setjmp', ProgType.KPROBE, undefined, 'libc:setjmp'],
  ['xdp', ProgType.XDP, AttachType.XDP, ''],
  ['xdp.frags', ProgType.XDP, AttachType.XDP, ''],
  ['tc', ProgType.SCHED_CLS, undefined, ''],
  ['tcx/ingress', ProgType.SCHED_CLS, AttachType.TCX_INGRESS, ''],
  ['tcx/egress', ProgType.SCHED_CLS, AttachType.TCX_EGRESS, ''],
  ['classifier', ProgType.SCHED_CLS, undefined, ''],
  ['socket', ProgType.SOCKET_FILTER, undefined, ''],
  ['sk_skb/stream_verdict', ProgType.SK_SKB, AttachType.SK_SKB_STREAM_VERDICT, ''],
  ['sk_msg', ProgType.SK_MSG, AttachType.SK_MSG_VERDICT, ''],
  ['cgroup_skb/ingress', ProgType.CGROUP_SKB, AttachType.CGROUP_INET_INGRESS, ''],
  ['cgroup/connect4', ProgType.CGROUP_SOCK_ADDR, AttachType.CGROUP_INET4_CONNECT, ''],
  ['lsm/file_open', ProgType.LSM, AttachType.LSM_MAC, 'file_open'],
  ['perf_event', ProgType.PERF_EVENT, undefined, ''],
  ['iter/task', ProgType.TRACING, AttachType.TRACE_ITER, 'task'],
  ['syscall', ProgType.SYSCALL, undefined, ''],
  ['struct_ops/dctcp_init', ProgType.STRUCT_OPS, undefined, 'dctcp_init'],
  ['netfilter', ProgType.NETFILTER, AttachType.NETFILTER, ''],
  ['sk_lookup', ProgType.SK_LOOKUP, AttachType.SK_LOOKUP, ''],
  ['flow_dissector', ProgType.FLOW_DISSECTOR, AttachType.FLOW_DISSECTOR, ''],
];

for (const [name, progType, attachType, target] of cases) {
  test(`section ${name}`, () => {
    const info = sectionInfo(name);
    assert.equal(info.progType, progType);
    assert.equal(info.attachType, attachType);
    assert.equal(info.target, target);
  });
}

test('unknown and argument-less names are reported, not guessed', () => {
  for (const name of ['xdpfoo', 'kprobefoo', 'tracepointx/y', '.text', 'socket/extra', 'maps']) {
    assert.equal(matchSection(name), undefined, name);
    assert.throws(() => sectionInfo(name), UnknownSectionError);
  }
});

test('every row names real kernel enum values', () => {
  for (const def of SECTION_DEFS) {
    assert.equal(typeof ProgType[def.progType], 'number', def.prefix);
    if (def.attachType) assert.equal(typeof AttachType[def.attachType], 'number', def.prefix);
  }
});
