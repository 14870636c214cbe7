// The verifier's tables are internally consistent: every helper id has a parsed prototype, the
// measured availability and GPL data agree with the prototypes, and the context / return tables
// answer as the kernel's rules say.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HELPER_NAMES, helperId } from '../../isa/helper-ids.js';
import { MapType, type MapTypeName, ProgType, type ProgTypeName } from '../../uapi.js';
import { ctxAccess, ctxField, ctxPointerFields, ctxRegType, ctxSize } from './context.js';
import { CONTEXT_MEASURED } from './context-access.js';
import {
  GPL_ONLY_HELPERS_MEASURED,
  HELPER_AVAILABILITY,
  HELPER_REFUSED_AFTER_LOOKUP,
} from './helper-availability.js';
import {
  availableHelpers,
  FUNC_MAP_COMPAT,
  HELPERS,
  type HelperArg,
  helperCallError,
  helperProto,
  isGplOnly,
  MAP_FUNC_COMPAT,
  mapFuncCompatible,
  mapFuncError,
  PROTO_TABLE_NAMES,
  retRegType,
} from './index.js';
import { MAP_COMPAT_MEASURED, PROTO_CHECK_TARGETS, PROTO_CHECKS, UNINIT_CHECKS } from './proto-checks.js';
import { RETURNS_MEASURED } from './return-ranges.js';
import { returnCodeError, returnRange } from './returns.js';

const id = (name: string): number => {
  const found = helperId(name);
  assert.ok(found, name);
  return found;
};

describe('helper prototypes', () => {
  it('cover every helper id, and name no helper that does not exist', () => {
    assert.equal(HELPERS.length, HELPER_NAMES.length);
    for (const h of HELPERS.slice(1)) assert.ok(h.protos.length > 0, `${h.id} ${h.name} has no prototype`);
    for (const name of PROTO_TABLE_NAMES) assert.ok(HELPER_NAMES.includes(name), name);
  });

  it('parse into base types and flags the kernel has', () => {
    const lookup = helperProto(id('map_lookup_elem'), 'XDP')!;
    assert.equal(lookup.ret.base, 'RET_PTR_TO_MAP_VALUE');
    assert.deepEqual(lookup.ret.flags, ['PTR_MAYBE_NULL']);
    assert.deepEqual(
      lookup.args.map((a) => a.base),
      ['ARG_CONST_MAP_PTR', 'ARG_PTR_TO_MAP_KEY'],
    );
    assert.equal(lookup.pktAccess, true);
    const reserve = helperProto(id('ringbuf_reserve'), 'KPROBE')!;
    assert.deepEqual(
      [reserve.ret.base, ...reserve.ret.flags],
      ['RET_PTR_TO_MEM', 'PTR_MAYBE_NULL', 'MEM_RINGBUF'],
    );
    const comm = helperProto(id('get_current_comm'), 'KPROBE')!;
    assert.deepEqual(comm.args[0]!.flags, ['MEM_UNINIT', 'MEM_WRITE']);
    const strtol = helperProto(id('strtol'), 'CGROUP_SYSCTL')!;
    assert.equal(strtol.args[3]!.size, 8);
    assert.ok(strtol.args[3]!.flags.includes('MEM_FIXED_SIZE'));
    assert.equal(helperProto(id('get_current_task_btf'), 'TRACING')!.ret.btfStruct, 'task_struct');
  });

  it('mark references: acquire, release, casts', () => {
    const byName = (n: string) => HELPERS[id(n)]!;
    assert.ok(byName('ringbuf_reserve').acquire && byName('sk_lookup_tcp').acquire);
    assert.ok(
      byName('ringbuf_submit').release && byName('ringbuf_discard').release && byName('sk_release').release,
    );
    assert.ok(byName('ringbuf_submit_dynptr').release && byName('kptr_xchg').release);
    assert.ok(!byName('map_lookup_elem').acquire && !byName('map_lookup_elem').release);
    assert.ok(byName('sk_fullsock').ptrCast && byName('skc_to_tcp_sock').ptrCast);
    assert.ok(byName('xdp_adjust_head').changesPktData && !byName('xdp_load_bytes').changesPktData);
    assert.ok(
      byName('loop').callback && byName('timer_set_callback').callback && !byName('tail_call').callback,
    );
  });

  it('pick the variant a program type gets', () => {
    assert.equal(helperProto(id('get_stackid'), 'TRACEPOINT')!.proto, 'bpf_get_stackid_proto_tp');
    assert.equal(helperProto(id('get_stackid'), 'PERF_EVENT')!.proto, 'bpf_get_stackid_proto_pe');
    assert.equal(helperProto(id('get_stackid'), 'KPROBE')!.proto, 'bpf_get_stackid_proto');
    assert.equal(helperProto(id('skb_load_bytes'), 'SK_REUSEPORT')!.proto, 'sk_reuseport_load_bytes_proto');
    assert.equal(helperProto(id('redirect'), 'XDP')!.proto, 'bpf_xdp_redirect_proto');
    assert.equal(
      helperProto(id('get_func_ip'), 'KPROBE', 'TRACE_KPROBE_MULTI')!.proto,
      'bpf_get_func_ip_proto_kprobe_multi',
    );
  });

  it('agree with the measured GPL-only set', () => {
    for (const gid of GPL_ONLY_HELPERS_MEASURED) {
      const h = HELPERS[gid]!;
      assert.ok(
        h.protos.some((p) => p.gplOnly),
        `${h.name}: the kernel refuses it to non-GPL programs, the table says not GPL-only`,
      );
    }
    // Every helper a measured program type can call, and whose common prototype is GPL-only, was
    // refused to the non-GPL probe — unless only a non-GPL variant was reachable.
    const reachable = new Set<number>();
    for (const row of Object.values(HELPER_AVAILABILITY)) {
      if (row[0]) for (let i = 1; i < HELPER_NAMES.length; i++) if (decode(row[0]).has(i)) reachable.add(i);
    }
    for (const h of HELPERS.slice(1)) {
      if (!reachable.has(h.id) || !h.protos.every((p) => p.gplOnly)) continue;
      assert.ok(
        GPL_ONLY_HELPERS_MEASURED.includes(h.id),
        `${h.name} is GPL-only in the table, not on the kernel`,
      );
    }
    assert.ok(isGplOnly(id('probe_read_kernel')) && !isGplOnly(id('map_lookup_elem')));
  });
});

