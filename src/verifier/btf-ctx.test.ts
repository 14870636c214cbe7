// BTF-typed contexts (tp_btf/fentry/fexit): the argument slots from the kernel's BTF, as real
// tracing tools (runqlat, biolatency, hardirqs) read them. testdata/realworld/btf_ctx.bpf.c;
// the tp_btf verdicts and insns_processed were measured on Linux 6.18 (fentry/fexit load with
// EPERM on this machine's kernel, so those follow btf_ctx_access's rules, unmeasured).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseBtf } from '../object/btf.js';
import { loadObjectSpec } from '../object/object.js';
import { btfCtxAccess, btfCtxOf } from './btf-ctx.js';
import { verify } from './index.js';
import { verifierInputOf } from './object.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const VMLINUX = '/sys/kernel/btf/vmlinux';
const skip = existsSync(VMLINUX) ? false : `needs the kernel's BTF (${VMLINUX})`;

describe('BTF-typed program contexts', { skip }, () => {
  const kernelBtf = parseBtf(new Uint8Array(readFileSync(VMLINUX)));

  test('tp_btf: the tracepoint arguments after the hidden __data pointer', () => {
    const ctx = btfCtxOf(kernelBtf, 'TRACE_RAW_TP', 'sched_switch');
    // bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state
    assert.deepEqual(
      ctx?.args.map((a) => a.type),
      ['scalar', 'btf_id', 'btf_id', 'scalar'],
    );
    assert.equal(ctx?.ret, undefined);
    assert.equal(btfCtxAccess(ctx!, 32, 8, false), 'invalid bpf_context access off=32 size=8');
    assert.equal(btfCtxAccess(ctx!, 4, 4, false), 'invalid bpf_context access off=4 size=4');
    assert.equal(btfCtxAccess(ctx!, 0, 8, true), 'invalid bpf_context access off=0 size=8');
    assert.equal(btfCtxOf(kernelBtf, 'TRACE_RAW_TP', 'no_such_tracepoint'), undefined);
  });

  test('fexit: the return value in the slot after the last argument', () => {
    const ctx = btfCtxOf(kernelBtf, 'TRACE_FEXIT', 'vfs_fsync');
    assert.deepEqual(
      ctx?.args.map((a) => a.type),
      ['btf_id', 'scalar'],
    );
    assert.equal(ctx?.ret?.type, 'scalar');
    assert.equal(btfCtxOf(kernelBtf, 'TRACE_FENTRY', 'vfs_fsync')?.ret, undefined);
  });

  test('objects: verdicts with the kernel BTF and the section attach target', () => {
    const spec = loadObjectSpec(new Uint8Array(readFileSync(`${root}testdata/realworld/btf_ctx.bpf.o`)));
    const verdicts = Object.fromEntries(
      spec.programs.map((p) => {
        const r = verify(verifierInputOf(spec, p, { kernelBtf })!);
        return [p.name, r.accepted ? `ok ${r.insnsProcessed}` : r.error?.message];
      }),
    );
    assert.deepEqual(verdicts, {
      tp_btf_args: 'ok 19',
      tp_btf_past_last_arg: 'invalid bpf_context access off=32 size=8',
      tp_btf_write: 'invalid bpf_context access off=0 size=8',
      fexit_ret: 'ok 9',
      fentry_no_ret: 'invalid bpf_context access off=16 size=8',
      // .kconfig as compiled (zero): see src/kernel/realworld.test.ts for this kernel's values.
      tp_btf_by_version: 'dereference of modified ctx ptr R1 off=8 disallowed',
      // btf_struct_access: offset 8 of struct task_struct is inside a scalar member (measured: ok 8).
      tp_btf_deref: 'ok 8',
    });
    // Without the kernel's BTF the arguments are unknown: every read is refused, as before.
    const args = spec.programs.find((p) => p.name === 'tp_btf_args')!;
    assert.equal(verify(verifierInputOf(spec, args)!).accepted, false);
  });
});
