// CSDL2: SDL2 for camview's window (Debian: libsdl2-dev). SDL_MAIN_HANDLED: camview has its own main.
#define SDL_MAIN_HANDLED 1
#include <SDL2/SDL.h>  // not pkg-config: its -D_REENTRANT is a flag SwiftPM rejects with a warning
