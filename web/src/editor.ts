/**
 * The assembly editor: CodeMirror 6 with a small highlighter for eBPF assembly (both dialects) and
 * line marks for the verifier's error and the log step being looked at.
 */
import { HighlightStyle, StreamLanguage, syntaxHighlighting } from '@codemirror/language';
import { type Extension, RangeSetBuilder, StateEffect, StateField } from '@codemirror/state';
import { Decoration, type DecorationSet, EditorView } from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { basicSetup } from 'codemirror';

/** Tokens: comments (source lines), labels, registers, numbers, helper calls. */
const asm = StreamLanguage.define<{ start: boolean }>({
  startState: () => ({ start: true }),
  token(stream, state) {
    if (stream.sol()) state.start = true;
    if (stream.eatSpace()) return null;
    if (stream.match(/^(;|\/\/)/) || (state.start && stream.match('#'))) {
      stream.skipToEnd();
      return 'comment';
    }
    if (state.start && stream.match(/^[A-Za-z_.$][\w.$]*:/)) return 'labelName';
    state.start = false;
    if (stream.match(/^%?[rw](10|\d)\b/)) return 'variableName';
    if (stream.match(/^-?(0x[0-9a-f]+|\d+)\b/i)) return 'number';
    if (stream.match(/^(goto|gotol|if|call|exit|lock|ll|be16|be32|be64|le16|le32|le64|bswap\d+)\b/))
      return 'keyword';
    if (stream.match(/^[us](8|16|32|64)\b/)) return 'typeName';
    if (stream.match(/^[A-Za-z_][\w]*/)) return 'name';
    stream.next();
    return null;
  },
});

const style = HighlightStyle.define([
  { tag: tags.comment, color: '#6a7f4f', fontStyle: 'italic' },
  { tag: tags.labelName, color: '#a0522d', fontWeight: 'bold' },
  { tag: tags.variableName, color: '#1f5fa8' },
  { tag: tags.number, color: '#8a3fa0' },
  { tag: tags.keyword, color: '#b03030', fontWeight: 'bold' },
  { tag: tags.typeName, color: '#2f7f7f' },
]);

/** Marks: the error line and the current log step's line (1-based; 0 clears). */
export const setMarks = StateEffect.define<{ error: number; step: number; source: number }>();

const marks = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(value, tr) {
    let next = value.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(setMarks)) continue;
      const builder = new RangeSetBuilder<Decoration>();
      const { error, step, source } = effect.value;
      // One class a line; the error wins over the step and the source line.
      const lines = new Map<number, string>([
        [source, 'cm-source-line'],
        [step, 'cm-step-line'],
        [error, 'cm-error-line'],
      ]);
      for (const [line, cls] of [...lines].sort((a, b) => a[0] - b[0])) {
        if (line < 1 || line > tr.state.doc.lines) continue;
        const at = tr.state.doc.line(line).from;
        builder.add(at, at, Decoration.line({ class: cls }));
      }
      next = builder.finish();
    }
    if (tr.docChanged && !tr.effects.some((e) => e.is(setMarks))) next = Decoration.none;
    return next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/** Create the editor in `parent`; `onChange` fires on every edit. */
export function createEditor(parent: HTMLElement, doc: string, onChange: () => void): EditorView {
  const extensions: Extension[] = [
    basicSetup,
    asm,
    syntaxHighlighting(style),
    marks,
    EditorView.updateListener.of((update) => {
      if (update.docChanged) onChange();
    }),
    EditorView.theme({
      '&': { height: '100%', fontSize: '13px' },
      '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' },
      '.cm-error-line': { backgroundColor: '#ffd9d9' },
      '.cm-step-line': { backgroundColor: '#fff3c4' },
      '.cm-source-line': { backgroundColor: '#ffe7c2' },
    }),
  ];
  return new EditorView({ doc, extensions, parent });
}

/** Replace the whole text. */
export function setText(view: EditorView, text: string): void {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}

/** Mark lines and scroll the first marked one into view. */
export function markLines(view: EditorView, error: number, step = 0, source = 0): void {
  const line = step || error;
  const effects: StateEffect<unknown>[] = [setMarks.of({ error, step, source })];
  if (line >= 1 && line <= view.state.doc.lines)
    effects.push(EditorView.scrollIntoView(view.state.doc.line(line).from, { y: 'center' }));
  view.dispatch({ effects });
}
