/**
 * Our verdicts on every example and test object equal the kernel's (recorded here from `tsbpf load`
 * on Linux 6.18), and so does `insns_processed` where we already agree. The programs whose count
 * still differs are listed with the kernel's number, so a change that fixes one fails loudly until
 * the table is updated.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadObjectSpec } from '../object/object.js';
import { verify } from './index.js';
import { verifierInputOf } from './object.js';

/** file → program → [accepted, kernel error or null, kernel insns_processed, counts agree yet]. */
const KERNEL: Record<string, Record<string, [boolean, string | null, number, boolean]>> = {
  'examples/execsnoop.bpf.o': { trace_execve: [true, null, 51, true] },
  'examples/execve_map.bpf.o': { record_execve: [true, null, 21, true] },
  'examples/globals.bpf.o': { xdp_byte_quota: [true, null, 35, true] },
  'examples/hello.bpf.o': { hello_execve: [true, null, 5, true], hello_clone: [true, null, 5, true] },
  'examples/loop.bpf.o': {
    xdp_csum_bounded: [true, null, 490, true],
    xdp_csum_bpf_loop: [true, null, 195, false],
  },
  'examples/lpm_firewall.bpf.o': { xdp_lpm_firewall: [true, null, 65, true] },
  'examples/socket_filter.bpf.o': { keep_tcp: [true, null, 49, true] },
  'examples/subprog.bpf.o': {
    xdp_pass_counted: [true, null, 55, true],
    xdp_drop_non_ip: [true, null, 69, true],
  },
  'examples/tail_call.bpf.o': {
    handle_icmp: [true, null, 18, true],
    handle_tcp: [true, null, 18, true],
    handle_udp: [true, null, 18, true],
    audit: [true, null, 12, true],
    dispatch: [true, null, 43, true],
  },
  'examples/tc_classifier.bpf.o': { classify: [true, null, 74, true] },
  'examples/xdp_count.bpf.o': { xdp_count_protocols: [true, null, 144, true] },
  'testdata/kernel/broken.bpf.o': {
    xdp_ok: [true, null, 13, true],
    xdp_unchecked: [false, 'R1 offset is outside of the packet', 2, true],
  },
};

const root = new URL('../../', import.meta.url).pathname;

describe('verifier: example objects, as Linux 6.18 answers', () => {
  for (const [file, programs] of Object.entries(KERNEL)) {
    const spec = loadObjectSpec(new Uint8Array(readFileSync(root + file)));
    for (const [name, [accepted, error, processed, countAgrees]] of Object.entries(programs)) {
      it(`${file} ${name}`, () => {
        const program = spec.programs.find((p) => p.name === name);
        assert.ok(program, `${name} in ${file}`);
        const input = verifierInputOf(spec, program);
        assert.ok(input);
        const r = verify(input);
        assert.equal(r.accepted, accepted);
        assert.equal(r.error?.message ?? null, error);
        if (countAgrees) assert.equal(r.insnsProcessed, processed);
        else assert.notEqual(r.insnsProcessed, processed, 'now agrees with the kernel: mark it so');
      });
    }
  }
});
