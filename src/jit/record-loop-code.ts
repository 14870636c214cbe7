/**
 * The record loop's code (`jit/record-loop.ts` says what it does): a function `walk` and its
 * globals, emitted into a program's module beside its fresh-run entry, which it calls directly
 * (one module to compile and instantiate per program, not two).
 */
import { Code, F64, I32, type ModuleBuilder, Op } from './wasm.js';

/** The loop's globals, exported as {@link LOOP_GLOBAL_PREFIX} and the name. */
export const LOOP_GLOBALS = ['record', 'next', 'packets', 'retval', 'dirty'] as const;
export type LoopGlobal = (typeof LOOP_GLOBALS)[number];
export const LOOP_GLOBAL_PREFIX = 'loop_';
/** Export name of the loop's function. */
export const WALK = 'walk';
const PACKET_HEADER = 16;
const ETH_HLEN = 14;

// Parameters of `walk`, then locals.
const P = {
  pos: 0,
  limit: 1,
  swap: 2,
  data: 3,
  maxLength: 4,
  ctx: 5,
  dataField: 6,
  endField: 7,
  metaField: 8,
  counts: 9,
  seen: 10,
  keep: 11,
  fp: 12,
  fuel: 13,
  stackBase: 14,
  fresh: 15,
  length: 16,
  end: 17,
  r0: 18,
  slot: 19,
  at: 20,
} as const;
const PARAMS = [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F64, I32, I32] as const;

/** `status` and `next = pos` on the way out. */
function leave(c: Code, g: Readonly<Record<LoopGlobal, number>>, status: number): void {
  c.get(P.pos).gset(g.next).i32(status).op(Op.return);
}

/**
 * Add the loop to a program's module: `walk` ({@link WALK}; parameters {@link PARAMS}, the status
 * back) calling function `run`, the program's fresh-run entry `(r1, r2, fp, fuel, stackBase,
 * fresh)` → r0's low 32 bits, and the globals of {@link LOOP_GLOBALS}, all exported.
 */
export function emitRecordLoop(mb: ModuleBuilder, run: number): void {
  const g = {} as Record<LoopGlobal, number>;
  for (const name of LOOP_GLOBALS) {
    g[name] = mb.global(I32);
    mb.exportGlobal(`${LOOP_GLOBAL_PREFIX}${name}`, g[name]);
  }
  const walk = mb.defineFunction(PARAMS, [I32]);
  const c = new Code();
  c.loop();
  // A whole record header, then a whole record.
  c.get(P.limit).get(P.pos).op(Op.i32_sub).i32(PACKET_HEADER).op(Op.i32_lt_u).if();
  leave(c, g, 0);
  c.end();
  c.get(P.pos).mem(Op.i32_load, 8).set(P.length);
  c.get(P.swap).if();
  // bswap32: the bytes of each half-word pair rotated into place.
  c.get(P.length).i32(8).op(Op.i32_rotl).i32(0x00ff00ff).op(Op.i32_and);
  c.get(P.length)
    .i32(24)
    .op(Op.i32_rotl)
    .i32(0xff00ff00 | 0)
    .op(Op.i32_and);
  c.op(Op.i32_or).set(P.length);
  c.end();
  c.get(P.length).get(P.limit).get(P.pos).op(Op.i32_sub).i32(PACKET_HEADER).op(Op.i32_sub).op(Op.i32_gt_u);
  c.if();
  leave(c, g, 0);
  c.end();
  c.get(P.pos).gset(g.record);
  c.get(P.length).i32(ETH_HLEN).op(Op.i32_lt_u);
  c.get(P.length).get(P.maxLength).op(Op.i32_gt_u).op(Op.i32_or).if();
  leave(c, g, 1);
  c.end();
  c.gget(g.packets).i32(1).op(Op.i32_add).gset(g.packets);
  // The frame: zero what the last packet left past this one's end in 8-byte steps, then copy
  // this packet in 16-byte steps (a short packet costs less so than a call of memory.fill or
  // memory.copy). Past `dirty` all is zero already; the copy's last step may take up to 15 bytes
  // past the packet (the caller leaves 16 bytes after its records), which the stores after it
  // zero again.
  c.get(P.data).get(P.length).op(Op.i32_add).tee(P.end).set(P.at);
  c.block().loop();
  c.get(P.at).gget(g.dirty).op(Op.i32_ge_u).brIf(1);
  c.get(P.at).i64(0).mem(Op.i64_store);
  c.get(P.at).i32(8).op(Op.i32_add).set(P.at);
  c.br(0);
  c.end().end();
  c.i32(0).set(P.at);
  c.block().loop();
  c.get(P.at).get(P.length).op(Op.i32_ge_u).brIf(1);
  // (`slot` and `r0` hold the step's addresses, to and from: both are free until the run)
  c.get(P.data).get(P.at).op(Op.i32_add).tee(P.slot);
  c.get(P.pos).get(P.at).op(Op.i32_add).tee(P.r0).mem(Op.i64_load, PACKET_HEADER);
  c.mem(Op.i64_store);
  c.get(P.slot);
  c.get(P.r0).mem(Op.i64_load, PACKET_HEADER + 8);
  c.mem(Op.i64_store, 8);
  c.get(P.at).i32(16).op(Op.i32_add).set(P.at);
  c.br(0);
  c.end().end();
  c.get(P.end).i64(0).mem(Op.i64_store);
  c.get(P.end).i64(0).mem(Op.i64_store, 8);
  c.get(P.end).gset(g.dirty);
  c.get(P.dataField).get(P.data).mem(Op.i32_store);
  c.get(P.endField).get(P.end).mem(Op.i32_store);
  c.get(P.metaField).get(P.data).mem(Op.i32_store);
  c.get(P.pos).i32(PACKET_HEADER).op(Op.i32_add).get(P.length).op(Op.i32_add).tee(P.pos).gset(g.next);
  c.get(P.ctx).i32(0).get(P.fp).get(P.fuel).get(P.stackBase).get(P.fresh).call(run).set(P.r0);
  c.i32(0).set(P.fresh);
  // A retval the caller has not seen goes back to it first (it keeps verdicts in order seen).
  c.get(P.r0).i32(32).op(Op.i32_lt_u).if(I32);
  c.get(P.seen).get(P.r0).op(Op.i32_shr_u).i32(1).op(Op.i32_and);
  c.else().i32(0).end();
  c.op(Op.i32_eqz).if();
  c.get(P.r0).gset(g.retval);
  leave(c, g, 2);
  c.end();
  c.get(P.counts).get(P.r0).i32(2).op(Op.i32_shl).op(Op.i32_add).tee(P.slot);
  c.get(P.slot).mem(Op.i32_load).i32(1).op(Op.i32_add).mem(Op.i32_store);
  c.get(P.keep).get(P.r0).op(Op.i32_shr_u).i32(1).op(Op.i32_and).if();
  c.get(P.r0).gset(g.retval);
  leave(c, g, 3);
  c.end();
  c.br(0);
  c.end();
  c.op(Op.unreachable);
  mb.setBody(walk, [I32, I32, I32, I32, I32], c);
  mb.exportFunction(WALK, walk);
}
