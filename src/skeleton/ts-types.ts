/**
 * TypeScript types for BTF types, shaped exactly as {@link btfCodec} decodes values: integers up
 * to 32 bits as `number`, 64-bit ones as `bigint`, `bool` as `boolean`, `char[]` as `string`,
 * other arrays as arrays, structs and unions as interfaces (anonymous members flattened), enums as
 * numbers, pointers as `bigint`.
 */
import type { Btf, BtfMember, BtfType } from '../object/btf.js';

/** Deepest nesting of anonymous types we spell out; deeper values are typed loosely. */
const MAX_DEPTH = 16;

/** The type a `VAR` holds (a global's type id in a DATASEC names the VAR). */
export function variableType(btf: Btf, typeId: number): number {
  try {
    const type = btf.typeById(typeId);
    return type.kind === 'var' ? type.typeId : typeId;
  } catch {
    return typeId;
  }
}

/** A TypeScript identifier from a C name: `proto_stat` → `ProtoStat`. */
export function pascalCase(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const joined = words.map((w) => w[0].toUpperCase() + w.slice(1)).join('');
  if (joined === '') return 'Anon';
  return /^[0-9]/.test(joined) ? `T${joined}` : joined;
}

/** A property name, quoted when it is not a plain identifier. */
export function propertyName(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/**
 * Collects the named interfaces the types of one object need, so each C struct is declared once
 * (`interface ProtoStat { packets: bigint; bytes: bigint }`) and referred to by name.
 */
export class TsTypeWriter {
  readonly #btf: Btf;
  /** BTF id → interface name. */
  readonly #names = new Map<number, string>();
  readonly #used = new Set<string>();
  readonly #declarations: string[] = [];

  constructor(btf: Btf) {
    this.#btf = btf;
  }

  /** The interface declarations written so far, in dependency order. */
  get declarations(): readonly string[] {
    return this.#declarations;
  }

  /** The TypeScript type of a value of BTF type `typeId`. */
  typeOf(typeId: number, depth = 0): string {
    let type: BtfType | { kind: 'void' };
    try {
      type = this.#btf.resolve(typeId);
    } catch {
      return 'number[]';
    }
    switch (type.kind) {
      case 'int':
        if (type.encoding & 4) return 'boolean';
        return type.size >= 8 ? 'bigint' : 'number';
      case 'enum':
      case 'enum64':
        return type.size >= 8 ? 'bigint' : 'number';
      case 'ptr':
        return 'bigint';
      case 'float':
        return 'number';
      case 'array': {
        if (this.#isCharArray(type.typeId)) return 'string';
        const element = depth >= MAX_DEPTH ? 'unknown' : this.typeOf(type.typeId, depth + 1);
        return /^[A-Za-z0-9_]+$/.test(element) ? `${element}[]` : `Array<${element}>`;
      }
      case 'struct':
      case 'union':
        if (depth >= MAX_DEPTH) return 'Record<string, unknown>';
        return type.name ? this.#named(type.id, type.name, depth) : this.#inline(type.members, depth);
      default:
        return 'number[]';
    }
  }

  #isCharArray(elementId: number): boolean {
    try {
      const element = this.#btf.resolve(elementId);
      return (
        element.kind === 'int' &&
        element.size === 1 &&
        ((element.encoding & 2) !== 0 || element.name === 'char')
      );
    } catch {
      return false;
    }
  }

  #named(id: number, cName: string, depth: number): string {
    const known = this.#names.get(id);
    if (known) return known;
    let name = pascalCase(cName);
    for (let n = 2; this.#used.has(name); n++) name = `${pascalCase(cName)}${n}`;
    this.#used.add(name);
    this.#names.set(id, name);
    const type = this.#btf.resolve(id);
    const members = type.kind === 'struct' || type.kind === 'union' ? type.members : [];
    const fields = this.#fields(members, depth + 1);
    this.#declarations.push(
      `/** \`${type.kind === 'union' ? 'union' : 'struct'} ${cName}\` (${this.#btf.sizeof(id)} bytes). */\nexport interface ${name} {\n${fields.map((f) => `  ${f};`).join('\n')}\n}`,
    );
    return name;
  }

  #inline(members: readonly BtfMember[], depth: number): string {
    const fields = this.#fields(members, depth + 1);
    return fields.length === 0 ? 'Record<string, never>' : `{ ${fields.join('; ')} }`;
  }

  /** `name: type` lines for a composite's members, anonymous composites flattened as the codec does. */
  #fields(members: readonly BtfMember[], depth: number): string[] {
    const out: string[] = [];
    for (const [index, member] of members.entries()) {
      if (member.bitfieldSize > 0) {
        out.push(
          `${propertyName(member.name || `__anon${index}`)}: ${member.bitfieldSize > 32 ? 'bigint' : 'number'}`,
        );
        continue;
      }
      if (!member.name) {
        let inner: BtfType | { kind: 'void' } | undefined;
        try {
          inner = this.#btf.resolve(member.typeId);
        } catch {
          inner = undefined;
        }
        if (inner && (inner.kind === 'struct' || inner.kind === 'union') && depth < MAX_DEPTH) {
          out.push(...this.#fields(inner.members, depth + 1));
          continue;
        }
      }
      out.push(`${propertyName(member.name || `__anon${index}`)}: ${this.typeOf(member.typeId, depth)}`);
    }
    return out;
  }
}
