/**
 * Generates `include/tsbpf/bpf_helper_defs.h`: one `static <ret> (* const bpf_x)(<args>) = (void *) ID;`
 * per helper, so BPF C needs no libbpf-dev.
 *
 * Two sources, read from the kernel UAPI header (default `/usr/include/linux/bpf.h`):
 * - the helper ids, from `__BPF_FUNC_MAPPER` (Linux < 6.1: `FN(name)`, id = position) or
 *   `___BPF_FUNC_MAPPER` (Linux >= 6.1: `FN(name, id, ...)`, id explicit);
 * - the prototypes, from the doc block after "Start of BPF helper function descriptions:", where a
 *   helper entry is a ` * <prototype>` line directly followed by a ` * \tDescription` line.
 *
 * The ids are cross-checked against `src/isa/helper-ids.ts` (generated from the running kernel's BTF):
 * the same id with another name, or the same name with another id, aborts the generation. Helpers that
 * only one side knows (an older UAPI header than the kernel, or the reverse) are reported on stderr.
 *
 * Usage: `npx tsx scripts/gen-helper-defs.ts [--header /usr/include/linux/bpf.h]
 *   [--out include/tsbpf/bpf_helper_defs.h] [--check]`
 * `--check` writes nothing and exits 1 when the committed header differs from what would be generated.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HELPER_NAMES } from '../src/isa/helper-ids.js';

/** A helper as documented in the UAPI header. */
interface HelperDoc {
  readonly name: string;
  /** The prototype exactly as the header writes it. */
  readonly prototype: string;
  readonly returnType: string;
  readonly params: readonly string[];
  /** Description and Return text, de-indented, one entry per line. */
  readonly doc: readonly string[];
}

class GenerateError extends Error {
  override name = 'GenerateError';
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv: readonly string[]): { header: string; out: string; check: boolean } {
  const opts = {
    header: '/usr/include/linux/bpf.h',
    out: join(root, 'include/tsbpf/bpf_helper_defs.h'),
    check: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--header') opts.header = argv[++i] ?? '';
    else if (arg === '--out') opts.out = argv[++i] ?? '';
    else if (arg === '--check') opts.check = true;
    else throw new GenerateError(`unknown argument ${arg}`);
  }
  return opts;
}

/** Helper ids from the `FN(...)` list of the func mapper macro; the name is without `bpf_`. */
export function parseMapper(text: string): Map<string, number> {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^#define\s+_{2,3}BPF_FUNC_MAPPER\(/.test(l));
  if (start < 0) throw new GenerateError('UAPI header: no __BPF_FUNC_MAPPER / ___BPF_FUNC_MAPPER macro');
  const ids = new Map<string, number>();
  let position = 0;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    const m = /FN\(\s*(\w+)\s*(?:,\s*(\d+)\s*)?(?:,[^)]*)?\)/.exec(line);
    if (m) {
      const id = m[2] === undefined ? position : Number(m[2]);
      if (ids.has(m[1]!)) throw new GenerateError(`UAPI header line ${i + 1}: helper ${m[1]} listed twice`);
      ids.set(m[1]!, id);
      position = id + 1;
    }
    if (!line.trimEnd().endsWith('\\')) break;
  }
  if (ids.size === 0) throw new GenerateError(`UAPI header line ${start + 1}: func mapper lists no helpers`);
  return ids;
}

/** Splits a parameter list at top-level commas. */
function splitParams(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of list) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

/** The documented helpers, in header order. */
export function parseHelperDocs(text: string): HelperDoc[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.includes('Start of BPF helper function descriptions:'));
  if (start < 0)
    throw new GenerateError('UAPI header: no "Start of BPF helper function descriptions:" block');
  const helpers: HelperDoc[] = [];
  let current: { proto: string; line: number; doc: string[] } | undefined;
  const flush = (): void => {
    if (!current) return;
    const m = /^(.*?[\s*])(bpf_\w+)\s*\((.*)\)$/.exec(current.proto);
    if (!m)
      throw new GenerateError(`UAPI header line ${current.line}: cannot parse prototype "${current.proto}"`);
    while (current.doc.length > 0 && current.doc[current.doc.length - 1] === '') current.doc.pop();
    helpers.push({
      name: m[2]!,
      prototype: current.proto,
      returnType: m[1]!.trim(),
      params: splitParams(m[3]!),
      doc: current.doc,
    });
    current = undefined;
  };
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*\*\/\s*$/.test(line)) break;
    const next = lines[i + 1] ?? '';
    if (/^ \* \S/.test(line) && /^ \*\s+Description\s*$/.test(next)) {
      flush();
      current = { proto: line.slice(3).trim(), line: i + 1, doc: [] };
      continue;
    }
    if (current) {
      // Keep the layout below the prototype, one tab stop less (section titles at column 0).
      const body = line.replace(/^ \*/, '').replace(/^ ?\t/, '').replace(/\t/g, '    ');
      current.doc.push(body.trimEnd());
    }
  }
  flush();
  return helpers;
}

