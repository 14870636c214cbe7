/**
 * The kernel/LLVM BPF assembly syntax: the syntax table and the printer (disassembler).
 *
 * Two flavours of the same C-like syntax exist in the wild, and a reader of BPF meets both:
 *
 * - `objdump`: what `llvm-objdump-19 -d` prints, and what `llvm-mc` / clang's inline assembler
 *   accept: hex immediates, `if r1 > 0x5 goto +0x3`, `r0 = *(u32 *)(r1 + 0x4)`, `r1 = 0x5 ll`.
 * - `verifier`: what the kernel's `print_bpf_insn()` (`kernel/bpf/disasm.c`) writes into the
 *   verifier log and `bpftool prog dump xlated` prints: decimal ALU immediates, `goto pc+3`,
 *   `(r1 +4)`, `call bpf_ktime_get_ns#5`, `r1 = map[id:3]`.
 *
 * Every form of the opcode table gets its templates here, one function per instruction *kind*
 * (never per mnemonic): operators, atomic operation names and byte-order mnemonics are read from
 * the {@link InsnForm}. A template is a string such as `if {dst:r} > {imm:hex} goto {off:rel}`;
 * the printer fills its holes and the parser (`llvm-parse.ts`) tokenizes the very same strings
 * into patterns, so the two directions cannot drift apart.
 */
import { HELPER_NAMES } from './helper-ids.js';
import type { Insn } from './instruction.js';
import { PseudoSrc, SLOT_SIZE } from './opcodes.js';
import type {
  AluForm,
  AtomicForm,
  CallForm,
  InsnForm,
  JmpForm,
  LddwForm,
  LdPacketForm,
  LdxForm,
  StForm,
  StxForm,
} from './table.js';

/** The two text flavours of the kernel/LLVM syntax. */
export type Flavor = 'objdump' | 'verifier';

/** Options of {@link formatInsn}. */
export interface FormatOptions {
  /** Which tool's text to print; default `objdump`. */
  readonly flavor?: Flavor;
  /**
   * objdump flavour: print as `llvm-objdump-19 --mcpu=v3` (or `v4`, or `--mattr=+alu32`) does,
   * with `w` registers for 8/16/32-bit loads, stores, 32-bit `lock` operations and
   * load-acquire/store-release. Default false: plain `llvm-objdump-19 -d`, which uses `r`.
   */
  readonly alu32?: boolean;
  /**
   * objdump flavour: never print text that assembles to different bytes. llvm-objdump-19 prints
   * a bpf-to-bpf call and a kfunc call exactly like a helper call (`call -0x7`); with `lossless`
   * these print as `call pc-0x7` and `call kernel-function#5`. Default false (exact).
   */
  readonly lossless?: boolean;
  /**
   * objdump flavour: a name for the instruction slot a jump lands on, appended as ` <name>` the
   * way llvm-objdump annotates branch targets (`goto +0x1 <LBB0_2>`). Not called for calls,
   * which llvm-objdump does not annotate.
   */
  readonly symbolize?: (targetSlot: number, insn: Insn) => string | undefined;
  /**
   * verifier flavour: the name printed before `#id` of a helper or kfunc call. Defaults as the
   * kernel: `bpf_<helper>` for known helper ids, `unknown` otherwise, `kernel-function` for kfuncs.
   */
  readonly callName?: (insn: Insn) => string | undefined;
  /** verifier flavour: prefix the opcode byte as the kernel does, `(b7) r0 = 5`. Default false. */
  readonly opcode?: boolean;
}

/** A relocation to show under an instruction, as `llvm-objdump -dr` does. */
export interface RelocationNote {
  /** The relocation type name, e.g. `R_BPF_64_64`. */
  readonly type: string;
  /** The symbol it refers to, e.g. `.text` or `my_map`. */
  readonly symbol: string;
}

/** Options of {@link disassemble}. */
export interface DisassembleOptions extends FormatOptions {
  /**
   * Prefix each instruction with its slot index: objdump's `      3:\t<bytes>\t` columns, or the
   * verifier log's `3: `. Default false.
   */
  readonly listing?: boolean;
  /**
   * objdump flavour: the relocation applying to an instruction, printed on the next line as
   * `llvm-objdump -dr` prints it (`\t\t0000000000000050:  R_BPF_64_64\tmy_map`).
   */
  readonly relocation?: (insn: Insn) => RelocationNote | undefined;
}

