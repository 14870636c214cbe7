/**
 * Raw tracepoint (`raw_tp/…`, `raw_tracepoint/…`) and BTF tracepoint (`tp_btf/…`) contexts: an
 * array of u64 arguments, `struct bpf_raw_tracepoint_args { __u64 args[0]; }`.
 */

/** `MAX_BPF_FUNC_ARGS`: a raw tracepoint test run takes at most 12 arguments (96 bytes). */
export const MAX_RAW_TP_ARGS = 12;

/** Encode raw tracepoint arguments as the context bytes a test run takes. */
export function encodeRawTpArgs(args: readonly (bigint | number)[]): Uint8Array {
  const bytes = new Uint8Array(args.length * 8);
  const view = new DataView(bytes.buffer);
  args.forEach((arg, i) => {
    view.setBigUint64(i * 8, BigInt.asUintN(64, BigInt(arg)), true);
  });
  return bytes;
}

/** Decode context bytes into u64 arguments (a partial last argument is zero-extended). */
export function decodeRawTpArgs(bytes: Uint8Array): bigint[] {
  const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8);
  padded.set(bytes);
  const view = new DataView(padded.buffer);
  return Array.from({ length: padded.length / 8 }, (_, i) => view.getBigUint64(i * 8, true));
}
