/**
 * `tsbpf gen skeleton`: a TypeScript module for one object, like `bpftool gen skeleton` for C and
 * cilium's `bpf2go` for Go. The module declares the object's types from BTF (map keys and values,
 * globals, ring buffer records) and a class extending {@link Skeleton} whose `maps`, `progs`,
 * globals and `ringbuf()` are typed accordingly. Pure: bytes in, text out.
 */
import { helperId } from '../isa/helper-ids.js';
import { isPerCpu } from '../maps/ops.js';
import type { ObjectSpec } from '../object/object.js';
import { globalSections, globalsProperty, SkeletonError } from './runtime.js';
import { pascalCase, propertyName, TsTypeWriter, variableType } from './ts-types.js';

/** How the generated module finds the object's bytes. */
export type SkeletonSource =
  /** The bytes inside the module, base64 (no file needed at run time; works in a browser). */
  | { readonly embed: Uint8Array }
  /** A path read at run time, relative to the generated module (`new URL(path, import.meta.url)`). */
  | { readonly path: string };

/** Options of {@link generateSkeleton}. */
export interface GenerateSkeletonOptions {
  /** The object's name: `xdp_count` for `xdp_count.bpf.o` (names the class `XdpCount`). */
  readonly name: string;
  readonly source: SkeletonSource;
  /** Module specifiers the skeleton imports; default `tsbpf` and `tsbpf/kernel`. */
  readonly module?: string;
  readonly kernelModule?: string;
  /** Ring buffer map → struct name of its records, overriding what is found from the code. */
  readonly ringBufferTypes?: Readonly<Record<string, string>>;
}

const RINGBUF_OUTPUT = helperId('ringbuf_output');
const RINGBUF_RESERVE = helperId('ringbuf_reserve');

/**
 * The record size a program passes for ring buffer `mapIndex`: a constant in r2 (`reserve`) or r3
 * (`output`) set shortly before a call that has the map in r1.
 */
function ringBufferRecordSizes(spec: ObjectSpec, mapIndex: number): Set<number> {
  const sizes = new Set<number>();
  for (const program of spec.programs) {
    const mapAt = new Map(program.mapReferences.map((ref) => [ref.insn, ref.map]));
    const insns = program.insns;
    for (let i = 0; i < insns.length; i++) {
      const call = insns[i];
      if (call.kind !== 'call' || call.src !== 0) continue;
      const sizeReg = call.imm === RINGBUF_RESERVE ? 2 : call.imm === RINGBUF_OUTPUT ? 3 : 0;
      if (sizeReg === 0) continue;
      let map: number | undefined;
      let size: number | undefined;
      for (let j = i - 1; j >= 0 && j >= i - 12; j--) {
        const insn = insns[j];
        if (insn.kind === 'call' || insn.kind === 'exit' || insn.kind === 'jmp') break;
        if (insn.dst === 1 && map === undefined && insn.kind === 'lddw') map = mapAt.get(j) ?? -1;
        if (insn.dst === sizeReg && size === undefined && insn.kind === 'alu') {
          // mov rN, imm (64- or 32-bit), nothing else
          const isMovImm = (insn.opcode & 0xf0) === 0xb0 && (insn.opcode & 0x08) === 0;
          size = isMovImm ? insn.imm : -1;
        }
      }
      if (map === mapIndex && size !== undefined && size > 0) sizes.add(size);
    }
  }
  return sizes;
}

/** The struct a ring buffer's records are: one of the record size, preferring `*event*` names. */
function ringBufferRecordType(spec: ObjectSpec, mapIndex: number): number | undefined {
  const btf = spec.btf;
  if (!btf) return undefined;
  const sizes = ringBufferRecordSizes(spec, mapIndex);
  const structs = btf.types.filter(
    (t) => t.kind === 'struct' && t.name !== '' && (sizes.size === 0 || sizes.has(t.size)),
  );
  const named = structs.filter((t) => /event|record|sample/i.test(t.name));
  if (sizes.size === 0) return named.length === 1 ? named[0].id : undefined;
  return (named[0] ?? (structs.length === 1 ? structs[0] : undefined))?.id;
}