function decode(hex: string): Set<number> {
  const out = new Set<number>();
  for (let i = 0; i < hex.length / 2; i++) {
    const v = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    for (let b = 0; b < 8; b++) if (v & (1 << b)) out.add(8 * i + b);
  }
  return out;
}

describe('helper availability (measured)', () => {
  it('has a row for the core program types, in every mode it loads in', () => {
    for (const t of [
      'XDP',
      'SOCKET_FILTER',
      'SCHED_CLS',
      'TRACEPOINT',
      'RAW_TRACEPOINT',
      'KPROBE',
      'PERF_EVENT',
      'CGROUP_SKB',
    ] as const) {
      assert.ok(availableHelpers(t, 'root')?.has(id('map_lookup_elem')), t);
    }
    assert.ok(availableHelpers('SOCKET_FILTER', 'unpriv')?.has(id('map_lookup_elem')));
    assert.equal(availableHelpers('KPROBE', 'unpriv'), null, 'kprobes need CAP_PERFMON');
  });

  it('is monotone: bpf ⊆ root and unpriv ⊆ bpf', () => {
    for (const [key, [root, bpf, unpriv]] of Object.entries(HELPER_AVAILABILITY)) {
      if (bpf && root)
        for (const i of decode(bpf)) assert.ok(decode(root).has(i), `${key}: ${HELPER_NAMES[i]} bpf-only`);
      if (unpriv && bpf)
        for (const i of decode(unpriv))
          assert.ok(decode(bpf).has(i), `${key}: ${HELPER_NAMES[i]} unpriv-only`);
      if (unpriv) assert.ok(bpf, `${key}: loads unprivileged but not with CAP_BPF`);
    }
  });

  it('matches the kernel rules it encodes', () => {
    // Tracing-only helpers need CAP_PERFMON: gone in `bpf` mode (bpf_base_func_proto).
    assert.ok(availableHelpers('SCHED_CLS', 'root')!.has(id('trace_printk')));
    assert.ok(!availableHelpers('SCHED_CLS', 'bpf')!.has(id('trace_printk')));
    // Packet helpers belong to packet programs.
    assert.ok(availableHelpers('XDP')!.has(id('xdp_adjust_head')));
    assert.ok(!availableHelpers('KPROBE')!.has(id('xdp_adjust_head')));
    assert.equal(
      helperCallError(id('xdp_adjust_head'), 'KPROBE'),
      'program of this type cannot use helper bpf_xdp_adjust_head#44',
    );
    assert.equal(helperCallError(id('map_lookup_elem'), 'KPROBE'), undefined);
    assert.equal(helperCallError(9999, 'XDP'), 'invalid func unknown#9999');
    // Every available helper has a prototype.
    for (const [key, [root]] of Object.entries(HELPER_AVAILABILITY)) {
      if (root) for (const i of decode(root)) assert.ok(HELPERS[i]?.protos.length, `${key}: ${i}`);
    }
  });
});

