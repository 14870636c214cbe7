import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeJson } from './json.js';

test('writeJson: compact output is JSON.stringify, 64-bit integers written whole', () => {
  const value = { a: [1, 'x', true, null], b: { c: [] }, d: {} };
  assert.equal(writeJson(value), JSON.stringify(value));
  assert.equal(writeJson({ big: 18446744073709551615n }), '{"big":18446744073709551615}');
  assert.equal(writeJson('"\n'), '"\\"\\n"');
});

test("writeJson pretty: bpftool json_writer's layout (members on lines, scalars in arrays inline)", () => {
  // As `bpftool -jp map dump` prints a per-CPU element.
  const element = [{ key: ['0x00', '0x01'], values: [{ cpu: 0, value: { a: 1 } }], formatted: { key: 0 } }];
  assert.equal(
    writeJson(element, true),
    [
      '[{',
      '        "key": ["0x00","0x01"',
      '        ],',
      '        "values": [{',
      '                "cpu": 0,',
      '                "value": {',
      '                    "a": 1',
      '                }',
      '            }',
      '        ],',
      '        "formatted": {',
      '            "key": 0',
      '        }',
      '    }',
      ']',
    ].join('\n'),
  );
  assert.equal(writeJson({ empty: [], none: {} }, true), '{\n    "empty": [],\n    "none": {}\n}');
});
