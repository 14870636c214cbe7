// What real tools trip over (scripts/realworld.ts), reproduced in our own C under
// testdata/realworld/: our verdicts, with the kernel's BTF and the kernel's .kconfig values as
// libbpf writes them, beside the kernel's own where bpf() is available.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadObjectSpec } from '../object/object.js';
import { verify } from '../verifier/index.js';
import { verifierInputOf } from '../verifier/object.js';
import { loadObject, vmlinuxBtf, withKernelKconfig } from './load/object.js';
import { bpfUnavailable } from './sys/availability.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const object = `${root}testdata/realworld/btf_ctx.bpf.o`;
const btfSkip = existsSync('/sys/kernel/btf/vmlinux') ? false : 'needs /sys/kernel/btf/vmlinux';
const why = bpfUnavailable();

describe('real-world patterns', { skip: btfSkip }, () => {
  const spec = loadObjectSpec(new Uint8Array(readFileSync(object)));
  const ours = (s: typeof spec, name: string) => {
    const r = verify(
      verifierInputOf(s, s.programs.find((p) => p.name === name)!, { kernelBtf: vmlinuxBtf() })!,
    );
    return r.accepted ? `ok ${r.insnsProcessed}` : r.error?.message;
  };

  test('a branch on LINUX_KERNEL_VERSION is pruned once .kconfig holds this kernel', () => {
    // With .kconfig zero (the object as compiled) the old-kernel branch reads past this kernel's
    // one argument (clang adds 8 to the context pointer first).
    assert.equal(ours(spec, 'tp_btf_by_version'), 'dereference of modified ctx ptr R1 off=8 disallowed');
    assert.equal(ours(withKernelKconfig(spec), 'tp_btf_by_version'), 'ok 21');
  });

  test('the kernel agrees', { skip: why ? `bpf() unavailable: ${why}` : false }, () => {
    const kernel = loadObject(spec);
    try {
      const fixed = withKernelKconfig(spec);
      for (const name of [
        'tp_btf_args',
        'tp_btf_past_last_arg',
        'tp_btf_write',
        'tp_btf_by_version',
        'tp_btf_deref',
      ]) {
        const k = kernel.programs.get(name)!;
        assert.equal(ours(fixed, name)?.startsWith('ok'), k.program !== undefined, name);
        if (k.program) assert.equal(ours(fixed, name), `ok ${k.insnsProcessed}`, name);
      }
    } finally {
      kernel.close();
    }
  });
});
