/**
 * What the kernel's ring buffer and perf buffer readers share: waiting on their fds through the
 * process-wide epoll {@link poller} (one watch per fd, re-armed after each wake-up, one-shot),
 * `readable`/`poll`, a `start` listener fed on every wake-up, async iteration of copies, and a
 * `close` that resolves pending waits. A subclass says how to read its pages (`consume`,
 * `pending`), which fds to watch, and what to release.
 */
import { TsbpfError } from '../../errors.js';
import { poller, readRecords, type Watch } from '../sys/epoll.js';

interface Watched {
  watch: Watch;
  armed: boolean;
}

/** A record callback, with whatever a reader adds after the bytes (the perf buffer: the CPU). */
type AnyRecordCallback = (record: Uint8Array, ...context: never[]) => void;

export abstract class PolledReader<Callback extends AnyRecordCallback> {
  #waiters: Array<() => void> = [];
  #listener: Callback | undefined;
  #closed = false;
  /** One entry per fd of {@link watchedFds}, created on the first wait. */
  #watches: Watched[] = [];

  /** `ring buffer` / `perf buffer`, for messages. */
  protected abstract readonly what: string;
  /** Hand the records available now to `callback`, at most `limit`; returns how many. */
  abstract consume(callback: Callback, limit?: number): number;
  /** Bytes written and not yet read (0 once closed). */
  abstract get pending(): number;
  /** The fds epoll watches; `ready(index)` names the one that polled readable. */
  protected abstract watchedFds(): readonly number[];
  /** Unmap and close what the reader holds; called once, by {@link close}. */
  protected abstract release(): void;

  /** Feed the {@link start} listener after fd `index` polled readable (default: everything). */
  protected deliver(listener: Callback, _index: number): void {
    this.consume(listener);
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Resolve once records are (probably) available: at once if some are, otherwise when a watched
   * fd polls readable, on `timeoutMs`, or on close. True when data is available.
   */
  readable(timeoutMs?: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.pending > 0) return Promise.resolve(true);
    this.#ensureWatches();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        resolve(!this.#closed && this.pending > 0);
      };
      this.#waiters.push(done);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== done);
          resolve(!this.#closed && this.pending > 0);
        }, timeoutMs);
      }
      this.#rearm();
    });
  }

  /** Consume what is there; if nothing is, wait up to `timeoutMs` and consume again. */
  async poll(callback: Callback, timeoutMs?: number): Promise<number> {
    const now = this.consume(callback);
    if (now > 0 || this.#closed) return now;
    await this.readable(timeoutMs);
    return this.consume(callback);
  }

  /**
   * Deliver every record to `callback` as it arrives, until {@link stop} or {@link close}. The
   * callback runs on the JavaScript thread, one batch per wake-up.
   */
  start(callback: Callback): void {
    if (this.#listener) throw new TsbpfError(`${this.what}: already started`);
    this.#listener = callback;
    this.#ensureWatches();
    this.consume(callback);
    this.#rearm();
  }

  /** Stop delivering records to the {@link start} callback. */
  stop(): void {
    this.#listener = undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return readRecords(this);
  }

  /** Stop watching and release the pages. Pending waits resolve (false); iteration ends. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener = undefined;
    for (const watched of this.#watches) watched.watch.close();
    this.#watches = [];
    this.release();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #ensureWatches(): void {
    if (this.#closed) return;
    const fds = this.watchedFds();
    for (let index = this.#watches.length; index < fds.length; index++) {
      this.#watches.push({ watch: poller().watch(fds[index]!, () => this.#onReady(index)), armed: true });
    }
  }

  #rearm(): void {
    for (const watched of this.#watches) {
      if (!watched.armed) {
        watched.armed = true;
        watched.watch.arm();
      }
    }
  }

  #onReady(index: number): void {
    const watched = this.#watches[index];
    if (watched) watched.armed = false;
    if (this.#closed) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
    if (this.#listener) {
      this.deliver(this.#listener, index);
      this.#rearm();
    }
  }
}