/**
 * Some helpers are documented once per program type with different context types
 * (`bpf_get_socket_cookie`, `bpf_sk_assign`). One C declaration must serve them all: parameters that
 * differ between the forms become `void *`, keeping the first form's parameter name.
 */
export function mergeOverloads(docs: readonly HelperDoc[]): HelperDoc[] {
  const merged = new Map<string, HelperDoc & { prototypes: string[] }>();
  for (const d of docs) {
    const prev = merged.get(d.name);
    if (!prev) {
      merged.set(d.name, { ...d, prototypes: [d.prototype] });
      continue;
    }
    if (prev.returnType !== d.returnType || prev.params.length !== d.params.length) {
      throw new GenerateError(`UAPI header: ${d.name} is documented twice with incompatible prototypes`);
    }
    const params = prev.params.map((p, i) => {
      const q = d.params[i]!;
      if (p === q) return p;
      const name = /(\w+)$/.exec(p)?.[1];
      if (!p.includes('*') || !q.includes('*') || name === undefined) {
        throw new GenerateError(
          `UAPI header: ${d.name} parameter ${i + 1} is "${p}" in one form, "${q}" in another`,
        );
      }
      return `void *${name}`;
    });
    merged.set(d.name, {
      ...prev,
      params,
      prototypes: [...prev.prototypes, d.prototype],
      doc: [...prev.doc, '', `(${d.prototype})`, ...d.doc],
    });
  }
  return [...merged.values()].map(({ prototypes, ...d }) => ({ ...d, prototype: prototypes.join('\n * ') }));
}

/**
 * Program contexts the documentation names by their kernel-internal type, and the UAPI type a BPF
 * program actually receives (the verifier rewrites accesses to the one into the other).
 */
const CONTEXT_TYPES: Readonly<Record<string, string>> = {
  sk_buff: '__sk_buff',
  xdp_buff: 'xdp_md',
  sk_msg_buff: 'sk_msg_md',
};

/** Kernel-internal type spelling → the UAPI spelling usable from BPF C. */
function toUapiType(decl: string): string {
  return decl
    .replace(/\bstruct (\w+)/g, (whole, tag: string) => {
      const uapi = CONTEXT_TYPES[tag];
      return uapi === undefined ? whole : `struct ${uapi}`;
    })
    .replace(/\bstruct bpf_map\s*\*/g, 'void *') // BTF-defined maps are anonymous structs
    .replace(/\b([us])(8|16|32|64)\b/g, '__$1$2')
    .replace(/\bsize_t\b/g, 'unsigned long'); // not in <linux/types.h>; 64-bit on BPF, as in the kernel
}

/** The aggregate types a declaration names, which must be declared at file scope first. */
function taggedTypes(decl: string): string[] {
  return [...decl.matchAll(/\b(struct|union|enum)\s+(\w+)/g)].map((m) => `${m[1]} ${m[2]}`);
}

/** Fails on any id/name disagreement between the header and the running kernel's BTF. */
function crossCheck(ids: Map<string, number>): string[] {
  const problems: string[] = [];
  const notes: string[] = [];
  for (const [name, id] of ids) {
    const kernelName = HELPER_NAMES[id];
    const kernelId = HELPER_NAMES.indexOf(name);
    if (kernelName === undefined && kernelId < 0) {
      notes.push(`helper ${id} bpf_${name} is in the UAPI header but not in the running kernel`);
    } else if (kernelName !== name) {
      problems.push(
        `helper id ${id}: UAPI header says bpf_${name}, kernel BTF says ` +
          (kernelName === undefined ? 'nothing' : `bpf_${kernelName}`) +
          (kernelId >= 0 ? ` (kernel has bpf_${name} as id ${kernelId})` : ''),
      );
    }
  }
  HELPER_NAMES.forEach((name, id) => {
    if (!ids.has(name))
      notes.push(`helper ${id} bpf_${name} is in the running kernel but not in the UAPI header`);
  });
  if (problems.length > 0) {
    throw new GenerateError(
      'helper ids disagree between the UAPI header and src/isa/helper-ids.ts ' +
        '(regenerate that with scripts/gen-helper-ids.sh, or pass a matching --header):\n  ' +
        problems.join('\n  '),
    );
  }
  return notes;
}

