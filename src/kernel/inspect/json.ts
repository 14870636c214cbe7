/**
 * JSON as bpftool writes it (its `json_writer`): compact for `-j`, indented for `-p`, 64-bit
 * integers printed whole. Pure: no system calls, so the file commands use it too.
 */

/** A JSON value as bpftool prints it (64-bit integers as bigints: printed whole, never rounded). */
export type Json =
  | string
  | number
  | bigint
  | boolean
  | null
  | readonly Json[]
  | { readonly [key: string]: Json };

/**
 * A {@link Json} value as bpftool's `json_writer` writes it: compact, or (`pretty`, bpftool's
 * `-p`) with each object member on its own line indented by four spaces per level, array elements
 * that are not containers kept on one line — so `tsbpf -jp …` prints what `bpftool -jp …` does.
 */
export function writeJson(value: Json, pretty = false): string {
  let out = '';
  const indent = (depth: number) => (pretty ? `\n${'    '.repeat(depth)}` : '');
  const write = (v: Json, depth: number): void => {
    if (v === null || typeof v !== 'object') {
      out += typeof v === 'bigint' ? v.toString() : JSON.stringify(v);
      return;
    }
    if (Array.isArray(v)) {
      out += '[';
      (v as readonly Json[]).forEach((element, i) => {
        if (i > 0) out += ',';
        write(element, depth + 1);
      });
      if (v.length) out += indent(depth);
      out += ']';
      return;
    }
    const entries = Object.entries(v as { readonly [key: string]: Json });
    out += '{';
    entries.forEach(([key, element], i) => {
      if (i > 0) out += ',';
      out += `${indent(depth + 1)}${JSON.stringify(key)}:${pretty ? ' ' : ''}`;
      write(element, depth + 1);
    });
    if (entries.length) out += indent(depth);
    out += '}';
  };
  write(value, 0);
  return out;
}
