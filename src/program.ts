/**
 * The program contract both backends share: one test-run input and result, the shape of
 * `BPF_PROG_TEST_RUN`. The VM's `testRun` and the kernel's `KernelProgram.testRun` both take
 * {@link TestRunOptions} and give {@link TestRunResult}, so the same test vectors run on either.
 */

/** `BPF_PROG_TEST_RUN` input. */
export interface TestRunOptions {
  /** Packet or input data (`data_in`). */
  readonly data?: Uint8Array;
  /** Context (`ctx_in`: `struct xdp_md`, `__sk_buff`, raw tracepoint args…). */
  readonly ctx?: Uint8Array;
  /** Runs to average `durationNs` over (default 1). */
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
