import { TsbpfError } from '../errors.js';

/** A program stopped at run time: every subclass names the instruction (slot index) it stopped at. */
export class VmError extends TsbpfError {
  override name = 'VmError';
  /** Slot index of the instruction that faulted. */
  readonly slot: number;
  constructor(slot: number, reason: string, options?: { cause?: unknown }) {
    super(`run: instruction ${slot}: ${reason}`, options);
    this.slot = slot;
  }
}

/** A load or store outside every region the program may touch (or a write to a read-only one). */
export class MemoryAccessError extends VmError {
  override name = 'MemoryAccessError';
  readonly address: bigint;
  readonly size: number;
  readonly access: 'read' | 'write';
  constructor(
    slot: number,
    address: bigint,
    size: number,
    access: 'read' | 'write',
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      slot,
      `invalid ${access} of ${size} byte${size === 1 ? '' : 's'} at 0x${address.toString(16)}: ${detail}`,
      options,
    );
    this.address = address;
    this.size = size;
    this.access = access;
  }
}

/**
 * A helper's pointer argument does not cover the bytes the helper would read or write: the same
 * check as a load or store ({@link VmMemory.accessFault}). Helpers throw it without knowing the
 * instruction; the interpreter turns it into the {@link MemoryAccessError} of the call.
 */
export class HelperMemoryError extends TsbpfError {
  override name = 'HelperMemoryError';
  /** The helper's name, without `bpf_`. */
  readonly helper: string;
  /** Which argument (`dst`, `key`, `from`…). */
  readonly argument: string;
  readonly address: bigint;
  readonly size: number;
  readonly access: 'read' | 'write';
  /** Why the access faults (null pointer, not mapped, read-only…). */
  readonly detail: string;
  constructor(
    helper: string,
    argument: string,
    address: bigint,
    size: number,
    access: 'read' | 'write',
    detail: string,
  ) {
    super(
      `bpf_${helper}: ${argument}: invalid ${access} of ${size} byte${size === 1 ? '' : 's'} at 0x${address.toString(16)}: ${detail}`,
    );
    this.helper = helper;
    this.argument = argument;
    this.address = address;
    this.size = size;
    this.access = access;
    this.detail = detail;
  }
}

/** The program executed more instructions than its budget allows (a runaway loop). */
export class InstructionBudgetError extends VmError {
  override name = 'InstructionBudgetError';
  readonly budget: number;
  constructor(slot: number, budget: number) {
    super(slot, `instruction budget of ${budget} exhausted (runaway loop?)`);
    this.budget = budget;
  }
}

/** A call to a helper id the VM does not provide. */
export class UnknownHelperError extends VmError {
  override name = 'UnknownHelperError';
  readonly helperId: number;
  constructor(slot: number, helperId: number, name: string | undefined) {
    super(
      slot,
      `unknown helper ${name ? `bpf_${name}#${helperId}` : `#${helperId}`}: not provided by this VM`,
    );
    this.helperId = helperId;
  }
}

/**
 * The error a run ends with when helper `name` (id `id`) called at `slot` threw: VM errors pass
 * through, a helper's bad pointer becomes the same {@link MemoryAccessError} a load would raise,
 * anything else is wrapped. Both engines use it, so their faults are identical.
 */
export function helperFailure(slot: number, name: string, id: number, error: unknown): VmError {
  if (error instanceof VmError) return error;
  if (error instanceof HelperMemoryError)
    return new MemoryAccessError(
      slot,
      error.address,
      error.size,
      error.access,
      `bpf_${name} ${error.argument}: ${error.detail}`,
      { cause: error },
    );
  return new VmError(slot, `helper bpf_${name}#${id} failed: ${(error as Error).message}`, { cause: error });
}
