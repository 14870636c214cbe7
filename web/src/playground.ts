/**
 * The playground's logic, without the DOM: an object's program as editable assembly (labels for
 * jump targets, C source lines as comments) and back, verification, test runs over packets, map
 * contents, and the shareable state in the URL fragment. Everything here runs on the public API
 * (`src/index.ts`) alone, so the page needs nothing outside the browser.
 */
import {
  AttachType,
  assemble,
  assembleConformance,
  type BpfMap,
  type BtfValue,
  btfCodec,
  type Caps,
  enumName,
  formatInsn,
  type Insn,
  isPerCpu,
  jitFor,
  jumpTarget,
  loadObjectSpec,
  type ObjectSpec,
  type ProgramSpec,
  type ProgTypeName,
  readCapture,
  type SourceLine,
  sumBtfValues,
  type VerifierInput,
  type VerifierResult,
  Vm,
  type VmProgram,
  verifierInputOf,
  verify,
} from '../../src/index.js';

/** The program types the page can test-run on packets, with the names users know them by. */
export const PACKET_TYPES: ReadonlyArray<{ readonly type: ProgTypeName; readonly label: string }> = [
  { type: 'XDP', label: 'xdp' },
  { type: 'SCHED_CLS', label: 'tc (sched_cls)' },
  { type: 'SOCKET_FILTER', label: 'socket filter' },
  { type: 'CGROUP_SKB', label: 'cgroup_skb' },
];

// ---------------------------------------------------------------------------------------------
// Program ↔ editable assembly.

/** A source-line comment: `; ./file.bpf.c:51:19  text`. */
const SOURCE_COMMENT = /^\s*;\s*([^\s:]+):(\d+):(\d+) {2}(.*)$/;

/** The slots jumps and bpf-to-bpf calls land on. */
function targetsOf(insns: readonly Insn[]): Map<number, number> {
  const targets = new Map<number, number>();
  for (const insn of insns) {
    const target = insn.kind === 'call' && insn.src === 1 ? insn.slot + 1 + insn.imm : jumpTarget(insn);
    if (target !== undefined) targets.set(insn.slot, target);
  }
  return targets;
}

/**
 * A program as LLVM-syntax assembly a person can edit: jump and call targets become labels (so
 * deleting a line keeps the other jumps right), and each change of C source line (BTF.ext) is a
 * `; file:line:col  text` comment, which {@link assembleSource} reads back as line info.
 */
export function programListing(program: Pick<ProgramSpec, 'insns' | 'lines' | 'name'>): string {
  const targets = targetsOf(program.insns);
  const labelled = new Set(targets.values());
  const out: string[] = [];
  let previous: SourceLine | undefined;
  for (const [index, insn] of program.insns.entries()) {
    if (labelled.has(insn.slot)) out.push(`L${insn.slot}:`);
    const line = program.lines[index];
    if (line && (line.file !== previous?.file || line.line !== previous.line)) {
      out.push(`; ${line.file}:${line.line}:${line.column}  ${line.text.trim()}`);
    }
    if (line) previous = line;
    let text = formatInsn(insn, { lossless: true });
    const target = targets.get(insn.slot);
    if (target !== undefined) text = text.replace(/ (?:pc)?[+-]0x[0-9a-f]+$/, ` L${target}`);
    out.push(`\t${text}`);
  }
  // Labels past the last instruction (a jump to the end) would not assemble; keep them visible.
  for (const slot of labelled) {
    const last = program.insns.at(-1);
    if (last && slot > last.slot) out.push(`L${slot}:`);
  }
  return `${out.join('\n')}\n`;
}

/** Which assembler a source is written for: the conformance dialect writes registers as `%rN`. */
export function detectSyntax(source: string): 'llvm' | 'conformance' {
  return /%r\d/.test(source) ? 'conformance' : 'llvm';
}

/** The editor line of the `; file:line` comment an instruction's source line came from (0: none). */
export function sourceCommentLine(source: string, editorLine: number): number {
  const lines = source.split(/\r?\n/);
  for (let i = editorLine - 2; i >= 0; i--) if (SOURCE_COMMENT.test(lines[i])) return i + 1;
  return 0;
}

