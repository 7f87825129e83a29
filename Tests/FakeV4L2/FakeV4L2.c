// FakeV4L2: emulates a UVC camera at the libv4l2 level (v4l2_open/ioctl/mmap/munmap/close), so that
// camd's real capture code can be tested without a camera. Loaded with LD_PRELOAD into camd.
//
// Environment:
//   FAKE_V4L2_DEVICE   path the fake answers for (default /dev/video-fake); other paths: ENOENT
//   FAKE_V4L2_CONTROL  file whose first word is the mode, re-read on every open and DQBUF:
//                        ok        frames flow
//                        unplug    open fails with ENOENT, DQBUF with ENODEV (camera pulled out)
//                        denied    open fails with EACCES (the node is back, but not for camd)
//                        stall     the device stops delivering frames (timeouts)
//                        hang      DQBUF blocks inside the ioctl until the mode changes (a stuck driver)
//                        truncate  frames lose their second half (MJPEG: no EOI; raw: a short buffer)
//                        drop      each DQBUF first loses one frame, as a driver does on a busy bus: the buffer
//                                  sequence number skips one (and in H.264 mode one access unit is never delivered)
//   FAKE_V4L2_JPEG     a JPEG file served as every MJPEG frame (typically without DHT, like UVC cameras)
//   FAKE_V4L2_FORMATS  the formats listed, in this order: "MJPG,YUYV" (default), or any of MJPG YUYV UYVY YVYU NV12
//                      NV21 NV16 YU12 YV12 GREY RGB3 BGR3 RGBP BA81 GBRG GRBG RGGB H264 (H264 without FAKE_V4L2_H264:
//                      listed, filled with junk), comma-separated; a leading '*' lists it as emulated by libv4l2
//                      (V4L2_FMT_FLAG_EMULATED). With FAKE_V4L2_H264 set the default is "MJPG,YUYV,H264".
//   FAKE_V4L2_H264     an Annex-B H.264 file (a camera's own encoder, like a C920's): H264 is offered at the size its
//                      first SPS gives, and each DQBUF delivers exactly one access unit of it, looping the file. A unit
//                      larger than the buffer (sizeimage = width × height) is cut to the buffer and flagged
//                      V4L2_BUF_FLAG_ERROR, as uvcvideo does with an overflowing payload; "truncate" halves each unit.
//   FAKE_V4L2_PAD      extra bytes at the end of each raw row (bytesperline > width × bytes per pixel; default 0)
//   FAKE_V4L2_CAPS     "capture" (default), "output" (not a capture device), "nostream" (no streaming I/O)
//   FAKE_V4L2_OPEN_ERRNO  make open fail with this errno (e.g. 13 = EACCES)
//   FAKE_V4L2_LOG      file to which OPEN, CLOSE, S_FMT, S_PARM and S_CTRL requests are appended
//   FAKE_V4L2_DV       "1": an HDMI receiver (below) instead of a UVC camera
//   FAKE_V4L2_MODE     "WxH@FPS" (e.g. 1920x1080@60): one more YUYV size and frame rate offered (benchmarks)
//   FAKE_V4L2_HOLD_LOG file to which each buffer's hold time is appended as "HOLD <microseconds>", from its DQBUF
//                      to its QBUF: how long camd keeps the driver's buffer (written when the queue's owner closes)
//
// Like uvcvideo and vivid, the device may be opened many times (each open may query it), but its one
// streaming queue belongs to the first descriptor that configures it (S_FMT, S_PARM, REQBUFS, STREAMON):
// those calls, and QBUF/DQBUF/STREAMOFF, from any other descriptor fail with EBUSY until the owner closes.
// S_FMT fails with EBUSY while buffers are allocated, S_PARM and REQBUFS while streaming, REQBUFS while
// buffers are still mapped. If FAKE_V4L2_DEVICE names a file that exists, owning the queue opens that file
// (so /proc shows who holds the camera) and takes flock(LOCK_EX) on it until the owner closes: another
// process holding the lock (`flock FILE sleep 60`) makes the queue busy, as another program streaming would.
// Raw frames (every format above) show four vertical bars: white, red, green, blue — RGB formats and Bayer with full
// values (255/0), YUV formats and GREY with BT.601 limited-range values. S_FMT with a format not listed answers with
// the first listed one (as V4L2 requires and vivid does, falling back to its default); bytesperline and sizeimage
// are filled as a driver does (planar formats in one buffer: chroma after bytesperline × height).
//
// HDMI mode (FAKE_V4L2_DV=1), like tc358743 or vivid's HDMI input: input 0 is "HDMI 1" with
// V4L2_IN_CAP_DV_TIMINGS. The control file's second word is what the source sends, re-read ~every frame:
// WIDTHxHEIGHT@FPS (default 1280x720@60), nosignal, nolock or range — VIDIOC_QUERY_DV_TIMINGS then gives the
// timings or ENOLINK, ENOLCK, ERANGE. S_DV_TIMINGS (EBUSY while buffers exist) sets the size S_FMT adjusts every
// request to, and the frame rate. A change of that word raises V4L2_EVENT_SOURCE_CHANGE on every descriptor that
// subscribed (poll: POLLPRI; VIDIOC_DQEVENT) and stops the frames until the stream is restarted (STREAMON), as a
// bridge does; without a signal no frames come. (Use YUYV: MJPEG frames stay FAKE_V4L2_JPEG's picture.) Descriptors are then AF_UNIX sockets, not timerfds: a thread of
// the fake paces frames by writing a byte (POLLIN) and raises events with one MSG_OOB byte (POLLPRI), which is
// read by DQEVENT before any frame byte behind it.
#include "FakeV4L2.h"
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <pthread.h>
#include <linux/videodev2.h>

#define MAX_BUFFERS 8
#define OFFSET_STEP 0x1000000

#define MAX_HANDLES 8
// Open descriptors: timerfds handed to the caller (pollable). The queue's owner also holds the backing file.
static int handles[MAX_HANDLES] = {-1, -1, -1, -1, -1, -1, -1, -1};
static int owner_fd = -1, owner_backing = -1;
static char device_path[4096];
static int mapped;
static uint32_t cur_format, cur_width, cur_height, cur_fps = 30;
static uint8_t *buffers[MAX_BUFFERS];
static size_t buffer_length;
static int queued[MAX_BUFFERS];
static int buffer_count;
static uint32_t sequence;
static int streaming;
static uint8_t *jpeg_data;
static size_t jpeg_size;
static uint32_t jpeg_width = 640, jpeg_height = 480;
static int32_t ctrl_values[3] = {128, 32, 4600};
#define MAX_H264_UNITS 4096
static uint8_t *h264_data;
static size_t h264_unit_start[MAX_H264_UNITS], h264_unit_length[MAX_H264_UNITS];
static int h264_units, h264_next;
static uint32_t h264_width = 640, h264_height = 480;

static const char *env(const char *name, const char *fallback) {
    const char *value = getenv(name);
    return value && *value ? value : fallback;
}

static void log_line(const char *fmt, ...) {
    const char *path = getenv("FAKE_V4L2_LOG");
    if (!path) return;
    FILE *f = fopen(path, "a");
    if (!f) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
    fclose(f);
}

