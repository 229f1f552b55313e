// The XDP program of dnslb's AF_XDP mode (clang -target bpf, at build time). UDP datagrams to
// a served address and port go to the AF_XDP socket of the queue they arrived on; UDP
// fragments to a served address are dropped (DNS over UDP never needs them and they cannot be
// matched to a port); everything else (ARP, IPv6 neighbour discovery, TCP, other addresses and
// ports, VLAN-tagged frames) passes to the kernel's stack as if the program were not there.
//
// `dnslb_targets` holds the served (address, port) pairs, filled by dnslb before it attaches
// the program: the address as 16 bytes (IPv4 as ::ffff:a.b.c.d, the wildcard as all zero) and
// the port in network order. Port 0 entries name the served addresses (for fragments).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct dnslb_target {
    __u8 addr[16];
    __u16 port;  // network order; 0: the address itself
    __u16 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u32);
} dnslb_xsks SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, struct dnslb_target);
    __type(value, __u8);
} dnslb_targets SEC(".maps");

#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF
#define NEXTHDR_FRAGMENT 44

static __always_inline int served(struct dnslb_target* t, __u16 port) {
    t->port = port;
    if (bpf_map_lookup_elem(&dnslb_targets, t)) {
        return 1;
    }
    struct dnslb_target any = {};
    any.port = port;
    return bpf_map_lookup_elem(&dnslb_targets, &any) != 0;
}

static __always_inline int to_socket(struct xdp_md* ctx) {
    // No socket on this queue: the kernel's stack (and dnslb's UDP socket) answers instead.
    return bpf_redirect_map(&dnslb_xsks, ctx->rx_queue_index, XDP_PASS);
}

SEC("xdp")
int dnslb_xdp(struct xdp_md* ctx) {
    void* data = (void*)(long)ctx->data;
    void* end = (void*)(long)ctx->data_end;
    struct ethhdr* eth = data;
    if ((void*)(eth + 1) > end) {
        return XDP_PASS;
    }
    struct dnslb_target t = {};
    void* l4 = 0;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr* ip = (void*)(eth + 1);
        if ((void*)(ip + 1) > end || ip->protocol != IPPROTO_UDP || ip->ihl < 5) {
            return XDP_PASS;
        }
        t.addr[10] = 0xff;
        t.addr[11] = 0xff;
        __builtin_memcpy(&t.addr[12], &ip->daddr, 4);
        if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
            return served(&t, 0) ? XDP_DROP : XDP_PASS;
        }
        l4 = (void*)ip + ip->ihl * 4;
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr* ip6 = (void*)(eth + 1);
        if ((void*)(ip6 + 1) > end) {
            return XDP_PASS;
        }
        __builtin_memcpy(t.addr, &ip6->daddr, 16);
        if (ip6->nexthdr == NEXTHDR_FRAGMENT) {
            // The fragment header's next header: only UDP fragments are ours to drop.
            __u8* next = (void*)(ip6 + 1);
            if ((void*)(next + 1) > end || *next != IPPROTO_UDP) {
                return XDP_PASS;
            }
            return served(&t, 0) ? XDP_DROP : XDP_PASS;
        }
        if (ip6->nexthdr != IPPROTO_UDP) {
            return XDP_PASS;
        }
        l4 = ip6 + 1;
    } else {
        return XDP_PASS;
    }
    struct udphdr* udp = l4;
    if ((void*)(udp + 1) > end) {
        return XDP_PASS;
    }
    return served(&t, udp->dest) ? to_socket(ctx) : XDP_PASS;
}

char _license[] SEC("license") = "Apache-2.0";
