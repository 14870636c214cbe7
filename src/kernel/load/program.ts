/**
 * Loading programs into the kernel (`BPF_PROG_LOAD`), their info, and test runs
 * (`BPF_PROG_TEST_RUN`).
 */

import { basename } from 'node:path';
import { Errno } from '../../errno.js';
import { TsbpfError } from '../../errors.js';
import { encode, type Insn } from '../../isa/instruction.js';
import { invalidRepeat, type TestRunOptions, type TestRunResult } from '../../program.js';
import { AttachType, type AttachTypeName, enumName, ProgType, type ProgTypeName } from '../../uapi.js';
import { BPF_PROG_INFO, BpfCmd, COMMAND_LAYOUTS, cString, readField } from '../sys/attr.js';
import { BpfSyscallError, type LineLookup, VerifierError } from '../sys/errors.js';
import {
  bpfCall,
  bpfTry,
  FdOwner,
  fdFromId,
  getPinnedObject,
  objectInfo,
  pinObject,
  sanitizeName,
} from '../sys/objects.js';
import { getSys, type Sys } from '../sys/syscall.js';

/** `BPF_F_*` flags of `prog_flags`. */
export const ProgFlags = {
  STRICT_ALIGNMENT: 1 << 0,
  ANY_ALIGNMENT: 1 << 1,
  TEST_RND_HI32: 1 << 2,
  TEST_STATE_FREQ: 1 << 3,
  SLEEPABLE: 1 << 4,
  XDP_HAS_FRAGS: 1 << 5,
  XDP_DEV_BOUND_ONLY: 1 << 6,
} as const;

/** Verifier log levels (`log_level` bits). */
export const LogLevel = {
  /** The failing path, instruction by instruction. */
  BRANCH: 1,
  /** Every instruction of every explored state (large). */
  INSN: 2,
  /** Statistics only (`processed N insns…`). */
  STATS: 4,
} as const;

/** `sizeof(struct bpf_func_info)` and `sizeof(struct bpf_line_info)`. */
export const FUNC_INFO_SIZE = 8;
export const LINE_INFO_SIZE = 16;

/** Initial verifier log buffer when one is needed; grown ×4 on ENOSPC. */
const INITIAL_LOG_SIZE = 64 * 1024;
/** Largest log buffer we grow to (the kernel's own limit is `UINT_MAX >> 2`). */
const MAX_LOG_SIZE = 256 * 1024 * 1024;

/** What {@link loadProgram} takes. */
export interface LoadProgramOptions {
  readonly type: ProgTypeName | number;
  /** Decoded instructions, or their bytes (a multiple of 8). */
  readonly insns: readonly Insn[] | Uint8Array;
  /** `GPL` (or a GPL-compatible licence) to use GPL-only helpers. */
  readonly license: string;
  /** Up to 15 characters of `[A-Za-z0-9_.]`; others become `_`. */
  readonly name?: string;
  readonly expectedAttachType?: AttachTypeName | number;
  /** Kernel BTF type id of the attach target (fentry, LSM, struct_ops, raw tp BTF). */
  readonly attachBtfId?: number;
  /** Module BTF fd for `attachBtfId` (0: vmlinux), or, for `EXT`, the target program's fd. */
  readonly attachBtfObjFd?: number;
  /**
   * Log level to ask for when a log is collected (default 1). Loads first run without a log
   * (the verifier is faster without one); on failure the load is retried with a log so the
   * error carries the verifier's reason.
   */
  readonly logLevel?: number;
  /** Collect the log on success too ({@link KernelProgram.log}); costs a slower load. */
  readonly alwaysLog?: boolean;
  /** Initial log buffer size in bytes; default 64 KiB, grown on ENOSPC. */
  readonly logSize?: number;
  /** `kern_version` (only kprobes before 5.0 checked it). */
  readonly kernVersion?: number;
  /** fds that `ld_imm64` with `BPF_PSEUDO_MAP_IDX` (and kfunc calls) index into (since 5.14). */
  readonly fdArray?: readonly number[];
  /** {@link ProgFlags}. */
  readonly progFlags?: number;
  /** BTF fd with the program's func and line info. */
  readonly progBtfFd?: number;
  /**
   * `struct bpf_func_info` records for `progBtfFd` (8 bytes each: `insn_off`, `type_id`), one per
   * function of the linked program, in slot order (since 5.0).
   */
  readonly funcInfo?: Uint8Array;
  /**
   * `struct bpf_line_info` records (16 bytes each: `insn_off`, `file_name_off`, `line_off`,
   * `line_col`), strictly increasing `insn_off` (since 5.0).
   */
  readonly lineInfo?: Uint8Array;
  /** Offload / dev-bound XDP target. */
  readonly ifindex?: number;
  /** Maps a failing instruction (slot) index to its source line (BTF.ext line info). */
  readonly lineOf?: LineLookup;
  readonly sys?: Sys;
}

