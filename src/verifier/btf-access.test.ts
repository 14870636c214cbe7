// Reads through BTF-typed pointers (btf_struct_access): testdata/verifier/btf-ptr/btf_ptr.bpf.c,
// verified against this kernel's struct layouts. The pure part uses the committed cut of the
// kernel's BTF (vmlinux-subset.btf) and the verdicts the kernel gave (verdicts.json, Linux 6.18;
// `sudo npx tsx scripts/btf-ptr-golden.ts` measures both again); the kernel part puts our verdicts
// beside the running kernel's, with its full BTF.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadObject, vmlinuxBtf } from '../kernel/load/object.js';
import { errorLineOf } from '../kernel/load/verifier-oracle.js';
import { bpfUnavailable } from '../kernel/sys/availability.js';
import { VerifierError } from '../kernel/sys/errors.js';
import { type Btf, parseBtf } from '../object/btf.js';
import { loadObjectSpec, type ObjectSpec } from '../object/object.js';
import { btfPtrReadFlags, btfStructAccess, btfStructIdsMatch, kernelStructId } from './btf-access.js';
import { btfCtxOf } from './btf-ctx.js';
import { verify } from './index.js';
import { verifierInputOf } from './object.js';
import { rawTpArgNullness } from './raw-tp-null.js';
import { BtfFlag } from './scalar.js';

const dir = fileURLToPath(new URL('../../testdata/verifier/btf-ptr/', import.meta.url));
const golden = JSON.parse(readFileSync(`${dir}verdicts.json`, 'utf8')) as Record<
  string,
  Record<string, string>
>;
const specs = new Map(
  Object.keys(golden).map((o) => [o, loadObjectSpec(new Uint8Array(readFileSync(`${dir}${o}`)))]),
);
const spec = specs.get('btf_ptr.bpf.o')!;
const subset = parseBtf(new Uint8Array(readFileSync(`${dir}vmlinux-subset.btf`)));

/** Our verdict for every program, `ok N` or the first error line. */
function ours(s: ObjectSpec, kernelBtf: Btf): Record<string, string> {
  return Object.fromEntries(
    s.programs.map((p) => {
      const r = verify(verifierInputOf(s, p, { kernelBtf })!);
      return [p.name, r.accepted ? `ok ${r.insnsProcessed}` : (r.error?.message ?? '')];
    }),
  );
}