describe('map ↔ helper compatibility', () => {
  it('is symmetric where both sides name a pair', () => {
    for (const [name, maps] of Object.entries(FUNC_MAP_COMPAT)) {
      assert.ok(HELPER_NAMES.includes(name), name);
      for (const m of maps) {
        const mapSide = MAP_FUNC_COMPAT[m];
        if (mapSide) assert.ok(mapSide.includes(name), `${m} does not list ${name}`);
      }
    }
    for (const [m, names] of Object.entries(MAP_FUNC_COMPAT)) {
      assert.ok(m in MapType, m);
      for (const n of names) {
        const funcSide = FUNC_MAP_COMPAT[n];
        if (funcSide) assert.ok(funcSide.includes(m as MapTypeName), `${n} does not list ${m}`);
      }
    }
  });

  it('answers like check_map_func_compatibility', () => {
    assert.ok(mapFuncCompatible('HASH', id('map_lookup_elem')));
    assert.ok(!mapFuncCompatible('HASH', id('ringbuf_reserve')));
    assert.ok(!mapFuncCompatible('RINGBUF', id('map_lookup_elem')));
    assert.ok(mapFuncCompatible('PROG_ARRAY', id('tail_call')));
    assert.ok(!mapFuncCompatible('PROG_ARRAY', id('map_lookup_elem')));
    assert.ok(mapFuncCompatible('PERCPU_ARRAY', id('map_lookup_percpu_elem')));
    assert.ok(!mapFuncCompatible('ARRAY', id('map_lookup_percpu_elem')));
    assert.equal(
      mapFuncError(27, id('map_lookup_elem')),
      'cannot pass map_type 27 into func bpf_map_lookup_elem#1',
    );
  });
});

