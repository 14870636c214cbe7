/**
 * The kernel as a skeleton backend: a generated skeleton's `load({ backend: 'kernel' })` loads the
 * object with {@link loadObject} (BTF, maps, globals, CO-RE), reads ring buffers through mmap and
 * attaches programs by their section names with {@link attachBySection}.
 */
import { TsbpfError } from '../errors.js';
import type { SkeletonBackend, SkeletonLink, SkeletonProgram } from '../skeleton/runtime.js';
import { attachBySection } from './attach/attach.js';
import { openRingBuffer } from './events/ringbuf.js';
import { loadObject } from './load/object.js';

/** Options of {@link kernelSkeletonBackend}. */
export interface KernelSkeletonOptions {
  /** bpffs directory for maps pinned by name; default `/sys/fs/bpf`. */
  readonly pinPath?: string;
}

/** Load skeletons into the running kernel (root or CAP_BPF). */
export function kernelSkeletonBackend(options: KernelSkeletonOptions = {}): SkeletonBackend {
  return {
    kind: 'kernel',
    load(spec, name) {
      const object = loadObject(spec, { name: name.slice(0, 8), pinPath: options.pinPath });
      const programs = new Map<string, SkeletonProgram>();
      const failed = new Map<string, Error>();
      for (const [programName, loaded] of object.programs) {
        const program = loaded.program;
        if (program)
          programs.set(programName, {
            name: programName,
            section: loaded.spec.section,
            testRun: (runOptions = {}) => program.testRun(runOptions),
          });
        else failed.set(programName, loaded.error ?? new TsbpfError(`program '${programName}' not loaded`));
      }
      return {
        maps: object.maps,
        programs,
        failed,
        ringBuffer(mapName) {
          return openRingBuffer({ ops: object.map(mapName).ops as { readonly fd?: number } });
        },
        attach(attachOptions) {
          const links: SkeletonLink[] = [];
          try {
            for (const [programName, loaded] of object.programs) {
              if (attachOptions.programs && !attachOptions.programs.includes(programName)) continue;
              if (!loaded.program) continue;
              const link = attachBySection(loaded.program, loaded.spec, {
                iface: attachOptions.iface,
                cgroup: attachOptions.cgroup,
              });
              links.push({ program: programName, close: () => link.close() });
            }
          } catch (error) {
            for (const link of links.reverse()) link.close();
            throw error;
          }
          return links;
        },
        close: () => object.close(),
      };
    },
  };
}