function base64(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += alphabet[(n >> 18) & 63] + alphabet[(n >> 12) & 63];
    out += i + 1 < bytes.length ? alphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? alphabet[n & 63] : '=';
  }
  return out;
}

/** Split a long string literal into lines of `width` characters. */
function wrapped(text: string, width = 100): string {
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += width) lines.push(`  '${text.slice(i, i + width)}'`);
  return lines.length ? lines.join(' +\n') : "''";
}

/** Generate the skeleton module's TypeScript source for an object. */
export function generateSkeleton(spec: ObjectSpec, options: GenerateSkeletonOptions): string {
  const module = options.module ?? 'tsbpf';
  const kernelModule = options.kernelModule ?? 'tsbpf/kernel';
  const className = pascalCase(options.name);
  const types = spec.btf ? new TsTypeWriter(spec.btf) : undefined;
  const typeOf = (id: number | undefined, fallback = 'Uint8Array'): string =>
    id && types ? types.typeOf(id) : fallback;

  const mapLines: string[] = [];
  const ringLines: string[] = [];
  const ringTypes: Record<string, number> = {};
  for (const [index, map] of spec.maps.entries()) {
    if (map.type === 'RINGBUF') {
      const wanted = options.ringBufferTypes?.[map.name];
      const id = wanted
        ? spec.btf?.types.find((t) => (t.kind === 'struct' || t.kind === 'union') && t.name === wanted)?.id
        : ringBufferRecordType(spec, index);
      if (wanted && id === undefined)
        throw new SkeletonError(
          `gen skeleton: ring buffer '${map.name}': no struct '${wanted}' in the object's BTF`,
        );
      if (id !== undefined) ringTypes[map.name] = id;
      ringLines.push(`  readonly ${propertyName(map.name)}: ${typeOf(id)};`);
    }
    const key = typeOf(map.btfKeyTypeId);
    const single = typeOf(map.btfValueTypeId);
    const value = isPerCpu(map.type)
      ? /^[A-Za-z0-9_]+$/.test(single)
        ? `${single}[]`
        : `Array<${single}>`
      : single;
    mapLines.push(
      `  /** \`${map.name}\`: ${map.type}, key ${map.keySize} B, value ${map.valueSize} B, max_entries ${map.maxEntries}${isPerCpu(map.type) ? ' (one value per CPU)' : ''}. */`,
      `  readonly ${propertyName(map.name)}: BpfMap<${key}, ${value}>;`,
    );
  }

  const progLines = spec.programs.map(
    (p) => `  /** Section \`${p.section}\`. */\n  readonly ${propertyName(p.name)}: SkeletonProgram;`,
  );

  const globals = globalSections(spec).map((map) => {
    const property = globalsProperty(map.name);
    const iface = `${className}${pascalCase(property)}`;
    const fields = (map.variables ?? []).map(
      (v) =>
        `  ${propertyName(v.name)}: ${typeOf(spec.btf ? variableType(spec.btf, v.typeId) : undefined, 'number[]')};`,
    );
    const when = map.freeze
      ? 'set before load(); read-only after'
      : 'set before load() for initial values; read and written in the live map after';
    return { map, property, iface, fields, when };
  });

  const out: string[] = [];
  out.push(
    `// Generated by \`tsbpf gen skeleton\` from ${options.name}.bpf.o. Do not edit: regenerate instead.`,
    '/* biome-ignore-all lint: generated code */',
  );
  const runtimeImports = [
    'type BpfMap',
    'Skeleton',
    'type SkeletonProgram',
    'type SkeletonTarget',
    'type TypedRingBuffer',
    'vmSkeletonBackend',
  ];
  out.push(`import { ${runtimeImports.join(', ')} } from '${module}';`, '');

  for (const declaration of types?.declarations ?? []) out.push(declaration, '');
  for (const g of globals) {
    out.push(
      `/** \`${g.map.name}\` variables: ${g.when}. */`,
      `export interface ${g.iface} {`,
      ...g.fields,
      '}',
      '',
    );
  }
  out.push(`/** The maps of ${options.name}, keys and values decoded through BTF. */`);
  out.push(`export interface ${className}Maps {`, ...mapLines, '}', '');
  out.push(
    `/** The programs of ${options.name}. */`,
    `export interface ${className}Progs {`,
    ...progLines,
    '}',
    '',
  );
  out.push(`/** The ring buffers of ${options.name} and their record types. */`);
  out.push(`export interface ${className}RingBuffers {`, ...ringLines, '}', '');

  if ('embed' in options.source) {
    out.push(
      `const OBJECT_BASE64 =\n${wrapped(base64(options.source.embed))};`,
      '',
      `/** The object's bytes (embedded, ${options.source.embed.length} bytes). */`,
      'function objectBytes(): Uint8Array {',
      '  return Uint8Array.from(atob(OBJECT_BASE64), (c) => c.charCodeAt(0));',
      '}',
    );
  } else {
    out.push(
      `/** The object's bytes, read from ${JSON.stringify(options.source.path)} beside this module. */`,
      'async function objectBytes(): Promise<Uint8Array> {',
      "  const { readFile } = await import('node:fs/promises');",
      `  return new Uint8Array(await readFile(new URL(${JSON.stringify(options.source.path)}, import.meta.url)));`,
      '}',
    );
  }
  out.push('');
  const embed = 'embed' in options.source;
  out.push(
    `/**`,
    ` * ${options.name}: open → set rodata → load() (VM by default, or { backend: 'kernel' }) → attach() → destroy().`,
    ' */',
    `export class ${className} extends Skeleton {`,
    `  constructor(object: Uint8Array${embed ? ' = objectBytes()' : ''}) {`,
    `    super(object, { name: ${JSON.stringify(options.name)}, ringBufferTypes: ${JSON.stringify(ringTypes)} });`,
    '  }',
    '',
    '  /** Open the object: parse it; nothing is created until load(). */',
    embed
      ? `  static open(object?: Uint8Array): ${className} {\n    return new ${className}(object);\n  }`
      : `  static async open(object?: Uint8Array): Promise<${className}> {\n    return new ${className}(object ?? (await objectBytes()));\n  }`,
    '',
    "  /** Load on the VM (default: no root) or into the running kernel (`{ backend: 'kernel' }`, root). */",
    `  async load(target: SkeletonTarget = { backend: 'vm' }): Promise<this> {`,
    "    if (target.backend === 'kernel') {",
    `      const { kernelSkeletonBackend } = await import('${kernelModule}');`,
    '      return this.loadWith(kernelSkeletonBackend({ pinPath: target.pinPath }));',
    '    }',
    '    return this.loadWith(vmSkeletonBackend(target.vm));',
    '  }',
    '',
    '  /** The maps (after load). */',
    `  get maps(): ${className}Maps {`,
    `    return this.mapsByName() as unknown as ${className}Maps;`,
    '  }',
    '',
    '  /** The programs (after load). */',
    `  get progs(): ${className}Progs {`,
    `    return this.programsByName() as unknown as ${className}Progs;`,
    '  }',
  );
  for (const g of globals) {
    out.push(
      '',
      `  /** \`${g.map.name}\`: ${g.when}. */`,
      `  get ${g.property}(): ${g.iface} {`,
      `    return this.globalsOf(${JSON.stringify(g.property)}) as unknown as ${g.iface};`,
      '  }',
    );
  }
  out.push(
    '',
    "  /** A ring buffer's records, decoded (after load). */",
    `  ringbuf<K extends keyof ${className}RingBuffers>(name: K): TypedRingBuffer<${className}RingBuffers[K]> {`,
    `    return this.ringBufferOf(name as string) as TypedRingBuffer<${className}RingBuffers[K]>;`,
    '  }',
    '}',
    '',
  );
  return out.join('\n');
}
