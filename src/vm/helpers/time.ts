/**
 * Time helpers: `bpf_ktime_get_ns` (5), `bpf_ktime_get_boot_ns` (125, since 5.8),
 * `bpf_jiffies64` (118, since 5.5), `bpf_ktime_get_coarse_ns` (160, since 5.11) and
 * `bpf_ktime_get_tai_ns` (208, since 6.1), over a configurable {@link Clock}.
 *
 * Kernel facts this follows (measured on Linux 6.18, x86-64, `CONFIG_HZ=250` from
 * `/proc/config.gz`):
 * - `jiffies64` is `jiffies_64`, which starts at `INITIAL_JIFFIES` = `(u32)(-300 * HZ)` so that
 *   32-bit jiffies wrap five minutes after boot: a raw_tp program read 4295850414 when boot time
 *   was 3832.6 s, i.e. 4294892296 + 3832.6 × 250 (to within a few ticks).
 * - the coarse clock is the monotonic clock as of the last tick: it moves in steps of 1/HZ s.
 * - TAI is CLOCK_REALTIME plus the TAI offset NTP sets; with no NTP daemon it is 0 and TAI equals
 *   the wall clock (measured: 1795656546 s, the `date +%s` of that moment).
 */

import type { Helper } from '../helpers.js';
import { defineHelper } from './common.js';

/** `CONFIG_HZ` of the kernel the numbers were taken from, and the most common distribution value. */
export const DEFAULT_HZ = 250;

/** `INITIAL_JIFFIES` for `hz`: jiffies_64 at boot, `(u32)(-300 * HZ)`. */
export function initialJiffies(hz: number): bigint {
  return BigInt.asUintN(32, BigInt(-300 * hz));
}

/** Where the time helpers read the time. All values are nanoseconds. */
export interface Clock {
  /** CLOCK_MONOTONIC: `bpf_ktime_get_ns`. */
  monotonicNs(): bigint;
  /** CLOCK_BOOTTIME (monotonic plus time suspended): `bpf_ktime_get_boot_ns` and jiffies. */
  bootNs(): bigint;
  /** CLOCK_TAI: `bpf_ktime_get_tai_ns`. */
  taiNs(): bigint;
  /** Ticks per second (`CONFIG_HZ`). */
  readonly hz: number;
}

/** Options of {@link systemClock}. */
export interface SystemClockOptions {
  /** `CONFIG_HZ`; default {@link DEFAULT_HZ}. */
  readonly hz?: number;
  /** Seconds TAI is ahead of UTC (the kernel's `tai_offset`); default 0, as with no NTP. */
  readonly taiOffsetSeconds?: number;
  /** Nanoseconds the system is pretended to have been up when the VM started; default 0. */
  readonly uptimeNs?: bigint;
  /**
   * The host's monotonic clock in milliseconds (fractional); default `performance.now()`. Node's
   * CLI gives `process.hrtime`: the `performance` global loads perf_hooks on first touch (~2 ms
   * of a short command).
   */
  readonly now?: () => number;
}

/**
 * A clock over the host's time: monotonic and boot time count from the VM's start (plus
 * `uptimeNs`), TAI is the host's wall clock.
 */
export function systemClock(options: SystemClockOptions = {}): Clock {
  const now = options.now ?? (() => performance.now());
  const origin = now();
  const uptime = options.uptimeNs ?? 0n;
  const tai = BigInt(options.taiOffsetSeconds ?? 0) * 1_000_000_000n;
  const since = (): bigint => uptime + BigInt(Math.round((now() - origin) * 1e6));
  return {
    hz: options.hz ?? DEFAULT_HZ,
    monotonicNs: since,
    bootNs: since,
    taiNs: () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)) + tai,
  };
}

/** A clock that moves only when told to, for tests and deterministic runs. */
export class ManualClock implements Clock {
  readonly hz: number;
  /** CLOCK_MONOTONIC now. */
  monotonic: bigint;
  /** Time spent suspended: boot time is monotonic plus this. */
  suspended = 0n;
  /** CLOCK_TAI minus CLOCK_MONOTONIC. */
  taiBase: bigint;

  constructor(options: { monotonicNs?: bigint; taiNs?: bigint; hz?: number } = {}) {
    this.hz = options.hz ?? DEFAULT_HZ;
    this.monotonic = options.monotonicNs ?? 0n;
    this.taiBase = (options.taiNs ?? 0n) - this.monotonic;
  }

  /** Move time forward by `ns`. */
  advance(ns: bigint): void {
    this.monotonic += ns;
  }

  monotonicNs(): bigint {
    return this.monotonic;
  }

  bootNs(): bigint {
    return this.monotonic + this.suspended;
  }

  taiNs(): bigint {
    return this.monotonic + this.taiBase;
  }
}

/** `jiffies_64` at boot time `bootNs`. */
export function jiffiesAt(bootNs: bigint, hz: number): bigint {
  return BigInt.asUintN(64, initialJiffies(hz) + (bootNs * BigInt(hz)) / 1_000_000_000n);
}

/** The time helpers over `clock` (default: {@link systemClock}). */
export function timeHelpers(clock: Clock = systemClock()): Helper[] {
  const tick = 1_000_000_000n / BigInt(clock.hz);
  return [
    defineHelper('ktime_get_ns', () => clock.monotonicNs()),
    defineHelper('ktime_get_boot_ns', () => clock.bootNs()),
    // The coarse clock is updated once a tick: round down to a multiple of the tick length.
    defineHelper('ktime_get_coarse_ns', () => {
      const now = clock.monotonicNs();
      return now - (now % tick);
    }),
    defineHelper('ktime_get_tai_ns', () => clock.taiNs()),
    defineHelper('jiffies64', () => jiffiesAt(clock.bootNs(), clock.hz)),
  ];
}
