/**
 * The capability modes: the load-time refusals against the kernel's measured tables, and one
 * program per mode rule with the verdict and error line Linux 6.18 gave it (recorded in
 * testdata/verifier/regressions.jsonl; the assembly here is the same program, shortened).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assemble } from '../isa/index.js';
import { ProgType, type ProgTypeName } from '../uapi.js';
import {
  CALLS_NEED_BPF_CAP,
  callsRefusal,
  capsSwitches,
  progTypeRefusal,
  ptrLimit,
  sanitizeError,
} from './caps.js';
import { verify } from './index.js';
import { HELPER_AVAILABILITY } from './tables/helper-availability.js';
import type { Caps, VerifierMap } from './types.js';

const MODES: readonly Caps[] = ['root', 'bpf', 'unpriv'];

describe('capability switches', () => {
  it('root has every switch, bpf only bpf_capable, unpriv none', () => {
    assert.deepEqual(Object.values(capsSwitches('root')), [true, true, true, true, true]);
    assert.deepEqual(Object.values(capsSwitches('bpf')), [true, false, false, false, false]);
    assert.deepEqual(Object.values(capsSwitches('unpriv')), [false, false, false, false, false]);
  });
});

describe('program types per mode (bpf_prog_load)', () => {
  it('refuses exactly the types the kernel would not load in each mode (measured table)', () => {
    let checked = 0;
    for (const [key, perMode] of Object.entries(HELPER_AVAILABILITY)) {
      const type = key.split('/')[0] as ProgTypeName;
      // types that need an expected attach type do not load without one, whatever the mode
      if (!(type in ProgType) || perMode[0] === null) continue;
      MODES.forEach((caps, m) => {
        const loads = perMode[m] !== null;
        assert.equal(progTypeRefusal(type, caps) === undefined, loads, `${key} in ${caps}`);
        checked++;
      });
    }
    assert.ok(checked > 60, `only ${checked} (type, mode) pairs measured`);
  });

  it('an unprivileged tracepoint program is refused before verification', () => {
    const r = verify({ insns: assemble('r0 = 0\nexit'), progType: 'TRACEPOINT', caps: 'unpriv' });
    assert.equal(r.accepted, false);
    assert.match(r.error?.message ?? '', /^\(EPERM: /);
    assert.equal(r.insnsProcessed, 0);
  });
});

describe('mode rules, as Linux 6.18 words them', () => {
  const hash: VerifierMap = { type: 'HASH', keySize: 4, valueSize: 16, maxEntries: 1, flags: 0 };
  const run = (asm: string, caps: Caps, maps: VerifierMap[] = []) =>
    verify({ insns: assemble(asm), progType: 'SOCKET_FILTER', maps, caps });

  it('bpf-to-bpf calls need CAP_BPF', () => {
    const asm = 'call 1\nr0 = 0\nexit\nr0 = 0\nexit';
    const insns = assemble('r0 = 0\nexit');
    assert.equal(callsRefusal(insns, 'unpriv'), undefined);
    const local = run(asm.replace('call 1', 'call pc+2'), 'unpriv');
    assert.equal(local.error?.message, CALLS_NEED_BPF_CAP);
    assert.equal(run(asm.replace('call 1', 'call pc+2'), 'bpf').accepted, true);
  });

  it('a 4-byte store makes its 4 bytes readable without CAP_BPF (map key on the stack)', () => {
    const asm = [
      '*(u32 *)(r10 - 32) = 3',
      'r2 = r10',
      'r2 += -32',
      'r1 = 0 ll',
      'call 1',
      'r0 = 0',
      'exit',
    ].join('\n');
    const insns = assemble(asm);
    insns[3] = { ...insns[3], src: 1, imm: 0 } as (typeof insns)[number];
    for (const caps of MODES) {
      const r = verify({ insns, progType: 'SOCKET_FILTER', maps: [hash], caps });
      assert.equal(r.accepted, true, `${caps}: ${r.error?.message}`);
    }
  });

  it('without CAP_PERFMON a read below the written stack is out of bounds', () => {
    const asm = 'r1 = *(u8 *)(r10 - 248)\nr0 = 0\nexit';
    assert.equal(run(asm, 'unpriv').error?.message, 'invalid read from stack R10 off=-248 size=1');
    assert.equal(run(asm, 'bpf').error?.message, 'invalid read from stack R10 off=-248 size=1');
    assert.equal(run(asm, 'root').accepted, true);
  });

  it('a narrow store over a spilled pointer needs CAP_PERFMON', () => {
    const asm = '*(u64 *)(r10 - 8) = r1\n*(u32 *)(r10 - 8) = 0\nr0 = 0\nexit';
    assert.equal(run(asm, 'bpf').error?.message, 'attempt to corrupt spilled pointer on stack');
    assert.equal(run(asm, 'root').accepted, true);
  });
});

describe('pointer masking limits (retrieve_ptr_limit)', () => {
  const fp = { type: 'fp', off: -16, varOffValue: 0n, smin: 0n, umax: 0n, valueSize: 0 };
  const value = { type: 'map_value', off: 4, varOffValue: 0n, smin: 0n, umax: 8n, valueSize: 16 };

  it('stack: the distance to the frame pointer, one more to the left', () => {
    assert.equal(ptrLimit(fp, false), 16);
    assert.equal(ptrLimit({ ...fp, off: -512 }, false), 'limit');
    assert.equal(ptrLimit({ ...fp, off: -512 }, true), 512);
  });

  it('map value: umax (right) or smin (left) plus the offset, below the value size', () => {
    assert.equal(ptrLimit(value, false), 12);
    assert.equal(ptrLimit(value, true), 4);
    assert.equal(ptrLimit({ ...value, umax: 12n }, false), 'limit');
    assert.equal(ptrLimit({ ...value, smin: -8n }, true), 'limit');
  });

  it('other pointers cannot be masked, in the kernel words', () => {
    assert.equal(ptrLimit({ ...fp, type: 'pkt' }, false), 'type');
    assert.equal(
      sanitizeError('type', 'add', 2, 3, 2),
      'R2 has pointer with unsupported alu operation, pointer arithmetic with it prohibited for !root',
    );
    assert.equal(
      sanitizeError('paths', 'sub', 1, 4, 1),
      'R1 tried to sub from different maps, paths or scalars, pointer arithmetic with it prohibited for !root',
    );
  });
});

describe('speculative paths (bpf and unpriv)', () => {
  it('a decided branch still walks the other side: more instructions than root', () => {
    const asm = 'r1 = 1\nif r1 == 1 goto +2\nr0 = 1\nexit\nr0 = 0\nexit';
    const root = verify({ insns: assemble(asm), progType: 'SOCKET_FILTER', caps: 'root' });
    const bpf = verify({ insns: assemble(asm), progType: 'SOCKET_FILTER', caps: 'bpf' });
    assert.equal(root.accepted && bpf.accepted, true);
    assert.equal(root.insnsProcessed, 4);
    assert.equal(bpf.insnsProcessed, 6);
  });

  it('a fault only the speculative side would hit does not reject', () => {
    const asm = 'r1 = 1\nif r1 == 1 goto +2\nr0 = *(u64 *)(r10 - 8)\nexit\nr0 = 0\nexit';
    const r = verify({ insns: assemble(asm), progType: 'SOCKET_FILTER', caps: 'unpriv' });
    assert.equal(r.accepted, true, r.error?.message);
  });
});