/**
 * One way to write a form. Printing picks the first template of the flavour whose conditions
 * hold; parsing accepts every template that is not `lossy`.
 *
 * Hole syntax `{field:style}`: `dst`/`src` with style `r`/`w` are registers; `off`, `imm`,
 * `imm2` are numbers whose style says how they print (see {@link NumStyle}); `value` is the
 * 64-bit lddw immediate; `name` is a call's printed name; `src` with `const`/`constdec` is the
 * form's pseudo source number.
 */
export interface Syntax {
  readonly template: string;
  /** The flavour that prints it; `parse` for templates only the parser accepts. */
  readonly flavor: Flavor | 'parse';
  /** objdump: printed only in this alu32 mode (undefined: both). */
  readonly alu32?: boolean;
  /** Text that llvm-objdump-19 prints but that does not round-trip: printed unless `lossless`, never parsed. */
  readonly lossy?: boolean;
  /** Printed only for instructions that satisfy this. */
  readonly when?: (insn: Insn) => boolean;
  /** Parsed only when assembling this flavour (resolves `r1 = 0x5`: mov for LLVM, lddw for the kernel). */
  readonly dialect?: Flavor;
}

/**
 * How a number hole prints. Parsing accepts any decimal or hex literal with an optional sign in
 * every style except `uhex` (hex literal only) and `label` (a label only).
 *
 * - `hex`: signed hex, `0x5` / `-0x5` (llvm-objdump)
 * - `dec`: signed decimal (`%d`) · `udec`: unsigned decimal (`%u`) · `hex32`: `0x%x` of the u32
 * - `mem`: a memory offset, ` + 0x4` / ` - 0x4` · `memdec`: `%+d`
 * - `rel`: a jump offset, `+0x3` / `-0x3` (label allowed) · `reldec`: `%+d` (label allowed)
 * - `label`: parse-only, a label name
 * - `const` / `constdec`: the form's pseudo source, hex / decimal
 * - `uhex`: the lddw value, unsigned hex (`0x%llx`)
 */
export type NumStyle =
  | 'hex'
  | 'dec'
  | 'udec'
  | 'hex32'
  | 'mem'
  | 'memdec'
  | 'rel'
  | 'reldec'
  | 'label'
  | 'const'
  | 'constdec'
  | 'uhex';

/** A parsed `{field:style}` hole. */
export type Hole =
  | { readonly kind: 'reg'; readonly field: 'dst' | 'src'; readonly width: 'r' | 'w' }
  | {
      readonly kind: 'num';
      /** `immhi`/`immlo`: the high and low 16 bits of imm (addr_space_cast's two address spaces). */
      readonly field: 'off' | 'imm' | 'imm2' | 'immhi' | 'immlo' | 'src' | 'value';
      readonly style: NumStyle;
    }
  | { readonly kind: 'name'; readonly target: 'helper' | 'kfunc' };

const holes = new Map<string, Hole>();

/** Parse the inside of a `{…}` hole. A few dozen kinds recur in hundreds of templates: parsed once each. */
export function parseHole(spec: string): Hole {
  let hole = holes.get(spec);
  if (!hole) {
    hole = parseHoleSpec(spec);
    holes.set(spec, hole);
  }
  return hole;
}

function parseHoleSpec(spec: string): Hole {
  const colon = spec.indexOf(':');
  const field = colon < 0 ? spec : spec.slice(0, colon);
  const style = colon < 0 ? undefined : spec.slice(colon + 1);
  if ((field === 'dst' || field === 'src') && (style === 'r' || style === 'w')) {
    return { kind: 'reg', field, width: style };
  }
  if (field === 'name' && (style === 'helper' || style === 'kfunc')) return { kind: 'name', target: style };
  if (
    field === 'off' ||
    field === 'imm' ||
    field === 'imm2' ||
    field === 'immhi' ||
    field === 'immlo' ||
    field === 'src' ||
    field === 'value'
  ) {
    return { kind: 'num', field, style: style as NumStyle };
  }
  throw new Error(`llvm syntax table: bad hole {${spec}}`);
}

