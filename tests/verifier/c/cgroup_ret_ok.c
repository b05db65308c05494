#include "common.h"
SEC("cgroup_skb/ingress") int prog(void *ctx) { return bpf_get_prandom_u32() & 1; }
