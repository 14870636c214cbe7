/**
 * `tsbpf build`: compile a BPF C source with clang, our headers (`include/tsbpf`) and a
 * `vmlinux.h` generated from this machine's BTF by our own {@link dumpBtfC}, cached by the BTF's
 * content hash. Node-only (spawns clang, reads files), like `src/kernel/` and `src/cli/`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TsbpfError } from '../errors.js';
import { parseBtf } from '../object/btf.js';
import { dumpBtfC } from '../object/btf-c.js';
import { packageRoot } from '../package-root.js';

/** clang is missing, or compiling failed (its diagnostics are in the message). */
export class BuildError extends TsbpfError {
  override name = 'BuildError';
  /** clang's stderr, when clang ran. */
  readonly diagnostics: string;
  constructor(message: string, diagnostics = '') {
    super(message);
    this.diagnostics = diagnostics;
  }
}

/** The repository's `include/` folder, holding `tsbpf/bpf_helpers.h` and friends. */
export const INCLUDE_DIR = join(packageRoot(), 'include');

export interface BuildOptions {
  /** Output object; default: the source with `.o` for `.c`. */
  readonly output?: string;
  /** The clang to run; default `$CLANG`, else `clang-19`, else `clang` on PATH. */
  readonly clang?: string;
  /** BPF CPU version (`-mcpu`); default v3 (Linux 5.1+). */
  readonly cpu?: 'v1' | 'v2' | 'v3' | 'v4';
  /** BTF to generate vmlinux.h from; default /sys/kernel/btf/vmlinux. */
  readonly btf?: string;
  /** Where vmlinux.h is cached; default `$XDG_CACHE_HOME/tsbpf` or `~/.cache/tsbpf`. */
  readonly cacheDir?: string;
  /** Extra clang arguments (`-DNAME=1`, `-I dir`). */
  readonly extraArgs?: readonly string[];
  /** Big-endian target (`bpfeb`). */
  readonly bigEndian?: boolean;
}

export interface BuildResult {
  readonly output: string;
  readonly vmlinuxHeader: string | undefined;
  readonly command: readonly string[];
}

/** The clang binary to use: the option, `$CLANG`, `clang-19`, then `clang`. */
export function findClang(preferred?: string): string {
  const candidates = [preferred, process.env.CLANG, 'clang-19', 'clang'].filter((c): c is string => !!c);
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (!probe.error && probe.status === 0) return candidate;
  }
  throw new BuildError(
    `build: no clang found (tried ${candidates.join(', ')}); install clang-19 (Debian: apt-get install clang-19) or set CLANG`,
  );
}

function cacheDirectory(option?: string): string {
  return option ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tsbpf');
}

/**
 * `vmlinux.h` for `btfPath`, generated once per distinct BTF (the file name carries a hash of the
 * BTF bytes, so a new kernel gets a new header). Returns the folder to pass as `-I`.
 */
export function vmlinuxHeader(btfPath = '/sys/kernel/btf/vmlinux', cacheDir?: string): string {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(btfPath));
  } catch (error) {
    throw new BuildError(
      `build: cannot read BTF ${btfPath}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  const dir = join(cacheDirectory(cacheDir), `vmlinux-${hash}`);
  const header = join(dir, 'vmlinux.h');
  if (!existsSync(header)) {
    mkdirSync(dir, { recursive: true });
    const temporary = `${header}.${process.pid}.tmp`;
    writeFileSync(temporary, dumpBtfC(parseBtf(bytes)));
    renameSync(temporary, header);
  }
  return dir;
}

/** Whether a source includes vmlinux.h (then we generate it). */
function needsVmlinux(source: string): boolean {
  return /#\s*include\s*[<"]vmlinux\.h[>"]/.test(source);
}

/** Compile one BPF C file to an object file. */
export function buildObject(source: string, options: BuildOptions = {}): BuildResult {
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (error) {
    throw new BuildError(`build: cannot read ${source}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  const clang = findClang(options.clang);
  const output = options.output ?? source.replace(/\.c$/, '') + '.o';
  const vmlinuxDir = needsVmlinux(text) ? vmlinuxHeader(options.btf, options.cacheDir) : undefined;
  const arch = process.arch === 'x64' ? 'x86' : process.arch === 'arm64' ? 'arm64' : process.arch;
  const multiarch =
    spawnSync('gcc', ['-print-multiarch'], { encoding: 'utf8' }).stdout?.trim() ||
    `${process.arch === 'x64' ? 'x86_64' : process.arch}-linux-gnu`;
  const command = [
    clang,
    '-target',
    options.bigEndian ? 'bpfeb' : 'bpfel',
    '-O2',
    '-g',
    `-mcpu=${options.cpu ?? 'v3'}`,
    '-Wall',
    '-I',
    INCLUDE_DIR,
    ...(vmlinuxDir ? ['-I', vmlinuxDir] : []),
    `-D__TARGET_ARCH_${arch}`,
    // -target bpf does not search the multiarch folder holding <asm/…>, which UAPI headers include.
    '-idirafter',
    `/usr/include/${multiarch}`,
    ...(options.extraArgs ?? []),
    '-c',
    source,
    '-o',
    output,
  ];
  const result = spawnSync(command[0], command.slice(1), { encoding: 'utf8' });
  if (result.error) throw new BuildError(`build: running ${clang}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new BuildError(
      `build: ${clang} failed on ${source} (exit ${result.status}):\n${result.stderr.trim()}`,
      result.stderr,
    );
  }
  return { output, vmlinuxHeader: vmlinuxDir ? join(vmlinuxDir, 'vmlinux.h') : undefined, command };
}
