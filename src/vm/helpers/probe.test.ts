/** probe_read*, get_stack, spin locks: kernel behaviour measured on Linux 6.18. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Errno } from '../../errno.js';
import { probeHelpers, VmAddressSpace } from './probe.js';
import { stackHelpers } from './stack.js';
import { lockHelpers, SpinLockError } from './sync.js';
import { bareEnv, call, cstr, helperVm, neg } from './test-util.js';

const { EFAULT, ERANGE, EINVAL } = Errno;

function setup() {
  const env = bareEnv();
  const space = new VmAddressSpace();
  const helpers = probeHelpers(space);
  const dst = env.memory.alloc(16, { name: 'dst' });
  const hello = env.memory.allocCopy(cstr('hello'), { name: 'hello' });
  const user = env.memory.allocCopy(cstr('user!'), { name: 'user' });
  space.addUserRegion(user);
  const fill = () => env.memory.bytes.fill(0xaa, dst.start, dst.end);
  const bytes = () => [...env.memory.read(dst.start, 16)];
  const probe = (name: string, size: number, from: bigint) => {
    fill();
    return call(helpers, env, name, BigInt(dst.start), BigInt(size), from);
  };
  return { probe, bytes, hello: BigInt(hello.start), user: BigInt(user.start), env };
}

const A = 0xaa;

describe('probe reads (kernel table)', () => {
  test('kernel read of NULL: -ERANGE and dst zeroed (also for size 0)', () => {
    const { probe, bytes } = setup();
    assert.equal(probe('probe_read_kernel', 8, 0n), neg(ERANGE));
    assert.deepEqual(bytes().slice(0, 9), [0, 0, 0, 0, 0, 0, 0, 0, A]);
    assert.equal(probe('probe_read_kernel', 0, 0n), neg(ERANGE));
    assert.equal(probe('probe_read_kernel_str', 8, 0n), neg(ERANGE));
    assert.deepEqual(bytes().slice(0, 9), [0, 0, 0, 0, 0, 0, 0, 0, A]);
  });

  test('kernel str: length with NUL, no padding after it, truncation keeps a NUL', () => {
    const { probe, bytes, hello } = setup();
    assert.equal(probe('probe_read_kernel_str', 16, hello), 6n);
    assert.deepEqual(bytes(), [104, 101, 108, 108, 111, 0, A, A, A, A, A, A, A, A, A, A]);
    assert.equal(probe('probe_read_kernel_str', 4, hello), 4n);
    assert.deepEqual(bytes().slice(0, 5), [104, 101, 108, 0, A]);
    assert.equal(probe('probe_read_kernel_str', 6, hello), 6n);
    assert.equal(probe('probe_read_kernel_str', 0, hello), 0n);
  });

  test('unmapped kernel memory is -EFAULT; so is a string running into it', () => {
    const { probe, bytes, env } = setup();
    const end = env.memory.regions.at(-1)!.end;
    assert.equal(probe('probe_read_kernel', 8, BigInt(end + 0x10000)), neg(EFAULT));
    assert.deepEqual(bytes().slice(0, 8), [0, 0, 0, 0, 0, 0, 0, 0]);
    const tail = env.memory.allocCopy(new Uint8Array([0x41, 0x42]), { name: 'unterminated' });
    // The next region may follow directly: only guarantee a fault when nothing is mapped after it.
    if (!env.memory.find(tail.end, 1))
      assert.equal(probe('probe_read_kernel_str', 8, BigInt(tail.start)), neg(EFAULT));
  });

  test('user reads reach only user memory; kernel reads of user memory are -ERANGE', () => {
    const { probe, bytes, hello, user } = setup();
    assert.equal(probe('probe_read_user', 8, hello), neg(EFAULT));
    assert.equal(probe('probe_read_user_str', 8, hello), neg(EFAULT));
    assert.deepEqual(bytes().slice(0, 8), [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(probe('probe_read_user_str', 16, user), 6n);
    assert.equal(probe('probe_read_kernel', 4, user), neg(ERANGE));
    assert.equal(probe('probe_read_user', 0, 0n), 0n);
  });

  test('probe_read and probe_read_str pick the half by address, as on x86-64', () => {
    const { probe, hello, user } = setup();
    assert.equal(probe('probe_read', 6, hello), 0n);
    assert.equal(probe('probe_read', 8, hello), neg(EFAULT), 'past the end of its region');
    assert.equal(probe('probe_read_str', 8, hello), 6n);
    assert.equal(probe('probe_read_str', 8, user), 6n);
    assert.equal(probe('probe_read', 8, 0n), neg(EFAULT), 'NULL is a user address: -EFAULT, not -ERANGE');
  });

  test('through a program: read a stack string with probe_read_kernel_str', () => {
    const { run } = helperVm();
    const r0 = run(`
      r1 = 0x6f6c6c6568 ll
      *(u64 *)(r10 - 8) = r1
      r1 = r10
      r1 += -24
      r2 = 16
      r3 = r10
      r3 += -8
      call 115
      exit`);
    assert.equal(r0, 6n);
  });
});

describe('get_stack / get_task_stack (kernel table)', () => {
  const env = bareEnv();
  const buf = env.memory.alloc(64, { name: 'buf' });
  const empty = stackHelpers();
  const frames = stackHelpers({
    kernelStack: () => [0xffffffff81000000n, 0xffffffff81000010n, 0xffffffff81000020n],
  });
  const rows: Array<[string, number, number, bigint]> = [
    ['empty stack, size 32', 32, 0, 0n],
    ['size 0', 0, 0, 0n],
    ['size not a multiple of 8', 12, 0, neg(EINVAL)],
    ['unknown flag', 32, 1 << 12, neg(EINVAL)],
    ['build id without user stack', 32, 1 << 11, neg(EINVAL)],
    ['user + build id, size not a multiple of 32', 24, 256 | (1 << 11), neg(EINVAL)],
    ['empty stack, skip 1', 32, 1, neg(EFAULT)],
    ['empty user stack', 32, 256, 0n],
  ];
  for (const [name, size, flags, expected] of rows) {
    test(name, () => {
      env.memory.bytes.fill(0xaa, buf.start, buf.end);
      assert.equal(
        call(empty, env, 'get_stack', 0n, BigInt(buf.start), BigInt(size), BigInt(flags)),
        expected,
      );
      assert.ok(
        env.memory.read(buf.start, size).every((b) => b === 0),
        'buffer zeroed',
      );
    });
  }

  test('frames are copied after skip; the rest is zeroed; r0 is bytes copied', () => {
    env.memory.bytes.fill(0xaa, buf.start, buf.end);
    assert.equal(call(frames, env, 'get_task_stack', 0n, BigInt(buf.start), 32n, 1n), 16n);
    assert.equal(env.memory.view.getBigUint64(buf.start, true), 0xffffffff81000010n);
    assert.equal(env.memory.view.getBigUint64(buf.start + 16, true), 0n);
    assert.equal(call(frames, env, 'get_stack', 0n, BigInt(buf.start), 32n, 255n), neg(EFAULT));
    assert.equal(call(frames, env, 'get_func_ip', 0n), 0n);
  });
});

describe('spin locks', () => {
  test('lock and unlock toggle the word; double lock and stray unlock stop the program', () => {
    const env = bareEnv();
    const word = env.memory.alloc(8, { name: 'value' });
    const helpers = lockHelpers();
    assert.equal(call(helpers, env, 'spin_lock', BigInt(word.start)), 0n);
    assert.equal(env.memory.view.getUint32(word.start, true), 1);
    assert.throws(() => call(helpers, env, 'spin_lock', BigInt(word.start)), SpinLockError);
    assert.equal(call(helpers, env, 'spin_unlock', BigInt(word.start)), 0n);
    assert.throws(() => call(helpers, env, 'spin_unlock', BigInt(word.start)), SpinLockError);
    assert.throws(() => call(helpers, env, 'spin_lock', BigInt(word.start + 2)), /aligned/);
  });
});
