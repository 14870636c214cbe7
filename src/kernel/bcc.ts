/**
 * A BCC-style front end: write the BPF program as C text inside a TypeScript tool, and get
 * attach calls, maps and `bpf_printk` output from one object, as with bcc's Python `BPF` class.
 *
 * ```ts
 * const b = new BPF({ text: `... SEC("tracepoint") int hello(void *ctx) { bpf_printk("Hi"); return 0; }` });
 * b.attachTracepoint('syscalls:sys_enter_clone', 'hello');
 * for await (const line of b.traceFields()) console.log(line.task, line.pid, line.message);
 * ```
 *
 * Differences from bcc, on purpose: the C is compiled ahead of loading with clang
 * (`-target bpf -O2 -g`) against our own headers (`include/tsbpf/`) and a `vmlinux.h` dumped from
 * the running kernel's BTF by our `dumpBtfC` — no kernel headers, no LLVM inside the process, and
 * CO-RE (`BPF_CORE_READ`) instead of bcc's rewriter. Programs need a `SEC()` naming their type
 * (`SEC("tracepoint")`, `SEC("kprobe")`, or a full `SEC("tracepoint/syscalls/sys_enter_clone")`
 * that {@link BPF.attachAll} can attach by itself). Objects are cached by content hash, so
 * the second run of a tool starts without clang.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { TsbpfError } from '../errors.js';
import type { BpfMap } from '../maps/map.js';
import { dumpBtfC } from '../object/btf-c.js';
import { packageRoot } from '../package-root.js';
import {
  type AttachBySectionOptions,
  attachBySection,
  attachKprobe,
  attachRawTracepoint,
  attachTracepoint,
  attachUprobe,
  type Link,
  syscallFunctionName,
} from './attach/attach.js';
import { KernelPerfBuffer, type PerfBufferOptions } from './events/perfbuf.js';
import { KernelRingBuffer } from './events/ringbuf.js';
import { openTracePipe, type TraceLine, type TracePipe, type TracePipeOptions } from './events/trace-pipe.js';
import type { KernelMapOps } from './load/map.js';
import { type KernelObject, type LoadObjectOptions, loadObject, vmlinuxBtf } from './load/object.js';
import type { KernelProgram } from './load/program.js';

/** A C compilation that failed: clang's diagnostics. */
export class CompileError extends TsbpfError {
  override name = 'CompileError';
  readonly diagnostics: string;
  constructor(diagnostics: string, options?: { cause?: unknown }) {
    const first = diagnostics.split('\n').find((line) => /error:/.test(line)) ?? diagnostics.split('\n')[0];
    super(`compile BPF C: ${first}`, options);
    this.diagnostics = diagnostics;
  }
}

/** Options of {@link compileBpf}. */
export interface CompileOptions {
  /** The clang to run (default `$CLANG`, else `clang-19`, else `clang`). */
  readonly clang?: string;
  /** Extra flags (`-DMAX=10`). */
  readonly cflags?: readonly string[];
  /** Where compiled objects are cached (default `$TSBPF_CACHE_DIR`, else `~/.cache/tsbpf/bcc`). */
  readonly cacheDir?: string;
  /** Directory holding `vmlinux.h` (default `<package>/build`, generated there when absent). */
  readonly vmlinuxDir?: string;
}

function findClang(preferred?: string): string {
  const candidates = [preferred, process.env.CLANG, 'clang-19', 'clang'].filter((c): c is string => !!c);
  for (const candidate of candidates) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next
    }
  }
  throw new TsbpfError(`compile BPF C: no clang found (tried ${candidates.join(', ')}); install clang ≥ 14`);
}

/**
 * `<dir>/vmlinux.h` for the running kernel, generated with our own `dumpBtfC` from
 * `/sys/kernel/btf/vmlinux` when missing or older than the kernel's BTF. Returns its path.
 */
export function ensureVmlinuxH(dir: string = join(packageRoot(), 'build')): string {
  const path = join(dir, 'vmlinux.h');
  const btfPath = '/sys/kernel/btf/vmlinux';
  const stale =
    !existsSync(path) || (existsSync(btfPath) && statSync(btfPath).mtimeMs > statSync(path).mtimeMs);
  if (stale) {
    mkdirSync(dir, { recursive: true });
    // Write-then-rename: a concurrent compile never sees half a header.
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, dumpBtfC(vmlinuxBtf()));
    renameSync(temporary, path);
  }
  return path;
}

