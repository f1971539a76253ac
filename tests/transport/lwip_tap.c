/*
 * lwip_tap: Debian's lwIP (liblwip-dev, the threaded tcpip core) on a TAP
 * device, for a throughput figure beside utcp_tap; run by utcp-bench when
 * the package is there. Not built by make: lwIP is no dependency of
 * xiscsi, only the engine it was measured against.
 *
 *   lwip_tap tx|rx BYTES PORT      (in a namespace with TAP h1tap0, the
 *                                   kernel at 10.77.0.1, lwIP 10.77.0.2)
 *
 * Connects to the kernel at 10.77.0.1:PORT and sends (tx) or receives (rx)
 * BYTES through lwIP's socket API. Its own TAP driver: the tapif driver in
 * Debian's build overruns a pbuf on every full-size frame it receives
 * (AddressSanitizer: heap-buffer-overflow in pbuf_take).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "lwip/netif.h"
#include "lwip/sockets.h"
#include "lwip/tcpip.h"
#include "netif/etharp.h"

/* after lwIP's headers, which bring <net/if.h> */
#include <linux/if.h>
#include <linux/if_tun.h>

#define FRAME_MAX 2048

static struct netif nif;
static int tapfd;

static err_t tap_linkoutput(struct netif *n, struct pbuf *p)
{
	static char out[FRAME_MAX];
	u16_t len = pbuf_copy_partial(p, out, sizeof(out), 0);

	return write(tapfd, out, len) == len ? ERR_OK : ERR_IF;
}

static err_t tap_init(struct netif *n)
{
	struct ifreq ifr;

	tapfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "h1tap0");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (tapfd < 0 || ioctl(tapfd, TUNSETIFF, &ifr) < 0)
		return ERR_IF;
	n->name[0] = 't';
	n->name[1] = 'p';
	n->output = etharp_output;
	n->linkoutput = tap_linkoutput;
	n->mtu = 1500;
	n->hwaddr_len = 6;
	memcpy(n->hwaddr, (u8_t[6]){0x02, 0x00, 0x5e, 0x77, 0x00, 0x02}, 6);
	n->flags =
	        NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
	return ERR_OK;
}

/* Frames in: one pbuf each, queued to the tcpip thread. */
static void *tap_reader(void *arg)
{
	static char in[FRAME_MAX];
	struct netif *n = arg;

	for (;;) {
		ssize_t len = read(tapfd, in, sizeof(in));
		struct pbuf *p;

		if (len <= 0)
			continue;
		p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
		if (!p)
			continue;
		pbuf_take(p, in, (u16_t)len);
		if (n->input(p, n) != ERR_OK)
			pbuf_free(p);
	}
	return NULL;
}

static void init_done(void *arg)
{
	sys_sem_signal((sys_sem_t *)arg);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	long long total, done = 0;
	struct sockaddr_in a;
	ip4_addr_t ip, mask, gw;
	sys_sem_t sem;
	pthread_t th;
	double t0, t;
	int rx, s;

	if (argc != 4) {
		fprintf(stderr, "usage: lwip_tap tx|rx BYTES PORT\n");
		return 1;
	}
	rx = !strcmp(argv[1], "rx");
	total = strtoll(argv[2], NULL, 0);
	sys_sem_new(&sem, 0);
	tcpip_init(init_done, &sem);
	sys_sem_wait(&sem);
	IP4_ADDR(&ip, 10, 77, 0, 2);
	IP4_ADDR(&mask, 255, 255, 255, 0);
	IP4_ADDR(&gw, 0, 0, 0, 0);
	LOCK_TCPIP_CORE();
	if (!netif_add(&nif, &ip, &mask, &gw, NULL, tap_init, tcpip_input)) {
		UNLOCK_TCPIP_CORE();
		fprintf(stderr, "lwip_tap: cannot attach h1tap0\n");
		return 1;
	}
	netif_set_default(&nif);
	netif_set_up(&nif);
	UNLOCK_TCPIP_CORE();
	pthread_create(&th, NULL, tap_reader, &nif);

	s = lwip_socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = lwip_htons((u16_t)atoi(argv[3]));
	a.sin_addr.s_addr = lwip_htonl(0x0a4d0001);
	if (lwip_connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "lwip_tap: connect failed\n");
		return 1;
	}
	memset(buf, 0x5a, sizeof(buf));
	t0 = now_s();
	while (done < total) {
		size_t want = total - done < (long long)sizeof(buf) ? (size_t)(total - done)
		                                                    : sizeof(buf);
		ssize_t n = rx ? lwip_recv(s, buf, want, 0) : lwip_send(s, buf, want, 0);

		if (n <= 0) {
			fprintf(stderr, "lwip_tap: %s returned %zd after %lld bytes\n",
			        rx ? "recv" : "send", n, done);
			return 1;
		}
		done += n;
	}
	lwip_shutdown(s, SHUT_WR);
	t = now_s() - t0;
	printf("%s: %.1f MiB in %.2f s (%.1f MiB/s)\n", rx ? "kernel to lwIP" : "lwIP to kernel",
	       done / 1048576.0, t, done / 1048576.0 / t);
	lwip_close(s);
	return 0;
}
