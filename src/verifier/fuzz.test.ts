/** Any decodable byte string gets a verdict: verify() neither throws nor hits an internal error. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { decode, type Insn } from '../isa/instruction.js';
import type { ProgTypeName } from '../uapi.js';
import { verify } from './index.js';

const TYPES: ProgTypeName[] = ['XDP', 'SOCKET_FILTER', 'SCHED_CLS', 'TRACEPOINT'];
const OPCODES = [
  0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77, 0x7f, 0x87, 0x97,
  0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0x04, 0x0c, 0x14, 0x1c, 0xb4, 0xbc, 0xa4, 0xac, 0x05, 0x15, 0x1d, 0x25,
  0x2d, 0x35, 0x3d, 0x45, 0x55, 0x5d, 0x65, 0x6d, 0xa5, 0xad, 0xb5, 0xbd, 0xc5, 0xd5, 0x16, 0x56, 0x85, 0x95,
  0x61, 0x69, 0x71, 0x79, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b, 0xdb, 0xc3, 0xd4, 0xdc,
];

const slot = fc.record({
  opcode: fc.constantFrom(...OPCODES),
  dst: fc.integer({ min: 0, max: 10 }),
  src: fc.integer({ min: 0, max: 10 }),
  off: fc.integer({ min: -8, max: 8 }),
  imm: fc.oneof(fc.integer({ min: -16, max: 16 }), fc.constantFrom(1, 2, 5, 14, 64, -8, 0x7fffffff)),
});

function bytesOf(
  slots: Array<{ opcode: number; dst: number; src: number; off: number; imm: number }>,
): Uint8Array {
  const out = new Uint8Array(slots.length * 8 + 16);
  const view = new DataView(out.buffer);
  slots.forEach((s, i) => {
    view.setUint8(i * 8, s.opcode);
    view.setUint8(i * 8 + 1, (s.src << 4) | s.dst);
    view.setInt16(i * 8 + 2, s.off, true);
    view.setInt32(i * 8 + 4, s.imm, true);
  });
  // r0 = 0; exit, so some programs end well
  view.setUint8(slots.length * 8, 0xb7);
  view.setUint8(slots.length * 8 + 8, 0x95);
  return out;
}

it('verify() gives every decodable program a verdict without an internal error', () => {
  fc.assert(
    fc.property(
      fc.array(slot, { minLength: 1, maxLength: 24 }),
      fc.constantFrom(...TYPES),
      (slots, progType) => {
        let insns: Insn[];
        try {
          insns = decode(bytesOf(slots));
        } catch {
          return;
        }
        const r = verify({ insns, progType });
        assert.equal(typeof r.accepted, 'boolean');
        assert.ok(r.insnsProcessed >= 0 && r.insnsProcessed <= 1_000_001);
        if (r.error) assert.doesNotMatch(r.error.message, /internal verifier error/, r.error.message);
      },
    ),
    { numRuns: 2000 },
  );
});
