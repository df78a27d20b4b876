/*
 * The advisory-lock key sqlx uses, so that strata and sqlx-based
 * applications exclude each other (design.md, The lock): the CRC-32
 * (ISO-HDLC, zlib's) of the database name times 0x3d32ad9e. The product
 * stays below 2^63, so no overflow.
 */
#include "drivers/lockkey.h"

#include <string.h>
#include <zlib.h>

int64_t lockkey_golang_migrate(const char *dbname, const char *schema,
                               const char *table)
{
	const char *parts[] = { schema, table, dbname };
	uLong crc = crc32(0L, Z_NULL, 0);

	for (size_t i = 0; i < 3; i++) {
		if (i)
			crc = crc32(crc, (const Bytef *)"", 1); /* the \0 */
		crc = crc32(crc, (const Bytef *)parts[i],
		            (uInt)strlen(parts[i]));
	}
	return (int64_t)(uint32_t)((uint32_t)crc * 1486364155u);
}

int64_t lockkey_for_schema(const char *dbname, const char *schema)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, (const Bytef *)dbname, (uInt)strlen(dbname));
	crc = crc32(crc, (const Bytef *)"", 1); /* the \0 */
	crc = crc32(crc, (const Bytef *)schema, (uInt)strlen(schema));
	return (int64_t)0x3d32ad9e * (int64_t)(uint32_t)crc;
}

int64_t lockkey_for_database(const char *dbname)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, (const Bytef *)dbname, (uInt)strlen(dbname));
	return (int64_t)0x3d32ad9e * (int64_t)(uint32_t)crc;
}
