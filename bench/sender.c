/*
 * ifw-bench-send: the bench's bounded packet sender (compiled by bench/sender.ts at run time).
 *
 * Writes COUNT copies of one Ethernet frame carrying a TCP ACK (IPv4: 60 bytes, IPv6: 74) into one
 * interface through an AF_PACKET socket, in sendmmsg() batches, bypassing the qdisc. It stops after
 * COUNT frames or MAX_MS milliseconds, whichever comes first; both are capped below.
 *
 * The TCP checksum is made wrong on purpose: whatever the firewall lets through is discarded by the
 * receiver's TCP layer (counted in TcpInCsumErrors) and nothing is ever answered. The receive path
 * of a veth peer runs on the sending CPU, so the time per frame is the whole send + receive +
 * firewall cost on one CPU.
 *
 * Output, one JSON line: {"sent":N,"wall_ns":T,"cpu_ns":C}
 *   wall_ns: CLOCK_MONOTONIC over the send loop; cpu_ns: this thread's CPU time over the loop
 *   (softirq work done on the thread's behalf is included when the kernel does not account IRQ
 *   time separately).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX 128
#define FRAME_MIN 60 /* minimum Ethernet frame without FCS: IPv4 frames are padded to it */
#define MAX_COUNT 50000000ULL
#define MAX_MS 30000.0
#define MAX_BATCH 512

static uint64_t clock_ns(clockid_t id) {
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Ones' complement sum of 16-bit big-endian words, folded; seeded with `sum`. */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum) {
	for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1) sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static void put16(uint8_t *p, uint16_t v) {
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void die(const char *what) {
	fprintf(stderr, "ifw-bench-send: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void) {
	fprintf(stderr, "usage: ifw-bench-send -i IFACE -m DST_MAC -s SRC_IP -d DST_IP -p DPORT -n COUNT -t MAX_MS [-b BATCH] [-c CPU]\n");
	exit(2);
}

/*
 * Build the frame into `f` (FRAME_MAX bytes): Ethernet, IP header, 20-byte TCP ACK from port 40000 to
 * `dport`, zero-padded to FRAME_MIN. Returns the frame's length, or 0 when an address does not parse.
 */
static size_t build_frame(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, const char *src, const char *dst, unsigned dport) {
	memset(f, 0, FRAME_MAX);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	uint8_t *tcp;
	uint32_t pseudo;
	if (strchr(dst, ':')) {
		uint8_t *ip6 = f + 14;
		put16(f + 12, ETHERTYPE_IPV6);
		ip6[0] = 0x60;
		put16(ip6 + 4, 20); /* payload length: the TCP header */
		ip6[6] = IPPROTO_TCP;
		ip6[7] = 64;
		if (inet_pton(AF_INET6, src, ip6 + 8) != 1 || inet_pton(AF_INET6, dst, ip6 + 24) != 1) return 0;
		tcp = ip6 + 40;
		pseudo = sum16(ip6 + 8, 32, IPPROTO_TCP + 20);
	} else {
		uint8_t *ip = f + 14;
		put16(f + 12, ETHERTYPE_IP);
		ip[0] = 0x45;
		put16(ip + 2, 40); /* total length: IP + TCP headers */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		if (inet_pton(AF_INET, src, ip + 12) != 1 || inet_pton(AF_INET, dst, ip + 16) != 1) return 0;
		put16(ip + 10, (uint16_t)~sum16(ip, 20, 0));
		tcp = ip + 20;
		pseudo = sum16(ip + 12, 8, IPPROTO_TCP + 20);
	}
	put16(tcp, 40000);
	put16(tcp + 2, (uint16_t)dport);
	put16(tcp + 4, 0);
	put16(tcp + 6, 1); /* sequence number 1 */
	tcp[12] = 5 << 4;  /* header length 20 */
	tcp[13] = 0x10;    /* ACK */
	put16(tcp + 14, 4096);
	uint16_t good = (uint16_t)~sum16(tcp, 20, pseudo);
	/* Any value outside good's ones' complement class {good, good ^ 0xffff when one is 0} is wrong. */
	put16(tcp + 16, (uint16_t)(good ^ 0x5555));
	size_t len = (size_t)(tcp + 20 - f);
	return len < FRAME_MIN ? FRAME_MIN : len;
}

int main(int argc, char **argv) {
	const char *ifname = NULL, *mac = NULL, *src = NULL, *dst = NULL;
	unsigned dport = 0;
	unsigned long long count = 0;
	double max_ms = 0;
	int batch = 64, cpu = -1, opt;
	while ((opt = getopt(argc, argv, "i:m:s:d:p:n:t:b:c:")) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 'm': mac = optarg; break;
		case 's': src = optarg; break;
		case 'd': dst = optarg; break;
		case 'p': dport = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 't': max_ms = strtod(optarg, NULL); break;
		case 'b': batch = atoi(optarg); break;
		case 'c': cpu = atoi(optarg); break;
		default: usage();
		}
	}
	if (!ifname || !mac || !src || !dst || dport > 65535 || count == 0 || max_ms <= 0) usage();
	if (count > MAX_COUNT) count = MAX_COUNT;
	if (max_ms > MAX_MS) max_ms = MAX_MS;
	if (batch < 1) batch = 1;
	if (batch > MAX_BATCH) batch = MAX_BATCH;

	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) die("sched_setaffinity");
	}
	uint8_t dmac[6];
	if (sscanf(mac, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dmac[0], &dmac[1], &dmac[2], &dmac[3], &dmac[4], &dmac[5]) != 6) usage();

	int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: send only, receives nothing */
	if (fd < 0) die("socket(AF_PACKET)");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	if (strlen(ifname) >= sizeof(ifr.ifr_name)) usage();
	strcpy(ifr.ifr_name, ifname);
	if (ioctl(fd, SIOCGIFINDEX, &ifr)) die(ifname);
	int ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr)) die(ifname);
	uint8_t smac[6];
	memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
	int one = 1;
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one))) die("PACKET_QDISC_BYPASS");
	struct sockaddr_ll to;
	memset(&to, 0, sizeof(to));
	to.sll_family = AF_PACKET;
	to.sll_ifindex = ifindex;
	to.sll_halen = 6;
	memcpy(to.sll_addr, dmac, 6);
	if (bind(fd, (struct sockaddr *)&to, sizeof(to))) die("bind");

	static uint8_t frame[FRAME_MAX];
	size_t frame_len = build_frame(frame, dmac, smac, src, dst, dport);
	if (frame_len == 0) {
		fprintf(stderr, "ifw-bench-send: bad address %s or %s\n", src, dst);
		return 2;
	}
	static struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov = {.iov_base = frame, .iov_len = frame_len};
	for (int i = 0; i < batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	unsigned long long sent = 0;
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t deadline = t0 + (uint64_t)(max_ms * 1e6);
	while (sent < count) {
		unsigned long long left = count - sent;
		unsigned want = left < (unsigned long long)batch ? (unsigned)left : (unsigned)batch;
		int r = sendmmsg(fd, msgs, want, 0);
		if (r < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) die("sendmmsg");
		} else {
			sent += (unsigned long long)r;
		}
		if (clock_ns(CLOCK_MONOTONIC) >= deadline) break;
	}
	uint64_t wall = clock_ns(CLOCK_MONOTONIC) - t0, cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	printf("{\"sent\":%llu,\"wall_ns\":%llu,\"cpu_ns\":%llu}\n", sent, (unsigned long long)wall, (unsigned long long)cpu_ns);
	close(fd);
	return 0;
}