describe('reads through BTF-typed pointers', () => {
  test('every program: the verdict and first error the kernel gave', () => {
    for (const [object, s] of specs) assert.deepEqual(ours(s, subset), golden[object], object);
  });

  test('without the kernel BTF the reads stay refused for lack of layouts (a gap, not a verdict)', () => {
    const p = spec.programs.find((q) => q.name === 'task_btf_pid')!;
    assert.equal(verify(verifierInputOf(spec, p)!).error?.message, "R0 invalid mem access 'trusted_ptr_'");
  });

  test('the log names the struct and the trust, as the kernel prints them', () => {
    const p = spec.programs.find((q) => q.name === 'tp_btf_parent_tgid')!;
    const { log } = verify({ ...verifierInputOf(spec, p, { kernelBtf: subset })!, logLevel: 2 });
    const task = kernelStructId(subset, 'task_struct');
    // lines measured on 6.18 (the id is this BTF's: the kernel's own is 114)
    assert.ok(
      log.includes(
        `func 'sched_switch' arg2 has btf_id ${task} type STRUCT 'task_struct'\n1: R1=trusted_ptr_task_struct()\n`,
      ),
    );
    assert.ok(log.includes('; R1=trusted_ptr_task_struct() R2=untrusted_ptr_task_struct()\n'));
    assert.ok(log.includes('; R1=rcu_ptr_task_struct()\n'));
  });

  test('tracepoint arguments the kernel marks nullable or ERR_PTR (measured on 6.18)', () => {
    assert.deepEqual(rawTpArgNullness('kfree_skb', 3), { maybeNull: true, maybeErr: false });
    assert.deepEqual(rawTpArgNullness('kfree_skb', 0), { maybeNull: false, maybeErr: false });
    assert.deepEqual(rawTpArgNullness('signal_deliver', 1), { maybeNull: false, maybeErr: true });
    assert.deepEqual(rawTpArgNullness('tcp_send_reset', 1), { maybeNull: true, maybeErr: false });
    const ctx = btfCtxOf(subset, 'TRACE_RAW_TP', 'kfree_skb');
    assert.deepEqual(
      ctx?.args.map((a) => (a.type === 'btf_id' ? `${a.maybeNull ? 'nullable ' : ''}${a.btfFlags}` : a.type)),
      ['2', 'scalar', 'scalar', 'nullable 2'],
    );
  });

  test('the walk: members, nested structs, pointers and their trust', () => {
    const task = kernelStructId(subset, 'task_struct');
    const member = (name: string) => {
      const t = subset.typeById(task);
      assert.ok(t.kind === 'struct');
      return t.members.find((m) => m.name === name)!.bitsOffset / 8;
    };
    assert.deepEqual(btfStructAccess(subset, task, member('pid'), 4), { kind: 'scalar' });
    const parent = btfStructAccess(subset, task, member('real_parent'), 8);
    assert.ok(typeof parent === 'object' && parent.kind === 'ptr');
    assert.equal(parent.btfId, task);
    // real_parent is in task_struct__safe_rcu; mm is in no list
    assert.deepEqual(btfPtrReadFlags(subset, task, BtfFlag.TRUSTED, false, true, parent), {
      btfId: task,
      flags: BtfFlag.RCU,
      maybeNull: false,
    });
    const mm = btfStructAccess(subset, task, member('mm'), 8);
    assert.ok(typeof mm === 'object' && mm.kind === 'ptr');
    assert.equal(btfPtrReadFlags(subset, task, BtfFlag.TRUSTED, false, true, mm).flags, BtfFlag.UNTRUSTED);
    // fentry arguments are plain ptr_: what they lead to stays plain (the old compat rule)
    assert.equal(btfPtrReadFlags(subset, task, 0, false, true, mm).flags, 0);
    // a sleepable program is outside an RCU read section: everything walked is untrusted
    assert.equal(
      btfPtrReadFlags(subset, task, BtfFlag.TRUSTED, false, false, parent).flags,
      BtfFlag.UNTRUSTED,
    );
    assert.deepEqual(btfStructAccess(subset, task, member('stack'), 8), { kind: 'untrusted_mem' });
    assert.match(
      String(btfStructAccess(subset, task, member('pid'), 8)),
      /^access beyond the end of member pid /,
    );
    // struct sock starts with struct sock_common: a sock is a sock_common, not the reverse
    const sock = kernelStructId(subset, 'sock');
    const common = kernelStructId(subset, 'sock_common');
    assert.equal(btfStructIdsMatch(subset, sock, 0, common, false), true);
    assert.equal(btfStructIdsMatch(subset, sock, 0, common, true), false);
    assert.equal(btfStructIdsMatch(subset, common, 0, sock, false), false);
  });
});

const vmlinux = '/sys/kernel/btf/vmlinux';
const why = existsSync(vmlinux) ? bpfUnavailable() : `needs ${vmlinux}`;

describe('reads through BTF-typed pointers: the kernel agrees', {
  skip: why ? `kernel: ${why}` : false,
}, () => {
  test("our verdicts with the kernel's full BTF equal the running kernel's", () => {
    for (const [object, s] of specs) {
      const kernel = loadObject(s);
      try {
        const theirs = Object.fromEntries(
          s.programs.map((p) => {
            const k = kernel.programs.get(p.name)!;
            const verdict = k.program
              ? `ok ${k.insnsProcessed}`
              : k.error instanceof VerifierError
                ? errorLineOf(k.error.log)
                : `not loaded: ${k.error?.message}`;
            return [p.name, verdict];
          }),
        );
        assert.deepEqual(ours(s, vmlinuxBtf()), theirs, object);
      } finally {
        kernel.close();
      }
    }
  });
});
