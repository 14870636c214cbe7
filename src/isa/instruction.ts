/**
 * Instruction records and the byte codec.
 *
 * An {@link Insn} is one logical instruction: a plain readonly record of the raw fields plus the
 * {@link InsnForm} they decode to. A 64-bit immediate load (`lddw`) is one instruction two slots
 * wide: `imm` is the low half, `imm2` the high half (the second slot's immediate), and `value`
 * the whole 64-bit immediate.
 */
import { TsbpfError } from '../errors.js';
import { REGISTER_COUNT, SLOT_SIZE } from './opcodes.js';
import { FORMS_BY_OPCODE, type InsnForm, type RawField } from './table.js';

/** The raw fields of one instruction slot. */
export interface RawInsn {
  readonly opcode: number;
  /** destination register field, 0–15 */
  readonly dst: number;
  /** source register field, 0–15 */
  readonly src: number;
  /** signed 16-bit offset */
  readonly off: number;
  /** signed 32-bit immediate */
  readonly imm: number;
}

type Decoded<F extends InsnForm, K extends string = F['kind']> = RawInsn & {
  readonly kind: K;
  readonly form: F;
  /** Index of the instruction's first slot in its program. */
  readonly slot: number;
};

/** The form type whose `kind` admits K (distributes over the union). */
type FormOfKind<K extends string, F = InsnForm> = F extends { kind: infer FK }
  ? K extends FK
    ? F
    : never
  : never;

/** A decoded instruction; switch on `kind` and read the details from `form`. */
export type Insn = {
  [K in InsnForm['kind']]: K extends 'lddw'
    ? Decoded<FormOfKind<K>, K> & {
        /** the second slot's immediate (high 32 bits of the value, or a map value offset) */
        readonly imm2: number;
        /** the full 64-bit immediate, unsigned */
        readonly value: bigint;
      }
    : Decoded<FormOfKind<K>, K>;
}[InsnForm['kind']];

/** Number of 8-byte slots an instruction occupies. */
export function slotCount(insn: { readonly kind: string }): 1 | 2 {
  return insn.kind === 'lddw' ? 2 : 1;
}

/** An encoding that is not a valid instruction, with the slot index, byte offset and reason. */
export class InvalidInstructionError extends TsbpfError {
  override name = 'InvalidInstructionError';
  readonly slot: number;
  readonly byteOffset: number;
  readonly field: RawField | 'opcode' | 'slot' | undefined;
  constructor(slot: number, reason: string, field?: RawField | 'opcode' | 'slot') {
    super(`decode: instruction ${slot} (byte offset ${slot * SLOT_SIZE}): ${reason}`);
    this.slot = slot;
    this.byteOffset = slot * SLOT_SIZE;
    this.field = field;
  }
}

export interface DecodeOptions {
  /** Read a big-endian object (`bpfeb`): multi-byte fields big-endian, dst in the high nibble. */
  readonly bigEndian?: boolean;
}

/** Read the raw fields of slot `index`. */
export function readSlot(bytes: Uint8Array, index: number, options: DecodeOptions = {}): RawInsn {
  // Plain byte arithmetic, not a DataView per slot: decode reads every slot of large programs.
  const at = index * SLOT_SIZE;
  const regs = bytes[at + 1];
  if (options.bigEndian) {
    return {
      opcode: bytes[at],
      dst: regs >> 4,
      src: regs & 0x0f,
      off: ((bytes[at + 2] << 24) | (bytes[at + 3] << 16)) >> 16,
      imm: (bytes[at + 4] << 24) | (bytes[at + 5] << 16) | (bytes[at + 6] << 8) | bytes[at + 7],
    };
  }
  return {
    opcode: bytes[at],
    dst: regs & 0x0f,
    src: regs >> 4,
    off: ((bytes[at + 3] << 24) | (bytes[at + 2] << 16)) >> 16,
    imm: bytes[at + 4] | (bytes[at + 5] << 8) | (bytes[at + 6] << 16) | (bytes[at + 7] << 24),
  };
}

/** Write raw fields into slot `index` of `bytes`. */
export function writeSlot(bytes: Uint8Array, index: number, raw: RawInsn, options: DecodeOptions = {}): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset + index * SLOT_SIZE, SLOT_SIZE);
  const le = !options.bigEndian;
  view.setUint8(0, raw.opcode);
  view.setUint8(1, le ? ((raw.src & 0xf) << 4) | (raw.dst & 0xf) : ((raw.dst & 0xf) << 4) | (raw.src & 0xf));
  view.setInt16(2, raw.off, le);
  view.setInt32(4, raw.imm, le);
}

function hex(value: number): string {
  return value < 0 ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;
}

const RAW_FIELDS = ['dst', 'src', 'off', 'imm'] as const;

