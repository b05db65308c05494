// SPDX-License-Identifier: GPL-2.0
// Health-check encapsulation in the style of Katran's healthchecking_kern.c: a tc
// program sends probe packets (marked by the health checker) to their backend
// through a collect_md tunnel: bpf_skb_set_tunnel_key with the backend's address
// (IPv4 or IPv6) from `hc_reals`, then a redirect to the tunnel device. Each
// packet's tunnel key is read back with bpf_skb_get_tunnel_key into `hc_seen`
// (as a receiving program would see it: the kernel reports the key's source as the
// remote end), and `tunnel_key_errors` logs the helpers' error codes. Written for
// bpfbox's world tests.
#include "xdp_common.h"
#include <linux/pkt_cls.h>

#define TUNNEL_IFINDEX 3

struct hc_real {
	__u32 daddr[4]; /* IPv4 in daddr[0], host order; IPv6 as bytes */
	__u32 flags;    /* 1: IPv6 */
	__u32 tunnel_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32); /* skb->mark */
	__type(value, struct hc_real);
	__uint(max_entries, 16);
} hc_reals SEC(".maps");

struct seen {
	__s64 rc;
	struct bpf_tunnel_key key;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct seen);
	__uint(max_entries, 16);
} hc_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} hc_seen_len SEC(".maps");

static __always_inline void log_key(__s64 rc, struct bpf_tunnel_key *key)
{
	__u32 zero = 0, idx;
	__u32 *n = bpf_map_lookup_elem(&hc_seen_len, &zero);
	struct seen *s;

	if (!n)
		return;
	idx = *n % 16;
	*n += 1;
	s = bpf_map_lookup_elem(&hc_seen, &idx);
	if (!s)
		return;
	s->rc = rc;
	__builtin_memcpy(&s->key, key, sizeof(*key));
}

SEC("tc")
int hc_encap(struct __sk_buff *skb)
{
	struct bpf_tunnel_key key = {};
	struct hc_real *real;
	__u32 mark = skb->mark;
	__u64 flags = 0;
	int rc;

	real = bpf_map_lookup_elem(&hc_reals, &mark);
	if (!real)
		return TC_ACT_OK;
	key.tunnel_id = real->tunnel_id;
	key.tunnel_ttl = 64;
	key.tunnel_tos = 0x10;
	if (real->flags & 1) {
		flags = BPF_F_TUNINFO_IPV6;
		__builtin_memcpy(key.remote_ipv6, real->daddr, 16);
		key.local_ipv6[0] = bpf_htonl(0xfd000000);
		key.local_ipv6[3] = bpf_htonl(1);
		key.tunnel_label = 0xabcde;
	} else {
		key.remote_ipv4 = real->daddr[0];
		key.local_ipv4 = 0x0a000001;
	}
	rc = bpf_skb_set_tunnel_key(skb, &key, sizeof(key), flags | BPF_F_DONT_FRAGMENT | BPF_F_SEQ_NUMBER);
	if (rc) {
		log_key(rc, &key);
		return TC_ACT_SHOT;
	}
	__builtin_memset(&key, 0xff, sizeof(key));
	rc = bpf_skb_get_tunnel_key(skb, &key, sizeof(key), flags | BPF_F_TUNINFO_FLAGS);
	log_key(rc, &key);
	return bpf_redirect(TUNNEL_IFINDEX, 0);
}

SEC("tc")
int tunnel_key_errors(struct __sk_buff *skb)
{
	struct bpf_tunnel_key key = {};

	__builtin_memset(&key, 0xff, sizeof(key));
	/* no tunnel metadata yet */
	log_key(bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0), &key);
	__builtin_memset(&key, 0, sizeof(key));
	key.remote_ipv4 = 0xc0000201;
	key.tunnel_label = 5; /* a label needs IPv6 */
	log_key(bpf_skb_set_tunnel_key(skb, &key, sizeof(key), 0), &key);
	key.tunnel_label = 0;
	log_key(bpf_skb_set_tunnel_key(skb, &key, sizeof(key), 1 << 7), &key);
	log_key(bpf_skb_set_tunnel_key(skb, &key, 12, 0), &key);
	/* the old 8-byte layout (id + remote_ipv4) */
	key.tunnel_id = 7;
	log_key(bpf_skb_set_tunnel_key(skb, &key, 8, BPF_F_ZERO_CSUM_TX), &key);
	__builtin_memset(&key, 0xff, sizeof(key));
	log_key(bpf_skb_get_tunnel_key(skb, &key, sizeof(key), BPF_F_TUNINFO_IPV6), &key);
	__builtin_memset(&key, 0xff, sizeof(key));
	log_key(bpf_skb_get_tunnel_key(skb, &key, 8, 0), &key);
	__builtin_memset(&key, 0xff, sizeof(key));
	log_key(bpf_skb_get_tunnel_key(skb, &key, 24, BPF_F_TUNINFO_FLAGS), &key);
	__builtin_memset(&key, 0xff, sizeof(key));
	log_key(bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 1 << 9), &key);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