describe('context access (measured)', () => {
  it('gives packet pointers where the kernel does', () => {
    assert.equal(ctxAccess('XDP', 0, 4, 'read')?.type?.regType, 'PTR_TO_PACKET');
    assert.equal(ctxAccess('XDP', 4, 4, 'read')?.type?.regType, 'PTR_TO_PACKET_END');
    assert.equal(ctxAccess('XDP', 8, 4, 'read')?.type?.regType, 'PTR_TO_PACKET_META');
    assert.equal(ctxAccess('SCHED_CLS', 76, 4, 'read')?.type?.regType, 'PTR_TO_PACKET');
    assert.equal(ctxAccess('SCHED_CLS', 80, 4, 'read')?.type?.regType, 'PTR_TO_PACKET_END');
    assert.equal(ctxAccess('CGROUP_SKB', 76, 4, 'read')?.type?.regType, 'PTR_TO_PACKET');
    const sk = ctxAccess('SCHED_CLS', 168, 8, 'read')?.type;
    assert.deepEqual([sk?.regType, sk?.flags], ['PTR_TO_SOCK_COMMON', ['PTR_MAYBE_NULL']]);
    assert.equal(ctxAccess('FLOW_DISSECTOR', 144, 8, 'read')?.type?.regType, 'PTR_TO_FLOW_KEYS');
  });

  it('refuses what the kernel refuses, in its words', () => {
    // Socket filters may not see packet pointers; XDP's ctx is 4-byte fields only.
    assert.deepEqual(ctxAccess('SOCKET_FILTER', 76, 4, 'read'), {
      allowed: false,
      message: 'invalid bpf_context access off=76 size=4',
    });
    assert.equal(ctxAccess('XDP', 0, 8, 'read')?.allowed, false);
    assert.equal(ctxAccess('XDP', 0, 4, 'write')?.allowed, false);
    assert.equal(ctxAccess('KPROBE', 0, 8, 'write')?.allowed, false);
    // __sk_buff->mark (8) is writable from tc, cb[] (48..67) from socket filters too.
    assert.equal(ctxAccess('SCHED_CLS', 8, 4, 'write')?.allowed, true);
    assert.equal(ctxAccess('SOCKET_FILTER', 48, 4, 'write')?.allowed, true);
    assert.equal(ctxAccess('SOCKET_FILTER', 8, 4, 'write')?.allowed, false);
  });

  it('differs by capability mode where the kernel does', () => {
    assert.equal(ctxAccess('CGROUP_SKB', 76, 4, 'read', undefined, 'root')?.type?.regType, 'PTR_TO_PACKET');
    assert.deepEqual(ctxAccess('CGROUP_SKB', 76, 4, 'read', undefined, 'unpriv'), {
      allowed: false,
      message: 'invalid bpf_context access off=76 size=4',
    });
    assert.equal(ctxAccess('CGROUP_SKB', 76, 4, 'read', undefined, 'bpf')?.allowed, true);
    assert.equal(ctxAccess('SOCKET_FILTER', 48, 4, 'write', undefined, 'unpriv')?.allowed, true);
  });

  it('allows narrow loads of scalar fields and sizes the contexts', () => {
    assert.equal(ctxAccess('SCHED_CLS', 0, 1, 'read')?.type?.regType, 'SCALAR_VALUE'); // len, low byte
    assert.equal(ctxAccess('SCHED_CLS', 2, 2, 'read')?.allowed, true);
    assert.equal(ctxAccess('SCHED_CLS', 76, 2, 'read')?.allowed, false, 'no narrow load of data');
    assert.equal(ctxSize('XDP'), 20); // struct xdp_md: egress_ifindex (20) only for devmap programs
    assert.equal(ctxSize('XDP', 'XDP_DEVMAP'), 24);
    assert.equal(ctxSize('KPROBE'), 168); // struct pt_regs on x86-64
    assert.equal(ctxSize('RAW_TRACEPOINT'), 96); // twelve u64 args
    assert.equal(ctxAccess('TRACEPOINT', 4096, 8, 'read')?.allowed, true);
    assert.equal(ctxAccess('TRACEPOINT', 8192, 8, 'read')?.allowed, false);
    assert.equal(ctxAccess('TRACEPOINT', 0, 8, 'read')?.allowed, false);
  });

  it('names the fields offsets fall in (vmlinux BTF)', () => {
    assert.deepEqual(ctxField('SCHED_CLS', 80), {
      struct: '__sk_buff',
      name: 'data_end',
      offset: 80,
      size: 4,
    });
    assert.equal(ctxField('SOCKET_FILTER', 57)?.name, 'cb[2]');
    assert.equal(ctxField('XDP', 4)?.name, 'data_end');
    assert.equal(ctxField('SK_MSG', 72)?.name, 'sk');
    assert.equal(ctxField('XDP', 24), undefined);
    // Every pointer-typed read lands on a field of that size.
    for (const [key, row] of Object.entries(CONTEXT_MEASURED)) {
      if (!row) continue;
      const progType = key.split('/')[0] as ProgTypeName;
      for (const field of Object.keys(row.types)) {
        const [off, size] = field.split('/').map(Number) as [number, number];
        const f = ctxField(progType, off);
        if (f) assert.equal(f.offset, off, `${key} ${field} (${f.name})`);
        if (f && f.size >= size) assert.ok(f.size === size || f.size === 8, `${key} ${field} (${f.name})`);
      }
    }
  });

  it('has well-formed rows', () => {
    for (const [key, row] of Object.entries(CONTEXT_MEASURED)) {
      if (!row) continue;
      assert.equal(row.read.length, 4, key);
      assert.equal(row.write.length, 4, key);
      for (const [field, type] of Object.entries(row.types)) {
        const [off, size] = field.split('/').map(Number) as [number, number];
        const progType = key.split('/')[0] as ProgTypeName;
        assert.ok(progType in ProgType, key);
        assert.equal(
          ctxAccess(progType, off, size, 'read', key.split('/')[1])?.allowed,
          true,
          `${key} ${field}`,
        );
        assert.notEqual(ctxRegType(type).regType, 'UNKNOWN', `${key}: ${type}`);
      }
    }
    assert.ok(ctxPointerFields('SCHED_CLS').size >= 3);
  });
});

