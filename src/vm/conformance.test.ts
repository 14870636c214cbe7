import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseDataFile } from '../isa/data-file.js';
import { InvalidInstructionError } from '../isa/instruction.js';
import { runConformanceTest } from './conformance.js';
import { Vm } from './vm.js';

const root = fileURLToPath(new URL('../../../shared/conformance/tests/', import.meta.url));
const present = existsSync(root);
const skip = present ? false : `${root} not found: the shared conformance vectors are absent`;

function vectors(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.data'))
    .sort();
}

test('interpreter passes every positive bpf_conformance vector', { skip }, () => {
  const vm = new Vm({ engine: 'interpreter' });
  const names = vectors(root);
  assert.equal(names.length, 313);
  const failures: string[] = [];
  for (const name of names) {
    const parsed = parseDataFile(readFileSync(root + name, 'utf8'), name);
    assert.equal(parsed.kind, 'test', `${name} should be runnable`);
    if (parsed.kind !== 'test') continue;
    const outcome = runConformanceTest(vm, parsed);
    if (!outcome.pass) {
      failures.push(
        `${name}: expected 0x${parsed.result?.toString(16)}, got ${outcome.r0 === undefined ? outcome.error?.message : `0x${outcome.r0.toString(16)}`}`,
      );
    }
  }
  assert.deepEqual(failures, []);
});

test('negative vectors: high-bits case fails, unused-* rejected at decode naming the field', { skip }, () => {
  const dir = `${root}negative/`;
  const vm = new Vm({ engine: 'interpreter' });
  const high = parseDataFile(readFileSync(`${dir}incorrect_return_value_high_bits.data`, 'utf8'));
  assert.equal(high.kind, 'test');
  if (high.kind === 'test') {
    const outcome = runConformanceTest(vm, high);
    assert.equal(outcome.pass, false, 'a harness must compare all 64 bits of r0');
    assert.notEqual(outcome.r0, undefined);
  }
  const unused = vectors(dir).filter((name) => name.startsWith('unused-'));
  assert.equal(unused.length, 45);
  for (const name of unused) {
    const parsed = parseDataFile(readFileSync(dir + name, 'utf8'), name);
    assert.equal(parsed.kind, 'test');
    if (parsed.kind !== 'test') continue;
    const field = name
      .replace(/\.data$/, '')
      .split('-')
      .pop()
      ?.replace('offset', 'off');
    assert.throws(
      () => vm.load(parsed.program),
      (error: unknown) =>
        error instanceof InvalidInstructionError && error.field === field && error.slot === 0,
      name,
    );
    assert.equal(runConformanceTest(vm, parsed).pass, true, `${name} must be rejected`);
  }
});
