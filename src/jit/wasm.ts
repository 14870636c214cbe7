/**
 * A small WebAssembly binary emitter: just what the JIT needs (function types, imported memory,
 * functions and globals, mutable globals, exports, code with structured control flow).
 *
 * ```
 *  module  = magic version  type* import* function* global* export* code*     (sections 1,2,3,6,7,10)
 *  code    = size  local-groups  expression  0x0b
 * ```
 *
 * Integers are LEB128; a function body is built by {@link Code}, one opcode at a time.
 */

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F64 = 0x7c;
export type ValType = typeof I32 | typeof I64 | typeof F64;

/** Opcodes the JIT emits (names as in the WebAssembly text format). */
export const Op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  br_table: 0x0e,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,
  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  global_get: 0x23,
  global_set: 0x24,
  i32_load: 0x28,
  i64_load: 0x29,
  f64_load: 0x2b,
  i64_load8_s: 0x30,
  i64_load8_u: 0x31,
  i64_load16_s: 0x32,
  i64_load16_u: 0x33,
  i64_load32_s: 0x34,
  i64_load32_u: 0x35,
  i32_store: 0x36,
  i64_store: 0x37,
  f64_store: 0x39,
  i64_store8: 0x3c,
  i64_store16: 0x3d,
  i64_store32: 0x3e,
  i32_const: 0x41,
  i64_const: 0x42,
  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_gt_s: 0x4a,
  i32_gt_u: 0x4b,
  i32_le_s: 0x4c,
  i32_le_u: 0x4d,
  i32_ge_s: 0x4e,
  i32_ge_u: 0x4f,
  i64_eqz: 0x50,
  i64_eq: 0x51,
  i64_ne: 0x52,
  i64_lt_s: 0x53,
  i64_lt_u: 0x54,
  i64_gt_s: 0x55,
  i64_gt_u: 0x56,
  i64_le_s: 0x57,
  i64_le_u: 0x58,
  i64_ge_s: 0x59,
  i64_ge_u: 0x5a,
  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_div_s: 0x6d,
  i32_div_u: 0x6e,
  i32_rem_s: 0x6f,
  i32_rem_u: 0x70,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_xor: 0x73,
  i32_shl: 0x74,
  i32_shr_s: 0x75,
  i32_shr_u: 0x76,
  i32_rotl: 0x77,
  i64_add: 0x7c,
  i64_sub: 0x7d,
  i64_mul: 0x7e,
  i64_div_s: 0x7f,
  i64_div_u: 0x80,
  i64_rem_s: 0x81,
  i64_rem_u: 0x82,
  i64_and: 0x83,
  i64_or: 0x84,
  i64_xor: 0x85,
  i64_shl: 0x86,
  i64_shr_s: 0x87,
  i64_shr_u: 0x88,
  i64_rotl: 0x89,
  i32_wrap_i64: 0xa7,
  i64_extend_i32_s: 0xac,
  i64_extend_i32_u: 0xad,
  i64_trunc_f64_s: 0xb0,
  f64_convert_i64_s: 0xb9,
  i64_extend8_s: 0xc2,
  i64_extend16_s: 0xc3,
  i64_extend32_s: 0xc4,
  i32_extend8_s: 0xc0,
  i32_extend16_s: 0xc1,
} as const;

/** The 0xfc-prefixed bulk memory fill. */
const MEMORY_FILL = 0x0b;
const EMPTY_BLOCK = 0x40;

/**
 * Buffers of function bodies already copied into a module, for the next ones: a large program's
 * body grows to hundreds of kilobytes, and allocating (and zeroing) that anew by doubling on
 * every compile costs more than writing it.
 */
const spareBuffers: Uint8Array[] = [];

/** A growable byte buffer with LEB128 writers. */
export class Bytes {
  protected buf: Uint8Array;
  length = 0;

  constructor(buffer?: Uint8Array) {
    this.buf = buffer ?? new Uint8Array(256);
  }

  byte(b: number): this {
    if (this.length === this.buf.length) {
      const bigger = new Uint8Array(Math.max(256, this.buf.length * 2));
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.length++] = b;
    return this;
  }

