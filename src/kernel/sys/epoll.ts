/**
 * Waiting for kernel file descriptors (ring buffer maps, perf events, `trace_pipe`) to become
 * readable, without blocking JavaScript.
 *
 * Node has no way to poll an arbitrary fd (libuv's `uv_poll_t` is not exposed), and a blocking
 * `epoll_wait` on the JavaScript thread would freeze the event loop. So one process-wide
 * {@link Poller} owns one epoll instance and waits on it through a koffi *asynchronous* call, which
 * runs `epoll_wait` on a libuv worker thread and resolves on the JavaScript thread. However many
 * readers are open, at most one worker thread is ever blocked (libuv has only four by default, and
 * `fs` needs them too).
 *
 * Every fd is registered `EPOLLONESHOT`: once it reports readiness it stays quiet until its
 * reader {@link Watch.arm | re-arms} it. A reader that is not being pulled from (an async iterator
 * nobody awaits) therefore never makes the poller spin, and re-arming costs nothing extra:
 * `EPOLL_CTL_MOD` polls the fd again, so data that arrived in between is reported at once.
 *
 * An eventfd in the same epoll set wakes the worker when the last watch closes, so no pending
 * call keeps the process alive after the readers are closed.
 */
import { SyscallError } from './errors.js';
import { type Arg, native } from './syscall.js';

/** `EPOLL*` event bits (`sys/epoll.h`). */
export const EpollEvents = {
  IN: 0x001,
  PRI: 0x002,
  OUT: 0x004,
  ERR: 0x008,
  HUP: 0x010,
  RDHUP: 0x2000,
  ONESHOT: 1 << 30,
} as const;

const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;
const EPOLL_CLOEXEC = 0o2000000;
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
/** The token of the wake-up eventfd; fds get tokens from 1 up. */
const WAKE_TOKEN = 0;

/**
 * `struct epoll_event` is `__attribute__((packed))` on x86-64 only (12 bytes: u32 events, u64
 * data); elsewhere the u64 is aligned (16 bytes).
 */
const EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
const DATA_OFFSET = process.arch === 'x64' ? 4 : 8;
/** Events fetched per `epoll_wait`. */
const MAX_EVENTS = 64;

type NativeFn = ((...args: Arg[]) => unknown) & {
  async(...args: [...Arg[], (error: unknown, result: unknown) => void]): void;
};

interface EpollLibc {
  epollCreate1: NativeFn;
  epollCtl: NativeFn;
  epollWait: NativeFn;
  eventfd: NativeFn;
  read: NativeFn;
  write: NativeFn;
}

let bound: EpollLibc | undefined;

function libc(): EpollLibc {
  if (bound) return bound;
  // Pointers travel as integers (koffi.address), as in syscall.ts: the buffers stay referenced
  // by the caller for the duration of the call, and an async call must not have koffi copy them.
  const lib = native().koffi.load('libc.so.6') as unknown as { func(signature: string): NativeFn };
  bound = {
    epollCreate1: lib.func('int epoll_create1(int flags)'),
    epollCtl: lib.func('int epoll_ctl(int epfd, int op, int fd, int64_t event)'),
    epollWait: lib.func('int epoll_wait(int epfd, int64_t events, int maxevents, int timeout)'),
    eventfd: lib.func('int eventfd(unsigned int initval, int flags)'),
    read: lib.func('intptr_t read(int fd, int64_t buf, size_t count)'),
    write: lib.func('intptr_t write(int fd, int64_t buf, size_t count)'),
  };
  return bound;
}

function check(name: string, result: unknown): number {
  const value = Number(result);
  if (value < 0) throw new SyscallError(name, native().koffi.errno());
  return value;
}

function address(bytes: Uint8Array): bigint {
  return native().koffi.address(bytes) ?? 0n;
}

/**
 * One epoll instance plus an eventfd that can interrupt a wait. Most code wants the shared
 * {@link poller} instead; this class is exported for tests and for callers that poll on their own
 * thread with {@link waitSync}.
 */
export class Epoll {
  readonly fd: number;
  readonly #wakeFd: number;
  readonly #events = new Uint8Array(new ArrayBuffer(EVENT_SIZE * MAX_EVENTS));
  readonly #ctl = new Uint8Array(new ArrayBuffer(16));
  readonly #counter = new Uint8Array(new ArrayBuffer(8));
  #waiting = false;
  #closed = false;

  constructor() {
    const c = libc();
    this.fd = check('epoll_create1', c.epollCreate1(EPOLL_CLOEXEC));
    try {
      this.#wakeFd = check('eventfd', c.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    } catch (error) {
      native().close(this.fd);
      throw error;
    }
    this.#control(EPOLL_CTL_ADD, this.#wakeFd, EpollEvents.IN, WAKE_TOKEN);
  }

