/**
 * The kernel commands of `tsbpf`: `load` (load an object and report each program's verdict) and
 * bpftool's inspection commands (`prog`, `map`, `link`, `btf list`, `feature`), with bpftool's
 * plain output and, with `-j/--json`, its JSON.
 *
 * Exit status: 0 on success; 1 when a program was rejected (or a kernel call failed); 2 on bad
 * input (unreadable or malformed object, bad id).
 */
import { existsSync, mkdirSync, rmSync, statfsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { featureReport, featureText } from '../kernel/inspect/features.js';
import {
  btfJson,
  btfText,
  disassembleXlated,
  dumpMap,
  hexBytes,
  type Json,
  linkJson,
  linkText,
  listBtf,
  listLinks,
  listMaps,
  listPrograms,
  mapDumpJson,
  mapDumpText,
  mapJson,
  mapText,
  progJson,
  programCode,
  progText,
  progTypeName,
  showMap,
  showProgram,
  writeJson,
} from '../kernel/inspect/info.js';
import {
  ObjectRefError,
  parseObjectRef,
  type RefKind,
  resolveObjects,
  resolveOne,
} from '../kernel/inspect/refs.js';
import type { KernelMapOps } from '../kernel/load/map.js';
import { type GlobalValue, type LoadedProgram, loadObject } from '../kernel/load/object.js';
import { BPF_FS_MAGIC } from '../kernel/sys/availability.js';
import { VerifierError } from '../kernel/sys/errors.js';
import { MapError } from '../maps/ops.js';
import { loadObjectSpec } from '../object/object.js';
import { InvalidArgumentError, pc } from './commonjs.js';
import { type CliContext, CliExit, EXIT_FAULT, exitStatusOf, InputError, readObjectFile } from './io.js';
import { renderError } from './render.js';

/**
 * Check that a pin directory lies on a bpffs, before anything loads: elsewhere pinning cannot
 * work, and on sysfs (`/sys/fs/bpf` with nothing mounted) Node's recursive mkdir never returns.
 */
function checkBpffsDir(dir: string): void {
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) existing = dirname(existing);
  if (statfsSync(existing).type !== BPF_FS_MAGIC)
    throw new InputError(
      `--pin ${dir}: ${existing} is not on a bpffs (mount one: mount -t bpf bpf /sys/fs/bpf)`,
    );
}

/**
 * Pin every program at DIR/NAME and every map at DIR/maps/NAME (bpftool's `loadall … pinmaps`),
 * all or nothing: when one pin fails, the pins made and the folders created are removed again.
 */
function pinAll(
  dir: string,
  programs: ReadonlyArray<readonly [string, { pin(path: string): void }]>,
  maps: ReadonlyArray<readonly [string, { pin(path: string): void }]>,
): string[] {
  const created = mkdirSync(dir, { recursive: true });
  const mapDir = join(dir, 'maps');
  const pinned: string[] = [];
  let madeMapDir = false;
  try {
    for (const [name, program] of programs) {
      program.pin(join(dir, name));
      pinned.push(join(dir, name));
    }
    if (maps.length > 0 && !existsSync(mapDir)) {
      mkdirSync(mapDir);
      madeMapDir = true;
    }
    for (const [name, map] of maps) {
      // bpffs refuses names with a dot (EPERM): `.data.stats` is pinned as `data_stats`.
      const path = join(mapDir, name.replace(/^\./, '').replace(/\./g, '_'));
      map.pin(path);
      pinned.push(path);
    }
    return pinned;
  } catch (error) {
    for (const path of pinned.reverse()) rmSync(path, { force: true });
    if (madeMapDir) rmSync(mapDir, { recursive: true, force: true });
    if (created) rmSync(created, { recursive: true, force: true });
    throw error;
  }
}

/** `name=value` of `--rodata`: a number, `true`/`false`, or `0x…` bytes written `hex:0011…`. */
function globalAssignment(
  text: string,
  previous: Record<string, GlobalValue> = {},
): Record<string, GlobalValue> {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`'${text}' is not name=value`);
  const name = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  let value: GlobalValue;
  if (raw === 'true' || raw === 'false') value = raw === 'true';
  else if (raw.startsWith('hex:')) value = new Uint8Array(Buffer.from(raw.slice(4), 'hex'));
  else if (/^-?(0x[0-9a-f]+|\d+)$/i.test(raw))
    value = raw.startsWith('-') ? -BigInt(raw.slice(1)) : BigInt(raw);
  else throw new InvalidArgumentError(`'${raw}' is not a number, true/false or hex:bytes`);
  return { ...previous, [name]: value };
}