static char mode_buf[32];
static const char *mode(void) {
    const char *path = getenv("FAKE_V4L2_CONTROL");
    strcpy(mode_buf, "ok");
    if (!path) return mode_buf;
    FILE *f = fopen(path, "r");
    if (!f) return mode_buf;
    if (fscanf(f, "%31s", mode_buf) != 1) strcpy(mode_buf, "ok");
    fclose(f);
    return mode_buf;
}

static uint32_t format_at(unsigned index);
static int format_emulated(uint32_t fourcc);
static int has_format(uint32_t fourcc) {
    for (unsigned i = 0; format_at(i); i++) if (format_at(i) == fourcc) return 1;
    return 0;
}

/// The whole file an environment variable names (malloc'd; *size its length), or NULL when it is unset, cannot be
/// read or is empty.
static uint8_t *read_env_file(const char *variable, size_t *size) {
    const char *path = getenv(variable);
    if (!path) return NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long length = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (length <= 0) { fclose(f); return NULL; }
    uint8_t *data = malloc((size_t)length);
    *size = fread(data, 1, (size_t)length, f);
    fclose(f);
    return data;
}

static void load_jpeg(void) {
    if (jpeg_data) return;
    jpeg_data = read_env_file("FAKE_V4L2_JPEG", &jpeg_size);
    if (!jpeg_data) return;
    // The picture size from the SOF marker.
    for (size_t i = 2; i + 9 < jpeg_size;) {
        if (jpeg_data[i] != 0xFF) break;
        uint8_t marker = jpeg_data[i + 1];
        size_t length = (size_t)jpeg_data[i + 2] << 8 | jpeg_data[i + 3];
        if (marker >= 0xC0 && marker <= 0xC2) {
            jpeg_height = (uint32_t)jpeg_data[i + 5] << 8 | jpeg_data[i + 6];
            jpeg_width = (uint32_t)jpeg_data[i + 7] << 8 | jpeg_data[i + 8];
            break;
        }
        i += 2 + length;
    }
}


// ---- H.264 mode (FAKE_V4L2_H264): a pre-encoded stream cut into access units ----

/// Exp-Golomb reading of an SPS's RBSP (emulation-prevention bytes already removed); reads past the end give 0s.
struct bits { const uint8_t *p; size_t size, pos; };
static unsigned bit(struct bits *b) {
    if (b->pos >= b->size * 8) { b->pos++; return 0; }
    unsigned v = (b->p[b->pos / 8] >> (7 - b->pos % 8)) & 1;
    b->pos++;
    return v;
}
static unsigned bits_n(struct bits *b, int n) { unsigned v = 0; while (n-- > 0) v = v << 1 | bit(b); return v; }
static unsigned ue(struct bits *b) {
    int zeros = 0;
    while (!bit(b) && zeros < 31) zeros++;
    return (1u << zeros) - 1 + bits_n(b, zeros);
}
static int se(struct bits *b) { unsigned v = ue(b); return v & 1 ? (int)((v + 1) / 2) : -(int)(v / 2); }

/// The picture size an SPS (NAL header first) gives; the stream's first SPS sets what the fake offers. Scaling
/// matrices are skipped over; a size that makes no sense leaves the default.
static void h264_size_from_sps(const uint8_t *nal, size_t size) {
    uint8_t rbsp[256];
    size_t n = 0;
    for (size_t i = 1; i < size && n < sizeof rbsp; i++) {
        if (i >= 3 && nal[i] == 3 && nal[i - 1] == 0 && nal[i - 2] == 0) continue;
        rbsp[n++] = nal[i];
    }
    struct bits b = {rbsp, n, 0};
    unsigned profile = bits_n(&b, 8);
    bits_n(&b, 16);  // constraint flags, level
    ue(&b);          // seq_parameter_set_id
    unsigned chroma = 1;
    if (profile == 100 || profile == 110 || profile == 122 || profile == 244 || profile == 44 || profile == 83
        || profile == 86 || profile == 118 || profile == 128 || profile == 138 || profile == 139 || profile == 134) {
        chroma = ue(&b);
        if (chroma == 3) bit(&b);
        ue(&b); ue(&b); bit(&b);  // bit depths, qpprime_y_zero_transform_bypass
        if (bit(&b)) {            // seq_scaling_matrix_present: skip each list's deltas
            for (int i = 0; i < (chroma == 3 ? 12 : 8); i++) {
                if (!bit(&b)) continue;
                int last = 8, next = 8;
                for (int j = 0; j < (i < 6 ? 16 : 64) && next != 0; j++) { next = (last + se(&b) + 256) % 256; if (next) last = next; }
            }
        }
    }
    ue(&b);  // log2_max_frame_num_minus4
    unsigned poc = ue(&b);
    if (poc == 0) ue(&b);
    else if (poc == 1) {
        bit(&b); se(&b); se(&b);
        unsigned cycle = ue(&b);
        for (unsigned i = 0; i < cycle && i < 256; i++) se(&b);
    }
    ue(&b); bit(&b);  // max_num_ref_frames, gaps_in_frame_num_allowed
    unsigned mbs_w = ue(&b) + 1, map_h = ue(&b) + 1;
    unsigned frame_mbs_only = bit(&b);
    if (!frame_mbs_only) bit(&b);
    bit(&b);  // direct_8x8_inference
    unsigned crop_l = 0, crop_r = 0, crop_t = 0, crop_b = 0;
    if (bit(&b)) { crop_l = ue(&b); crop_r = ue(&b); crop_t = ue(&b); crop_b = ue(&b); }
    unsigned unit_x = chroma == 0 || chroma == 3 ? 1 : 2, unit_y = (chroma == 1 ? 2 : 1) * (2 - frame_mbs_only);
    long w = (long)mbs_w * 16 - (long)unit_x * (crop_l + crop_r);
    long h = (long)map_h * 16 * (2 - frame_mbs_only) - (long)unit_y * (crop_t + crop_b);
    if (w >= 16 && h >= 16 && w <= 4096 && h <= 4096) { h264_width = (uint32_t)w; h264_height = (uint32_t)h; }
}

/// Loads FAKE_V4L2_H264 and cuts it into access units: a unit starts at an AUD, SPS, PPS or SEI, or at a slice whose
/// first_mb_in_slice is 0 (the first bit after its header set), once the unit before it holds a slice.
static void load_h264(void) {
    if (h264_data) return;
    size_t got = 0;
    uint8_t *data = read_env_file("FAKE_V4L2_H264", &got);
    if (!data) return;
    int seen_slice = 0, have_sps = 0;
    h264_units = 0;
    for (size_t i = 0; i + 3 < got; i++) {
        if (data[i] != 0 || data[i + 1] != 0 || data[i + 2] != 1) continue;
        size_t start = i > 0 && data[i - 1] == 0 ? i - 1 : i;  // the 4-byte start code's leading zero
        uint8_t type = data[i + 3] & 0x1F;
        int slice = type == 1 || type == 5;
        int first_slice = slice && i + 4 < got && (data[i + 4] & 0x80);
        int boundary = seen_slice && (type == 9 || type == 7 || type == 8 || type == 6 || first_slice);
        if (h264_units == 0 || boundary) {
            if (h264_units > 0) h264_unit_length[h264_units - 1] = start - h264_unit_start[h264_units - 1];
            if (h264_units == MAX_H264_UNITS) break;
            h264_unit_start[h264_units] = h264_units == 0 ? 0 : start;
            h264_units++;
            seen_slice = 0;
        }
        if (slice) seen_slice = 1;
        if (type == 7 && !have_sps) {
            have_sps = 1;
            size_t end = i + 3;
            while (end + 2 < got && !(data[end] == 0 && data[end + 1] == 0 && data[end + 2] <= 1)) end++;
            h264_size_from_sps(data + i + 3, end - (i + 3));
        }
        i += 2;
    }
    if (h264_units > 0 && h264_unit_length[h264_units - 1] == 0) h264_unit_length[h264_units - 1] = got - h264_unit_start[h264_units - 1];
    h264_data = data;
}

