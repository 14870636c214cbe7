/**
 * maps: the classic "who ran what" table. A tracepoint on execve records each caller in a hash map
 * keyed by pid ({pid, uid, comm}); user space prints every new entry as it appears:
 *
 *   sudo npx tsx examples/maps.ts
 *
 * The map is read from user space with the bpf() map calls, polled every 100 ms.
 */
import type { Codec } from '../src/maps/codec.js';
import { u32 } from '../src/maps/codec.js';
import { BpfMap } from '../src/maps/map.js';
import { BPF } from '../src/kernel/bcc.js';

const text = `
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct event {
	__u32 pid;
	__u32 uid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct event);
} execs SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_execve")
int record_execve(void *ctx)
{
	struct event ev = {};

	ev.pid = bpf_get_current_pid_tgid() >> 32;
	ev.uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(ev.comm, sizeof(ev.comm));
	bpf_map_update_elem(&execs, &ev.pid, &ev, BPF_ANY);
	return 0;
}
`;

interface Exec {
  readonly pid: number;
  readonly uid: number;
  readonly comm: string;
}

/** struct event: u32 pid, u32 uid, char comm[16]. */
const event: Codec<Exec> = {
  size: 24,
  encode: () => {
    throw new Error('read-only');
  },
  decode(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const comm = bytes.subarray(8, 24);
    const end = comm.indexOf(0);
    return {
      pid: view.getUint32(0, true),
      uid: view.getUint32(4, true),
      comm: Buffer.from(comm.subarray(0, end < 0 ? 16 : end)).toString(),
    };
  },
};

const b = new BPF({ text });
b.attachAll();
const execs = new BpfMap(b.map('execs').ops, { key: u32, value: event });

console.log('Tracing execve... Ctrl-C to end.');
console.log(`${'PID'.padEnd(8)} ${'UID'.padEnd(6)} COMM`);

const limit = Number(process.env.MAPS_LINES ?? Number.POSITIVE_INFINITY);
const seen = new Map<number, string>();
let printed = 0;
const timer = setInterval(() => {
  for (const [pid, exec] of execs) {
    if (seen.get(pid) === exec.comm) continue;
    seen.set(pid, exec.comm);
    console.log(`${String(exec.pid).padEnd(8)} ${String(exec.uid).padEnd(6)} ${exec.comm}`);
    if (++printed >= limit) {
      stop();
      return;
    }
  }
}, 100);

function stop(): void {
  clearInterval(timer);
  b.close();
}
process.on('SIGINT', stop);
