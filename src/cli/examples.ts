/**
 * The examples each command's `--help` ends with, by command path. Commands that set their own
 * (`prog show`, `map dump`, `btf dump`, `gen skeleton`) are not listed; `src/cli/help.test.ts`
 * checks that every command has some.
 */
import type { Command } from 'commander';

export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  asm: ['tsbpf asm testdata/asm/sum.s -o sum.bin', 'tsbpf asm prog.s --syntax conformance'],
  disasm: ['tsbpf disasm sum.bin', 'tsbpf disasm sum.bin --flavor verifier'],
  objdump: ['tsbpf objdump examples/xdp_count.bpf.o', 'tsbpf objdump examples/xdp_count.bpf.o --json'],
  build: [
    'tsbpf build examples/xdp_count.bpf.c -o xdp_count.bpf.o',
    'tsbpf build prog.bpf.c --cpu v4 -I include -D DEBUG=1 -- -Wextra -Werror',
  ],
  run: [
    'tsbpf run testdata/asm/sum.s',
    'tsbpf run examples/xdp_count.bpf.o --pcap testdata/pcap/sample.pcap',
    'tsbpf run examples/subprog.bpf.o:xdp_drop_non_ip --data ffffffffffff00000000000008004500',
    'sudo tsbpf run examples/hello.bpf.o --kernel --duration 5',
  ],
  test: [
    'tsbpf test testdata/vectors/examples.jsonl',
    'sudo tsbpf test testdata/vectors/examples.jsonl --kernel',
  ],
  load: [
    'sudo tsbpf load examples/xdp_count.bpf.o',
    'sudo tsbpf load examples/hello.bpf.o --pin /sys/fs/bpf/hello',
  ],
  'prog dump xlated': ['sudo tsbpf prog dump xlated name xdp_count_protocols'],
  'prog dump jited': ['sudo tsbpf prog dump jited id 42'],
  'map show': ['sudo tsbpf map show', 'sudo tsbpf -j map show name proto_stats'],
  'link show': ['sudo tsbpf link show', 'sudo tsbpf -jp link show id 3'],
  'btf list': ['tsbpf btf list', 'tsbpf btf list id 1'],
  feature: ['tsbpf feature', 'sudo tsbpf feature --helpers -j'],
  bench: ['tsbpf bench examples/xdp_count.bpf.o --data ffffffffffff00000000000008004500'],
  verify: [
    'tsbpf verify examples/tail_call.bpf.o',
    'tsbpf verify examples/loop.bpf.o --caps unpriv --log-level 2',
  ],
  export: ['tsbpf export examples/export.yaml --check', 'sudo tsbpf export examples/export.yaml'],
};

/** `tsbpf prog show` for a command: its names from the root, without `tsbpf`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at?.parent; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

/**
 * Give every command under `program` its examples (from {@link EXAMPLES}, or `tsbpf tools NAME`
 * for bcc's tools) and a usage error of one line with a `--help` hint instead of the whole help.
 */
export function finishHelp(program: Command): void {
  const visit = (command: Command): void => {
    const path = commandPath(command);
    command.showHelpAfterError(`(see 'tsbpf ${path ? `${path} ` : ''}--help')`);
    const examples =
      EXAMPLES[path] ??
      (command.parent?.name() === 'tools' && command.parent.parent
        ? [`sudo tsbpf tools ${command.name()}`, `sudo tsbpf tools ${command.name()} --json`]
        : undefined);
    if (examples)
      command.addHelpText(
        'after',
        `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  $ ${e}`).join('\n')}`,
      );
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
}
