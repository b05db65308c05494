// Open-coded number iterators (bpf_iter_num_new/next/destroy, what libbpf's bpf_for
// expands to) over ranges the packet decides: a sum, a nested pair of loops, an
// early break, an empty range and an invalid one (start > end: -EINVAL, no element).
// The verifier must see each loop converge (the element is in [start, end) only
// through the loop's own bound check); the kernel test (crates/api/tests/kernel.rs)
// compares every run and the maps after with the kernel's.
#include "bpf_helpers_min.h"

struct bpf_iter_num {
	__u64 __opaque[1];
} __attribute__((aligned(8)));

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

/* As libbpf's bpf_for: i takes start..end-1, the iterator destroyed at scope end. */
#define for_range(i, start, end)                                                        \
	for (struct bpf_iter_num ___it __attribute__((aligned(8), cleanup(bpf_iter_num_destroy))), \
	     *___p = (bpf_iter_num_new(&___it, (start), (end)), &___it);                    \
	     ({ int *___t = bpf_iter_num_next(___p); (___t) ? ((i) = *___t, 1) : 0; });)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __s64);
} out SEC(".maps");

static void put(__u32 k, __s64 v)
{
	__s64 *p = bpf_map_lookup_elem(&out, &k);

	if (p)
		*p += v;
}

SEC("xdp")
int iter_num(struct xdp_md *ctx)
{
	__u64 len = (__u64)ctx->data_end - (__u64)ctx->data;
	int n = len & 31, i, j;
	__s64 sum = 0, pairs = 0, stop = -1;

	for_range(i, 0, n) {
		__u32 k = i & 15;
		__u64 *h = bpf_map_lookup_elem(&hist, &k);

		if (h)
			*h += 1;
		sum += i * 3;
	}
	for_range(i, 0, 4) {
		for_range(j, i, (int)(len & 7))
			pairs += i * 8 + j;
	}
	for_range(i, -5, 100) {
		if (i * i > (int)len) {
			stop = i;
			break;
		}
	}
	put(0, sum);
	put(1, pairs);
	put(2, stop);

	struct bpf_iter_num it;
	int rc = bpf_iter_num_new(&it, 10, (int)(len & 15)); /* start > end on short packets */
	int *v, seen = 0;

	while ((v = bpf_iter_num_next(&it)))
		seen += *v;
	bpf_iter_num_destroy(&it);
	put(3, rc);
	put(4, seen);
	/* sum is 0, a constant deciding the verdict, only where the first loop ran no
	 * pass: its passes must still widen it (precision is per stored state). */
	return sum & 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
