/**
 * The verifier's walk, step by step (what bpfvv shows for a kernel log): the instructions of the
 * current path with the jumps it took, and the registers and stack slots after the selected
 * step, the ones it wrote or tested marked. Draws a {@link VerifierLog}; knows nothing of where
 * the log came from (tsbpf's verifier or a kernel log pasted in).
 */
import type { LogStep, StepFlow, VerifierLog } from './log-parse.js';

/** Build an element: `h('td', { class: 'hex' }, 'text', child)`. */
function h(tag: string, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElement {
  const element = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) element.setAttribute(k, v);
  element.append(...children);
  return element;
}

/** How a step left its instruction, as a short mark: `↷ 27`, `✓ safe at 45`. */
export function flowMark(flow: StepFlow): { text: string; cls: string; title: string } {
  switch (flow.kind) {
    case 'next':
      return { text: '', cls: '', title: '' };
    case 'jump':
      return { text: `↷ ${flow.to}`, cls: 'flow-jump', title: `jumped to ${flow.to}` };
    case 'fallthrough':
      return { text: `↓ ${flow.to}`, cls: 'flow-fall', title: 'branch not taken: fell through' };
    case 'call':
      return { text: `→ call ${flow.to}`, cls: 'flow-call', title: `into the subprogram at ${flow.to}` };
    case 'return':
      return { text: `↩ ${flow.to}`, cls: 'flow-call', title: `back to the caller at ${flow.to}` };
    case 'end':
      if (flow.why === 'safe')
        return {
          text: `✓ safe${flow.at === undefined ? '' : ` at ${flow.at}`}`,
          cls: 'flow-safe',
          title: 'pruned: this state is within one already proven safe',
        };
      if (flow.why === 'error')
        return { text: '✗ error', cls: 'flow-error', title: 'the verifier stopped here' };
      if (flow.why === 'exit') return { text: '■ exit', cls: 'flow-exit', title: 'path ends: program exit' };
      return { text: '…', cls: 'flow-exit', title: 'the log goes on elsewhere' };
  }
}

/** Steps shown around the selected one in the path listing. */
const WINDOW = 60;

/** The stepper: controls, path listing, registers and stack. */
export class StepView {
  private log: VerifierLog = { steps: [], paths: [], error: [] };
  private index = 0;

