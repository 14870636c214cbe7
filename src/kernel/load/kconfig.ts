/**
 * Values of `.kconfig` externs (`extern int CONFIG_HZ __kconfig;`), filled in before load as
 * libbpf does (`bpf_object__read_kconfig_file`, `set_kcfg_value_*`): from the running kernel's
 * config (`/proc/config.gz`, else `/boot/config-$(uname -r)`), plus the virtual
 * `LINUX_KERNEL_VERSION` from `uname`.
 *
 * The value rules, by the extern's C type:
 *
 * | config value      | `bool`       | tristate enum (`libbpf_tristate`) | `char`     | integer       | `char[N]`   |
 * |-------------------|--------------|-----------------------------------|------------|---------------|-------------|
 * | `y` / `n`         | 1 / 0        | TRI_YES (1) / TRI_NO (0)          | 'y' / 'n'  | error         | error       |
 * | `m`               | error        | TRI_MODULE (2)                    | 'm'        | error         | error       |
 * | `"text"`          | error        | error                             | error      | error         | NUL-ended, truncated to N-1 |
 * | number (0x…, 0…)  | error        | error                             | in range   | in range      | error       |
 * | missing           | weak: 0, otherwise an error                                                                    |
 */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { TsbpfError } from '../../errors.js';
import { BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, type Btf } from '../../object/btf.js';

/** A `.kconfig` extern that cannot be given a value. */
export class KconfigError extends TsbpfError {
  override name = 'KconfigError';
  /** The extern's name, e.g. `CONFIG_HZ`. */
  readonly extern: string;
  constructor(extern: string, reason: string) {
    super(`extern (kcfg) '${extern}': ${reason}`);
    this.extern = extern;
  }
}

/** How an extern's bytes are encoded, from its BTF type. */
export type KconfigType =
  | { readonly kind: 'bool' }
  | { readonly kind: 'tristate' }
  | { readonly kind: 'char' }
  | { readonly kind: 'int'; readonly size: number; readonly signed: boolean }
  | { readonly kind: 'chars'; readonly size: number };

/** The encoding of the VAR `varId` of `btf`'s `.kconfig` DATASEC (libbpf's `find_kcfg_type`). */
export function kconfigType(btf: Btf, varId: number, name: string): KconfigType {
  const variable = btf.typeById(varId);
  const t = btf.resolve(variable.kind === 'var' ? variable.typeId : varId);
  if (t.kind === 'enum' && t.name === 'libbpf_tristate') return { kind: 'tristate' };
  if (t.kind === 'int') {
    if (t.encoding & BTF_INT_BOOL) return { kind: 'bool' };
    if (t.size === 1 && t.encoding & BTF_INT_CHAR) return { kind: 'char' };
    if (t.size === 1 && t.name === '_Bool') return { kind: 'bool' };
    if ([1, 2, 4, 8].includes(t.size))
      return { kind: 'int', size: t.size, signed: (t.encoding & BTF_INT_SIGNED) !== 0 };
  }
  if (t.kind === 'enum' || t.kind === 'enum64') return { kind: 'int', size: t.size, signed: t.signed };
  if (t.kind === 'array') {
    const element = btf.resolve(t.typeId);
    if (element.kind === 'int' && element.size === 1 && element.encoding & BTF_INT_CHAR)
      return { kind: 'chars', size: t.nelems };
  }
  throw new KconfigError(name, `type ${t.kind} '${t.name}' is not a supported kconfig type`);
}

/** `KERNEL_VERSION(a, b, c)` of a release string like `6.18.44-fc`, as libbpf computes it. */
export function kernelVersionCode(releaseText: string = release()): number {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(releaseText);
  if (!match) throw new TsbpfError(`kernel version: cannot parse release '${releaseText}'`);
  const [major, minor, patch = '0'] = match.slice(1);
  // The patch level is capped at 255: it has only 8 bits (Ubuntu's kernels exceed it).
  return (Number(major) << 16) + (Number(minor) << 8) + Math.min(Number(patch), 255);
}

/**
 * Parse a kernel config file into `CONFIG_X → value` (`y`, `m`, `"text"`, `42`); `# CONFIG_X is
 * not set` lines are left out (libbpf treats them as missing too).
 */
export function parseKconfig(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('CONFIG_')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return values;
}

let cachedConfig: Map<string, string> | undefined;

