/**
 * The kernel as a test-vector backend (`tsbpf test --kernel`): the same cases through
 * BPF_PROG_TEST_RUN, the built-in way to check the VM against Linux.
 */
import { BpfMap } from '../maps/map.js';
import {
  type LoadedCase,
  mapIndexReferences,
  seedMap,
  type VectorBackend,
  type VectorMap,
} from '../testvec/vectors.js';
import { ProgType, type ProgTypeName } from '../uapi.js';
import { createMap, type KernelMapOps } from './load/map.js';
import { loadObject } from './load/object.js';
import { loadProgram } from './load/program.js';

export const kernelVectorBackend: VectorBackend = {
  name: 'kernel',
  loadObjectProgram(object: Uint8Array, name: string | undefined): LoadedCase {
    const loaded = loadObject(object);
    try {
      const entry = name ? loaded.programs.get(name) : [...loaded.programs.values()].find((p) => p.program);
      if (!entry) throw new Error(`no program ${name ? `'${name}'` : ''} in the object`);
      if (!entry.program) throw entry.error ?? new Error(`program '${name}' was not loaded`);
      const program = entry.program;
      return {
        testRun: (options) => program.testRun(options),
        maps: [...loaded.maps.values()],
        close: () => loaded.close(),
      };
    } catch (error) {
      loaded.close();
      throw error;
    }
  },
  loadRawProgram(insns: Uint8Array, type: ProgTypeName, maps: readonly VectorMap[]): LoadedCase {
    const created: KernelMapOps[] = [];
    try {
      for (const { spec, entries } of maps) {
        const map = createMap(spec);
        created.push(map);
        seedMap(map, entries);
      }
      const program = loadProgram({
        type: ProgType[type],
        insns: mapIndexReferences(insns),
        license: 'GPL',
        fdArray: created.map((map) => map.fd),
      });
      return {
        testRun: (options) => program.testRun(options),
        maps: created.map((ops) => new BpfMap(ops)),
        close() {
          program.close();
          for (const map of created) map.close();
        },
      };
    } catch (error) {
      for (const map of created) map.close();
      throw error;
    }
  },
};
