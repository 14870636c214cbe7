/**
 * The VM verifies typed programs before they load: a program Linux refuses does not run, and the
 * error carries the verifier's explanation. The example objects load as they do in the kernel.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { assemble } from '../isa/index.js';
// Through the backend's entry point: its files move between rooms.
import { bpfUnavailable, loadObject } from '../kernel/index.js';
import { VerifierRejectedError } from './verify.js';
import { Vm } from './vm.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => new Uint8Array(readFileSync(new URL(path, root)));
const BROKEN = 'testdata/kernel/broken.bpf.o';
const frame = new Uint8Array(34).fill(0);

/** An XDP program reading the packet's first byte without comparing against data_end. */
const UNCHECKED = 'r1 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r1 + 0)\nexit';

describe('Vm: verification before a typed program loads', () => {
  test('a refused program throws VerifierRejectedError with the kernel line, summary and hint', () => {
    const vm = new Vm();
    assert.throws(
      () => vm.loadProgram({ type: 'XDP', insns: assemble(UNCHECKED), name: 'unchecked' }),
      (error: unknown) => {
        assert.ok(error instanceof VerifierRejectedError);
        assert.equal(error.program, 'unchecked');
        assert.equal(error.reason, 'R1 offset is outside of the packet');
        assert.equal(error.insn, 1);
        assert.equal(error.slot, 1);
        assert.equal(error.insnText, '(71) r0 = *(u8 *)(r1 +0)');
        assert.equal(error.summary, 'packet read or write past the checked end');
        assert.match(error.hint ?? '', /data_end/);
        assert.equal(
          error.message,
          "program 'unchecked' rejected by the verifier: instruction 1: R1 offset is outside of the packet",
        );
        return true;
      },
    );
  });

  test('verify: false on the VM or on one load runs it anyway', () => {
    const insns = assemble(UNCHECKED);
    const unchecked = new Vm({ verify: false });
    const program = unchecked.loadProgram({ type: 'XDP', insns });
    assert.equal(program.verified, undefined);
    assert.equal(unchecked.testRun(program, { data: frame }).retval, 0);
    const vm = new Vm();
    assert.equal(
      vm.testRun(vm.loadProgram({ type: 'XDP', insns, verify: false }), { data: frame }).retval,
      0,
    );
  });

  test('an accepted program carries the verdict, and the JIT gets what it proved', () => {
    const insns = assemble(`
      r2 = *(u32 *)(r1 + 4)
      r1 = *(u32 *)(r1 + 0)
      r3 = r1
      r3 += 1
      r0 = 2
      if r3 > r2 goto +1
      r0 = *(u8 *)(r1 + 0)
      exit`);
    for (const engine of ['jit', 'interpreter'] as const) {
      const vm = new Vm({ engine });
      const program = vm.loadProgram({ type: 'XDP', insns });
      assert.equal(program.verified?.accepted, true);
      assert.deepEqual([...(program.verified?.facts?.safeAccess ?? [])], [6]);
      assert.equal(vm.testRun(program, { data: new Uint8Array(20).fill(7) }).retval, 7);
    }
  });

  test('raw programs (no type) are never verified', () => {
    const vm = new Vm();
    const result = vm.run(vm.load(assemble('r0 = *(u8 *)(r1 + 0)\nexit')), { mem: new Uint8Array([42]) });
    assert.equal(result.r0, 42n);
  });

  test('caps: bpf_trace_printk needs CAP_PERFMON, which the bpf mode lacks', () => {
    const src = 'r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\ncall 6\nr0 = 2\nexit';
    assert.equal(new Vm().loadProgram({ type: 'XDP', insns: assemble(src) }).verified?.accepted, true);
    assert.throws(
      () => new Vm({ caps: 'bpf' }).loadProgram({ type: 'XDP', insns: assemble(src) }),
      /cannot use helper bpf_trace_printk#6/,
    );
  });

  test('map references by id (MAP_FD) are checked against the map they name', () => {
    const vm = new Vm();
    const map = vm.maps.create({ name: 'm', type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1 });
    const id = vm.maps.idOf(map);
    const lookup = (off: number) =>
      assemble(
        `r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map[id:${id}]\ncall 1\nif r0 == 0 goto +1\nr0 = *(u64 *)(r0 + ${off})\nr0 = 2\nexit`,
      );
    assert.equal(vm.loadProgram({ type: 'XDP', insns: lookup(0) }).verified?.accepted, true);
    assert.throws(
      () => vm.loadProgram({ type: 'XDP', insns: lookup(8) }),
      // The kernel's last line (it prints `invalid access to map value, value_size=8 off=8 size=8` before it).
      /R0 min value is outside of the allowed memory range/,
    );
  });

  test('helpers come from the measured tables: offered ones verify, others are refused', () => {
    // bpf_xdp_adjust_head (44): Linux offers it to XDP programs, and the tables give its prototype.
    const vm = new Vm();
    const program = vm.loadProgram({ type: 'XDP', insns: assemble('r2 = 0\ncall 44\nr0 = 2\nexit') });
    assert.equal(program.verified?.accepted, true);
    assert.equal(program.unverified, undefined);
    // A helper Linux does not offer XDP programs is refused (bpf_probe_read: tracing only).
    const src = 'r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 4\nr0 = 2\nexit';
    assert.throws(
      () => vm.loadProgram({ type: 'XDP', insns: assemble(src) }),
      /cannot use helper bpf_probe_read#4/,
    );
  });
});

