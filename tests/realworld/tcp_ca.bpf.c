// SPDX-License-Identifier: GPL-2.0
// A TCP congestion control as struct_ops (a reduced bpf_dctcp/bpf_cubic in the
// style of the kernel selftests): struct_ops programs writing tcp_sock fields
// through BTF pointers, and the .struct_ops map section.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define TCP_INFINITE_SSTHRESH 0x7fffffff

struct ca_state {
	__u32 acked;
	__u32 loss_cwnd;
};

static inline struct tcp_sock *tcp_sk(const struct sock *sk)
{
	return (struct tcp_sock *)sk;
}

static inline struct ca_state *ca(const struct sock *sk)
{
	return (struct ca_state *)((struct inet_connection_sock *)sk)->icsk_ca_priv;
}

__u32 inits = 0;

SEC("struct_ops/bpfbox_init")
void BPF_PROG(bpfbox_init, struct sock *sk)
{
	struct ca_state *c = ca(sk);

	c->acked = 0;
	c->loss_cwnd = 0;
	__sync_fetch_and_add(&inits, 1);
}

SEC("struct_ops/bpfbox_ssthresh")
__u32 BPF_PROG(bpfbox_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	ca(sk)->loss_cwnd = tp->snd_cwnd;
	return tp->snd_cwnd / 2 > 2 ? tp->snd_cwnd / 2 : 2;
}

SEC("struct_ops/bpfbox_cong_avoid")
void BPF_PROG(bpfbox_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	struct tcp_sock *tp = tcp_sk(sk);
	struct ca_state *c = ca(sk);

	if (tp->snd_cwnd < tp->snd_ssthresh) {
		tp->snd_cwnd += acked;
		return;
	}
	c->acked += acked;
	if (c->acked >= tp->snd_cwnd) {
		c->acked -= tp->snd_cwnd;
		tp->snd_cwnd++;
	}
}

SEC("struct_ops/bpfbox_undo_cwnd")
__u32 BPF_PROG(bpfbox_undo_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	__u32 loss = ca(sk)->loss_cwnd;

	return tp->snd_cwnd > loss ? tp->snd_cwnd : loss;
}

SEC(".struct_ops")
struct tcp_congestion_ops bpfbox_ca = {
	.init = (void *)bpfbox_init,
	.ssthresh = (void *)bpfbox_ssthresh,
	.cong_avoid = (void *)bpfbox_cong_avoid,
	.undo_cwnd = (void *)bpfbox_undo_cwnd,
	.name = "bpfbox_ca",
};

char LICENSE[] SEC("license") = "GPL";
