/**
 * The VM as a test-vector backend (`tsbpf test`): each case gets a fresh {@link Vm}.
 */
import { decode } from '../isa/instruction.js';
import { BpfMap } from '../maps/map.js';
import {
  type LoadedCase,
  mapIndexReferences,
  seedMap,
  type VectorBackend,
  type VectorMap,
} from '../testvec/vectors.js';
import type { ProgTypeName } from '../uapi.js';
import { Vm } from './vm.js';

/**
 * The VM as a backend on one engine (default: the VM's default, the JIT); programs are verified
 * before they run unless `verify` is false.
 */
export function vmVectorBackendFor(
  engine?: 'jit' | 'interpreter',
  options: { readonly verify?: boolean } = {},
): VectorBackend {
  const verify = options.verify ?? true;
  return {
    name: 'vm',
    loadObjectProgram(object: Uint8Array, name: string | undefined): LoadedCase {
      const vm = new Vm({ engine, verify });
      const loaded = vm.loadObject(object);
      const program = name ? loaded.programs.get(name) : [...loaded.programs.values()][0];
      const refused = name ? loaded.rejected.get(name) : [...loaded.rejected.values()][0];
      if (!program && refused) throw refused;
      if (!program)
        throw new Error(
          `no program ${name ? `'${name}'` : ''} in the object (has: ${[...loaded.programs.keys()].join(', ')})`,
        );
      return {
        testRun: (options) => vm.testRun(program, options),
        maps: [...loaded.maps.values()],
        close() {},
      };
    },
    loadRawProgram(insns: Uint8Array, type: ProgTypeName, maps: readonly VectorMap[]): LoadedCase {
      const vm = new Vm({ engine, verify });
      const created = maps.map(({ spec, entries }) => {
        const map = vm.maps.create(spec);
        seedMap(map, entries);
        return map;
      });
      const program = vm.loadProgram({ type, insns: decode(mapIndexReferences(insns)), fdArray: created });
      return {
        testRun: (options) => vm.testRun(program, options),
        maps: created.map((ops) => new BpfMap(ops)),
        close() {},
      };
    },
  };
}

export const vmVectorBackend: VectorBackend = vmVectorBackendFor();
