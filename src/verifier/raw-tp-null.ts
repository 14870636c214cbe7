/**
 * Tracepoint arguments that may be NULL (or an ERR_PTR) although their type says `struct x *`:
 * since 6.14 a `tp_btf` program reads them as `trusted_ptr_or_null_` (and the ERR_PTR ones as
 * scalars), from a list in the kernel (`raw_tp_null_args`, kernel/bpf/btf.c). One row per
 * tracepoint: for argument i (0-based, after the hidden `__data`), nibble i of the mask has bit
 * 0x1 "may be NULL" and bit 0x2 "may be an ERR_PTR". Tracepoints of loadable modules are all
 * treated as nullable; this table covers vmlinux.
 *
 * Measured on Linux 6.18 (not copied from a list, which changes between releases: 6.18 still
 * marks `signal_deliver`'s siginfo an ERR_PTR and `sched_process_wait`'s pid nullable): every
 * struct-pointer argument of every tracepoint in /sys/kernel/btf/vmlinux, dereferenced without a
 * NULL check by a `tp_btf` program, refused as `trusted_ptr_or_null_` (0x1) or `scalar` (0x2).
 */
export const RAW_TP_NULL_ARGS: Readonly<Record<string, number>> = {
  signal_generate: 0x20,
  signal_deliver: 0x20,
  sched_process_wait: 0x1,
  sched_pi_setprio: 0x10,
  sched_stick_numa: 0x100,
  sched_swap_numa: 0x100,
  tmigr_update_events: 0x1,
  mm_page_alloc: 0x1,
  mm_page_alloc_zone_locked: 0x1,
  mm_page_pcpu_drain: 0x1,
  mm_khugepaged_scan_pmd: 0x10,
  mm_collapse_huge_page_isolate: 0x1,
  mm_khugepaged_scan_file: 0x10,
  mm_khugepaged_collapse_file: 0x10,
  writeback_dirty_folio: 0x10,
  folio_wait_writeback: 0x10,
  posix_lock_inode: 0x10,
  fcntl_setlk: 0x10,
  locks_remove_posix: 0x10,
  flock_lock_inode: 0x10,
  break_lease_noblock: 0x10,
  break_lease_block: 0x10,
  break_lease_unblock: 0x10,
  generic_delete_lease: 0x10,
  time_out_leases: 0x10,
  ext4_mballoc_discard: 0x10,
  ext4_mballoc_free: 0x10,
  hugetlbfs_alloc_inode: 0x10,
  xfs_inodegc_flush: 0x1,
  xfs_inodegc_push: 0x1,
  xfs_inodegc_start: 0x1,
  xfs_inodegc_stop: 0x1,
  xfs_inodegc_queue: 0x1,
  xfs_inodegc_throttle: 0x1,
  xfs_fs_sync_fs: 0x1,
  xfs_blockgc_start: 0x1,
  xfs_blockgc_stop: 0x1,
  xfs_blockgc_worker: 0x1,
  xfs_blockgc_flush_all: 0x1,
  xfs_map_blocks_found: 0x10000,
  xfs_map_blocks_alloc: 0x10000,
  xfs_btree_updkeys: 0x100,
  xfs_btree_overlapped_query_range: 0x100,
  xfs_defer_create_intent: 0x1,
  xfs_defer_cancel_list: 0x1,
  xfs_defer_pending_finish: 0x1,
  xfs_defer_pending_abort: 0x1,
  xfs_defer_relog_intent: 0x1,
  xfs_defer_isolate_paused: 0x1,
  xfs_defer_item_pause: 0x1,
  xfs_defer_item_unpause: 0x1,
  xfs_defer_add_item: 0x1,
  xfs_defer_cancel_item: 0x1,
  xfs_defer_finish_item: 0x1,
  xfs_ioc_free_eofblocks: 0x10,
  xfs_blockgc_free_space: 0x10,
  kfree_skb: 0x1000,
  tcp_send_reset: 0x11,
  tcp_sendmsg_locked: 0x100,
  fib_table_lookup: 0x100,
  qdisc_dequeue: 0x1000,
};

/** How argument `arg` (0-based) of tracepoint `name` reads: may it be NULL, or an ERR_PTR. */
export function rawTpArgNullness(
  name: string,
  arg: number,
): { readonly maybeNull: boolean; readonly maybeErr: boolean } {
  const mask = RAW_TP_NULL_ARGS[name] ?? 0;
  const nibble = Math.floor(mask / 16 ** arg) % 16;
  return { maybeNull: (nibble & 1) !== 0, maybeErr: (nibble & 2) !== 0 };
}
