/**
 * Loading BTF into the kernel (`BPF_BTF_LOAD`) and opening kernel BTF objects by id. Parsing and
 * building BTF is `src/object/`'s job; this module only hands bytes to the kernel.
 */
import { BPF_BTF_INFO, BpfCmd } from '../sys/attr.js';
import { BpfSyscallError } from '../sys/errors.js';
import { bpfTry, FdOwner, fdFromId, objectInfo } from '../sys/objects.js';
import { getSys, type Sys } from '../sys/syscall.js';

/** A BTF object in the kernel. */
export class KernelBtf {
  readonly #owner: FdOwner;
  /** Wrap an open BTF fd (ownership passes to the new object). */
  constructor(fd: number, sys?: Sys) {
    this.#owner = new FdOwner(fd, getSys(sys));
  }

  get fd(): number {
    return this.#owner.fd;
  }

  /** The kernel id, name (for kernel and module BTF) and size. */
  info(): { id: number; name: string; size: number; kernel: boolean } {
    const name = new Uint8Array(new ArrayBuffer(64));
    const raw = objectInfo(this.fd, BPF_BTF_INFO, { name, name_len: name.length }, this.#owner.sys);
    const end = name.indexOf(0);
    return {
      id: raw.id,
      name: new TextDecoder().decode(name.subarray(0, end < 0 ? name.length : end)),
      size: raw.btf_size,
      kernel: raw.kernel_btf !== 0,
    };
  }

  /** Idempotent. */
  close(): void {
    this.#owner.close();
  }
}

/** A BTF blob the kernel rejected, with its log. */
export class BtfLoadError extends BpfSyscallError {
  override name = 'BtfLoadError';
  readonly log: string;
  constructor(errno: number, log: string, options: { cause?: unknown } = {}) {
    const lines = log.trimEnd().split('\n');
    super(BpfCmd.BTF_LOAD, errno, `BTF rejected: ${lines[lines.length - 1]}`, { ...options, hint: null });
    this.log = log;
  }
}

/**
 * `BPF_BTF_LOAD`. Like program loads, the first attempt has no log; a failure is retried with a
 * growing log buffer so {@link BtfLoadError} says why.
 */
export function loadBtf(bytes: Uint8Array, options: { logLevel?: number; sys?: Sys } = {}): KernelBtf {
  const sys = getSys(options.sys);
  let call = bpfTry(sys, 'BTF_LOAD', { btf: bytes, btf_size: bytes.length });
  let log: Uint8Array | undefined;
  for (let size = 64 * 1024; call.error && size <= 64 * 1024 * 1024; size *= 4) {
    log = new Uint8Array(new ArrayBuffer(size));
    call = bpfTry(sys, 'BTF_LOAD', {
      btf: bytes,
      btf_size: bytes.length,
      btf_log_buf: log,
      btf_log_size: size,
      btf_log_level: options.logLevel || 1,
    });
    if (!call.error?.is('ENOSPC')) break;
  }
  if (call.error) {
    const end = log ? log.indexOf(0) : -1;
    const text = log ? new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end)) : '';
    if (text.trim()) throw new BtfLoadError(call.error.errno, text, { cause: call.error });
    throw call.error;
  }
  return new KernelBtf(call.result, sys);
}

/** Open a BTF object (vmlinux, a module's, or a program's) by id. */
export function btfFromId(id: number, options: { sys?: Sys } = {}): KernelBtf {
  const sys = getSys(options.sys);
  return new KernelBtf(fdFromId('btf', id, { sys }), sys);
}
