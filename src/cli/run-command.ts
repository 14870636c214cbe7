/**
 * `tsbpf run` (programs on the userspace VM; `--kernel` hands over to `kernel-run.ts`) and
 * `tsbpf test` (test vectors on the VM or, with `--kernel`, through BPF_PROG_TEST_RUN).
 */
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { VmError } from '../vm/errors.js';
import { Vm } from '../vm/vm.js';
import { pc } from './commonjs.js';
import {
  type CliContext,
  EXIT_FAULT,
  EXIT_INPUT,
  exitStatusOf,
  InputError,
  isElf,
  readBinary,
  readFileHead,
  readObjectFile,
  readSource,
} from './io.js';
import { type Engine, engineOption, noVerifyOption, parseHex, positiveInt, syntaxOption } from './options.js';
import { hostClock, runCapture, runOnce } from './packets.js';
import type { Syntax } from './programs.js';
import { renderError } from './render.js';

const hex64 = (value: bigint): string => `0x${value.toString(16)}`;

interface RunCommandOptions {
  kernel?: boolean;
  iface?: string;
  duration?: number;
  mem?: string;
  data?: string;
  pcap?: string;
  write?: string;
  ctx?: string;
  type?: string;
  repeat?: number;
  cpu?: number;
  json?: boolean;
  budget: number;
  syntax?: Syntax;
  engine?: Engine;
  verify: boolean;
}

/** Whether a file (`FILE.o` or `FILE.o:PROGRAM`) is an ELF object. */
function isElfFile(target: string): boolean {
  const file = /^(.*\.o):[^/]*$/.exec(target)?.[1] ?? target;
  try {
    return isElf(readFileHead(file, 4));
  } catch {
    return false;
  }
}

