/*
 * taprelay: what QEMU does with a tap, without QEMU: hold the tap's file
 * descriptor and carry its frames to and from a "guest".  The guest here is
 * a second tap, made by this program inside a network namespace, so that
 * the namespace's stack stands for the guest's kernel and its NIC.
 *
 * usage: taprelay TAP NETNS GUEST_IF
 *
 * Started in the namespace of TAP (dom0's), which must exist (ip tuntap add
 * TAP mode tap): it attaches to TAP as QEMU's -netdev tap,ifname=TAP does,
 * then enters the namespace file NETNS (/run/netns/NAME) and makes the tap
 * GUEST_IF there.  It prints "ready" on stdout once both exist, then copies
 * every frame one way and the other until it is killed, or its parent dies.
 * Exit status: 2 on a setup error, 1 on a read or write error.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

static int tap_open(const char *name);
static int relay(int from, int to);

/* tap_open NAME: a descriptor on the tap NAME of the current namespace
 * (made if missing, as a non-persistent tap that goes with the descriptor),
 * or -1 with a message. */
static int tap_open(const char *name)
{
	struct ifreq ifr;
	int fd = -1;

	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		fprintf(stderr, "taprelay: '%s': name too long\n", name);
		goto out;
	}
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "taprelay: cannot open '/dev/net/tun': %s\n", strerror(errno));
		goto out;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "taprelay: cannot attach to tap '%s': %s\n", name, strerror(errno));
		close(fd);
		fd = -1;
	}
out:
	return fd;
}

/* relay FROM TO: copy one frame; 0 on success, -1 with a message. */
static int relay(int from, int to)
{
	char frame[65536];
	ssize_t n;

	n = read(from, frame, sizeof(frame));
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		fprintf(stderr, "taprelay: read: %s\n", strerror(errno));
		return -1;
	}
	/* A tap whose link is down refuses frames (EIO): the frame is lost,
	 * as on a cable that is not plugged in. */
	if (write(to, frame, (size_t)n) < 0 && errno != EIO) {
		fprintf(stderr, "taprelay: write: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct pollfd p[2];
	int ns = -1;
	int rc = 2;

	p[0].fd = -1;
	p[1].fd = -1;
	if (argc != 4) {
		fprintf(stderr, "usage: taprelay TAP NETNS GUEST_IF\n");
		goto out;
	}
	/* The test that started us may be killed: do not outlive it. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() == 1)
		goto out;
	p[0].fd = tap_open(argv[1]);
	if (p[0].fd < 0)
		goto out;
	ns = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
		fprintf(stderr, "taprelay: cannot enter '%s': %s\n", argv[2], strerror(errno));
		goto out;
	}
	p[1].fd = tap_open(argv[3]);
	if (p[1].fd < 0)
		goto out;
	if (printf("ready\n") < 0 || fflush(stdout) != 0)
		goto out;
	p[0].events = POLLIN;
	p[1].events = POLLIN;
	rc = 1;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "taprelay: poll: %s\n", strerror(errno));
			goto out;
		}
		if ((p[0].revents & POLLIN) && relay(p[0].fd, p[1].fd) < 0)
			goto out;
		if ((p[1].revents & POLLIN) && relay(p[1].fd, p[0].fd) < 0)
			goto out;
	}
out:
	if (ns >= 0)
		close(ns);
	if (p[0].fd >= 0)
		close(p[0].fd);
	if (p[1].fd >= 0)
		close(p[1].fd);
	return rc;
}
