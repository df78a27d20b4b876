/*
 * The advisory-lock key sqlx uses, so that strata and sqlx-based
 * applications exclude each other (design.md, The lock): the CRC-32
 * (ISO-HDLC, zlib's) of the database name times 0x3d32ad9e. The product
 * stays below 2^63, so no overflow.
 */
#include "drivers/lockkey.h"

#include <string.h>
#include <zlib.h>

int64_t lockkey_for_database(const char *dbname)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, (const Bytef *)dbname, (uInt)strlen(dbname));
	return (int64_t)0x3d32ad9e * (int64_t)(uint32_t)crc;
}