const HOLE = /\{([^}]+)\}/g;

// ---------------------------------------------------------------------------------------------
// The syntax table, derived from the opcode table kind by kind.

/** `u8`…`u64` (or `s8`…`s32` for sign-extending loads), the C type of an access. */
function cType(size: number, signed = false): string {
  return `${signed ? 's' : 'u'}${size * 8}`;
}

function aluSyntaxes(f: AluForm): Syntax[] {
  const w = f.bits === 64 ? 'r' : 'w';
  const d = `{dst:${w}}`;
  const s = `{src:${w}}`;
  if (f.op === 'neg') {
    // The table's operator for neg is `= -`: `r0 = -r0`.
    return both(`${d} ${f.operator}${d}`);
  }
  if (f.op === 'movsx') return both(`${d} ${f.operator} (s${f.extend})${s}`);
  if (f.op === 'addr_space_cast') {
    // imm is dst_as << 16 | src_as; both tools print the destination space first.
    return [
      { template: `${d} = addr_space_cast(${s}, {immhi:hex}, {immlo:hex})`, flavor: 'objdump' },
      { template: `${d} = addr_space_cast(${s}, {immhi:udec}, {immlo:udec})`, flavor: 'verifier' },
    ];
  }
  if (f.source === 'reg') return both(`${d} ${f.operator} ${s}`);
  return [
    { template: `${d} ${f.operator} {imm:hex}`, flavor: 'objdump' },
    { template: `${d} ${f.operator} {imm:dec}`, flavor: 'verifier' },
  ];
}

function jmpSyntaxes(f: JmpForm): Syntax[] {
  if (f.op === 'may_goto') {
    return [
      { template: 'may_goto {off:rel}', flavor: 'objdump' },
      { template: 'may_goto pc{off:reldec}', flavor: 'verifier' },
    ];
  }
  if (f.op === 'ja') {
    // gotol (JMP32 ja, since 6.6) carries its target in imm, goto in off.
    const [word, field] = f.bits === 32 ? ['gotol', 'imm'] : ['goto', 'off'];
    return [
      { template: `${word} {${field}:rel}`, flavor: 'objdump' },
      { template: `${word} pc{${field}:reldec}`, flavor: 'verifier' },
    ];
  }
  const w = f.bits === 64 ? 'r' : 'w';
  const rhs = (style: NumStyle) => (f.source === 'reg' ? `{src:${w}}` : `{imm:${style}}`);
  return [
    { template: `if {dst:${w}} ${f.operator} ${rhs('hex')} goto {off:rel}`, flavor: 'objdump' },
    // The kernel prints a comparison immediate as 0x%x of its u32 bits.
    { template: `if {dst:${w}} ${f.operator} ${rhs('hex32')} goto pc{off:reldec}`, flavor: 'verifier' },
  ];
}

function callSyntaxes(f: CallForm): Syntax[] {
  switch (f.target) {
    case 'helper':
      return [
        { template: 'call {imm:hex}', flavor: 'objdump' },
        { template: 'call {name:helper}#{imm:dec}', flavor: 'verifier' },
      ];
    case 'local':
      return [
        // llvm-objdump-19 ignores the src field of a call: a bpf-to-bpf call reads like a helper call.
        { template: 'call {imm:hex}', flavor: 'objdump', lossy: true },
        { template: 'call pc{imm:rel}', flavor: 'objdump' },
        { template: 'call pc{imm:reldec}', flavor: 'verifier' },
        // llvm-mc's way to write a local call: the callee's label.
        { template: 'call {imm:label}', flavor: 'parse' },
      ];
    case 'kfunc': {
      // The kernel prints no module BTF index (off); a nonzero one needs the tsbpf suffix.
      const plain = (i: Insn) => i.off === 0;
      const withModule = 'call {name:kfunc}#{imm:dec} btf_fd_idx:{off:dec}';
      return [
        { template: 'call {imm:hex}', flavor: 'objdump', lossy: true },
        { template: 'call {name:kfunc}#{imm:dec}', flavor: 'objdump', when: plain },
        { template: withModule, flavor: 'objdump' },
        { template: 'call {name:kfunc}#{imm:dec}', flavor: 'verifier', when: plain },
        { template: withModule, flavor: 'verifier' },
      ];
    }
  }
}

