/**
 * Kernel resources that outlive the process unless removed (attached links, tracefs instances)
 * register a cleanup here. It runs at exit and on SIGINT, SIGTERM and SIGHUP; when no one else
 * listens for the signal, the default action is restored and the signal raised again, so the
 * process still dies the way it was asked to. Listening changes a signal's default action, so the
 * handlers are installed only while some cleanup is registered.
 */

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type CleanupSignal = (typeof SIGNALS)[number];

const cleanups = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const cleanup of [...cleanups]) {
    try {
      cleanup();
    } catch {
      // One failing cleanup must not keep the others from running.
    }
  }
}

function onSignal(signal: CleanupSignal): void {
  // Count before cleaning up: the last cleanup removes our own listener.
  const alone = process.listenerCount(signal) === 1;
  runAll();
  if (alone) {
    uninstall();
    process.kill(process.pid, signal);
  }
}

const handlers: Record<CleanupSignal, () => void> = {
  SIGINT: () => onSignal('SIGINT'),
  SIGTERM: () => onSignal('SIGTERM'),
  SIGHUP: () => onSignal('SIGHUP'),
};

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of SIGNALS) process.on(signal, handlers[signal]);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.removeListener('exit', runAll);
  for (const signal of SIGNALS) process.removeListener(signal, handlers[signal]);
}

/** Run `cleanup` at exit or on SIGINT/SIGTERM/SIGHUP until the returned function unregisters it. */
export function onProcessEnd(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  install();
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0) uninstall();
  };
}

/** The signals a registered cleanup runs on. */
export const CLEANUP_SIGNALS: readonly NodeJS.Signals[] = SIGNALS;