/** The running kernel's config: `/proc/config.gz` (gunzipped), else `/boot/config-<release>`. */
export function readKernelConfig(): Map<string, string> {
  if (cachedConfig) return cachedConfig;
  const tried: string[] = [];
  try {
    cachedConfig = parseKconfig(gunzipSync(readFileSync('/proc/config.gz')).toString('utf8'));
    return cachedConfig;
  } catch (error) {
    tried.push(`/proc/config.gz: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const boot = `/boot/config-${release()}`;
  try {
    cachedConfig = parseKconfig(readFileSync(boot, 'utf8'));
    return cachedConfig;
  } catch (error) {
    tried.push(`${boot}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  throw new TsbpfError(`kernel config: not found (${tried.join('; ')}); enable CONFIG_IKCONFIG_PROC`);
}

/** One extern to fill: where its bytes go and how they are encoded. */
export interface KconfigExtern {
  readonly name: string;
  readonly type: KconfigType;
  readonly offset: number;
  readonly size: number;
  readonly weak: boolean;
}

/** Where values come from: the parsed config and virtual values; all default to this machine. */
export interface KconfigSources {
  /** `CONFIG_*` values; default {@link readKernelConfig} (read only when a `CONFIG_` extern exists). */
  readonly config?: ReadonlyMap<string, string>;
  /** Kernel release for `LINUX_KERNEL_VERSION`; default `uname -r`. */
  readonly release?: string;
  /** Values that win over everything else (tests, cross-loading). */
  readonly overrides?: ReadonlyMap<string, string>;
}

/** Values libbpf computes itself rather than reading from the config. */
function virtualValue(name: string, sources: KconfigSources): string | undefined {
  switch (name) {
    case 'LINUX_KERNEL_VERSION':
      return String(kernelVersionCode(sources.release));
    case 'LINUX_HAS_BPF_COOKIE':
      // bpf_get_attach_cookie: since 5.15.
      return kernelVersionCode(sources.release) >= kernelVersionCode('5.15') ? 'y' : 'n';
    case 'LINUX_HAS_SYSCALL_WRAPPER':
      // __<arch>_sys_* wrappers taking pt_regs: x86-64 since 4.17, arm64 since 4.19.
      return 'y';
    default:
      return undefined;
  }
}

function parseNumber(text: string): bigint | undefined {
  const t = text.trim();
  if (/^-?0x[0-9a-f]+$/i.test(t)) return t.startsWith('-') ? -BigInt(t.slice(1)) : BigInt(t);
  if (/^-?0[0-7]+$/.test(t)) {
    const digits = t.replace(/^-?0/, '');
    const value = BigInt(`0o${digits}`);
    return t.startsWith('-') ? -value : value;
  }
  if (/^-?\d+$/.test(t)) return BigInt(t);
  return undefined;
}

/** Encode one value into `out` at the extern's offset, or throw {@link KconfigError}. */
function encode(extern: KconfigExtern, value: string, out: DataView): void {
  const { name, type, offset } = extern;
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  if (value === 'y' || value === 'n' || value === 'm') {
    const tri = value === 'y' ? 1 : value === 'n' ? 0 : 2;
    switch (type.kind) {
      case 'bool':
        if (value === 'm') throw new KconfigError(name, "value 'm' is not supported for bool");
        out.setUint8(offset, tri);
        return;
      case 'tristate':
        out.setUint32(offset, tri, true);
        return;
      case 'char':
        out.setUint8(offset, value.charCodeAt(0));
        return;
      default:
        throw new KconfigError(name, `value '${value}' implies tristate or char type`);
    }
  }
  if (value.startsWith('"')) {
    if (type.kind !== 'chars') throw new KconfigError(name, `value '${value}' implies a char array`);
    if (!value.endsWith('"') || value.length < 2)
      throw new KconfigError(name, `invalid string config '${value}'`);
    const text = new TextEncoder().encode(value.slice(1, -1));
    // Keep the NUL: a truncated string is still a C string (libbpf warns and truncates too).
    bytes.set(text.subarray(0, type.size - 1), offset);
    bytes[offset + Math.min(text.length, type.size - 1)] = 0;
    return;
  }
  const number = parseNumber(value);
  if (number === undefined) throw new KconfigError(name, `invalid value '${value}'`);
  if (type.kind !== 'int' && type.kind !== 'char')
    throw new KconfigError(name, `value '${value}' implies an integer type`);
  const size = type.kind === 'int' ? type.size : 1;
  const signed = type.kind === 'int' && type.signed;
  const bits = BigInt(size * 8);
  const fits = signed
    ? number >= -(1n << (bits - 1n)) && number < 1n << (bits - 1n)
    : number >= 0n && number < 1n << bits;
  if (!fits) throw new KconfigError(name, `value '${value}' does not fit in ${size} bytes`);
  const raw = BigInt.asUintN(size * 8, number);
  for (let i = 0; i < size; i++) out.setUint8(offset + i, Number((raw >> BigInt(8 * i)) & 0xffn));
}

/**
 * The bytes of the `.kconfig` map: every extern's value at its offset. Throws
 * {@link KconfigError} for a missing strong extern or a value its type cannot hold.
 */
export function kconfigValue(
  externs: readonly KconfigExtern[],
  size: number,
  sources: KconfigSources = {},
): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(size));
  const view = new DataView(out.buffer);
  let config = sources.config;
  for (const extern of externs) {
    let value = sources.overrides?.get(extern.name) ?? virtualValue(extern.name, sources);
    if (value === undefined && extern.name.startsWith('CONFIG_')) {
      config ??= readKernelConfig();
      value = config.get(extern.name);
    }
    if (value === undefined) {
      if (extern.weak) continue;
      throw new KconfigError(
        extern.name,
        'value not found in the kernel config (declare it __weak to default to 0)',
      );
    }
    encode(extern, value, view);
  }
  return out;
}
