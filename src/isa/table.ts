/**
 * The one opcode table. Every valid instruction encoding matches exactly one {@link InsnForm};
 * decoding, encoding, both assemblers and both printers read names and operand rules from here,
 * so no mnemonic or operator is ever written twice.
 *
 * A form is keyed by its opcode byte and, where several forms share an opcode, by the value of
 * one more field (`select`): `off` tells sdiv from div and movsx from mov, `imm` tells the byte
 * order width and the atomic operation, `src` tells helper calls from local calls and the lddw
 * pseudo sources apart.
 */
import {
  type AccessSize,
  ADDR_SPACE_CAST_OFF,
  AluCode,
  AtomicCode,
  CallSrc,
  Class,
  JcondSrc,
  JmpCode,
  Mode,
  PseudoSrc,
  Source,
  sizeCodeOf,
} from './opcodes.js';

/** What a raw field of an instruction may hold under a form. */
export type FieldRule =
  /** a register number r0–r10 */
  | 'reg'
  /** reserved: must be zero */
  | 'zero'
  /** a value the form interprets (offset, immediate, jump target) */
  | 'value';

export type RawField = 'dst' | 'src' | 'off' | 'imm';

interface FormBase {
  readonly opcode: number;
  /** The mnemonic of the bpf_conformance assembly dialect (`add32`, `ldxw`, `lock fetch add`). */
  readonly mnemonic: string;
  readonly rules: Readonly<Record<RawField, FieldRule>>;
  /** The field and value that pick this form among the forms sharing its opcode. */
  readonly select?: { readonly field: RawField; readonly value: number };
  /** The only immediates the form has, where the kernel allows just a few (addr_space_cast). */
  readonly immValues?: readonly number[];
}

export type AluOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'sdiv'
  | 'or'
  | 'and'
  | 'lsh'
  | 'rsh'
  | 'neg'
  | 'mod'
  | 'smod'
  | 'xor'
  | 'mov'
  | 'movsx'
  | 'arsh'
  /** `r1 = addr_space_cast(r2, dst_as, src_as)`: a pointer between arena and kernel (since 6.9). */
  | 'addr_space_cast';

export interface AluForm extends FormBase {
  readonly kind: 'alu';
  readonly op: AluOp;
  readonly bits: 32 | 64;
  readonly source: 'imm' | 'reg';
  /** The compound-assignment operator of LLVM syntax (`+=`, `s/=`); `=` for mov and movsx. */
  readonly operator: string;
  /** For movsx: the width of the sign-extended source. */
  readonly extend?: 8 | 16 | 32;
}

export interface EndForm extends FormBase {
  readonly kind: 'end';
  /** `le`/`be` convert from host order (ALU class); `swap` always swaps (ALU64 class, since 6.6). */
  readonly order: 'le' | 'be' | 'swap';
  readonly bits: 16 | 32 | 64;
}

export type JmpOp =
  | 'ja'
  | 'jeq'
  | 'jgt'
  | 'jge'
  | 'jset'
  | 'jne'
  | 'jsgt'
  | 'jsge'
  | 'jlt'
  | 'jle'
  | 'jslt'
  | 'jsle'
  /** `may_goto`: BPF_JCOND with src BPF_MAY_GOTO (since 6.9); jumps once the loop budget is spent. */
  | 'may_goto';

export interface JmpForm extends FormBase {
  readonly kind: 'jmp';
  readonly op: JmpOp;
  /** Width of the comparison; for `ja` 32 means `gotol` (target in imm, since 6.6). */
  readonly bits: 32 | 64;
  readonly source: 'imm' | 'reg';
  /** The comparison operator of LLVM syntax (`==`, `s>`, `&`); empty for `ja` and `may_goto`. */
  readonly operator: string;
}

export interface CallForm extends FormBase {
  readonly kind: 'call';
  /** helper by id (src 0), bpf-to-bpf call by relative offset (src 1), kfunc by BTF id (src 2). */
  readonly target: 'helper' | 'local' | 'kfunc';
}

export interface CallxForm extends FormBase {
  readonly kind: 'callx';
}

export interface ExitForm extends FormBase {
  readonly kind: 'exit';
}

export interface LddwForm extends FormBase {
  readonly kind: 'lddw';
  /** One of {@link PseudoSrc}. */
  readonly pseudo: number;
}

export interface LdxForm extends FormBase {
  readonly kind: 'ldx';
  readonly size: AccessSize;
  /** BPF_MEMSX: sign-extending load (since 6.6). */
  readonly signed: boolean;
}

