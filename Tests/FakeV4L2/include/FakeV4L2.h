// FakeV4L2: a fake UVC camera behind the libv4l2 API, for tests. Build product: libFakeV4L2.so,
// used as LD_PRELOAD on the real camd so the real capture code runs against it. See FakeV4L2.c.
#pragma once
