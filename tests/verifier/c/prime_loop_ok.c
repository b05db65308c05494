#include "common.h"
/* Trial division over a bounded range: nested loops whose trip counts depend on
 * each other. The kernel verifies it by walking both loops (hundreds of
 * thousands of steps); bpfbox must stay under the 1M-instruction limit too. */
SEC("xdp") int prog(struct xdp_md *ctx) {
	int count = 0;
	for (int n = 2; n < 300; n++) {
		int prime = 1;
		for (int d = 2; d * d <= n; d++) {
			if (n % d == 0) {
				prime = 0;
				break;
			}
		}
		count += prime;
	}
	return (count & 1) + 1; /* XDP_DROP or XDP_PASS: nothing checks it */
}
