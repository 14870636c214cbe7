/**
 * bpftool's object references — `id N`, `name NAME`, `tag TAG`, `pinned PATH` (and a bare number,
 * our shorthand for `id N`) — parsed once for every inspection command and resolved to the ids of
 * the kernel objects they name. Also what name matching needs: a program's full name (the kernel
 * keeps 15 bytes; bpftool reads the rest from the program's BTF) and kernel BTF objects by id.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { TsbpfError } from '../../errors.js';
import { type Btf, parseBtf } from '../../object/btf.js';
import { btfFromId } from '../load/btf.js';
import { mapInfo } from '../load/map.js';
import { BPF_BTF_INFO, BPF_LINK_INFO, BPF_PROG_INFO } from '../sys/attr.js';
import { BpfSyscallError } from '../sys/errors.js';
import { fdFromId, getPinnedObject, type ObjectKind, objectIds, objectInfo } from '../sys/objects.js';
import { getSys, type Sys } from '../sys/syscall.js';

/** How a command names one kernel object (or, by name, several). */
export type ObjectRef =
  | { readonly by: 'id'; readonly id: number }
  | { readonly by: 'name'; readonly name: string }
  | { readonly by: 'tag'; readonly tag: string }
  | { readonly by: 'pinned'; readonly path: string };

/** The ways of naming an object. */
export type RefKind = ObjectRef['by'];

/** A reference that does not parse, or names nothing. The CLI exits 2 on it (bad input). */
export class ObjectRefError extends TsbpfError {
  override name = 'ObjectRefError';
}

/** What each kind of object is called in messages. */
const NOUN: Record<ObjectKind, string> = { prog: 'program', map: 'map', link: 'link', btf: 'BTF object' };

/** How the usage text names each form's value. */
const PLACEHOLDER: Record<RefKind, string> = { id: 'N', name: 'NAME', tag: 'TAG', pinned: 'PATH' };

/** The kernel's object name length, terminating NUL included (`BPF_OBJ_NAME_LEN`). */
const OBJ_NAME_LEN = 16;

function parseId(text: string | undefined, kind: ObjectKind): number {
  const n = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(n) || n <= 0)
    throw new ObjectRefError(
      `${NOUN[kind]} id: expected a positive integer, got ${text === undefined ? 'nothing' : `'${text}'`}`,
    );
  return n;
}

/**
 * Parse the words of a reference (`['id', '5']`, `['name', 'x']`, `['5']`) as bpftool does,
 * accepting only the forms in `allowed`. Throws {@link ObjectRefError} naming what was expected.
 */
export function parseObjectRef(
  words: readonly string[],
  kind: ObjectKind,
  allowed: readonly RefKind[],
): ObjectRef {
  const forms = allowed.map((a) => `${a} ${PLACEHOLDER[a]}`);
  const expected = `expected ${forms.join(' | ')}`;
  const [word, value, ...rest] = words;
  if (word === undefined) throw new ObjectRefError(`no ${NOUN[kind]} given: ${expected}`);
  // A bare number is an id (tsbpf has always taken `prog show 5`).
  if (/^\d+$/.test(word) && allowed.includes('id')) {
    if (value !== undefined) throw new ObjectRefError(`unexpected '${value}' after ${NOUN[kind]} ${word}`);
    return { by: 'id', id: parseId(word, kind) };
  }
  if (!(allowed as readonly string[]).includes(word))
    throw new ObjectRefError(`'${word}' does not name a ${NOUN[kind]}: ${expected}`);
  if (value === undefined) throw new ObjectRefError(`${word}: missing ${PLACEHOLDER[word as RefKind]}`);
  if (rest.length) throw new ObjectRefError(`unexpected '${rest[0]}' after ${word} ${value}`);
  switch (word as RefKind) {
    case 'id':
      return { by: 'id', id: parseId(value, kind) };
    case 'name':
      if (value === '') throw new ObjectRefError('name: empty');
      return { by: 'name', name: value };
    case 'tag':
      if (!/^[0-9a-f]{16}$/i.test(value))
        throw new ObjectRefError(`tag: expected 16 hex digits (8 bytes), got '${value}'`);
      return { by: 'tag', tag: value.toLowerCase() };
    default:
      return { by: 'pinned', path: value };
  }
}

