// Linux syscalls that Swift's Glibc module does not expose (epoll, eventfd, timerfd, signalfd, accept4)
// or exposes awkwardly (struct epoll_event is packed on x86_64 only). Each wrapper returns what the
// syscall returns; errno is left for the caller (CamdSystem reads it immediately).
#pragma once
#include <stdint.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/socket.h>

/// An epoll event with a portable, unpacked layout; ccamd_epoll_wait converts.
typedef struct {
    uint32_t events;
    uint64_t data;
} CCamdEpollEvent;

extern const uint32_t CCAMD_EPOLLIN;
extern const uint32_t CCAMD_EPOLLOUT;
extern const uint32_t CCAMD_EPOLLERR;
extern const uint32_t CCAMD_EPOLLHUP;
extern const uint32_t CCAMD_EPOLLRDHUP;

int ccamd_epoll_create(void);
/// epoll_ctl's three operations by name (EPOLL_CTL_ADD, _MOD, _DEL), each with `data` in epoll_event.data.u64.
int ccamd_epoll_add(int epfd, int fd, uint32_t events, uint64_t data);
int ccamd_epoll_modify(int epfd, int fd, uint32_t events, uint64_t data);
int ccamd_epoll_delete(int epfd, int fd);
/// Waits like epoll_wait and copies up to maxevents results into `events`.
int ccamd_epoll_wait(int epfd, CCamdEpollEvent *events, int maxevents, int timeout_ms);

/// Non-blocking, close-on-exec eventfd.
int ccamd_eventfd(void);
/// Non-blocking, close-on-exec CLOCK_MONOTONIC timerfd firing every interval_ns (first after interval_ns).
int ccamd_timerfd(int64_t interval_ns);
/// Blocks the given signals for the calling thread and returns a non-blocking signalfd for them.
/// Call it before starting other threads so they inherit the mask.
int ccamd_signalfd(const int *signals, int count);
/// Reads one signalfd_siginfo and returns the signal number, or -1.
int ccamd_signalfd_read(int fd);

/// accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC.
int ccamd_accept(int fd, struct sockaddr *addr, socklen_t *len);

/// TCP_NOTSENT_LOWAT: the socket is writable only while its unsent bytes are below `bytes`.
int ccamd_set_notsent_lowat(int fd, int bytes);
/// Unsent bytes in the socket's send queue (SIOCOUTQNSD), or -1.
int ccamd_unsent_bytes(int fd);

/// Names the calling thread (pthread_setname_np needs _GNU_SOURCE, which Swift's Glibc lacks).
void ccamd_set_thread_name(const char *name);

/// 1 if crypt(3) of `password` with the settings in `hash` reproduces `hash`, else 0 (libxcrypt's
/// crypt_rn with its 32 KiB state on the heap, so the reactor's stack stays small; constant-time compare).
int ccamd_crypt_matches(const char *password, const char *hash);
/// 1 if `hash` names a method this libcrypt supports ($y$, $6$, $5$, $2b$, …), else 0.
int ccamd_crypt_supported(const char *hash);
/// Writes a new "$6$…" (SHA-512) hash of `password` with a random salt into `out`; 0 on success.
int ccamd_crypt_hash(const char *password, char *out, int out_size);

/// SO_PEERCRED of a connected Unix socket (struct ucred needs _GNU_SOURCE, which Swift's Glibc lacks).
int ccamd_peer_credentials(int fd, int32_t *pid, uint32_t *uid, uint32_t *gid);
/// SO_PEERGROUPS: the peer's supplementary groups; returns how many were stored (at most max), or -1.
int ccamd_peer_groups(int fd, uint32_t *groups, int max);

/// A FILE* (fopencookie, GNU only, so not visible to Swift) whose writes are cut into lines and handed to
/// `emit` one line at a time, without the newline. For libraries that print diagnostics to a FILE*
/// (libv4l2's v4l2_log_file), so that their words reach camd's logger instead of raw stderr. Lines longer
/// than 1 KiB are cut. The stream lives for the process; returns NULL on failure.
void *ccamd_line_stream(void (*emit)(const char *line, int length));
