/**
 * The BTF type browser's logic, without the DOM: an object's types as rows to filter, and one
 * type's detail (members with offsets and sizes, parameters, variables) with the ids it refers
 * to, so the page can link them. Pure: a {@link Btf} in, records out.
 */
import type { Btf, BtfType, BtfVoid } from '../../src/index.js';

/** One row of the type list: `[12] struct proto_stat (16 bytes)`. */
export interface BtfTypeRow {
  readonly id: number;
  readonly kind: string;
  readonly name: string;
  /** Size in bytes, for types that have one. */
  readonly size?: number;
}

/** A line of a type's detail: text, with the type it refers to (for a link) when it has one. */
export interface BtfDetailLine {
  readonly label: string;
  readonly typeId?: number;
  readonly typeText?: string;
  /** `offset 8, 8 bytes` for members and variables. */
  readonly note?: string;
}

/** A type's detail: its C-ish heading and its parts. */
export interface BtfTypeDetail {
  readonly id: number;
  readonly heading: string;
  readonly lines: readonly BtfDetailLine[];
}

function sizeOf(btf: Btf, id: number): number | undefined {
  try {
    return btf.sizeof(id);
  } catch {
    return undefined;
  }
}

/**
 * A type as C names it, short: `__u32`, `struct proto_stat`, `char[16]`, `const int *`,
 * `int (*)(void *)` for function prototypes. Depth-limited (BTF may loop through pointers).
 */
export function btfTypeName(btf: Btf, id: number, depth = 0): string {
  if (depth > 16) return '…';
  let t: BtfType | BtfVoid;
  try {
    t = btf.typeById(id);
  } catch {
    return `<bad type ${id}>`;
  }
  switch (t.kind) {
    case 'void':
      return 'void';
    case 'int':
    case 'float':
    case 'typedef':
      return t.name || `<anon ${t.kind}>`;
    case 'struct':
    case 'union':
    case 'enum':
    case 'enum64':
      return `${t.kind === 'enum64' ? 'enum' : t.kind} ${t.name || '(anon)'}`;
    case 'fwd':
      return `${t.fwdKind} ${t.name}`;
    case 'ptr':
      return `${btfTypeName(btf, t.typeId, depth + 1)} *`;
    case 'const':
    case 'volatile':
    case 'restrict':
      return `${t.kind} ${btfTypeName(btf, t.typeId, depth + 1)}`;
    case 'type_tag':
      return `${btfTypeName(btf, t.typeId, depth + 1)} __tag(${t.name})`;
    case 'array':
      return `${btfTypeName(btf, t.typeId, depth + 1)}[${t.nelems}]`;
    case 'func_proto':
      return `${btfTypeName(btf, t.returnTypeId, depth + 1)} (*)(${t.params.map((p) => btfTypeName(btf, p.typeId, depth + 1)).join(', ') || 'void'})`;
    case 'func':
    case 'var':
    case 'datasec':
    case 'decl_tag':
      return t.name;
  }
}

/** Every type of `btf` (id 1 on), those whose name or kind contains `filter` (case-insensitive). */
export function btfTypeRows(btf: Btf, filter = ''): BtfTypeRow[] {
  const needle = filter.trim().toLowerCase();
  const rows: BtfTypeRow[] = [];
  for (let id = 1; id < btf.typeCount; id++) {
    let t: BtfType | BtfVoid;
    try {
      t = btf.typeById(id);
    } catch {
      continue;
    }
    const name = t.name || '(anon)';
    if (needle && !name.toLowerCase().includes(needle) && !t.kind.includes(needle)) continue;
    const sized = ['int', 'float', 'struct', 'union', 'enum', 'enum64', 'datasec', 'array', 'typedef', 'ptr'];
    const size = sized.includes(t.kind) ? sizeOf(btf, id) : undefined;
    rows.push({ id, kind: t.kind, name, ...(size === undefined ? {} : { size }) });
  }
  return rows;
}

const bytes = (n: number | undefined): string => (n === undefined ? '' : `${n} byte${n === 1 ? '' : 's'}`);

/** One type's detail: members, values, parameters or variables, each with the type it names. */
export function btfTypeDetail(btf: Btf, id: number): BtfTypeDetail {
  const t = btf.typeById(id);
  const ref = (label: string, typeId: number, note?: string): BtfDetailLine => ({
    label,
    typeId,
    typeText: btfTypeName(btf, typeId),
    ...(note ? { note } : {}),
  });
  const size = sizeOf(btf, id);
  const heading = `[${id}] ${t.kind} ${t.name || '(anon)'}${size === undefined ? '' : ` — ${bytes(size)}`}`;
  const lines: BtfDetailLine[] = [];
  switch (t.kind) {
    case 'struct':
    case 'union':
      for (const m of t.members) {
        const bits = m.bitfieldSize ? `, ${m.bitfieldSize} bits at bit ${m.bitsOffset}` : '';
        const at = m.bitsOffset % 8 === 0 ? `offset ${m.bitsOffset / 8}` : `bit ${m.bitsOffset}`;
        lines.push(ref(m.name || '(anon)', m.typeId, `${at}, ${bytes(sizeOf(btf, m.typeId))}${bits}`));
      }
      break;
    case 'enum':
    case 'enum64':
      for (const v of t.values) lines.push({ label: `${v.name} = ${v.value}` });
      break;
    case 'func_proto':
      lines.push(ref('returns', t.returnTypeId));
      for (const p of t.params) lines.push(ref(p.name || '(unnamed)', p.typeId));
      break;
    case 'datasec':
      for (const v of t.vars) {
        const variable = btf.typeById(v.typeId);
        lines.push({
          ...ref(variable.name || '(anon)', v.typeId, `offset ${v.offset}, ${bytes(v.size)}`),
          typeText: variable.kind === 'var' ? btfTypeName(btf, variable.typeId) : btfTypeName(btf, v.typeId),
        });
      }
      break;
    case 'array':
      lines.push(ref(`element × ${t.nelems}`, t.typeId));
      lines.push(ref('index', t.indexTypeId));
      break;
    case 'func':
      lines.push(ref(`${t.linkage} function`, t.typeId));
      break;
    case 'var':
      lines.push(ref(`${t.linkage} variable`, t.typeId));
      break;
    case 'ptr':
    case 'typedef':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'type_tag':
    case 'decl_tag':
      lines.push(ref(t.kind === 'ptr' ? 'points to' : 'of', t.typeId));
      break;
    case 'int':
      lines.push({
        label: `${t.nrBits} bits${t.encoding & 1 ? ', signed' : ''}${t.encoding & 2 ? ', char' : ''}${t.encoding & 4 ? ', bool' : ''}`,
      });
      break;
    case 'fwd':
      lines.push({ label: `forward declaration of a ${t.fwdKind}` });
      break;
    case 'float':
      break;
  }
  return { id, heading, lines };
}
