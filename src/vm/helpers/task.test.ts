/** Current-task and time helpers, against values measured on Linux 6.18. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TASK_STRUCT_SIZE, taskHelpers } from './task.js';
import { bareEnv, call, helperVm } from './test-util.js';
import { DEFAULT_HZ, initialJiffies, jiffiesAt, ManualClock, systemClock, timeHelpers } from './time.js';

const task = { pid: 14497, tgid: 14496, uid: 1000, gid: 100, comm: 'node', cgroupId: 77n, numaNode: 0 };

describe('current task', () => {
  test('pid_tgid is tgid << 32 | pid; uid_gid is gid << 32 | uid', () => {
    const { run } = helperVm({ task });
    assert.equal(run('call 14\nexit'), (14496n << 32n) | 14497n);
    assert.equal(run('call 15\nexit'), (100n << 32n) | 1000n);
    assert.equal(run('call 80\nexit'), 77n);
    assert.equal(run('call 42\nexit'), 0n);
  });

  // Kernel: size 4 → "nod\0", size 16 → "node" + zeros, size 32 → "node" + 28 zero bytes; r0 0.
  for (const [size, expected] of [
    [4, 'nod\0'],
    [16, `node${'\0'.repeat(12)}`],
    [32, `node${'\0'.repeat(28)}`],
    [1, '\0'],
  ] as const) {
    test(`get_current_comm(buf, ${size}) is strscpy_pad`, () => {
      const env = bareEnv();
      const buf = env.memory.alloc(size, { name: 'buf' });
      env.memory.bytes.fill(0x61, buf.start, buf.end);
      assert.equal(call(taskHelpers(task), env, 'get_current_comm', BigInt(buf.start), BigInt(size)), 0n);
      assert.equal(new TextDecoder().decode(env.memory.read(buf.start, size)), expected);
    });
  }

  test('a comm longer than 15 bytes is cut as the kernel stores it', () => {
    const env = bareEnv();
    const buf = env.memory.alloc(32, { name: 'buf' });
    call(
      taskHelpers({ pid: 1, comm: 'a-very-long-command-name' }),
      env,
      'get_current_comm',
      BigInt(buf.start),
      32n,
    );
    assert.equal(new TextDecoder().decode(env.memory.read(buf.start, 16)), 'a-very-long-com\0');
  });

  test('get_current_task points at a read-only task_struct stand-in that follows the task', () => {
    let current = task;
    const env = bareEnv();
    const helpers = taskHelpers(() => current);
    const address = Number(call(helpers, env, 'get_current_task'));
    const region = env.memory.find(address, TASK_STRUCT_SIZE);
    assert.ok(region && !region.writable);
    assert.equal(env.memory.view.getUint32(address, true), 14497);
    assert.equal(env.memory.view.getUint32(address + 4, true), 14496);
    assert.equal(env.memory.view.getBigUint64(address + 16, true), 77n);
    current = { ...task, pid: 5 };
    assert.equal(Number(call(helpers, env, 'get_current_task_btf')), address);
    assert.equal(env.memory.view.getUint32(address, true), 5);
  });
});

describe('time', () => {
  test('INITIAL_JIFFIES is (u32)(-300 * HZ): 4294892296 at HZ 250', () => {
    assert.equal(DEFAULT_HZ, 250);
    assert.equal(initialJiffies(250), 4294892296n);
    // Kernel: boot 3832.6 s → jiffies64 4295850414 (within a few ticks of this).
    const computed = jiffiesAt(3_832_608_826_924n, 250);
    assert.ok(computed - 4295850414n >= 0n && computed - 4295850414n < 50n, String(computed));
  });

  test('a manual clock drives every time helper', () => {
    const clock = new ManualClock({ monotonicNs: 10_000_000_123n, taiNs: 1_795_656_546_000_000_000n });
    clock.suspended = 5_000_000_000n;
    const { run } = helperVm({ clock });
    assert.equal(run('call 5\nexit'), 10_000_000_123n);
    assert.equal(run('call 125\nexit'), 15_000_000_123n);
    assert.equal(run('call 160\nexit'), 10_000_000_000n, 'coarse: rounded down to a 4 ms tick');
    assert.equal(run('call 208\nexit'), 1_795_656_546_000_000_000n);
    assert.equal(run('call 118\nexit'), 4294892296n + 15n * 250n);
    clock.advance(4_000_000n);
    assert.equal(run('call 118\nexit'), 4294892296n + 15n * 250n + 1n);
  });

  test('the system clock is monotonic and its TAI is the wall clock', () => {
    const clock = systemClock();
    const a = clock.monotonicNs();
    const b = clock.monotonicNs();
    assert.ok(b >= a);
    const wall = BigInt(Date.now()) * 1_000_000n;
    assert.ok(clock.taiNs() - wall < 1_000_000_000n && wall - clock.taiNs() < 1_000_000_000n);
    assert.equal(timeHelpers(clock).length, 5);
  });
});