/// The next access unit into `dst` (at most `capacity` bytes): its bytesused, and *overflow when it was cut.
static uint32_t next_h264_unit(uint8_t *dst, size_t capacity, int *overflow) {
    size_t length = h264_unit_length[h264_next];
    *overflow = length > capacity;
    if (*overflow) length = capacity;
    memcpy(dst, h264_data + h264_unit_start[h264_next], length);
    h264_next = (h264_next + 1) % h264_units;
    return (uint32_t)length;
}

// ---- HDMI mode (FAKE_V4L2_DV=1): DV timings, source-change events, frames paced by the fake's thread ----

static int slot_of(int fd);
static size_t image_size(void);

static pthread_mutex_t dv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t dv_thread_once = PTHREAD_ONCE_INIT;
static int dv_peer[MAX_HANDLES] = {-1, -1, -1, -1, -1, -1, -1, -1};  // the fake's end of each handle
static int dv_subscribed[MAX_HANDLES], dv_event[MAX_HANDLES], dv_frame[MAX_HANDLES];
static int dv_stream_slot = -1;  // the handle streaming (STREAMON .. STREAMOFF/close)
static int dv_halted;            // the source changed while streaming: no frames until STREAMON
static uint32_t dv_event_sequence;
static char dv_seen[32];         // the source word the thread last acted on
static struct v4l2_dv_timings dv_current;  // S_DV_TIMINGS (the receiver's configured timings)

static int dv_enabled(void) {
    const char *v = getenv("FAKE_V4L2_DV");
    return v && strcmp(v, "1") == 0;
}

/// The control file's second word: what the HDMI source sends now.
static void dv_word(char out[32]) {
    strcpy(out, "1280x720@60");
    const char *path = getenv("FAKE_V4L2_CONTROL");
    if (!path) return;
    FILE *f = fopen(path, "r");
    if (!f) return;
    char first[32], second[32];
    if (fscanf(f, "%31s %31s", first, second) == 2) strcpy(out, second);
    fclose(f);
}

/// CVT-reduced-blanking-like porches, and the pixel clock that gives exactly `fps`.
static void dv_fill(struct v4l2_dv_timings *t, uint32_t width, uint32_t height, uint32_t fps) {
    memset(t, 0, sizeof *t);
    t->type = V4L2_DV_BT_656_1120;
    t->bt.width = width;
    t->bt.height = height;
    t->bt.hfrontporch = 48; t->bt.hsync = 32; t->bt.hbackporch = 80;
    t->bt.vfrontporch = 3; t->bt.vsync = 5; t->bt.vbackporch = 20;
    t->bt.pixelclock = (uint64_t)(width + 160) * (height + 28) * fps;
}

/// What the receiver detects: 0 and the timings, or QUERY_DV_TIMINGS's errno.
static int dv_detect(struct v4l2_dv_timings *t) {
    char word[32];
    dv_word(word);
    if (strcmp(word, "nosignal") == 0) return ENOLINK;
    if (strcmp(word, "nolock") == 0) return ENOLCK;
    unsigned width = 0, height = 0, fps = 0;
    if (strcmp(word, "range") == 0 || sscanf(word, "%ux%u@%u", &width, &height, &fps) != 3 || width < 16
        || height < 16 || width > 4096 || height > 2160 || fps < 1 || fps > 240 || width % 2) return ERANGE;
    dv_fill(t, width, height, fps);
    return 0;
}

static uint32_t dv_fps(void) {
    uint64_t total = (uint64_t)(dv_current.bt.width + 160) * (dv_current.bt.height + 28);
    uint32_t fps = total ? (uint32_t)(dv_current.bt.pixelclock / total) : 30;
    return fps ? fps : 30;
}

/// The source: once a frame interval, notice a new source word (an event for every subscriber; a streaming
/// receiver stops delivering), and hand the streaming handle a frame while there is a signal.
static void *dv_source(void *unused) {
    (void)unused;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        pthread_mutex_lock(&dv_lock);
        uint32_t fps = dv_fps();
        char word[32];
        dv_word(word);
        if (strcmp(word, dv_seen) != 0) {
            strcpy(dv_seen, word);
            for (int i = 0; i < MAX_HANDLES; i++) {
                if (dv_peer[i] < 0 || !dv_subscribed[i] || dv_event[i]) continue;
                dv_event[i] = 1;
                send(dv_peer[i], "e", 1, MSG_OOB | MSG_DONTWAIT | MSG_NOSIGNAL);
            }
            if (dv_stream_slot >= 0) dv_halted = 1;
        }
        struct v4l2_dv_timings detected;
        int slot = dv_stream_slot;
        if (slot >= 0 && !dv_halted && !dv_frame[slot] && !dv_event[slot] && dv_detect(&detected) == 0) {
            if (send(dv_peer[slot], "f", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) dv_frame[slot] = 1;
        }
        pthread_mutex_unlock(&dv_lock);
        next.tv_nsec += 1000000000L / fps;
        while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec + 1) next = now;  // never a burst of late frames
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    return NULL;
}

static void dv_start_source(void) {
    pthread_t thread;
    dv_word(dv_seen);
    if (pthread_create(&thread, NULL, dv_source, NULL) == 0) pthread_detach(thread);
}

/// A new descriptor: one end of a socket pair (the fake keeps the other). The first open of an idle device
/// takes the detected timings as the receiver's own, like a driver's initial state.
static int dv_open_handle(int slot, int first_open) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) return -1;
    pthread_mutex_lock(&dv_lock);
    dv_peer[slot] = pair[1];
    dv_subscribed[slot] = dv_event[slot] = dv_frame[slot] = 0;
    if (first_open) {
        struct v4l2_dv_timings detected;
        if (dv_detect(&detected) == 0) dv_current = detected;
        else if (dv_current.bt.width == 0) dv_fill(&dv_current, 640, 480, 60);
        cur_width = dv_current.bt.width;
        cur_height = dv_current.bt.height;
    }
    pthread_mutex_unlock(&dv_lock);
    pthread_once(&dv_thread_once, dv_start_source);
    return pair[0];
}

static void dv_close_handle(int slot) {
    pthread_mutex_lock(&dv_lock);
    if (dv_peer[slot] >= 0) close(dv_peer[slot]);
    dv_peer[slot] = -1;
    dv_subscribed[slot] = dv_event[slot] = dv_frame[slot] = 0;
    if (dv_stream_slot == slot) dv_stream_slot = -1;
    pthread_mutex_unlock(&dv_lock);
}

