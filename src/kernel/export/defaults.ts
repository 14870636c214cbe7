/** Where `tsbpf export` listens unless told (ebpf_exporter's port). */
export const DEFAULT_EXPORT_LISTEN = '127.0.0.1:9435';
