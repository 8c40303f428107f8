#include "ccrc32c.h"
#include <string.h>

/* Slicing-by-8 tables for the reflected Castagnoli polynomial 0x82F63B78. Built once,
   lazily; building is idempotent so a benign race between two first callers is harmless,
   but we still build them under a constructor to keep the hot path branch-free. */
static uint32_t table[8][256];

__attribute__((constructor)) static void build_tables(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : (c >> 1);
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = table[0][n];
        for (int k = 1; k < 8; k++) {
            c = table[0][c & 0xff] ^ (c >> 8);
            table[k][n] = c;
        }
    }
}

uint32_t chapar_crc32c_portable(uint32_t crc, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    crc = ~crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8); /* little-endian hosts only; see the static assert below */
        v ^= crc;
        crc = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^ table[5][(v >> 16) & 0xff] ^
              table[4][(v >> 24) & 0xff] ^ table[3][(v >> 32) & 0xff] ^ table[2][(v >> 40) & 0xff] ^
              table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "crc32c slicing assumes a little-endian host");

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t c = ~crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}

static int have_sse42 = -1;

int chapar_crc32c_hardware(void) {
    if (have_sse42 < 0) {
        __builtin_cpu_init();
        have_sse42 = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    }
    return have_sse42;
}

uint32_t chapar_crc32c(uint32_t crc, const void *data, size_t len) {
    if (chapar_crc32c_hardware()) return crc32c_sse42(crc, data, len);
    return chapar_crc32c_portable(crc, data, len);
}
#else
int chapar_crc32c_hardware(void) { return 0; }
uint32_t chapar_crc32c(uint32_t crc, const void *data, size_t len) {
    return chapar_crc32c_portable(crc, data, len);
}
#endif
