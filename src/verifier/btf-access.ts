/**
 * Loads through `PTR_TO_BTF_ID`: what a read of `size` bytes at `off` in a kernel struct gives,
 * following the struct layouts of the kernel's BTF (Linux 6.18 `btf_struct_access`,
 * `btf_struct_walk`), and the trust a pointer read that way keeps (`check_ptr_to_btf_access`):
 *
 *   trusted_ptr_task_struct ──(->real_parent: listed in task_struct__safe_rcu)──► rcu_ptr_task_struct
 *                           ──(->mm: any other pointer member)──────────────────► untrusted_ptr_mm_struct
 *   ptr_task_struct (fentry argument) ──(any pointer member)─────────────────────► ptr_…  (old compat)
 *   any pointer, in a sleepable program (no RCU read section) ───────────────────► untrusted_ptr_…
 *   untrusted_ptr_… ──(any pointer member)──────────────────────────────────────► untrusted_ptr_…
 *
 * Which members keep their parent's trust is data in the kernel's BTF itself: the verifier emits
 * structs named `task_struct__safe_rcu`, `file__safe_trusted`… whose pointer members list them.
 */
import type { Btf, BtfType, BtfVoid } from '../object/btf.js';
import { BtfFlag } from './scalar.js';

/** What a read through a BTF pointer yields. */
export type BtfRead =
  | { readonly kind: 'scalar' }
  /** `rdonly_untrusted_mem`: a pointer member to something that is not a struct (`char *`). */
  | { readonly kind: 'untrusted_mem' }
  /** A pointer to the struct `btfId`, with the flags its member's type tags give and its name. */
  | { readonly kind: 'ptr'; readonly btfId: number; readonly flags: number; readonly field: string };

const MAX_RESOLVE_DEPTH = 32;

type AnyType = BtfType | BtfVoid;

const isStruct = (t: AnyType): boolean => t.kind === 'struct' || t.kind === 'union';
const isModifier = (t: AnyType): boolean =>
  t.kind === 'typedef' ||
  t.kind === 'volatile' ||
  t.kind === 'const' ||
  t.kind === 'restrict' ||
  t.kind === 'type_tag';

/** `btf_type_skip_modifiers`: the type and its id once typedefs and qualifiers are skipped. */
function skipModifiers(btf: Btf, id: number): { readonly t: AnyType; readonly id: number } {
  let t = btf.typeById(id);
  for (let i = 0; i < MAX_RESOLVE_DEPTH && isModifier(t); i++) {
    id = (t as { typeId: number }).typeId;
    t = btf.typeById(id);
  }
  return { t, id };
}

/** `__btf_resolve_size`: a member's type (the outer array, if any), its size and element. */
function resolveSize(
  btf: Btf,
  typeId: number,
):
  | {
      readonly t: AnyType;
      readonly size: number;
      readonly elem: AnyType;
      readonly elemId: number;
      readonly nelems: number;
      readonly id: number;
    }
  | undefined {
  let t = btf.typeById(typeId);
  let arrayType: AnyType | undefined;
  let elemId = 0;
  let nelems = 1;
  let id = 0;
  for (let i = 0; i < MAX_RESOLVE_DEPTH; i++) {
    let size: number | undefined;
    switch (t.kind) {
      case 'int':
      case 'struct':
      case 'union':
      case 'enum':
      case 'enum64':
      case 'float':
        size = t.size;
        break;
      case 'ptr':
        size = 8;
        break;
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        id = t.typeId;
        t = btf.typeById(t.typeId);
        continue;
      case 'array':
        arrayType ??= t;
        if (nelems && t.nelems > 0xffffffff / nelems) return undefined;
        nelems *= t.nelems;
        elemId = t.typeId;
        t = btf.typeById(t.typeId);
        continue;
      default:
        return undefined;
    }
    if (nelems && size > 0xffffffff / nelems) return undefined;
    return { t: arrayType ?? t, size: nelems * size, elem: t, elemId, nelems, id: id || typeId };
  }
  return undefined;
}

/** `__btf_name_by_offset`: the name the walk's messages print, `(anon)` for anonymous types. */
const anon = (name: string): string => name || '(anon)';

type Walk =
  | { readonly walk: 'scalar' }
  | { readonly walk: 'untrusted_mem' }
  | { readonly walk: 'struct'; readonly id: number }
  | { readonly walk: 'ptr'; readonly id: number; readonly field: string };

/**
 * `btf_struct_walk`: one step into struct `t` at `off`. `state.flags` gathers PTR_UNTRUSTED
 * (walking a union of several members) and the pointer member's type tag.
 */
