/**
 * A fuzzing child process: runs the inputs of its jobs one after another and reports on fd 3, one
 * line per event, so the parent knows which input is running when the child hangs or dies:
 *
 *   S <job> <index>          input started
 *   . | t                    it was accepted | refused with a typed error
 *   U <json>                 untyped exception (signature, message, stack, the input in hex)
 *   m, M <json>              minimising it started; the smallest input failing the same way
 *   E <job> <index>          job ended (deadline or count reached) after <index>
 *
 * Input `index` of a job is `target.generate(seeds, new Rng(inputSeed(seed, index)))`, or the
 * bytes of `files[index]` for a replay job.
 */
import { readFileSync, writeSync } from 'node:fs';
import { isTypedError } from './known.js';
import { inputSeed, Rng } from './mutate.js';
import { setTypedCheck, type Target, targetByName } from './targets.js';

export interface ChildJob {
  readonly target: string;
  readonly seed: number;
  readonly from: number;
  readonly to: number;
  /** Stop starting inputs this many seconds after the job's first input. */
  readonly seconds: number;
  /** Replay these files instead of generating inputs (index = position in the list). */
  readonly files?: readonly string[];
  /** Minimise untyped exceptions before reporting them. */
  readonly minimise: boolean;
}

const OUT = 3;
const emit = (line: string) => writeSync(OUT, `${line}\n`);

/** `Name: message @ src/file.ts:line` with numbers in the message folded, for deduplication. */
export function signatureOf(error: unknown): string {
  const e = error instanceof Error ? error : new Error(String(error));
  const message = e.message.replace(/0x[0-9a-f]+|\d+/gi, 'N').slice(0, 100);
  const frame = (e.stack ?? '')
    .split('\n')
    .map((l) => /\/((?:src|fuzz)\/[^:)]+):(\d+)/.exec(l))
    .find((m) => m && !m[1].startsWith('fuzz/'));
  return `${e.name}: ${message}${frame ? ` @ ${frame[1]}:${frame[2]}` : ''}`;
}

/** Run one input: 'ok', 'typed', or the untyped error. */
function attempt(target: Target, input: Uint8Array): 'ok' | 'typed' | { error: unknown } {
  try {
    target.run(input);
    return 'ok';
  } catch (error) {
    return isTypedError(error) ? 'typed' : { error };
  }
}

/**
 * Shrink an input while it still fails with the same signature: remove halves, quarters… of it,
 * then single bytes (text: lines first). Bounded by `ms`.
 */
function minimise(target: Target, input: Uint8Array, signature: string, ms: number): Uint8Array {
  const stop = Date.now() + ms;
  const fails = (candidate: Uint8Array) => {
    const result = attempt(target, candidate);
    return typeof result === 'object' && signatureOf(result.error) === signature;
  };
  let best = input;
  for (let chunk = Math.max(1, best.length >> 1); chunk >= 1 && Date.now() < stop; chunk >>= 1) {
    for (let at = 0; at < best.length && Date.now() < stop; ) {
      const candidate = new Uint8Array(best.length - Math.min(chunk, best.length - at));
      candidate.set(best.subarray(0, at));
      candidate.set(best.subarray(at + chunk), at);
      if (fails(candidate)) best = candidate;
      else at += chunk;
    }
  }
  // Then zero bytes that do not matter (makes binary findings readable).
  for (let at = 0; at < best.length && Date.now() < stop; at++) {
    if (best[at] === 0) continue;
    const candidate = best.slice();
    candidate[at] = 0;
    if (fails(candidate)) best = candidate;
  }
  return best;
}

function main(): void {
  setTypedCheck(isTypedError);
  const jobs = JSON.parse(process.argv[2]) as ChildJob[];
  for (const [jobIndex, job] of jobs.entries()) {
    const target = targetByName(job.target);
    if (!target) throw new Error(`no fuzz target '${job.target}'`);
    const seeds = job.files ? [] : target.seeds();
    const deadline = Date.now() + job.seconds * 1000;
    let index = job.from;
    for (; index < job.to && Date.now() < deadline; index++) {
      const input = job.files
        ? new Uint8Array(readFileSync(job.files[index]))
        : target.generate(seeds, new Rng(inputSeed(job.seed, index)));
      emit(`S ${jobIndex} ${index}`);
      const result = attempt(target, input);
      if (result === 'ok') emit('.');
      else if (result === 'typed') emit('t');
      else {
        const signature = signatureOf(result.error);
        const error = result.error instanceof Error ? result.error : new Error(String(result.error));
        // Report first (so a hang while minimising still leaves the finding), then the smaller input.
        const report = {
          signature,
          message: error.message.slice(0, 500),
          stack: (error.stack ?? '').slice(0, 2000),
        };
        emit(`U ${JSON.stringify({ ...report, input: Buffer.from(input).toString('hex') })}`);
        if (job.minimise && !job.files) {
          emit('m');
          const small = minimise(target, input, signature, 3000);
          emit(`M ${JSON.stringify({ signature, input: Buffer.from(small).toString('hex') })}`);
        }
      }
    }
    emit(`E ${jobIndex} ${index}`);
  }
}

main();
