/* No global function calls while a spin lock is held. */
#include "common.h"
#define __noinline __attribute__((noinline))
struct bpf_spin_lock { __u32 val; };
struct val { struct bpf_spin_lock lock; __u32 n; };
struct { __uint(type, 2); __uint(max_entries, 1); __type(key, __u32); __type(value, struct val); } arr SEC(".maps");
static void (*bpf_spin_lock)(struct bpf_spin_lock *l) = (void *)93;
static void (*bpf_spin_unlock)(struct bpf_spin_lock *l) = (void *)94;
__noinline int bump(int n) { return n + 1; }
SEC("tc") int prog(void *ctx) {
	__u32 k = 0;
	struct val *v = bpf_map_lookup_elem(&arr, &k);
	if (!v) return 0;
	bpf_spin_lock(&v->lock);
	v->n = bump(v->n);
	bpf_spin_unlock(&v->lock);
	return 0;
}
