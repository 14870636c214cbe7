/**
 * tcpconnect: trace active TCP connections (connect()), as bcc's `tcpconnect` prints them
 * (`PID COMM IP SADDR DADDR DPORT`), from the `sock:inet_sock_set_state` tracepoint
 * (`tools/tcpconnect.bpf.c`): bcc's kprobes on `tcp_v4_connect`/`tcp_v6_connect` are not needed.
 * bcc's `-L` (local port) is left out: the port is assigned after the CLOSE → SYN_SENT transition
 * this hook sees, so it would always read 0.
 */
import { monotonicNs, num, runTool, str, type ToolOutput, type ToolStop } from './session.js';

/** bcc's tcpconnect options. */
export interface TcpconnectOptions {
  /** `-t`: a timestamp column (seconds since start). */
  readonly timestamp?: boolean;
  /** `-p PID`: only this process. */
  readonly pid?: number;
  /** `-P PORTS`: only these destination ports. */
  readonly ports?: readonly number[];
  /** `-u UID`: only this user. */
  readonly uid?: number;
  /** `-U`: a UID column. */
  readonly printUid?: boolean;
  /** `-4` / `-6`: one address family. */
  readonly family?: 4 | 6;
  readonly count?: number;
  readonly json?: boolean;
}

const AF_INET = 2;
const AF_INET6 = 10;

/** An address from the record's 16 bytes: dotted IPv4, or RFC 5952 IPv6. */
export function addressText(bytes: Uint8Array, family: number): string {
  if (family === AF_INET) return Array.from(bytes.subarray(0, 4)).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // The longest run of two or more zero groups becomes '::'.
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      best = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

/** Run tcpconnect until stopped. */
export async function tcpconnect(options: TcpconnectOptions, out: ToolOutput, stop: ToolStop): Promise<void> {
  const start = monotonicNs();
  await runTool(
    'tcpconnect',
    {
      rodata: {
        target_pid: options.pid ?? 0,
        target_uid: BigInt(options.uid ?? -1),
        target_family: options.family === 4 ? AF_INET : options.family === 6 ? AF_INET6 : 0,
      },
    },
    stop,
    (session, control) => {
      const codec = session.codec('tcpconnect_event');
      const saddrAt = session.offsetOf('tcpconnect_event', 'saddr');
      const daddrAt = session.offsetOf('tcpconnect_event', 'daddr');
      if (options.json) out.note('Tracing connect ... Hit Ctrl-C to end');
      else
        out.line(
          [
            options.timestamp ? `${'TIME(s)'.padEnd(9)} ` : '',
            options.printUid ? `${'UID'.padEnd(6)} ` : '',
            `${'PID'.padEnd(6)} ${'COMM'.padEnd(12)} ${'IP'.padEnd(2)} ${'SADDR'.padEnd(16)} `,
            `${'DADDR'.padEnd(16)} DPORT`,
          ].join(''),
        );
      let seen = 0;
      session.readEvents('events', (bytes) => {
        // A batch may hold more records than the count: the stop takes effect after it.
        if (options.count !== undefined && seen >= options.count) return;
        const ev = codec.decode(bytes) as Record<string, bigint | number | string>;
        const dport = num(ev, 'dport');
        if (options.ports && !options.ports.includes(dport)) return;
        const family = num(ev, 'family');
        const ip = family === AF_INET6 ? 6 : 4;
        const saddr = addressText(bytes.subarray(saddrAt, saddrAt + 16), family);
        const daddr = addressText(bytes.subarray(daddrAt, daddrAt + 16), family);
        const ts = Number((ev.ts_ns as bigint) - start) / 1e9;
        const comm = str(ev, 'comm');
        if (options.json)
          out.record({
            ts: Math.max(0, Number(ts.toFixed(6))),
            pid: num(ev, 'pid'),
            tid: num(ev, 'tid'),
            uid: num(ev, 'uid'),
            comm,
            ip,
            saddr,
            daddr,
            dport,
          });
        else
          out.line(
            [
              options.timestamp ? `${ts.toFixed(3).padEnd(9)} ` : '',
              options.printUid ? `${String(ev.uid).padEnd(6)} ` : '',
              `${String(ev.pid).padEnd(6)} ${comm.slice(0, 12).padEnd(12)} ${String(ip).padEnd(2)} ${saddr.padEnd(16)} `,
              `${daddr.padEnd(16)} ${dport}`,
            ].join(''),
          );
        seen++;
        if (options.count !== undefined && seen >= options.count) control.stop();
      });
    },
  );
}
