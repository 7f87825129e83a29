// libavcodec + libavutil of FFmpeg 5.1 (Debian 12: libavcodec-dev, libavutil-dev), for the H.264 encoder only.
#pragma once
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>

#include <errno.h>

/// AVERROR(EAGAIN) and AVERROR_EOF are function-like macros, which Swift does not import.
static inline int cav_error_again(void) { return AVERROR(EAGAIN); }
static inline int cav_error_eof(void) { return AVERROR_EOF; }
