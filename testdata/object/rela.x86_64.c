// SPDX-License-Identifier: MIT
// Not a BPF program: a tiny x86-64 object, because BPF objects use only SHT_REL and the reader
// must also handle SHT_RELA (explicit addends) and a machine other than EM_BPF.

extern int counter;
extern int bump(int by);
static const char message[] = "hello";

int table_entry(int i) { return message[i] + counter; }

int call_it(void) { return bump(3) + counter; }
