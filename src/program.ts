/**
 * The program contract both backends share: one test-run input and result, the shape of
 * `BPF_PROG_TEST_RUN`. The VM's `testRun` and the kernel's `KernelProgram.testRun` both take
 * {@link TestRunOptions} and give {@link TestRunResult}, so the same test vectors run on either.
 */

/** The largest `repeat`: `bpf_attr.test.repeat` is a u32. */
export const MAX_TEST_RUN_REPEAT = 0xffff_ffff;

/**
 * Why `repeat` cannot be sent to `BPF_PROG_TEST_RUN` (not a u32: negative, fractional, or more
 * than {@link MAX_TEST_RUN_REPEAT}, which would wrap to a small count), or undefined when it can.
 * Both backends refuse such a value with EINVAL instead of running some other number of times.
 */
export function invalidRepeat(repeat: number | undefined): string | undefined {
  if (repeat === undefined || (Number.isInteger(repeat) && repeat >= 0 && repeat <= MAX_TEST_RUN_REPEAT))
    return undefined;
  return `repeat ${repeat} is not a u32 (0 to ${MAX_TEST_RUN_REPEAT}), as BPF_PROG_TEST_RUN takes it`;
}

/** `BPF_PROG_TEST_RUN` input. */
export interface TestRunOptions {
  /** Packet or input data (`data_in`). */
  readonly data?: Uint8Array;
  /** Context (`ctx_in`: `struct xdp_md`, `__sk_buff`, raw tracepoint args…). */
  readonly ctx?: Uint8Array;
  /** Runs to average `durationNs` over (default 1; 0 means 1). At most {@link MAX_TEST_RUN_REPEAT}. */
  readonly repeat?: number;
  /** Run on this CPU (`BPF_F_TEST_RUN_ON_CPU`; raw tracepoint programs). */
  readonly cpu?: number;
  /** Extra `BPF_F_TEST_*` flags. */
  readonly flags?: number;
  /** Room for output data; default the input size + 256 (grown when the kernel says ENOSPC). */
  readonly dataSizeOut?: number;
  /** Room for the output context; default the input context's size. */
  readonly ctxSizeOut?: number;
  /** XDP live-frames batch size. */
  readonly batchSize?: number;
}

/** `BPF_PROG_TEST_RUN` output: the contract the VM's test runs share too. */
export interface TestRunResult {
  /** The program's return value (r0, truncated to 32 bits by the kernel). */
  readonly retval: number;
  /** Data as the program left it. */
  readonly dataOut: Uint8Array;
  /** The context as the program left it, when one was passed or asked for. */
  readonly ctxOut: Uint8Array | undefined;
  /** Mean time per run in nanoseconds. */
  readonly durationNs: number;
}