describe('return ranges (measured)', () => {
  it('names the ranges check_return_code enforces', () => {
    assert.deepEqual(returnRange('CGROUP_SKB', 'CGROUP_INET_INGRESS'), [0, 1]);
    assert.deepEqual(returnRange('CGROUP_SKB', 'CGROUP_INET_EGRESS'), [0, 3]);
    assert.deepEqual(returnRange('CGROUP_SOCK_ADDR', 'CGROUP_INET4_GETPEERNAME'), [1, 1]);
    assert.deepEqual(returnRange('CGROUP_SOCK_ADDR', 'CGROUP_INET4_BIND'), [0, 3]);
    assert.equal(returnRange('XDP'), null);
    assert.equal(returnRange('SOCKET_FILTER'), null);
    assert.deepEqual(returnRange('LSM', 'LSM_MAC'), [-4095, 0]);
  });

  it('has rows consistent with their ranges', () => {
    for (const [key, row] of Object.entries(RETURNS_MEASURED)) {
      if (!row) continue;
      for (const v of row.accepted) {
        if (row.range)
          assert.ok(v >= row.range[0] && v <= row.range[1], `${key}: ${v} accepted outside range`);
      }
      if (!row.range) assert.equal(row.accepted.length, 12, `${key}: values refused but no range`);
    }
  });

  it("writes the kernel's messages", () => {
    assert.equal(
      returnCodeError('CGROUP_SKB', { kind: 'scalar', smin: 2n, smax: 2n }),
      'At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]',
    );
    assert.equal(
      returnCodeError('CGROUP_SKB', { kind: 'unknown' }),
      'At program exit the register R0 has unknown scalar value should have been in [0, 1]',
    );
    assert.equal(
      returnCodeError('CGROUP_SKB', { kind: 'pointer', logName: 'ctx' }),
      'At program exit the register R0 is not a known value (ctx)',
    );
    assert.equal(returnCodeError('CGROUP_SKB', { kind: 'scalar', smin: 0n, smax: 1n }), undefined);
    assert.equal(returnCodeError('XDP', { kind: 'unknown' }), undefined);
    assert.equal(returnCodeError('XDP', { kind: 'uninit' }), 'R0 !read_ok');
  });
});

