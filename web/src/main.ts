/**
 * The playground page: wires the editor, the object panel, the verifier and the runner to the
 * DOM. The logic lives in `playground.ts`; this file only reads inputs and draws results.
 */
import type { EditorView } from '@codemirror/view';
import { AssemblyError, dumpBtfC, type ProgTypeName, programType, TsbpfError } from '../../src/index.js';
import { type BtfTypeDetail, btfTypeDetail, btfTypeRows } from './btf-browser.js';
import { createEditor, markLines, setText } from './editor.js';
import { type LogStep, parseVerifierLog } from './log-parse.js';
import {
  type AssembledSource,
  assembleSource,
  base64url,
  capturePackets,
  decodeState,
  encodeState,
  fromBase64url,
  logMatchesProgram,
  logSkipped,
  type MapDump,
  mapChanges,
  type OpenObject,
  objectMaps,
  openObject,
  PACKET_TYPES,
  parsePackets,
  programListing,
  type RunReport,
  runSubject,
  type ShareState,
  type Subject,
  sourceCommentLine,
  toHex,
  type Verdict,
  verifierTrace,
  verifySubject,
} from './playground.js';
import { StepView } from './step-view.js';

/** Bumped by each verification and each reset, so that a log still due for an older one is dropped. */
let verification = 0;

/** The example objects copied next to the page by the build (file names in `examples/`). */
declare const TSBPF_EXAMPLES: readonly string[];

const DEFAULT_PACKETS = `# TCP SYN 10.0.0.1:12345 → 10.0.0.2:80
00000000000100000000000208004500002800010000400600000a0000010a000002303900500000000000000000500200ff00000000
# UDP
00000000000000000000000008004500001400000000401100000000000000000000
`;

const DEFAULT_SOURCE = `; Write eBPF assembly (LLVM syntax, or the bpf_conformance dialect with %r registers),
; or pick an example / open a .o file above. This XDP program passes every packet.
\tr0 = 2
\texit
`;

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

/** Build an element: `h('td', { class: 'hex' }, 'text', child)`. */
function h(tag: string, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElement {
  const element = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) element.setAttribute(k, v);
  element.append(...children);
  return element;
}

interface PageState {
  object?: OpenObject;
  /** Bundled example file name the object came from. */
  example?: string;
  program?: string;
  type: ProgTypeName;
  /** Whose log the step view shows: tsbpf's verdict on the editor's program, or a pasted kernel log. */
  logOrigin?: 'tsbpf' | 'kernel';
  /** The editor's program, when a pasted kernel log is about it. */
  pastedOn?: AssembledSource;
  verdict?: Verdict;
}

const state: PageState = { type: 'XDP' };
let editor: EditorView;
let stepView: StepView;

function subject(): Subject {
  return {
    source: editor.state.doc.toString(),
    type: state.type,
    caps: $<HTMLSelectElement>('caps').value as 'root' | 'bpf' | 'unpriv',
    ...(state.object ? { object: state.object, program: state.program } : {}),
  };
}