/** Assembled editor text: the instructions, their C source lines and their editor lines. */
export interface AssembledSource {
  readonly insns: Insn[];
  readonly syntax: 'llvm' | 'conformance';
  /** Per instruction: the C source line of the last `; file:line:col  text` comment above it. */
  readonly lines: Array<SourceLine | undefined>;
  /** Per instruction: its 1-based line in the editor (empty when the lines could not be matched). */
  readonly editorLines: number[];
}

/** Whether an editor line holds an instruction: not blank, not a comment, label or directive. */
function instructionText(line: string, syntax: 'llvm' | 'conformance'): string {
  let text = syntax === 'conformance' ? line.replace(/#.*$/, '') : line.replace(/(\/\/|;|(^|\s)#).*$/, '');
  text = text.replace(/^\s*([A-Za-z_.$][\w.$]*:\s*)+/, '').trim();
  return text.startsWith('.') ? '' : text;
}

/** Assemble the editor's text (throws the assembler's `AssemblyError`, with line and column). */
export function assembleSource(source: string): AssembledSource {
  const syntax = detectSyntax(source);
  const insns = syntax === 'conformance' ? assembleConformance(source) : assemble(source);
  const lines: Array<SourceLine | undefined> = [];
  const editorLines: number[] = [];
  let current: SourceLine | undefined;
  for (const [index, text] of source.split(/\r?\n/).entries()) {
    const comment = SOURCE_COMMENT.exec(text);
    if (comment) {
      current = { file: comment[1], line: Number(comment[2]), column: Number(comment[3]), text: comment[4] };
      continue;
    }
    if (instructionText(text, syntax) === '') continue;
    lines.push(current);
    editorLines.push(index + 1);
  }
  // Every instruction is one line in both dialects; if the count differs, do not guess.
  const matched = editorLines.length === insns.length;
  return { insns, syntax, lines: matched ? lines : [], editorLines: matched ? editorLines : [] };
}

// ---------------------------------------------------------------------------------------------
// The program under test: editor text plus, when it came from an object, that object's context.

/** An object file opened in the page. */
export interface OpenObject {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly spec: ObjectSpec;
}

/** Parse an object file (throws the loader's typed errors). */
export function openObject(name: string, bytes: Uint8Array): OpenObject {
  return { name, bytes, spec: loadObjectSpec(bytes) };
}

/** What the page verifies and runs. */
export interface Subject {
  readonly source: string;
  readonly type: ProgTypeName;
  /** The object and program the source came from: its maps, BTF and licence apply. */
  readonly object?: OpenObject;
  readonly program?: string;
  /** Who loads it (default root): `bpf` is CAP_BPF without CAP_PERFMON, `unpriv` no capability. */
  readonly caps?: Caps;
}

/** The program spec with the edited instructions; func_info re-pointed at the new call targets. */
function editedProgram(base: ProgramSpec, assembled: AssembledSource): ProgramSpec {
  const insns = assembled.insns;
  let funcInfo = base.funcInfo;
  if (funcInfo.length > 0) {
    // Entry 0 is the program; the others are its subprograms in slot order, which edits keep,
    // so the i-th call target keeps the i-th subprogram's type.
    const calls = insns.filter((i) => i.kind === 'call' && i.src === 1);
    const entries = [...new Set(calls.map((i) => i.slot + 1 + i.imm))].sort((a, b) => a - b);
    funcInfo =
      entries.length === funcInfo.length - 1
        ? [funcInfo[0], ...entries.map((slot, i) => ({ slot, typeId: funcInfo[i + 1].typeId }))]
        : [funcInfo[0]];
  }
  return { ...base, insns, lines: assembled.lines, funcInfo };
}

/** The object's program a subject names. */
export function programOf(subject: Subject): ProgramSpec | undefined {
  return subject.object?.spec.programs.find((p) => p.name === subject.program);
}

/** The verdict and where its error is in the editor. */
export interface Verdict {
  readonly result: VerifierResult;
  readonly assembled: AssembledSource;
  /** 1-based editor line of the failing instruction, when known. */
  readonly errorLine?: number;
  /** The failing instruction in the kernel's notation. */
  readonly errorInsn?: string;
  readonly elapsedMs: number;
}

/**
 * The most processed instructions the playground writes a level-2 log for. The log holds every
 * processed instruction with its state: past this it takes seconds and hundreds of MB in a tab
 * (1,000,000, the complexity limit, took 14 s and 1.6 GB here), so the page says so instead.
 */
export const LOG_INSNS_LIMIT = 100_000;

/** Why the playground writes no log for this verdict, or undefined when it does. */
export function logSkipped(result: VerifierResult): string | undefined {
  if (result.insnsProcessed <= LOG_INSNS_LIMIT) return undefined;
  return `(no log: the verifier processed ${result.insnsProcessed} instructions, more than the ${LOG_INSNS_LIMIT} this page writes a level-2 log for; tsbpf verify FILE.o --log-level 2 writes it)`;
}

/**
 * Verify the subject with tsbpf's verifier (Linux 6.18's rules). Log level 2 (the default) also
 * writes the kernel-format log the step view reads; level 0 gives the verdict alone, faster.
 */
export function verifySubject(subject: Subject, logLevel: 0 | 2 = 2): Verdict {
  const started = performance.now();
  const assembled = assembleSource(subject.source);
  const base = programOf(subject);
  const fromObject =
    base && subject.object
      ? verifierInputOf(subject.object.spec, editedProgram(base, assembled), {
          logLevel,
          caps: subject.caps,
        })
      : undefined;
  // verifierInputOf leaves out the section's expected attach type (cgroup_skb/egress needs it).
  const attach = base?.sectionInfo?.attachType;
  const expectedAttachType = attach === undefined ? undefined : enumName(AttachType, attach);
  const input: VerifierInput = fromObject
    ? { ...fromObject, progType: subject.type, ...(expectedAttachType ? { expectedAttachType } : {}) }
    : {
        insns: assembled.insns,
        progType: subject.type,
        lines: assembled.lines,
        logLevel,
        caps: subject.caps,
      };
  const result = verify(input);
  const index = result.error?.insn;
  const insn = index === undefined ? undefined : assembled.insns[index];
  return {
    result,
    assembled,
    ...(index !== undefined && assembled.editorLines[index]
      ? { errorLine: assembled.editorLines[index] }
      : {}),
    ...(insn ? { errorInsn: formatInsn(insn, { flavor: 'verifier' }) } : {}),
    elapsedMs: performance.now() - started,
  };
}

// ---------------------------------------------------------------------------------------------
// Test runs.

/** One packet's run. */
export interface PacketResult {
  readonly index: number;
  /** Mean time of one run of the program on this packet (`BPF_PROG_TEST_RUN`'s duration). */
  readonly durationNs?: number;
  readonly data: Uint8Array;
  readonly retval?: number;
  readonly verdict?: string;
  readonly dataOut?: Uint8Array;
  readonly insnsExecuted?: number;
  readonly trace: readonly string[];
  readonly error?: string;
}

/** A map after the runs: its entries as text, values decoded through BTF when it has them. */
export interface MapDump {
  readonly name: string;
  readonly type: string;
  readonly entries: ReadonlyArray<{ readonly key: string; readonly value: string }>;
  /** Entries not shown (all-zero values, or past the first 64). */
  readonly hidden: number;
  /** A global data section: each entry is a variable (key: its name). */
  readonly globals: boolean;
}

export interface RunReport {
  readonly program: string;
  /** The maps as loaded, before the first run (globals hold their initial values). */
  readonly mapsBefore: readonly MapDump[];
  readonly type: ProgTypeName;
  readonly engine: 'jit' | 'interpreter';
  readonly packets: readonly PacketResult[];
  readonly maps: readonly MapDump[];
  /** Wall time of all the test runs (not the load), in milliseconds. */
  readonly elapsedMs: number;
  /** Wall time of the first packet's runs alone. */
  readonly firstMs: number;
  /** Time to compile the program to WebAssembly (JIT), before the runs; undefined when it was not. */
  readonly compileMs: number | undefined;
  /** Runs per packet (`repeat`). */
  readonly repeat: number;
  readonly insnsExecuted: number;
}

/** Verdict names of the packet program types. */
const VERDICTS: Partial<Record<ProgTypeName, Record<number, string>>> = {
  XDP: { 0: 'XDP_ABORTED', 1: 'XDP_DROP', 2: 'XDP_PASS', 3: 'XDP_TX', 4: 'XDP_REDIRECT' },
  SCHED_CLS: {
    0: 'TC_ACT_OK',
    1: 'TC_ACT_RECLASSIFY',
    2: 'TC_ACT_SHOT',
    3: 'TC_ACT_PIPE',
    4: 'TC_ACT_STOLEN',
    5: 'TC_ACT_QUEUED',
    6: 'TC_ACT_REPEAT',
    7: 'TC_ACT_REDIRECT',
    4294967295: 'TC_ACT_UNSPEC',
  },
};

/** What a return value means for a program type: `XDP_PASS`, `keep 64 bytes`, or the number. */
export function verdictName(type: ProgTypeName, retval: number): string {
  if (type === 'SOCKET_FILTER') return retval === 0 ? 'drop' : `keep ${retval >>> 0} bytes`;
  if (type === 'CGROUP_SKB') return (retval & 1) === 0 ? 'drop' : 'allow';
  return VERDICTS[type]?.[retval >>> 0] ?? String(retval >>> 0);
}

/** Packets from text: one packet per line, hex digits (spaces, colons and `0x` ignored). */
export function parsePackets(text: string): Uint8Array[] {
  const packets: Uint8Array[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const hex = raw
      .replace(/#.*$/, '')
      .replace(/0x/gi, '')
      .replace(/[\s:,]/g, '');
    if (hex === '') continue;
    if (!/^[0-9a-f]*$/i.test(hex) || hex.length % 2 !== 0)
      throw new Error(`packet ${index + 1}: not an even number of hex digits`);
    packets.push(Uint8Array.from(hex.match(/../g) ?? [], (byte) => Number.parseInt(byte, 16)));
  }
  return packets;
}

/** The packets of a pcap or pcapng capture. */
export function capturePackets(bytes: Uint8Array): Uint8Array[] {
  return readCapture(bytes).packets.map((p) => p.data);
}

export const toHex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** Run the subject over packets on a fresh VM with the object's maps. */
export function runSubject(
  subject: Subject,
  packets: readonly Uint8Array[],
  engine: 'jit' | 'interpreter',
  repeat = 1,
): RunReport {
  const assembled = assembleSource(subject.source);
  const vm = new Vm({ engine });
  let program: VmProgram;
  const spec = subject.object?.spec;
  const loaded = spec ? vm.loadObject(spec) : undefined;
  if (loaded && spec) {
    const fdArray = spec.maps.map((m) => loaded.vmMaps.get(m.name)!);
    program = vm.loadProgram({ type: subject.type, insns: assembled.insns, name: subject.program, fdArray });
  } else {
    program = vm.loadProgram({ type: subject.type, insns: assembled.insns, name: 'prog' });
  }
  const mapsBefore = loaded && spec ? dumpMaps(loaded.maps, spec) : [];
  // Compile before the clock starts; undefined when the engine compiles later (asynchronously, when a
  // browser refuses a large synchronous compile) or cannot (the interpreter runs meanwhile).
  let compileMs: number | undefined;
  if (vm.engine === 'jit') {
    const before = performance.now();
    compileMs = jitFor(program.compiled, vm.memory) ? performance.now() - before : undefined;
  }
  const results: PacketResult[] = [];
  let insnsExecuted = 0;
  const started = performance.now();
  let firstMs = 0;
  for (const [index, data] of packets.entries()) {
    if (index === 1) firstMs = performance.now() - started;
    try {
      const run = vm.testRun(program, { data, repeat });
      insnsExecuted += run.insnsExecuted;
      results.push({
        index,
        data,
        retval: run.retval,
        verdict: verdictName(subject.type, run.retval),
        dataOut: run.dataOut,
        insnsExecuted: run.insnsExecuted,
        durationNs: run.durationNs,
        trace: run.trace,
      });
    } catch (error) {
      results.push({ index, data, trace: [], error: (error as Error).message });
    }
  }
  const elapsedMs = performance.now() - started;
  if (packets.length === 1) firstMs = elapsedMs;
  const maps = loaded && spec ? dumpMaps(loaded.maps, spec) : [];
  return {
    program: program.name,
    mapsBefore,
    type: subject.type,
    engine: vm.engine,
    packets: results,
    maps,
    elapsedMs,
    firstMs,
    compileMs,
    repeat,
    insnsExecuted,
  };
}

/** Little-endian unsigned value of up to 8 bytes. */
function unsigned(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = Math.min(bytes.length, 8) - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  return value;
}

/** A decoded value as C-ish text: `{ packets: 3, bytes: 179 }`. */
export function showValue(value: BtfValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(showValue).join(', ')}]`;
  if (typeof value === 'object')
    return `{ ${Object.entries(value)
      .map(([k, v]) => `${k}: ${showValue(v)}`)
      .join(', ')} }`;
  return String(value);
}

const MAX_SHOWN = 64;

function dumpMaps(maps: ReadonlyMap<string, BpfMap>, spec: ObjectSpec): MapDump[] {
  return [...maps]
    .map(([name, map]) => dumpMap(name, map, spec))
    .filter((m): m is MapDump => m !== undefined);
}

/** An object's maps as loaded: global variables with their initial values, maps empty or as declared. */
export function objectMaps(spec: ObjectSpec): MapDump[] {
  const vm = new Vm({ engine: 'interpreter' });
  return dumpMaps(vm.loadObject(spec).maps, spec);
}

/** A map's entries before and after the runs, key by key, with those the runs changed marked. */
export interface MapChange {
  readonly key: string;
  readonly before?: string;
  readonly after?: string;
  readonly changed: boolean;
}

/** Pair a map's dump before the runs with its dump after. */
export function mapChanges(before: MapDump | undefined, after: MapDump): MapChange[] {
  const was = new Map((before?.entries ?? []).map((e) => [e.key, e.value]));
  const rows: MapChange[] = [];
  for (const e of after.entries) {
    const old = was.get(e.key);
    rows.push({
      key: e.key,
      ...(old === undefined ? {} : { before: old }),
      after: e.value,
      changed: old !== e.value,
    });
    was.delete(e.key);
  }
  // Entries the runs deleted (or zeroed: dumps leave zero values out).
  for (const [key, value] of was) rows.push({ key, before: value, changed: true });
  return rows;
}

function dumpMap(name: string, map: BpfMap, spec: ObjectSpec): MapDump | undefined {
  const type = map.spec.type;
  if (type === 'PROG_ARRAY' || type === 'RINGBUF' || type === 'PERF_EVENT_ARRAY') return undefined;
  const btf = spec.btf;
  const objectMap = spec.maps.find((m) => m.name === name);
  const keyCodec = btf && map.spec.btfKeyTypeId ? btfCodec(btf, map.spec.btfKeyTypeId) : undefined;
  const valueTypeId = map.spec.btfValueTypeId ?? objectMap?.btfValueTypeId;
  const valueCodec = btf && valueTypeId ? btfCodec(btf, valueTypeId) : undefined;
  const entries: Array<{ key: string; value: string }> = [];
  let hidden = 0;
  // A global data section (.data, .rodata, .bss): one entry, shown variable by variable.
  if (btf && objectMap?.origin === 'data' && objectMap.variables?.length) {
    const bytes = map.get(new Uint8Array(map.spec.keySize)) as Uint8Array | undefined;
    if (!bytes) return { name, type, entries, hidden, globals: true };
    for (const v of objectMap.variables) {
      // The variable's id names a VAR; its value has the VAR's type.
      const t = btf.typeById(v.typeId);
      const typeId = t.kind === 'var' ? t.typeId : v.typeId;
      const value = safeShow(() => btfCodec(btf, typeId).decode(bytes.subarray(v.offset, v.offset + v.size)));
      entries.push({ key: v.name, value: value ?? toHex(bytes.subarray(v.offset, v.offset + v.size)) });
    }
    return { name, type: `${type}, global variables`, entries, hidden, globals: true };
  }
  for (const [key, value] of map.entries() as Iterable<[Uint8Array, Uint8Array | Uint8Array[]]>) {
    const list = Array.isArray(value) ? value : [value];
    if (list.every((v) => v.every((b) => b === 0)) || entries.length >= MAX_SHOWN) {
      hidden++;
      continue;
    }
    const keyText = keyCodec
      ? safeShow(() => keyCodec.decode(key))
      : key.length <= 8
        ? String(unsigned(key))
        : toHex(key);
    let valueText: string | undefined;
    if (valueCodec) valueText = safeShow(() => sumBtfValues(list.map((v) => valueCodec.decode(v))));
    else if (list[0].length <= 8) valueText = String(list.reduce((s, v) => s + unsigned(v), 0n));
    else valueText = toHex(list[0]);
    entries.push({ key: keyText ?? toHex(key), value: valueText ?? toHex(list[0]) });
  }
  return {
    name,
    type: `${type}${isPerCpu(type) ? ', summed over CPUs' : ''}`,
    entries,
    hidden,
    globals: false,
  };
}

function safeShow(decode: () => BtfValue): string | undefined {
  try {
    return showValue(decode());
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The verifier log, step by step.

/**
 * The level-2 log the step view walks for a verdict of tsbpf's verifier. Today its log prints
 * the instructions and the states at branch points; once the verifier writes the kernel's full
 * level-2 log (registers after every instruction), the same `result.log` carries them: this is
 * the one place to change if the trace ever comes from elsewhere.
 */
export function verifierTrace(result: VerifierResult): string {
  return result.log;
}

/**
 * Whether a (pasted) log is about these instructions: at least 80% of the distinct instructions it
 * stepped print as the log prints them (map addresses and edits account for the rest), so the
 * page can mark the steps' lines in the editor.
 */
export function logMatchesProgram(
  steps: ReadonlyArray<{ insn: number; text: string }>,
  insns: readonly Insn[],
): boolean {
  const bySlot = new Map(insns.map((i) => [i.slot, i]));
  const seen = new Map<number, string>();
  for (const step of steps) seen.set(step.insn, step.text);
  if (seen.size === 0) return false;
  let same = 0;
  for (const [slot, text] of seen) {
    const insn = bySlot.get(slot);
    if (insn && formatInsn(insn, { flavor: 'verifier' }) === text) same++;
  }
  return same >= 0.8 * seen.size;
}

// ---------------------------------------------------------------------------------------------
// Shareable state: the URL fragment.

/** What a link carries: enough to rebuild the page; nothing is sent anywhere. */
export interface ShareState {
  readonly source: string;
  readonly type: ProgTypeName;
  /** A bundled example's file name, or the object's bytes (base64) when the user opened one. */
  readonly example?: string;
  readonly objectName?: string;
  readonly objectBase64?: string;
  readonly program?: string;
  readonly packets: string;
  readonly input: 'hex' | 'sample';
  readonly engine: 'jit' | 'interpreter' | 'both';
  readonly caps?: Caps;
  readonly repeat?: number;
  /** The selected step of the verifier's walk (the page verifies on opening the link). */
  readonly step?: number;
  /** A kernel verifier log pasted in, stepped instead of tsbpf's own. */
  readonly kernelLog?: string;
}

function base64url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(text: string): Uint8Array {
  const plain = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(plain, (c) => c.charCodeAt(0));
}

async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const out = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

/** The state as a URL fragment: `#s=` + deflated JSON in base64url. */
export async function encodeState(state: ShareState): Promise<string> {
  const json = new TextEncoder().encode(JSON.stringify(state));
  return `#s=${base64url(await pipe(json, new CompressionStream('deflate-raw')))}`;
}

/** The state from a URL fragment, or undefined when there is none (or it is damaged). */
export async function decodeState(hash: string): Promise<ShareState | undefined> {
  const m = /^#s=([\w-]+)$/.exec(hash);
  if (!m) return undefined;
  try {
    const json = await pipe(fromBase64url(m[1]), new DecompressionStream('deflate-raw'));
    const state = JSON.parse(new TextDecoder().decode(json)) as ShareState;
    return typeof state.source === 'string' ? state : undefined;
  } catch {
    return undefined;
  }
}

export { base64url, fromBase64url };
