/**
 * The `tsbpf` command line: `main(argv, io)` runs one command and resolves to its exit status.
 * `bin/tsbpf.js` calls it with the process's streams; tests call it in-process with buffers.
 *
 * Exit status: 0 on success, 1 when a program faulted at run time (or was rejected by the
 * kernel), 2 on bad input (unreadable file, assembly error, invalid encoding, bad option).
 *
 * Start-up cost matters (a command should cost about what `node -e 0` does), so the commands come
 * in groups, each in its own module, and only the group the command line names is loaded: `tsbpf
 * asm` never loads the VM, the object reader or the kernel backend (and with it koffi). `--help`
 * and unknown commands load them all.
 */
import type { Command } from 'commander';
import { type CliContext, CliExit, type CliIo, EXIT_INPUT, exitStatusOf, processIo } from './io.js';

export type { CliIo, CliOutput } from './io.js';

/** The package version `--version` prints. */
export const VERSION = '0.1.0';

type Register = (program: Command, ctx: CliContext, fail: (error: unknown) => never) => void;

/** The command groups, in the order `--help` lists them. */
const GROUPS: Record<string, () => Promise<Register>> = {
  isa: async () => (await import('./isa-commands.js')).registerIsaCommands,
  object: async () => (await import('./object-commands.js')).registerObjectCommands,
  run: async () => (await import('./run-command.js')).registerRunCommands,
  kernel: async () => (await import('./kernel.js')).registerKernelCommands,
  gen: async () => (await import('./gen.js')).registerGenCommands,
  bench: async () => (await import('./bench.js')).registerBenchCommands,
  verify: async () => (await import('./verify.js')).registerVerifyCommands,
  tools: async () => (await import('./tools.js')).registerToolsCommands,
};

/** Which groups define each top-level command (`btf dump` is an object command, `btf list` a kernel one). */
const COMMANDS: Record<string, readonly string[]> = {
  asm: ['isa'],
  disasm: ['isa'],
  objdump: ['object'],
  build: ['object'],
  btf: ['object', 'kernel'],
  run: ['run'],
  test: ['run'],
  load: ['kernel'],
  prog: ['kernel'],
  map: ['kernel'],
  link: ['kernel'],
  feature: ['kernel'],
  gen: ['gen'],
  bench: ['bench'],
  verify: ['verify'],
  tools: ['tools'],
};

/** The groups a command line needs: the named command's, else (help, a typo) all. */
function groupsFor(argv: readonly string[]): readonly string[] {
  const command = argv.find((arg) => !arg.startsWith('-'));
  if (command !== undefined && Object.hasOwn(COMMANDS, command)) return COMMANDS[command]!;
  return Object.keys(GROUPS);
}

/**
 * Run one `tsbpf` command line (`argv` without the node and script paths) and resolve to its exit
 * status. Output goes to `io` (the process's streams by default); nothing calls `process.exit`.
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  // A bare --version needs no parser: answer it before loading one.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const [{ Command, CommanderError }, { renderError }] = await Promise.all([
    import('commander'),
    import('./render.js'),
  ]);
  const ctx: CliContext = { io, status: 0 };
  const fail = (error: unknown): never => {
    if (error instanceof CliExit) throw error;
    io.stderr.write(`${renderError(error)}\n`);
    throw new CliExit(exitStatusOf(error));
  };
  const program = new Command('tsbpf')
    .description('eBPF for TypeScript: assemble, disassemble and run eBPF programs')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  const registers = await Promise.all(groupsFor(argv).map((name) => GROUPS[name]!()));
  for (const register of registers) register(program, ctx, fail);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.status;
  } catch (error) {
    if (error instanceof CliExit) return error.status;
    // Help and --version end with status 0; a usage error (bad option, missing argument) is bad input.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_INPUT;
    io.stderr.write(`${renderError(error)}\n`);
    return exitStatusOf(error);
  }
}
