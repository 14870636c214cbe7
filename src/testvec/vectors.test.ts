import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseVectors, VectorError } from './vectors.js';

test('parses object and raw cases with maps and expectations', () => {
  const cases = parseVectors(
    [
      '# comment',
      '{"name":"obj","program":"../examples/xdp_count.bpf.o:xdp_count_protocols","data":"00 11","repeat":3,"expect":{"retval":2,"maps":[[0,"06000000","01"]]}}',
      '',
      '{"insns_hex":"b700000002000000 9500000000000000","type":"xdp","maps":[{"type":"hash","key_size":4,"value_size":8,"max_entries":16,"entries":[["01000000","0200000000000000"]]}],"expect":{"retval":2,"data_out":"abcd"}}',
    ].join('\n'),
  );
  assert.equal(cases.length, 2);
  assert.deepEqual(cases[0].program, { path: '../examples/xdp_count.bpf.o', name: 'xdp_count_protocols' });
  assert.deepEqual([...(cases[0].run.data ?? [])], [0x00, 0x11]);
  assert.equal(cases[0].run.repeat, 3);
  assert.equal(cases[0].expect.maps?.[0][0], 0);
  assert.equal(cases[1].name, 'line 4');
  assert.equal(cases[1].type, 'XDP');
  assert.equal(cases[1].insns?.length, 16);
  assert.equal(cases[1].maps[0].spec.type, 'HASH');
  assert.deepEqual([...cases[1].maps[0].entries[0][1]], [2, 0, 0, 0, 0, 0, 0, 0]);
});

test('bad cases are VectorErrors with the line', () => {
  const bad: ReadonlyArray<readonly [string, RegExp]> = [
    ['{not json', /line 1: not JSON/],
    ['{"name":"x"}', /needs "program" or "insns_hex"/],
    ['{"insns_hex":"b7000000"}', /whole number of 8-byte instructions/],
    ['{"insns_hex":"9500000000000000"}', /needs "type"/],
    ['{"insns_hex":"9500000000000000","type":"nope"}', /unknown program type 'nope'/],
    ['{"insns_hex":"9500000000000000","type":"xdp","data":"zz"}', /"data" is not hex/],
    [
      '{"insns_hex":"9500000000000000","type":"xdp","maps":[{"type":"hash","key_size":-1}]}',
      /key_size must be a non-negative integer/,
    ],
    // Shapes the fuzzer found (fuzz/ target `vectors`): wrong JSON types where objects, arrays
    // or strings belong name the field instead of throwing a TypeError.
    ['{"insns_hex":"9500000000000000","type":"xdp","maps":[null]}', /maps\[0\] must be a JSON object/],
    ['{"insns_hex":"9500000000000000","type":"xdp","maps":{}}', /"maps" must be an array/],
    [
      '{"insns_hex":"9500000000000000","type":"xdp","maps":[{"type":7}]}',
      /maps\[0\]\.type must be a map type name/,
    ],
    [
      '{"insns_hex":"9500000000000000","type":"xdp","maps":[{"type":"hash","key_size":4,"value_size":4,"max_entries":1,"entries":[null]}]}',
      /maps\[0\]\.entries\[0\] must be an array/,
    ],
    ['{"insns_hex":"9500000000000000","type":3}', /"type" must be a program type name/],
    ['{"insns_hex":"9500000000000000","type":"constructor"}', /unknown program type 'constructor'/],
    ['{"program":"a.o","expect":"x"}', /"expect" must be a JSON object/],
    ['{"program":"a.o","expect":null}', /"expect" must be a JSON object/],
    ['{"program":"a.o","expect":{"maps":[null]}}', /expect\.maps\[0\] must be an array/],
    ['{"program":"a.o","expect":{"maps":[[0,"00"]]}}', /expect\.maps\[0\] must have 3 items/],
    ['{"program":"a.o","expect":{"maps":7}}', /expect\.maps must be an array/],
  ];
  for (const [text, message] of bad) {
    assert.throws(
      () => parseVectors(text),
      (e: unknown) => e instanceof VectorError && e.line === 1 && message.test(e.message),
      text,
    );
  }
});