  #control(op: number, fd: number, events: number, token: number): void {
    const view = new DataView(this.#ctl.buffer);
    view.setUint32(0, events, true);
    view.setBigUint64(DATA_OFFSET, BigInt(token), true);
    check(`epoll_ctl(${fd})`, libc().epollCtl(this.fd, op, fd, address(this.#ctl)));
  }

  /** Watch `fd` for `events`; `token` (≥ 1) is what {@link wait} reports for it. */
  add(fd: number, events: number, token: number): void {
    this.#control(EPOLL_CTL_ADD, fd, events, token);
  }

  /** Change the events of a watched fd; with `EPOLLONESHOT` this re-arms it. */
  modify(fd: number, events: number, token: number): void {
    this.#control(EPOLL_CTL_MOD, fd, events, token);
  }

  /** Stop watching `fd` (already-closed fds are ignored: closing removes them anyway). */
  delete(fd: number): void {
    try {
      this.#control(EPOLL_CTL_DEL, fd, 0, 0);
    } catch (error) {
      if (!(error instanceof SyscallError && (error.is('EBADF') || error.is('ENOENT')))) throw error;
    }
  }

  /** Make a pending (or the next) {@link wait} return. */
  wake(): void {
    new DataView(this.#counter.buffer).setBigUint64(0, 1n, true);
    libc().write(this.#wakeFd, address(this.#counter), 8);
  }

  #collect(count: number): number[] {
    const view = new DataView(this.#events.buffer);
    const tokens: number[] = [];
    for (let i = 0; i < count; i++) {
      const token = Number(view.getBigUint64(i * EVENT_SIZE + DATA_OFFSET, true));
      if (token === WAKE_TOKEN) {
        // Drain the counter so the eventfd stops being readable.
        libc().read(this.#wakeFd, address(this.#counter), 8);
      } else tokens.push(token);
    }
    return tokens;
  }

  /** `epoll_wait` on this thread; the tokens of ready fds (empty on timeout or wake-up). */
  waitSync(timeoutMs: number): number[] {
    const count = Number(libc().epollWait(this.fd, address(this.#events), MAX_EVENTS, timeoutMs));
    // EINTR (a signal arrived) is reported as nothing ready: callers loop anyway.
    return count > 0 ? this.#collect(count) : [];
  }

  /**
   * `epoll_wait` with no timeout on a libuv worker thread; resolves with the ready tokens, or
   * with none after {@link wake}. One wait at a time (the events buffer is shared).
   */
  wait(): Promise<number[]> {
    if (this.#waiting) return Promise.reject(new Error('Epoll.wait: a wait is already pending'));
    if (this.#closed) return Promise.resolve([]);
    this.#waiting = true;
    const events = this.#events;
    return new Promise((resolve, reject) => {
      libc().epollWait.async(this.fd, address(events), MAX_EVENTS, -1, (error, result) => {
        this.#waiting = false;
        if (error) reject(error);
        else resolve(Number(result) > 0 && !this.#closed ? this.#collect(Number(result)) : []);
      });
    });
  }

  /** Close both fds. A pending {@link wait} is woken first and resolves empty. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#waiting) {
      // The worker is still inside epoll_wait on these fds: wake it, and close once it returns.
      this.wake();
      const closeLater = setInterval(() => {
        if (this.#waiting) return;
        clearInterval(closeLater);
        native().close(this.#wakeFd);
        native().close(this.fd);
      }, 1);
      return;
    }
    native().close(this.#wakeFd);
    native().close(this.fd);
  }
}

/** A registration with the {@link Poller}. */
export interface Watch {
  /** Report the next readiness too (the registration is one-shot until re-armed). */
  arm(): void;
  /** Stop watching. Call before closing the fd. Idempotent. */
  close(): void;
}

/**
 * The process-wide multiplexer: each watched fd gets a callback that runs on the JavaScript
 * thread when the fd is readable (once per {@link Watch.arm}). The worker-thread wait runs only
 * while something is watched.
 */
export class Poller {
  #epoll: Epoll | undefined;
  readonly #handlers = new Map<number, () => void>();
  #nextToken = 1;
  #running = false;

  /** Watch `fd` for `events` (default readable); the watch starts armed. */
  watch(fd: number, onReady: () => void, events: number = EpollEvents.IN): Watch {
    this.#epoll ??= new Epoll();
    const epoll = this.#epoll;
    const token = this.#nextToken++;
    const mask = events | EpollEvents.ONESHOT;
    epoll.add(fd, mask, token);
    this.#handlers.set(token, onReady);
    this.#run();
    let open = true;
    return {
      arm: () => {
        if (open) epoll.modify(fd, mask, token);
      },
      close: () => {
        if (!open) return;
        open = false;
        epoll.delete(fd);
        this.#handlers.delete(token);
        if (this.#handlers.size === 0) {
          // Nothing left to wait for: let the worker go, so the process can exit.
          epoll.wake();
        }
      },
    };
  }

  /** How many fds are watched. */
  get size(): number {
    return this.#handlers.size;
  }

  #run(): void {
    if (this.#running) return;
    this.#running = true;
    void (async () => {
      try {
        while (this.#handlers.size > 0 && this.#epoll) {
          const tokens = await this.#epoll.wait();
          for (const token of tokens) {
            const handler = this.#handlers.get(token);
            if (!handler) continue;
            try {
              handler();
            } catch (error) {
              // A reader's own failure must not stop every other reader's wake-ups.
              queueMicrotask(() => {
                throw error;
              });
            }
          }
        }
      } finally {
        this.#running = false;
        // A watch may have been added while the last wait was finishing.
        if (this.#handlers.size > 0) this.#run();
      }
    })();
  }
}

let shared: Poller | undefined;

/** The process-wide {@link Poller}. */
export function poller(): Poller {
  shared ??= new Poller();
  return shared;
}

/** What {@link readRecords} needs of a ring or perf buffer reader. */
export interface RecordSource {
  readonly closed: boolean;
  consume(callback: (record: Uint8Array) => void, limit?: number): number;
  readable(timeoutMs?: number): Promise<boolean>;
}

/**
 * Records of a buffer as an async iterable: copies taken in bounded batches (so a fast producer
 * cannot grow the queue without limit), waiting on epoll when the buffer is empty, ending at close.
 */
export async function* readRecords(source: RecordSource): AsyncGenerator<Uint8Array> {
  const batch: Uint8Array[] = [];
  const collect = (record: Uint8Array) => {
    batch.push(record.slice());
  };
  while (!source.closed) {
    source.consume(collect, 4096);
    if (batch.length === 0) {
      await source.readable();
      continue;
    }
    for (const record of batch.splice(0)) yield record;
  }
}
