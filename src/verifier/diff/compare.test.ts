import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assemble } from '../../isa/llvm-parse.js';
import type { VerifierResult } from '../types.js';
import {
  agreement,
  compare,
  disagrees,
  formatDisagreement,
  formatTable,
  runOurs,
  type VerifyFn,
} from './compare.js';
import { type CorpusCase, makeCase } from './corpus.js';

const accepted = makeCase({
  name: 'ok',
  type: 'XDP',
  insns: assemble('r0 = 2\nexit'),
  maps: [],
  caps: 'root',
  category: 'test',
});
const okCase: CorpusCase = {
  ...accepted,
  kernel: { accepted: true, error: null, insn: null, insns_processed: 2 },
};
const badCase: CorpusCase = {
  ...makeCase({ name: 'bad', type: 'XDP', insns: assemble('exit'), maps: [], caps: 'bpf', category: 'test' }),
  kernel: { accepted: false, error: 'R0 !read_ok', insn: 0, insns_processed: 1, errno: 'EACCES' },
};

const result = (r: Partial<VerifierResult>): VerifierResult => ({
  accepted: true,
  insnsProcessed: 2,
  log: '',
  ...r,
});
const acceptAll: VerifyFn = () => result({});
const rejectAll: VerifyFn = () =>
  result({
    accepted: false,
    insnsProcessed: 1,
    error: { message: 'R0 !read_ok', insn: 0, summary: 'r0 unset' },
  });

describe('compare', () => {
  it('counts verdicts, first errors and insns_processed', () => {
    const rows = [okCase, badCase].map((c) => compare(c, c.kernel!, runOurs(acceptAll, c)));
    const a = agreement(rows);
    assert.equal(a.verdict, 0.5);
    assert.equal(a.bothAccepted, 1);
    assert.equal(a.processed, 1);
    assert.equal(a.bothRejected, 0);
    assert.deepEqual(
      rows.filter(disagrees).map((r) => r.name),
      ['bad'],
    );
    assert.match(
      formatDisagreement(rows[1]),
      /\[bpf\] bad \(verdict\)\n {4}ours: {3}accepted \(2 insns\)\n {4}kernel: rejected at 0: R0 !read_ok/,
    );
    assert.match(formatTable([['x', rows]]), /x\s+2\s+50\.0 %/);
  });

  it('compares first errors with numbers masked', () => {
    const other: CorpusCase = { ...badCase, kernel: { ...badCase.kernel!, error: 'R1 !read_ok' } };
    const rows = [badCase, other].map((c) => compare(c, c.kernel!, runOurs(rejectAll, c)));
    assert.deepEqual(
      rows.map((r) => r.errorEqual),
      [true, true],
    );
    const different: CorpusCase = {
      ...badCase,
      kernel: { ...badCase.kernel!, error: 'R0 invalid mem access' },
    };
    assert.equal(compare(different, different.kernel!, runOurs(rejectAll, different)).errorEqual, false);
  });

  it('records a verifier that throws as a crash, and bytes that do not decode', () => {
    const crash = runOurs(() => {
      throw new RangeError('boom');
    }, okCase);
    assert.equal(crash.crash, 'RangeError: boom');
    assert.equal(agreement([compare(okCase, okCase.kernel!, crash)]).crashes, 1);
    const junk: CorpusCase = { ...badCase, insns_hex: 'ff00000000000000' };
    const decoded = runOurs(acceptAll, junk);
    assert.equal(decoded.accepted, false);
    assert.equal(decoded.crash, 'decode');
  });

  it('passes the mode, flags and maps to verify', () => {
    let seen: Parameters<VerifyFn>[0] | undefined;
    const spy: VerifyFn = (input) => {
      seen = input;
      return result({});
    };
    const withMap: CorpusCase = {
      ...okCase,
      flags: 8,
      maps: [{ type: 'hash', key_size: 4, value_size: 8, max_entries: 2, flags: 0 }],
    };
    runOurs(spy, withMap, 'unpriv');
    assert.equal(seen?.caps, 'unpriv');
    assert.equal(seen?.progFlags, 8);
    assert.equal(seen?.progType, 'XDP');
    assert.deepEqual(seen?.maps, [{ type: 'HASH', keySize: 4, valueSize: 8, maxEntries: 2, flags: 0 }]);
  });
});
