// libFuzzer's entry for one fuzz target: scripts/fuzz.sh compiles this with -DCAMD_FUZZ_ENTRY=camdFuzzHTTP (etc.)
// and links it with libCamdFuzz.so, where every target's checks live (fuzz/FuzzTarget.swift).
#include <stddef.h>
#include <stdint.h>

int CAMD_FUZZ_ENTRY(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return CAMD_FUZZ_ENTRY(data, size); }