/** Find the form of a raw slot, or explain why there is none. */
export function formOf(raw: RawInsn, slot: number): InsnForm {
  const candidates = FORMS_BY_OPCODE[raw.opcode];
  if (candidates.length === 0) {
    throw new InvalidInstructionError(
      slot,
      `unknown opcode 0x${raw.opcode.toString(16).padStart(2, '0')}`,
      'opcode',
    );
  }
  let form: InsnForm | undefined = candidates[0];
  if (candidates.length > 1 || form.select) {
    form = candidates.find((f) => f.select === undefined || raw[f.select.field] === f.select.value);
    if (!form) {
      const field = candidates[0].select!.field;
      const allowed = candidates.map((f) => (f.select ? f.select.value : 0)).join(', ');
      throw new InvalidInstructionError(
        slot,
        `opcode 0x${raw.opcode.toString(16).padStart(2, '0')} (${candidates[0].mnemonic}) has invalid ${field} ${hex(raw[field])} (expected one of ${allowed})`,
        field,
      );
    }
  }
  if (form.immValues && !form.immValues.includes(raw.imm)) {
    // The selecting field names no instruction with this immediate (the kernel: "addr_space_cast
    // insn can only convert between address space 1 and 0"), so blame the selector, as for mov.
    const field = form.select?.field ?? 'imm';
    throw new InvalidInstructionError(
      slot,
      `opcode 0x${raw.opcode.toString(16).padStart(2, '0')} with ${field} ${hex(raw[field])} (${form.mnemonic}) needs imm ${form.immValues.map(hex).join(' or ')}, not ${hex(raw.imm)}`,
      field,
    );
  }
  // indexed: every instruction assembled or decoded passes here, and an iterator step allocates
  for (let f = 0; f < RAW_FIELDS.length; f++) {
    const field = RAW_FIELDS[f]!;
    const rule = form.rules[field];
    const value = raw[field];
    if (rule === 'zero' && value !== 0) {
      throw new InvalidInstructionError(
        slot,
        `${form.mnemonic} uses reserved field ${field} (${hex(value)}, must be 0)`,
        field,
      );
    }
    if (rule === 'reg' && value >= REGISTER_COUNT) {
      throw new InvalidInstructionError(slot, `${form.mnemonic}: invalid ${field} register r${value}`, field);
    }
  }
  return form;
}

/**
 * Decode a program (a multiple of 8 bytes) into instructions. Throws
 * {@link InvalidInstructionError} for any slot that is not a valid encoding.
 */
export function decode(bytes: Uint8Array, options: DecodeOptions = {}): Insn[] {
  if (bytes.length % SLOT_SIZE !== 0) {
    throw new InvalidInstructionError(
      Math.floor(bytes.length / SLOT_SIZE),
      `program length ${bytes.length} is not a multiple of ${SLOT_SIZE} bytes`,
      'slot',
    );
  }
  const slots = bytes.length / SLOT_SIZE;
  const insns: Insn[] = [];
  for (let slot = 0; slot < slots; slot++) {
    const raw = readSlot(bytes, slot, options);
    const form = formOf(raw, slot);
    if (form.kind === 'lddw') {
      if (slot + 1 >= slots)
        throw new InvalidInstructionError(slot, 'lddw is missing its second slot', 'slot');
      const next = readSlot(bytes, slot + 1, options);
      if (next.opcode !== 0 || next.dst !== 0 || next.src !== 0 || next.off !== 0) {
        throw new InvalidInstructionError(
          slot + 1,
          'second slot of lddw must have zero opcode, registers and offset',
          'slot',
        );
      }
      insns.push(makeLddw(raw, form, slot, next.imm));
      slot++;
    } else {
      insns.push(plainInsn(raw, form, slot));
    }
  }
  return insns;
}

/**
 * A non-lddw instruction as one literal: every record gets the same hidden class. (An object
 * spread here made V8 build each record by a slow generic path: a million took seconds.)
 */
function plainInsn(raw: RawInsn, form: InsnForm, slot: number): Insn {
  const { opcode, dst, src, off, imm } = raw;
  return { opcode, dst, src, off, imm, kind: form.kind, form, slot } as Insn;
}

function makeLddw(raw: RawInsn, form: InsnForm, slot: number, imm2: number): Insn {
  const value = (BigInt(imm2 >>> 0) << 32n) | BigInt(raw.imm >>> 0);
  const { opcode, dst, src, off, imm } = raw;
  return { opcode, dst, src, off, imm, kind: 'lddw', form, slot, imm2, value } as Insn;
}

/**
 * Build an instruction from raw fields, validating them exactly as {@link decode} does. `imm2`
 * is required for lddw (the second slot's immediate).
 */
export function makeInsn(raw: RawInsn, slot = 0, imm2 = 0): Insn {
  const form = formOf(raw, slot);
  return form.kind === 'lddw' ? makeLddw(raw, form, slot, imm2) : plainInsn(raw, form, slot);
}

/** Encode instructions back to bytes; `decode(encode(x))` and `encode(decode(b))` are identities. */
export function encode(insns: readonly Insn[], options: DecodeOptions = {}): Uint8Array {
  const slots = insns.reduce((n, insn) => n + slotCount(insn), 0);
  const bytes = new Uint8Array(slots * SLOT_SIZE);
  let slot = 0;
  for (const insn of insns) {
    writeSlot(bytes, slot++, insn, options);
    if (insn.kind === 'lddw')
      writeSlot(bytes, slot++, { opcode: 0, dst: 0, src: 0, off: 0, imm: insn.imm2 }, options);
  }
  return bytes;
}

/** Renumber `slot` fields so they are consecutive from 0 (after assembling or editing). */
export function layout(insns: readonly Insn[]): Insn[] {
  let slot = 0;
  return insns.map((insn) => {
    const placed = insn.slot === slot ? insn : ({ ...insn, slot } as Insn);
    slot += slotCount(insn);
    return placed;
  });
}
