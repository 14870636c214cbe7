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
  export: async () => (await import('./export.js')).registerExportCommands,
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
  export: ['export'],
  tools: ['tools'],
};

/** bpftool's global output flags, which it takes before the command, and the command options they become. */
const GLOBAL_FLAGS: Record<string, readonly string[]> = {
  '-j': ['--json'],
  '--json': ['--json'],
  '-p': ['--pretty'],
  '--pretty': ['--pretty'],
  '-jp': ['--json', '--pretty'],
  '-pj': ['--json', '--pretty'],
};

/**
 * `tsbpf -jp map dump id 5` as bpftool takes it: output flags written before the command are
 * handed to the command (every command that prints data has `--json`; the kernel ones `--pretty`
 * too), placed before a `--` so they never become arguments of the program it runs.
 */
export function moveGlobalFlags(argv: readonly string[]): readonly string[] {
  const { count, flags } = leadingGlobalFlags(argv);
  if (count === 0) return argv;
  const rest = argv.slice(count);
  const end = rest.indexOf('--');
  const at = end < 0 ? rest.length : end;
  return [...rest.slice(0, at), ...flags, ...rest.slice(at)];
}

/** How many words at the start of `argv` are global output flags, and the options they stand for. */
function leadingGlobalFlags(argv: readonly string[]): { count: number; flags: string[] } {
  let count = 0;
  const flags = new Set<string>();
  for (; count < argv.length && Object.hasOwn(GLOBAL_FLAGS, argv[count]!); count++) {
    for (const flag of GLOBAL_FLAGS[argv[count]!]!) flags.add(flag);
  }
  return { count, flags: [...flags] };
}

/**
 * The command a global output flag was given to, when that command does not print JSON: a
 * message naming it (rather than commander's "unknown option '--json'", which the user never typed).
 */
function unsupportedGlobalFlags(program: Command, commandLine: readonly string[]): string | undefined {
  const { count, flags } = leadingGlobalFlags(commandLine);
  if (count === 0) return undefined;
  let command = program;
  const path: string[] = [];
  for (const word of commandLine.slice(count)) {
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) break;
    command = sub;
    path.push(sub.name());
  }
  // Not a leaf command (help, a typo): commander says what is wrong.
  if (command === program || command.commands.length > 0) return undefined;
  const missing = flags.filter((flag) => !command.options.some((o) => o.long === flag));
  if (missing.length === 0) return undefined;
  return `error: tsbpf ${path.join(' ')} has no ${missing.join(' or ')} output (given as ${commandLine.slice(0, count).join(' ')})\n`;
}

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
export async function main(commandLine: readonly string[], io: CliIo = processIo): Promise<number> {
  const argv = moveGlobalFlags(commandLine);
  // A bare --version needs no parser: answer it before loading one.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const [{ Command, CommanderError }, { renderError }, { finishHelp }] = await Promise.all([
    import('./commonjs.js'),
    import('./render.js'),
    import('./examples.js'),
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
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  const registers = await Promise.all(groupsFor(argv).map((name) => GROUPS[name]!()));
  for (const register of registers) register(program, ctx, fail);
  finishHelp(program);
  const unsupported = unsupportedGlobalFlags(program, commandLine);
  if (unsupported) {
    io.stderr.write(unsupported);
    return EXIT_INPUT;
  }
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
