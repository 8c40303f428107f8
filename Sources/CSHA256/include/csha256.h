#ifndef CSHA256_H
#define CSHA256_H
#include <stddef.h>
#include <stdint.h>

/// Runs the SHA-256 compression function over `blocks` consecutive 64-byte blocks at `data`,
/// updating `state` (the eight working words a..h, host order). Uses the x86 SHA extensions;
/// call only when chapar_sha256_hardware() returns 1.
void chapar_sha256_blocks_ni(uint32_t state[8], const uint8_t *data, size_t blocks);

/// The 64 round constants of FIPS 180-4 (shared with the portable Swift implementation).
const uint32_t *chapar_sha256_round_constants(void);

/// 1 when the CPU has the SHA extensions (and SSSE3/SSE4.1), else 0.
int chapar_sha256_hardware(void);
#endif
