/**
 * The record loop: a JIT-compiled program run over the records of a classic pcap capture held in
 * VM memory, without returning to JavaScript per packet. Its code (`record-loop-code.ts`) is part
 * of every program's module, where it calls the program's fresh-run entry ({@link FRESH_RUN})
 * directly.
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

/** What one {@link RecordLoop.walk} goes over. Addresses are VM (and WebAssembly) addresses. */
export interface RecordWalk {
  /**
   * First record, and the end of the bytes held; 16 bytes past `limit` must be memory (a packet
   * is copied in 16-byte steps).
   */
  readonly pos: number;
  readonly limit: number;
  /** Whether the capture's numbers are big-endian. */
  readonly swap: boolean;
  /** Where each packet's bytes go, and the most that fit there (with 16 bytes to spare after). */
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
  const { walk, globals } = jit.loop;
  const { record, next, packets, retval, dirty } = globals;
  const options = context.options;
  const loop: RecordLoop = {
    walk(w) {
      const saved = jit.run;
      jit.run = context;
      packets.value = 0;
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
      return record.value as number;
    },
    get next() {
      return next.value as number;
    },
    get packets() {
      return packets.value as number;
    },
    get retval() {
      return (retval.value as number) >>> 0;
    },
    get dirty() {
      return dirty.value as number;
    },
    set dirty(value: number) {
      dirty.value = value;
    },
  };
  loops.set(context, { jit, loop });
  return loop;
}