  bytes(data: ArrayLike<number>): this {
    const need = this.length + data.length;
    if (need > this.buf.length) {
      const bigger = new Uint8Array(Math.max(need, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
    }
    this.buf.set(data, this.length);
    this.length = need;
    return this;
  }

  u32(value: number): this {
    let v = value >>> 0;
    do {
      const b = v & 0x7f;
      v >>>= 7;
      this.byte(v === 0 ? b : b | 0x80);
    } while (v !== 0);
    return this;
  }

  s32(value: number): this {
    let v = value | 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  s64(value: bigint): this {
    let v = BigInt.asIntN(64, value);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  /** Signed LEB128 of a safe integer beyond 32 bits, without BigInt. */
  sSafe(value: number): this {
    let v = value;
    for (;;) {
      const b = ((v % 128) + 128) % 128;
      v = Math.floor(v / 128);
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  name(text: string): this {
    const encoded = new TextEncoder().encode(text);
    return this.u32(encoded.length).bytes(encoded);
  }

  /** A length-prefixed copy of another buffer. */
  sized(inner: Bytes): this {
    return this.u32(inner.length).bytes(inner.view());
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** One function body: locals declared up front, then an expression. */
export class Code extends Bytes {
  constructor() {
    super(spareBuffers.pop());
  }

  /** Give the buffer back for another body (this one is no longer used). */
  release(): void {
    if (spareBuffers.length < 16) spareBuffers.push(this.buf);
    this.buf = new Uint8Array(0);
    this.length = 0;
  }

  /** Emit a bare opcode. */
  op(code: number): this {
    return this.byte(code);
  }
  i32(value: number): this {
    return this.byte(Op.i32_const).s32(value);
  }
  /** An i64 constant; numbers (safe integers: most offsets and immediates) skip BigInt arithmetic. */
  i64(value: bigint | number): this {
    this.byte(Op.i64_const);
    if (typeof value === 'number') return value === (value | 0) ? this.s32(value) : this.sSafe(value);
    if (value >= -0x8000_0000n && value < 0x8000_0000n) return this.s32(Number(value));
    return this.s64(value);
  }
  get(local: number): this {
    return this.byte(Op.local_get).u32(local);
  }
  set(local: number): this {
    return this.byte(Op.local_set).u32(local);
  }
  tee(local: number): this {
    return this.byte(Op.local_tee).u32(local);
  }
  gget(global: number): this {
    return this.byte(Op.global_get).u32(global);
  }
  gset(global: number): this {
    return this.byte(Op.global_set).u32(global);
  }
  call(func: number): this {
    return this.byte(Op.call).u32(func);
  }
  /** A load or store with alignment hint 1 (eBPF accesses need not be aligned). */
  mem(code: number, offset = 0): this {
    return this.byte(code).u32(0).u32(offset);
  }
  block(): this {
    return this.byte(Op.block).byte(EMPTY_BLOCK);
  }
  loop(): this {
    return this.byte(Op.loop).byte(EMPTY_BLOCK);
  }
  /** `if` with no result, or with one result of type `result`. */
  if(result?: ValType): this {
    return this.byte(Op.if).byte(result ?? EMPTY_BLOCK);
  }
  else(): this {
    return this.byte(Op.else);
  }
  end(): this {
    return this.byte(Op.end);
  }
  br(depth: number): this {
    return this.byte(Op.br).u32(depth);
  }
  brIf(depth: number): this {
    return this.byte(Op.br_if).u32(depth);
  }
  brTable(depths: readonly number[], fallback: number): this {
    this.byte(Op.br_table).u32(depths.length);
    for (const d of depths) this.u32(d);
    return this.u32(fallback);
  }
  /** memory.fill(dest, value, length) with the operands on the stack. */
  fill(): this {
    return this.byte(0xfc).u32(MEMORY_FILL).byte(0);
  }
}

export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

interface ImportedFunc {
  readonly module: string;
  readonly name: string;
  readonly type: number;
}

interface DefinedFunc {
  readonly type: number;
  locals: readonly ValType[];
  body: Code | undefined;
}

interface GlobalDef {
  readonly type: ValType;
  readonly init: number;
}

/**
 * A module under construction. Imported functions are numbered first, then defined ones, as the
 * binary format requires: declare every import before the first {@link defineFunction}.
 */
export class ModuleBuilder {
  private readonly types: FuncType[] = [];
  private readonly typeKeys = new Map<string, number>();
  private readonly imports: ImportedFunc[] = [];
  private readonly funcs: DefinedFunc[] = [];
  private readonly globals: GlobalDef[] = [];
  private readonly exports: Array<{ name: string; kind: number; index: number }> = [];
  private memoryImport: { module: string; name: string } | undefined;

  type(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(',')}>${results.join(',')}`;
    let index = this.typeKeys.get(key);
    if (index === undefined) {
      index = this.types.length;
      this.types.push({ params, results });
      this.typeKeys.set(key, index);
    }
    return index;
  }

  importMemory(module: string, name: string): void {
    this.memoryImport = { module, name };
  }

  importFunction(
    module: string,
    name: string,
    params: readonly ValType[],
    results: readonly ValType[],
  ): number {
    if (this.funcs.length > 0) throw new Error('wasm: imports must precede defined functions');
    this.imports.push({ module, name, type: this.type(params, results) });
    return this.imports.length - 1;
  }

  /** Reserve a function index; its body comes later through {@link setBody}. */
  defineFunction(params: readonly ValType[], results: readonly ValType[]): number {
    this.funcs.push({ type: this.type(params, results), locals: [], body: undefined });
    return this.imports.length + this.funcs.length - 1;
  }

  setBody(index: number, locals: readonly ValType[], body: Code): void {
    const func = this.funcs[index - this.imports.length];
    func.locals = locals;
    func.body = body;
  }

  /** A mutable global, initialised to a constant. */
  global(type: ValType, init = 0): number {
    this.globals.push({ type, init });
    return this.globals.length - 1;
  }

  exportFunction(name: string, index: number): void {
    this.exports.push({ name, kind: 0, index });
  }

  exportGlobal(name: string, index: number): void {
    this.exports.push({ name, kind: 3, index });
  }

  /** The module's bytes. */
  finish(): Uint8Array {
    const out = new Bytes().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const section = (id: number, fill: (s: Bytes) => void) => {
      const s = new Bytes();
      fill(s);
      out.byte(id).sized(s);
    };
    section(1, (s) => {
      s.u32(this.types.length);
      for (const t of this.types) {
        s.byte(0x60).u32(t.params.length).bytes(t.params).u32(t.results.length).bytes(t.results);
      }
    });
    section(2, (s) => {
      s.u32(this.imports.length + (this.memoryImport ? 1 : 0));
      if (this.memoryImport) {
        // Memory import with limits min 1, no maximum: the VM owns the real limits.
        s.name(this.memoryImport.module).name(this.memoryImport.name).byte(0x02).byte(0x00).u32(1);
      }
      for (const imp of this.imports) s.name(imp.module).name(imp.name).byte(0x00).u32(imp.type);
    });
    section(3, (s) => {
      s.u32(this.funcs.length);
      for (const f of this.funcs) s.u32(f.type);
    });
    if (this.globals.length > 0) {
      section(6, (s) => {
        s.u32(this.globals.length);
        for (const g of this.globals) {
          s.byte(g.type).byte(0x01);
          if (g.type === I32) s.byte(Op.i32_const).s32(g.init);
          else if (g.type === I64) s.byte(Op.i64_const).s64(BigInt(g.init));
          else {
            const f = new Uint8Array(new Float64Array([g.init]).buffer);
            s.byte(0x44).bytes(f);
          }
          s.byte(Op.end);
        }
      });
    }
    section(7, (s) => {
      s.u32(this.exports.length);
      for (const e of this.exports) s.name(e.name).byte(e.kind).u32(e.index);
    });
    // The code section, written straight into the module's one exact-size buffer.
    const heads = this.funcs.map((f) => {
      if (!f.body) throw new Error('wasm: a defined function has no body');
      // Run-length groups of equal local types.
      const groups: Array<[number, ValType]> = [];
      for (const t of f.locals) {
        const last = groups[groups.length - 1];
        if (last && last[1] === t) last[0]++;
        else groups.push([1, t]);
      }
      const head = new Bytes();
      head.u32(groups.length);
      for (const [n, t] of groups) head.u32(n).byte(t);
      return head;
    });
    let codeSize = lebSize(this.funcs.length);
    const bodySizes = this.funcs.map((f, k) => {
      const size = heads[k].length + f.body!.length + 1;
      codeSize += lebSize(size) + size;
      return size;
    });
    const head = out.view();
    const module = new Uint8Array(head.length + 1 + lebSize(codeSize) + codeSize);
    module.set(head);
    const code = new Bytes(module);
    code.length = head.length;
    code.byte(10).u32(codeSize).u32(this.funcs.length);
    this.funcs.forEach((f, k) => {
      const body = f.body!;
      code.u32(bodySizes[k]).bytes(heads[k].view()).bytes(body.view()).byte(Op.end);
      body.release();
      f.body = undefined;
    });
    if (code.length !== module.length) throw new Error('wasm: code section size miscounted');
    return module;
  }
}

/** Bytes of `value` as unsigned LEB128. */
function lebSize(value: number): number {
  let size = 1;
  for (let v = value >>> 7; v !== 0; v >>>= 7) size++;
  return size;
}
