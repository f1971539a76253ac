/*
 * The XDP program of the xdp transport: steer this stack's frames to its
 * AF_XDP socket and pass everything else to the kernel.
 *
 * Built with clang -target bpf and embedded in libxt (see transport/xdp.c).
 * The owner fills the maps:
 *  - xi_cfg[0]: the stack's IPv4 address (network order) and how to steer;
 *  - xi_ports: local TCP ports of the stack (shared-address mode only);
 *  - xi_xsks: the AF_XDP socket of each receive queue.
 * A frame is steered when it is
 *  - an ARP packet whose target address is ours (own-address mode: the
 *    kernel does not own the address, the engine answers), or
 *  - IPv4/TCP to our address (own-address mode), or to our address and a
 *    port in xi_ports (shared-address mode).
 * Everything else, and every frame of a queue with no socket, goes on to the
 * kernel (XDP_PASS), so the interface keeps working for other traffic.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define XI_STEER_ALL_TCP (1u << 0) /* own address: all its TCP and ARP */

struct xi_xdp_cfg {
	__u32 ip; /* network order; 0 = steer nothing */
	__u32 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xi_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xi_xdp_cfg);
} xi_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u16); /* network order */
	__type(value, __u8);
} xi_ports SEC(".maps");

struct xi_arp {
	__be16 htype, ptype;
	__u8 hlen, plen;
	__be16 op;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
} __attribute__((packed));

SEC("xdp")
int xi_xdp_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct xi_xdp_cfg *cfg;
	struct iphdr *ip;
	struct tcphdr *tcp;
	__u32 key = 0;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	cfg = bpf_map_lookup_elem(&xi_cfg, &key);
	if (!cfg || !cfg->ip)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
		struct xi_arp *arp = (void *)(eth + 1);

		if ((void *)(arp + 1) > end || !(cfg->flags & XI_STEER_ALL_TCP))
			return XDP_PASS;
		if (arp->ptype != bpf_htons(ETH_P_IP) || arp->plen != 4 ||
		    __builtin_memcmp(arp->tpa, &cfg->ip, 4) != 0)
			return XDP_PASS;
		return bpf_redirect_map(&xi_xsks, ctx->rx_queue_index, XDP_PASS);
	}
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->daddr != cfg->ip || ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	if (!(cfg->flags & XI_STEER_ALL_TCP)) {
		/* Shared address: only our ports; fragments stay with the kernel. */
		if (ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)))
			return XDP_PASS;
		tcp = (void *)(ip + 1);
		if ((void *)(tcp + 1) > end || !bpf_map_lookup_elem(&xi_ports, &tcp->dest))
			return XDP_PASS;
	}
	return bpf_redirect_map(&xi_xsks, ctx->rx_queue_index, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