/** Add `run` and `test` to the program. */
export function registerRunCommands(
  program: Command,
  ctx: CliContext,
  fail: (error: unknown) => never,
): void {
  const { io } = ctx;
  program
    .command('run')
    .description(
      'run programs on the userspace VM: conformance vectors and assembly (prints r0), or packet programs from an object file over --data or a --pcap capture (BPF_PROG_TEST_RUN semantics)',
    )
    .argument('<programs...>', '.data vectors, .s sources, raw .bin programs, or FILE.o[:PROGRAM]')
    .option('--mem <hex>', 'input memory as hex bytes (r1 = its address, r2 = its length)')
    .option('--data <hex>', 'packet for a test run of FILE.o[:PROGRAM] (or a raw program with --type)')
    .option('--pcap <file>', 'run FILE.o[:PROGRAM] over every packet of a pcap/pcapng capture')
    .option('--write <file>', 'with --pcap: write the packets the program passes (with its changes)')
    .option(
      '--ctx <file>',
      'context bytes for the test run (struct xdp_md, __sk_buff…), or the record a tracepoint, kprobe or perf-event program reads',
    )
    .option('--type <type>', 'program type of a raw program in a test run (xdp, socket_filter, sched_cls)')
    .option('--repeat <n>', 'test-run repetitions', positiveInt)
    .option('--cpu <n>', 'simulated CPU to run on', (v) => Number(v))
    .option('--kernel', 'load FILE.o into the running kernel, attach its programs, stream output (root)')
    .option('--iface <name>', 'with --kernel: the interface for XDP and tc programs')
    .option('--duration <seconds>', 'with --kernel: stop after this long (default: Ctrl-C)', positiveInt)
    .option('--json', 'one JSON line per program')
    .option('--budget <n>', 'executed-instruction budget per run', positiveInt, 1_000_000)
    .addOption(engineOption())
    .addOption(syntaxOption())
    .addOption(noVerifyOption())
    .action(async (files: string[], options: RunCommandOptions) => {
      if (options.kernel) {
        try {
          if (files.length !== 1) throw new InputError('--kernel takes exactly one object file');
          // The kernel's programs are attached and see real events: test-run input has no place.
          const vmOnly = (['data', 'pcap', 'write', 'ctx', 'mem', 'type', 'repeat', 'cpu'] as const).filter(
            (name) => options[name] !== undefined,
          );
          if (vmOnly.length > 0)
            throw new InputError(
              `--${vmOnly.join(', --')} ${vmOnly.length > 1 ? 'are' : 'is'} for test runs on the VM; with --kernel the programs are attached and see real traffic and events (drop --kernel to test-run it)`,
            );
          const { runInKernel } = await import('./kernel-run.js');
          ctx.status = await runInKernel(files[0]!, options, io);
        } catch (error) {
          fail(error);
        }
        return;
      }
      if (options.pcap || options.data !== undefined || options.type || files.some((f) => isElfFile(f))) {
        try {
          if (files.length !== 1)
            throw new InputError('a test run takes exactly one FILE.o[:PROGRAM] or raw program');
          const packetOptions = {
            ...options,
            data: options.data === undefined ? undefined : parseHex(options.data, '--data'),
          };
          ctx.status = options.pcap
            ? runCapture(files[0]!, { ...packetOptions, pcap: options.pcap }, io)
            : runOnce(files[0]!, packetOptions, io);
        } catch (error) {
          fail(error);
        }
        return;
      }
      let mem: Uint8Array | undefined;
      try {
        mem = options.mem === undefined ? undefined : parseHex(options.mem, '--mem');
      } catch (error) {
        fail(error);
      }
      const vm = new Vm({
        engine: options.engine,
        budget: options.budget,
        trace: (line) => io.stderr.write(`${pc.dim('trace:')} ${line}\n`),
        clock: hostClock(),
      });
      // Assembly, conformance vectors and raw programs only: the assembler loads when they run.
      const { readProgram } = await import('./programs.js');
      let status = 0;
      let passed = 0;
      let failed = 0;
      for (const file of files) {
        let r0: bigint | undefined;
        let error: unknown;
        let executed = 0;
        let expected: bigint | undefined;
        let skipped: string | undefined;
        try {
          const loaded = readProgram(file, options.syntax);
          expected = loaded.expected;
          skipped = loaded.skipped;
          if (!skipped) {
            const result = vm.run(vm.load(loaded.insns), { mem: mem ?? loaded.mem, readMem: false });
            r0 = result.r0;
            executed = result.insnsExecuted;
          }
        } catch (caught) {
          error = caught;
          const input = exitStatusOf(caught) === EXIT_INPUT || !(caught instanceof VmError);
          status = Math.max(status, input ? EXIT_INPUT : EXIT_FAULT);
        }
        const message = error instanceof Error ? error.message : error === undefined ? null : String(error);
        if (expected !== undefined) {
          if (r0 === expected) passed++;
          else failed++;
        }
        if (options.json) {
          const line = {
            file,
            result: r0 === undefined ? null : hex64(r0),
            error: skipped ? `skipped: ${skipped}` : message,
            insns_executed: executed,
          };
          io.stdout.write(`${JSON.stringify(line)}\n`);
        } else if (skipped) {
          io.stdout.write(`${file}: ${pc.yellow('skipped')} (${skipped})\n`);
        } else if (error !== undefined) {
          io.stderr.write(`${file}: ${renderError(error)}\n`);
        } else {
          const verdict =
            expected === undefined
              ? ''
              : expected === r0
                ? ` ${pc.green('ok')}`
                : ` ${pc.red(`MISMATCH (expected ${hex64(expected)})`)}`;
          io.stdout.write(`${files.length > 1 ? `${file}: ` : ''}${hex64(r0!)}${verdict}\n`);
        }
      }
      if (!options.json && passed + failed > 1) io.stdout.write(`${passed} passed, ${failed} failed\n`);
      // A result that differs from the one a .data file expects is a failure too.
      ctx.status = failed > 0 ? Math.max(status, EXIT_FAULT) : status;
    });

  program
    .command('test')
    .description('run test vectors (JSON Lines) on the VM, or with --kernel through BPF_PROG_TEST_RUN')
    .argument('<vectors>', 'a .jsonl file: one case per line (see README)')
    .option('--kernel', 'run the cases in the Linux kernel instead of the VM')
    .option('--json', 'one JSON line per case')
    .addOption(engineOption())
    .addOption(noVerifyOption())
    .action(
      async (
        file: string,
        options: { kernel?: boolean; json?: boolean; engine?: Engine; verify: boolean },
      ) => {
        try {
          const { parseVectors, runVector, toHex } = await import('../testvec/vectors.js');
          const cases = parseVectors(readSource(file, 'test vectors file'));
          const backend = options.kernel
            ? (await import('../kernel/vectors.js')).kernelVectorBackend
            : (await import('../vm/vectors.js')).vmVectorBackendFor(options.engine, {
                verify: options.verify,
              });
          const base = dirname(file);
          let passed = 0;
          for (const vector of cases) {
            const outcome = runVector(backend, vector, (path) =>
              path.endsWith('.bin')
                ? readBinary(resolve(base, path), 'raw program')
                : readObjectFile(resolve(base, path)),
            );
            if (outcome.pass) passed++;
            if (options.json) {
              io.stdout.write(
                `${JSON.stringify({ name: outcome.name, pass: outcome.pass, retval: outcome.retval, data_out: outcome.dataOut ? toHex(outcome.dataOut) : null, error: outcome.error })}\n`,
              );
            } else {
              io.stdout.write(
                `${outcome.pass ? pc.green('PASS') : pc.red('FAIL')} ${outcome.name}${outcome.error ? `: ${outcome.error}` : ''}\n`,
              );
            }
          }
          io.stdout.write(`${passed} passed, ${cases.length - passed} failed\n`);
          ctx.status = passed === cases.length ? 0 : 1;
        } catch (error) {
          fail(error);
        }
      },
    );
}