export interface StForm extends FormBase {
  readonly kind: 'st';
  readonly size: AccessSize;
}

export interface StxForm extends FormBase {
  readonly kind: 'stx';
  readonly size: AccessSize;
}

export type AtomicOp = 'add' | 'or' | 'and' | 'xor' | 'xchg' | 'cmpxchg' | 'load_acquire' | 'store_release';

export interface AtomicForm extends FormBase {
  readonly kind: 'atomic';
  readonly size: AccessSize;
  readonly op: AtomicOp;
  /** Whether the old value is returned (BPF_FETCH; always for xchg and cmpxchg). */
  readonly fetch: boolean;
  /** The compound operator of LLVM's `lock *(u64 *)(r1 + 0) += r2` syntax (non-fetch forms). */
  readonly operator: string;
}

export interface LdPacketForm extends FormBase {
  /** Legacy packet loads (cBPF heritage): `r0 = ntohX(*(skb->data + imm [+ src]))`. */
  readonly kind: 'ldabs' | 'ldind';
  readonly size: AccessSize;
}

/** Every instruction form, discriminated by `kind`. */
export type InsnForm =
  | AluForm
  | EndForm
  | JmpForm
  | CallForm
  | CallxForm
  | ExitForm
  | LddwForm
  | LdxForm
  | StForm
  | StxForm
  | AtomicForm
  | LdPacketForm;

export type InsnKind = InsnForm['kind'];

const R = 'reg' as const;
const Z = 'zero' as const;
const V = 'value' as const;

const RULE_CODES: readonly FieldRule[] = [R, Z, V];
/** The rule records made so far, by their four rules: a handful recur in every form. */
const ruleRecords: Array<Readonly<Record<RawField, FieldRule>> | undefined> = [];

function rules(
  dst: FieldRule,
  src: FieldRule,
  off: FieldRule,
  imm: FieldRule,
): Readonly<Record<RawField, FieldRule>> {
  const key =
    ((RULE_CODES.indexOf(dst) * 3 + RULE_CODES.indexOf(src)) * 3 + RULE_CODES.indexOf(off)) * 3 +
    RULE_CODES.indexOf(imm);
  let record = ruleRecords[key];
  if (!record) {
    record = { dst, src, off, imm };
    ruleRecords[key] = record;
  }
  return record;
}

const sizeSuffix: Readonly<Record<AccessSize, string>> = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' };

interface OpRow<Op> {
  readonly op: Op;
  readonly code: number;
  /** The LLVM-syntax operator. */
  readonly operator: string;
}

const aluBinary: ReadonlyArray<OpRow<AluOp>> = [
  { op: 'add', code: AluCode.add, operator: '+=' },
  { op: 'sub', code: AluCode.sub, operator: '-=' },
  { op: 'mul', code: AluCode.mul, operator: '*=' },
  { op: 'div', code: AluCode.div, operator: '/=' },
  { op: 'or', code: AluCode.or, operator: '|=' },
  { op: 'and', code: AluCode.and, operator: '&=' },
  { op: 'lsh', code: AluCode.lsh, operator: '<<=' },
  { op: 'rsh', code: AluCode.rsh, operator: '>>=' },
  { op: 'mod', code: AluCode.mod, operator: '%=' },
  { op: 'xor', code: AluCode.xor, operator: '^=' },
  { op: 'mov', code: AluCode.mov, operator: '=' },
  { op: 'arsh', code: AluCode.arsh, operator: 's>>=' },
];

/** sdiv and smod reuse div and mod with offset 1 (since 6.6). */
const aluSigned: ReadonlyArray<OpRow<AluOp>> = [
  { op: 'sdiv', code: AluCode.div, operator: 's/=' },
  { op: 'smod', code: AluCode.mod, operator: 's%=' },
];

const jmpConditions: ReadonlyArray<OpRow<JmpOp>> = [
  { op: 'jeq', code: JmpCode.jeq, operator: '==' },
  { op: 'jgt', code: JmpCode.jgt, operator: '>' },
  { op: 'jge', code: JmpCode.jge, operator: '>=' },
  { op: 'jset', code: JmpCode.jset, operator: '&' },
  { op: 'jne', code: JmpCode.jne, operator: '!=' },
  { op: 'jsgt', code: JmpCode.jsgt, operator: 's>' },
  { op: 'jsge', code: JmpCode.jsge, operator: 's>=' },
  { op: 'jlt', code: JmpCode.jlt, operator: '<' },
  { op: 'jle', code: JmpCode.jle, operator: '<=' },
  { op: 'jslt', code: JmpCode.jslt, operator: 's<' },
  { op: 'jsle', code: JmpCode.jsle, operator: 's<=' },
];