/** The `--json` row of one program of `tsbpf load`. */
function loadRow(name: string, loaded: LoadedProgram): Json {
  const type = loaded.spec.sectionInfo ? progTypeName(loaded.spec.sectionInfo.progType) : null;
  return {
    program: name,
    section: loaded.spec.section,
    type,
    accepted: loaded.program !== undefined,
    error: loaded.error ? loaded.error.message : null,
    insns_processed: loaded.insnsProcessed ?? null,
  };
}

/** Plain text of one program of `tsbpf load`: the verdict, and for a rejection where and why. */
function loadText(name: string, loaded: LoadedProgram): string {
  const type = loaded.spec.sectionInfo ? progTypeName(loaded.spec.sectionInfo.progType) : '?';
  const processed = loaded.insnsProcessed === undefined ? '' : ` (${loaded.insnsProcessed} insns processed)`;
  const head = `${pc.bold(name)} (${loaded.spec.section}, ${type}): `;
  if (loaded.program) return `${head}${pc.green('accepted')}${processed}`;
  const error = loaded.error;
  if (!(error instanceof VerifierError))
    return `${head}${pc.red('rejected')}: ${error?.message ?? 'not loaded'}`;
  const lines = [`${head}${pc.red('rejected')}${processed}: ${error.summary}`];
  if (error.insnIndex !== undefined)
    lines.push(`  at instruction ${error.insnIndex}: ${error.insnText ?? ''}`);
  if (error.source) {
    const { file, line, column, text } = error.source;
    lines.push(`  ${pc.bold(`${file}:${line}:${column}`)}`, `  ${pc.dim(`${line} |`)} ${text.trim()}`);
  }
  return lines.join('\n');
}

/**
 * Add the kernel commands to the `tsbpf` program. Call it after the VM commands are defined:
 * `btf list` joins the existing `btf` command.
 */