function walkStruct(
  btf: Btf,
  start: AnyType,
  off: number,
  size: number,
  state: { flags: number },
): Walk | string {
  let t = start;
  for (let guard = 0; guard < 1024; guard++) {
    if (isModifier(t)) t = skipModifiers(btf, (t as { typeId: number }).typeId).t;
    const tname = anon(t.kind === 'void' ? '' : t.name);
    if (t.kind !== 'struct' && t.kind !== 'union') return `Type '${tname}' is not a struct`;
    const members = t.members;
    // walking unions yields untrusted pointers, except unions of one member (__bpf_md_ptr)
    if (t.kind === 'union' && members.length !== 1) state.flags |= BtfFlag.UNTRUSTED;
    if (off + size > t.size) {
      // a flexible array as the last member may be read past the struct's size
      const beyond = `access beyond struct ${tname} at off ${off} size ${size}`;
      const last = members[members.length - 1];
      if (!last) return beyond;
      const arr = skipModifiers(btf, last.typeId).t;
      if (arr.kind !== 'array' || arr.nelems !== 0) return beyond;
      const moff = Math.floor(last.bitsOffset / 8);
      if (off < moff) return beyond;
      const elem = skipModifiers(btf, arr.typeId).t;
      if (elem.kind === 'int') return { walk: 'scalar' };
      if (!isStruct(elem)) return beyond;
      off = (off - moff) % (elem as { size: number }).size;
      t = elem;
      continue;
    }
    let again = false;
    for (const m of members) {
      let moff = Math.floor(m.bitsOffset / 8);
      if (off + size <= moff) break;
      if (m.bitfieldSize) {
        const endBit = m.bitsOffset + m.bitfieldSize;
        if (off <= moff && Math.ceil(endBit / 8) <= off + size) return { walk: 'scalar' };
        continue;
      }
      if (off < moff) break;
      const r = resolveSize(btf, m.typeId);
      if (!r) return `field ${anon(m.name)} doesn't have size`;
      let mtype = r.t;
      let mid = r.id;
      let msize = r.size;
      const trueEnd = moff + msize;
      if (off >= trueEnd) continue;
      if (mtype.kind === 'array') {
        if (moff === trueEnd) continue;
        msize = msize / r.nelems;
        moff += Math.floor((off - moff) / msize) * msize;
        mtype = r.elem;
        mid = r.elemId;
      }
      if (isStruct(mtype)) {
        if (off === moff) return { walk: 'struct', id: mid };
        off -= moff;
        t = mtype;
        again = true;
        break;
      }
      if (mtype.kind === 'ptr') {
        if (msize !== size || off !== moff)
          return `cannot access ptr member ${anon(m.name)} with moff ${moff} in struct ${tname} with off ${off} size ${size}`;
        const tag = btf.typeById(mtype.typeId);
        if (tag.kind === 'type_tag' && !tag.attribute) {
          const flag = { user: BtfFlag.USER, percpu: BtfFlag.PERCPU, rcu: BtfFlag.RCU }[tag.name];
          if (flag) state.flags |= flag;
        }
        const pointee = skipModifiers(btf, mtype.typeId);
        if (isStruct(pointee.t)) return { walk: 'ptr', id: pointee.id, field: m.name };
        return { walk: 'untrusted_mem' };
      }
      if (off + size > trueEnd && !(state.flags & BtfFlag.UNTRUSTED))
        return `access beyond the end of member ${anon(m.name)} (mend:${trueEnd}) in struct ${tname} with off ${off} size ${size}`;
      return { walk: 'scalar' };
    }
    if (again) continue;
    return `struct ${tname} doesn't have field at offset ${off}`;
  }
  return `struct ${anon(t.kind === 'void' ? '' : t.name)} doesn't have field at offset ${off}`;
}

/** `btf_struct_access`: a read of `size` bytes at `off` of the struct `btfId`, or the kernel's refusal. */
export function btfStructAccess(btf: Btf, btfId: number, off: number, size: number): BtfRead | string {
  const state = { flags: 0 };
  let t: AnyType = btf.typeById(btfId);
  for (let guard = 0; guard < 1024; guard++) {
    const w = walkStruct(btf, t, off, size, state);
    if (typeof w === 'string') return w;
    switch (w.walk) {
      case 'ptr':
        return { kind: 'ptr', btfId: w.id, flags: state.flags, field: w.field };
      case 'untrusted_mem':
        return { kind: 'untrusted_mem' };
      case 'scalar':
        return { kind: 'scalar' };
      case 'struct':
        t = btf.typeById(w.id);
        off = 0;
    }
  }
  return `struct ${btfTypeName(btf, btfId)} doesn't have field at offset ${off}`;
}

