#include "tracing.h"
/* sched_switch has four arguments: ctx[5] does not exist. */
SEC("tp_btf/sched_switch") int prog(__u64 *ctx)
{
	return *(volatile __u64 *)&ctx[5] ? 0 : 0;
}
