/**
 * A fake {@link Sys} for unit tests of the kernel layer (aya's `sys/fake.rs`): every `bpf()` call
 * is recorded and answered by a handler, and buffer addresses are fake ones the handler can
 * resolve back to the buffers, to read keys or write values the way the kernel would.
 */
import { BpfSyscallError } from './errors.js';
import type { Sys } from './syscall.js';

/** One recorded call: the command and a copy of the attr as it was passed. */
export interface FakeCall {
  readonly cmd: number;
  readonly attr: Uint8Array;
}

/** Answers a call: return the result, or throw {@link fakeErrno}. May write into `attr`. */
export type FakeHandler = (cmd: number, attr: Uint8Array, memory: FakeMemory) => number;

/** Resolves the fake addresses a {@link FakeSys} handed out. */
export interface FakeMemory {
  /** The buffer at `address` (`length` bytes from it), or throws EFAULT like the kernel. */
  read(address: bigint, length: number): Uint8Array;
}

/** A `bpf()` failure for a fake handler to throw. */
export function fakeErrno(cmd: number, errno: number): BpfSyscallError {
  return new BpfSyscallError(cmd, errno);
}

/** A recording, scriptable {@link Sys}. */
export class FakeSys implements Sys, FakeMemory {
  readonly calls: FakeCall[] = [];
  readonly closed: number[] = [];
  #next = 0x1000_0000n;
  readonly #buffers: Array<{ address: bigint; bytes: Uint8Array }> = [];
  readonly #handler: FakeHandler;

  constructor(handler: FakeHandler) {
    this.#handler = handler;
  }

  readonly bpf = (cmd: number, attr: Uint8Array): number => {
    this.calls.push({ cmd, attr: attr.slice() });
    return this.#handler(cmd, attr, this);
  };

  addressOf(bytes: Uint8Array): bigint {
    if (bytes.length === 0) return 0n;
    const known = this.#buffers.find((b) => b.bytes === bytes);
    if (known) return known.address;
    const address = this.#next;
    // Leave a gap so an overrun is caught rather than reading the next buffer.
    this.#next += BigInt(bytes.length + 0x1000);
    this.#buffers.push({ address, bytes });
    return address;
  }

  read(address: bigint, length: number): Uint8Array {
    for (const { address: start, bytes } of this.#buffers) {
      if (address >= start && address + BigInt(length) <= start + BigInt(bytes.length)) {
        const from = Number(address - start);
        return bytes.subarray(from, from + length);
      }
    }
    throw new BpfSyscallError(
      -1,
      14 /* EFAULT */,
      `fake: no buffer of ${length} bytes at 0x${address.toString(16)}`,
    );
  }

  close(fd: number): void {
    this.closed.push(fd);
  }
}
