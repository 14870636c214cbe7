// Every BTF kind clang emits for BPF: compiled by build.sh into kinds.o (and kinds-eb.o, big-endian).
// No libbpf headers: the few macros needed are defined here.
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __user __attribute__((btf_type_tag("user")))
#define __ksym __attribute__((section(".ksyms")))
#define __kconfig __attribute__((section(".kconfig")))

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef u32 u32_alias;            /* a typedef chain: u32_alias -> u32 -> unsigned int */
typedef u32_alias u32_alias2;
typedef _Bool bool;

enum color { RED, GREEN = 5, BLUE = -3 };           /* signed enum (kind_flag) */
enum ucolor { U_A = 1, U_B = 0x80000000u };           /* unsigned */
enum big { BIG_A = 1, BIG_B = 0x123456789abcdefULL }; /* ENUM64 */
enum sbig { SBIG_A = -0x100000000LL, SBIG_B = 2 };   /* signed ENUM64 */

struct fwd_struct;
union fwd_union;

struct bits {
  u32 a : 3;
  u32 b : 5;
  int c : 7;
  u64 d : 40;
  u8 e;
};

struct outer {
  int x;
  struct {                  /* anonymous struct */
    short y;
    char z;
  };
  union {                   /* anonymous union */
    u32 u;
    float f;
  };
  double dbl;
  struct bits bits;
  const volatile int cv;
  int *restrict rp;
  int __user *up;
  struct fwd_struct *fs;
  union fwd_union *fu;
  enum color color;
  enum ucolor ucolor;
  enum big big;
  enum sbig sbig;
  u32_alias2 chain;
  bool flag;
  char name[16];
  int matrix[2][3];
  int (*callback)(int a, struct outer *self, const char *fmt);
  void (*nothing)(void);
  long double ld;
} __tag("outer_tag");

struct {
  __uint(type, 1); /* BPF_MAP_TYPE_HASH */
  __uint(max_entries, 16);
  __type(key, u32);
  __type(value, struct outer);
} hash_map SEC(".maps");

int data_var = 42;                           /* .data */
int bss_var;                                 /* .bss */
const volatile u64 rodata_var = 7;           /* .rodata */
static int static_var __attribute__((used)) = 1;
struct outer outer_var __tag("var_tag");
float float_var = 1.5f;

extern int bpf_fake_kfunc(int x) __ksym;
extern unsigned int LINUX_KERNEL_VERSION __kconfig;

static __attribute__((noinline)) int helper(int a __tag("param_tag"), struct outer *o) __tag("func_tag")
{
  return a + o->x + o->bits.c;
}

SEC("tracepoint/syscalls/sys_enter_write")
int prog(void *ctx)
{
  struct outer *o = &outer_var;
  bss_var += data_var + (int)rodata_var + static_var + (int)sizeof(float_var);
  o->bits.d = 3;
  return helper(bss_var, o) + (int)LINUX_KERNEL_VERSION + bpf_fake_kfunc(1);
}

char LICENSE[] SEC("license") = "GPL";
