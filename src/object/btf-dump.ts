/**
 * Text dumps of BTF in the formats users already know: {@link dumpBtfRaw} is `bpftool btf dump file
 * X` (the raw format), {@link dumpBtfJson} is `bpftool -j btf dump file X`, line for line and field
 * for field. {@link dumpBtfExt} lists a `.BTF.ext`'s tables (bpftool has no such dump).
 */
import {
  BTF_INT_BOOL,
  BTF_INT_CHAR,
  BTF_INT_SIGNED,
  BTF_KIND_INFO,
  type Btf,
  type BtfType,
  type BtfVoid,
} from './btf.js';
import type { BtfExt } from './btf-ext.js';

/** bpftool prints an exact encoding value; combinations are `UNKN`. */
function intEncoding(encoding: number): string {
  switch (encoding) {
    case 0:
      return '(none)';
    case BTF_INT_SIGNED:
      return 'SIGNED';
    case BTF_INT_CHAR:
      return 'CHAR';
    case BTF_INT_BOOL:
      return 'BOOL';
    default:
      return 'UNKN';
  }
}

/** bpftool names offset 0 `(anon)`, whatever the string there. */
function displayName(nameOff: number, name: string): string {
  return nameOff === 0 ? '(anon)' : name;
}

function label(t: BtfType | BtfVoid): string {
  return t.kind === 'void' ? 'UNKNOWN' : BTF_KIND_INFO[t.kind].label;
}

/** One type in bpftool's raw format, with its member lines. */
export function dumpBtfTypeRaw(btf: Btf, t: BtfType): string {
  let s = `[${t.id}] ${label(t)} '${displayName(t.nameOff, t.name)}'`;
  switch (t.kind) {
    case 'int':
      s += ` size=${t.size} bits_offset=${t.bitsOffset} nr_bits=${t.nrBits} encoding=${intEncoding(t.encoding)}`;
      break;
    case 'ptr':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'typedef':
    case 'type_tag':
      s += ` type_id=${t.typeId}`;
      break;
    case 'array':
      s += ` type_id=${t.typeId} index_type_id=${t.indexTypeId} nr_elems=${t.nelems}`;
      break;
    case 'struct':
    case 'union':
      s += ` size=${t.size} vlen=${t.members.length}`;
      for (const m of t.members) {
        s += `\n\t'${displayName(m.nameOff, m.name)}' type_id=${m.typeId} bits_offset=${m.bitsOffset}`;
        if (m.bitfieldSize) s += ` bitfield_size=${m.bitfieldSize}`;
      }
      break;
    case 'enum':
    case 'enum64':
      s += ` encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`;
      for (const v of t.values) {
        const suffix = t.kind === 'enum' ? '' : t.signed ? 'LL' : 'ULL';
        s += `\n\t'${displayName(v.nameOff, v.name)}' val=${v.value}${suffix}`;
      }
      break;
    case 'fwd':
      s += ` fwd_kind=${t.fwdKind}`;
      break;
    case 'func':
      s += ` type_id=${t.typeId} linkage=${t.linkage}`;
      break;
    case 'func_proto':
      s += ` ret_type_id=${t.returnTypeId} vlen=${t.params.length}`;
      for (const p of t.params) s += `\n\t'${displayName(p.nameOff, p.name)}' type_id=${p.typeId}`;
      break;
    case 'var':
      // The comma is bpftool's.
      s += ` type_id=${t.typeId}, linkage=${t.linkage}`;
      break;
    case 'datasec':
      s += ` size=${t.size} vlen=${t.vars.length}`;
      for (const v of t.vars) {
        const vt = btf.typeById(v.typeId);
        const vtName = vt.kind === 'void' ? '(anon)' : displayName(vt.nameOff, vt.name);
        s += `\n\ttype_id=${v.typeId} offset=${v.offset} size=${v.size} (${label(vt)} '${vtName}')`;
      }
      break;
    case 'float':
      s += ` size=${t.size}`;
      break;
    case 'decl_tag':
      s += ` type_id=${t.typeId} component_idx=${t.componentIdx}`;
      break;
  }
  return s;
}

/**
 * `bpftool btf dump file X`: every type of this BTF (not its base's), one per line, members
 * indented by a tab, ending in a newline.
 */
export function dumpBtfRaw(btf: Btf): string {
  const lines: string[] = new Array(btf.types.length);
  for (let i = 0; i < btf.types.length; i++) lines[i] = dumpBtfTypeRaw(btf, btf.types[i]!);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** A JSON value we write ourselves, so 64-bit enumerators keep every digit. */
type Json = string | number | bigint | boolean | readonly Json[] | { readonly [key: string]: Json };

function writeJson(value: Json): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (Array.isArray(value)) return `[${value.map(writeJson).join(',')}]`;
  const obj = value as { readonly [key: string]: Json };
  return `{${Object.keys(obj)
    .map((k) => `${JSON.stringify(k)}:${writeJson(obj[k]!)}`)
    .join(',')}}`;
}