/** The test-run contract both backends share (`src/program.ts`). */
export type { TestRunOptions, TestRunResult } from '../../program.js';

/** What `BPF_OBJ_GET_INFO_BY_FD` says about a program. */
export interface ProgramInfo {
  readonly type: number;
  readonly typeName: ProgTypeName | undefined;
  readonly id: number;
  /** Hex of the 8-byte tag, as bpftool prints it. */
  readonly tag: string;
  readonly name: string;
  /** Nanoseconds since boot. */
  readonly loadTime: bigint;
  readonly createdByUid: number;
  readonly mapIds: readonly number[];
  readonly btfId: number;
  readonly gplCompatible: boolean;
  readonly ifindex: number;
  /** Run statistics (only counted while `BPF_ENABLE_STATS` or the sysctl is on). */
  readonly runTimeNs: bigint;
  readonly runCount: bigint;
  readonly recursionMisses: bigint;
  readonly verifiedInsns: number;
  readonly attachBtfId: number;
  readonly attachBtfObjId: number;
  readonly xlatedLength: number;
  readonly jitedLength: number;
  /** The instructions after the verifier's rewrites (when asked for and permitted). */
  readonly xlated?: Uint8Array;
  /** Native code (when asked for and permitted). */
  readonly jited?: Uint8Array;
}

function progTypeNumber(type: ProgTypeName | number): number {
  return typeof type === 'number' ? type : ProgType[type];
}

function attachTypeNumber(type: AttachTypeName | number | undefined): number {
  return type === undefined ? 0 : typeof type === 'number' ? type : AttachType[type];
}

function decodeLog(log: Uint8Array): string {
  const end = log.indexOf(0);
  return new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end));
}

/** A program loaded into the kernel. Close it (or pin it) when done. */
export class KernelProgram {
  readonly name: string;
  readonly type: ProgTypeName | number;
  /** The verifier log of a load with `alwaysLog`, else undefined. */
  readonly log: string | undefined;
  readonly #owner: FdOwner;
  #info: ProgramInfo | undefined;

  /** Wrap an open program fd (ownership passes to the new object). */
  constructor(
    fd: number,
    name: string,
    type: ProgTypeName | number,
    options: { sys?: Sys; log?: string } = {},
  ) {
    this.#owner = new FdOwner(fd, getSys(options.sys));
    this.name = name;
    this.type = type;
    this.log = options.log;
  }

  get fd(): number {
    return this.#owner.fd;
  }

  get closed(): boolean {
    return this.#owner.closed;
  }

  /** The kernel id (cached from info). */
  get id(): number {
    this.#info ??= this.info();
    return this.#info.id;
  }

  /** The program tag (hex), which bpftool and `/proc/<pid>/fdinfo` show. */
  get tag(): string {
    this.#info ??= this.info();
    return this.#info.tag;
  }

  /**
   * `BPF_OBJ_GET_INFO_BY_FD`, twice when arrays are wanted: once for their lengths, once with
   * buffers of those lengths. Xlated and jited bytes need CAP_SYS_ADMIN (and
   * `kernel.kptr_restrict` / `bpf_jit_harden` permitting); otherwise they come back empty.
   */
  info(options: { xlated?: boolean; jited?: boolean } = {}): ProgramInfo {
    const sys = this.#owner.sys;
    const first = objectInfo(this.fd, BPF_PROG_INFO, {}, sys);
    let raw = first;
    const mapIds = new Uint8Array(new ArrayBuffer(first.nr_map_ids * 4));
    const xlated = new Uint8Array(new ArrayBuffer(options.xlated ? first.xlated_prog_len : 0));
    const jited = new Uint8Array(new ArrayBuffer(options.jited ? first.jited_prog_len : 0));
    if (mapIds.length || xlated.length || jited.length) {
      raw = objectInfo(
        this.fd,
        BPF_PROG_INFO,
        {
          nr_map_ids: first.nr_map_ids,
          map_ids: mapIds,
          xlated_prog_len: xlated.length,
          xlated_prog_insns: xlated,
          jited_prog_len: jited.length,
          jited_prog_insns: jited,
        },
        sys,
      );
    }
    const ids = new DataView(mapIds.buffer);
    const info: ProgramInfo = {
      type: raw.type,
      typeName: enumName(ProgType, raw.type),
      id: raw.id,
      tag: Buffer.from(raw.tag).toString('hex'),
      name: raw.name,
      loadTime: raw.load_time,
      createdByUid: raw.created_by_uid,
      mapIds: Array.from({ length: Math.min(raw.nr_map_ids, first.nr_map_ids) }, (_, i) =>
        ids.getUint32(i * 4, true),
      ),
      btfId: raw.btf_id,
      gplCompatible: raw.gpl_compatible,
      ifindex: raw.ifindex,
      runTimeNs: raw.run_time_ns,
      runCount: raw.run_cnt,
      recursionMisses: raw.recursion_misses,
      verifiedInsns: raw.verified_insns,
      attachBtfId: raw.attach_btf_id,
      attachBtfObjId: raw.attach_btf_obj_id,
      xlatedLength: first.xlated_prog_len,
      jitedLength: first.jited_prog_len,
      ...(options.xlated ? { xlated: xlated.subarray(0, Math.min(raw.xlated_prog_len, xlated.length)) } : {}),
      ...(options.jited ? { jited: jited.subarray(0, Math.min(raw.jited_prog_len, jited.length)) } : {}),
    };
    this.#info = info;
    return info;
  }

