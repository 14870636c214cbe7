/**
 * Regenerates the goldens of the BTF-pointer verifier tests (src/verifier/btf-access.test.ts) from
 * the running kernel (root, Linux 6.18 when they were measured):
 *
 *   sudo npx tsx scripts/btf-ptr-golden.ts
 *
 * - testdata/verifier/btf-ptr/vmlinux-subset.btf: the kernel's BTF cut down to what the test
 *   programs walk (their structs in full, the structs embedded in them, the `__safe_*` lists, the
 *   tracepoint prototypes), other structs pointed to kept hollow (name and size only), so the
 *   pure tests verify with this kernel's layouts on any machine;
 * - testdata/verifier/btf-ptr/verdicts.json: the kernel's verdict for every program of the
 *   test objects (`ok N` or its first error line).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadObject, vmlinuxBtf } from '../src/kernel/load/object.js';
import { errorLineOf } from '../src/kernel/load/verifier-oracle.js';
import { VerifierError } from '../src/kernel/sys/errors.js';
import { Btf, type BtfType, writeBtf } from '../src/object/btf.js';
import { loadObjectSpec } from '../src/object/object.js';

const dir = fileURLToPath(new URL('../testdata/verifier/btf-ptr/', import.meta.url));

/** The test objects (built by build.sh from their .c). */
const OBJECTS = ['btf_ptr.bpf.o', 'btf_ptr_nongpl.bpf.o'];

/** Structs the test programs read members of: kept whole wherever they are reached. */
const FULL = ['task_struct', 'mm_struct', 'css_set', 'sk_buff', 'sock', 'sock_common', 'net_device'];
/** Tracepoint prototypes the tp_btf programs attach to. */
const ROOTS = ['btf_trace_sched_switch', 'btf_trace_kfree_skb'];

/** The subset of `btf` the tests need, renumbered, with its own string table. */
function subset(btf: Btf): Btf {
  const full = new Set(FULL);
  const kept = new Map<number, 'full' | 'hollow' | 'plain'>();
  const work: [number, boolean][] = [];
  for (const t of btf.types) {
    if ((t.kind === 'struct' || t.kind === 'union') && (full.has(t.name) || t.name.includes('__safe_')))
      work.push([t.id, false]);
    if (t.kind === 'typedef' && ROOTS.includes(t.name)) work.push([t.id, false]);
  }
  while (work.length) {
    const [id, viaPtr] = work.pop()!;
    if (id === 0) continue;
    const t = btf.typeById(id) as BtfType;
    switch (t.kind) {
      case 'struct':
      case 'union': {
        const want = !viaPtr || full.has(t.name) ? 'full' : 'hollow';
        const had = kept.get(id);
        if (had === 'full' || had === want) break;
        kept.set(id, want);
        if (want === 'full') for (const m of t.members) work.push([m.typeId, false]);
        break;
      }
      case 'ptr':
        if (!kept.has(id)) {
          kept.set(id, 'plain');
          work.push([t.typeId, true]);
        }
        break;
      case 'typedef':
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        if (!kept.has(id) || !viaPtr) {
          kept.set(id, 'plain');
          work.push([t.typeId, viaPtr]);
        }
        break;
      case 'array':
        if (!kept.has(id)) {
          kept.set(id, 'plain');
          work.push([t.typeId, false], [t.indexTypeId, false]);
        }
        break;
      case 'func_proto':
        if (!kept.has(id)) {
          kept.set(id, 'plain');
          work.push([t.returnTypeId, false], ...t.params.map((p): [number, boolean] => [p.typeId, false]));
        }
        break;
      case 'func':
        if (!kept.has(id)) {
          kept.set(id, 'plain');
          work.push([t.typeId, false]);
        }
        break;
      default:
        kept.set(id, 'plain');
    }
  }
  const ids = [...kept.keys()].sort((a, b) => a - b);
  const newId = new Map<number, number>([[0, 0]]);
  for (const [i, id] of ids.entries()) newId.set(id, i + 1);
  const ref = (id: number) => newId.get(id) ?? 0;
  const strings: number[] = [0];
  const offsets = new Map<string, number>([['', 0]]);
  const str = (s: string) => {
    let off = offsets.get(s);
    if (off === undefined) {
      off = strings.length;
      offsets.set(s, off);
      strings.push(...new TextEncoder().encode(s), 0);
    }
    return off;
  };
  const types = ids.map((id): BtfType => {
    const t = btf.typeById(id) as BtfType;
    const base = { id: ref(id), name: t.name, nameOff: str(t.name) };
    switch (t.kind) {
      case 'struct':
      case 'union':
        return {
          ...t,
          ...base,
          members:
            kept.get(id) === 'hollow'
              ? []
              : t.members.map((m) => ({ ...m, nameOff: str(m.name), typeId: ref(m.typeId) })),
        };
      case 'ptr':
      case 'typedef':
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
      case 'func':
        return { ...t, ...base, typeId: ref(t.typeId) };
      case 'array':
        return { ...t, ...base, typeId: ref(t.typeId), indexTypeId: ref(t.indexTypeId) };
      case 'func_proto':
        return {
          ...t,
          ...base,
          returnTypeId: ref(t.returnTypeId),
          params: t.params.map((p) => ({ ...p, nameOff: str(p.name), typeId: ref(p.typeId) })),
        };
      case 'enum':
        return { ...t, ...base, values: t.values.map((v) => ({ ...v, nameOff: str(v.name) })) };
      case 'enum64':
        return { ...t, ...base, values: t.values.map((v) => ({ ...v, nameOff: str(v.name) })) };
      default:
        return { ...t, ...base } as BtfType;
    }
  });
  return new Btf({ strings: new Uint8Array(strings), types });
}

const kernelBtf = vmlinuxBtf();
const small = subset(kernelBtf);
writeFileSync(`${dir}vmlinux-subset.btf`, writeBtf(small));
process.stdout.write(`vmlinux-subset.btf: ${small.types.length} of ${kernelBtf.types.length} types\n`);

const verdicts: Record<string, Record<string, string>> = {};
for (const object of OBJECTS) {
  const spec = loadObjectSpec(new Uint8Array(readFileSync(`${dir}${object}`)));
  const kernel = loadObject(spec);
  const own: Record<string, string> = {};
  try {
    for (const p of spec.programs) {
      const k = kernel.programs.get(p.name)!;
      own[p.name] = k.program
        ? `ok ${k.insnsProcessed}`
        : k.error instanceof VerifierError
          ? errorLineOf(k.error.log)
          : `not loaded: ${k.error?.message}`;
    }
  } finally {
    kernel.close();
  }
  verdicts[object] = own;
  process.stdout.write(`${object}: ${Object.keys(own).length} programs\n`);
}
writeFileSync(`${dir}verdicts.json`, `${JSON.stringify(verdicts, null, 2)}\n`);
