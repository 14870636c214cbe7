import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { loadObjectSpec } from '../../src/index.js';
import { parseState, parseVerifierLog } from './log-parse.js';
import { logMatchesProgram } from './playground.js';

/** Kernel logs recorded by scripts/record-web-logs.ts (Linux 6.18, log_level 2). */
const fixture = (name: string): string =>
  readFileSync(new URL(`../../testdata/web/verifier-logs/${name}.txt`, import.meta.url), 'utf8');

describe('parseState', () => {
  it('keeps parenthesised values with spaces whole, and reads the frame', () => {
    const { frame, entries } = parseState(
      'frame1: R2=scalar(smin=0,var_off=(0x0; 0xffffffff)) R10=fp0 fp-8_w=mmmm????',
    );
    assert.equal(frame, 1);
    assert.deepEqual(entries, [
      ['R2', 'scalar(smin=0,var_off=(0x0; 0xffffffff))'],
      ['R10', 'fp0'],
      ['fp-8', 'mmmm????'],
    ]);
  });
});

describe('parseVerifierLog on kernel logs', () => {
  it('steps a branch and a spill: states, touched slots, the jump and both paths', () => {
    const log = parseVerifierLog(fixture('branch_spill'));
    assert.deepEqual(
      log.steps.map((s) => s.insn),
      [0, 1, 2, 3, 4, 5, 6, 6],
    );
    assert.equal(log.insnsProcessed, 8);
    assert.deepEqual(log.error, []);
    const spill = log.steps[1];
    assert.equal(spill.text, '*(u64 *)(r10 -8) = r2');
    assert.equal(spill.opcode, '7b');
    assert.deepEqual(spill.touched, ['R2', 'R10', 'fp-8']);
    assert.equal(spill.before.get('fp-8'), undefined);
    assert.match(spill.after.get('fp-8') ?? '', /^scalar\(id=1,/);
    // Registers first in number order, then the stack.
    assert.deepEqual([...spill.after.keys()], ['R1', 'R2', 'R10', 'fp-8']);
    // Path 0 falls through the `if r2 > 0xa` (r2 ≤ 10 is explored first) and exits.
    assert.deepEqual(log.steps[3].flow, { kind: 'fallthrough', to: 4 });
    assert.deepEqual(log.steps[6].flow, { kind: 'end', why: 'exit' });
    assert.equal(log.paths.length, 2);
    assert.deepEqual(log.paths[1], { from: 3, to: 6, firstStep: 7, endStep: 8, prunedAtStart: false });
    // The second path starts from the state the `from 3 to 6` line printed.
    const second = log.steps[7];
    assert.equal(second.path, 1);
    assert.match(second.before.get('R2') ?? '', /umin32=11/);
    assert.equal(second.before.get('R0'), '0');
  });

  it('puts the error after the last instruction, with the C source line', () => {
    const log = parseVerifierLog(fixture('xdp_count_unchecked'));
    const last = log.steps.at(-1)!;
    assert.equal(last.insn, 6);
    assert.equal(last.text, 'r4 = *(u8 *)(r7 +12)');
    assert.deepEqual(last.flow, { kind: 'end', why: 'error' });
    assert.deepEqual(log.error, [
      'invalid access to packet, off=12 size=1, R7(id=0,off=12,r=0)',
      'R7 offset is outside of the packet',
    ]);
    assert.deepEqual(last.source, { text: '__u16 proto = eth->h_proto;', file: 'xdp_count.bpf.c', line: 55 });
    assert.equal(last.before.get('R7'), 'pkt(r=0)');
    assert.equal(log.steps[0].source?.line, 81);
  });

  it('reads an uninitialised-register rejection', () => {
    const log = parseVerifierLog(fixture('uninit'));
    assert.deepEqual(
      log.steps.map((s) => s.insn),
      [0, 1],
    );
    assert.deepEqual(log.error, ['R3 !read_ok']);
    assert.deepEqual(log.steps[0].flow, { kind: 'fallthrough', to: 1 });
  });

  it('marks jumps taken and paths pruned in a packet parser', () => {
    const log = parseVerifierLog(fixture('xdp_count'));
    assert.deepEqual(log.error, []);
    assert.ok(log.paths.length > 3);
    // Every path after the first starts where its `from` line says, at a branch's other side.
    for (const p of log.paths.slice(1)) {
      assert.notEqual(p.from, undefined);
      if (!p.prunedAtStart) assert.equal(log.steps[p.firstStep].insn, p.to);
    }
    // A `goto` on a path is a jump to its target.
    const goto = log.steps.find((s) => s.text === 'goto pc+4');
    assert.deepEqual(goto?.flow, { kind: 'jump', to: 27 });
    // Each path ends once: the last step of every non-empty path is an end.
    for (const p of log.paths)
      if (p.endStep > p.firstStep) assert.equal(log.steps[p.endStep - 1].flow.kind, 'end');
  });

  it('follows bpf-to-bpf calls into frame 1 and back', () => {
    const log = parseVerifierLog(fixture('subprog'));
    const call = log.steps.find((s) => /^call pc/.test(s.text));
    assert.ok(call, 'a call step');
    assert.equal(call.flow.kind, 'call');
    const callee = log.steps[log.steps.indexOf(call) + 1];
    assert.equal(callee.frame, 1);
    assert.equal(callee.before.get('R10'), 'fp0');
    const ret = log.steps.find((s) => s.frame === 1 && s.text === 'exit');
    assert.equal(ret?.flow.kind, 'return');
    const back = log.steps[log.steps.indexOf(ret!) + 1];
    assert.equal(back.frame, 0);
  });

  it('ends a path pruned as safe at the instruction it reached', () => {
    const log = parseVerifierLog(fixture('loop'));
    const pruned = log.steps.filter((s) => s.flow.kind === 'end' && s.flow.why === 'safe');
    assert.ok(pruned.length > 10);
    assert.ok(pruned.some((s) => s.flow.kind === 'end' && s.flow.at === 45 && s.insn === 44));
    assert.equal(log.insnsProcessed, Number(/processed (\d+) insns/.exec(fixture('loop'))![1]));
  });

  it('reads tsbpf-style logs without state lines (registers known only at branch points)', () => {
    const log = parseVerifierLog(
      '0: (b7) r0 = 0\n1: (15) if r1 == 0x0 goto pc+1\n2: (95) exit\nfrom 1 to 3: R0=0 R1=0 R10=fp0\n3: (95) exit\nprocessed 5 insns\n',
    );
    assert.deepEqual(
      log.steps.map((s) => [s.insn, s.path, s.flow.kind]),
      [
        [0, 0, 'next'],
        [1, 0, 'fallthrough'],
        [2, 0, 'end'],
        [3, 1, 'end'],
      ],
    );
    assert.equal(log.steps[3].before.get('R1'), '0');
  });

  it('never throws on arbitrary text, nor on kernel logs cut or shuffled', () => {
    for (const text of ['', 'garbage', '1: (zz) x', 'from 1 to', ' R1=(', '0: R1=((((', '\n\n;'])
      assert.doesNotThrow(() => parseVerifierLog(text));
    const lines = ['branch_spill', 'subprog', 'xdp_count_unchecked'].flatMap((f) => fixture(f).split('\n'));
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...lines), fc.string())), (picked) => {
        const log = parseVerifierLog(picked.join('\n'));
        // Every step belongs to a path that contains it.
        for (const [i, step] of log.steps.entries()) {
          const path = log.paths[step.path];
          assert.ok(path && path.firstStep <= i && i < path.endStep);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('logMatchesProgram', () => {
  it('recognises the program a kernel log is about, and no other', () => {
    const spec = (name: string) =>
      loadObjectSpec(new Uint8Array(readFileSync(new URL(`../../examples/${name}.bpf.o`, import.meta.url))));
    const steps = parseVerifierLog(fixture('xdp_count')).steps;
    assert.equal(logMatchesProgram(steps, spec('xdp_count').programs[0].insns), true);
    assert.equal(logMatchesProgram(steps, spec('subprog').programs[0].insns), false);
    assert.equal(logMatchesProgram([], spec('xdp_count').programs[0].insns), false);
  });
});