/** The architecture macro our `bpf_tracing.h` expects (`__TARGET_ARCH_x86`). */
function targetArch(): string {
  return process.arch === 'x64' ? 'x86' : process.arch === 'arm64' ? 'arm64' : process.arch;
}

/**
 * Compile BPF C `source` to an object file with clang, caching by a hash of everything that
 * decides the output (source, flags, clang, vmlinux.h). Returns the object's path.
 */
export function compileBpf(source: string, options: CompileOptions = {}): { path: string; cached: boolean } {
  const clang = findClang(options.clang);
  const vmlinuxH = ensureVmlinuxH(options.vmlinuxDir);
  const multiarch = (() => {
    try {
      return execFileSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).trim();
    } catch {
      return `${process.arch === 'x64' ? 'x86_64' : 'aarch64'}-linux-gnu`;
    }
  })();
  const flags = [
    '-target',
    'bpf',
    '-O2',
    '-g',
    '-mcpu=v3',
    '-Wall',
    '-Wno-unused-variable',
    '-I',
    join(packageRoot(), 'include'),
    '-I',
    dirname(vmlinuxH),
    `-D__TARGET_ARCH_${targetArch()}`,
    // With -target bpf clang does not search the multiarch directory that <asm/...> lives in.
    '-idirafter',
    `/usr/include/${multiarch}`,
    ...(options.cflags ?? []),
  ];
  const header = statSync(vmlinuxH);
  const hash = createHash('sha256')
    .update(JSON.stringify({ source, flags, clang, header: [header.size, header.mtimeMs] }))
    .digest('hex')
    .slice(0, 32);
  const cacheDir =
    options.cacheDir ?? process.env.TSBPF_CACHE_DIR ?? join(homedir(), '.cache', 'tsbpf', 'bcc');
  mkdirSync(cacheDir, { recursive: true });
  const object = join(cacheDir, `${hash}.bpf.o`);
  if (existsSync(object)) return { path: object, cached: true };
  const sourcePath = join(cacheDir, `${hash}.bpf.c`);
  writeFileSync(sourcePath, source);
  const temporary = `${object}.${process.pid}.tmp`;
  try {
    execFileSync(clang, [...flags, '-c', sourcePath, '-o', temporary], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new CompileError(stderr, { cause: error });
  }
  renameSync(temporary, object);
  return { path: object, cached: false };
}

/** Options of the {@link BPF} constructor. */
export interface BpfOptions extends CompileOptions {
  /** The C source. */
  readonly text?: string;
  /** A C file to read instead of `text`. */
  readonly src?: string;
  /** Passed to `loadObject` (`rodata` values, …). */
  readonly load?: LoadObjectOptions;
}

/** `category:name` (bcc) or `category/name` → `[category, name]`. */
function splitTracepoint(tp: string): [string, string] {
  const [category, name] = tp.split(/[:/]/);
  if (!category || !name) throw new TsbpfError(`tracepoint '${tp}': expected 'category:name'`);
  return [category, name];
}

/**
 * A BPF C program compiled, loaded and ready to attach. Close it when done (links, trace pipe,
 * ring buffers, programs and maps); it also closes at process exit.
 */
export class BPF {
  readonly object: KernelObject;
  /** The compiled object file (in the cache). */
  readonly objectPath: string;
  readonly #links: Link[] = [];
  readonly #closers: Array<{ close(): void }> = [];
  #trace: TracePipe | undefined;

  constructor(options: BpfOptions) {
    const text = options.text ?? (options.src ? readFileSync(options.src, 'utf8') : undefined);
    if (text === undefined) throw new TsbpfError('BPF: give the C source as `text` or a file as `src`');
    this.objectPath = compileBpf(text, options).path;
    this.object = loadObject(this.objectPath, { name: 'bcc', ...options.load });
    const failed = [...this.object.programs.values()].filter((p) => p.error);
    if (failed.length > 0) {
      const first = failed[0];
      this.object.close();
      throw new TsbpfError(`BPF: program '${first.spec.name}' failed to load: ${first.error?.message}`, {
        cause: first.error,
      });
    }
  }

  /** The loaded program `name` (the C function's name). */
  program(name: string): KernelProgram {
    return this.object.program(name);
  }