/** One type as the object `bpftool -j btf dump` prints for it (same keys, same order). */
export function btfTypeJson(t: BtfType): { readonly [key: string]: Json } {
  const head = { id: t.id, kind: label(t), name: displayName(t.nameOff, t.name) };
  switch (t.kind) {
    case 'int':
      return {
        ...head,
        size: t.size,
        bits_offset: t.bitsOffset,
        nr_bits: t.nrBits,
        encoding: intEncoding(t.encoding),
      };
    case 'ptr':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'typedef':
    case 'type_tag':
      return { ...head, type_id: t.typeId };
    case 'array':
      return { ...head, type_id: t.typeId, index_type_id: t.indexTypeId, nr_elems: t.nelems };
    case 'struct':
    case 'union':
      return {
        ...head,
        size: t.size,
        vlen: t.members.length,
        members: t.members.map((m) => {
          const o = { name: displayName(m.nameOff, m.name), type_id: m.typeId, bits_offset: m.bitsOffset };
          return m.bitfieldSize ? { ...o, bitfield_size: m.bitfieldSize } : o;
        }),
      };
    case 'enum':
    case 'enum64':
      return {
        ...head,
        encoding: t.signed ? 'SIGNED' : 'UNSIGNED',
        size: t.size,
        vlen: t.values.length,
        values: t.values.map((v) => ({ name: displayName(v.nameOff, v.name), val: v.value })),
      };
    case 'fwd':
      return { ...head, fwd_kind: t.fwdKind };
    case 'func':
      return { ...head, type_id: t.typeId, linkage: t.linkage };
    case 'func_proto':
      return {
        ...head,
        ret_type_id: t.returnTypeId,
        vlen: t.params.length,
        params: t.params.map((p) => ({ name: displayName(p.nameOff, p.name), type_id: p.typeId })),
      };
    case 'var':
      return { ...head, type_id: t.typeId, linkage: t.linkage };
    case 'datasec':
      return {
        ...head,
        size: t.size,
        vlen: t.vars.length,
        vars: t.vars.map((v) => ({ type_id: v.typeId, offset: v.offset, size: v.size })),
      };
    case 'float':
      return { ...head, size: t.size };
    case 'decl_tag':
      return { ...head, type_id: t.typeId, component_idx: t.componentIdx };
  }
}

/**
 * `bpftool -j btf dump file X`: `{"types":[…]}` on one line and a newline, with the same keys in
 * the same order. 64-bit enumerator values are written with all their digits (read them back with
 * a parser that keeps big integers).
 */
export function dumpBtfJson(btf: Btf): string {
  const parts: string[] = new Array(btf.types.length);
  for (let i = 0; i < btf.types.length; i++) parts[i] = writeJson(btfTypeJson(btf.types[i]!));
  return `{"types":[${parts.join(',')}]}\n`;
}

/**
 * The three tables of a `.BTF.ext`, one record a line, each naming what its ids and offsets point
 * at (`type_id=10 (FUNC 'prog')`, the file, line and column, the CO-RE access string).
 */
export function dumpBtfExt(ext: BtfExt, btf: Btf): string {
  const out: string[] = [];
  const typeText = (id: number): string => {
    const t = btf.typeById(id);
    return t.kind === 'void' ? 'void' : `${label(t)} '${displayName(t.nameOff, t.name)}'`;
  };
  out.push(`func_info record_size=${ext.funcInfoRecordSize}`);
  for (const s of ext.funcInfo) {
    out.push(`section '${s.section}' nr=${s.records.length}`);
    for (const r of s.records) out.push(`\tinsn=${r.insnIndex} type_id=${r.typeId} (${typeText(r.typeId)})`);
  }
  out.push(`line_info record_size=${ext.lineInfoRecordSize}`);
  for (const s of ext.lineInfo) {
    out.push(`section '${s.section}' nr=${s.records.length}`);
    for (const r of s.records) {
      out.push(`\tinsn=${r.insnIndex} ${r.fileName}:${r.lineNumber}:${r.column} ${JSON.stringify(r.line)}`);
    }
  }
  out.push(`core_relo record_size=${ext.coreReloRecordSize}`);
  for (const s of ext.coreRelos) {
    out.push(`section '${s.section}' nr=${s.records.length}`);
    for (const r of s.records) {
      out.push(
        `\tinsn=${r.insnIndex} ${r.kind} type_id=${r.typeId} (${typeText(r.typeId)}) access=${r.accessStr}`,
      );
    }
  }
  return `${out.join('\n')}\n`;
}