describe('Vm: objects', () => {
  test('a refused program is listed with its source line; the others load', () => {
    const object = new Vm().loadObject(read(BROKEN));
    assert.deepEqual([...object.programs.keys()], ['xdp_ok']);
    const error = object.rejected.get('xdp_unchecked');
    assert.ok(error instanceof VerifierRejectedError);
    assert.equal(error.reason, 'R1 offset is outside of the packet');
    assert.deepEqual(
      { file: error.source?.file, line: error.source?.line, column: error.source?.column },
      { file: './broken.bpf.c', line: 27, column: 16 },
    );
    assert.match(error.source?.text ?? '', /no bounds check against data_end/);
    assert.match(error.message, /instruction 1: \.\/broken\.bpf\.c:27:16: R1 offset is outside/);
  });

  test('loadObject(…, { verify: false }) and new Vm({ verify: false }) load every program', () => {
    assert.deepEqual(
      [...new Vm().loadObject(read(BROKEN), { verify: false }).programs.keys()],
      ['xdp_ok', 'xdp_unchecked'],
    );
    const object = new Vm({ verify: false }).loadObject(read(BROKEN));
    assert.equal(object.rejected.size, 0);
    assert.equal(object.programs.size, 2);
  });

  test('tp_btf contexts without the kernel BTF are a gap, not a refusal (testdata/realworld)', () => {
    const object = new Vm().loadObject(read('testdata/realworld/btf_ctx.bpf.o'));
    // Reads of the argument slots: unverified, since the prototype is in the kernel's BTF.
    assert.match(
      object.programs.get('tp_btf_args')?.unverified ?? '',
      /TRACING contexts need the kernel's BTF/,
    );
    assert.match(
      object.programs.get('tp_btf_deref')?.unverified ?? '',
      /TRACING contexts need the kernel's BTF/,
    );
    // A write into the context is refused whatever the prototype says.
    assert.equal(object.rejected.get('tp_btf_write')?.reason, 'invalid bpf_context access off=0 size=8');
  });
});

const examples = readdirSync(new URL('examples/', root))
  .filter((f) => f.endsWith('.bpf.o'))
  .map((f) => `examples/${f}`);

/** Per program: whether the VM loads it (verified, or unverified for a verifier gap). */
function vmVerdicts(path: string): Map<string, boolean> {
  const object = new Vm().loadObject(read(path));
  const verdicts = new Map<string, boolean>();
  for (const name of object.programs.keys()) verdicts.set(name, true);
  for (const name of object.rejected.keys()) verdicts.set(name, false);
  return verdicts;
}

describe('Vm: the examples load as they do in Linux', () => {
  for (const path of [...examples, BROKEN]) {
    test(`${path}: the VM's verdicts`, () => {
      const verdicts = vmVerdicts(path);
      assert.ok(verdicts.size > 0);
      for (const [name, loads] of verdicts)
        assert.equal(loads, !(path === BROKEN && name === 'xdp_unchecked'), `${path}:${name}`);
    });
  }

  const why = bpfUnavailable();
  test('the kernel gives the same verdicts', { skip: why ? `bpf() unavailable: ${why}` : false }, () => {
    for (const path of [...examples, BROKEN]) {
      const kernel = loadObject(read(path), { name: path.split('/').pop()!.split('.')[0] });
      try {
        const theirs = new Map([...kernel.programs].map(([name, p]) => [name, p.program !== undefined]));
        assert.deepEqual(vmVerdicts(path), theirs, path);
      } finally {
        kernel.close();
      }
    }
  });
});