function describe(error: unknown): string {
  if (error instanceof AssemblyError)
    return `line ${error.location.line}, column ${error.location.column}: ${error.reason}\n  ${error.sourceLine}`;
  return error instanceof TsbpfError || error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// Program type and object panel.

function fillTypes(extra?: ProgTypeName): void {
  const select = $<HTMLSelectElement>('type');
  const options = [...PACKET_TYPES];
  if (extra && !options.some((o) => o.type === extra))
    options.push({ type: extra, label: extra.toLowerCase() });
  select.replaceChildren(...options.map((o) => h('option', { value: o.type }, o.label)));
  select.value = state.type;
}

function showObject(): void {
  const object = state.object;
  $('object-name').textContent = object
    ? `${object.name} — ${object.spec.programs.length} program(s), licence ${object.spec.license || 'none'}`
    : 'none — write assembly, or open or drop a .o file';
  const rows: HTMLElement[] = [];
  if (object) {
    rows.push(
      h('tr', {}, h('th', {}, 'program'), h('th', {}, 'section'), h('th', {}, 'type'), h('th', {}, 'insns')),
    );
    for (const program of object.spec.programs) {
      const row = h(
        'tr',
        {
          class: `program${program.name === state.program ? ' selected' : ''}`,
          'data-program': program.name,
        },
        h('td', { class: 'mono' }, program.name),
        h('td', { class: 'mono' }, program.section),
        h('td', {}, programType(program) ?? program.sectionError ?? '?'),
        h('td', {}, String(program.insns.length)),
      );
      row.addEventListener('click', () => selectProgram(program.name));
      rows.push(row);
    }
  }
  $('programs').replaceChildren(...rows);
  const btf = object?.spec.btf;
  $('btf-panel').hidden = !btf;
  $('btf').textContent = '';
  $<HTMLInputElement>('btf-as-c').checked = false;
  $('btf').hidden = true;
  if (btf) showBtfTypes();
  let loaded: MapDump[] = [];
  try {
    loaded = object ? objectMaps(object.spec) : [];
  } catch (error) {
    $('globals-before').replaceChildren(h('div', { class: 'error' }, describe(error)));
  }
  $('globals-panel').hidden = loaded.length === 0;
  if (loaded.length) $('globals-before').replaceChildren(...loaded.map((m) => mapTable(m)));
  const maps = object?.spec.maps ?? [];
  $('maps-spec').textContent = maps.length
    ? `maps: ${maps.map((m) => `${m.name} (${m.type.toLowerCase()}, ${m.keySize}→${m.valueSize} B × ${m.maxEntries})`).join(', ')}`
    : '';
}

/** The BTF type list, filtered, and the selected type's detail. */
function showBtfTypes(selected?: number): void {
  const btf = state.object?.spec.btf;
  if (!btf) return;
  const rows = btfTypeRows(btf, $<HTMLInputElement>('btf-filter').value);
  const table = $('btf-types');
  table.replaceChildren(
    h('tr', {}, h('th', {}, 'id'), h('th', {}, 'kind'), h('th', {}, 'name'), h('th', {}, 'size')),
    ...rows.map((r) => {
      const row = h(
        'tr',
        { class: `btf-type${r.id === selected ? ' selected' : ''}`, 'data-type-id': String(r.id) },
        h('td', {}, String(r.id)),
        h('td', {}, r.kind),
        h('td', { class: 'mono' }, r.name),
        h('td', {}, r.size === undefined ? '' : String(r.size)),
      );
      row.addEventListener('click', () => showBtfTypes(r.id));
      return row;
    }),
  );
  const detail = $('btf-detail');
  if (selected === undefined) {
    detail.replaceChildren(h('span', { class: 'muted' }, `${rows.length} types: pick one`));
    return;
  }
  let d: BtfTypeDetail;
  try {
    d = btfTypeDetail(btf, selected);
  } catch (error) {
    detail.replaceChildren(h('div', { class: 'error' }, describe(error)));
    return;
  }
  const lines = d.lines.map((l) => {
    const link: Array<HTMLElement | string> = [];
    if (l.typeId !== undefined) {
      const a = h('a', { href: '#', class: 'btf-ref', 'data-type-id': String(l.typeId) }, l.typeText ?? '');
      a.addEventListener('click', (event) => {
        event.preventDefault();
        $<HTMLInputElement>('btf-filter').value = '';
        showBtfTypes(l.typeId);
      });
      link.push(a, ' ');
    }
    return h(
      'div',
      {},
      ...link,
      h('b', {}, l.label),
      ...(l.note ? [h('span', { class: 'muted' }, `  ${l.note}`)] : []),
    );
  });
  detail.replaceChildren(h('div', { id: 'btf-heading' }, d.heading), ...lines);
  table.querySelector('tr.selected')?.scrollIntoView({ block: 'nearest' });
}

/** A map dump as a table; with `before`, each key's value before and after, changes marked. */
function mapTable(map: MapDump, before?: MapDump): HTMLElement {
  const box = h('div', { class: 'map-dump', 'data-map': map.name });
  box.append(h('div', { class: 'mono' }, h('b', {}, map.name), ` (${map.type})`));
  const table = h('table', {});
  const keyHead = map.globals ? 'variable' : 'key';
  if (before) {
    table.append(h('tr', {}, h('th', {}, keyHead), h('th', {}, 'before'), h('th', {}, 'after')));
    for (const c of mapChanges(before, map))
      table.append(
        h(
          'tr',
          { class: c.changed ? 'changed' : '' },
          h('td', { class: 'mono' }, c.key),
          h('td', { class: 'mono' }, c.before ?? '—'),
          h('td', { class: 'mono' }, c.after ?? '(deleted or zero)'),
        ),
      );
  } else {
    table.append(h('tr', {}, h('th', {}, keyHead), h('th', {}, 'value')));
    for (const e of map.entries)
      table.append(h('tr', {}, h('td', { class: 'mono' }, e.key), h('td', { class: 'mono' }, e.value)));
  }
  if (table.childElementCount > 1) box.append(table);
  // The text a dump tool prints, for copying (and for the tests' text matching).
  const lines = map.entries.map((e) =>
    map.globals ? `  ${e.key} = ${e.value}` : `  key: ${e.key.padEnd(12)} value: ${e.value}`,
  );
  if (map.hidden) lines.push(`  (${map.hidden} ${map.entries.length ? 'more ' : ''}zero or unshown entries)`);
  box.append(h('details', {}, h('summary', {}, 'as text'), h('pre', {}, lines.join('\n') || '  (empty)')));
  return box;
}

/** Put an object's program in the editor as annotated assembly. */
function selectProgram(name: string, source?: string): void {
  const program = state.object?.spec.programs.find((p) => p.name === name);
  if (!program) return;
  state.program = name;
  state.type = programType(program) ?? 'XDP';
  fillTypes(state.type);
  setText(editor, source ?? programListing(program));
  showObject();
  clearResults();
}

function loadObjectBytes(name: string, bytes: Uint8Array, example?: string): boolean {
  try {
    state.object = openObject(name, bytes);
  } catch (error) {
    $('object-name').textContent = `${name}: ${describe(error)}`;
    return false;
  }
  state.example = example;
  $<HTMLSelectElement>('example').value = example ?? '';
  const first =
    state.object.spec.programs.find((p) => PACKET_TYPES.some((t) => t.type === programType(p))) ??
    state.object.spec.programs[0];
  state.program = undefined;
  if (first) selectProgram(first.name);
  else showObject();
  return true;
}

async function openExample(file: string): Promise<Uint8Array> {
  const response = await fetch(`examples/${file}`);
  if (!response.ok) throw new Error(`examples/${file}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function openFile(file: File): Promise<void> {
  loadObjectBytes(file.name, new Uint8Array(await file.arrayBuffer()));
}

// ---------------------------------------------------------------------------------------------
// Verify.

function clearResults(): void {
  state.verdict = undefined;
  state.logOrigin = undefined;
  state.pastedOn = undefined;
  markLines(editor, 0);
  $('asm-error').hidden = true;
  $('verdict').className = 'muted';
  $('verdict').textContent = 'Press Verify: Linux 6.18’s rules, checked here.';
  $('stepper').hidden = true;
  $('log').textContent = '';
  verification++;
}

/**
 * Verify and show the verdict at once (log level 0); the kernel-format log and the step view follow
 * (a level-2 walk costs a few times more) in the next task, or right away when `logNow` is set.
 */
function doVerify(logNow = false): Verdict | undefined {
  clearResults();
  let verdict: Verdict;
  const current = subject();
  try {
    verdict = verifySubject(current, 0);
  } catch (error) {
    showAsmError(error);
    return undefined;
  }
  state.verdict = verdict;
  const { result } = verdict;
  const box = $('verdict');
  box.className = '';
  const head = h(
    'div',
    {},
    h(
      'span',
      { class: result.accepted ? 'ok' : 'bad', id: 'verdict-word' },
      result.accepted ? 'accepted' : 'rejected',
    ),
    ` — ${result.insnsProcessed} insns processed, ${verdict.assembled.insns.length} instructions (${verdict.assembled.syntax} syntax), ${verdict.elapsedMs.toFixed(1)} ms`,
  );
  box.replaceChildren(head);
  const error = result.error;
  if (error) {
    const kv = h('div', { class: 'kv', id: 'verdict-error' });
    kv.append(h('span', {}, 'error'), h('code', { id: 'error-message' }, error.message));
    kv.append(h('span', {}, 'what'), h('span', { id: 'error-summary' }, error.summary));
    if (error.hint) kv.append(h('span', {}, 'hint'), h('span', { id: 'error-hint' }, error.hint));
    kv.append(
      h('span', {}, 'instruction'),
      h(
        'code',
        {},
        `${error.insn}: ${verdict.errorInsn ?? ''}${verdict.errorLine ? `  (editor line ${verdict.errorLine})` : ''}`,
      ),
    );
    box.append(kv);
    if (error.line)
      box.append(
        h(
          'div',
          { class: 'source', id: 'error-source' },
          `${error.line.file}:${error.line.line}:${error.line.column}\n${error.line.text.trim()}`,
        ),
      );
    markLines(editor, verdict.errorLine ?? 0, 0, errorSourceLine());
  }
  const id = ++verification;
  const showLog = () => {
    if (id !== verification) return;
    const skipped = logSkipped(result);
    if (skipped) {
      $('log').textContent = skipped;
      return;
    }
    const logged = verifySubject(current, 2).result;
    $('log').textContent = logged.log;
    state.logOrigin = 'tsbpf';
    stepView.show(parseVerifierLog(verifierTrace(logged)), logged.error ? -1 : 0);
  };
  if (logNow) showLog();
  else setTimeout(showLog, 0);
  return verdict;
}

/** The `; file:line` comment above the failing instruction, highlighted with it. */
function errorSourceLine(): number {
  const line = state.verdict?.errorLine;
  return line ? sourceCommentLine(editor.state.doc.toString(), line) : 0;
}

function showAsmError(error: unknown): void {
  const box = $('asm-error');
  box.hidden = false;
  box.textContent = describe(error);
  $('verdict').className = 'bad';
  $('verdict').textContent = 'does not assemble (see under the editor)';
  if (error instanceof AssemblyError) markLines(editor, error.location.line);
}

/** A step selected: mark its instruction in the editor when the log is about the editor's program. */
function showStep(step: LogStep): void {
  if (state.logOrigin === 'kernel' && state.pastedOn) {
    const index = state.pastedOn.insns.findIndex((i) => i.slot === step.insn);
    markLines(editor, 0, state.pastedOn.editorLines[index] ?? 0);
    return;
  }
  if (state.logOrigin !== 'tsbpf') return;
  const editorLine = state.verdict?.assembled.editorLines[insnIndexOfSlot(step.insn)] ?? 0;
  markLines(editor, state.verdict?.errorLine ?? 0, editorLine, errorSourceLine());
}

/** Step through a kernel verifier log pasted in (level 2 shows the states; level 1 the walk). */
function stepKernelLog(at = 0): void {
  const text = $<HTMLTextAreaElement>('kernel-log').value;
  const log = parseVerifierLog(text);
  clearResults();
  state.logOrigin = 'kernel';
  // When the log is about the editor's program, its steps are marked in the editor too.
  try {
    const assembled = assembleSource(editor.state.doc.toString());
    if (logMatchesProgram(log.steps, assembled.insns)) state.pastedOn = assembled;
  } catch {
    // The editor's text does not assemble: the log stands alone.
  }
  const box = $('verdict');
  box.className = '';
  const rejected = log.error.length > 0;
  box.replaceChildren(
    h(
      'div',
      { id: 'kernel-log-verdict' },
      h('span', { class: 'muted' }, 'pasted kernel log: '),
      h('span', { class: rejected ? 'bad' : 'ok' }, rejected ? 'rejected' : 'no error'),
      ` — ${log.steps.length} steps on ${log.paths.length} path(s)` +
        (log.insnsProcessed === undefined ? '' : `, processed ${log.insnsProcessed} insns`),
    ),
    ...(rejected ? [h('pre', { class: 'error', id: 'kernel-log-error' }, log.error.join('\n'))] : []),
  );
  $('log').textContent = text;
  stepView.show(log, at);
  if (log.steps.length === 0)
    box.append(h('div', { class: 'muted' }, 'no instruction lines found in the log'));
}

/** The log counts slots; the editor counts instructions (an lddw is two slots). */
function insnIndexOfSlot(slot: number): number {
  const insns = state.verdict?.assembled.insns ?? [];
  return insns.findIndex((i) => i.slot === slot);
}

// ---------------------------------------------------------------------------------------------
// Run.

let sample: Uint8Array | undefined;

async function packetsToRun(): Promise<Uint8Array[]> {
  const input = (document.querySelector('input[name=input]:checked') as HTMLInputElement).value;
  if (input === 'sample') {
    sample ??= new Uint8Array(await (await fetch('sample.pcap')).arrayBuffer());
    return capturePackets(sample);
  }
  if (input === 'file') {
    const file = $<HTMLInputElement>('pcap-file').files?.[0];
    if (!file) throw new Error('choose a pcap or pcapng file first');
    return capturePackets(new Uint8Array(await file.arrayBuffer()));
  }
  return parsePackets($<HTMLTextAreaElement>('packets').value);
}

/** The output packet as hex with the bytes that differ from the input marked. */
function hexDiff(before: Uint8Array, after: Uint8Array): HTMLElement {
  const cell = h('td', { class: 'hex' });
  if (after.length !== before.length)
    cell.append(h('div', { class: 'muted' }, `${before.length} → ${after.length} bytes`));
  // Align the ends when the length changed at the front (bpf_xdp_adjust_head, encapsulation).
  const shift = after.length - before.length;
  let run = '';
  let marked = false;
  const flush = () => {
    if (run) cell.append(marked ? h('mark', {}, run) : run);
    run = '';
  };
  after.forEach((byte, i) => {
    const j = i - shift;
    const differs = j < 0 || j >= before.length || before[j] !== byte;
    if (differs !== marked) {
      flush();
      marked = differs;
    }
    run += byte.toString(16).padStart(2, '0');
  });
  flush();
  return cell;
}

async function doRun(): Promise<void> {
  const out = $('run-result');
  out.className = '';
  if (!PACKET_TYPES.some((t) => t.type === state.type)) {
    out.textContent = `${state.type} programs are not test-run on packets here (xdp, tc, socket filter, cgroup_skb are)`;
    return;
  }
  let report: RunReport;
  let other: RunReport | undefined;
  try {
    const packets = await packetsToRun();
    const choice = $<HTMLSelectElement>('engine').value as 'jit' | 'interpreter' | 'both';
    const repeat = Math.max(1, Math.min(Number($<HTMLInputElement>('repeat').value) || 1, 1_000_000));
    report = runSubject(subject(), packets, choice === 'both' ? 'jit' : choice, repeat);
    if (choice === 'both') other = runSubject(subject(), packets, 'interpreter', repeat);
  } catch (error) {
    out.replaceChildren(h('div', { class: 'error' }, describe(error)));
    return;
  }
  drawRun(report);
  if (other) out.insertBefore(engineComparison(report, other), out.children[1] ?? null);
}

/** JIT against interpreter on the same packets: times, and whether every answer agrees. */
function engineComparison(jit: RunReport, interpreter: RunReport): HTMLElement {
  const answer = (p: RunReport['packets'][number]) =>
    p.error ?? `${p.retval}:${p.dataOut ? toHex(p.dataOut) : ''}:${p.trace.join('|')}`;
  const disagree = jit.packets
    .filter((p, i) => answer(p) !== answer(interpreter.packets[i]))
    .map((p) => p.index + 1);
  const maps = (r: RunReport) => JSON.stringify(r.maps);
  const same = disagree.length === 0 && maps(jit) === maps(interpreter);
  const ratio = jit.elapsedMs > 0 ? interpreter.elapsedMs / jit.elapsedMs : 0;
  const table = h(
    'table',
    { id: 'engine-compare' },
    h('tr', {}, h('th', {}, 'engine'), h('th', {}, 'compile'), h('th', {}, 'runs'), h('th', {}, 'insns')),
    ...[jit, interpreter].map((r) =>
      h(
        'tr',
        {},
        h('td', {}, r.engine),
        h('td', {}, r.compileMs === undefined ? '—' : `${r.compileMs.toFixed(2)} ms`),
        h('td', {}, `${r.elapsedMs.toFixed(2)} ms`),
        h('td', {}, String(r.insnsExecuted)),
      ),
    ),
  );
  return h(
    'div',
    { class: 'engines' },
    table,
    h(
      'div',
      { id: 'engine-verdict', class: same ? 'ok' : 'bad' },
      same
        ? `same return values, packets, printk lines and maps${ratio ? ` — interpreter/JIT time ${ratio.toFixed(1)}×` : ''}`
        : `the engines disagree${disagree.length ? ` on packet(s) ${disagree.join(', ')}` : ' on the maps'}`,
    ),
  );
}

function drawRun(report: RunReport): void {
  const out = $('run-result');
  const runs = report.packets.length * report.repeat;
  // Per run, packet set-up included (a test run builds the context and copies the packet in and out).
  const perRun = runs ? (report.elapsedMs * 1e3) / runs : 0;
  const rest = report.packets.length > 1 ? report.elapsedMs - report.firstMs : 0;
  const parts: HTMLElement[] = [
    h(
      'div',
      { id: 'run-summary' },
      `${report.program} (${report.type}) on ${report.packets.length} packet(s)${report.repeat > 1 ? ` × ${report.repeat}` : ''}, ${report.engine}: ` +
        `${runs} run(s) in ${report.elapsedMs.toFixed(2)} ms, ${report.insnsExecuted} insns executed, ${perRun.toFixed(1)} µs a run`,
    ),
    h(
      'div',
      { class: 'muted' },
      (report.engine === 'jit'
        ? report.compileMs === undefined
          ? 'not compiled yet (the interpreter ran meanwhile); '
          : `compiled to WebAssembly in ${report.compileMs.toFixed(2)} ms; `
        : '') +
        `first packet ${report.firstMs.toFixed(2)} ms` +
        (rest ? `, the other ${report.packets.length - 1} ${rest.toFixed(2)} ms` : ''),
    ),
  ];
  // Browsers coarsen timers (to 100 µs unless the page is cross-origin isolated): one run per packet
  // is below that, so the per-packet time shows only when repeated enough to mean something.
  const timed = report.repeat >= 100;
  if (!timed)
    parts.push(h('div', { class: 'muted' }, 'raise repeat (≥ 100) for the time of one run per packet'));
  const table = h('table', { id: 'packets-table' });
  table.append(
    h(
      'tr',
      {},
      ...['#', 'len', 'return', 'insns', ...(timed ? ['ns/run'] : []), 'packet out'].map((t) =>
        h('th', {}, t),
      ),
    ),
  );
  for (const p of report.packets) {
    const changed = p.dataOut && toHex(p.dataOut) !== toHex(p.data);
    table.append(
      h(
        'tr',
        {},
        h('td', {}, String(p.index + 1)),
        h('td', {}, String(p.data.length)),
        p.error
          ? h('td', { class: 'bad', colspan: timed ? '4' : '3' }, p.error)
          : h('td', { class: 'retval' }, `${p.retval} ${p.verdict}`),
        ...(p.error
          ? []
          : [
              h('td', {}, String(p.insnsExecuted)),
              ...(timed ? [h('td', {}, String(p.durationNs ?? ''))] : []),
              changed ? hexDiff(p.data, p.dataOut!) : h('td', { class: 'hex muted' }, '(unchanged)'),
            ]),
      ),
    );
  }
  parts.push(table);
  const trace = report.packets.flatMap((p) => p.trace.map((line) => `packet ${p.index + 1}: ${line}`));
  if (trace.length) parts.push(h('h2', {}, 'bpf_printk'), h('pre', { id: 'trace' }, trace.join('\n')));
  if (report.maps.length) {
    const maps = h('div', { id: 'maps-after' }, h('h2', {}, 'Maps before and after the runs'));
    for (const map of report.maps)
      maps.append(
        mapTable(
          map,
          report.mapsBefore.find((m) => m.name === map.name),
        ),
      );
    parts.push(maps);
  }
  out.replaceChildren(...parts);
}

/** The packet text is the input only when "packets" is chosen. */
function syncInput(): void {
  const input = (document.querySelector('input[name=input]:checked') as HTMLInputElement).value;
  $<HTMLTextAreaElement>('packets').disabled = input !== 'hex';
}

// ---------------------------------------------------------------------------------------------
// Share.

function shareState(): ShareState {
  // A capture file the user opened stays in the browser: links carry the packet text instead.
  const checked = (document.querySelector('input[name=input]:checked') as HTMLInputElement).value;
  const input = checked === 'sample' ? 'sample' : 'hex';
  const object = state.object;
  return {
    source: editor.state.doc.toString(),
    type: state.type,
    ...(state.example ? { example: state.example } : {}),
    ...(object && !state.example ? { objectName: object.name, objectBase64: base64url(object.bytes) } : {}),
    ...(state.program ? { program: state.program } : {}),
    packets: $<HTMLTextAreaElement>('packets').value,
    input,
    engine: $<HTMLSelectElement>('engine').value as 'jit' | 'interpreter' | 'both',
    caps: $<HTMLSelectElement>('caps').value as 'root' | 'bpf' | 'unpriv',
    repeat: Number($<HTMLInputElement>('repeat').value) || 1,
    // The step in view: the receiver verifies (or re-reads the pasted log) and shows the same one.
    ...(state.logOrigin ? { step: stepView.selected } : {}),
    ...(state.logOrigin === 'kernel' ? { kernelLog: $<HTMLTextAreaElement>('kernel-log').value } : {}),
  };
}

async function doShare(): Promise<void> {
  const hash = await encodeState(shareState());
  history.replaceState(null, '', hash);
  const link = $<HTMLInputElement>('share-link');
  link.value = location.href;
  $('share-panel').hidden = false;
  link.select();
  navigator.clipboard?.writeText(location.href).catch(() => undefined);
}

async function applyState(shared: ShareState): Promise<void> {
  state.object = undefined;
  state.example = undefined;
  state.program = undefined;
  if (shared.example) {
    try {
      loadObjectBytes(shared.example, await openExample(shared.example), shared.example);
    } catch (error) {
      $('object-name').textContent = describe(error);
    }
  } else if (shared.objectBase64) {
    loadObjectBytes(shared.objectName ?? 'object.o', fromBase64url(shared.objectBase64));
  }
  if (shared.program && state.object) selectProgram(shared.program, shared.source);
  else setText(editor, shared.source);
  state.type = shared.type;
  fillTypes(state.type);
  showObject();
  $<HTMLTextAreaElement>('packets').value = shared.packets;
  (
    document.querySelector(
      `input[name=input][value=${shared.input === 'sample' ? 'sample' : 'hex'}]`,
    ) as HTMLInputElement
  ).checked = true;
  $<HTMLSelectElement>('engine').value = shared.engine;
  $<HTMLSelectElement>('caps').value = shared.caps ?? 'root';
  $<HTMLInputElement>('repeat').value = String(shared.repeat ?? 1);
  syncInput();
  clearResults();
  $<HTMLTextAreaElement>('kernel-log').value = shared.kernelLog ?? '';
  if (shared.kernelLog) {
    ($('kernel-log-panel') as HTMLDetailsElement).open = true;
    stepKernelLog(shared.step ?? 0);
  } else if (shared.step !== undefined && doVerify(true)) {
    stepView.select(shared.step);
  }
}

// ---------------------------------------------------------------------------------------------
// Start.

async function start(): Promise<void> {
  editor = createEditor($('editor'), DEFAULT_SOURCE, () => {
    $('share-panel').hidden = true;
    // A pasted log's steps no longer map to the edited lines.
    state.pastedOn = undefined;
    // A verdict of other text would mislead; the marks go with the edit (editor.ts).
    if (state.verdict) {
      state.verdict = undefined;
      state.logOrigin = undefined;
      state.pastedOn = undefined;
      $('verdict').className = 'muted';
      $('verdict').textContent = 'The program changed: press Verify again.';
      $('stepper').hidden = true;
    }
    const text = editor.state.doc.toString();
    try {
      $('syntax').textContent = `(${assembleSource(text).syntax} syntax)`;
      $('asm-error').hidden = true;
    } catch {
      $('syntax').textContent = '';
    }
  });
  const examples = $<HTMLSelectElement>('example');
  for (const file of TSBPF_EXAMPLES)
    examples.append(h('option', { value: file }, file.replace(/\.bpf\.o$/, '')));
  examples.addEventListener('change', async () => {
    if (!examples.value) {
      // Detach the object: the editor's text stays, as plain assembly without maps.
      state.object = undefined;
      state.example = undefined;
      state.program = undefined;
      showObject();
      clearResults();
      return;
    }
    loadObjectBytes(examples.value, await openExample(examples.value), examples.value);
  });
  $<HTMLInputElement>('file').addEventListener('change', (event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (file) void openFile(file);
  });
  $<HTMLSelectElement>('type').addEventListener('change', (event) => {
    state.type = (event.target as HTMLSelectElement).value as ProgTypeName;
  });
  document.querySelectorAll<HTMLInputElement>('input[name=input]').forEach((radio) => {
    radio.addEventListener('change', syncInput);
  });
  $('verify').addEventListener('click', () => doVerify());
  $('run').addEventListener('click', () => void doRun());
  $('share').addEventListener('click', () => void doShare());
  stepView = new StepView($('stepper'), (step) => showStep(step));
  $('kernel-log-step').addEventListener('click', () => stepKernelLog());
  $('btf-filter').addEventListener('input', () => showBtfTypes());
  $<HTMLInputElement>('btf-as-c').addEventListener('change', (event) => {
    const on = (event.target as HTMLInputElement).checked;
    const btf = state.object?.spec.btf;
    $('btf').hidden = !on;
    if (!on || !btf || $('btf').textContent) return;
    try {
      $('btf').textContent = dumpBtfC(btf, { guard: '__OBJECT_BTF_H__', preserveAccessIndex: false });
    } catch (error) {
      $('btf').textContent = describe(error);
    }
  });
  // Drag and drop anywhere on the page.
  let depth = 0;
  document.addEventListener('dragenter', (e) => {
    e.preventDefault();
    depth++;
    $('drop').hidden = false;
  });
  document.addEventListener('dragleave', () => {
    if (--depth <= 0) $('drop').hidden = true;
  });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    $('drop').hidden = true;
    const file = e.dataTransfer?.files[0];
    if (file) void openFile(file);
  });
  window.addEventListener('hashchange', async () => {
    const shared = await decodeState(location.hash);
    if (shared) await applyState(shared);
  });

  fillTypes();
  $<HTMLTextAreaElement>('packets').value = DEFAULT_PACKETS;
  const shared = await decodeState(location.hash);
  if (shared) await applyState(shared);
  else if (TSBPF_EXAMPLES.includes('xdp_count.bpf.o')) {
    loadObjectBytes('xdp_count.bpf.o', await openExample('xdp_count.bpf.o'), 'xdp_count.bpf.o');
  }
  // For the browser test (web/web.test.ts): the editor's whole text, which CodeMirror renders lazily.
  (window as unknown as { tsbpfSource: () => string }).tsbpfSource = () => editor.state.doc.toString();
  document.body.dataset.ready = 'true';
}

void start();
