/**
 * bcc's tools as functions (`tsbpf tools NAME` runs them): each takes its options, a
 * {@link ToolOutput} and a {@link ToolStop} (an `AbortSignal`, a duration, or process signals) and
 * resolves once it stopped and detached everything.
 */
export { type ExecRecord, type ExecsnoopOptions, execsnoop } from './execsnoop.js';
export { type ExitsnoopOptions, exitCodeText, exitsnoop } from './exitsnoop.js';
export {
  type BiolatencyOptions,
  biolatency,
  diskName,
  type LatencyOptions,
  type RunqlatOptions,
  runqlat,
} from './latency.js';
export { type OpensnoopOptions, opensnoop } from './opensnoop.js';
export {
  type OpenToolOptions,
  openTool,
  ToolError,
  type ToolOutput,
  type ToolSession,
  type ToolStop,
  toolObjectPath,
} from './session.js';
export { type SyscountOptions, syscallName, syscount } from './syscount.js';
export { addressText, type TcpconnectOptions, tcpconnect } from './tcpconnect.js';
export { parseTracepoint, type TraceOptions, trace } from './trace.js';
export {
  compileFilter,
  decodeRecord,
  parseTraceFormat,
  type TraceField,
  type TraceFilter,
  TraceFormatError,
  type TraceValue,
} from './trace-format.js';