export function registerKernelCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  /** Report an error the bpftool way (`Error: …` on stderr, or `{"error": …}` with --json). */
  const fail: (error: unknown, json?: boolean) => never = (error, json = false) => {
    if (error instanceof CliExit) throw error;
    if (json)
      io.stdout.write(
        `${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`,
      );
    else io.stderr.write(`${renderError(error)}\n`);
    throw new CliExit(exitStatusOf(error));
  };
  const print = (json: boolean, value: Json, text: string): void => {
    io.stdout.write(
      json ? `${JSON.stringify(value)}\n` : text.endsWith('\n') || text === '' ? text : `${text}\n`,
    );
  };

  /** The `--json`/`--pretty` options every printing command takes (bpftool's `-j`, `-p`). */
  type Output = { json?: boolean; pretty?: boolean };
  const withOutput = (command: Command, json = 'JSON output'): Command =>
    command.option('-j, --json', json).option('-p, --pretty', 'pretty-printed JSON (implies --json)');
  const jsonOf = (options: Output): boolean => !!(options.json || options.pretty);
  const emit = (options: Output, value: Json, text: string): void => {
    if (jsonOf(options)) io.stdout.write(`${writeJson(value, !!options.pretty)}\n`);
    else print(false, null, text);
  };
  /** Run a command body, reporting its errors bpftool's way; a bad reference is bad input (2). */
  const act = (options: Output, body: () => void): void => {
    try {
      body();
    } catch (error) {
      fail(
        error instanceof ObjectRefError ? new InputError(error.message, { cause: error }) : error,
        jsonOf(options),
      );
    }
  };
  program
    .command('load')
    .description('load every program of an object into the kernel and report the verifier verdicts')
    .argument('<file>', 'BPF object file (.o)')
    .option('-j, --json', 'print [{"program","section","type","accepted","error","insns_processed"}]')
    .option('-p, --pretty', 'pretty-printed JSON (implies --json)')
    .option(
      '--pin <dir>',
      'pin the programs at DIR/NAME and the maps at DIR/maps/NAME in a bpffs (bpftool prog loadall … pinmaps); all or nothing',
    )
    .option('--rodata <name=value>', 'set a .rodata variable before load (repeatable)', globalAssignment)
    .option('--log', 'print the full verifier log of rejected programs')
    .action(
      (
        file: string,
        options: Output & { pin?: string; rodata?: Record<string, GlobalValue>; log?: boolean },
      ) => {
        let object: ReturnType<typeof loadObject>;
        let bytes: Uint8Array | undefined;
        try {
          if (options.pin) checkBpffsDir(options.pin);
          bytes = readObjectFile(file);
          // The object name (libbpf's: the file name up to its first dot) prefixes the data maps.
          const name = basename(file).split('.')[0] || 'obj';
          object = loadObject(bytes, { name, ...(options.rodata ? { rodata: options.rodata } : {}) });
        } catch (error) {
          // A map the kernel refused stops the whole object, as in libbpf; still say so per program.
          if (error instanceof MapError && bytes) {
            const rows = loadObjectSpec(bytes).programs.map((p) => ({
              program: p.name,
              section: p.section,
              type: p.sectionInfo ? progTypeName(p.sectionInfo.progType) : null,
              accepted: false,
              error: `not loaded: ${error.message}`,
              insns_processed: null,
            }));
            emit(
              options,
              rows,
              rows
                .map((r) => `${pc.bold(r.program)} (${r.section}, ${r.type ?? '?'}): ${pc.red(r.error)}`)
                .join('\n'),
            );
            ctx.status = EXIT_FAULT;
            return;
          }
          fail(error, jsonOf(options));
        }
        try {
          const entries = [...object.programs];
          if (options.pin) {
            const refused = entries.filter(([, loaded]) => !loaded.program).map(([name]) => name);
            if (refused.length > 0)
              io.stderr.write(
                `${pc.yellow('note:')} nothing pinned: ${refused.join(', ')} ${refused.length > 1 ? 'were' : 'was'} not loaded\n`,
              );
            else
              pinAll(
                options.pin,
                entries.map(
                  ([name, loaded]) => [name, loaded.program as { pin(path: string): void }] as const,
                ),
                [...object.maps].map(([name, map]) => [name, map.ops as KernelMapOps] as const),
              );
          }
          if (jsonOf(options)) {
            emit(
              options,
              entries.map(([name, loaded]) => loadRow(name, loaded)),
              '',
            );
          } else {
            const out = entries.map(([name, loaded]) => loadText(name, loaded));
            for (const warning of object.warnings) io.stderr.write(`${pc.yellow('warning:')} ${warning}\n`);
            if (options.log) {
              for (const [name, loaded] of entries) {
                if (loaded.error instanceof VerifierError)
                  out.push(`--- verifier log of ${name} ---\n${loaded.error.log}`);
              }
            }
            print(false, null, out.join('\n'));
          }
          if (entries.some(([, loaded]) => !loaded.program)) ctx.status = EXIT_FAULT;
        } catch (error) {
          fail(error, jsonOf(options));
        } finally {
          object.close();
        }
      },
    );

  const ALL_REFS: readonly RefKind[] = ['id', 'name', 'tag', 'pinned'];
  const DUMP_REFS: readonly RefKind[] = ['id', 'name', 'tag', 'pinned'];
  const MAP_REFS: readonly RefKind[] = ['id', 'name', 'pinned'];
  const LINK_REFS: readonly RefKind[] = ['id', 'pinned'];

  const prog = program.command('prog').description('inspect loaded programs (bpftool prog)');
  withOutput(
    prog
      .command('show')
      .alias('list')
      .description('list loaded programs, or show those a reference names')
      .argument('[ref...]', 'id N | name NAME | tag TAG | pinned PATH (a bare number is an id)')
      .addHelpText(
        'after',
        '\nExamples:\n  tsbpf prog show name xdp_count_protocols\n  tsbpf -jp prog show pinned /sys/fs/bpf/prog',
      ),
  ).action((words: string[], options: Output) => {
    act(options, () => {
      if (words.length === 0) {
        const records = listPrograms();
        emit(options, records.map(progJson), records.map(progText).join('\n'));
        return;
      }
      const ids = resolveObjects('prog', parseObjectRef(words, 'prog', ALL_REFS));
      const records = ids.map((id) => showProgram(id));
      // bpftool: one object for one match, an array for several.
      emit(
        options,
        records.length === 1 ? progJson(records[0]!) : records.map(progJson),
        records.map(progText).join('\n'),
      );
    });
  });
  const dump = prog.command('dump').description('dump the instructions of a loaded program');
  withOutput(
    dump
      .command('xlated')
      .description("the verifier's rewritten instructions, disassembled")
      .argument('<ref...>', 'id N | name NAME | tag TAG | pinned PATH'),
    'JSON output: [{"pc","text"}]',
  ).action((words: string[], options: Output) => {
    act(options, () => {
      const id = resolveOne('prog', parseObjectRef(words, 'prog', DUMP_REFS));
      const lines = disassembleXlated(programCode(id).xlated ?? new Uint8Array(0));
      emit(
        options,
        lines.map((l) => ({ pc: l.slot, text: l.text })),
        lines.map((l) => `${String(l.slot).padStart(4)}: ${l.text}`).join('\n'),
      );
    });
  });
  withOutput(
    dump
      .command('jited')
      .description('the JIT-compiled machine code, as hex bytes (tsbpf has no native disassembler)')
      .argument('<ref...>', 'id N | name NAME | tag TAG | pinned PATH'),
    'JSON output: {"bytes":["0x..",…]}',
  ).action((words: string[], options: Output) => {
    act(options, () => {
      const id = resolveOne('prog', parseObjectRef(words, 'prog', DUMP_REFS));
      const jited = programCode(id).jited ?? new Uint8Array(0);
      const rows: string[] = [];
      for (let at = 0; at < jited.length; at += 16) {
        rows.push(`${at.toString(16).padStart(8, '0')}: ${hexBytes(jited.subarray(at, at + 16))}`);
      }
      const note = `; ${jited.length} bytes of native code; no disassembler for it in tsbpf (pipe through a native objdump to read it)`;
      emit(
        options,
        { bytes: [...jited].map((b) => `0x${b.toString(16).padStart(2, '0')}`) },
        [note, ...rows].join('\n'),
      );
    });
  });

  const map = program.command('map').description('inspect maps (bpftool map)');
  withOutput(
    map
      .command('show')
      .alias('list')
      .description('list maps, or show those a reference names')
      .argument('[ref...]', 'id N | name NAME | pinned PATH (a bare number is an id)'),
  ).action((words: string[], options: Output) => {
    act(options, () => {
      if (words.length === 0) {
        const records = listMaps();
        emit(options, records.map(mapJson), records.map(mapText).join('\n'));
        return;
      }
      const records = resolveObjects('map', parseObjectRef(words, 'map', MAP_REFS)).map((id) => showMap(id));
      emit(
        options,
        records.length === 1 ? mapJson(records[0]!) : records.map(mapJson),
        records.map(mapText).join('\n'),
      );
    });
  });
  withOutput(
    map
      .command('dump')
      .description(
        "print every element of a map, decoded through the map's BTF when it has one (hex otherwise)",
      )
      .argument('<ref...>', 'id N | name NAME | pinned PATH')
      .addHelpText('after', '\nExamples:\n  tsbpf map dump name proto_stats\n  tsbpf -jp map dump id 42'),
    'JSON output: [{"key":[…],"value":[…],"formatted":{"key":…,"value":…}}]',
  ).action((words: string[], options: Output) => {
    act(options, () => {
      const contents = dumpMap(resolveOne('map', parseObjectRef(words, 'map', MAP_REFS)));
      emit(options, mapDumpJson(contents), mapDumpText(contents));
    });
  });

  withOutput(
    program
      .command('link')
      .description('inspect links (bpftool link)')
      .command('show')
      .alias('list')
      .description('list links, or show the one a reference names')
      .argument('[ref...]', 'id N | pinned PATH (a bare number is an id)'),
  ).action((words: string[], options: Output) => {
    act(options, () => {
      let links = listLinks();
      if (words.length) {
        const ids = new Set(resolveObjects('link', parseObjectRef(words, 'link', LINK_REFS)));
        links = links.filter((l) => ids.has(l.id));
        emit(
          options,
          links.length === 1 ? linkJson(links[0]!) : links.map(linkJson),
          links.map(linkText).join('\n'),
        );
        return;
      }
      emit(options, links.map(linkJson), links.map(linkText).join('\n'));
    });
  });

  const btf =
    program.commands.find((c) => c.name() === 'btf') ??
    program.command('btf').description('BTF type information');
  withOutput(
    btf
      .command('list')
      .alias('show')
      .description('list BTF objects loaded in the kernel, or show the one an id names')
      .argument('[ref...]', 'id N (a bare number is an id)'),
  ).action((words: string[], options: Output) => {
    act(options, () => {
      let records = listBtf();
      if (words.length === 0) {
        emit(options, records.map(btfJson), records.map(btfText).join('\n'));
        return;
      }
      const ids = new Set(resolveObjects('btf', parseObjectRef(words, 'btf', ['id'])));
      records = records.filter((r) => ids.has(r.id));
      emit(
        options,
        records.length === 1 ? btfJson(records[0]!) : records.map(btfJson),
        records.map(btfText).join('\n'),
      );
    });
  });

  withOutput(
    program
      .command('feature')
      .description('probe which program types, map types, attach types (and helpers) this kernel supports'),
    'JSON output (bpftool feature probe -j layout)',
  )
    .option('--helpers', 'also probe every helper for every program type (slow: thousands of loads)')
    .action((options: Output & { helpers?: boolean }) => {
      act(options, () => {
        const report = featureReport({ helpers: !!options.helpers });
        emit(options, report as unknown as Json, featureText(report));
      });
    });
}