function lddwSyntaxes(f: LddwForm): Syntax[] {
  // Pseudo sources print as bpftool's `print_imm()` does (tools/bpf/bpftool/xlated_dumper.c).
  // Where bpftool has no lossless form (BTF ids, map indexes without offset, or a second
  // immediate a source does not use), tsbpf writes `btf_id[N]`, `map[idx:N]`, or falls back to
  // LLVM's `ld_pseudo` with the second immediate as an extra operand.
  const unusedImm2 = (i: Insn) => i.kind === 'lddw' && i.imm2 === 0;
  const pseudo: Record<number, readonly [string, string, ((i: Insn) => boolean) | undefined]> = {
    [PseudoSrc.MAP_FD]: ['map[id:{imm:udec}]', 'map[id:{imm:udec}]', unusedImm2],
    [PseudoSrc.MAP_VALUE]: [
      'map[id:{imm:udec}][0]+{imm2:udec}',
      'map[id:{imm:udec}][0]+{imm2:udec}',
      undefined,
    ],
    [PseudoSrc.BTF_ID]: ['btf_id[{imm:udec}]', 'btf_id[{imm:udec}]', unusedImm2],
    [PseudoSrc.FUNC]: ['subprog[{imm:rel}]', 'subprog[{imm:reldec}]', unusedImm2],
    [PseudoSrc.MAP_IDX]: ['map[idx:{imm:udec}]', 'map[idx:{imm:udec}]', unusedImm2],
    [PseudoSrc.MAP_IDX_VALUE]: [
      'map[idx:{imm:udec}]+{imm2:udec}',
      'map[idx:{imm:udec}]+{imm2:udec}',
      undefined,
    ],
  };
  // LLVM's own spelling of a pseudo load (`ld_pseudo r1, 1, 3`), which llvm-mc accepts.
  const llvm: Syntax = { template: 'ld_pseudo {dst:r}, {src:const}, {imm:hex}', flavor: 'parse' };
  if (f.pseudo === PseudoSrc.IMM) {
    return [
      { template: '{dst:r} = {value:hex} ll', flavor: 'objdump' },
      { template: '{dst:r} = {value:uhex}', flavor: 'verifier', dialect: 'verifier' },
      llvm,
    ];
  }
  const [objdump, verifier, when] = pseudo[f.pseudo];
  return [
    { template: `{dst:r} = ${objdump}`, flavor: 'objdump', when },
    { template: 'ld_pseudo {dst:r}, {src:const}, {imm:hex}, {imm2:hex}', flavor: 'objdump' },
    { template: `{dst:r} = ${verifier}`, flavor: 'verifier', when },
    { template: 'ld_pseudo {dst:r}, {src:constdec}, {imm:dec}, {imm2:dec}', flavor: 'verifier' },
    llvm,
  ];
}

/** Register width of a sub-64-bit access in objdump's alu32 mode. */
function alu32Variants(size: number, make: (w: 'r' | 'w') => string): Syntax[] {
  if (size === 8) return [{ template: make('r'), flavor: 'objdump' }];
  return [
    { template: make('r'), flavor: 'objdump', alu32: false },
    { template: make('w'), flavor: 'objdump', alu32: true },
  ];
}

function ldxSyntaxes(f: LdxForm): Syntax[] {
  const t = cType(f.size, f.signed);
  const make = (w: string, off: NumStyle) => `{dst:${w}} = *(${t} *)({src:r} {off:${off}})`;
  return [
    // Sign-extending loads always write the full 64-bit register.
    ...(f.signed
      ? [{ template: make('r', 'mem'), flavor: 'objdump' } as Syntax]
      : alu32Variants(f.size, (w) => make(w, 'mem'))),
    { template: make('r', 'memdec'), flavor: 'verifier' },
  ];
}

function stSyntaxes(f: StForm): Syntax[] {
  const t = cType(f.size);
  return [
    { template: `*(${t} *)({dst:r} {off:mem}) = {imm:hex}`, flavor: 'objdump' },
    { template: `*(${t} *)({dst:r} {off:memdec}) = {imm:dec}`, flavor: 'verifier' },
  ];
}