/** The reference as the user wrote it, for messages. */
export function refText(ref: ObjectRef): string {
  return ref.by === 'id'
    ? `id ${ref.id}`
    : ref.by === 'name'
      ? `name ${ref.name}`
      : ref.by === 'tag'
        ? `tag ${ref.tag}`
        : `pinned ${ref.path}`;
}

const cstring = (bytes: Uint8Array): string => {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(bytes.subarray(0, end < 0 ? bytes.length : end));
};

/** The raw BTF of kernel BTF object `id` (`BPF_OBJ_GET_INFO_BY_FD` twice: size, then bytes). */
export function kernelBtfBytes(
  id: number,
  options: { sys?: Sys } = {},
): { bytes: Uint8Array; name: string; kernel: boolean } {
  const sys = getSys(options.sys);
  const btf = btfFromId(id, { sys });
  try {
    const first = objectInfo(btf.fd, BPF_BTF_INFO, {}, sys);
    const bytes = new Uint8Array(new ArrayBuffer(first.btf_size));
    const name = new Uint8Array(new ArrayBuffer(64));
    const info = objectInfo(
      btf.fd,
      BPF_BTF_INFO,
      { btf: bytes, btf_size: bytes.length, name, name_len: name.length },
      sys,
    );
    return { bytes: bytes.subarray(0, info.btf_size), name: cstring(name), kernel: info.kernel_btf !== 0 };
  } finally {
    btf.close();
  }
}

let vmlinux: Btf | undefined;

/**
 * Kernel BTF object `id`, parsed. A module's BTF continues vmlinux's (split BTF), so it is parsed
 * on top of `/sys/kernel/btf/vmlinux`.
 */
export function kernelBtf(id: number, options: { sys?: Sys } = {}): Btf {
  const { bytes, name, kernel } = kernelBtfBytes(id, options);
  if (!kernel || name === 'vmlinux') return parseBtf(bytes);
  vmlinux ??= parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')));
  return parseBtf(bytes, { base: vmlinux });
}

/**
 * A program's full name, as bpftool prints it: the kernel keeps 15 bytes of it; when the name
 * fills them, the rest comes from the BTF name of the program's first function.
 */
export function programFullName(
  fd: number,
  options: { sys?: Sys; btfCache?: Map<number, Btf> } = {},
): string {
  const sys = getSys(options.sys);
  const first = objectInfo(fd, BPF_PROG_INFO, {}, sys);
  if (first.name.length < OBJ_NAME_LEN - 1 || !first.btf_id || !first.nr_func_info) return first.name;
  try {
    const size = first.func_info_rec_size;
    const records = new Uint8Array(new ArrayBuffer(size));
    // Only the first record (the program's own function): nr_func_info 1 is enough.
    objectInfo(fd, BPF_PROG_INFO, { func_info: records, func_info_rec_size: size, nr_func_info: 1 }, sys);
    const typeId = new DataView(records.buffer).getUint32(4, true);
    let btf = options.btfCache?.get(first.btf_id);
    if (!btf) {
      btf = kernelBtf(first.btf_id, { sys });
      options.btfCache?.set(first.btf_id, btf);
    }
    const name = btf.typeById(typeId).name;
    return name?.startsWith(first.name) ? name : first.name;
  } catch {
    // No readable BTF: the kernel's 15 bytes are all there is.
    return first.name;
  }
}

/** `anon_inode:bpf-prog` → `prog`: what an fd from `BPF_OBJ_GET` holds. */
function fdKind(fd: number): ObjectKind | undefined {
  try {
    const target = readlinkSync(`/proc/self/fd/${fd}`);
    return (
      { 'anon_inode:bpf-prog': 'prog', 'anon_inode:bpf-map': 'map', 'anon_inode:bpf_link': 'link' } as const
    )[target];
  } catch {
    return undefined;
  }
}

