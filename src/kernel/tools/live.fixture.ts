/**
 * For the tools' live tests: run `tsbpf tools …` in-process, wait until it is tracing, make the
 * events happen, stop it with a real SIGINT (or SIGTERM; or let it end by its count) and return what it wrote, plus what was
 * attached while it ran and what is still there after. Not part of the package.
 */

import type { CliOutput } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import { openLinkCount } from '../attach/links.js';
import { listPrograms } from '../inspect/info.js';
import { tracefsUnavailable } from '../sys/availability.js';

/** Why the live tool tests cannot run here, or undefined. */
export function toolsUnavailable(): string | undefined {
  return tracefsUnavailable();
}

/** What a run of a tool left behind. */
export interface ToolRun {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  /** `--json` lines parsed. */
  readonly records: Record<string, unknown>[];
  /** Names of the loaded programs whose names start with `prefix`, while tracing. */
  readonly attached: string[];
  /** The same after the tool stopped: must be empty. */
  readonly leftover: string[];
  /** Links our process still holds after the tool stopped: must be 0. */
  readonly openLinks: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function programsNamed(prefix: string): string[] {
  return (
    listPrograms()
      // The kernel's own 15-byte names (listings now show the full BTF name): what the tests expect.
      .map((p) => p.info.name.slice(0, 15))
      .filter((name) => name.startsWith(prefix))
  );
}

/**
 * Run `tsbpf tools ARGS`, call `trigger` once it is tracing, then send `signal` to ourselves.
 * `ready` says when it is tracing (default: the "Hit Ctrl-C" note on stderr, which `--json` prints).
 */
export async function runTool(
  args: readonly string[],
  options: {
    prefix: string;
    trigger: () => Promise<void> | void;
    /** How to stop it; 'none' waits for the tool to end by itself (a count, a duration). */
    signal?: NodeJS.Signals | 'none';
    ready?: (stdout: string, stderr: string) => boolean;
    /** Wait this long after the trigger for the events to arrive (ms). */
    settle?: number;
  },
): Promise<ToolRun> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void): CliOutput => ({
    write: (text: string) => {
      append(text);
      return true;
    },
    isTTY: false,
  });
  const running = main(['tools', ...args], {
    stdout: sink((t) => {
      stdout += t;
    }),
    stderr: sink((t) => {
      stderr += t;
    }),
  });
  let finished = false;
  void running.finally(() => {
    finished = true;
  });
  const ready = options.ready ?? ((_out, err) => err.includes('Hit Ctrl-C'));
  for (let waited = 0; !ready(stdout, stderr) && !finished; waited += 20) {
    if (waited > 60_000) throw new Error(`tool not ready after 60 s: ${stderr}`);
    await sleep(20);
  }
  if (finished) {
    const status = await running;
    throw new Error(`tool ended before tracing (status ${status}): ${stderr}${stdout}`);
  }
  const attached = programsNamed(options.prefix);
  await options.trigger();
  await sleep(options.settle ?? 300);
  if (options.signal !== 'none') process.kill(process.pid, options.signal ?? 'SIGINT');
  const status = await running;
  const openLinks = openLinkCount();
  // The kernel frees a closed program after an RCU grace period (tracing programs through a
  // work queue): give it a moment before calling anything left over.
  let leftover = programsNamed(options.prefix);
  for (let waited = 0; leftover.length > 0 && waited < 5000; waited += 50) {
    await sleep(50);
    leftover = programsNamed(options.prefix);
  }
  return {
    status,
    stdout,
    stderr,
    records: stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>),
    attached,
    leftover,
    openLinks,
  };
}
