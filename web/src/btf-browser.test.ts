import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadObjectSpec } from '../../src/index.js';
import { btfTypeDetail, btfTypeName, btfTypeRows } from './btf-browser.js';

const btfOf = (example: string) => {
  const bytes = readFileSync(new URL(`../../examples/${example}.bpf.o`, import.meta.url));
  const btf = loadObjectSpec(new Uint8Array(bytes)).btf;
  assert.ok(btf, `${example} has BTF`);
  return btf;
};

describe('BTF browser', () => {
  it('lists every type, and filters by name or kind', () => {
    const btf = btfOf('globals');
    const all = btfTypeRows(btf);
    assert.equal(all.length, btf.typeCount - 1); // all but void (id 0)
    assert.deepEqual(
      btfTypeRows(btf, 'DATASEC').map((r) => r.name),
      ['.bss', '.data', '.data.stats', '.rodata', 'license'],
    );
    assert.deepEqual(btfTypeRows(btf, 'sample_st'), [
      { id: 22, kind: 'struct', name: 'sample_stats', size: 24 },
    ]);
  });

  it('details a struct: members with offsets, sizes and their types', () => {
    const btf = btfOf('xdp_count');
    const [row] = btfTypeRows(btf, 'proto_stat').filter((r) => r.kind === 'struct');
    const detail = btfTypeDetail(btf, row.id);
    assert.equal(detail.heading, `[${row.id}] struct proto_stat — 16 bytes`);
    assert.deepEqual(
      detail.lines.map((l) => `${l.typeText} ${l.label}: ${l.note}`),
      ['__u64 packets: offset 0, 8 bytes', '__u64 bytes: offset 8, 8 bytes'],
    );
    assert.equal(btfTypeName(btf, detail.lines[0].typeId!), '__u64');
  });

  it('details a data section: its variables by C type', () => {
    const btf = btfOf('globals');
    const [rodata] = btfTypeRows(btf, '.rodata');
    assert.deepEqual(
      btfTypeDetail(btf, rodata.id).lines.map((l) => `${l.typeText} ${l.label} @${l.note}`),
      [
        'const volatile __u32 sample_every @offset 0, 4 bytes',
        'const volatile __u32 enforce @offset 4, 4 bytes',
        'const char[14] program_name @offset 8, 14 bytes',
      ],
    );
  });

  it('names pointers and function prototypes', () => {
    const btf = btfOf('globals');
    const proto = btfTypeRows(btf, 'func_proto')[0];
    assert.equal(btfTypeName(btf, proto.id), 'int (*)(struct xdp_md *)');
  });
});
