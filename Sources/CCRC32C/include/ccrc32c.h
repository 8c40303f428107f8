#ifndef CCRC32C_H
#define CCRC32C_H
#include <stddef.h>
#include <stdint.h>

/// Extends a CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected) over `len` bytes.
/// Start with crc = 0; the result of one call can be fed into the next to checksum
/// data in pieces. Uses the SSE4.2 crc32 instruction when the CPU has it.
uint32_t chapar_crc32c(uint32_t crc, const void *data, size_t len);

/// The portable table-driven implementation, exposed so tests can check both paths agree.
uint32_t chapar_crc32c_portable(uint32_t crc, const void *data, size_t len);

/// 1 when the hardware path is in use.
int chapar_crc32c_hardware(void);
#endif