/// Empties a handle of frame bytes (never while an event byte waits: a read at its mark would drop it).
static void dv_drain(int slot) {
    char sink[16];
    if (dv_event[slot]) return;
    while (recv(handles[slot], sink, sizeof sink, MSG_DONTWAIT) > 0) {}
    dv_frame[slot] = 0;
}

/// DQBUF's "is a frame due": the timerfd's tick, or in HDMI mode the thread's frame byte.
static int take_frame(int fd) {
    if (!dv_enabled()) {
        uint64_t ticks = 0;
        return read(fd, &ticks, sizeof ticks) == sizeof ticks;
    }
    int slot = slot_of(fd), got = 0;
    pthread_mutex_lock(&dv_lock);
    if (slot >= 0 && dv_frame[slot] && !dv_event[slot]) {
        char c;
        got = recv(fd, &c, 1, MSG_DONTWAIT) == 1;
        dv_frame[slot] = 0;
    }
    pthread_mutex_unlock(&dv_lock);
    return got;
}

static int dv_fail(int err) { errno = err; return -1; }

/// The HDMI requests, and HDMI behaviour of S_FMT, STREAMON and STREAMOFF. Returns 1 (with *rc) when the
/// request is answered here, 0 to let the camera's code answer it.
static int dv_ioctl(int fd, unsigned long request, void *arg, int *rc) {
    int slot = slot_of(fd);
    *rc = 0;
    switch (request) {
    case VIDIOC_ENUMINPUT: {
        struct v4l2_input *in = arg;
        if (in->index != 0) { *rc = dv_fail(EINVAL); return 1; }
        memset(in, 0, sizeof *in);
        strcpy((char *)in->name, "HDMI 1");
        in->type = V4L2_INPUT_TYPE_CAMERA;
        in->capabilities = V4L2_IN_CAP_DV_TIMINGS;
        struct v4l2_dv_timings t;
        int err = dv_detect(&t);
        in->status = err == ENOLINK ? V4L2_IN_ST_NO_SIGNAL : err == ENOLCK ? V4L2_IN_ST_NO_H_LOCK : 0;
        return 1;
    }
    case VIDIOC_G_INPUT: *(int *)arg = 0; return 1;
    case VIDIOC_S_INPUT: if (*(int *)arg != 0) *rc = dv_fail(EINVAL); return 1;
    case VIDIOC_QUERY_DV_TIMINGS: {
        struct v4l2_dv_timings t;
        int err = dv_detect(&t);
        if (err) { *rc = dv_fail(err); return 1; }
        *(struct v4l2_dv_timings *)arg = t;
        return 1;
    }
    case VIDIOC_G_DV_TIMINGS:
        pthread_mutex_lock(&dv_lock);
        *(struct v4l2_dv_timings *)arg = dv_current;
        pthread_mutex_unlock(&dv_lock);
        return 1;
    case VIDIOC_S_DV_TIMINGS: {
        struct v4l2_dv_timings *t = arg;
        // vivid and tc358743: no new timings while the queue has buffers.
        if (buffer_count > 0) { *rc = dv_fail(EBUSY); return 1; }
        if (t->type != V4L2_DV_BT_656_1120 || t->bt.width < 16 || t->bt.height < 16 || t->bt.width > 4096
            || t->bt.height > 2160) { *rc = dv_fail(EINVAL); return 1; }
        pthread_mutex_lock(&dv_lock);
        dv_current = *t;
        cur_width = t->bt.width;
        cur_height = t->bt.height;
        pthread_mutex_unlock(&dv_lock);
        log_line("S_DV_TIMINGS %ux%u@%u", t->bt.width, t->bt.height, dv_fps());
        return 1;
    }
    case VIDIOC_SUBSCRIBE_EVENT:
    case VIDIOC_UNSUBSCRIBE_EVENT: {
        struct v4l2_event_subscription *sub = arg;
        if (sub->type != V4L2_EVENT_SOURCE_CHANGE) { *rc = dv_fail(EINVAL); return 1; }
        pthread_mutex_lock(&dv_lock);
        dv_subscribed[slot] = request == VIDIOC_SUBSCRIBE_EVENT;
        pthread_mutex_unlock(&dv_lock);
        return 1;
    }
    case VIDIOC_DQEVENT: {
        struct v4l2_event *ev = arg;
        pthread_mutex_lock(&dv_lock);
        if (!dv_event[slot]) {
            pthread_mutex_unlock(&dv_lock);
            *rc = dv_fail(ENOENT);
            return 1;
        }
        char c;
        recv(fd, &c, 1, MSG_OOB | MSG_DONTWAIT);
        dv_event[slot] = 0;
        // A frame byte that waited in front of the event is stale now (the stream stopped at the change).
        if (dv_halted || dv_stream_slot != slot) dv_drain(slot);
        memset(ev, 0, sizeof *ev);
        ev->type = V4L2_EVENT_SOURCE_CHANGE;
        ev->u.src_change.changes = V4L2_EVENT_SRC_CH_RESOLUTION;
        ev->sequence = dv_event_sequence++;
        clock_gettime(CLOCK_MONOTONIC, &ev->timestamp);
        pthread_mutex_unlock(&dv_lock);
        return 1;
    }
    case VIDIOC_S_FMT: {
        // A receiver captures what the source sends: any size asked for becomes the timings' size.
        struct v4l2_format *f = arg;
        if (f->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) { *rc = dv_fail(EINVAL); return 1; }
        if (buffer_count > 0) { *rc = dv_fail(EBUSY); return 1; }
        uint32_t want = f->fmt.pix.pixelformat;
        log_line("S_FMT %c%c%c%c %ux%u", want & 0xFF, (want >> 8) & 0xFF, (want >> 16) & 0xFF, want >> 24,
                 f->fmt.pix.width, f->fmt.pix.height);
        cur_format = has_format(want) ? want : format_at(0);
        pthread_mutex_lock(&dv_lock);
        cur_width = dv_current.bt.width;
        cur_height = dv_current.bt.height;
        pthread_mutex_unlock(&dv_lock);
        memset(&f->fmt.pix, 0, sizeof f->fmt.pix);
        f->fmt.pix.pixelformat = cur_format;
        f->fmt.pix.width = cur_width;
        f->fmt.pix.height = cur_height;
        f->fmt.pix.field = V4L2_FIELD_NONE;
        f->fmt.pix.bytesperline = cur_format == V4L2_PIX_FMT_YUYV ? cur_width * 2 : 0;
        f->fmt.pix.sizeimage = (uint32_t)image_size();
        return 1;
    }
    case VIDIOC_G_PARM: case VIDIOC_S_PARM: {
        // vivid's HDMI input: the rate is the timings', S_PARM changes nothing.
        struct v4l2_streamparm *p = arg;
        memset(&p->parm, 0, sizeof p->parm);
        p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
        p->parm.capture.timeperframe.numerator = 1;
        pthread_mutex_lock(&dv_lock);
        p->parm.capture.timeperframe.denominator = dv_fps();
        pthread_mutex_unlock(&dv_lock);
        return 1;
    }
    case VIDIOC_STREAMON:
        if (buffer_count == 0) return 0;
        pthread_mutex_lock(&dv_lock);
        dv_stream_slot = slot;
        dv_halted = 0;
        pthread_mutex_unlock(&dv_lock);
        streaming = 1;
        return 1;
    case VIDIOC_STREAMOFF:
        pthread_mutex_lock(&dv_lock);
        if (dv_stream_slot == slot) dv_stream_slot = -1;
        dv_drain(slot);
        pthread_mutex_unlock(&dv_lock);
        streaming = 0;
        return 1;
    }
    return 0;
}

