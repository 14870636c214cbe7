/**
 * The record loop: a JIT-compiled program run over the records of a classic pcap capture held in
 * VM memory, without returning to JavaScript per packet. A small module of its own (the same
 * bytes for every program) shares the VM's memory and imports the program's fresh-run entry
 * ({@link FRESH_RUN}); calls between the two instances stay inside WebAssembly.
 *
 * For each record `ts_sec u32 | ts_frac u32 | incl_len u32 | orig_len u32 | data[incl_len]` the
 * loop does what a packet's set-up in JavaScript does (`XdpTestRunner.run`): zero what the last
 * packet left past this one's end, copy the packet to the frame, store `data`, `data_end` and
 * `data_meta` in the context, then runs the program once with r1 = the context. Retvals are
 * counted in a table in memory. It stops, with a status, where JavaScript has to act:
 *
 * | status | meaning                                                           | `next`            |
 * |--------|-------------------------------------------------------------------|-------------------|
 * | 0      | the next record is not whole in `[pos, limit)`: read more          | that record       |
 * | 1      | the next record's packet is short or longer than the linear frame  | that record       |
 * | 2      | a retval not seen before (or ≥ 32) ended the packet; not counted   | after that packet |
 * | 3      | a retval of the `keep` mask ended the packet (counted)             | after that packet |
 *
 * A fault thrown by the program's imports unwinds the loop; `record` and `next` then name the
 * packet that faulted and where to go on.
 */
import type { CompiledProgram } from '../vm/interpreter.js';
import { accessCacheState, cacheableStack, type JitProgram, type JitRunContext, jitFor } from './runtime.js';
import { Code, F64, I32, ModuleBuilder, Op } from './wasm.js';

/** What one {@link RecordLoop.walk} goes over. Addresses are VM (and WebAssembly) addresses. */
export interface RecordWalk {
  /**
   * First record, and the end of the bytes held; 8 bytes past `limit` must be memory (a packet
   * is copied in 8-byte steps).
   */
  readonly pos: number;
  readonly limit: number;
  /** Whether the capture's numbers are big-endian. */
  readonly swap: boolean;
  /** Where each packet's bytes go, and the most that fit there (with 8 bytes to spare after). */
  readonly data: number;
  readonly maxLength: number;
  /** The context, and its `data`, `data_end` and `data_meta` fields. */
  readonly ctx: number;
  readonly dataField: number;
  readonly endField: number;
  readonly metaField: number;
  /** A table of 32 u32 counters: packets by retval (those of {@link seen} only). */
  readonly counts: number;
  /** Retvals below 32 already known to the caller (bit r); others stop the loop (status 2). */
  readonly seen: number;
  /** Retvals below 32 whose packets the caller wants back (status 3). */
  readonly keep: number;
}

/** A program's record loop (see the module comment); its registers are the last walk's. */
export interface RecordLoop {
  /** Run the records of `walk`; the status. */
  walk(walk: RecordWalk): number;
  /** The last record whose packet ran (or stopped the loop with status 1). */
  readonly record: number;
  /** Where to go on from (see the status table). */
  readonly next: number;
  /** Packets run by the last walk, the one that faulted included. */
  readonly packets: number;
  /** r0's low 32 bits of the packet that stopped the loop with status 2 or 3. */
  readonly retval: number;
  /** End of the frame bytes the packets may have left non-zero (read and set by the caller). */
  dirty: number;
}

/** Globals of the loop module, exported under these names. */
const GLOBALS = ['record', 'next', 'packets', 'retval', 'dirty'] as const;
const G = { record: 0, next: 1, packets: 2, retval: 3, dirty: 4 } as const;
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
type Walk = (...args: number[]) => number;

/** `status` and `next = pos` on the way out. */
function leave(c: Code, status: number): void {
  c.get(P.pos).gset(G.next).i32(status).op(Op.return);
}

