/* The deterministic workload of the bpftrace comparison corpus
 * (crates/cli/tests/trace_compare.rs, crates/trace/tests/corpus/).
 *
 * Every subcommand makes a known number of events from this process's own pid, so a
 * script that filters on `pid == cpid` (or `comm == "workload"`) counts exactly the
 * same under bpftrace and bpfbox. Built statically (`cc -O0 -g -static`) so that no
 * dynamic loader opens files before main.
 *
 *   workload STEP [STEP ...]      steps run in order, each one of:
 *   open N PATH        openat(PATH) N times (closing each), then openat of the missing
 *                      file /nonexistent/bpfbox-workload once per 2 opens (N/2 times)
 *   call N             workload_fn(i) for i = 0..N-1, workload_ret(i) (returns i * 10)
 *                      and workload_str("call-<i%3>") for each
 *   write N            write(2) of i+1 bytes to /dev/null for i = 0..N-1
 *   read N             read(2) of 64 bytes from /dev/zero N times
 *   sleep MS           nanosleep MS milliseconds
 *   kill N             kill(getpid(), SIGUSR1) N times (handled, ignored)
 *   fork N             fork N children that _exit(i) at once; each is waited for
 *   exec PATH [ARG]    execve PATH (the last step: nothing after it runs)
 *   tcp N              N TCP connections over 127.0.0.1 to a listener of its own
 *   disk N DIR         N 4 KiB O_DIRECT writes + fsync to a file in DIR (block I/O)
 *   spin MS            busy loop for MS milliseconds
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Uprobe targets: never inlined, never folded away. */
__attribute__((noinline)) int workload_fn(int i) {
    __asm__ volatile("" ::: "memory");
    return i + 1;
}

__attribute__((noinline)) long workload_ret(int i) {
    __asm__ volatile("" ::: "memory");
    return (long)i * 10;
}

__attribute__((noinline)) int workload_str(const char *s) {
    __asm__ volatile("" ::: "memory");
    return (int)strlen(s);
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

static long num(const char *s) {
    char *end;
    long v = strtol(s, &end, 0);
    if (*s == 0 || *end != 0 || v < 0)
        die("workload: a number was expected");
    return v;
}

static void do_open(long n, const char *path) {
    for (long i = 0; i < n; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            die(path);
        close(fd);
    }
    for (long i = 0; i < n / 2; i++) {
        int fd = open("/nonexistent/bpfbox-workload", O_RDONLY);
        if (fd >= 0)
            close(fd);
    }
}

static void do_call(long n) {
    static const char *names[] = {"call-0", "call-1", "call-2"};
    long total = 0;
    for (long i = 0; i < n; i++) {
        total += workload_fn((int)i);
        total += workload_ret((int)i);
        total += workload_str(names[i % 3]);
    }
    if (total < 0)
        printf("%ld\n", total);
}

static void do_write(long n) {
    static char buf[4096];
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0)
        die("/dev/null");
    for (long i = 0; i < n; i++)
        if (write(fd, buf, (size_t)(i + 1) % sizeof buf) < 0)
            die("write");
    close(fd);
}

static void do_read(long n) {
    char buf[64];
    int fd = open("/dev/zero", O_RDONLY);
    if (fd < 0)
        die("/dev/zero");
    for (long i = 0; i < n; i++)
        if (read(fd, buf, sizeof buf) < 0)
            die("read");
    close(fd);
}

static void do_sleep(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void on_usr1(int sig) { (void)sig; }

static void do_kill(long n) {
    signal(SIGUSR1, on_usr1);
    for (long i = 0; i < n; i++)
        kill(getpid(), SIGUSR1);
}

static void do_fork(long n) {
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0)
            die("fork");
        if (p == 0)
            _exit((int)i);
        waitpid(p, NULL, 0);
    }
}

static void do_tcp(long n) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 16) ||
        getsockname(l, (struct sockaddr *)&a, &alen))
        die("listen");
    for (long i = 0; i < n; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a))
            die("connect");
        int s = accept(l, NULL, NULL);
        if (s < 0)
            die("accept");
        if (write(c, "ping", 4) != 4)
            die("send");
        char b[4];
        if (read(s, b, 4) != 4)
            die("recv");
        close(c);
        close(s);
    }
    close(l);
}

static void do_disk(long n, const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/workload-disk-%d", dir, (int)getpid());
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_DIRECT, 0600);
    if (fd < 0)
        fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0)
        die(path);
    void *buf;
    if (posix_memalign(&buf, 4096, 4096))
        die("posix_memalign");
    memset(buf, 'w', 4096);
    for (long i = 0; i < n; i++) {
        if (pwrite(fd, buf, 4096, (off_t)i * 4096) != 4096)
            die("pwrite");
        fsync(fd);
    }
    free(buf);
    close(fd);
    unlink(path);
}

static void do_spin(long ms) {
    struct timespec s, t;
    clock_gettime(CLOCK_MONOTONIC, &s);
    volatile unsigned long x = 0;
    do {
        for (int i = 0; i < 10000; i++)
            x++;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - s.tv_sec) * 1000 + (t.tv_nsec - s.tv_nsec) / 1000000 < ms);
}

int main(int argc, char **argv) {
    int i = 1;
    if (argc < 2) {
        fprintf(stderr, "usage: workload STEP [ARGS] [STEP [ARGS]...]\n");
        return 2;
    }
    while (i < argc) {
        const char *cmd = argv[i++];
#define ARG() (i < argc ? argv[i++] : (die(cmd), ""))
        if (!strcmp(cmd, "open")) {
            long n = num(ARG());
            do_open(n, ARG());
        } else if (!strcmp(cmd, "call")) {
            do_call(num(ARG()));
        } else if (!strcmp(cmd, "write")) {
            do_write(num(ARG()));
        } else if (!strcmp(cmd, "read")) {
            do_read(num(ARG()));
        } else if (!strcmp(cmd, "sleep")) {
            do_sleep(num(ARG()));
        } else if (!strcmp(cmd, "kill")) {
            do_kill(num(ARG()));
        } else if (!strcmp(cmd, "fork")) {
            do_fork(num(ARG()));
        } else if (!strcmp(cmd, "tcp")) {
            do_tcp(num(ARG()));
        } else if (!strcmp(cmd, "disk")) {
            long n = num(ARG());
            do_disk(n, ARG());
        } else if (!strcmp(cmd, "spin")) {
            do_spin(num(ARG()));
        } else if (!strcmp(cmd, "exec")) {
            const char *path = ARG();
            execv(path, &argv[i - 1]);
            die(path);
        } else {
            fprintf(stderr, "workload: unknown step `%s`\n", cmd);
            return 2;
        }
#undef ARG
    }
    return 0;
}
