/**
 * Hand-written verifier cases in the spirit of the kernel's own selftests
 * (`tools/testing/selftests/bpf/verifier/*.c`, `progs/verifier_*.c`): one rule each, most in an
 * accepted and a rejected variant. Our own programs, not copies. The kernel's verdict on each is
 * recorded by `scripts/record-verifier-corpus.ts` into `testdata/verifier/kernel-style.jsonl`.
 *
 * Pure: cases are assembly text (or raw hex for encodings no assembler writes).
 */
import { encode } from '../../isa/instruction.js';
import { assemble } from '../../isa/llvm-parse.js';
import type { ProgTypeName } from '../../uapi.js';
import type { Caps, VerifierMap } from '../types.js';
import { type CorpusCase, fromHex, makeCase } from './corpus.js';

interface Spec {
  readonly name: string;
  readonly type: ProgTypeName;
  /** Assembly (LLVM syntax), or `hex:` followed by raw instruction bytes. */
  readonly asm: string;
  readonly maps?: readonly VerifierMap[];
  readonly caps?: Caps;
  readonly flags?: number;
}

const HASH8: VerifierMap = { type: 'HASH', keySize: 8, valueSize: 16, maxEntries: 16, flags: 0 };
const ARRAY48: VerifierMap = { type: 'ARRAY', keySize: 4, valueSize: 48, maxEntries: 4, flags: 0 };
/** A global-data-like map: one array entry (direct value access needs max_entries 1). */
const GLOBAL: VerifierMap = { type: 'ARRAY', keySize: 4, valueSize: 48, maxEntries: 1, flags: 0 };
const RDONLY: VerifierMap = { type: 'ARRAY', keySize: 4, valueSize: 8, maxEntries: 1, flags: 1 << 7 };
const RINGBUF: VerifierMap = { type: 'RINGBUF', keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 };
const PROGS: VerifierMap = { type: 'PROG_ARRAY', keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 };
const PERF: VerifierMap = { type: 'PERF_EVENT_ARRAY', keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 };

/** `r0 = lookup(map 0, key 0 on the stack)` (key at fp-8, 8 bytes zeroed). */
const LOOKUP = `*(u64 *)(r10 - 8) = 0
r2 = r10
r2 += -8
r1 = map[idx:0]
call 1`;

/** `r0 = lookup(map 0, key 0 on the stack)` for arrays (a 4-byte key at fp-4). */
const ALOOKUP = `*(u32 *)(r10 - 4) = 0
r2 = r10
r2 += -4
r1 = map[idx:0]
call 1`;

/** XDP: r2 = data, r3 = data_end, r1 = data + N checked against data_end. */
const xdpPkt = (n: number) => `r2 = *(u32 *)(r1 + 0)
r3 = *(u32 *)(r1 + 4)
r1 = r2
r1 += ${n}
if r1 > r3 goto out`;

/** TC: the same with __sk_buff's data (76) and data_end (80). */
const tcPkt = (n: number) => `r2 = *(u32 *)(r1 + 76)
r3 = *(u32 *)(r1 + 80)
r1 = r2
r1 += ${n}
if r1 > r3 goto out`;

