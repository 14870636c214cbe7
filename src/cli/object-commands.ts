/** `tsbpf objdump`, `tsbpf btf dump` and `tsbpf build`: object files and BTF, no kernel needed. */
import type { Command } from 'commander';
import { buildObject } from '../build/clang.js';
import { type Btf, parseBtf } from '../object/btf.js';
import { btfTypeJson, dumpBtfJson, dumpBtfRaw } from '../object/btf-dump.js';
import { type Objdump, objdump } from '../object/objdump.js';
import { loadObjectSpec } from '../object/object.js';
import { Option } from './commonjs.js';
import { type CliContext, InputError, isElf, readBinary, readObjectFile, readSource } from './io.js';
import { renderObjdump } from './objdump.js';

/** Commander's collector for a repeatable option. */
const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Add `objdump`, `build` and `btf dump` to the program. */
export function registerObjectCommands(
  program: Command,
  ctx: CliContext,
  fail: (error: unknown) => never,
): void {
  const { io } = ctx;
  program
    .command('objdump')
    .description('show the programs, maps, globals, relocations and disassembly of a BPF object file')
    .argument('<file>', 'BPF object file (clang -target bpf -c output)')
    .option(
      '--json',
      'print JSON: {"programs":[{name,section,type,attach,insns:[…]}],"sections":[{section,functions,insns:[{section,index,text,function,line}]}],"maps":[…]}',
    )
    .action((file: string, options: { json?: boolean }) => {
      try {
        const dump = objdump(loadObjectSpec(readObjectFile(file)));
        if (options.json) io.stdout.write(`${JSON.stringify(objdumpJson(dump))}\n`);
        else io.stdout.write(renderObjdump(file, dump));
      } catch (error) {
        fail(error);
      }
    });

  program
    .command('build')
    .description("compile a BPF C source with clang, our headers and a vmlinux.h from this machine's BTF")
    .argument('<file>', 'BPF C source (FILE.bpf.c)')
    .argument('[cflags...]', 'more clang flags, after -- (e.g. -- -Wno-unused -O1)')
    .option('-o, --output <out>', 'object file (default: the source with .o)')
    .option('-I <dir>', 'add a folder to the include path (repeatable)', collect, [])
    .option('-D <name[=value]>', 'define a preprocessor macro (repeatable)', collect, [])
    .addOption(
      new Option('--cpu <version>', 'BPF ISA version (-mcpu)')
        .choices(['v1', 'v2', 'v3', 'v4'])
        .default('v3'),
    )
    .option('--btf <file>', 'BTF for vmlinux.h', '/sys/kernel/btf/vmlinux')
    .option('--big-endian', 'build for bpfeb')
    .action(
      (
        file: string,
        cflags: string[],
        options: {
          output?: string;
          cpu: 'v1' | 'v2' | 'v3' | 'v4';
          btf: string;
          bigEndian?: boolean;
          I: string[];
          D: string[];
        },
      ) => {
        try {
          // Checked here, before clang and the vmlinux.h generator read them without a limit.
          const source = readSource(file, 'C source');
          if (/#\s*include\s*[<"]vmlinux\.h[>"]/.test(source)) readBinary(options.btf, 'BTF');
          const extraArgs = [
            ...options.I.flatMap((dir) => ['-I', dir]),
            ...options.D.map((d) => `-D${d}`),
            ...cflags,
          ];
          const result = buildObject(file, { ...options, extraArgs });
          const spec = loadObjectSpec(readObjectFile(result.output));
          io.stdout.write(
            `${result.output}: ${spec.programs.length} program${spec.programs.length === 1 ? '' : 's'} (${spec.programs.map((p) => `${p.name} in ${p.section}`).join(', ')}), ${spec.maps.length} map${spec.maps.length === 1 ? '' : 's'}\n`,
          );
        } catch (error) {
          fail(error);
        }
      },
    );

  const btf =
    program.commands.find((c) => c.name() === 'btf') ??
    program.command('btf').description('BTF type information');
  btf
    .command('dump')
    .description(
      'dump BTF: of an object file, a raw BTF file (/sys/kernel/btf/vmlinux) or a BTF object loaded in the kernel',
    )
    .argument('<source...>', 'FILE | file FILE | id N (a kernel BTF object, as bpftool btf dump id N)')
    .addOption(
      new Option('--format <format>', 'raw (bpftool-like), json, or c (a header: vmlinux.h)')
        .choices(['raw', 'json', 'c'])
        .default('raw'),
    )
    .option('-j, --json', 'the same as --format json')
    .option('-p, --pretty', 'JSON, indented as bpftool -jp does')
    .addHelpText(
      'after',
      "\nExamples:\n  tsbpf btf dump examples/xdp_count.bpf.o\n  tsbpf btf dump id 1 --format c > vmlinux.h\n  tsbpf btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h   # bpftool's spelling\n  tsbpf -j btf dump file /sys/kernel/btf/vmlinux",
    )
    .action(
      async (
        words: string[],
        options: { format: 'raw' | 'json' | 'c'; json?: boolean; pretty?: boolean },
      ) => {
        try {
          const { rest, format: spelled } = trailingFormat(words);
          const source = btfSource(rest);
          const btf = source.by === 'id' ? await kernelBtfById(source.id) : btfFromFile(source.file);
          const format = options.json || options.pretty ? 'json' : (spelled ?? options.format);
          let text: string;
          if (format === 'raw') text = dumpBtfRaw(btf);
          else if (format === 'c')
            // The C dumper is large and only this command needs it.
            text = (await import('../object/btf-c.js')).dumpBtfC(btf);
          else if (options.pretty) {
            const { writeJson } = await import('../kernel/inspect/json.js');
            text = writeJson({ types: btf.types.map(btfTypeJson) }, true);
          } else text = dumpBtfJson(btf);
          io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
        } catch (error) {
          fail(error);
        }
      },
    );
}

/** bpftool's trailing `format raw|c` (`bpftool btf dump file F format c`), taken off the words. */
function trailingFormat(words: readonly string[]): { rest: readonly string[]; format?: 'raw' | 'c' } {
  if (words.length < 3 || words.at(-2) !== 'format') return { rest: words };
  const format = words.at(-1);
  if (format !== 'raw' && format !== 'c')
    throw new InputError(`btf dump: format '${format}': expected raw or c (or --json)`);
  return { rest: words.slice(0, -2), format };
}

/** What `btf dump` reads: `FILE`, `file FILE` or `id N`, as bpftool spells them. */
function btfSource(words: readonly string[]): { by: 'file'; file: string } | { by: 'id'; id: number } {
  const [first, second, ...rest] = words;
  const usage = 'expected FILE, file FILE or id N';
  if (first === undefined) throw new InputError(`btf dump: ${usage}`);
  if (words.length === 1) return { by: 'file', file: first };
  if (rest.length || (first !== 'file' && first !== 'id'))
    throw new InputError(`btf dump: unexpected '${words.slice(1).join(' ')}': ${usage}`);
  if (first === 'file') return { by: 'file', file: second! };
  const id = Number(second);
  if (!/^\d+$/.test(second!) || !Number.isSafeInteger(id) || id <= 0)
    throw new InputError(`btf dump id: expected a positive integer, got '${second}'`);
  return { by: 'id', id };
}

/**
 * Kernel BTF object `id`, parsed (a module's on top of vmlinux). The kernel layer, and koffi with
 * it, is loaded only here. An id that names nothing is bad input.
 */
async function kernelBtfById(id: number): Promise<Btf> {
  const { kernelBtf, ObjectRefError, resolveOne } = await import('../kernel/inspect/refs.js');
  try {
    return kernelBtf(resolveOne('btf', { by: 'id', id }));
  } catch (error) {
    throw error instanceof ObjectRefError ? new InputError(error.message, { cause: error }) : error;
  }
}

/** The BTF of an object file (its .BTF section) or a raw BTF file. */
function btfFromFile(file: string): Btf {
  const bytes = readBinary(file, 'BPF object or raw BTF');
  if (isElf(bytes)) {
    const spec = loadObjectSpec(bytes);
    if (!spec.btf) throw new InputError(`${file}: the object has no .BTF section (compile with -g)`);
    return spec.btf;
  }
  // Neither ELF nor BTF's magic (9f eb, either order): name the file, not just the magic.
  if (!((bytes[0] === 0x9f && bytes[1] === 0xeb) || (bytes[0] === 0xeb && bytes[1] === 0x9f)))
    throw new InputError(`${file}: not an ELF object or raw BTF`);
  return parseBtf(bytes);
}

/** The `--json` shape of objdump: programs with their own instructions, and maps. */
/** The function (not label) an instruction slot belongs to. */
function functionAt(functions: Objdump['code'][number]['functions'], index: number): string | null {
  let name: string | null = null;
  for (const f of functions) if (f.kind === 'func' && f.index <= index) name = f.name;
  return name;
}

function objdumpJson(dump: Objdump) {
  return {
    license: dump.license,
    programs: dump.programs.map((p) => ({
      name: p.name,
      section: p.section,
      type: p.type,
      attach: p.attach,
      attach_type: p.attachType,
      error: p.error,
      insns: p.insns.map((i) => ({
        index: i.index,
        text: i.text,
        line: i.line ? i.line.line : null,
        file: i.line ? i.line.file : null,
        source: i.line ? i.line.text : null,
      })),
    })),
    maps: dump.maps.map((m) => ({
      name: m.name,
      type: m.type,
      key_size: m.keySize,
      value_size: m.valueSize,
      max_entries: m.maxEntries,
      flags: m.flags,
      btf_key_type: m.keyType,
      btf_value_type: m.valueType,
      origin: m.origin,
      pinning: m.pinning,
    })),
    // Every executable section (subprograms in .text too), at llvm-objdump-19's slot indexes.
    sections: dump.code.map((c) => ({
      section: c.section,
      section_index: c.sectionIndex,
      functions: c.functions.map((f) => ({ name: f.name, index: f.index, kind: f.kind })),
      insns: c.insns.map((i) => ({
        section: c.section,
        index: i.index,
        text: i.text,
        function: functionAt(c.functions, i.index),
        relocation: i.relocation,
        line: i.line ? i.line.line : null,
        file: i.line ? i.line.file : null,
        source: i.line ? i.line.text : null,
      })),
    })),
    globals: dump.globals,
    relocations: dump.relocations,
  };
}