describe('prototypes checked on the kernel (proto-checks.ts)', () => {
  /** What the kernel says when argument `arg` alone gets a 0 it must refuse. */
  const REFUSALS: Partial<Record<string, RegExp>> = {
    ARG_CONST_SIZE: /invalid zero-sized read/,
    ARG_PTR_TO_CTX: /type=scalar expected=ctx/,
    ARG_CONST_MAP_PTR: /type=scalar expected=map_ptr/,
    ARG_PTR_TO_CONST_STR: /type=scalar expected=map_value/,
    ARG_PTR_TO_SOCK_COMMON: /type=scalar expected=sock_common/,
    ARG_PTR_TO_BTF_ID_SOCK_COMMON: /type=scalar expected=sock_common/,
    ARG_PTR_TO_BTF_ID: /type=scalar expected=.*ptr_/,
    ARG_PTR_TO_RINGBUF_MEM: /type=scalar expected=ringbuf_mem/,
  };
  const expectedRefusal = (arg: HelperArg): RegExp => REFUSALS[arg.base] ?? /type=scalar expected=fp/;

  it('every call built from the table verified, or failed only after its arguments passed', () => {
    let verified = 0;
    for (const [name, checks] of Object.entries(PROTO_CHECKS)) {
      for (const check of checks) {
        const where = `${name} (${check.proto}) from ${PROTO_CHECK_TARGETS[check.target[0]!]}`;
        if (check.verdict === 'ok') verified++;
        else if (check.verdict === 'skipped' || check.verdict.startsWith('inconclusive')) continue;
        else if (/reference leak/.test(check.verdict)) assert.ok(HELPERS[id(name)]!.acquire, where);
        else {
          // Refused after the lookup: the availability table records it for that type.
          for (const t of check.target) {
            assert.equal(
              HELPER_REFUSED_AFTER_LOOKUP[PROTO_CHECK_TARGETS[t]!]?.[id(name)],
              check.verdict,
              where,
            );
          }
        }
      }
    }
    assert.ok(verified > 150, `${verified} helper calls verified`);
  });

  it('every argument refused a wrong value with the message its table type predicts', () => {
    for (const [name, checks] of Object.entries(PROTO_CHECKS)) {
      for (const check of checks) {
        const [progType, attachType] = PROTO_CHECK_TARGETS[check.target[0]!]!.split('/') as [
          ProgTypeName,
          string?,
        ];
        const proto = helperProto(id(name), progType, attachType)!;
        assert.equal(proto.proto, check.proto);
        check.negatives.forEach((message, i) => {
          if (!message) return;
          assert.match(
            message,
            expectedRefusal(proto.args[i]!),
            `${name} arg${i + 1} (${proto.args[i]!.spelling})`,
          );
        });
      }
    }
  });

  it('gives R0 the type the kernel gives it after each call', () => {
    let compared = 0;
    for (const [name, checks] of Object.entries(PROTO_CHECKS)) {
      for (const check of checks) {
        if (check.ret === undefined) continue;
        const [progType, attachType] = PROTO_CHECK_TARGETS[check.target[0]!]!.split('/') as [
          ProgTypeName,
          string?,
        ];
        const proto = helperProto(id(name), progType, attachType)!;
        assert.equal(retRegType(proto.ret).logName, check.ret, `${name}: ${proto.ret.spelling}`);
        compared++;
      }
    }
    assert.ok(compared > 150, `${compared} return types compared`);
  });

  it('marks MEM_WRITE exactly where the kernel refuses read-only memory', () => {
    let compared = 0;
    for (const [name, checks] of Object.entries(PROTO_CHECKS)) {
      for (const check of checks) {
        const [progType, attachType] = PROTO_CHECK_TARGETS[check.target[0]!]!.split('/') as [
          ProgTypeName,
          string?,
        ];
        const proto = helperProto(id(name), progType, attachType)!;
        check.readOnly?.forEach((message, i) => {
          if (!message) return;
          const arg = proto.args[i]!;
          assert.equal(
            message === 'ok',
            !arg.flags.includes('MEM_WRITE'),
            `${name} arg${i + 1} ${arg.spelling}: ${message}`,
          );
          compared++;
        });
      }
    }
    assert.ok(compared > 80, `${compared} memory arguments compared`);
  });

  it('marks MEM_UNINIT exactly where the kernel lets a helper fill unwritten stack (bpf mode)', () => {
    let compared = 0;
    for (const [name, check] of Object.entries(UNINIT_CHECKS)) {
      const [progType, attachType] = check.target.split('/') as [ProgTypeName, string?];
      const proto = helperProto(id(name), progType, attachType)!;
      check.uninit.forEach((message, i) => {
        if (!message) return;
        const arg = proto.args[i]!;
        assert.equal(
          message === 'ok',
          arg.flags.includes('MEM_UNINIT'),
          `${name} arg${i + 1} ${arg.spelling}: ${message}`,
        );
        compared++;
      });
    }
    assert.ok(compared > 50, `${compared} memory arguments compared`);
  });

  it('agrees with the measured map compatibility', () => {
    for (const [name, row] of Object.entries(MAP_COMPAT_MEASURED)) {
      for (const m of row.ok) assert.ok(mapFuncCompatible(m as MapTypeName, id(name)), `${name} takes ${m}`);
      for (const m of row.refused)
        assert.ok(!mapFuncCompatible(m as MapTypeName, id(name)), `${name} refuses ${m}`);
    }
  });

  it('explains calls refused after the lookup', () => {
    assert.equal(
      helperCallError(id('get_func_ip'), 'TRACEPOINT'),
      'func bpf_get_func_ip#173 not supported for program type 5',
    );
    assert.equal(
      helperCallError(id('copy_from_user'), 'KPROBE'),
      'helper call might sleep in a non-sleepable prog',
    );
    assert.equal(
      helperCallError(id('copy_from_user'), 'KPROBE', 'root', undefined, { sleepable: true }),
      undefined,
    );
  });
});
