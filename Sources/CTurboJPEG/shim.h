// libturbojpeg 2.1 (Debian 12: libturbojpeg0-dev). The tj* API imports into Swift as is.
#pragma once
#include <turbojpeg.h>

#include <stdint.h>
#include <stddef.h>
