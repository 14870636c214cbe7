import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorShape, parseRejection } from './kernel-log.js';

// Log tails as Linux 6.18 writes them at log level 1 (recorded on this machine).
describe('parseRejection', () => {
  it('takes the line before the statistics and the instruction above it', () => {
    const log = [
      'func#0 @0',
      '0: R1=ctx() R10=fp0',
      '0: (61) r2 = *(u32 *)(r1 +0)          ; R1=ctx() R2=pkt(r=0)',
      '1: (71) r0 = *(u8 *)(r2 +0)',
      'invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)',
      'R2 offset is outside of the packet',
      'processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
      '',
    ].join('\n');
    assert.deepEqual(parseRejection(log, 'EACCES'), {
      accepted: false,
      error: 'R2 offset is outside of the packet',
      insn: 1,
      insns_processed: 2,
      errno: 'EACCES',
    });
  });

  it('splits an error glued to a conditional jump line', () => {
    const log =
      '4: (07) r1 += 1                       ; R1=scalar()\n' +
      '5: (a5) if r1 < 0x32 goto pc-3 BPF program is too large. Processed 1000001 insn\n' +
      'processed 1000001 insns (limit 1000000) max_states_per_insn 4 total_states 20001 peak_states 20001 mark_read 0\n';
    const v = parseRejection(log, 'E2BIG');
    assert.equal(v.error, 'BPF program is too large. Processed 1000001 insn');
    assert.equal(v.insn, 5);
    assert.equal(v.insns_processed, 1000001);
  });

  it('splits statistics glued to a message without a newline', () => {
    const log =
      '5: (85) call bpf_tail_call#12\nexpected prog array map for tail callprocessed 5 insns (limit 1000000) max_states_per_insn 0\n';
    const v = parseRejection(log, 'EINVAL');
    assert.equal(v.error, 'expected prog array map for tail call');
    assert.equal(v.insns_processed, 5);
    assert.equal(v.insn, 5);
  });

  it('reads the instruction from a pre-walk message', () => {
    const v = parseRejection('unreachable insn 2\nprocessed 0 insns (limit 1000000)\n', 'EINVAL');
    assert.equal(v.error, 'unreachable insn 2');
    assert.equal(v.insn, 2);
    assert.equal(v.insns_processed, 0);
  });
});

describe('errorShape', () => {
  it('masks numbers, decimal and hex', () => {
    assert.equal(
      errorShape('invalid access to packet, off=12 size=1, R2(id=0,off=12,r=0)'),
      errorShape('invalid access to packet, off=3 size=4, R2(id=1,off=3,r=8)'),
    );
    assert.notEqual(errorShape('R0 !read_ok'), errorShape('R0 invalid mem access'));
    assert.equal(errorShape('var_off=(0x0; 0x7f)'), 'var_off=(N; N)');
  });
});