function stxSyntaxes(f: StxForm): Syntax[] {
  const t = cType(f.size);
  return [
    ...alu32Variants(f.size, (w) => `*(${t} *)({dst:r} {off:mem}) = {src:${w}}`),
    { template: `*(${t} *)({dst:r} {off:memdec}) = {src:r}`, flavor: 'verifier' },
  ];
}

function atomicSyntaxes(f: AtomicForm): Syntax[] {
  const t = cType(f.size);
  const v64 = f.size === 8 ? '64' : '';
  const vaddr = `(${t} *)({dst:r} {off:memdec})`;
  const wide = f.size === 8 ? 'r' : 'w';
  switch (f.op) {
    case 'load_acquire':
      // Since 6.15; LLVM 19 cannot print it. Newer LLVM's text (its sub-64-bit forms exist only
      // with `w` registers, whatever the cpu) and the kernel's disasm.c text.
      return [
        { template: `{dst:${wide}} = load_acquire((${t} *)({src:r} {off:mem}))`, flavor: 'objdump' },
        { template: `{dst:r} = load_acquire((${t} *)({src:r} {off:memdec}))`, flavor: 'verifier' },
      ];
    case 'store_release':
      return [
        { template: `store_release((${t} *)({dst:r} {off:mem}), {src:${wide}})`, flavor: 'objdump' },
        { template: `store_release((${t} *)({dst:r} {off:memdec}), {src:r})`, flavor: 'verifier' },
      ];
    case 'xchg': {
      // LLVM spells the width twice: xchg_64, xchg32_32.
      const [name, w] = f.size === 8 ? [`${f.op}_64`, 'r'] : [`${f.op}32_32`, 'w'];
      return [
        { template: `{src:${w}} = ${name}({dst:r} {off:mem}, {src:${w}})`, flavor: 'objdump' },
        { template: `{src:r} = atomic${v64}_${f.op}(${vaddr}, {src:r})`, flavor: 'verifier' },
      ];
    }
    case 'cmpxchg': {
      // The comparand and the result are always r0, so they are literals, not holes.
      const [name, w] = f.size === 8 ? [`${f.op}_64`, 'r'] : [`${f.op}32_32`, 'w'];
      return [
        { template: `${w}0 = ${name}({dst:r} {off:mem}, ${w}0, {src:${w}})`, flavor: 'objdump' },
        { template: `r0 = atomic${v64}_${f.op}(${vaddr}, r0, {src:r})`, flavor: 'verifier' },
      ];
    }
    default: {
      if (f.fetch) {
        // llvm-objdump-19 without alu32 misdecodes 32-bit fetch operations, so both modes print
        // what it prints with alu32.
        const w = f.size === 8 ? 'r' : 'w';
        return [
          {
            template: `{src:${w}} = atomic_fetch_${f.op}((${t} *)({dst:r} {off:mem}), {src:${w}})`,
            flavor: 'objdump',
          },
          { template: `{src:r} = atomic${v64}_fetch_${f.op}(${vaddr}, {src:r})`, flavor: 'verifier' },
        ];
      }
      // Without alu32, llvm-objdump-19 knows only the 32-bit `lock +=` (printed with an `r`
      // register); the other 32-bit operations print as `<unknown>`, so they take the alu32 text.
      const make = (w: string) => `lock *(${t} *)({dst:r} {off:mem}) ${f.operator} {src:${w}}`;
      return [
        ...(f.size === 4 && f.op !== 'add'
          ? [{ template: make('w'), flavor: 'objdump' } as Syntax]
          : alu32Variants(f.size, make)),
        { template: `lock *(${t} *)({dst:r} {off:memdec}) ${f.operator} {src:r}`, flavor: 'verifier' },
      ];
    }
  }
}