/** The struct's name as the kernel's messages print it. */
export function btfTypeName(btf: Btf, id: number): string {
  const t = btf.typeById(id);
  return t.kind === 'void' ? '' : t.name;
}

/**
 * `btf_nested_type_is_trusted`: whether the struct `<parent>__<suffix>` the kernel's verifier
 * emits lists a pointer member `field` to `childId`.
 */
function nestedTrusted(btf: Btf, parentId: number, field: string, childId: number, suffix: string): boolean {
  const parent = btf.typeById(parentId);
  if (parent.kind === 'void') return false;
  const name = `${parent.name}${suffix}`;
  if (name.length >= 64) return false;
  const safe = btf.typesByName(name).find((t) => t.kind === parent.kind);
  if (!safe || (safe.kind !== 'struct' && safe.kind !== 'union')) return false;
  return safe.members.some((m) => {
    const mt = btf.typeById(m.typeId);
    return mt.kind === 'ptr' && skipModifiers(btf, mt.typeId).id === childId && m.name === field;
  });
}

/** The pointer a read of a BTF pointer gives: its struct, flags and whether it may be NULL. */
export interface BtfPtrRead {
  readonly btfId: number;
  readonly flags: number;
  readonly maybeNull: boolean;
}

/**
 * `check_ptr_to_btf_access`, after the walk: the flags of the pointer read from member `read` of
 * a pointer with `parentFlags` (`referenced`: it holds a reference; `inRcu`: the program is in an
 * RCU read section, which a non-sleepable program always is).
 */
export function btfPtrReadFlags(
  btf: Btf,
  parentId: number,
  parentFlags: number,
  referenced: boolean,
  inRcu: boolean,
  read: { readonly btfId: number; readonly flags: number; readonly field: string },
): BtfPtrRead {
  const { btfId, field } = read;
  let flags = read.flags;
  let maybeNull = false;
  const trusted =
    referenced || ((parentFlags & BtfFlag.TRUSTED) !== 0 && (parentFlags & ~BtfFlag.TRUSTED) === 0);
  const rcu = (parentFlags & BtfFlag.RCU) !== 0;
  const clearTrusted = (f: number) => f & ~(BtfFlag.TRUSTED | BtfFlag.RCU);
  if (parentFlags & BtfFlag.UNTRUSTED) flags = BtfFlag.UNTRUSTED;
  else if (trusted || rcu) {
    const safe = (suffix: string) => nestedTrusted(btf, parentId, field, btfId, suffix);
    if (safe('__safe_trusted')) flags |= BtfFlag.TRUSTED;
    else if (safe('__safe_trusted_or_null')) {
      flags |= BtfFlag.TRUSTED;
      maybeNull = true;
    } else if (inRcu) {
      if (safe('__safe_rcu')) flags |= BtfFlag.RCU;
      else if (flags & BtfFlag.RCU || safe('__safe_rcu_or_null')) {
        flags |= BtfFlag.RCU;
        maybeNull = true;
        if (safe('__safe_rcu_or_null') && flags & BtfFlag.UNTRUSTED) flags &= ~BtfFlag.UNTRUSTED;
      } else if (!(flags & (BtfFlag.PERCPU | BtfFlag.USER))) {
        // measured on 6.18: any other member of a trusted or RCU pointer reads as untrusted
        flags = BtfFlag.UNTRUSTED;
      }
    } else flags = BtfFlag.UNTRUSTED;
  } else flags = clearTrusted(flags);
  return { btfId, flags, maybeNull };
}

/**
 * `btf_struct_ids_match`: whether a pointer to struct `id` at `off` points to a `needId` (itself,
 * or a struct nested at that offset: a `struct sock *` is a `struct sock_common *`).
 */
export function btfStructIdsMatch(
  btf: Btf,
  id: number,
  off: number,
  needId: number,
  strict: boolean,
): boolean {
  if (off === 0 && id === needId) return true;
  if (strict) return false;
  for (let guard = 0; guard < 64; guard++) {
    const w = walkStruct(btf, btf.typeById(id), off, 1, { flags: 0 });
    if (typeof w === 'string' || w.walk !== 'struct') return false;
    if (w.id === needId) return true;
    id = w.id;
    off = 0;
  }
  return false;
}

/** `btf_find_by_name_kind(…, BTF_KIND_STRUCT)`: the id of the kernel struct `name`, 0 when absent. */
export function kernelStructId(btf: Btf, name: string): number {
  return btf.typesByName(name).find((t) => t.kind === 'struct')?.id ?? 0;
}
