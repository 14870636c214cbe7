import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assemble } from '../../isa/llvm.js';
import { MapError } from '../../maps/ops.js';
import { Vm } from '../vm.js';

test('DEVMAP and CPUMAP are named redirect outputs of bpf_redirect_map', () => {
  for (const type of ['DEVMAP', 'CPUMAP', 'DEVMAP_HASH'] as const) {
    const vm = new Vm();
    const map = vm.maps.create({ name: 'out', type, keySize: 4, valueSize: 4, maxEntries: 4 });
    map.update(new Uint8Array([1, 0, 0, 0]), new Uint8Array([7, 0, 0, 0]), 0);
    const program = vm.loadProgram({
      type: 'XDP',
      insns: assemble('r1 = map[idx:0]\nr2 = 1\nr3 = 0\ncall 51\nexit'),
      fdArray: [map],
    });
    const result = vm.testRun(program, { data: new Uint8Array(14) });
    assert.equal(result.retval, 4, `${type}: XDP_REDIRECT`);
    assert.deepEqual(result.redirect && { map: 'map' in result.redirect ? result.redirect.map : undefined }, {
      map: 'out',
    });
  }
});

test('redirect maps take the kernel value sizes', () => {
  const vm = new Vm();
  assert.throws(
    () => vm.maps.create({ name: 'bad', type: 'DEVMAP', keySize: 4, valueSize: 12, maxEntries: 4 }),
    (e: unknown) => e instanceof MapError && e.code === 'EINVAL',
  );
  assert.throws(
    () => vm.maps.create({ name: 'bad', type: 'XSKMAP', keySize: 4, valueSize: 8, maxEntries: 4 }),
    (e: unknown) => e instanceof MapError && e.code === 'EINVAL',
  );
});