/** The id of the object behind `fd`. */
function idOf(kind: ObjectKind, fd: number, sys: Sys): number {
  if (kind === 'prog') return objectInfo(fd, BPF_PROG_INFO, {}, sys).id;
  if (kind === 'map') return mapInfo(fd, sys).id;
  if (kind === 'link') return objectInfo(fd, BPF_LINK_INFO, {}, sys).id;
  return objectInfo(fd, BPF_BTF_INFO, {}, sys).id;
}

/** The name and tag the kernel reports for the object behind `fd` (links have neither). */
function nameAndTag(
  kind: ObjectKind,
  fd: number,
  sys: Sys,
  btfCache: Map<number, Btf>,
): { name: string; tag?: string } {
  if (kind === 'prog') {
    const info = objectInfo(fd, BPF_PROG_INFO, {}, sys);
    const tag = Buffer.from(info.tag).toString('hex');
    return { name: programFullName(fd, { sys, btfCache }), tag };
  }
  if (kind === 'map') return { name: mapInfo(fd, sys).name };
  if (kind === 'btf') {
    const name = new Uint8Array(new ArrayBuffer(64));
    objectInfo(fd, BPF_BTF_INFO, { name, name_len: name.length }, sys);
    return { name: cstring(name) };
  }
  return { name: '' };
}

/** Whether a kernel name matches the one asked for (the kernel may keep only its first 15 bytes). */
function nameMatches(actual: string, wanted: string): boolean {
  return actual === wanted;
}

/**
 * The ids of the objects `ref` names, ascending: one for `id` and `pinned`, any number for `name`
 * and `tag`. Throws {@link ObjectRefError} when it names nothing (or a pinned object of another
 * kind). Needs CAP_SYS_ADMIN, as bpftool does.
 */
export function resolveObjects(kind: ObjectKind, ref: ObjectRef, options: { sys?: Sys } = {}): number[] {
  const sys = getSys(options.sys);
  if (ref.by === 'id') {
    let fd: number;
    try {
      fd = fdFromId(kind, ref.id, { sys });
    } catch (error) {
      if (error instanceof BpfSyscallError && error.is('ENOENT'))
        throw new ObjectRefError(`no ${NOUN[kind]} with id ${ref.id}`, { cause: error });
      throw error;
    }
    sys.close(fd);
    return [ref.id];
  }
  if (ref.by === 'pinned') {
    let fd: number;
    try {
      fd = getPinnedObject(ref.path, { sys });
    } catch (error) {
      if (error instanceof BpfSyscallError)
        throw new ObjectRefError(
          `pinned ${ref.path}: ${error.is('ENOENT') ? 'nothing is pinned there' : `not a pinned BPF object (${error.message})`}`,
          { cause: error },
        );
      throw error;
    }
    try {
      const actual = fdKind(fd);
      if (actual !== undefined && actual !== kind)
        throw new ObjectRefError(`pinned ${ref.path}: a ${NOUN[actual]}, not a ${NOUN[kind]}`);
      return [idOf(kind, fd, sys)];
    } finally {
      sys.close(fd);
    }
  }
  const btfCache = new Map<number, Btf>();
  const ids: number[] = [];
  for (const id of objectIds(kind, sys)) {
    let fd: number;
    try {
      fd = fdFromId(kind, id, { sys });
    } catch (error) {
      // Freed between the listing and the open.
      if (error instanceof BpfSyscallError && error.is('ENOENT')) continue;
      throw error;
    }
    try {
      const { name, tag } = nameAndTag(kind, fd, sys, btfCache);
      if (ref.by === 'name' ? nameMatches(name, ref.name) : tag === ref.tag) ids.push(id);
    } finally {
      sys.close(fd);
    }
  }
  if (ids.length === 0) throw new ObjectRefError(`no ${NOUN[kind]} with ${refText(ref)}`);
  return ids;
}

/**
 * The one object `ref` names, for commands that act on one (`dump`): a name or tag several
 * objects share is an error that lists their ids.
 */
export function resolveOne(kind: ObjectKind, ref: ObjectRef, options: { sys?: Sys } = {}): number {
  const ids = resolveObjects(kind, ref, options);
  if (ids.length > 1)
    throw new ObjectRefError(
      `${refText(ref)} matches ${ids.length} ${NOUN[kind]}s (ids ${ids.join(', ')}): choose one with id N`,
    );
  return ids[0]!;
}
