/**
 * Start-up: the CPU time (user + system) of `tsbpf` commands that do little work, against a bare
 * `node -e 0` measured in the same run. Target: `tsbpf --version` and `tsbpf asm` of a small file
 * within 1.5× of `node -e 0`. Runs the compiled CLI (`bin/tsbpf.js` → dist/), rebuilt first when
 * a source is newer than it. Every command runs without `NODE_EXTRA_CA_CERTS`: a certificate
 * bundle there costs each Node start ~40 ms of parsing, which would flatter the ratio.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Bench, ensureBuilt } from './bench.js';

const TARGET_RATIO = 1.5;
const root = fileURLToPath(new URL('../', import.meta.url));

/** CPU seconds (user + system) that `runs` runs of a command cost, from bash's `times`. */
function cpuSeconds(command: readonly string[], runs: number): number {
  const script = `for ((i = 0; i < ${runs}; i++)); do "$@" >/dev/null 2>&1; done; times`;
  const out = execFileSync('bash', ['-c', script, 'bash', ...command], { cwd: root, encoding: 'utf8', env });
  // `times` prints the shell's user/system time, then its children's: "0m1.234s 0m0.120s".
  const children = out.trim().split('\n').at(-1) ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (seconds.length !== 2) throw new Error(`cannot read CPU times from: ${out}`);
  return seconds[0]! + seconds[1]!;
}

/** The environment the commands run in: this one, less what every Node start would pay for. */
const env = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => name !== 'NODE_EXTRA_CA_CERTS'),
);

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

export const bench: Bench = {
  description: `CPU time of short tsbpf commands vs node -e 0 (target <= ${TARGET_RATIO}x)`,
  async run({ seconds }) {
    ensureBuilt(['dist/bundle/main.js']);
    const work = mkdtempSync(join(tmpdir(), 'tsbpf-bench-'));
    try {
      const bin = join(root, 'bin/tsbpf.js');
      const node = process.execPath;
      const commands: Array<{ name: string; argv: string[]; target: boolean }> = [
        { name: 'node -e 0', argv: [node, '-e', '0'], target: false },
        { name: 'tsbpf --version', argv: [node, bin, '--version'], target: true },
        {
          name: 'tsbpf asm sum.s',
          argv: [node, bin, 'asm', 'testdata/asm/sum.s', '-o', join(work, 'sum.bin')],
          target: true,
        },
        { name: 'tsbpf disasm sum.bin', argv: [node, bin, 'disasm', join(work, 'sum.bin')], target: false },
        {
          name: 'tsbpf run sum.s --mem',
          argv: [node, bin, 'run', 'testdata/asm/sum.s', '--mem', '0102'],
          target: false,
        },
      ];
      // Rounds interleave the commands, so that a change in the machine's load hits all alike;
      // the median round per command is reported.
      const rounds = Math.max(3, Math.round(5 * seconds));
      const runs = 4;
      const samples = commands.map(() => [] as number[]);
      for (let round = 0; round < rounds; round++) {
        commands.forEach((command, i) => {
          samples[i]!.push((cpuSeconds(command.argv, runs) / runs) * 1000);
        });
      }
      const base = median(samples[0]!);
      let worst = 0;
      const rows = commands.map((command, i) => {
        const ms = median(samples[i]!);
        const ratio = ms / base;
        if (command.target) worst = Math.max(worst, ratio);
        return {
          command: command.name,
          'cpu ms': Number(ms.toFixed(1)),
          'vs node -e 0': `${ratio.toFixed(2)}x`,
          target: command.target ? `<= ${TARGET_RATIO}x` : '-',
        };
      });
      return {
        rows,
        met: worst <= TARGET_RATIO,
        summary: `target ${TARGET_RATIO}x node -e 0 (${base.toFixed(0)} ms here); worst ${worst.toFixed(2)}x`,
      };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};