static uint32_t yuyv_sizes[3][2] = {{640, 480}, {320, 240}};
static uint32_t rates[4] = {30, 15, 5};
static int size_count = 2, rate_count = 3;

// FAKE_V4L2_MODE: an extra size and rate, after the built-in ones (read once).
static void load_mode(void) {
    static int loaded;
    if (loaded) return;
    loaded = 1;
    unsigned w, h, fps;
    if (sscanf(env("FAKE_V4L2_MODE", ""), "%ux%u@%u", &w, &h, &fps) == 3 && w >= 2 && w % 2 == 0 && h > 0 && fps > 0) {
        yuyv_sizes[2][0] = w; yuyv_sizes[2][1] = h; size_count = 3;
        rates[3] = fps; rate_count = 4;
    }
}

// FAKE_V4L2_HOLD_LOG: when each buffer was dequeued, and the open log.
static struct timespec dequeued_at[MAX_BUFFERS];
static int held[MAX_BUFFERS];
static FILE *hold_log;
static int painted[MAX_BUFFERS];
static uint32_t painted_used[MAX_BUFFERS];

static void note_requeue(int index) {
    if (!held[index]) return;
    held[index] = 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!hold_log && getenv("FAKE_V4L2_HOLD_LOG")) hold_log = fopen(getenv("FAKE_V4L2_HOLD_LOG"), "a");
    if (hold_log) fprintf(hold_log, "HOLD %ld\n", (long)((now.tv_sec - dequeued_at[index].tv_sec) * 1000000L
                                                      + (now.tv_nsec - dequeued_at[index].tv_nsec) / 1000));
}

int v4l2_open(const char *file, int oflag, ...) {
    (void)oflag;
    const char *open_errno = getenv("FAKE_V4L2_OPEN_ERRNO");
    if (strcmp(file, env("FAKE_V4L2_DEVICE", "/dev/video-fake")) != 0 || strcmp(mode(), "unplug") == 0) {
        errno = ENOENT;
        return -1;
    }
    if (open_errno) { errno = atoi(open_errno); return -1; }
    if (strcmp(mode(), "denied") == 0) { errno = EACCES; return -1; }
    int slot = -1, open_count = 0;
    for (int i = 0; i < MAX_HANDLES; i++) {
        if (handles[i] >= 0) open_count++;
        else if (slot < 0) slot = i;
    }
    if (slot < 0) { errno = EMFILE; return -1; }
    load_jpeg();
    load_h264();
    load_mode();
    if (open_count == 0) {
        // First open of an idle device: the driver's defaults.
        cur_format = format_at(0);
        cur_width = cur_format == V4L2_PIX_FMT_MJPEG ? jpeg_width : cur_format == V4L2_PIX_FMT_H264 ? h264_width : 640;
        cur_height = cur_format == V4L2_PIX_FMT_MJPEG ? jpeg_height : cur_format == V4L2_PIX_FMT_H264 ? h264_height : 480;
    }
    handles[slot] = dv_enabled() ? dv_open_handle(slot, open_count == 0) : timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    snprintf(device_path, sizeof device_path, "%s", file);
    log_line("OPEN %s fd %d (%d open)", file, handles[slot], open_count + 1);
    return handles[slot];
}

static int slot_of(int fd) {
    if (fd < 0) return -1;
    for (int i = 0; i < MAX_HANDLES; i++) if (handles[i] == fd) return i;
    return -1;
}

static void free_buffers(void) {
    for (int i = 0; i < buffer_count; i++) munmap(buffers[i], buffer_length);
    buffer_count = 0;
    mapped = 0;
}

int v4l2_close(int fd) {
    int slot = slot_of(fd);
    if (slot < 0) return close(fd);
    int open_count = 0;
    if (fd == owner_fd) {
        // The owner's close stops streaming and frees the queue (vb2_queue_release), mapped or not.
        streaming = 0;
        free_buffers();
        owner_fd = -1;
        if (hold_log) { fclose(hold_log); hold_log = NULL; }
        if (owner_backing >= 0) close(owner_backing);  // also drops its flock
        owner_backing = -1;
    }
    if (dv_enabled()) dv_close_handle(slot);
    close(handles[slot]);
    handles[slot] = -1;
    for (int i = 0; i < MAX_HANDLES; i++) if (handles[i] >= 0) open_count++;
    log_line("CLOSE fd %d (%d open)", fd, open_count);
    return 0;
}

void *v4l2_mmap(void *start, size_t length, int prot, int flags, int fd, int64_t offset) {
    (void)start; (void)prot; (void)flags;
    if (slot_of(fd) < 0) { errno = EINVAL; return MAP_FAILED; }
    int index = (int)(offset / OFFSET_STEP);
    if (index < 0 || index >= buffer_count || length > buffer_length) { errno = EINVAL; return MAP_FAILED; }
    mapped++;
    return buffers[index];
}

int v4l2_munmap(void *start, size_t length) {
    (void)length;
    for (int i = 0; i < buffer_count; i++) {
        if (buffers[i] == start && mapped > 0) { mapped--; return 0; }
    }
    return 0;
}

/// The calls that configure the queue make their descriptor its owner (uvcvideo's "privileges"); only one
/// descriptor, in one process, can be it.
static int acquire_queue(int fd) {
    if (owner_fd == fd) return 0;
    if (owner_fd >= 0) return -1;
    int file = open(device_path, O_RDONLY | O_CLOEXEC);
    if (file >= 0 && flock(file, LOCK_EX | LOCK_NB) != 0) { close(file); return -1; }
    owner_fd = fd;
    owner_backing = file;
    return 0;
}

static size_t raw_bytes_per_line(void);
static size_t raw_image_size(void);
static uint32_t fill_raw(uint8_t *dst);
static const char *format_description(uint32_t fourcc);

static size_t image_size(void) {
    if (cur_format != V4L2_PIX_FMT_MJPEG) return raw_image_size();
    return jpeg_size + 4096;
}

static int fail(int err) { errno = err; return -1; }

static int nearest_rate(uint32_t fps) {
    uint32_t best = rates[0];
    for (int i = 0; i < rate_count; i++) if (abs((int)rates[i] - (int)fps) < abs((int)best - (int)fps)) best = rates[i];
    return (int)best;
}

