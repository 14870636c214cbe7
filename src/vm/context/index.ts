export * from './packet.js';
export * from './perf-event.js';
export * from './raw-tp.js';
export * from './skb.js';
export * from './tracepoint.js';
export * from './xdp.js';