  /**
   * @param root the `#stepper` element (filled here)
   * @param onStep told of each selected step (the page marks its line in the editor)
   */
  constructor(
    private readonly root: HTMLElement,
    private readonly onStep: (step: LogStep, index: number) => void,
  ) {
    root.replaceChildren(
      h(
        'div',
        { class: 'step-controls' },
        h('button', { type: 'button', id: 'path-prev', title: 'first step of the previous path' }, '« path'),
        h('button', { type: 'button', id: 'step-prev', title: 'previous step (←)' }, '◀'),
        h('input', { type: 'range', id: 'step', min: '0', value: '0' }),
        h('button', { type: 'button', id: 'step-next', title: 'next step (→)' }, '▶'),
        h('button', { type: 'button', id: 'path-next', title: 'first step of the next path' }, 'path »'),
        h('button', { type: 'button', id: 'step-last', title: 'the last step (where an error is)' }, 'last'),
      ),
      h('div', { id: 'step-label', class: 'mono' }),
      h('div', { id: 'step-source', class: 'source', hidden: '' }),
      h(
        'div',
        { class: 'step-grid' },
        h('ol', { id: 'step-walk', class: 'mono' }),
        h(
          'div',
          { class: 'step-state' },
          h('table', { id: 'step-regs' }),
          h('table', { id: 'step-stack' }),
          h('pre', { id: 'step-notes', hidden: '' }),
        ),
      ),
    );
    const slider = this.el<HTMLInputElement>('step');
    slider.addEventListener('input', () => this.select(Number(slider.value)));
    this.el('step-prev').addEventListener('click', () => this.select(this.index - 1));
    this.el('step-next').addEventListener('click', () => this.select(this.index + 1));
    this.el('step-last').addEventListener('click', () => this.select(this.log.steps.length - 1));
    this.el('path-prev').addEventListener('click', () => this.jumpPath(-1));
    this.el('path-next').addEventListener('click', () => this.jumpPath(1));
    root.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
        if ((event.target as HTMLElement).id === 'step') return; // the slider moves itself
        event.preventDefault();
        this.select(this.index + (event.key === 'ArrowLeft' ? -1 : 1));
      }
    });
  }

  private el<T extends HTMLElement = HTMLElement>(id: string): T {
    return this.root.querySelector(`#${id}`) as T;
  }

  /** The selected step's index. */
  get selected(): number {
    return this.index;
  }

  /** Show a log, at step `at` (default: the first; negative counts from the end). */
  show(log: VerifierLog, at = 0): void {
    this.log = log;
    this.root.hidden = log.steps.length === 0;
    if (log.steps.length === 0) return;
    const slider = this.el<HTMLInputElement>('step');
    slider.max = String(log.steps.length - 1);
    this.select(at < 0 ? log.steps.length + at : at);
  }

  private jumpPath(delta: number): void {
    const step = this.log.steps[this.index];
    if (!step) return;
    const paths = this.log.paths;
    for (let p = step.path + delta; p >= 0 && p < paths.length; p += delta) {
      if (paths[p].endStep > paths[p].firstStep) {
        this.select(paths[p].firstStep);
        return;
      }
    }
  }

  /** Select step `index` (clamped) and draw it. */
  select(index: number): void {
    const steps = this.log.steps;
    if (steps.length === 0) return;
    this.index = Math.min(Math.max(index, 0), steps.length - 1);
    const step = steps[this.index];
    this.el<HTMLInputElement>('step').value = String(this.index);
    const path = this.log.paths[step.path];
    const pathText =
      path?.from === undefined ? 'path 1 (entry)' : `path ${step.path + 1} (from ${path.from} to ${path.to})`;
    this.el('step-label').textContent =
      `step ${this.index + 1}/${steps.length} · insn ${step.insn} · ${pathText} of ${this.log.paths.length}` +
      (step.frame > 0 ? ` · frame ${step.frame}` : '');
    const source = this.el('step-source');
    source.hidden = !step.source;
    if (step.source) source.textContent = `${step.source.file}:${step.source.line}  ${step.source.text}`;
    this.drawWalk(step);
    this.drawState(step);
    const notes = this.el('step-notes');
    notes.hidden = step.notes.length === 0;
    notes.textContent = step.notes.join('\n');
    this.onStep(step, this.index);
  }

  /** The current path's steps around the selected one, each with how it left its instruction. */
  private drawWalk(current: LogStep): void {
    const path = this.log.paths[current.path];
    const first = Math.max(path?.firstStep ?? 0, this.index - WINDOW / 2);
    const end = Math.min(path?.endStep ?? this.log.steps.length, first + WINDOW);
    const rows: HTMLElement[] = [];
    if (path?.from !== undefined && first === path.firstStep)
      rows.push(
        h('li', { class: 'walk-from muted' }, `from ${path.from} (the branch's other side) to ${path.to}`),
      );
    else if (first > (path?.firstStep ?? 0)) rows.push(h('li', { class: 'muted' }, '…'));
    for (let i = first; i < end; i++) {
      const step = this.log.steps[i];
      const mark = flowMark(step.flow);
      const row = h(
        'li',
        { class: i === this.index ? 'current' : '', 'data-step': String(i) },
        h('span', { class: 'walk-insn' }, `${'  '.repeat(step.frame)}${step.insn}:`),
        ` ${step.text}`,
        ...(mark.text ? [' ', h('span', { class: `flow ${mark.cls}`, title: mark.title }, mark.text)] : []),
      );
      row.addEventListener('click', () => this.select(i));
      rows.push(row);
    }
    if (end < (path?.endStep ?? 0)) rows.push(h('li', { class: 'muted' }, '…'));
    const walk = this.el('step-walk');
    walk.replaceChildren(...rows);
    // After the frame's layout: scrolling now would force a synchronous layout of the whole page.
    requestAnimationFrame(() => walk.querySelector('li.current')?.scrollIntoView({ block: 'nearest' }));
  }

  /** Registers and stack after the step; written or tested ones marked, the value before in the title. */
  private drawState(step: LogStep): void {
    const touched = new Set(step.touched);
    const row = (name: string, value: string) => {
      const before = step.before.get(name);
      const changed = before !== value;
      return h(
        'tr',
        {
          class: touched.has(name) ? (changed ? 'changed' : 'touched') : '',
          ...(changed && before !== undefined ? { title: `before: ${before}` } : {}),
        },
        h('th', { class: 'mono' }, name),
        h('td', { class: 'mono' }, value),
      );
    };
    const regs: HTMLElement[] = [
      h('tr', {}, h('th', {}, 'register'), h('th', {}, `after insn ${step.insn}`)),
    ];
    const stack: HTMLElement[] = [h('tr', {}, h('th', {}, 'stack'), h('th', {}, ''))];
    for (const [name, value] of step.after) (name.startsWith('fp') ? stack : regs).push(row(name, value));
    this.el('step-regs').replaceChildren(...regs);
    this.el('step-stack').replaceChildren(...(stack.length > 1 ? stack : []));
  }
}
