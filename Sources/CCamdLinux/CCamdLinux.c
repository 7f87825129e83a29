// See CCamdLinux.h for why each of these exists.
#include "CCamdLinux.h"
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/signalfd.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>

const uint32_t CCAMD_EPOLLIN = EPOLLIN;
const uint32_t CCAMD_EPOLLOUT = EPOLLOUT;
const uint32_t CCAMD_EPOLLERR = EPOLLERR;
const uint32_t CCAMD_EPOLLHUP = EPOLLHUP;
const uint32_t CCAMD_EPOLLRDHUP = EPOLLRDHUP;

int ccamd_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static int epoll_control(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}

int ccamd_epoll_add(int epfd, int fd, uint32_t events, uint64_t data) {
    return epoll_control(epfd, EPOLL_CTL_ADD, fd, events, data);
}

int ccamd_epoll_modify(int epfd, int fd, uint32_t events, uint64_t data) {
    return epoll_control(epfd, EPOLL_CTL_MOD, fd, events, data);
}

int ccamd_epoll_delete(int epfd, int fd) {
    return epoll_control(epfd, EPOLL_CTL_DEL, fd, 0, 0);
}

int ccamd_epoll_wait(int epfd, CCamdEpollEvent *events, int maxevents, int timeout_ms) {
    struct epoll_event buf[256];
    if (maxevents > 256) maxevents = 256;
    int n = epoll_wait(epfd, buf, maxevents, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i].events = buf[i].events;
        events[i].data = buf[i].data.u64;
    }
    return n;
}

int ccamd_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int ccamd_timerfd(int64_t interval_ns) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) return fd;
    struct itimerspec spec;
    spec.it_interval.tv_sec = interval_ns / 1000000000;
    spec.it_interval.tv_nsec = interval_ns % 1000000000;
    spec.it_value = spec.it_interval;
    if (timerfd_settime(fd, 0, &spec, NULL) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int make_sigset(sigset_t *set, const int *signals, int count) {
    sigemptyset(set);
    for (int i = 0; i < count; i++) sigaddset(set, signals[i]);
    return 0;
}

int ccamd_signalfd(const int *signals, int count) {
    sigset_t set;
    make_sigset(&set, signals, count);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc != 0) { errno = rc; return -1; }
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int ccamd_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info) return -1;
    return (int)info.ssi_signo;
}

int ccamd_accept(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int ccamd_set_notsent_lowat(int fd, int bytes) {
    return setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &bytes, sizeof bytes);
}

int ccamd_unsent_bytes(int fd) {
    int n = 0;
    if (ioctl(fd, SIOCOUTQNSD, &n) < 0) return -1;
    return n;
}

void ccamd_set_thread_name(const char *name) {
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = 0;
    pthread_setname_np(pthread_self(), truncated);
}

int ccamd_crypt_matches(const char *password, const char *hash) {
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data) return 0;
    const char *result = crypt_rn(password, hash, data, sizeof *data);
    int match = 0;
    size_t length = strlen(hash);
    if (result && result[0] != '*' && strlen(result) == length) {
        unsigned char diff = 0;
        for (size_t i = 0; i < length; i++) diff |= (unsigned char)(result[i] ^ hash[i]);
        match = diff == 0;
    }
    explicit_bzero(data, sizeof *data);
    free(data);
    return match;
}

int ccamd_crypt_supported(const char *hash) {
    if (hash[0] != '$') return 0;
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data) return 0;
    const char *result = crypt_rn("", hash, data, sizeof *data);
    int ok = result && result[0] != '*';
    free(data);
    return ok;
}

int ccamd_crypt_hash(const char *password, char *out, int out_size) {
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof salt)) return -1;
    struct crypt_data *data = calloc(1, sizeof *data);
    if (!data) return -1;
    const char *result = crypt_rn(password, salt, data, sizeof *data);
    int rc = -1;
    if (result && result[0] != '*' && (int)strlen(result) < out_size) {
        strcpy(out, result);
        rc = 0;
    }
    explicit_bzero(data, sizeof *data);
    free(data);
    return rc;
}

int ccamd_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) < 0) return -1;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

int ccamd_peer_groups(int fd, uint32_t *groups, int max) {
    socklen_t length = (socklen_t)(max * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &length) < 0) return -1;
    return (int)(length / sizeof(gid_t));
}

// ccamd_line_stream: the cookie keeps a partial line until its newline arrives.
typedef struct {
    void (*emit)(const char *line, int length);
    char line[1024];
    int used;
} CCamdLineCookie;

static ssize_t ccamd_line_write(void *cookie, const char *buffer, size_t size) {
    CCamdLineCookie *c = cookie;
    for (size_t i = 0; i < size; i++) {
        if (buffer[i] == '\n' || c->used == (int)sizeof c->line) {
            c->emit(c->line, c->used);
            c->used = 0;
            if (buffer[i] == '\n') continue;
        }
        c->line[c->used++] = buffer[i];
    }
    return (ssize_t)size;
}

void *ccamd_line_stream(void (*emit)(const char *line, int length)) {
    CCamdLineCookie *cookie = calloc(1, sizeof *cookie);
    if (!cookie) return NULL;
    cookie->emit = emit;
    cookie_io_functions_t functions = {.read = NULL, .write = ccamd_line_write, .seek = NULL, .close = NULL};
    FILE *stream = fopencookie(cookie, "w", functions);
    if (!stream) { free(cookie); return NULL; }
    // Unbuffered: each fprintf reaches the cookie at once (libv4l2 flushes anyway).
    setvbuf(stream, NULL, _IONBF, 0);
    return stream;
}
