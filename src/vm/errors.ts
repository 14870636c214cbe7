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
  constructor(slot: number, address: bigint, size: number, access: 'read' | 'write', detail: string) {
    super(
      slot,
      `invalid ${access} of ${size} byte${size === 1 ? '' : 's'} at 0x${address.toString(16)}: ${detail}`,
    );
    this.address = address;
    this.size = size;
    this.access = access;
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
