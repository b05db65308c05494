// 64-bit atomics (add, fetch_add/or/and/xor, xchg, cmpxchg) and bounded loops,
// compiled with -mcpu=v3.
#include "bpf_helpers_min.h"

__u64 stats[4];
__u64 lock_word;

static __always_inline void spin(void)
{
#pragma clang loop unroll(disable)
	for (int i = 0; i < 16; i++) {
		if (__sync_val_compare_and_swap(&lock_word, 0, 1) == 0)
			return;
	}
}

SEC("tracepoint/sched/sched_switch")
int atomics_loops(void *ctx)
{
	__u64 sum = 0;

	__sync_fetch_and_add(&stats[0], 1);
	sum += __sync_fetch_and_add(&stats[1], 2);
	sum += __sync_fetch_and_or(&stats[2], 4);
	sum += __sync_fetch_and_and(&stats[3], ~8ULL);
	sum += __sync_fetch_and_xor(&stats[2], sum);
	sum += __sync_lock_test_and_set(&lock_word, 0);
	spin();
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < 100; i++) {
		__u64 v = stats[i & 3];
		if (v & 1)
			sum += v;
		else
			sum ^= v << (i & 7);
	}
	__u32 n = 0;
	while (sum > 1 && n < 64) {
		sum = (sum & 1) ? sum * 3 + 1 : sum / 2;
		n++;
	}
	stats[0] = sum;
	return n;
}

char _license[] SEC("license") = "GPL";
