/**
 * The numeric vocabulary of the BPF instruction set (RFC 9669, Linux `include/uapi/linux/bpf.h`).
 *
 * An instruction slot is 8 bytes, little-endian by default:
 *
 * ```
 *  byte:  0        1          2     3     4     5     6     7
 *        +--------+----+----+-----------+-----------------------+
 *        | opcode |src |dst |  offset   |       immediate       |
 *        +--------+----+----+-----------+-----------------------+
 *                  hi   lo    s16 (LE)           s32 (LE)
 * ```
 * (On a big-endian object the register nibbles swap: dst is the high nibble.)
 *
 * The opcode byte is `class` in the low 3 bits; for ALU/JMP classes `source` (bit 3) and
 * `operation` (bits 4–7); for load/store classes `size` (bits 3–4) and `mode` (bits 5–7).
 */

/** Instruction classes (opcode bits 0–2). */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;

/** Source operand flag for ALU and JMP classes (opcode bit 3). */
export const Source = { K: 0x00, X: 0x08 } as const;

/** ALU operation codes (opcode bits 4–7). */
export const AluCode = {
  add: 0x00,
  sub: 0x10,
  mul: 0x20,
  div: 0x30,
  or: 0x40,
  and: 0x50,
  lsh: 0x60,
  rsh: 0x70,
  neg: 0x80,
  mod: 0x90,
  xor: 0xa0,
  mov: 0xb0,
  arsh: 0xc0,
  end: 0xd0,
} as const;

/** Jump operation codes (opcode bits 4–7). */
export const JmpCode = {
  ja: 0x00,
  jeq: 0x10,
  jgt: 0x20,
  jge: 0x30,
  jset: 0x40,
  jne: 0x50,
  jsgt: 0x60,
  jsge: 0x70,
  call: 0x80,
  exit: 0x90,
  jlt: 0xa0,
  jle: 0xb0,
  jslt: 0xc0,
  jsle: 0xd0,
  /** BPF_JCOND: a conditional pseudo-jump the kernel decides, selected by src (since 6.9). */
  jcond: 0xe0,
} as const;

/** What a `BPF_JMP | BPF_JCOND` instruction's src field selects. */
export const JcondSrc = {
  /** `may_goto`: falls through while the kernel's per-frame loop budget lasts, then jumps. */
  MAY_GOTO: 0,
} as const;

/**
 * The offset that turns `BPF_ALU64 | BPF_MOV | BPF_X` into `addr_space_cast` (since 6.9): imm is
 * `dst_as << 16 | src_as`, converting a pointer between the arena (1) and the kernel (0).
 */
export const ADDR_SPACE_CAST_OFF = 1;

/** Access size codes (opcode bits 3–4) and their byte widths. */
export const SizeCode = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;
export type AccessSize = 1 | 2 | 4 | 8;
export const sizeBytes: Readonly<Record<number, AccessSize>> = {
  [SizeCode.W]: 4,
  [SizeCode.H]: 2,
  [SizeCode.B]: 1,
  [SizeCode.DW]: 8,
};
export const sizeCodeOf: Readonly<Record<AccessSize, number>> = {
  4: SizeCode.W,
  2: SizeCode.H,
  1: SizeCode.B,
  8: SizeCode.DW,
};

/** Load/store modes (opcode bits 5–7). */
export const Mode = { IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, MEMSX: 0x80, ATOMIC: 0xc0 } as const;

/** Atomic operation codes, carried in the immediate of a `BPF_ATOMIC` instruction. */
export const AtomicCode = {
  add: 0x00,
  or: 0x40,
  and: 0x50,
  xor: 0xa0,
  fetch: 0x01,
  xchg: 0xe1,
  cmpxchg: 0xf1,
  /** since 6.15 */
  loadAcquire: 0x100,
  /** since 6.15 */
  storeRelease: 0x110,
} as const;

/**
 * Pseudo sources of a 64-bit immediate load (`lddw`, opcode 0x18): what the immediate names.
 */
export const PseudoSrc = {
  /** plain 64-bit immediate */
  IMM: 0,
  /** BPF_PSEUDO_MAP_FD: imm is a map file descriptor */
  MAP_FD: 1,
  /** BPF_PSEUDO_MAP_VALUE: imm is a map fd, the second imm an offset into its value */
  MAP_VALUE: 2,
  /** BPF_PSEUDO_BTF_ID: imm is a BTF type id of a kernel variable (since 5.10) */
  BTF_ID: 3,
  /** BPF_PSEUDO_FUNC: imm is a relative instruction offset of a subprogram (since 5.13) */
  FUNC: 4,
  /** BPF_PSEUDO_MAP_IDX: imm is an index into the fd array (since 5.14) */
  MAP_IDX: 5,
  /** BPF_PSEUDO_MAP_IDX_VALUE: map index plus value offset (since 5.14) */
  MAP_IDX_VALUE: 6,
} as const;

/** What a `call` instruction's src field selects. */
export const CallSrc = { HELPER: 0, LOCAL: 1, KFUNC: 2 } as const;

/** Number of general registers r0–r10. */
export const REGISTER_COUNT = 11;
/** r10, the read-only frame pointer. */
export const FRAME_POINTER = 10;
/** Size of one instruction slot in bytes. */
export const SLOT_SIZE = 8;