  #keep(link: Link): Link {
    this.#links.push(link);
    return link;
  }

  /** Attach `fnName` to a tracepoint, `'syscalls:sys_enter_clone'` (bcc's `attach_tracepoint`). */
  attachTracepoint(tp: string, fnName: string): Link {
    const [category, name] = splitTracepoint(tp);
    return this.#keep(attachTracepoint(this.program(fnName), category, name));
  }

  /** Attach `fnName` to a raw tracepoint (`sched_switch`). */
  attachRawTracepoint(tp: string, fnName: string): Link {
    return this.#keep(attachRawTracepoint(this.program(fnName), tp));
  }

  /** Attach `fnName` to kernel function `event` (bcc's `attach_kprobe`); needs the kprobe PMU. */
  attachKprobe(event: string, fnName: string, options: { offset?: number } = {}): Link {
    return this.#keep(attachKprobe(this.program(fnName), event, options));
  }

  /** Attach `fnName` to the return of kernel function `event`. */
  attachKretprobe(event: string, fnName: string): Link {
    return this.#keep(attachKprobe(this.program(fnName), event, { retprobe: true }));
  }

  /** Attach `fnName` to function `sym` (or a file offset) of binary `name`. */
  attachUprobe(name: string, sym: string | number, fnName: string, options: { pid?: number } = {}): Link {
    return this.#keep(attachUprobe(this.program(fnName), name, sym, options));
  }

  /** Attach `fnName` to the return of function `sym` of binary `name`. */
  attachUretprobe(name: string, sym: string | number, fnName: string, options: { pid?: number } = {}): Link {
    return this.#keep(attachUprobe(this.program(fnName), name, sym, { ...options, retprobe: true }));
  }

  /**
   * Attach every program whose section names its target (`tracepoint/syscalls/sys_enter_clone`,
   * `kprobe/do_exit`, `xdp` with `options.iface`…), like bcc's `kprobe__` auto-attach.
   */
  attachAll(options: AttachBySectionOptions = {}): Link[] {
    return [...this.object.programs.values()]
      .filter((p) => p.program && p.spec.sectionInfo?.target !== '')
      .map((p) => this.#keep(attachBySection(p.program as KernelProgram, p.spec, options)));
  }

  /** The kernel function of system call `name` (`clone` → `__x64_sys_clone`). */
  getSyscallFnName(name: string): string {
    return syscallFunctionName(name);
  }

  /** Same as the method, without an instance. */
  static getSyscallFnName(name: string): string {
    return syscallFunctionName(name);
  }

  /** The maps by their C names. */
  get maps(): ReadonlyMap<string, BpfMap> {
    return this.object.maps;
  }

  /** The map `name` (bcc's `b["name"]`). */
  map(name: string): BpfMap {
    return this.object.map(name);
  }

  /** A reader of the ring buffer map `name`, closed with this object. */
  ringBuffer(name: string): KernelRingBuffer {
    const reader = new KernelRingBuffer(this.map(name).ops as KernelMapOps);
    this.#closers.push(reader);
    return reader;
  }

  /** A reader of the perf event array map `name` (bcc's `open_perf_buffer`), closed with this object. */
  perfBuffer(name: string, options: PerfBufferOptions = {}): KernelPerfBuffer {
    const reader = new KernelPerfBuffer(this.map(name).ops as KernelMapOps, options);
    this.#closers.push(reader);
    return reader;
  }

  /**
   * `bpf_printk` lines as they arrive (bcc's `trace_fields`), parsed. By default from a private
   * tracefs instance, so other readers of `trace_pipe` do not steal them; see trace-pipe.ts.
   */
  traceFields(options: TracePipeOptions = {}): AsyncIterable<TraceLine> {
    this.#trace ??= openTracePipe(options);
    return this.#trace;
  }

  /** Print `bpf_printk` lines to stdout as they come, until closed (bcc's `trace_print`). */
  async tracePrint(format: (line: TraceLine) => string = (line) => line.raw): Promise<void> {
    for await (const line of this.traceFields()) process.stdout.write(`${format(line)}\n`);
  }

  /** Detach everything, close readers, programs and maps. Idempotent. */
  close(): void {
    for (const link of this.#links.splice(0)) link.close();
    for (const closer of this.#closers.splice(0)) closer.close();
    this.#trace?.close();
    this.#trace = undefined;
    this.object.close();
  }
}
