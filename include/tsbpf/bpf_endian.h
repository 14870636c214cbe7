/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Byte-order conversion for BPF C. The target's byte order is the compiler's (`-target bpf` follows
 * the host; bpfel/bpfeb force one), so these test __BYTE_ORDER__ rather than any libc header.
 * __builtin_bswap* folds constants at compile time (usable in `case` labels and initialisers) and
 * otherwise compiles to one `be16/be32/be64` instruction (`bswap` with -mcpu=v4).
 */
#ifndef __TSBPF_BPF_ENDIAN_H
#define __TSBPF_BPF_ENDIAN_H

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ___tsbpf_to_be16(x) __builtin_bswap16(x)
#define ___tsbpf_to_be32(x) __builtin_bswap32(x)
#define ___tsbpf_to_be64(x) __builtin_bswap64(x)
#define ___tsbpf_to_le16(x) ((__u16)(x))
#define ___tsbpf_to_le32(x) ((__u32)(x))
#define ___tsbpf_to_le64(x) ((__u64)(x))
#elif __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ___tsbpf_to_be16(x) ((__u16)(x))
#define ___tsbpf_to_be32(x) ((__u32)(x))
#define ___tsbpf_to_be64(x) ((__u64)(x))
#define ___tsbpf_to_le16(x) __builtin_bswap16(x)
#define ___tsbpf_to_le32(x) __builtin_bswap32(x)
#define ___tsbpf_to_le64(x) __builtin_bswap64(x)
#else
#error "bpf_endian.h: unknown __BYTE_ORDER__"
#endif

/* Host <-> network (big-endian) order; each conversion is its own inverse. */
#define bpf_htons(x) ((__u16)___tsbpf_to_be16((__u16)(x)))
#define bpf_ntohs(x) ((__u16)___tsbpf_to_be16((__u16)(x)))
#define bpf_htonl(x) ((__u32)___tsbpf_to_be32((__u32)(x)))
#define bpf_ntohl(x) ((__u32)___tsbpf_to_be32((__u32)(x)))
#define bpf_cpu_to_be64(x) ((__u64)___tsbpf_to_be64((__u64)(x)))
#define bpf_be64_to_cpu(x) ((__u64)___tsbpf_to_be64((__u64)(x)))
#define bpf_cpu_to_le16(x) ((__u16)___tsbpf_to_le16((__u16)(x)))
#define bpf_cpu_to_le32(x) ((__u32)___tsbpf_to_le32((__u32)(x)))
#define bpf_cpu_to_le64(x) ((__u64)___tsbpf_to_le64((__u64)(x)))

/* Compile-time forms, kept for code written against other headers; the above already fold. */
#define bpf_constant_htons(x) bpf_htons(x)
#define bpf_constant_ntohs(x) bpf_ntohs(x)
#define bpf_constant_htonl(x) bpf_htonl(x)
#define bpf_constant_ntohl(x) bpf_ntohl(x)

#endif /* __TSBPF_BPF_ENDIAN_H */
