/**
 * hello: bcc's "Hello, World!" (hello_fields.py), in TypeScript. Prints a line for every clone and
 * execve on the system, with the time, the task's name and pid, and the message:
 *
 *   sudo npx tsx examples/hello.ts
 *
 * bcc probes the clone system call with a kprobe; this kernel has no kprobes, so the programs sit on
 * the syscall tracepoints instead, which every kernel since 4.7 has.
 */
import { BPF } from '../src/kernel/bcc.js';

const text = `
#include "vmlinux.h"
#include <tsbpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint")
int hello(void *ctx)
{
	bpf_printk("Hello, World!");
	return 0;
}
`;

const b = new BPF({ text });
b.attachTracepoint('syscalls:sys_enter_clone', 'hello');
b.attachTracepoint('syscalls:sys_enter_execve', 'hello');

console.log('Tracing clone and execve... Ctrl-C to end.');
console.log(`${'TIME(s)'.padEnd(18)} ${'COMM'.padEnd(16)} ${'PID'.padEnd(7)} MESSAGE`);

const limit = Number(process.env.HELLO_LINES ?? Number.POSITIVE_INFINITY);
let printed = 0;
process.on('SIGINT', () => b.close());
for await (const line of b.traceFields()) {
  console.log(`${line.timestamp.toFixed(6).padEnd(18)} ${line.task.padEnd(16)} ${String(line.pid).padEnd(7)} ${line.message}`);
  if (++printed >= limit) break;
}
b.close();