function ldPacketSyntaxes(f: LdPacketForm): Syntax[] {
  const t = cType(f.size);
  if (f.kind === 'ldabs') {
    return [
      { template: `r0 = *(${t} *)skb[{imm:hex}]`, flavor: 'objdump' },
      { template: `r0 = *(${t} *)skb[{imm:dec}]`, flavor: 'verifier' },
    ];
  }
  return [
    // LLVM's ld_ind has no immediate operand: it prints (and llvm-mc encodes) skb[r1] alone, and
    // would print a nonzero immediate the same way. Print LLVM's text only where it is faithful.
    { template: `r0 = *(${t} *)skb[{src:r}]`, flavor: 'objdump', when: (i) => i.imm === 0 },
    { template: `r0 = *(${t} *)skb[{src:r} {imm:mem}]`, flavor: 'objdump' },
    { template: `r0 = *(${t} *)skb[{src:r} + {imm:dec}]`, flavor: 'verifier' },
  ];
}

function both(template: string): Syntax[] {
  return [
    { template, flavor: 'objdump' },
    { template, flavor: 'verifier' },
  ];
}

function buildSyntaxes(form: InsnForm): Syntax[] {
  switch (form.kind) {
    case 'alu':
      return aluSyntaxes(form);
    case 'end':
      // The table's mnemonic is LLVM's operator word: le16, be32, bswap64 (always `r` registers).
      return both(`{dst:r} = ${form.mnemonic} {dst:r}`);
    case 'jmp':
      return jmpSyntaxes(form);
    case 'call':
      return callSyntaxes(form);
    case 'callx':
      // The kernel has no text for callx (its verifier rejects it); both flavours use LLVM's.
      return both('callx {dst:r}');
    case 'exit':
      return both('exit');
    case 'lddw':
      return lddwSyntaxes(form);
    case 'ldx':
      return ldxSyntaxes(form);
    case 'st':
      return stSyntaxes(form);
    case 'stx':
      return stxSyntaxes(form);
    case 'atomic':
      return atomicSyntaxes(form);
    case 'ldabs':
    case 'ldind':
      return ldPacketSyntaxes(form);
  }
}

const syntaxCache = new Map<InsnForm, readonly Syntax[]>();

/** All the ways to write a form, printing preferences first. */
export function syntaxesOf(form: InsnForm): readonly Syntax[] {
  let list = syntaxCache.get(form);
  if (!list) {
    list = Object.freeze(buildSyntaxes(form));
    syntaxCache.set(form, list);
  }
  return list;
}

/**
 * Whether llvm-mc-19 / llvm-objdump-19 know the form with every operand value: not
 * load-acquire/store-release (since 6.15), kfunc calls (libbpf sets src 2 at load time), or
 * pseudo lddw sources (LLVM prints `ld_pseudo` and drops the second immediate).
 */
