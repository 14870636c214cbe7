/**
 * The context of `BPF_PROG_TYPE_PERF_EVENT` programs, `struct bpf_perf_event_data` (x86-64):
 *
 * ```
 *   0  bpf_user_pt_regs_t regs   (struct pt_regs: 21 × u64, r15 … ss)
 * 168  __u64 sample_period
 * 176  __u64 addr
 * 184
 * ```
 * Linux has no test run for perf_event programs; build a context with {@link perfEventContext}
 * and run it with `runOnRecord`.
 */

/** The registers of x86-64 `struct pt_regs`, in layout order. */
export const PT_REGS_X86_64 = [
  'r15',
  'r14',
  'r13',
  'r12',
  'bp',
  'bx',
  'r11',
  'r10',
  'r9',
  'r8',
  'ax',
  'cx',
  'dx',
  'si',
  'di',
  'orig_ax',
  'ip',
  'cs',
  'flags',
  'sp',
  'ss',
] as const;

export type PtRegName = (typeof PT_REGS_X86_64)[number];

/** Byte size of `struct bpf_perf_event_data` on x86-64. */
export const PERF_EVENT_DATA_SIZE = PT_REGS_X86_64.length * 8 + 16;

export interface PerfEventSample {
  readonly regs?: Partial<Record<PtRegName, bigint>>;
  readonly samplePeriod?: bigint;
  readonly addr?: bigint;
}

/** The bytes of a `struct bpf_perf_event_data` for one sample. */
export function perfEventContext(sample: PerfEventSample = {}): Uint8Array {
  const bytes = new Uint8Array(PERF_EVENT_DATA_SIZE);
  const view = new DataView(bytes.buffer);
  for (const [index, name] of PT_REGS_X86_64.entries()) {
    view.setBigUint64(index * 8, BigInt.asUintN(64, sample.regs?.[name] ?? 0n), true);
  }
  view.setBigUint64(PT_REGS_X86_64.length * 8, BigInt.asUintN(64, sample.samplePeriod ?? 0n), true);
  view.setBigUint64(PT_REGS_X86_64.length * 8 + 8, BigInt.asUintN(64, sample.addr ?? 0n), true);
  return bytes;
}