const atomicOps: ReadonlyArray<OpRow<AtomicOp>> = [
  { op: 'add', code: AtomicCode.add, operator: '+=' },
  { op: 'or', code: AtomicCode.or, operator: '|=' },
  { op: 'and', code: AtomicCode.and, operator: '&=' },
  { op: 'xor', code: AtomicCode.xor, operator: '^=' },
];

/** The two ALU classes and the two jump classes: opcode class, operand width, mnemonic suffix. */
const aluClasses = [
  { cls: Class.ALU64, bits: 64, suffix: '' },
  { cls: Class.ALU, bits: 32, suffix: '32' },
] as const;
const jmpClasses = [
  { cls: Class.JMP, bits: 64, suffix: '' },
  { cls: Class.JMP32, bits: 32, suffix: '32' },
] as const;

const sizes: readonly AccessSize[] = [1, 2, 4, 8];
const endBits = [16, 32, 64] as const;
const pseudoSources: readonly number[] = Object.values(PseudoSrc);

/** The offset that picks div, mod and mov among the signed and sign-extending forms of their opcode. */
const OFF_ZERO = { field: 'off', value: 0 } as const;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

// The table is built once per process, cold, where every iterator step and array destructuring
// allocates (tsbpf asm starts faster without): indexed loops, rows read as objects.
function buildForms(): InsnForm[] {
  const forms: InsnForm[] = [];
  for (let c = 0; c < aluClasses.length; c++) {
    const { cls, bits, suffix } = aluClasses[c]!;
    for (let i = 0; i < aluBinary.length; i++) {
      const { op, code, operator } = aluBinary[i]!;
      const select = op === 'div' || op === 'mod' || op === 'mov' ? OFF_ZERO : undefined;
      const mnemonic = op + suffix;
      const imm: Mutable<AluForm> = {
        kind: 'alu',
        op,
        bits,
        source: 'imm',
        operator,
        opcode: cls | code | Source.K,
        mnemonic,
        rules: rules(R, Z, Z, V),
      };
      const reg: Mutable<AluForm> = {
        kind: 'alu',
        op,
        bits,
        source: 'reg',
        operator,
        opcode: cls | code | Source.X,
        mnemonic,
        rules: rules(R, R, Z, Z),
      };
      if (select) imm.select = reg.select = select;
      forms.push(imm, reg);
    }
    for (let i = 0; i < aluSigned.length; i++) {
      const { op, code, operator } = aluSigned[i]!;
      forms.push({
        kind: 'alu',
        op,
        bits,
        source: 'imm',
        operator,
        opcode: cls | code | Source.K,
        mnemonic: op + suffix,
        rules: rules(R, Z, V, V),
        select: { field: 'off', value: 1 },
      });
      forms.push({
        kind: 'alu',
        op,
        bits,
        source: 'reg',
        operator,
        opcode: cls | code | Source.X,
        mnemonic: op + suffix,
        rules: rules(R, R, V, Z),
        select: { field: 'off', value: 1 },
      });
    }
    forms.push({
      kind: 'alu',
      op: 'neg',
      bits,
      source: 'imm',
      operator: '= -',
      opcode: cls | AluCode.neg,
      mnemonic: 'neg' + suffix,
      rules: rules(R, Z, Z, Z),
    });
    const extends_: ReadonlyArray<8 | 16 | 32> = bits === 64 ? [8, 16, 32] : [8, 16];
    for (let e = 0; e < extends_.length; e++) {
      const extend = extends_[e]!;
      forms.push({
        kind: 'alu',
        op: 'movsx',
        bits,
        source: 'reg',
        operator: '=',
        extend,
        opcode: cls | AluCode.mov | Source.X,
        mnemonic: `movsx${extend}${bits}`,
        rules: rules(R, R, V, Z),
        select: { field: 'off', value: extend },
      });
    }
    if (bits === 64) {
      forms.push({
        kind: 'alu',
        op: 'addr_space_cast',
        bits,
        source: 'reg',
        operator: '=',
        opcode: cls | AluCode.mov | Source.X,
        mnemonic: 'addr_space_cast',
        rules: rules(R, R, V, V),
        select: { field: 'off', value: ADDR_SPACE_CAST_OFF },
        // The kernel converts only between the arena (1) and the kernel (0): 1 → 0 or 0 → 1.
        immValues: [1, 1 << 16],
      });
    }
  }
  for (let b = 0; b < endBits.length; b++) {
    const bits = endBits[b]!;
    forms.push({
      kind: 'end',
      order: 'le',
      bits,
      opcode: Class.ALU | AluCode.end | Source.K,
      mnemonic: `le${bits}`,
      rules: rules(R, Z, Z, V),
      select: { field: 'imm', value: bits },
    });
    forms.push({
      kind: 'end',
      order: 'be',
      bits,
      opcode: Class.ALU | AluCode.end | Source.X,
      mnemonic: `be${bits}`,
      rules: rules(R, Z, Z, V),
      select: { field: 'imm', value: bits },
    });
    forms.push({
      kind: 'end',
      order: 'swap',
      bits,
      opcode: Class.ALU64 | AluCode.end | Source.K,
      mnemonic: `bswap${bits}`,
      rules: rules(R, Z, Z, V),
      select: { field: 'imm', value: bits },
    });
  }

  forms.push({
    kind: 'jmp',
    op: 'ja',
    bits: 64,
    source: 'imm',
    operator: '',
    opcode: Class.JMP | JmpCode.ja,
    mnemonic: 'ja',
    rules: rules(Z, Z, V, Z),
  });
  forms.push({
    kind: 'jmp',
    op: 'ja',
    bits: 32,
    source: 'imm',
    operator: '',
    opcode: Class.JMP32 | JmpCode.ja,
    mnemonic: 'ja32',
    rules: rules(Z, Z, Z, V),
  });
  forms.push({
    kind: 'jmp',
    op: 'may_goto',
    bits: 64,
    source: 'imm',
    operator: '',
    opcode: Class.JMP | JmpCode.jcond,
    mnemonic: 'may_goto',
    rules: rules(Z, V, V, Z),
    select: { field: 'src', value: JcondSrc.MAY_GOTO },
  });
  for (let c = 0; c < jmpClasses.length; c++) {
    const { cls, bits, suffix } = jmpClasses[c]!;
    for (let i = 0; i < jmpConditions.length; i++) {
      const { op, code, operator } = jmpConditions[i]!;
      forms.push({
        kind: 'jmp',
        op,
        bits,
        source: 'imm',
        operator,
        opcode: cls | code | Source.K,
        mnemonic: op + suffix,
        rules: rules(R, Z, V, V),
      });
      forms.push({
        kind: 'jmp',
        op,
        bits,
        source: 'reg',
        operator,
        opcode: cls | code | Source.X,
        mnemonic: op + suffix,
        rules: rules(R, R, V, Z),
      });
    }
  }
  const call = Class.JMP | JmpCode.call;
  forms.push({
    kind: 'call',
    target: 'helper',
    opcode: call,
    mnemonic: 'call',
    rules: rules(Z, V, Z, V),
    select: { field: 'src', value: CallSrc.HELPER },
  });
  forms.push({
    kind: 'call',
    target: 'local',
    opcode: call,
    mnemonic: 'call local',
    rules: rules(Z, V, Z, V),
    select: { field: 'src', value: CallSrc.LOCAL },
  });
  // A kfunc call's offset names the module BTF (an index into the fd array), 0 for vmlinux.
  forms.push({
    kind: 'call',
    target: 'kfunc',
    opcode: call,
    mnemonic: 'call runtime',
    rules: rules(Z, V, V, V),
    select: { field: 'src', value: CallSrc.KFUNC },
  });
  forms.push({ kind: 'callx', opcode: call | Source.X, mnemonic: 'callx', rules: rules(R, Z, Z, Z) });
  forms.push({ kind: 'exit', opcode: Class.JMP | JmpCode.exit, mnemonic: 'exit', rules: rules(Z, Z, Z, Z) });

  for (let p = 0; p < pseudoSources.length; p++) {
    const pseudo = pseudoSources[p]!;
    forms.push({
      kind: 'lddw',
      pseudo,
      opcode: Class.LD | Mode.IMM | sizeCodeOf[8],
      mnemonic: 'lddw',
      rules: rules(R, V, Z, V),
      select: { field: 'src', value: pseudo },
    });
  }
  for (let z = 0; z < sizes.length; z++) {
    const size = sizes[z]!;
    const s = sizeSuffix[size];
    const sz = sizeCodeOf[size];
    forms.push({
      kind: 'ldx',
      size,
      signed: false,
      opcode: Class.LDX | Mode.MEM | sz,
      mnemonic: `ldx${s}`,
      rules: rules(R, R, V, Z),
    });
    if (size !== 8) {
      forms.push({
        kind: 'ldx',
        size,
        signed: true,
        opcode: Class.LDX | Mode.MEMSX | sz,
        mnemonic: `ldxs${s}`,
        rules: rules(R, R, V, Z),
      });
      forms.push({
        kind: 'ldabs',
        size,
        opcode: Class.LD | Mode.ABS | sz,
        mnemonic: `ldabs${s}`,
        rules: rules(Z, Z, Z, V),
      });
      forms.push({
        kind: 'ldind',
        size,
        opcode: Class.LD | Mode.IND | sz,
        mnemonic: `ldind${s}`,
        rules: rules(Z, R, Z, V),
      });
    }
    forms.push({
      kind: 'st',
      size,
      opcode: Class.ST | Mode.MEM | sz,
      mnemonic: `st${s}`,
      rules: rules(R, Z, V, V),
    });
    forms.push({
      kind: 'stx',
      size,
      opcode: Class.STX | Mode.MEM | sz,
      mnemonic: `stx${s}`,
      rules: rules(R, R, V, Z),
    });
    const atomic = Class.STX | Mode.ATOMIC | sz;
    if (size >= 4) {
      const suffix32 = size === 4 ? '32' : '';
      for (let i = 0; i < atomicOps.length; i++) {
        const { op, code, operator } = atomicOps[i]!;
        forms.push({
          kind: 'atomic',
          size,
          op,
          fetch: false,
          operator,
          opcode: atomic,
          mnemonic: `lock ${op}${suffix32}`,
          rules: rules(R, R, V, V),
          select: { field: 'imm', value: code },
        });
        forms.push({
          kind: 'atomic',
          size,
          op,
          fetch: true,
          operator,
          opcode: atomic,
          mnemonic: `lock fetch ${op}${suffix32}`,
          rules: rules(R, R, V, V),
          select: { field: 'imm', value: code | AtomicCode.fetch },
        });
      }
      forms.push({
        kind: 'atomic',
        size,
        op: 'xchg',
        fetch: true,
        operator: '',
        opcode: atomic,
        mnemonic: `lock xchg${suffix32}`,
        rules: rules(R, R, V, V),
        select: { field: 'imm', value: AtomicCode.xchg },
      });
      forms.push({
        kind: 'atomic',
        size,
        op: 'cmpxchg',
        fetch: true,
        operator: '',
        opcode: atomic,
        mnemonic: `lock cmpxchg${suffix32}`,
        rules: rules(R, R, V, V),
        select: { field: 'imm', value: AtomicCode.cmpxchg },
      });
    }
    forms.push({
      kind: 'atomic',
      size,
      op: 'load_acquire',
      fetch: false,
      operator: '',
      opcode: atomic,
      mnemonic: `load_acquire${s}`,
      rules: rules(R, R, V, V),
      select: { field: 'imm', value: AtomicCode.loadAcquire },
    });
    forms.push({
      kind: 'atomic',
      size,
      op: 'store_release',
      fetch: false,
      operator: '',
      opcode: atomic,
      mnemonic: `store_release${s}`,
      rules: rules(R, R, V, V),
      select: { field: 'imm', value: AtomicCode.storeRelease },
    });
  }
  return forms;
}

/** All instruction forms, in table order. */
export const FORMS: readonly InsnForm[] = Object.freeze(buildForms());

/** Forms grouped by opcode byte; an empty list means the opcode is not an instruction. */
export const FORMS_BY_OPCODE: ReadonlyArray<readonly InsnForm[]> = (() => {
  // the opcodes without forms share one empty list
  const none: readonly InsnForm[] = Object.freeze([]);
  const byOpcode: Array<readonly InsnForm[]> = new Array(256).fill(none);
  for (let f = 0; f < FORMS.length; f++) {
    const form = FORMS[f]!;
    const list = byOpcode[form.opcode]!;
    if (list === none) byOpcode[form.opcode] = [form];
    else (list as InsnForm[]).push(form);
  }
  return byOpcode;
})();

/** Forms grouped by conformance mnemonic. */
export const FORMS_BY_MNEMONIC: ReadonlyMap<string, readonly InsnForm[]> = (() => {
  const byName = new Map<string, InsnForm[]>();
  for (let f = 0; f < FORMS.length; f++) {
    const form = FORMS[f]!;
    const list = byName.get(form.mnemonic);
    if (list) list.push(form);
    else byName.set(form.mnemonic, [form]);
  }
  return byName;
})();
