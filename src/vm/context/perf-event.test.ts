import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode } from '../../isa/instruction.js';
import { assemble } from '../../isa/llvm.js';
import { loadProgram } from '../../kernel/load/program.js';
import { bpfUnavailable } from '../../kernel/sys/availability.js';
import { ProgType } from '../../uapi.js';
import { runOnRecord } from '../test-run.js';
import { Vm } from '../vm.js';
import { PERF_EVENT_DATA_SIZE, perfEventContext } from './perf-event.js';

// r0 = regs.ip + sample_period + addr
const source = [
  'r0 = *(u64 *)(r1 + 128)',
  'r2 = *(u64 *)(r1 + 168)',
  'r0 += r2',
  'r2 = *(u64 *)(r1 + 176)',
  'r0 += r2',
  'exit',
].join('\n');

test('perf_event context: pt_regs, sample_period and addr where Linux puts them', (t) => {
  assert.equal(PERF_EVENT_DATA_SIZE, 184);
  const vm = new Vm();
  const program = vm.loadProgram({ type: 'PERF_EVENT', insns: assemble(source) });
  const result = runOnRecord(
    vm,
    program,
    perfEventContext({ regs: { ip: 0x1000n }, samplePeriod: 7n, addr: 0x20n }),
  );
  assert.equal(result.retval, 0x1027);
  // The kernel's verifier accepts exactly these context offsets for perf_event programs.
  const reason = bpfUnavailable();
  if (reason) {
    t.diagnostic(`kernel check skipped: ${reason}`);
    return;
  }
  loadProgram({ type: ProgType.PERF_EVENT, insns: encode(assemble(source)), license: 'GPL' }).close();
  assert.throws(
    () =>
      loadProgram({
        type: ProgType.PERF_EVENT,
        insns: encode(assemble('r0 = *(u64 *)(r1 + 184)\nexit')),
        license: 'GPL',
      }),
    /invalid bpf_context access/,
  );
});