function render(header: string, ids: Map<string, number>, docs: HelperDoc[]): string {
  const byName = new Map(docs.map((d) => [d.name, d]));
  const missingDoc = [...ids.keys()].filter((n) => n !== 'unspec' && !byName.has(`bpf_${n}`));
  if (missingDoc.length > 0) {
    throw new GenerateError(`UAPI header: no prototype for ${missingDoc.map((n) => `bpf_${n}`).join(', ')}`);
  }
  const entries = docs
    .map((d) => {
      const id = ids.get(d.name.slice(4));
      if (id === undefined) throw new GenerateError(`UAPI header: ${d.name} is documented but has no id`);
      return { ...d, id };
    })
    .sort((a, b) => a.id - b.id);

  const tagged = new Set<string>();
  for (const e of entries) {
    for (const t of taggedTypes(toUapiType([e.returnType, ...e.params].join(', ')))) tagged.add(t);
  }
  const out: string[] = [];
  out.push('/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */');
  out.push('/*');
  out.push(' * GENERATED by scripts/gen-helper-defs.ts from the helper documentation and func mapper of');
  out.push(` * ${header}. Do not edit; regenerate with \`npx tsx scripts/gen-helper-defs.ts\`.`);
  out.push(' *');
  out.push(' * Each helper is a constant function pointer whose value is the helper id: clang turns a call');
  out.push(' * through it into `call ID`. Include <linux/types.h> or vmlinux.h before this file.');
  out.push(` * Helpers: ${entries.length}, ids ${entries[0]!.id}..${entries[entries.length - 1]!.id}.`);
  const undocumented = HELPER_NAMES.map((n, id) => ({ n, id })).filter(({ n, id }) => id > 0 && !ids.has(n));
  if (undocumented.length > 0) {
    out.push(
      ' * Known to the running kernel (src/isa/helper-ids.ts) but absent from this header, so not declared:',
    );
    out.push(` * ${undocumented.map(({ n, id }) => `bpf_${n} (${id})`).join(', ')}.`);
  }
  out.push(' */');
  out.push('#ifndef __TSBPF_BPF_HELPER_DEFS_H');
  out.push('#define __TSBPF_BPF_HELPER_DEFS_H');
  out.push('');
  out.push('/* Types the prototypes mention; declared here so they are not scoped to one prototype. */');
  for (const t of [...tagged].sort()) out.push(`${t};`);
  for (const e of entries) {
    const ret = toUapiType(e.returnType);
    const params = e.params.map(toUapiType).join(', ');
    const declarator = `${ret}${ret.endsWith('*') ? '' : ' '}(* const ${e.name})(${params})`;
    out.push('');
    out.push('/*');
    out.push(` * ${e.prototype}`);
    out.push(' *');
    for (const d of e.doc) out.push(d === '' ? ' *' : ` * ${d.replace(/\*\//g, '* /')}`);
    out.push(' */');
    out.push(`static ${declarator} = (void *) ${e.id};`);
  }
  out.push('');
  out.push('#endif /* __TSBPF_BPF_HELPER_DEFS_H */');
  out.push('');
  return out.join('\n');
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  const text = readFileSync(opts.header, 'utf8');
  const ids = parseMapper(text);
  const docs = mergeOverloads(parseHelperDocs(text));
  const notes = crossCheck(ids);
  const output = render(opts.header, ids, docs);
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
  if (opts.check) {
    let current = '';
    try {
      current = readFileSync(opts.out, 'utf8');
    } catch {}
    if (current !== output) {
      process.stderr.write(`${opts.out} is out of date; run npx tsx scripts/gen-helper-defs.ts\n`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(opts.out, output);
  process.stderr.write(`wrote ${opts.out}: ${docs.length} helpers\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`gen-helper-defs: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
