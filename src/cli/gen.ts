/**
 * `tsbpf gen skeleton FILE.o [-o FILE.skel.ts] [--embed | --path] [--name NAME]
 * [--ringbuf-type MAP=STRUCT]`: a typed TypeScript skeleton for an object (see src/skeleton/).
 */
import { writeFileSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadObjectSpec } from '../object/object.js';
import { generateSkeleton } from '../skeleton/generate.js';
import { type CliContext, InputError, readObjectFile } from './io.js';

interface GenSkeletonOptions {
  output?: string;
  embed?: boolean;
  path?: boolean;
  name?: string;
  ringbufType: string[];
  module?: string;
}

/** `xdp_count` from `examples/xdp_count.bpf.o`. */
export function objectBaseName(file: string): string {
  return basename(file)
    .replace(/\.o$/, '')
    .replace(/\.bpf$/, '');
}

/** `tsbpf` → `tsbpf/kernel`; `../src/index.js` → `../src/kernel/index.js`. */
function kernelModuleOf(module: string): string {
  return /(^|\/)index\.(js|ts)$/.test(module)
    ? module.replace(/index\.(js|ts)$/, 'kernel/index.$1')
    : `${module}/kernel`;
}

/** Generate the skeleton text for `file` as the command would (no writing). */
export function skeletonFor(
  file: string,
  options: Omit<GenSkeletonOptions, 'ringbufType'> & { ringbufType?: string[] },
): string {
  const bytes = readObjectFile(file);
  const spec = loadObjectSpec(bytes);
  const ringBufferTypes: Record<string, string> = {};
  for (const pair of options.ringbufType ?? []) {
    const match = /^([^=]+)=(.+)$/.exec(pair);
    if (!match) throw new InputError(`--ringbuf-type ${pair}: expected MAP=STRUCT`);
    ringBufferTypes[match[1]] = match[2].replace(/^struct\s+/, '');
  }
  const outDir = options.output ? dirname(resolve(options.output)) : process.cwd();
  let path = relative(outDir, resolve(file));
  if (!path.startsWith('.')) path = `./${path}`;
  return generateSkeleton(spec, {
    name: options.name ?? objectBaseName(file),
    source: options.path ? { path } : { embed: bytes },
    module: options.module,
    kernelModule: options.module && kernelModuleOf(options.module),
    ringBufferTypes,
  });
}

/** Register `gen skeleton`. `fail` reports an error and sets the exit status. */
export function registerGenCommands(
  program: Command,
  ctx: CliContext,
  fail: (error: unknown) => never,
): void {
  const { io } = ctx;
  const gen = program.command('gen').description('generate code from BPF objects');
  gen
    .command('skeleton')
    .description(
      'a typed TypeScript skeleton for an object: maps, programs, globals and ring buffers from BTF',
    )
    .argument('<file>', 'BPF object file')
    .option('-o, --output <file>', 'write here (default: standard output)')
    .option('--embed', "embed the object's bytes, base64 (default)")
    .option('--path', 'read the object at run time from its path, relative to the skeleton')
    .option('--name <name>', 'object name (default: the file name without .bpf.o)')
    .option(
      '--ringbuf-type <map=struct>',
      'record type of a ring buffer (default: found from the code and BTF)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--module <specifier>', "where the skeleton imports tsbpf from (default 'tsbpf')")
    .addHelpText('after', '\nExample:\n  $ tsbpf gen skeleton examples/xdp_count.bpf.o -o xdp_count.skel.ts')
    .action((file: string, options: GenSkeletonOptions) => {
      try {
        if (options.embed && options.path) throw new InputError('--embed and --path exclude each other');
        const text = skeletonFor(file, options);
        if (options.output) {
          writeFileSync(options.output, text);
          io.stderr.write(`${options.output}: skeleton for ${file}\n`);
        } else io.stdout.write(text);
      } catch (error) {
        fail(error);
      }
    });
}
