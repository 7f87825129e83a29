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
//                        truncate  MJPEG frames lose their second half (no EOI)
//   FAKE_V4L2_JPEG     a JPEG file served as every MJPEG frame (typically without DHT, like UVC cameras)
//   FAKE_V4L2_FORMATS  "MJPG,YUYV" (default) or "YUYV" or "MJPG"
//   FAKE_V4L2_CAPS     "capture" (default), "output" (not a capture device), "nostream" (no streaming I/O)
//   FAKE_V4L2_OPEN_ERRNO  make open fail with this errno (e.g. 13 = EACCES)
//   FAKE_V4L2_LOG      file to which OPEN, CLOSE, S_FMT, S_PARM and S_CTRL requests are appended
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
// YUYV frames show four vertical bars: white, red, green, blue (BT.601 limited-range values).
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

static int has_format(uint32_t fourcc) {
    const char *formats = env("FAKE_V4L2_FORMATS", "MJPG,YUYV");
    if (fourcc == V4L2_PIX_FMT_MJPEG) return strstr(formats, "MJPG") != NULL;
    if (fourcc == V4L2_PIX_FMT_YUYV) return strstr(formats, "YUYV") != NULL;
    return 0;
}

static uint32_t format_at(unsigned index) {
    uint32_t all[2] = {V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_YUYV};
    unsigned seen = 0;
    for (int i = 0; i < 2; i++) {
        if (!has_format(all[i])) continue;
        if (seen == index) return all[i];
        seen++;
    }
    return 0;
}

static void load_jpeg(void) {
    if (jpeg_data) return;
    const char *path = getenv("FAKE_V4L2_JPEG");
    if (!path) return;
    FILE *f = fopen(path, "rb");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    jpeg_data = malloc((size_t)size);
    jpeg_size = fread(jpeg_data, 1, (size_t)size, f);
    fclose(f);
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
    load_mode();
    if (open_count == 0) {
        // First open of an idle device: the driver's defaults.
        cur_format = format_at(0);
        cur_width = cur_format == V4L2_PIX_FMT_MJPEG ? jpeg_width : 640;
        cur_height = cur_format == V4L2_PIX_FMT_MJPEG ? jpeg_height : 480;
    }
    handles[slot] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
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

static size_t image_size(void) {
    if (cur_format == V4L2_PIX_FMT_YUYV) return (size_t)cur_width * cur_height * 2;
    return jpeg_size + 4096;
}

static void fill_yuyv(uint8_t *dst) {
    // white, red, green, blue as Y U V
    static const uint8_t bars[4][3] = {{235, 128, 128}, {81, 90, 240}, {145, 54, 34}, {41, 240, 110}};
    for (uint32_t y = 0; y < cur_height; y++) {
        uint8_t *row = dst + (size_t)y * cur_width * 2;
        for (uint32_t x = 0; x < cur_width; x += 2) {
            const uint8_t *c = bars[x * 4 / cur_width];
            row[2 * x] = c[0]; row[2 * x + 1] = c[1]; row[2 * x + 2] = c[0]; row[2 * x + 3] = c[2];
        }
    }
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
        d->flags = f == V4L2_PIX_FMT_MJPEG ? V4L2_FMT_FLAG_COMPRESSED : 0;
        strcpy((char *)d->description, f == V4L2_PIX_FMT_MJPEG ? "Motion-JPEG" : "YUYV 4:2:2");
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
        f->fmt.pix.bytesperline = cur_format == V4L2_PIX_FMT_YUYV ? cur_width * 2 : 0;
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
        uint64_t ticks = 0;
        if (read(fd, &ticks, sizeof ticks) != sizeof ticks) return fail(EAGAIN);
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
        if (index < 0) return fail(EAGAIN);
        queued[index] = 0;
        uint8_t *dst = buffers[index];
        uint32_t used;
        if (cur_format == V4L2_PIX_FMT_YUYV) {
            // The picture never changes: each buffer is painted once, so the fake's own work stays out of camd's
            // capture path (a real driver's DMA costs camd's thread nothing), which matters at 1080p60.
            if (!painted[index]) { fill_yuyv(dst); painted[index] = 1; }
            used = cur_width * cur_height * 2;
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
        b->flags = V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC | V4L2_BUF_FLAG_DONE;
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
