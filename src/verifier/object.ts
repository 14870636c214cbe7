/**
 * From an object file's specs to {@link VerifierInput}s: one per program, with the object's maps
 * (the `MAP_IDX` indexes of the linked instructions), func and line info.
 */
import type { Btf } from '../object/btf.js';
import { applyCoreRelocations } from '../object/core.js';
import type { ObjectMap, ObjectSpec, ProgramSpec } from '../object/object.js';
import { AttachType, enumName, ProgType, type ProgTypeName } from '../uapi.js';
import type { Caps, VerifierInput, VerifierMap } from './types.js';

/** `BPF_F_RDONLY_PROG`: programs may only read the values. */
const RDONLY_PROG = 0x80;

function verifierMap(m: ObjectMap): VerifierMap {
  const frozen = m.freeze;
  return {
    type: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.maxEntries,
    // libbpf freezes .rodata and .kconfig and maps them read-only for programs
    flags: (m.flags ?? 0) | (frozen || m.origin === 'kconfig' ? RDONLY_PROG : 0),
    frozen,
    ...(m.initialValue ? { initialValue: m.initialValue } : {}),
    ...(m.innerMap
      ? {
          innerMap: {
            type: m.innerMap.type,
            keySize: m.innerMap.keySize,
            valueSize: m.innerMap.valueSize,
            maxEntries: m.innerMap.maxEntries,
            flags: m.innerMap.flags ?? 0,
          },
        }
      : {}),
    ...(m.btfValueTypeId ? { btfValueTypeId: m.btfValueTypeId } : {}),
    name: m.name,
  };
}

/** The program type of a program spec, or undefined for an unknown section. */
export function programType(program: ProgramSpec): ProgTypeName | undefined {
  return program.sectionInfo ? enumName(ProgType, program.sectionInfo.progType) : undefined;
}

/**
 * The verifier input for one program of an object, as the kernel would see it: the section's
 * expected attach type and, given the kernel's BTF, the CO-RE relocations applied against it (as
 * libbpf does before loading) and that BTF for BTF-typed pointers. Without `kernelBtf`, CO-RE
 * offsets stay as compiled (the object's own layout). Throws a `CoreError` when a relocation
 * cannot be resolved against `kernelBtf`.
 */
export function verifierInputOf(
  spec: ObjectSpec,
  program: ProgramSpec,
  options: { caps?: Caps; progFlags?: number; logLevel?: 0 | 1 | 2; kernelBtf?: Btf } = {},
): VerifierInput | undefined {
  const progType = programType(program);
  if (!progType) return undefined;
  const attachType = program.sectionInfo?.attachType;
  const expectedAttachType = attachType === undefined ? undefined : enumName(AttachType, attachType);
  const kernelBtf = options.kernelBtf;
  const insns =
    kernelBtf && spec.btf && program.coreRelos.length > 0
      ? applyCoreRelocations(program, spec.btf, kernelBtf).insns
      : program.insns;
  return {
    insns,
    progType,
    ...(expectedAttachType ? { expectedAttachType } : {}),
    ...(kernelBtf ? { kernelBtf } : {}),
    ...(program.sectionInfo?.def.btfTarget && program.sectionInfo.target
      ? { attachTarget: program.sectionInfo.target }
      : {}),
    maps: spec.maps.map(verifierMap),
    ...(spec.btf ? { btf: spec.btf } : {}),
    funcInfo: program.funcInfo,
    lines: program.lines,
    caps: options.caps ?? 'root',
    // BPF_F_SLEEPABLE (`.s` sections), BPF_F_XDP_HAS_FRAGS (`.frags`), as the loader sets them
    progFlags:
      (options.progFlags ?? 0) |
      (program.sectionInfo?.def.sleepable ? 1 << 4 : 0) |
      (program.sectionInfo?.def.xdpFrags ? 1 << 5 : 0),
    logLevel: options.logLevel ?? 0,
    gpl: /^(GPL|GPL v2|GPL and additional rights|Dual BSD\/GPL|Dual MIT\/GPL|Dual MPL\/GPL)$/.test(
      program.license,
    ),
  };
}