int v4l2_ioctl(int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (slot_of(fd) < 0) return fail(ENOTTY);
    if (strcmp(mode(), "unplug") == 0 && request != VIDIOC_STREAMOFF) return fail(ENODEV);
    switch (request) {
    case VIDIOC_S_FMT: case VIDIOC_S_PARM: case VIDIOC_REQBUFS: case VIDIOC_STREAMON:
        if (acquire_queue(fd) != 0) return fail(EBUSY);
        break;
    case VIDIOC_QBUF: case VIDIOC_DQBUF: case VIDIOC_STREAMOFF:
        if (owner_fd != fd) return fail(EBUSY);
        break;
    }
    int dv_rc;
    if (dv_enabled() && dv_ioctl(fd, request, arg, &dv_rc)) return dv_rc;

    switch (request) {
    case VIDIOC_QUERYCAP: {
        struct v4l2_capability *cap = arg;
        memset(cap, 0, sizeof *cap);
        strcpy((char *)cap->driver, "fakev4l2");
        strcpy((char *)cap->card, "Fake UVC Camera");
        strcpy((char *)cap->bus_info, "usb-fake-1");
        const char *caps = env("FAKE_V4L2_CAPS", "capture");
        uint32_t c = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
        if (strcmp(caps, "output") == 0) c = V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_STREAMING;
        if (strcmp(caps, "nostream") == 0) c = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_READWRITE;
        cap->capabilities = c | V4L2_CAP_DEVICE_CAPS;
        cap->device_caps = c;
        return 0;
    }
    case VIDIOC_ENUM_FMT: {
        struct v4l2_fmtdesc *d = arg;
        uint32_t f = format_at(d->index);
        if (!f) return fail(EINVAL);
        d->pixelformat = f;
        d->flags = (f == V4L2_PIX_FMT_MJPEG || f == V4L2_PIX_FMT_H264 ? V4L2_FMT_FLAG_COMPRESSED : 0)
            | (format_emulated(f) ? V4L2_FMT_FLAG_EMULATED : 0);
        strcpy((char *)d->description, format_description(f));
        return 0;
    }
    case VIDIOC_ENUM_FRAMESIZES: {
        struct v4l2_frmsizeenum *s = arg;
        if (!has_format(s->pixel_format)) return fail(EINVAL);
        s->type = V4L2_FRMSIZE_TYPE_DISCRETE;
        if (s->pixel_format == V4L2_PIX_FMT_MJPEG) {
            if (s->index > 0) return fail(EINVAL);
            s->discrete.width = jpeg_width;
            s->discrete.height = jpeg_height;
        } else if (s->pixel_format == V4L2_PIX_FMT_H264 && h264_data) {
            // The camera's encoder makes the one size the stream has.
            if (s->index > 0) return fail(EINVAL);
            s->discrete.width = h264_width;
            s->discrete.height = h264_height;
        } else {
            if ((int)s->index >= size_count) return fail(EINVAL);
            s->discrete.width = yuyv_sizes[s->index][0];
            s->discrete.height = yuyv_sizes[s->index][1];
        }
        return 0;
    }
    case VIDIOC_ENUM_FRAMEINTERVALS: {
        struct v4l2_frmivalenum *i = arg;
        if ((int)i->index >= rate_count || !has_format(i->pixel_format)) return fail(EINVAL);
        i->type = V4L2_FRMIVAL_TYPE_DISCRETE;
        i->discrete.numerator = 1;
        i->discrete.denominator = rates[i->index];
        return 0;
    }
    case VIDIOC_G_FMT:
    case VIDIOC_S_FMT: {
        struct v4l2_format *f = arg;
        if (f->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return fail(EINVAL);
        if (request == VIDIOC_S_FMT) {
            // vb2_is_busy: no new format while buffers exist, even for their owner.
            if (buffer_count > 0) return fail(EBUSY);
            uint32_t want = f->fmt.pix.pixelformat;
            log_line("S_FMT %c%c%c%c %ux%u", want & 0xFF, (want >> 8) & 0xFF, (want >> 16) & 0xFF, want >> 24,
                     f->fmt.pix.width, f->fmt.pix.height);
            cur_format = has_format(want) ? want : format_at(0);
            if (cur_format == V4L2_PIX_FMT_MJPEG) {
                cur_width = jpeg_width; cur_height = jpeg_height;
            } else if (cur_format == V4L2_PIX_FMT_H264 && h264_data) {
                cur_width = h264_width; cur_height = h264_height;
            } else {
                // The nearest offered size, as drivers do.
                int best = 0;
                long bestDiff = -1;
                for (int k = 0; k < size_count; k++) {
                    long diff = labs((long)yuyv_sizes[k][0] * yuyv_sizes[k][1] - (long)f->fmt.pix.width * f->fmt.pix.height);
                    if (bestDiff < 0 || diff < bestDiff) { best = k; bestDiff = diff; }
                }
                cur_width = yuyv_sizes[best][0]; cur_height = yuyv_sizes[best][1];
            }
        }
        memset(&f->fmt.pix, 0, sizeof f->fmt.pix);
        f->fmt.pix.pixelformat = cur_format;
        f->fmt.pix.width = cur_width;
        f->fmt.pix.height = cur_height;
        f->fmt.pix.field = V4L2_FIELD_NONE;
        f->fmt.pix.bytesperline = cur_format == V4L2_PIX_FMT_MJPEG || cur_format == V4L2_PIX_FMT_H264 ? 0 : (uint32_t)raw_bytes_per_line();
        f->fmt.pix.sizeimage = (uint32_t)image_size();
        return 0;
    }
    case VIDIOC_G_PARM:
    case VIDIOC_S_PARM: {
        struct v4l2_streamparm *p = arg;
        if (request == VIDIOC_S_PARM) {
            // uvcvideo refuses a new interval while streaming.
            if (streaming) return fail(EBUSY);
            struct v4l2_fract t = p->parm.capture.timeperframe;
            uint32_t fps = t.numerator ? (t.denominator + t.numerator / 2) / t.numerator : 30;
            cur_fps = (uint32_t)nearest_rate(fps);
            log_line("S_PARM %u -> %u", fps, cur_fps);
        }
        memset(&p->parm, 0, sizeof p->parm);
        p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
        p->parm.capture.timeperframe.numerator = 1;
        p->parm.capture.timeperframe.denominator = cur_fps;
        return 0;
    }
    case VIDIOC_QUERYCTRL: {
        struct v4l2_queryctrl *q = arg;
        static const uint32_t ids[3] = {V4L2_CID_BRIGHTNESS, V4L2_CID_CONTRAST, V4L2_CID_WHITE_BALANCE_TEMPERATURE};
        static const char *names[3] = {"Brightness", "Contrast", "White Balance Temperature"};
        static const int32_t max[3] = {255, 255, 6500};
        int next = (q->id & V4L2_CTRL_FLAG_NEXT_CTRL) != 0;
        uint32_t id = q->id & ~V4L2_CTRL_FLAG_NEXT_CTRL;
        for (int k = 0; k < 3; k++) {
            if ((next && ids[k] > id) || (!next && ids[k] == id)) {
                memset(q, 0, sizeof *q);
                q->id = ids[k];
                q->type = V4L2_CTRL_TYPE_INTEGER;
                strcpy((char *)q->name, names[k]);
                q->minimum = k == 2 ? 2800 : 0;
                q->maximum = max[k];
                q->step = 1;
                q->default_value = ctrl_values[k];
                return 0;
            }
        }
        return fail(EINVAL);
    }
    case VIDIOC_S_CTRL: {
        struct v4l2_control *c = arg;
        log_line("S_CTRL %u %d", c->id, c->value);
        if (c->id == V4L2_CID_BRIGHTNESS) ctrl_values[0] = c->value;
        else if (c->id == V4L2_CID_CONTRAST) ctrl_values[1] = c->value;
        else if (c->id == V4L2_CID_WHITE_BALANCE_TEMPERATURE) ctrl_values[2] = c->value;
        else return fail(EINVAL);
        return 0;
    }
    case VIDIOC_REQBUFS: {
        struct v4l2_requestbuffers *r = arg;
        if (r->memory != V4L2_MEMORY_MMAP) return fail(EINVAL);
        if (streaming || mapped > 0) return fail(EBUSY);
        free_buffers();
        buffer_count = r->count > MAX_BUFFERS ? MAX_BUFFERS : (int)r->count;
        r->count = (uint32_t)buffer_count;
        buffer_length = (image_size() + 4095) & ~(size_t)4095;
        for (int i = 0; i < buffer_count; i++) {
            buffers[i] = mmap(NULL, buffer_length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            queued[i] = 0;
            held[i] = 0;
            painted[i] = 0;
        }
        return 0;
    }
    case VIDIOC_QUERYBUF:
    case VIDIOC_QBUF: {
        struct v4l2_buffer *b = arg;
        if ((int)b->index >= buffer_count) return fail(EINVAL);
        if (request == VIDIOC_QBUF) { note_requeue((int)b->index); queued[b->index] = 1; return 0; }
        b->length = (uint32_t)buffer_length;
        b->m.offset = b->index * OFFSET_STEP;
        return 0;
    }
    case VIDIOC_STREAMON: {
        if (buffer_count == 0) return fail(EINVAL);
        struct itimerspec spec = {{0, 1000000000L / cur_fps}, {0, 1000000000L / cur_fps}};
        timerfd_settime(fd, 0, &spec, NULL);
        streaming = 1;
        return 0;
    }
    case VIDIOC_STREAMOFF: {
        struct itimerspec off = {{0, 0}, {0, 0}};
        timerfd_settime(fd, 0, &off, NULL);
        streaming = 0;
        return 0;
    }
    case VIDIOC_DQBUF: {
        struct v4l2_buffer *b = arg;
        if (!take_frame(fd)) return fail(EAGAIN);
        const char *m = mode();
        if (strcmp(m, "stall") == 0) return fail(EAGAIN);
        // A driver stuck inside the ioctl: the capture thread blocks here until the mode changes.
        while (strcmp(m, "hang") == 0) {
            struct timespec pause = {0, 20000000};
            nanosleep(&pause, NULL);
            m = mode();
        }
        int index = -1;
        for (int i = 0; i < buffer_count; i++) if (queued[i]) { index = i; break; }
        // No buffer queued (the owner holds them all): like uvcvideo, the frame is lost, and its sequence number
        // with it; in H.264 mode its access unit is gone for good.
        if (index < 0 || strcmp(m, "drop") == 0) {
            sequence++;
            if (cur_format == V4L2_PIX_FMT_H264 && h264_units > 0) h264_next = (h264_next + 1) % h264_units;
        }
        if (index < 0) return fail(EAGAIN);
        queued[index] = 0;
        uint8_t *dst = buffers[index];
        uint32_t used;
        int overflow = 0;
        if (cur_format == V4L2_PIX_FMT_H264 && h264_units > 0) {
            used = next_h264_unit(dst, buffer_length, &overflow);
            if (strcmp(m, "truncate") == 0) used /= 2;
        } else if (cur_format != V4L2_PIX_FMT_MJPEG) {
            // The picture never changes: each buffer is painted once, so the fake's own work stays out of camd's
            // capture path (a real driver's DMA costs camd's thread nothing), which matters at 1080p60.
            if (!painted[index]) { painted_used[index] = fill_raw(dst); painted[index] = 1; }
            used = painted_used[index];
            if (strcmp(m, "truncate") == 0) used /= 2;
        } else {
            used = (uint32_t)jpeg_size;
            memcpy(dst, jpeg_data, jpeg_size);
            if (strcmp(m, "truncate") == 0) used /= 2;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        memset(b, 0, sizeof *b);
        b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        b->memory = V4L2_MEMORY_MMAP;
        b->index = (uint32_t)index;
        b->bytesused = used;
        b->flags = V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC | V4L2_BUF_FLAG_DONE | (overflow ? V4L2_BUF_FLAG_ERROR : 0);
        b->timestamp.tv_sec = now.tv_sec;
        b->timestamp.tv_usec = now.tv_nsec / 1000;
        b->sequence = sequence++;
        b->length = (uint32_t)buffer_length;
        held[index] = 1;
        clock_gettime(CLOCK_MONOTONIC, &dequeued_at[index]);
        return 0;
    }
    default:
        return fail(ENOTTY);
    }
}

// ---- Raw pixel formats: the list, strides and sizes, and the four bars drawn in each format. ----

static const struct {
    uint32_t fourcc;
    const char *description;
} known_formats[] = {
    {V4L2_PIX_FMT_MJPEG, "Motion-JPEG"}, {V4L2_PIX_FMT_YUYV, "YUYV 4:2:2"}, {V4L2_PIX_FMT_UYVY, "UYVY 4:2:2"},
    {V4L2_PIX_FMT_YVYU, "YVYU 4:2:2"}, {V4L2_PIX_FMT_NV12, "Y/UV 4:2:0"}, {V4L2_PIX_FMT_NV21, "Y/VU 4:2:0"},
    {V4L2_PIX_FMT_NV16, "Y/UV 4:2:2"}, {V4L2_PIX_FMT_YUV420, "Planar YUV 4:2:0"}, {V4L2_PIX_FMT_YVU420, "Planar YVU 4:2:0"},
    {V4L2_PIX_FMT_GREY, "8-bit Greyscale"}, {V4L2_PIX_FMT_RGB24, "24-bit RGB 8-8-8"}, {V4L2_PIX_FMT_BGR24, "24-bit BGR 8-8-8"},
    {V4L2_PIX_FMT_RGB565, "16-bit RGB 5-6-5"}, {V4L2_PIX_FMT_SBGGR8, "8-bit Bayer BGBG/GRGR"},
    {V4L2_PIX_FMT_SGBRG8, "8-bit Bayer GBGB/RGRG"}, {V4L2_PIX_FMT_SGRBG8, "8-bit Bayer GRGR/BGBG"},
    {V4L2_PIX_FMT_SRGGB8, "8-bit Bayer RGRG/GBGB"}, {V4L2_PIX_FMT_H264, "H.264"},
};
#define KNOWN_FORMATS (sizeof known_formats / sizeof known_formats[0])

static uint32_t fourcc_of(const char *token, size_t length) {
    if (length != 4) return 0;
    uint32_t code = v4l2_fourcc(token[0], token[1], token[2], token[3]);
    for (size_t i = 0; i < KNOWN_FORMATS; i++) if (known_formats[i].fourcc == code) return code;
    return 0;
}

/// The index-th known format of FAKE_V4L2_FORMATS (in its order), and whether it carries the '*' (emulated) mark.
static uint32_t listed_format(unsigned index, int *emulated) {
    const char *p = env("FAKE_V4L2_FORMATS", getenv("FAKE_V4L2_H264") ? "MJPG,YUYV,H264" : "MJPG,YUYV");
    unsigned seen = 0;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t length = end ? (size_t)(end - p) : strlen(p);
        int star = length > 0 && *p == '*';
        uint32_t code = fourcc_of(p + star, length - (size_t)star);
        if (code && seen++ == index) {
            if (emulated) *emulated = star;
            return code;
        }
        if (!end) break;
        p = end + 1;
    }
    return 0;
}

static uint32_t format_at(unsigned index) { return listed_format(index, NULL); }

static int format_emulated(uint32_t fourcc) {
    int emulated = 0;
    for (unsigned i = 0; format_at(i); i++) {
        if (listed_format(i, &emulated) == fourcc) return emulated;
    }
    return 0;
}

static const char *format_description(uint32_t fourcc) {
    for (size_t i = 0; i < KNOWN_FORMATS; i++) if (known_formats[i].fourcc == fourcc) return known_formats[i].description;
    return "?";
}

/// Bytes per pixel of the (first) plane; 0 for compressed formats.
static size_t bytes_per_pixel(uint32_t fourcc) {
    switch (fourcc) {
    case V4L2_PIX_FMT_YUYV: case V4L2_PIX_FMT_UYVY: case V4L2_PIX_FMT_YVYU: case V4L2_PIX_FMT_RGB565: return 2;
    case V4L2_PIX_FMT_RGB24: case V4L2_PIX_FMT_BGR24: return 3;
    case V4L2_PIX_FMT_MJPEG: case V4L2_PIX_FMT_H264: return 0;
    default: return 1;
    }
}

static size_t raw_bytes_per_line(void) {
    size_t pad = (size_t)atoi(env("FAKE_V4L2_PAD", "0"));
    return (size_t)cur_width * bytes_per_pixel(cur_format) + pad;
}

static size_t raw_image_size(void) {
    size_t bpl = raw_bytes_per_line(), h = cur_height;
    switch (cur_format) {
    case V4L2_PIX_FMT_NV12: case V4L2_PIX_FMT_NV21: return bpl * h + bpl * (h / 2);
    case V4L2_PIX_FMT_NV16: return bpl * h * 2;
    case V4L2_PIX_FMT_YUV420: case V4L2_PIX_FMT_YVU420: return bpl * h + 2 * (bpl / 2) * (h / 2);
    case V4L2_PIX_FMT_H264: return (size_t)cur_width * cur_height;
    default: return bpl * h;
    }
}

/// Fills one frame of the current format; returns its bytesused. Padding bytes hold 0x5A (never picture).
static uint32_t fill_raw(uint8_t *dst) {
    // white, red, green, blue: full-range RGB, and the same in BT.601 limited-range Y Cb Cr.
    static const uint8_t rgb[4][3] = {{255, 255, 255}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    static const uint8_t yuv[4][3] = {{235, 128, 128}, {81, 90, 240}, {145, 54, 34}, {41, 240, 110}};
    size_t bpl = raw_bytes_per_line(), size = raw_image_size(), w = cur_width, h = cur_height;
    memset(dst, 0x5A, size);
    if (cur_format == V4L2_PIX_FMT_H264) return (uint32_t)size;
#define BAR(x) ((x) * 4 / w)
    for (size_t y = 0; y < h; y++) {
        uint8_t *row = dst + y * bpl;
        for (size_t x = 0; x < w; x++) {
            const uint8_t *c = rgb[BAR(x)], *v = yuv[BAR(x)];
            switch (cur_format) {
            case V4L2_PIX_FMT_YUYV: row[2 * x] = v[0]; row[2 * x + 1] = x % 2 ? v[2] : v[1]; break;
            case V4L2_PIX_FMT_YVYU: row[2 * x] = v[0]; row[2 * x + 1] = x % 2 ? v[1] : v[2]; break;
            case V4L2_PIX_FMT_UYVY: row[2 * x + 1] = v[0]; row[2 * x] = x % 2 ? v[2] : v[1]; break;
            case V4L2_PIX_FMT_RGB24: row[3 * x] = c[0]; row[3 * x + 1] = c[1]; row[3 * x + 2] = c[2]; break;
            case V4L2_PIX_FMT_BGR24: row[3 * x] = c[2]; row[3 * x + 1] = c[1]; row[3 * x + 2] = c[0]; break;
            case V4L2_PIX_FMT_RGB565: {
                unsigned p = (unsigned)(c[0] >> 3) << 11 | (unsigned)(c[1] >> 2) << 5 | (unsigned)(c[2] >> 3);
                row[2 * x] = (uint8_t)p; row[2 * x + 1] = (uint8_t)(p >> 8);
                break;
            }
            case V4L2_PIX_FMT_SBGGR8: case V4L2_PIX_FMT_SGBRG8: case V4L2_PIX_FMT_SGRBG8: case V4L2_PIX_FMT_SRGGB8: {
                const char *order = cur_format == V4L2_PIX_FMT_SBGGR8 ? "BGGR" : cur_format == V4L2_PIX_FMT_SGBRG8 ? "GBRG"
                    : cur_format == V4L2_PIX_FMT_SGRBG8 ? "GRBG" : "RGGB";
                char channel = order[(y % 2) * 2 + x % 2];
                row[x] = channel == 'R' ? c[0] : channel == 'G' ? c[1] : c[2];
                break;
            }
            default: row[x] = v[0]; break;  // the luma plane of NV12/NV21/NV16/YU12/YV12, and GREY
            }
        }
    }
    uint8_t *chroma = dst + bpl * h;
    switch (cur_format) {
    case V4L2_PIX_FMT_NV12: case V4L2_PIX_FMT_NV21: case V4L2_PIX_FMT_NV16: {
        size_t rows = cur_format == V4L2_PIX_FMT_NV16 ? h : h / 2;
        int swap = cur_format == V4L2_PIX_FMT_NV21;
        for (size_t y = 0; y < rows; y++) {
            for (size_t x = 0; x < w / 2; x++) {
                chroma[y * bpl + 2 * x] = yuv[BAR(2 * x)][swap ? 2 : 1];
                chroma[y * bpl + 2 * x + 1] = yuv[BAR(2 * x)][swap ? 1 : 2];
            }
        }
        break;
    }
    case V4L2_PIX_FMT_YUV420: case V4L2_PIX_FMT_YVU420: {
        size_t cbpl = bpl / 2;
        uint8_t *second = chroma + cbpl * (h / 2);
        int swap = cur_format == V4L2_PIX_FMT_YVU420;
        for (size_t y = 0; y < h / 2; y++) {
            for (size_t x = 0; x < w / 2; x++) {
                chroma[y * cbpl + x] = yuv[BAR(2 * x)][swap ? 2 : 1];
                second[y * cbpl + x] = yuv[BAR(2 * x)][swap ? 1 : 2];
            }
        }
        break;
    }
    }
#undef BAR
    return (uint32_t)size;
}
