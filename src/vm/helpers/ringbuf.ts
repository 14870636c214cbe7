/**
 * Ring buffer and perf event helpers over a VM's maps: `bpf_ringbuf_output` (130),
 * `bpf_ringbuf_reserve` (131), `bpf_ringbuf_submit` (132), `bpf_ringbuf_discard` (133),
 * `bpf_ringbuf_query` (134) (since 5.8) and `bpf_perf_event_output` (25, since 4.4).
 * The semantics, and what they were checked against, are in `../maps/ringbuf.ts` and
 * `../maps/perf-event-array.ts`.
 */
import type { Helper } from '../helpers.js';
import { MapArgumentError } from '../maps/base.js';
import { PerfEventArrayMap } from '../maps/perf-event-array.js';
import type { VmMapRegistry } from '../maps/registry.js';
import { RingBufMap } from '../maps/ringbuf.js';
import { defineHelper, readableArgument, u64, vmAddress } from './common.js';

/** The ring buffer map whose handle is `handle`, or throw (the verifier checks the map type). */
function ringOf(registry: VmMapRegistry, handle: bigint, helper: string): RingBufMap {
  const map = registry.mapByHandle(handle);
  if (!(map instanceof RingBufMap))
    throw new MapArgumentError(`bpf_${helper}: 0x${handle.toString(16)} is not a ring buffer map`);
  return map;
}

/** The ring buffer a sample pointer (from `bpf_ringbuf_reserve`) belongs to, or throw. */
function ringOfSample(registry: VmMapRegistry, sample: bigint, helper: string): RingBufMap {
  const address = vmAddress(sample);
  for (const [, map] of registry.maps()) if (map instanceof RingBufMap && map.ownsSample(address)) return map;
  throw new MapArgumentError(`bpf_${helper}: 0x${sample.toString(16)} is not a reserved ring buffer sample`);
}

/** The ring buffer helpers over the maps of `registry`. */
export function ringbufHelpers(registry: VmMapRegistry): Helper[] {
  return [
    defineHelper('ringbuf_output', (env, map, data, size, flags) => {
      const ring = ringOf(registry, map, 'ringbuf_output');
      const bytes = readableArgument(
        env.memory,
        'ringbuf_output',
        'data',
        data,
        Number(BigInt.asUintN(32, size)),
      );
      return u64(ring.output(bytes, flags));
    }),
    defineHelper('ringbuf_reserve', (_env, map, size, flags) => {
      const ring = ringOf(registry, map, 'ringbuf_reserve');
      return BigInt(ring.reserve(size > 2n ** 32n ? 2 ** 32 : Number(size), flags));
    }),
    defineHelper('ringbuf_submit', (_env, sample, flags) => {
      ringOfSample(registry, sample, 'ringbuf_submit').commit(Number(sample), flags, false);
      return 0n;
    }),
    defineHelper('ringbuf_discard', (_env, sample, flags) => {
      ringOfSample(registry, sample, 'ringbuf_discard').commit(Number(sample), flags, true);
      return 0n;
    }),
    defineHelper('ringbuf_query', (_env, map, flags) => ringOf(registry, map, 'ringbuf_query').query(flags)),
  ];
}

/** `bpf_perf_event_output` over the PERF_EVENT_ARRAY maps of `registry`, from CPU `registry.cpu`. */
export function perfEventHelpers(registry: VmMapRegistry): Helper[] {
  return [
    defineHelper('perf_event_output', (env, _ctx, map, flags, data, size) => {
      const array = registry.mapByHandle(map);
      if (!(array instanceof PerfEventArrayMap))
        throw new MapArgumentError(`bpf_perf_event_output: 0x${map.toString(16)} is not a perf event array`);
      const bytes = readableArgument(
        env.memory,
        'perf_event_output',
        'data',
        data,
        Number(BigInt.asUintN(32, size)),
      );
      return u64(array.output(registry.cpu, flags, bytes));
    }),
  ];
}