export function llvm19Knows(form: InsnForm): boolean {
  if (form.kind === 'atomic') return form.op !== 'load_acquire' && form.op !== 'store_release';
  if (form.kind === 'call') return form.target !== 'kfunc';
  if (form.kind === 'lddw') return form.pseudo === PseudoSrc.IMM;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Printing.

function signedHex(value: number | bigint): string {
  return value < 0 ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
}

function plusMinus(value: number, digits: (n: number) => string, space: string): string {
  return value < 0 ? `-${space}${digits(-value)}` : `+${space}${digits(value)}`;
}

const hexDigits = (n: number) => `0x${n.toString(16)}`;
const decDigits = (n: number) => `${n}`;

function formatNumber(value: number, style: NumStyle): string {
  switch (style) {
    case 'hex':
    case 'const':
      return signedHex(value);
    case 'dec':
    case 'constdec':
      return `${value}`;
    case 'udec':
      return `${value >>> 0}`;
    case 'hex32':
      return `0x${(value >>> 0).toString(16)}`;
    case 'mem':
      return plusMinus(value, hexDigits, ' ');
    case 'memdec':
      return plusMinus(value, decDigits, '');
    case 'rel':
      return plusMinus(value, hexDigits, '');
    case 'reldec':
      return plusMinus(value, decDigits, '');
    case 'uhex':
    case 'label':
      throw new Error(`llvm syntax table: style ${style} is not printable for a 32-bit field`);
  }
}

function defaultCallName(insn: Insn): string {
  if (insn.kind === 'call' && insn.form.target === 'kfunc') return 'kernel-function';
  const name = insn.imm >= 0 ? HELPER_NAMES[insn.imm] : undefined;
  return name === undefined ? 'unknown' : `bpf_${name}`;
}

function fillHole(spec: string, insn: Insn, options: FormatOptions): string {
  const hole = parseHole(spec);
  switch (hole.kind) {
    case 'reg':
      return `${hole.width}${insn[hole.field]}`;
    case 'name':
      return options.callName?.(insn) ?? defaultCallName(insn);
    case 'num': {
      if (hole.field === 'value') {
        const value = insn.kind === 'lddw' ? insn.value : 0n;
        return hole.style === 'uhex' ? `0x${value.toString(16)}` : signedHex(BigInt.asIntN(64, value));
      }
      const raw =
        hole.field === 'imm2'
          ? insn.kind === 'lddw'
            ? insn.imm2
            : 0
          : hole.field === 'immhi'
            ? insn.imm >>> 16
            : hole.field === 'immlo'
              ? insn.imm & 0xffff
              : insn[hole.field];
      return formatNumber(raw, hole.style);
    }
  }
}

function pickSyntax(insn: Insn, options: FormatOptions): Syntax {
  const flavor = options.flavor ?? 'objdump';
  const alu32 = options.alu32 ?? false;
  for (const syntax of syntaxesOf(insn.form)) {
    if (syntax.flavor !== flavor) continue;
    if (syntax.lossy && options.lossless) continue;
    if (syntax.alu32 !== undefined && syntax.alu32 !== alu32) continue;
    if (syntax.when && !syntax.when(insn)) continue;
    return syntax;
  }
  throw new Error(`llvm syntax table: no ${flavor} syntax for ${insn.form.mnemonic}`);
}

/** The slot a jump instruction lands on, or undefined for anything else. */
export function jumpTarget(insn: Insn): number | undefined {
  if (insn.kind !== 'jmp') return undefined;
  const delta = insn.form.op === 'ja' && insn.form.bits === 32 ? insn.imm : insn.off;
  return insn.slot + 1 + delta;
}

/**
 * Print one instruction in kernel/LLVM syntax, without a trailing newline.
 *
 * @example formatInsn(insn) // 'if r1 > 0x5 goto +0x3'
 * @example formatInsn(insn, { flavor: 'verifier' }) // 'if r1 > 0x5 goto pc+3'
 */
export function formatInsn(insn: Insn, options: FormatOptions = {}): string {
  const syntax = pickSyntax(insn, options);
  let text = syntax.template.replace(HOLE, (_, spec: string) => fillHole(spec, insn, options));
  if ((options.flavor ?? 'objdump') === 'objdump') {
    const target = options.symbolize ? jumpTarget(insn) : undefined;
    const name = target === undefined ? undefined : options.symbolize!(target, insn);
    if (name !== undefined) text += ` <${name}>`;
  } else if (options.opcode) {
    text = `(${insn.opcode.toString(16).padStart(2, '0')}) ${text}`;
  }
  return text;
}

function slotBytes(insn: Insn): string {
  const bytes: number[] = [insn.opcode, ((insn.src & 0xf) << 4) | (insn.dst & 0xf)];
  const push = (value: number, width: number) => {
    for (let i = 0; i < width; i++) bytes.push((value >>> (8 * i)) & 0xff);
  };
  push(insn.off & 0xffff, 2);
  push(insn.imm, 4);
  if (insn.kind === 'lddw') {
    bytes.push(0, 0, 0, 0);
    push(insn.imm2, 4);
  }
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Print a program, one line per instruction (plus one per relocation note). The instructions'
 * `slot` fields give the listing indexes and jump targets, so pass a laid-out program.
 */
export function disassemble(insns: readonly Insn[], options: DisassembleOptions = {}): string[] {
  const objdump = (options.flavor ?? 'objdump') === 'objdump';
  const lines: string[] = [];
  for (const insn of insns) {
    const text = formatInsn(insn, options);
    if (!options.listing) lines.push(text);
    else if (objdump) lines.push(`${String(insn.slot).padStart(8)}:\t${slotBytes(insn)}\t${text}`);
    else lines.push(`${insn.slot}: ${text}`);
    const note = objdump ? options.relocation?.(insn) : undefined;
    if (note) {
      const at = (insn.slot * SLOT_SIZE).toString(16).padStart(16, '0');
      lines.push(`\t\t${at}:  ${note.type}\t${note.symbol}`);
    }
  }
  return lines;
}