/** The loop module's bytes: imports `vm.memory` and `jit.run` (the program's fresh-run entry). */
function loopModule(): Uint8Array {
  const mb = new ModuleBuilder();
  mb.importMemory('vm', 'memory');
  const run = mb.importFunction('jit', 'run', [I32, I32, I32, F64, I32, I32], [I32]);
  for (const name of GLOBALS) mb.exportGlobal(name, mb.global(I32));
  const walk = mb.defineFunction(PARAMS, [I32]);
  const c = new Code();
  c.loop();
  // A whole record header, then a whole record.
  c.get(P.limit).get(P.pos).op(Op.i32_sub).i32(PACKET_HEADER).op(Op.i32_lt_u).if();
  leave(c, 0);
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
  leave(c, 0);
  c.end();
  c.get(P.pos).gset(G.record);
  c.get(P.length).i32(ETH_HLEN).op(Op.i32_lt_u);
  c.get(P.length).get(P.maxLength).op(Op.i32_gt_u).op(Op.i32_or).if();
  leave(c, 1);
  c.end();
  c.gget(G.packets).i32(1).op(Op.i32_add).gset(G.packets);
  // The frame: zero what the last packet left past this one's end, then copy this packet, both
  // in 8-byte steps (a short packet costs less so than a call of memory.fill or memory.copy).
  // Past `dirty` all is zero already; the copy's last step may take up to 7 bytes past the
  // packet (the caller leaves 8 bytes after its records), which the store after it zeroes again.
  c.get(P.data).get(P.length).op(Op.i32_add).tee(P.end).set(P.at);
  c.block().loop();
  c.get(P.at).gget(G.dirty).op(Op.i32_ge_u).brIf(1);
  c.get(P.at).i64(0).mem(Op.i64_store);
  c.get(P.at).i32(8).op(Op.i32_add).set(P.at);
  c.br(0);
  c.end().end();
  c.i32(0).set(P.at);
  c.block().loop();
  c.get(P.at).get(P.length).op(Op.i32_ge_u).brIf(1);
  c.get(P.data).get(P.at).op(Op.i32_add);
  c.get(P.pos).get(P.at).op(Op.i32_add).mem(Op.i64_load, PACKET_HEADER);
  c.mem(Op.i64_store);
  c.get(P.at).i32(8).op(Op.i32_add).set(P.at);
  c.br(0);
  c.end().end();
  c.get(P.end).i64(0).mem(Op.i64_store);
  c.get(P.end).gset(G.dirty);
  c.get(P.dataField).get(P.data).mem(Op.i32_store);
  c.get(P.endField).get(P.end).mem(Op.i32_store);
  c.get(P.metaField).get(P.data).mem(Op.i32_store);
  c.get(P.pos).i32(PACKET_HEADER).op(Op.i32_add).get(P.length).op(Op.i32_add).tee(P.pos).gset(G.next);
  c.get(P.ctx).i32(0).get(P.fp).get(P.fuel).get(P.stackBase).get(P.fresh).call(run).set(P.r0);
  c.i32(0).set(P.fresh);
  // A retval the caller has not seen goes back to it first (it keeps verdicts in order seen).
  c.get(P.r0).i32(32).op(Op.i32_lt_u).if(I32);
  c.get(P.seen).get(P.r0).op(Op.i32_shr_u).i32(1).op(Op.i32_and);
  c.else().i32(0).end();
  c.op(Op.i32_eqz).if();
  c.get(P.r0).gset(G.retval);
  leave(c, 2);
  c.end();
  c.get(P.counts).get(P.r0).i32(2).op(Op.i32_shl).op(Op.i32_add).tee(P.slot);
  c.get(P.slot).mem(Op.i32_load).i32(1).op(Op.i32_add).mem(Op.i32_store);
  c.get(P.keep).get(P.r0).op(Op.i32_shr_u).i32(1).op(Op.i32_and).if();
  c.get(P.r0).gset(G.retval);
  leave(c, 3);
  c.end();
  c.br(0);
  c.end();
  c.op(Op.unreachable);
  mb.setBody(walk, [I32, I32, I32, I32, I32], c);
  mb.exportFunction('walk', walk);
  return mb.finish();
}

let compiled: WebAssembly.Module | undefined;
const loops = new WeakMap<JitRunContext, { readonly jit: JitProgram; readonly loop: RecordLoop }>();

/**
 * The record loop of `program` under a prepared runner's `context`, or undefined when the JIT
 * cannot run it there (no JIT, or a program that may tail call: the runtime continues tail calls
 * between runs). The caller sets the run up (`Runner`) and checks that the program's helpers
 * need no per-packet state.
 */
export function jitRecordLoop(program: CompiledProgram, context: JitRunContext): RecordLoop | undefined {
  const memory = context.options.memory;
  const jit = jitFor(program, memory);
  // A stack the access caches cannot name: the caller goes packet by packet.
  if (!jit?.repeat || !cacheableStack(memory, context.options.stackBase)) return undefined;
  const cached = loops.get(context);
  if (cached?.jit === jit) return cached.loop;
  compiled ??= new WebAssembly.Module(loopModule() as Uint8Array<ArrayBuffer>);
  const instance = new WebAssembly.Instance(compiled, {
    vm: { memory: memory.memory },
    jit: { run: jit.fresh },
  });
  const exports = instance.exports as Record<string, unknown>;
  const global = (name: (typeof GLOBALS)[number]) => exports[name] as WebAssembly.Global;
  const [record, next, packets, retval, dirty] = GLOBALS.map(global);
  const walk = exports.walk as Walk;
  const options = context.options;
  const loop: RecordLoop = {
    walk(w) {
      const saved = jit.run;
      jit.run = context;
      packets!.value = 0;
      const fresh = accessCacheState(jit, memory, options.stackBase);
      // Checked when the loop was made, and a runner's stack stays where it is.
      if (fresh < 0) {
        jit.run = saved;
        throw new Error('record loop: the run stack is no longer where the access caches can name it');
      }
      const status = walk(
        w.pos,
        w.limit,
        w.swap ? 1 : 0,
        w.data,
        w.maxLength,
        w.ctx,
        w.dataField,
        w.endField,
        w.metaField,
        w.counts,
        w.seen,
        w.keep,
        context.stackTop,
        Math.min(options.budget, 2 ** 53),
        options.stackBase,
        fresh,
      );
      jit.run = saved;
      return status;
    },
    get record() {
      return record!.value as number;
    },
    get next() {
      return next!.value as number;
    },
    get packets() {
      return packets!.value as number;
    },
    get retval() {
      return (retval!.value as number) >>> 0;
    },
    get dirty() {
      return dirty!.value as number;
    },
    set dirty(value: number) {
      dirty!.value = value;
    },
  };
  loops.set(context, { jit, loop });
  return loop;
}