  /** Pin at `path` in a bpffs; the program then outlives this process. */
  pin(path: string): void {
    pinObject(this.fd, path, this.#owner.sys);
  }

  /** Close the fd (the program stays loaded while pinned or attached). Idempotent. */
  close(): void {
    this.#owner.close();
  }

  /**
   * Run the program once (or `repeat` times) on `data` (`BPF_PROG_TEST_RUN`). When the output
   * does not fit, the kernel says ENOSPC with the size it needed, and the run is repeated with
   * that much room — so a program with side effects (map updates) may run twice.
   */
  testRun(options: TestRunOptions = {}): TestRunResult {
    const sys = this.#owner.sys;
    // bpf_attr's repeat is a u32: a larger count would wrap (2^32 runs once) instead of failing.
    const badRepeat = invalidRepeat(options.repeat);
    if (badRepeat)
      throw new BpfSyscallError(BpfCmd.PROG_TEST_RUN, Errno.EINVAL, `program '${this.name}': ${badRepeat}`, {
        hint: null,
      });
    const data = options.data ?? new Uint8Array(0);
    const ctx = options.ctx;
    let dataSize = options.dataSizeOut ?? (data.length ? data.length + 256 : 0);
    let ctxSize = options.ctxSizeOut ?? ctx?.length ?? 0;
    for (let attempt = 0; ; attempt++) {
      const dataOut = new Uint8Array(new ArrayBuffer(dataSize));
      const ctxOut = new Uint8Array(new ArrayBuffer(ctxSize));
      const call = bpfTry(sys, 'PROG_TEST_RUN', {
        prog_fd: this.fd,
        data_in: data,
        data_size_in: data.length,
        data_out: dataSize ? dataOut : null,
        data_size_out: dataSize,
        ctx_in: ctx ?? null,
        ctx_size_in: ctx?.length ?? 0,
        ctx_out: ctxSize ? ctxOut : null,
        ctx_size_out: ctxSize,
        repeat: options.repeat ?? 0,
        flags: (options.flags ?? 0) | (options.cpu === undefined ? 0 : 1) /* BPF_F_TEST_RUN_ON_CPU */,
        cpu: options.cpu ?? 0,
        batch_size: options.batchSize ?? 0,
      });
      const layout = COMMAND_LAYOUTS.PROG_TEST_RUN;
      const neededData = readField(layout, call.attr, 'data_size_out');
      const neededCtx = readField(layout, call.attr, 'ctx_size_out');
      if (call.error) {
        if (call.error.is('ENOSPC') && attempt < 3 && (neededData > dataSize || neededCtx > ctxSize)) {
          dataSize = Math.max(dataSize, neededData);
          ctxSize = Math.max(ctxSize, neededCtx);
          continue;
        }
        throw new BpfSyscallError(BpfCmd.PROG_TEST_RUN, call.error.errno, `program '${this.name}'`, {
          cause: call.error,
          hint:
            call.error.is('ENOTSUPP') || call.error.is('EOPNOTSUPP')
              ? 'this program type has no test run'
              : undefined,
        });
      }
      return {
        retval: readField(layout, call.attr, 'retval'),
        dataOut: dataOut.subarray(0, Math.min(neededData, dataSize)),
        ctxOut: ctxSize ? ctxOut.subarray(0, Math.min(neededCtx, ctxSize)) : undefined,
        durationNs: readField(layout, call.attr, 'duration'),
      };
    }
  }
}

/**
 * Load a program (`BPF_PROG_LOAD`). The first attempt runs without a verifier log, for speed;
 * if it fails, the load is retried with a log buffer that grows on ENOSPC until the whole log
 * fits, so the verifier's reason is never lost. A rejection throws {@link VerifierError}; other
 * failures (EPERM…) throw {@link BpfSyscallError}.
 */
export function loadProgram(options: LoadProgramOptions): KernelProgram {
  const sys = getSys(options.sys);
  const insns = options.insns instanceof Uint8Array ? options.insns : encode(options.insns);
  if (insns.length === 0 || insns.length % 8 !== 0) {
    throw new TsbpfError(
      `load program '${options.name ?? ''}': ${insns.length} bytes is not a whole number of instructions`,
    );
  }
  const name = options.name ?? '';
  const fdArray = options.fdArray?.length ? new Uint8Array(new Int32Array(options.fdArray).buffer) : null;
  const license = cString(options.license);
  const level = options.logLevel || LogLevel.BRANCH;

  const attempt = (log: Uint8Array | null) =>
    bpfTry(sys, 'PROG_LOAD', {
      prog_type: progTypeNumber(options.type),
      insn_cnt: insns.length / 8,
      insns,
      license,
      log_level: log ? level : 0,
      log_size: log?.length ?? 0,
      log_buf: log,
      kern_version: options.kernVersion ?? 0,
      prog_flags: options.progFlags ?? 0,
      prog_name: sanitizeName(name),
      prog_ifindex: options.ifindex ?? 0,
      expected_attach_type: attachTypeNumber(options.expectedAttachType),
      prog_btf_fd: options.progBtfFd ?? 0,
      func_info_rec_size: options.funcInfo?.length ? FUNC_INFO_SIZE : 0,
      func_info: options.funcInfo?.length ? options.funcInfo : null,
      func_info_cnt: (options.funcInfo?.length ?? 0) / FUNC_INFO_SIZE,
      line_info_rec_size: options.lineInfo?.length ? LINE_INFO_SIZE : 0,
      line_info: options.lineInfo?.length ? options.lineInfo : null,
      line_info_cnt: (options.lineInfo?.length ?? 0) / LINE_INFO_SIZE,
      attach_btf_id: options.attachBtfId ?? 0,
      attach_btf_obj_fd: options.attachBtfObjFd ?? 0,
      fd_array: fdArray,
    });
  // EAGAIN: the verifier was interrupted by a signal (since 5.x); the load is safe to repeat.
  const retrying = (log: Uint8Array | null) => {
    for (let tries = 0; ; tries++) {
      const call = attempt(log);
      if (!call.error || tries >= 10 || !(call.error.is('EAGAIN') || call.error.is('EINTR'))) return call;
    }
  };

  let log: Uint8Array | null = null;
  let call = options.alwaysLog ? undefined : retrying(null);
  if (!call || call.error) {
    let size = Math.max(options.logSize ?? INITIAL_LOG_SIZE, 1024);
    for (;;) {
      log = new Uint8Array(new ArrayBuffer(size));
      call = retrying(log);
      if (!call.error?.is('ENOSPC') || size >= MAX_LOG_SIZE) break;
      size = Math.min(size * 4, MAX_LOG_SIZE);
    }
  }
  if (call.error) {
    const text = log ? decodeLog(log).trimEnd() : '';
    if (text) {
      throw new VerifierError(name, call.error.errno, text, {
        lineOf: options.lineOf,
        truncated: call.error.is('ENOSPC'),
        cause: call.error,
      });
    }
    throw new BpfSyscallError(BpfCmd.PROG_LOAD, call.error.errno, `program '${name}'`, { cause: call.error });
  }
  return new KernelProgram(call.result, name, options.type, {
    sys,
    ...(options.alwaysLog && log ? { log: decodeLog(log) } : {}),
  });
}

function adoptProgram(fd: number, fallbackName: string, sys: Sys): KernelProgram {
  try {
    const info = objectInfo(fd, BPF_PROG_INFO, {}, sys);
    const type = enumName(ProgType, info.type) ?? info.type;
    return new KernelProgram(fd, info.name || fallbackName, type, { sys });
  } catch (error) {
    sys.close(fd);
    throw error;
  }
}

/** Open the program pinned at `path`. */
export function openPinnedProgram(path: string, options: { sys?: Sys } = {}): KernelProgram {
  const sys = getSys(options.sys);
  return adoptProgram(getPinnedObject(path, { sys }), basename(path), sys);
}

/** Open a program by its kernel id (needs CAP_SYS_ADMIN). */
export function programFromId(id: number, options: { sys?: Sys } = {}): KernelProgram {
  const sys = getSys(options.sys);
  return adoptProgram(fdFromId('prog', id, { sys }), `prog_${id}`, sys);
}

/**
 * `BPF_ENABLE_STATS` (since 5.8): count run time and run count for every program while the
 * returned handle is open. Close it to stop.
 */
export function enableStats(options: { type?: number; sys?: Sys } = {}): {
  readonly fd: number;
  close(): void;
} {
  const sys = getSys(options.sys);
  const { result } = bpfCall(sys, 'ENABLE_STATS', { type: options.type ?? 0 /* BPF_STATS_RUN_TIME */ });
  const owner = new FdOwner(result, sys);
  return {
    get fd() {
      return owner.fd;
    },
    close: () => owner.close(),
  };
}
