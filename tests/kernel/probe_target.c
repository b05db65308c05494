// Helper process for the attach tests (built by the tests with cc):
//   probe_target call N     call bbx_probe_target(i, 7 * i) for i = 1..N (a uprobe target)
//   probe_target syscalls N make N getppid() syscalls
//   probe_target spin MS    burn CPU for MS milliseconds
//   probe_target udp ADDR PORT N   send N UDP datagrams
//   probe_target sockets N  create and close N UDP sockets
// Each mode first prints "ready PID" and, with a leading "wait" argument, waits for a
// line on stdin before starting.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) long bbx_probe_target(long a, long b)
{
	asm volatile("" ::: "memory");
	return a * 1000 + b;
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	int i = 1;
	long sum = 0;

	if (argc > i && !strcmp(argv[i], "wait")) {
		char line[64];
		printf("ready %d\n", getpid());
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return 3;
		i++;
	}
	if (argc <= i)
		return 2;
	const char *mode = argv[i++];
	if (!strcmp(mode, "call") && argc > i) {
		long n = atol(argv[i]);
		for (long k = 1; k <= n; k++) {
			sum += bbx_probe_target(k, 7 * k);
			usleep(1000);
		}
	} else if (!strcmp(mode, "syscalls") && argc > i) {
		long n = atol(argv[i]);
		for (long k = 0; k < n; k++)
			sum += getppid();
	} else if (!strcmp(mode, "spin") && argc > i) {
		double end = now_ms() + atol(argv[i]);
		while (now_ms() < end)
			sum++;
	} else if (!strcmp(mode, "udp") && argc > i + 2) {
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[i + 1])) };
		int fd = socket(AF_INET, SOCK_DGRAM, 0);
		long n = atol(argv[i + 2]);
		if (fd < 0 || inet_pton(AF_INET, argv[i], &to.sin_addr) != 1)
			return 4;
		for (long k = 0; k < n; k++) {
			sendto(fd, "bpfbox", 6, 0, (struct sockaddr *)&to, sizeof(to));
			usleep(2000);
		}
		close(fd);
	} else if (!strcmp(mode, "sockets") && argc > i) {
		long n = atol(argv[i]);
		for (long k = 0; k < n; k++) {
			int fd = socket(AF_INET, SOCK_DGRAM, 0);
			if (fd >= 0)
				close(fd);
		}
	} else {
		return 2;
	}
	printf("done %ld\n", sum);
	return 0;
}
