/**
 * The verifier corpus schema: one JSON case per line, the test-vector schema `tsbpf verify
 * CASES.jsonl` reads (`name`, `type`, `insns_hex`, `maps`, `flags`, `caps`) plus the kernel's
 * recorded verdict in `kernel`. Pure (no I/O): callers read and write the text.
 *
 * ```json
 * {"name":"rnd-root-17 xdp pkt-read","type":"xdp","insns_hex":"…","maps":[],"flags":0,"caps":"root",
 *  "category":"packet","kernel":{"accepted":false,"error":"invalid access to packet, off=0 size=4, R2(id=0,off=0,r=0)","insn":3,"insns_processed":4}}
 * ```
 */
import { encode, type Insn } from '../../isa/instruction.js';
import { MapType, type MapTypeName, ProgType, type ProgTypeName } from '../../uapi.js';
import type { Caps, VerifierMap } from '../types.js';
import type { KernelVerdict } from './kernel-log.js';

/** A map of a case, as the vectors schema writes it (`type` lowercase, snake_case sizes). */
export interface CorpusMap {
  readonly type: string;
  readonly key_size: number;
  readonly value_size: number;
  readonly max_entries: number;
  readonly flags?: number;
}

/** One line of a corpus file. */
export interface CorpusCase {
  readonly name: string;
  /** Program type, lowercase (`xdp`, `socket_filter`, `sched_cls`…). */
  readonly type: string;
  readonly insns_hex: string;
  readonly maps: readonly CorpusMap[];
  /** `prog_flags`. */
  readonly flags?: number;
  readonly caps?: Caps;
  /** What the case exercises (generator category or hand-written family). */
  readonly category?: string;
  /** The assembly it was built from (for people reading a disagreement). */
  readonly asm?: string;
  /** The kernel's verdict when the case was recorded. */
  readonly kernel?: KernelVerdict;
}

/** A case in the verifier's terms. */
export interface DecodedCase {
  readonly name: string;
  readonly progType: ProgTypeName;
  readonly insns: Uint8Array;
  readonly maps: readonly VerifierMap[];
  readonly flags: number;
  readonly caps: Caps;
}

export const toHex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A {@link VerifierMap} as a corpus map. */
export function corpusMap(map: VerifierMap): CorpusMap {
  return {
    type: map.type.toLowerCase(),
    key_size: map.keySize,
    value_size: map.valueSize,
    max_entries: map.maxEntries,
    flags: map.flags,
  };
}

/** A corpus map as a {@link VerifierMap}; throws on an unknown type. */
export function verifierMap(map: CorpusMap): VerifierMap {
  const type = map.type.toUpperCase() as MapTypeName;
  if (!(type in MapType)) throw new Error(`unknown map type '${map.type}'`);
  return {
    type,
    keySize: map.key_size,
    valueSize: map.value_size,
    maxEntries: map.max_entries,
    flags: map.flags ?? 0,
  };
}

const TYPE_ALIASES: Readonly<Record<string, ProgTypeName>> = { tc: 'SCHED_CLS', socket: 'SOCKET_FILTER' };

/** A corpus case decoded for the verifier (or the kernel); throws on a malformed case. */
export function decodeCase(c: CorpusCase, defaultCaps: Caps = 'root'): DecodedCase {
  const progType = (TYPE_ALIASES[c.type] ?? c.type.toUpperCase()) as ProgTypeName;
  if (!(progType in ProgType)) throw new Error(`${c.name}: unknown program type '${c.type}'`);
  const insns = fromHex(c.insns_hex);
  if (insns.length === 0 || insns.length % 8 !== 0)
    throw new Error(`${c.name}: insns_hex is not whole instructions`);
  return {
    name: c.name,
    progType,
    insns,
    maps: c.maps.map(verifierMap),
    flags: c.flags ?? 0,
    caps: c.caps ?? defaultCaps,
  };
}

/** Build a corpus case from instructions. */
export function makeCase(fields: {
  name: string;
  type: ProgTypeName;
  /** Instructions, or their bytes (for encodings no assembler writes). */
  insns: readonly Insn[] | Uint8Array;
  maps: readonly VerifierMap[];
  flags?: number;
  caps: Caps;
  category: string;
  asm?: string;
}): CorpusCase {
  return {
    name: fields.name,
    type: fields.type.toLowerCase(),
    insns_hex: toHex(fields.insns instanceof Uint8Array ? fields.insns : encode(fields.insns)),
    maps: fields.maps.map(corpusMap),
    flags: fields.flags ?? 0,
    caps: fields.caps,
    category: fields.category,
    ...(fields.asm !== undefined ? { asm: fields.asm } : {}),
  };
}

/** Parse a JSONL corpus (blank and `#` lines skipped). */
export function parseCorpus(text: string): CorpusCase[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => JSON.parse(line) as CorpusCase);
}

/** Write a JSONL corpus. */
export function formatCorpus(cases: readonly CorpusCase[]): string {
  return cases.map((c) => JSON.stringify(c)).join('\n') + (cases.length ? '\n' : '');
}
