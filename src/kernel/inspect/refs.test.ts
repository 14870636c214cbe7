// The reference grammar of the inspection commands (pure: no kernel needed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ObjectRefError, parseObjectRef, refText } from './refs.js';

const ALL = ['id', 'name', 'tag', 'pinned'] as const;

test('parseObjectRef: the four bpftool forms and a bare id', () => {
  assert.deepEqual(parseObjectRef(['id', '42'], 'prog', ALL), { by: 'id', id: 42 });
  assert.deepEqual(parseObjectRef(['42'], 'prog', ALL), { by: 'id', id: 42 });
  assert.deepEqual(parseObjectRef(['name', 'xdp_count'], 'prog', ALL), { by: 'name', name: 'xdp_count' });
  assert.deepEqual(parseObjectRef(['tag', '8560F40831CEFBCC'], 'prog', ALL), {
    by: 'tag',
    tag: '8560f40831cefbcc',
  });
  assert.deepEqual(parseObjectRef(['pinned', '/sys/fs/bpf/x'], 'map', ['id', 'pinned']), {
    by: 'pinned',
    path: '/sys/fs/bpf/x',
  });
  // A program literally named "id" is still reachable by name.
  assert.deepEqual(parseObjectRef(['name', 'id'], 'prog', ALL), { by: 'name', name: 'id' });
  assert.equal(refText({ by: 'pinned', path: '/p' }), 'pinned /p');
});

test('parseObjectRef: each malformed reference is an ObjectRefError saying what was expected', () => {
  const cases: Array<[string[], readonly ('id' | 'name' | 'tag' | 'pinned')[], RegExp]> = [
    [[], ALL, /no program given: expected id N \| name NAME \| tag TAG \| pinned PATH/],
    [['id'], ALL, /id: missing N/],
    [['pinned'], ALL, /pinned: missing PATH/],
    [['id', '0'], ALL, /program id: expected a positive integer, got '0'/],
    [['id', '-3'], ALL, /expected a positive integer, got '-3'/],
    [['id', '1e3'], ALL, /expected a positive integer, got '1e3'/],
    [['id', '99999999999999999999'], ALL, /expected a positive integer/],
    [['tag', 'abc'], ALL, /tag: expected 16 hex digits/],
    [
      ['tag', '00112233445566'],
      ['id', 'name', 'pinned'],
      /'tag' does not name a program: expected id N \| name NAME \| pinned PATH/,
    ],
    [['name', 'a', 'b'], ALL, /unexpected 'b' after name a/],
    [['5', '6'], ALL, /unexpected '6' after program 5/],
    [['label', 'x'], ALL, /'label' does not name a program/],
  ];
  for (const [words, allowed, message] of cases) {
    assert.throws(
      () => parseObjectRef(words, 'prog', allowed),
      (error: unknown) => {
        assert.ok(error instanceof ObjectRefError, words.join(' '));
        assert.match(error.message, message, words.join(' '));
        return true;
      },
    );
  }
});