const SPECS: readonly Spec[] = [
  // --- Basics: exit, registers, CFG ------------------------------------------------------------
  { name: 'basic: return 0', type: 'SOCKET_FILTER', asm: 'r0 = 0\nexit' },
  { name: 'basic: exit without setting r0', type: 'SOCKET_FILTER', asm: 'exit' },
  { name: 'basic: read uninitialised r2', type: 'SOCKET_FILTER', asm: 'r0 = r2\nexit' },
  { name: 'basic: write to r10', type: 'SOCKET_FILTER', asm: 'r10 = 0\nr0 = 0\nexit' },
  { name: 'basic: r10 as a source is fine', type: 'SOCKET_FILTER', asm: 'r1 = r10\nr0 = 0\nexit' },
  { name: 'basic: unreachable instruction', type: 'SOCKET_FILTER', asm: 'r0 = 0\nexit\nr0 = 1\nexit' },
  { name: 'basic: jump out of range', type: 'SOCKET_FILTER', asm: 'r0 = 0\ngoto +5\nexit' },
  { name: 'basic: jump backwards out of range', type: 'SOCKET_FILTER', asm: 'r0 = 0\ngoto -5\nexit' },
  { name: 'basic: fall off the end', type: 'SOCKET_FILTER', asm: 'r0 = 0\nif r1 == 0 goto +1\nexit\nr0 = 1' },
  {
    name: 'basic: jump into the middle of lddw',
    type: 'SOCKET_FILTER',
    asm: 'r0 = 0\nif r1 == 0 goto +1\nr0 = 0x100000000 ll\nexit',
  },
  { name: 'basic: lddw 64-bit constant', type: 'SOCKET_FILTER', asm: 'r0 = 0x100000000 ll\nr0 >>= 32\nexit' },
  {
    name: 'basic: unknown opcode 0xff',
    type: 'SOCKET_FILTER',
    asm: 'hex:ff00000000000000b7000000000000009500000000000000',
  },
  {
    name: 'basic: register r11',
    type: 'SOCKET_FILTER',
    asm: 'hex:b70b000000000000b7000000000000009500000000000000',
  },
  {
    name: 'basic: reserved src field in mov imm',
    type: 'SOCKET_FILTER',
    asm: 'hex:b7100000000000009500000000000000',
  },
  {
    name: 'basic: reserved off field in add',
    type: 'SOCKET_FILTER',
    asm: 'hex:b70000000000000007000100010000009500000000000000',
  },
  {
    name: 'basic: lddw missing second slot',
    type: 'SOCKET_FILTER',
    asm: 'hex:b7000000000000001800000001000000',
  },
  {
    name: 'basic: lddw unknown pseudo src 7',
    type: 'SOCKET_FILTER',
    asm: 'hex:1871000001000000000000000000000095000000000000' + '00',
  },
  { name: 'basic: division by zero immediate', type: 'SOCKET_FILTER', asm: 'r0 = 1\nr0 /= 0\nexit' },
  { name: 'basic: modulo by zero immediate', type: 'SOCKET_FILTER', asm: 'r0 = 1\nr0 %= 0\nexit' },
  { name: 'basic: division by a register', type: 'SOCKET_FILTER', asm: 'r0 = 10\nr1 = 0\nr0 /= r1\nexit' },
  { name: 'basic: shift by 64', type: 'SOCKET_FILTER', asm: 'r0 = 1\nr0 <<= 64\nexit' },
  { name: 'basic: 32-bit shift by 32', type: 'SOCKET_FILTER', asm: 'w0 = 1\nw0 <<= 32\nexit' },
  { name: 'basic: 32-bit shift by 31', type: 'SOCKET_FILTER', asm: 'w0 = 1\nw0 <<= 31\nexit' },
  {
    name: 'basic: neg and bswap',
    type: 'SOCKET_FILTER',
    asm: 'r0 = 5\nr0 = -r0\nr0 = be16 r0\nr0 = le64 r0\nexit',
  },
  { name: 'basic: sign-extending mov', type: 'SOCKET_FILTER', asm: 'r1 = 255\nr0 = (s8)r1\nexit' },
  {
    name: 'basic: signed division',
    type: 'SOCKET_FILTER',
    asm: 'r0 = -10\nr1 = 3\nr0 s/= r1\nr0 s%= r1\nexit',
  },
  { name: 'basic: call unknown helper 10000', type: 'SOCKET_FILTER', asm: 'call 10000\nr0 = 0\nexit' },
  { name: 'basic: call helper 0 (unspec)', type: 'SOCKET_FILTER', asm: 'call 0\nr0 = 0\nexit' },
  { name: 'basic: helper clobbers r1-r5', type: 'SOCKET_FILTER', asm: 'r1 = 1\ncall 7\nr0 = r1\nexit' },
  { name: 'basic: helper keeps r6-r9', type: 'SOCKET_FILTER', asm: 'r6 = 1\ncall 7\nr0 = r6\nexit' },
  { name: 'basic: goto +0', type: 'SOCKET_FILTER', asm: 'r0 = 0\ngoto +0\nexit' },
  {
    name: 'basic: ja32 (gotol)',
    type: 'SOCKET_FILTER',
    asm: 'hex:b700000000000000060000000000000095000000000000' + '00',
  },
  // --- Return values per program type ---------------------------------------------------------
  { name: 'ret: cgroup_skb returns 1', type: 'CGROUP_SKB', asm: 'r0 = 1\nexit' },
  { name: 'ret: cgroup_skb returns 2', type: 'CGROUP_SKB', asm: 'r0 = 2\nexit' },
  { name: 'ret: cgroup_skb returns unknown', type: 'CGROUP_SKB', asm: 'call 7\nexit' },
  { name: 'ret: cgroup_skb returns masked', type: 'CGROUP_SKB', asm: 'call 7\nr0 &= 1\nexit' },
  { name: 'ret: cgroup_skb returns a pointer', type: 'CGROUP_SKB', asm: 'r0 = r1\nexit' },
  { name: 'ret: xdp returns 7', type: 'XDP', asm: 'r0 = 7\nexit' },
  { name: 'ret: socket filter returns a pointer (root)', type: 'SOCKET_FILTER', asm: 'r0 = r10\nexit' },
  {
    name: 'ret: socket filter returns a pointer (unpriv)',
    type: 'SOCKET_FILTER',
    asm: 'r0 = r10\nexit',
    caps: 'unpriv',
  },
  {
    name: 'ret: socket filter returns a pointer (bpf)',
    type: 'SOCKET_FILTER',
    asm: 'r0 = r10\nexit',
    caps: 'bpf',
  },
  { name: 'ret: tracepoint returns 0', type: 'TRACEPOINT', asm: 'r0 = 0\nexit' },
  { name: 'ret: raw tracepoint returns 5', type: 'RAW_TRACEPOINT', asm: 'r0 = 5\nexit' },
  // --- Context access -------------------------------------------------------------------------
  { name: 'ctx: skb len u32', type: 'SOCKET_FILTER', asm: 'r0 = *(u32 *)(r1 + 0)\nexit' },
  { name: 'ctx: skb len narrow u8', type: 'SOCKET_FILTER', asm: 'r0 = *(u8 *)(r1 + 0)\nexit' },
  { name: 'ctx: skb len narrow u16 at +2', type: 'SOCKET_FILTER', asm: 'r0 = *(u16 *)(r1 + 2)\nexit' },
  { name: 'ctx: skb len u64', type: 'SOCKET_FILTER', asm: 'r0 = *(u64 *)(r1 + 0)\nexit' },
  { name: 'ctx: skb misaligned u32 at +1', type: 'SOCKET_FILTER', asm: 'r0 = *(u32 *)(r1 + 1)\nexit' },
  { name: 'ctx: socket filter reads data', type: 'SOCKET_FILTER', asm: 'r0 = *(u32 *)(r1 + 76)\nexit' },
  { name: 'ctx: tc reads data', type: 'SCHED_CLS', asm: 'r0 = *(u32 *)(r1 + 76)\nr0 = 0\nexit' },
  { name: 'ctx: tc writes mark', type: 'SCHED_CLS', asm: 'r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit' },
  {
    name: 'ctx: socket filter writes mark',
    type: 'SOCKET_FILTER',
    asm: 'r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit',
  },
  {
    name: 'ctx: socket filter writes cb[0]',
    type: 'SOCKET_FILTER',
    asm: 'r2 = 1\n*(u32 *)(r1 + 48) = r2\nr0 = 0\nexit',
  },
  { name: 'ctx: tc writes len', type: 'SCHED_CLS', asm: 'r2 = 1\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit' },
  { name: 'ctx: tc store immediate to mark', type: 'SCHED_CLS', asm: '*(u32 *)(r1 + 8) = 1\nr0 = 0\nexit' },
  { name: 'ctx: skb past the end', type: 'SCHED_CLS', asm: 'r0 = *(u32 *)(r1 + 192)\nexit' },
  { name: 'ctx: skb negative offset', type: 'SCHED_CLS', asm: 'r0 = *(u32 *)(r1 - 4)\nexit' },
  { name: 'ctx: skb sk pointer u64', type: 'SCHED_CLS', asm: 'r0 = *(u64 *)(r1 + 168)\nr0 = 0\nexit' },
  { name: 'ctx: skb tstamp u64', type: 'SCHED_CLS', asm: 'r0 = *(u64 *)(r1 + 152)\nr0 = 0\nexit' },
  { name: 'ctx: xdp ingress_ifindex', type: 'XDP', asm: 'r0 = *(u32 *)(r1 + 12)\nr0 = 2\nexit' },
  { name: 'ctx: xdp write data', type: 'XDP', asm: 'r2 = 0\n*(u32 *)(r1 + 0) = r2\nr0 = 2\nexit' },
  { name: 'ctx: xdp u64 read of data', type: 'XDP', asm: 'r0 = *(u64 *)(r1 + 0)\nr0 = 2\nexit' },
  { name: 'ctx: xdp narrow read of data', type: 'XDP', asm: 'r0 = *(u8 *)(r1 + 0)\nr0 = 2\nexit' },
  { name: 'ctx: tracepoint u64 at 8', type: 'TRACEPOINT', asm: 'r0 = *(u64 *)(r1 + 8)\nr0 = 0\nexit' },
  { name: 'ctx: tracepoint misaligned', type: 'TRACEPOINT', asm: 'r0 = *(u64 *)(r1 + 4)\nr0 = 0\nexit' },
  { name: 'ctx: tracepoint write', type: 'TRACEPOINT', asm: 'r2 = 0\n*(u64 *)(r1 + 8) = r2\nr0 = 0\nexit' },
  { name: 'ctx: tracepoint past 2048', type: 'TRACEPOINT', asm: 'r0 = *(u64 *)(r1 + 2048)\nr0 = 0\nexit' },
  { name: 'ctx: raw tracepoint arg 11', type: 'RAW_TRACEPOINT', asm: 'r0 = *(u64 *)(r1 + 88)\nr0 = 0\nexit' },
  { name: 'ctx: raw tracepoint arg 12', type: 'RAW_TRACEPOINT', asm: 'r0 = *(u64 *)(r1 + 96)\nr0 = 0\nexit' },
  {
    name: 'ctx: raw tracepoint u32 read',
    type: 'RAW_TRACEPOINT',
    asm: 'r0 = *(u32 *)(r1 + 0)\nr0 = 0\nexit',
  },
  { name: 'ctx: perf event sample_period', type: 'PERF_EVENT', asm: 'r0 = *(u64 *)(r1 + 168)\nr0 = 0\nexit' },
  {
    name: 'ctx: perf event narrow sample_period',
    type: 'PERF_EVENT',
    asm: 'r0 = *(u32 *)(r1 + 168)\nr0 = 0\nexit',
  },
  { name: 'ctx: perf event regs u32', type: 'PERF_EVENT', asm: 'r0 = *(u32 *)(r1 + 0)\nr0 = 0\nexit' },
  { name: 'ctx: kprobe pt_regs ip', type: 'KPROBE', asm: 'r0 = *(u64 *)(r1 + 128)\nr0 = 0\nexit' },
  { name: 'ctx: kprobe past pt_regs', type: 'KPROBE', asm: 'r0 = *(u64 *)(r1 + 168)\nr0 = 0\nexit' },
  { name: 'ctx: modified ctx pointer', type: 'SCHED_CLS', asm: 'r1 += 8\nr0 = *(u32 *)(r1 + 0)\nexit' },
  {
    name: 'ctx: atomic add to ctx',
    type: 'SCHED_CLS',
    asm: 'r2 = 1\nlock *(u32 *)(r1 + 8) += r2\nr0 = 0\nexit',
  },
  {
    name: 'ctx: cgroup_skb reads data (bpf)',
    type: 'CGROUP_SKB',
    asm: 'r0 = *(u32 *)(r1 + 76)\nr0 = 1\nexit',
    caps: 'bpf',
  },
  {
    name: 'ctx: cgroup_skb reads data (unpriv)',
    type: 'CGROUP_SKB',
    asm: 'r0 = *(u32 *)(r1 + 76)\nr0 = 1\nexit',
    caps: 'unpriv',
  },
  // --- Direct packet access -------------------------------------------------------------------
  {
    name: 'pkt: xdp checked read',
    type: 'XDP',
    asm: `${xdpPkt(14)}\nr0 = *(u8 *)(r2 + 13)\nout:\nr0 = 2\nexit`,
  },
  {
    name: 'pkt: xdp read one past the check',
    type: 'XDP',
    asm: `${xdpPkt(14)}\nr0 = *(u8 *)(r2 + 14)\nout:\nr0 = 2\nexit`,
  },
  {
    name: 'pkt: xdp u32 straddling the check',
    type: 'XDP',
    asm: `${xdpPkt(14)}\nr0 = *(u32 *)(r2 + 12)\nout:\nr0 = 2\nexit`,
  },
  {
    name: 'pkt: xdp unchecked read',
    type: 'XDP',
    asm: 'r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 0)\nr0 = 2\nexit',
  },
  {
    name: 'pkt: xdp wrong branch of the check',
    type: 'XDP',
    asm: `${xdpPkt(14).replace('goto out', 'goto ok')}\ngoto out\nok:\nr0 = *(u8 *)(r2 + 0)\nout:\nr0 = 2\nexit`,
  },
  {
    name: 'pkt: xdp check with >=',
    type: 'XDP',
    asm: `${xdpPkt(8).replace('>', '>=')}\nr0 = *(u64 *)(r2 + 0)\nout:\nr0 = 2\nexit`,
  },
  {
    name: 'pkt: xdp check as data_end < ptr',
    type: 'XDP',
    asm: `${xdpPkt(8).replace('if r1 > r3', 'if r3 < r1')}\nr0 = *(u64 *)(r2 + 0)\nout:\nr0 = 2\nexit`,
  },
  {
    name: 'pkt: xdp write after check',
    type: 'XDP',
    asm: `${xdpPkt(4)}\n*(u32 *)(r2 + 0) = 1\nout:\nr0 = 2\nexit`,
  },
  {
    name: 'pkt: cgroup_skb write',
    type: 'CGROUP_SKB',
    asm: `${tcPkt(4)}\n*(u32 *)(r2 + 0) = 1\nout:\nr0 = 1\nexit`,
  },
  {
    name: 'pkt: tc checked u16',
    type: 'SCHED_CLS',
    asm: `${tcPkt(14)}\nr0 = *(u16 *)(r2 + 12)\nout:\nr0 = 0\nexit`,
  },
  {
    name: 'pkt: tc misaligned u32 (strict)',
    type: 'SCHED_CLS',
    asm: `${tcPkt(14)}\nr0 = *(u32 *)(r2 + 1)\nout:\nr0 = 0\nexit`,
    flags: 1,
  },
  {
    name: 'pkt: tc misaligned u32',
    type: 'SCHED_CLS',
    asm: `${tcPkt(14)}\nr0 = *(u32 *)(r2 + 1)\nout:\nr0 = 0\nexit`,
  },
  { name: 'pkt: arithmetic on data_end', type: 'XDP', asm: 'r3 = *(u32 *)(r1 + 4)\nr3 += 1\nr0 = 2\nexit' },
  {
    name: 'pkt: variable offset re-checked',
    type: 'XDP',
    asm: `${xdpPkt(1)}\nr4 = *(u8 *)(r2 + 0)\nr4 &= 31\nr2 += r4\nr1 = r2\nr1 += 2\nif r1 > r3 goto out\nr0 = *(u16 *)(r2 + 0)\nout:\nr0 = 2\nexit`,
  },
  {
    name: 'pkt: variable offset not re-checked',
    type: 'XDP',
    asm: `${xdpPkt(40)}\nr4 = *(u8 *)(r2 + 0)\nr4 &= 7\nr2 += r4\nr0 = *(u8 *)(r2 + 0)\nout:\nr0 = 2\nexit`,
  },
  {
    name: 'pkt: unbounded variable offset',
    type: 'XDP',
    asm: `${xdpPkt(1)}\nr4 = *(u8 *)(r2 + 0)\nr4 <<= 24\nr4 <<= 8\nr2 += r4\nout:\nr0 = 2\nexit`,
  },
  {
    name: 'pkt: pointer invalidated by xdp_adjust_head',
    type: 'XDP',
    asm: `r6 = r1\n${xdpPkt(8)}\nr7 = r2\nr1 = r6\nr2 = 4\ncall 44\nr0 = *(u8 *)(r7 + 0)\nout:\nr0 = 2\nexit`,
  },
  {
    name: 'pkt: reload after xdp_adjust_head',
    type: 'XDP',
    asm: `r6 = r1\nr1 = r6\nr2 = 4\ncall 44\nr1 = r6\n${xdpPkt(8)}\nr0 = *(u8 *)(r2 + 0)\nout:\nr0 = 2\nexit`,
  },
  {
    name: 'pkt: xdp meta checked against data',
    type: 'XDP',
    asm: 'r2 = *(u32 *)(r1 + 8)\nr3 = *(u32 *)(r1 + 0)\nr1 = r2\nr1 += 4\nif r1 > r3 goto out\nr0 = *(u32 *)(r2 + 0)\nout:\nr0 = 2\nexit',
  },
  {
    name: 'pkt: xdp meta checked against data_end',
    type: 'XDP',
    asm: 'r2 = *(u32 *)(r1 + 8)\nr3 = *(u32 *)(r1 + 4)\nr1 = r2\nr1 += 4\nif r1 > r3 goto out\nr0 = *(u32 *)(r2 + 0)\nout:\nr0 = 2\nexit',
  },
  {
    name: 'pkt: spill and fill a packet pointer keeps its range',
    type: 'XDP',
    asm: `${xdpPkt(8)}\n*(u64 *)(r10 - 8) = r2\nr4 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r4 + 4)\nout:\nr0 = 2\nexit`,
  },
  {
    name: 'pkt: packet pointer stored into a map value',
    type: 'XDP',
    asm: `r6 = r1\n${LOOKUP}\nif r0 == 0 goto out\nr2 = *(u32 *)(r6 + 0)\n*(u64 *)(r0 + 0) = r2\nout:\nr0 = 2\nexit`,
    maps: [HASH8],
  },
  { name: 'pkt: ld_abs in socket filter', type: 'SOCKET_FILTER', asm: 'r6 = r1\nr0 = *(u16 *)skb[12]\nexit' },
  { name: 'pkt: ld_abs without ctx in r6', type: 'SOCKET_FILTER', asm: 'r0 = *(u16 *)skb[12]\nexit' },
  { name: 'pkt: ld_abs in xdp', type: 'XDP', asm: 'r6 = r1\nr0 = *(u8 *)skb[0]\nr0 = 2\nexit' },
  {
    name: 'pkt: ld_ind with a register index',
    type: 'SCHED_CLS',
    asm: 'r6 = r1\nr7 = 14\nr0 = *(u32 *)skb[r7 + 2]\nr0 = 0\nexit',
  },
  {
    name: 'pkt: ld_abs clobbers r1-r5',
    type: 'SOCKET_FILTER',
    asm: 'r6 = r1\nr2 = 1\nr0 = *(u8 *)skb[0]\nr0 = r2\nexit',
  },
  // --- Maps ------------------------------------------------------------------------------------
  {
    name: 'map: lookup with null check',
    type: 'XDP',
    asm: `${LOOKUP}\nif r0 == 0 goto out\nr0 = *(u64 *)(r0 + 8)\nout:\nr0 = 2\nexit`,
    maps: [HASH8],
  },
  {
    name: 'map: lookup without null check',
    type: 'XDP',
    asm: `${LOOKUP}\nr0 = *(u64 *)(r0 + 8)\nr0 = 2\nexit`,
    maps: [HASH8],
  },
  {
    name: 'map: null check on a copy clears both',
    type: 'XDP',
    asm: `${LOOKUP}\nr1 = r0\nif r1 == 0 goto out\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [HASH8],
  },
  {
    name: 'map: null check with != and jump',
    type: 'XDP',
    asm: `${LOOKUP}\nif r0 != 0 goto ok\nr0 = 2\nexit\nok:\nr0 = *(u64 *)(r0 + 0)\nr0 = 2\nexit`,
    maps: [HASH8],
  },
  {
    name: 'map: value read at the end',
    type: 'XDP',
    asm: `${LOOKUP}\nif r0 == 0 goto out\nr0 = *(u64 *)(r0 + 8)\nout:\nr0 = 2\nexit`,
    maps: [HASH8],
  },
  {
    name: 'map: value read past the end',
    type: 'XDP',
    asm: `${LOOKUP}\nif r0 == 0 goto out\nr0 = *(u64 *)(r0 + 12)\nout:\nr0 = 2\nexit`,
    maps: [HASH8],
  },
  {
    name: 'map: value negative offset',
    type: 'XDP',
    asm: `${LOOKUP}\nif r0 == 0 goto out\nr0 = *(u8 *)(r0 - 1)\nout:\nr0 = 2\nexit`,
    maps: [HASH8],
  },
  {
    name: 'map: value misaligned u64 (strict)',
    type: 'XDP',
    asm: `${LOOKUP}\nif r0 == 0 goto out\nr0 = *(u64 *)(r0 + 4)\nout:\nr0 = 2\nexit`,
    maps: [HASH8],
    flags: 1,
  },
  {
    name: 'map: key too short on the stack',
    type: 'XDP',
    asm: '*(u32 *)(r10 - 8) = 0\nr2 = r10\nr2 += -8\nr1 = map[idx:0]\ncall 1\nr0 = 2\nexit',
    maps: [HASH8],
  },
  {
    name: 'map: key is a scalar',
    type: 'XDP',
    asm: 'r2 = 0\nr1 = map[idx:0]\ncall 1\nr0 = 2\nexit',
    maps: [HASH8],
  },
  {
    name: 'map: key from the ctx',
    type: 'XDP',
    asm: 'r2 = r1\nr1 = map[idx:0]\ncall 1\nr0 = 2\nexit',
    maps: [HASH8],
  },
  {
    name: 'map: map argument is the ctx',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 8) = 0\nr2 = r10\nr2 += -8\ncall 1\nr0 = 2\nexit',
    maps: [HASH8],
  },
  {
    name: 'map: arithmetic on a map pointer',
    type: 'XDP',
    asm: 'r1 = map[idx:0]\nr1 += 8\nr0 = 2\nexit',
    maps: [HASH8],
  },
  {
    name: 'map: read through a map pointer',
    type: 'XDP',
    asm: 'r1 = map[idx:0]\nr0 = *(u64 *)(r1 + 0)\nr0 = 2\nexit',
    maps: [HASH8],
  },
  {
    name: 'map: arithmetic before null check',
    type: 'XDP',
    asm: `${LOOKUP}\nr0 += 8\nif r0 == 0 goto out\nout:\nr0 = 2\nexit`,
    maps: [HASH8],
  },
  {
    name: 'map: update with value on stack',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 8) = 0\n*(u64 *)(r10 - 24) = 0\n*(u64 *)(r10 - 16) = 0\nr2 = r10\nr2 += -8\nr3 = r10\nr3 += -24\nr1 = map[idx:0]\nr4 = 0\ncall 2\nr0 = 2\nexit',
    maps: [HASH8],
  },
  {
    name: 'map: update with half-initialised value',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 8) = 0\n*(u64 *)(r10 - 24) = 0\nr2 = r10\nr2 += -8\nr3 = r10\nr3 += -24\nr1 = map[idx:0]\nr4 = 0\ncall 2\nr0 = 2\nexit',
    maps: [HASH8],
  },
  {
    name: 'map: half-initialised value (bpf)',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 8) = 0\n*(u64 *)(r10 - 24) = 0\nr2 = r10\nr2 += -8\nr3 = r10\nr3 += -24\nr1 = map[idx:0]\nr4 = 0\ncall 2\nr0 = 2\nexit',
    maps: [HASH8],
    caps: 'bpf',
  },
  {
    name: 'map: write to a read-only map',
    type: 'XDP',
    asm: `${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\n*(u64 *)(r0 + 0) = 1\nout:\nr0 = 2\nexit`,
    maps: [RDONLY],
  },
  {
    name: 'map: read a read-only map',
    type: 'XDP',
    asm: `${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [RDONLY],
  },
  {
    name: 'map: array index masked into range',
    type: 'XDP',
    asm: `${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr1 &= 31\nr0 += r1\nr0 = *(u64 *)(r0 + 8)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'map: array index masked one too wide',
    type: 'XDP',
    asm: `${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr1 &= 63\nr0 += r1\nr0 = *(u64 *)(r0 + 8)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'map: index bounded by a branch',
    type: 'XDP',
    asm: `${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nif r1 > 40 goto out\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'map: index bounded one too high',
    type: 'XDP',
    asm: `${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nif r1 > 41 goto out\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'map: signed bound only',
    type: 'XDP',
    asm: `${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + 0)\nif r1 s> 40 goto out\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'map: signed bounds on both sides',
    type: 'XDP',
    asm: `${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + 0)\nif r1 s> 40 goto out\nif r1 s< 0 goto out\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'map: unbounded index',
    type: 'XDP',
    asm: `${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + 0)\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'map: index via jmp32 on a zero-extended load',
    type: 'XDP',
    asm: `${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nif w1 > 40 goto out\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'map: index via jmp32 on a 64-bit load',
    type: 'XDP',
    asm: `${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + 0)\nif w1 > 40 goto out\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'map: index via mod',
    type: 'XDP',
    asm: `${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr1 %= 40\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'map: index via shift',
    type: 'XDP',
    asm: `${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr1 >>= 27\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'map: pointer stored into a map value (root)',
    type: 'XDP',
    asm: `${LOOKUP}\nif r0 == 0 goto out\n*(u64 *)(r0 + 0) = r10\nout:\nr0 = 2\nexit`.replace(
      '= r10',
      '= r0',
    ),
    maps: [HASH8],
  },
  {
    name: 'map: pointer stored into a map value (bpf)',
    type: 'XDP',
    asm: `${LOOKUP}\nif r0 == 0 goto out\n*(u64 *)(r0 + 0) = r0\nout:\nr0 = 2\nexit`,
    maps: [HASH8],
    caps: 'bpf',
  },
  {
    name: 'map: lookup in socket filter (unpriv)',
    type: 'SOCKET_FILTER',
    asm: `${LOOKUP}\nif r0 == 0 goto out\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 0\nexit`,
    maps: [HASH8],
    caps: 'unpriv',
  },
  {
    name: 'map: value pointer leaked to a map (unpriv)',
    type: 'SOCKET_FILTER',
    asm: `${LOOKUP}\nif r0 == 0 goto out\n*(u64 *)(r0 + 0) = r0\nout:\nr0 = 0\nexit`,
    maps: [HASH8],
    caps: 'unpriv',
  },
  {
    name: 'map: value pointer arithmetic out of range (unpriv)',
    type: 'SOCKET_FILTER',
    asm: `${LOOKUP}\nif r0 == 0 goto out\nr0 += 32\nr0 -= 24\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 0\nexit`,
    maps: [HASH8],
    caps: 'unpriv',
  },
  // --- Stack -----------------------------------------------------------------------------------
  {
    name: 'stack: write then read',
    type: 'SOCKET_FILTER',
    asm: '*(u64 *)(r10 - 8) = 5\nr0 = *(u64 *)(r10 - 8)\nexit',
  },
  { name: 'stack: read uninitialised (root)', type: 'SOCKET_FILTER', asm: 'r0 = *(u64 *)(r10 - 8)\nexit' },
  {
    name: 'stack: read uninitialised (bpf)',
    type: 'SOCKET_FILTER',
    asm: 'r0 = *(u64 *)(r10 - 8)\nexit',
    caps: 'bpf',
  },
  {
    name: 'stack: read uninitialised (unpriv)',
    type: 'SOCKET_FILTER',
    asm: 'r0 = *(u64 *)(r10 - 8)\nexit',
    caps: 'unpriv',
  },
  {
    name: 'stack: partly initialised read (unpriv)',
    type: 'SOCKET_FILTER',
    asm: '*(u32 *)(r10 - 8) = 1\nr0 = *(u64 *)(r10 - 8)\nexit',
    caps: 'unpriv',
  },
  { name: 'stack: write at fp+0', type: 'SOCKET_FILTER', asm: '*(u64 *)(r10 + 0) = 1\nr0 = 0\nexit' },
  { name: 'stack: write at fp-512', type: 'SOCKET_FILTER', asm: '*(u64 *)(r10 - 512) = 1\nr0 = 0\nexit' },
  { name: 'stack: write at fp-520', type: 'SOCKET_FILTER', asm: '*(u64 *)(r10 - 520) = 1\nr0 = 0\nexit' },
  { name: 'stack: misaligned u64 write', type: 'SOCKET_FILTER', asm: '*(u64 *)(r10 - 12) = 1\nr0 = 0\nexit' },
  {
    name: 'stack: misaligned u64 write (any alignment)',
    type: 'SOCKET_FILTER',
    asm: '*(u64 *)(r10 - 12) = 1\nr0 = 0\nexit',
    flags: 2,
  },
  {
    name: 'stack: spill ctx and fill it back',
    type: 'SOCKET_FILTER',
    asm: '*(u64 *)(r10 - 8) = r1\nr2 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r2 + 0)\nexit',
  },
  {
    name: 'stack: fill half a spilled pointer',
    type: 'SOCKET_FILTER',
    asm: '*(u64 *)(r10 - 8) = r1\nr2 = *(u32 *)(r10 - 8)\nr0 = 0\nexit',
  },
  {
    name: 'stack: fill half a spilled pointer (unpriv)',
    type: 'SOCKET_FILTER',
    asm: '*(u64 *)(r10 - 8) = r1\nr2 = *(u32 *)(r10 - 8)\nr0 = 0\nexit',
    caps: 'unpriv',
  },
  {
    name: 'stack: overwrite half a spilled pointer then fill',
    type: 'SOCKET_FILTER',
    asm: '*(u64 *)(r10 - 8) = r1\n*(u32 *)(r10 - 8) = 0\nr2 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r2 + 0)\nexit',
  },
  {
    name: 'stack: overwrite part of a spilled pointer (unpriv)',
    type: 'SOCKET_FILTER',
    asm: '*(u64 *)(r10 - 8) = r1\n*(u8 *)(r10 - 7) = 0\nr0 = 0\nexit',
    caps: 'unpriv',
  },
  {
    name: 'stack: 32-bit fill of a spilled bounded scalar',
    type: 'XDP',
    asm: `r6 = r1\n${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nif r1 > 40 goto out\n*(u64 *)(r10 - 16) = r1\nr2 = *(u32 *)(r10 - 16)\nr0 += r2\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'stack: 32-bit fill of the high half',
    type: 'XDP',
    asm: `r6 = r1\n${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nif r1 > 40 goto out\n*(u64 *)(r10 - 16) = r1\nr2 = *(u32 *)(r10 - 12)\nr0 += r2\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'stack: variable offset read, initialised',
    type: 'SOCKET_FILTER',
    asm: '*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 7\nr0 &= 7\nr1 = r10\nr1 += -16\nr1 += r0\nr0 = *(u8 *)(r1 + 0)\nexit',
  },
  {
    name: 'stack: variable offset read, half initialised (bpf)',
    type: 'SOCKET_FILTER',
    asm: '*(u64 *)(r10 - 16) = 0\ncall 7\nr0 &= 15\nr1 = r10\nr1 += -16\nr1 += r0\nr0 = *(u8 *)(r1 + 0)\nexit',
    caps: 'bpf',
  },
  {
    name: 'stack: variable offset write past fp',
    type: 'SOCKET_FILTER',
    asm: 'call 7\nr0 &= 31\nr1 = r10\nr1 += -16\nr1 += r0\n*(u8 *)(r1 + 0) = 0\nr0 = 0\nexit',
  },
  {
    name: 'stack: variable offset (unpriv)',
    type: 'SOCKET_FILTER',
    asm: '*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 7\nr0 &= 7\nr1 = r10\nr1 += -16\nr1 += r0\nr0 = *(u8 *)(r1 + 0)\nexit',
    caps: 'unpriv',
  },
  {
    name: 'stack: pointer arithmetic on fp',
    type: 'SOCKET_FILTER',
    asm: 'r1 = r10\nr1 += -8\n*(u64 *)(r1 + 0) = 0\nr0 = *(u64 *)(r1 + 0)\nexit',
  },
  {
    name: 'stack: fp pointer out of range',
    type: 'SOCKET_FILTER',
    asm: 'r1 = r10\nr1 += -600\nr0 = 0\nexit',
  },
  {
    name: 'stack: fp pointer out of range (unpriv)',
    type: 'SOCKET_FILTER',
    asm: 'r1 = r10\nr1 += -600\nr0 = 0\nexit',
    caps: 'unpriv',
  },
  // --- Pointer arithmetic, leaks, comparisons ---------------------------------------------------
  { name: 'ptr: ctx *= 2', type: 'SOCKET_FILTER', asm: 'r1 *= 2\nr0 = 0\nexit' },
  { name: 'ptr: fp &= -8', type: 'SOCKET_FILTER', asm: 'r1 = r10\nr1 &= -8\nr0 = 0\nexit' },
  { name: 'ptr: 32-bit add on fp', type: 'SOCKET_FILTER', asm: 'r1 = r10\nw1 += -8\nr0 = 0\nexit' },
  {
    name: 'ptr: pointer minus pointer (root)',
    type: 'SOCKET_FILTER',
    asm: 'r0 = r10\nr1 = r10\nr1 += -8\nr0 -= r1\nexit',
  },
  {
    name: 'ptr: pointer minus pointer (unpriv)',
    type: 'SOCKET_FILTER',
    asm: 'r0 = r10\nr1 = r10\nr1 += -8\nr0 -= r1\nexit',
    caps: 'unpriv',
  },
  { name: 'ptr: pointer plus pointer', type: 'SOCKET_FILTER', asm: 'r0 = r10\nr0 += r1\nr0 = 0\nexit' },
  { name: 'ptr: negate a pointer', type: 'SOCKET_FILTER', asm: 'r1 = -r1\nr0 = 0\nexit' },
  { name: 'ptr: scalar minus pointer', type: 'SOCKET_FILTER', asm: 'r0 = 1\nr0 -= r1\nr0 = 0\nexit' },
  {
    name: 'ptr: compare pointers (root)',
    type: 'SOCKET_FILTER',
    asm: 'r0 = 0\nif r1 == r10 goto +1\nr0 = 1\nexit',
  },
  {
    name: 'ptr: compare pointers (bpf)',
    type: 'SOCKET_FILTER',
    asm: 'r0 = 0\nif r1 == r10 goto +1\nr0 = 1\nexit',
    caps: 'bpf',
  },
  {
    name: 'ptr: compare pointers (unpriv)',
    type: 'SOCKET_FILTER',
    asm: 'r0 = 0\nif r1 == r10 goto +1\nr0 = 1\nexit',
    caps: 'unpriv',
  },
  {
    name: 'ptr: compare pointer with 0 (unpriv)',
    type: 'SOCKET_FILTER',
    asm: 'r0 = 0\nif r1 == 0 goto +1\nr0 = 1\nexit',
    caps: 'unpriv',
  },
  {
    name: 'ptr: spill fp to stack (unpriv)',
    type: 'SOCKET_FILTER',
    asm: '*(u64 *)(r10 - 8) = r10\nr0 = 0\nexit',
    caps: 'unpriv',
  },
  {
    name: 'ptr: store ctx into ctx (unpriv)',
    type: 'SOCKET_FILTER',
    asm: '*(u32 *)(r1 + 48) = r1\nr0 = 0\nexit',
    caps: 'unpriv',
  },
  {
    name: 'ptr: helper arg pointer as scalar (unpriv)',
    type: 'SOCKET_FILTER',
    asm: 'r1 = r10\ncall 7\nr0 = 0\nexit',
    caps: 'unpriv',
  },
  { name: 'ptr: mov32 of a pointer (root)', type: 'SOCKET_FILTER', asm: 'w0 = w10\nexit' },
  { name: 'ptr: mov32 of a pointer (unpriv)', type: 'SOCKET_FILTER', asm: 'w0 = w10\nexit', caps: 'unpriv' },
  // --- Helpers ---------------------------------------------------------------------------------
  { name: 'helper: get_prandom_u32 result is a scalar', type: 'SOCKET_FILTER', asm: 'call 7\nr0 &= 1\nexit' },
  { name: 'helper: tracing helper in socket filter', type: 'SOCKET_FILTER', asm: 'call 35\nr0 = 0\nexit' },
  {
    name: 'helper: get_current_comm in tracepoint',
    type: 'TRACEPOINT',
    asm: 'r1 = r10\nr1 += -16\nr2 = 16\ncall 16\nr0 = 0\nexit',
  },
  {
    name: 'helper: get_current_comm size past the stack',
    type: 'TRACEPOINT',
    asm: 'r1 = r10\nr1 += -16\nr2 = 17\ncall 16\nr0 = 0\nexit',
  },
  {
    name: 'helper: get_current_comm size 0',
    type: 'TRACEPOINT',
    asm: 'r1 = r10\nr1 += -16\nr2 = 0\ncall 16\nr0 = 0\nexit',
  },
  { name: 'helper: get_current_comm into ctx', type: 'TRACEPOINT', asm: 'r2 = 16\ncall 16\nr0 = 0\nexit' },
  {
    name: 'helper: probe_read_kernel with bounded size',
    type: 'KPROBE',
    asm: 'r6 = r1\ncall 7\nr2 = r0\nr2 &= 15\nr1 = r10\nr1 += -16\nr3 = 0\ncall 113\nr0 = 0\nexit',
  },
  {
    name: 'helper: probe_read_kernel with unbounded size',
    type: 'KPROBE',
    asm: 'r6 = r1\ncall 7\nr2 = r0\nr1 = r10\nr1 += -16\nr3 = 0\ncall 113\nr0 = 0\nexit',
  },
  {
    name: 'helper: probe_read_kernel size may be zero',
    type: 'KPROBE',
    asm: 'call 7\nr2 = r0\nr2 &= 16\nr1 = r10\nr1 += -16\nr3 = 0\ncall 113\nr0 = 0\nexit',
  },
  {
    name: 'helper: skb_load_bytes into the stack',
    type: 'SCHED_CLS',
    asm: 'r2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\ncall 26\nr0 = *(u64 *)(r10 - 8)\nr0 = 0\nexit',
  },
  {
    name: 'helper: skb_load_bytes in xdp',
    type: 'XDP',
    asm: 'r2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\ncall 26\nr0 = 2\nexit',
  },
  {
    name: 'helper: trace_printk with a string on the stack',
    type: 'TRACEPOINT',
    asm: 'r1 = 0x216968 ll\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\ncall 6\nr0 = 0\nexit',
  },
  {
    name: 'helper: trace_printk with an uninitialised string (bpf)',
    type: 'SCHED_CLS',
    asm: 'r1 = r10\nr1 += -8\nr2 = 8\ncall 6\nr0 = 0\nexit',
    caps: 'bpf',
  },
  {
    name: 'helper: perf_event_output from tc',
    type: 'SCHED_CLS',
    asm: '*(u64 *)(r10 - 8) = 0\nr2 = map[idx:0]\nr3 = 0xffffffff ll\nr4 = r10\nr4 += -8\nr5 = 8\ncall 25\nr0 = 0\nexit',
    maps: [PERF],
  },
  {
    name: 'helper: perf_event_output with a hash map',
    type: 'SCHED_CLS',
    asm: '*(u64 *)(r10 - 8) = 0\nr2 = map[idx:0]\nr3 = 0xffffffff ll\nr4 = r10\nr4 += -8\nr5 = 8\ncall 25\nr0 = 0\nexit',
    maps: [HASH8],
  },
  {
    name: 'helper: ktime_get_ns (unpriv)',
    type: 'SOCKET_FILTER',
    asm: 'call 5\nr0 = 0\nexit',
    caps: 'unpriv',
  },
  {
    name: 'helper: get_socket_cookie (unpriv)',
    type: 'SOCKET_FILTER',
    asm: 'call 46\nr0 = 0\nexit',
    caps: 'unpriv',
  },
  {
    name: 'helper: trace_printk (unpriv)',
    type: 'SOCKET_FILTER',
    asm: 'r1 = r10\nr1 += -8\n*(u64 *)(r10 - 8) = 0\nr2 = 8\ncall 6\nr0 = 0\nexit',
    caps: 'unpriv',
  },
  // --- Reference tracking: ring buffers and sockets -------------------------------------------
  {
    name: 'ref: ringbuf reserve, check, submit',
    type: 'XDP',
    asm: 'r1 = map[idx:0]\nr2 = 16\nr3 = 0\ncall 131\nif r0 == 0 goto out\n*(u64 *)(r0 + 8) = 1\nr1 = r0\nr2 = 0\ncall 132\nout:\nr0 = 2\nexit',
    maps: [RINGBUF],
  },
  {
    name: 'ref: ringbuf reserve leaked',
    type: 'XDP',
    asm: 'r1 = map[idx:0]\nr2 = 16\nr3 = 0\ncall 131\nif r0 == 0 goto out\n*(u64 *)(r0 + 8) = 1\nout:\nr0 = 2\nexit',
    maps: [RINGBUF],
  },
  {
    name: 'ref: ringbuf write past the reservation',
    type: 'XDP',
    asm: 'r1 = map[idx:0]\nr2 = 16\nr3 = 0\ncall 131\nif r0 == 0 goto out\n*(u64 *)(r0 + 12) = 1\nr1 = r0\nr2 = 0\ncall 133\nout:\nr0 = 2\nexit',
    maps: [RINGBUF],
  },
  {
    name: 'ref: ringbuf submit without null check',
    type: 'XDP',
    asm: 'r1 = map[idx:0]\nr2 = 16\nr3 = 0\ncall 131\nr1 = r0\nr2 = 0\ncall 132\nr0 = 2\nexit',
    maps: [RINGBUF],
  },
  {
    name: 'ref: ringbuf submit twice',
    type: 'XDP',
    asm: 'r1 = map[idx:0]\nr2 = 16\nr3 = 0\ncall 131\nif r0 == 0 goto out\nr6 = r0\nr1 = r6\nr2 = 0\ncall 132\nr1 = r6\nr2 = 0\ncall 132\nout:\nr0 = 2\nexit',
    maps: [RINGBUF],
  },
  {
    name: 'ref: ringbuf use after submit',
    type: 'XDP',
    asm: 'r1 = map[idx:0]\nr2 = 16\nr3 = 0\ncall 131\nif r0 == 0 goto out\nr6 = r0\nr1 = r6\nr2 = 0\ncall 132\nr0 = *(u64 *)(r6 + 0)\nout:\nr0 = 2\nexit',
    maps: [RINGBUF],
  },
  {
    name: 'ref: ringbuf variable size',
    type: 'XDP',
    asm: 'call 7\nr2 = r0\nr2 &= 63\nr1 = map[idx:0]\nr3 = 0\ncall 131\nif r0 == 0 goto out\nr1 = r0\nr2 = 0\ncall 133\nout:\nr0 = 2\nexit',
    maps: [RINGBUF],
  },
  {
    name: 'ref: ringbuf released on one branch only',
    type: 'XDP',
    asm: 'r1 = map[idx:0]\nr2 = 16\nr3 = 0\ncall 131\nif r0 == 0 goto out\nr6 = r0\ncall 7\nif r0 > 5 goto out\nr1 = r6\nr2 = 0\ncall 132\nout:\nr0 = 2\nexit',
    maps: [RINGBUF],
  },
  {
    name: 'ref: ringbuf_output from the stack',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 8) = 0\nr1 = map[idx:0]\nr2 = r10\nr2 += -8\nr3 = 8\nr4 = 0\ncall 130\nr0 = 2\nexit',
    maps: [RINGBUF],
  },
  {
    name: 'ref: ringbuf reserve with a hash map',
    type: 'XDP',
    asm: 'r1 = map[idx:0]\nr2 = 16\nr3 = 0\ncall 131\nr0 = 2\nexit',
    maps: [HASH8],
  },
  {
    name: 'ref: socket lookup released',
    type: 'SCHED_CLS',
    asm: '*(u64 *)(r10 - 8) = 0\n*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 24) = 0\n*(u64 *)(r10 - 32) = 0\n*(u64 *)(r10 - 40) = 0\nr2 = r10\nr2 += -40\nr3 = 12\nr4 = 0\nr5 = 0\ncall 84\nif r0 == 0 goto out\nr1 = r0\ncall 86\nout:\nr0 = 0\nexit',
  },
  {
    name: 'ref: socket lookup leaked',
    type: 'SCHED_CLS',
    asm: '*(u64 *)(r10 - 8) = 0\n*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 24) = 0\n*(u64 *)(r10 - 32) = 0\n*(u64 *)(r10 - 40) = 0\nr2 = r10\nr2 += -40\nr3 = 12\nr4 = 0\nr5 = 0\ncall 84\nr0 = 0\nexit',
  },
  {
    name: 'ref: release a null socket',
    type: 'SCHED_CLS',
    asm: '*(u64 *)(r10 - 8) = 0\n*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 24) = 0\n*(u64 *)(r10 - 32) = 0\n*(u64 *)(r10 - 40) = 0\nr2 = r10\nr2 += -40\nr3 = 12\nr4 = 0\nr5 = 0\ncall 84\nr1 = r0\ncall 86\nr0 = 0\nexit',
  },
  // --- Tail calls ------------------------------------------------------------------------------
  {
    name: 'tail: tail call',
    type: 'XDP',
    asm: 'r2 = map[idx:0]\nr3 = 1\ncall 12\nr0 = 2\nexit',
    maps: [PROGS],
  },
  {
    name: 'tail: tail call with a hash map',
    type: 'XDP',
    asm: 'r2 = map[idx:0]\nr3 = 1\ncall 12\nr0 = 2\nexit',
    maps: [HASH8],
  },
  {
    name: 'tail: tail call with fp as ctx',
    type: 'XDP',
    asm: 'r1 = r10\nr2 = map[idx:0]\nr3 = 1\ncall 12\nr0 = 2\nexit',
    maps: [PROGS],
  },
  {
    name: 'tail: tail call index unknown',
    type: 'XDP',
    asm: 'r6 = r1\ncall 7\nr3 = r0\nr1 = r6\nr2 = map[idx:0]\ncall 12\nr0 = 2\nexit',
    maps: [PROGS],
  },
  {
    name: 'tail: tail call (unpriv)',
    type: 'SOCKET_FILTER',
    asm: 'r2 = map[idx:0]\nr3 = 0\ncall 12\nr0 = 0\nexit',
    maps: [PROGS],
    caps: 'unpriv',
  },
  // --- Loops -----------------------------------------------------------------------------------
  {
    name: 'loop: bounded 10',
    type: 'XDP',
    asm: 'r1 = 0\nloop:\nr1 += 1\nif r1 < 10 goto loop\nr0 = 2\nexit',
  },
  {
    name: 'loop: bounded 10 with accumulator',
    type: 'XDP',
    asm: 'r1 = 0\nr2 = 0\nloop:\nr2 += r1\nr1 += 1\nif r1 < 10 goto loop\nr0 = 2\nexit',
  },
  {
    name: 'loop: bounded 10 (bpf)',
    type: 'XDP',
    asm: 'r1 = 0\nloop:\nr1 += 1\nif r1 < 10 goto loop\nr0 = 2\nexit',
    caps: 'bpf',
  },
  {
    name: 'loop: bounded 10 (unpriv)',
    type: 'SOCKET_FILTER',
    asm: 'r1 = 0\nloop:\nr1 += 1\nif r1 < 10 goto loop\nr0 = 0\nexit',
    caps: 'unpriv',
  },
  { name: 'loop: infinite', type: 'XDP', asm: 'loop:\ngoto loop' },
  {
    name: 'loop: infinite with a constant register',
    type: 'XDP',
    asm: 'r1 = 0\nloop:\nif r1 == 0 goto loop\nr0 = 2\nexit',
  },
  {
    name: 'loop: counter never changes',
    type: 'XDP',
    asm: 'r1 = 5\nloop:\nr1 += 0\nif r1 < 10 goto loop\nr0 = 2\nexit',
  },
  {
    name: 'loop: bounded by a masked scalar',
    type: 'XDP',
    asm: 'call 7\nr0 &= 15\nr1 = 0\nloop:\nr1 += 1\nif r1 < r0 goto loop\nr0 = 2\nexit',
  },
  {
    name: 'loop: unbounded by an unknown scalar',
    type: 'XDP',
    asm: 'call 7\nr1 = 0\nloop:\nr1 += 1\nif r1 < r0 goto loop\nr0 = 2\nexit',
  },
  {
    name: 'loop: 100000 iterations',
    type: 'XDP',
    asm: 'r1 = 0\nloop:\nr1 += 1\nif r1 < 100000 goto loop\nr0 = 2\nexit',
  },
  {
    name: 'loop: counting down',
    type: 'XDP',
    asm: 'r1 = 16\nloop:\nr1 -= 1\nif r1 != 0 goto loop\nr0 = 2\nexit',
  },
  {
    name: 'loop: counting down past zero',
    type: 'XDP',
    asm: 'r1 = 15\nloop:\nr1 -= 2\nif r1 != 0 goto loop\nr0 = 2\nexit',
  },
  {
    name: 'loop: bpf_loop callback without BTF func_info',
    type: 'XDP',
    asm: 'r1 = 8\nr2 = 0x0 ll\nr3 = 0\nr4 = 0\ncall 181\nr0 = 2\nexit\ncb:\nr0 = 0\nexit',
  },
  // --- bpf-to-bpf calls ------------------------------------------------------------------------
  { name: 'call: simple subprogram', type: 'XDP', asm: 'call f\nr0 = 2\nexit\nf:\nr0 = 1\nexit' },
  { name: 'call: subprogram does not set r0', type: 'XDP', asm: 'call f\nexit\nf:\nexit' },
  {
    name: 'call: caller uses r1 after the call',
    type: 'XDP',
    asm: 'r1 = 1\ncall f\nr0 = r1\nexit\nf:\nr0 = 2\nexit',
  },
  {
    name: 'call: callee reads caller r6',
    type: 'XDP',
    asm: 'r6 = 1\ncall f\nr0 = 2\nexit\nf:\nr0 = r6\nexit',
  },
  {
    name: 'call: pass a stack pointer',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 8) = 3\nr1 = r10\nr1 += -8\ncall f\nr0 = 2\nexit\nf:\nr0 = *(u64 *)(r1 + 0)\nexit',
  },
  {
    name: 'call: callee reads past the pointer',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 8) = 3\nr1 = r10\nr1 += -8\ncall f\nr0 = 2\nexit\nf:\nr0 = *(u64 *)(r1 + 8)\nexit',
  },
  { name: 'call: recursion', type: 'XDP', asm: 'call f\nr0 = 2\nexit\nf:\ncall f\nr0 = 0\nexit' },
  {
    name: 'call: 8 frames',
    type: 'XDP',
    asm: 'call f1\nr0 = 2\nexit\nf1:\ncall f2\nexit\nf2:\ncall f3\nexit\nf3:\ncall f4\nexit\nf4:\ncall f5\nexit\nf5:\ncall f6\nexit\nf6:\ncall f7\nexit\nf7:\nr0 = 0\nexit',
  },
  {
    name: 'call: 9 frames',
    type: 'XDP',
    asm: 'call f1\nr0 = 2\nexit\nf1:\ncall f2\nexit\nf2:\ncall f3\nexit\nf3:\ncall f4\nexit\nf4:\ncall f5\nexit\nf5:\ncall f6\nexit\nf6:\ncall f7\nexit\nf7:\ncall f8\nexit\nf8:\nr0 = 0\nexit',
  },
  {
    name: 'call: combined stack over 512',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 256) = 0\ncall f\nr0 = 2\nexit\nf:\n*(u64 *)(r10 - 264) = 0\nr0 = 0\nexit',
  },
  {
    name: 'call: combined stack exactly 512',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 256) = 0\ncall f\nr0 = 2\nexit\nf:\n*(u64 *)(r10 - 256) = 0\nr0 = 0\nexit',
  },
  {
    name: 'call: subprogram returns a bounded value',
    type: 'XDP',
    asm: `r6 = r1\ncall f\nr7 = r0\n${LOOKUP.replace('u64', 'u32').replace('r10 - 8', 'r10 - 4').replace('-8', '-4')}\nif r0 == 0 goto out\nr0 += r7\nr0 = *(u8 *)(r0 + 0)\nout:\nr0 = 2\nexit\nf:\ncall 7\nr0 &= 47\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'call: subprogram (unpriv)',
    type: 'SOCKET_FILTER',
    asm: 'call f\nr0 = 0\nexit\nf:\nr0 = 1\nexit',
    caps: 'unpriv',
  },
  {
    name: 'call: jump from main into a subprogram',
    type: 'XDP',
    asm: 'call f\nif r0 == 0 goto f\nr0 = 2\nexit\nf:\nr0 = 1\nexit',
  },
  // --- 32-bit subregisters, jmp32 -------------------------------------------------------------
  { name: 'alu32: mov32 zero-extends', type: 'XDP', asm: 'r0 = -1\nw0 = w0\nr0 >>= 32\nexit' },
  { name: 'alu32: jmp32 bounds', type: 'XDP', asm: 'call 7\nif w0 > 4 goto out\nexit\nout:\nr0 = 2\nexit' },
  {
    name: 'alu32: jmp32 bounds leave the high half (cgroup)',
    type: 'CGROUP_SKB',
    asm: 'call 7\nr0 <<= 32\nr0 |= 1\nif w0 > 1 goto out\nexit\nout:\nr0 = 1\nexit',
  },
  { name: 'alu32: w0 = 1 returns 1 (cgroup)', type: 'CGROUP_SKB', asm: 'w0 = 1\nexit' },
  { name: 'alu32: 32-bit add wraps (cgroup)', type: 'CGROUP_SKB', asm: 'w0 = -1\nw0 += 2\nexit' },
  {
    name: 'alu32: 64-bit add does not wrap (cgroup)',
    type: 'CGROUP_SKB',
    asm: 'r0 = 0xffffffff ll\nr0 += 2\nexit',
  },
  // --- Atomics ---------------------------------------------------------------------------------
  {
    name: 'atomic: add to stack',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 8) = 0\nr1 = 1\nlock *(u64 *)(r10 - 8) += r1\nr0 = 2\nexit',
  },
  {
    name: 'atomic: add to uninitialised stack',
    type: 'XDP',
    asm: 'r1 = 1\nlock *(u64 *)(r10 - 8) += r1\nr0 = 2\nexit',
  },
  {
    name: 'atomic: fetch_add result',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 8) = 0\nr1 = 1\nr1 = atomic_fetch_add((u64 *)(r10 - 8), r1)\nr0 = r1\nr0 = 2\nexit',
  },
  {
    name: 'atomic: cmpxchg with r0 uninitialised',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 8) = 0\nr1 = 1\nr0 = cmpxchg_64(r10 - 8, r0, r1)\nr0 = 2\nexit',
  },
  {
    name: 'atomic: cmpxchg',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 8) = 0\nr1 = 1\nr0 = 0\nr0 = cmpxchg_64(r10 - 8, r0, r1)\nr0 = 2\nexit',
  },
  {
    name: 'atomic: add of a pointer to the stack',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 8) = 0\nlock *(u64 *)(r10 - 8) += r10\nr0 = 2\nexit',
  },
  {
    name: 'atomic: misaligned add',
    type: 'XDP',
    asm: '*(u64 *)(r10 - 8) = 0\nr1 = 1\nlock *(u32 *)(r10 - 6) += r1\nr0 = 2\nexit',
  },
  {
    name: 'atomic: add to a map value',
    type: 'XDP',
    asm: `${LOOKUP}\nif r0 == 0 goto out\nr1 = 1\nlock *(u64 *)(r0 + 8) += r1\nout:\nr0 = 2\nexit`,
    maps: [HASH8],
  },
  {
    name: 'atomic: add to a packet',
    type: 'XDP',
    asm: `${xdpPkt(8)}\nr1 = 1\nlock *(u32 *)(r2 + 0) += r1\nout:\nr0 = 2\nexit`,
  },
  // --- Bounds deduction: and/or, mixed signed and unsigned, div overflow, wraparound ----------
  {
    name: 'bounds: and with a negative mask keeps it unbounded',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + 0)\nr1 &= -8\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: or with a constant after a bound',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr1 &= 15\nr1 |= 16\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: or pushes past the value',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr1 &= 15\nr1 |= 32\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: unsigned upper then signed lower',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + 0)\nif r1 > 32 goto out\nif r1 s< 0 goto out\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: signed upper against a negative-capable value',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + 0)\nif r1 s> 32 goto out\nr2 = 0\nif r1 s< r2 goto out\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: bound by a register compare',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr2 = 40\nif r1 > r2 goto out\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: subtract makes the minimum negative',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr1 &= 15\nr1 -= 8\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: subtract then add back in range',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr1 &= 15\nr1 -= 8\nr0 += 8\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: multiply keeps the range',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr1 &= 7\nr1 *= 5\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: multiply past the value',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr1 &= 7\nr1 *= 6\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: arithmetic right shift of a negative',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr1 <<= 32\nr1 s>>= 59\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: byte swap forgets the bounds',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = *(u32 *)(r0 + 0)\nr1 &= 15\nr1 = be16 r1\nr0 += r1\nr0 = *(u8 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: constant folded through xor',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = 44\nr1 ^= 4\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: constant folded one past',
    type: 'XDP',
    asm: `${ALOOKUP}\nif r0 == 0 goto out\nr1 = 40\nr1 |= 1\nr0 += r1\nr0 = *(u64 *)(r0 + 0)\nout:\nr0 = 2\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'bounds: branch on an impossible value is not explored',
    type: 'XDP',
    asm: 'call 7\nr0 &= 7\nif r0 > 10 goto bad\nr0 = 2\nexit\nbad:\nr0 = *(u64 *)(r10 - 600)\nexit',
  },
  {
    name: 'bounds: dead branch after a constant compare',
    type: 'XDP',
    asm: 'r1 = 5\nif r1 == 6 goto bad\nr0 = 2\nexit\nbad:\nr0 = r9\nexit',
  },
  {
    name: 'div: INT_MIN / -1 (signed)',
    type: 'SOCKET_FILTER',
    asm: 'r0 = 0x8000000000000000 ll\nr1 = -1\nr0 s/= r1\nr0 = 0\nexit',
  },
  {
    name: 'div: 32-bit modulo by a register',
    type: 'SOCKET_FILTER',
    asm: 'call 7\nw1 = w0\nw0 = 100\nw0 %= w1\nexit',
  },
  { name: 'div: modulo bounds the result', type: 'CGROUP_SKB', asm: 'call 7\nr0 %= 2\nexit' },
  { name: 'div: division by a pointer', type: 'SOCKET_FILTER', asm: 'r0 = 8\nr0 /= r10\nexit' },
  // --- Stack pointer wraparound, helper access of variable length ------------------------------
  {
    name: 'stack: huge offset wraps',
    type: 'SOCKET_FILTER',
    asm: 'r1 = r10\nr1 += 0x7fffffff\nr1 += 0x7fffffff\nr1 += 2\n*(u8 *)(r1 - 1) = 0\nr0 = 0\nexit',
  },
  {
    name: 'stack: fp plus a 32-bit offset',
    type: 'SOCKET_FILTER',
    asm: 'r1 = r10\nr1 += 0x20000000\nr0 = *(u8 *)(r1 + 0)\nexit',
  },
  {
    name: 'helper: variable length into the stack, bounded',
    type: 'TRACEPOINT',
    asm: 'call 7\nr2 = r0\nif r2 > 32 goto out\nr1 = r10\nr1 += -32\nr3 = 0\ncall 113\nout:\nr0 = 0\nexit',
  },
  {
    name: 'helper: variable length into the stack, one too many',
    type: 'TRACEPOINT',
    asm: 'call 7\nr2 = r0\nif r2 > 33 goto out\nr1 = r10\nr1 += -32\nr3 = 0\ncall 113\nout:\nr0 = 0\nexit',
  },
  {
    name: 'helper: variable length from the stack, uninitialised (bpf)',
    type: 'SCHED_CLS',
    asm: 'call 7\nr3 = r0\nr3 &= 31\nr3 += 1\nr1 = map[idx:0]\nr2 = r10\nr2 += -32\nr4 = 0\ncall 130\nr0 = 0\nexit',
    maps: [RINGBUF],
    caps: 'bpf',
  },
  {
    name: 'helper: variable length from the stack, initialised',
    type: 'SCHED_CLS',
    asm: '*(u64 *)(r10 - 32) = 0\n*(u64 *)(r10 - 24) = 0\n*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 7\nr3 = r0\nr3 &= 31\nr3 += 1\nr1 = map[idx:0]\nr2 = r10\nr2 += -32\nr4 = 0\ncall 130\nr0 = 0\nexit',
    maps: [RINGBUF],
  },
  {
    name: 'helper: variable length from a map value',
    type: 'SCHED_CLS',
    asm: `r6 = r1\n${ALOOKUP}\nif r0 == 0 goto out\nr7 = r0\ncall 7\nr4 = r0\nr4 &= 47\nr1 = r6\nr2 = 0\nr3 = r7\ncall 26\nout:\nr0 = 0\nexit`,
    maps: [ARRAY48],
  },
  {
    name: 'helper: variable length from a map value, past the end',
    type: 'SCHED_CLS',
    asm: `r6 = r1\n${ALOOKUP}\nif r0 == 0 goto out\nr7 = r0\ncall 7\nr4 = r0\nr4 &= 63\nr1 = r6\nr2 = 0\nr3 = r7\ncall 26\nout:\nr0 = 0\nexit`,
    maps: [ARRAY48],
  },
  // --- Direct map value access (lddw MAP_IDX_VALUE) --------------------------------------------
  {
    name: 'mapval: direct value read, 4 entries',
    type: 'XDP',
    asm: 'r1 = map[idx:0]+8\nr0 = *(u64 *)(r1 + 0)\nr0 = 2\nexit',
    maps: [ARRAY48],
  },
  {
    name: 'mapval: direct value read',
    type: 'XDP',
    asm: 'r1 = map[idx:0]+8\nr0 = *(u64 *)(r1 + 0)\nr0 = 2\nexit',
    maps: [GLOBAL],
  },
  {
    name: 'mapval: direct value read at the end',
    type: 'XDP',
    asm: 'r1 = map[idx:0]+40\nr0 = *(u64 *)(r1 + 0)\nr0 = 2\nexit',
    maps: [GLOBAL],
  },
  {
    name: 'mapval: direct value read straddling the end',
    type: 'XDP',
    asm: 'r1 = map[idx:0]+44\nr0 = *(u64 *)(r1 + 0)\nr0 = 2\nexit',
    maps: [GLOBAL],
  },
  {
    name: 'mapval: direct value pointer walked past the end',
    type: 'XDP',
    asm: 'r1 = map[idx:0]+40\nr1 += 8\nr0 = *(u8 *)(r1 + 0)\nr0 = 2\nexit',
    maps: [GLOBAL],
  },
  {
    name: 'mapval: direct value offset past the end',
    type: 'XDP',
    asm: 'r1 = map[idx:0]+48\nr0 = 2\nexit',
    maps: [GLOBAL],
  },
  {
    name: 'mapval: direct value of a hash map',
    type: 'XDP',
    asm: 'r1 = map[idx:0]+0\nr0 = 2\nexit',
    maps: [HASH8],
  },
  {
    name: 'mapval: direct value write to a read-only map',
    type: 'XDP',
    asm: 'r1 = map[idx:0]+0\n*(u32 *)(r1 + 0) = 1\nr0 = 2\nexit',
    maps: [RDONLY],
  },
  {
    name: 'mapval: map index out of range',
    type: 'XDP',
    asm: 'r1 = map[idx:1]\nr0 = 2\nexit',
    maps: [ARRAY48],
  },
  // --- CFG --------------------------------------------------------------------------------------
  { name: 'cfg: conditional jump to itself', type: 'XDP', asm: 'r0 = 2\nif r0 == 2 goto +0\nexit' },
  { name: 'cfg: backward jump over exit', type: 'XDP', asm: 'r0 = 2\ngoto +1\nexit\ngoto -2' },
  { name: 'cfg: dead code after an unconditional jump', type: 'XDP', asm: 'r0 = 2\ngoto +1\nr0 = 3\nexit' },
  { name: 'cfg: exit in a subprogram only', type: 'XDP', asm: 'call f\ngoto -2\nf:\nr0 = 0\nexit' },
  // --- Load flags ------------------------------------------------------------------------------
  { name: 'flags: unknown prog flag', type: 'XDP', asm: 'r0 = 2\nexit', flags: 1 << 20 },
  { name: 'flags: sleepable xdp', type: 'XDP', asm: 'r0 = 2\nexit', flags: 1 << 4 },
  { name: 'flags: xdp has frags', type: 'XDP', asm: 'r0 = 2\nexit', flags: 1 << 5 },
  {
    name: 'flags: test state freq',
    type: 'XDP',
    asm: 'r1 = 0\nloop:\nr1 += 1\nif r1 < 10 goto loop\nr0 = 2\nexit',
    flags: 1 << 3,
  },
  { name: 'flags: test rnd hi32', type: 'XDP', asm: 'w0 = 2\nexit', flags: 1 << 2 },
  // --- Capability modes and program types ------------------------------------------------------
  { name: 'caps: xdp (unpriv)', type: 'XDP', asm: 'r0 = 2\nexit', caps: 'unpriv' },
  { name: 'caps: tracepoint (bpf)', type: 'TRACEPOINT', asm: 'r0 = 0\nexit', caps: 'bpf' },
  { name: 'caps: kprobe (root)', type: 'KPROBE', asm: 'r0 = 0\nexit' },
  { name: 'caps: cgroup_skb (unpriv)', type: 'CGROUP_SKB', asm: 'r0 = 1\nexit', caps: 'unpriv' },
  { name: 'caps: sched_cls (bpf)', type: 'SCHED_CLS', asm: 'r0 = 0\nexit', caps: 'bpf' },
  { name: 'caps: sched_cls (unpriv)', type: 'SCHED_CLS', asm: 'r0 = 0\nexit', caps: 'unpriv' },
];

/**
 * `bpf_loop`'s callback is an `lddw` with `BPF_PSEUDO_FUNC` (src 4) whose imm is the callback's
 * offset from the next instruction: written `r2 = 0x0 ll` in the text, patched here to point at
 * the `cb:` label (the last two instructions).
 */
function patchCallback(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const slots = out.length / 8;
  for (let slot = 0; slot < slots; slot++) {
    if (out[slot * 8] !== 0x18) continue;
    out[slot * 8 + 1] = (4 << 4) | (out[slot * 8 + 1] & 0x0f);
    view.setInt32(slot * 8 + 4, slots - 2 - (slot + 1), true);
    break;
  }
  return out;
}

/** The hand-written cases, assembled (without the kernel's verdicts). */
export function kernelStyleCases(): CorpusCase[] {
  return SPECS.map((spec) => {
    const raw = spec.asm.startsWith('hex:');
    let insns = raw ? fromHex(spec.asm.slice(4)) : encode(assemble(spec.asm));
    if (spec.name.includes('bpf_loop callback')) insns = patchCallback(insns);
    return makeCase({
      name: spec.name,
      type: spec.type,
      insns,
      maps: spec.maps ?? [],
      flags: spec.flags ?? 0,
      caps: spec.caps ?? 'root',
      category: spec.name.slice(0, spec.name.indexOf(':')),
      ...(raw ? {} : { asm: spec.asm }),
    });
  });
}
