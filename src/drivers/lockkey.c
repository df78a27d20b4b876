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

/* Java's String.hashCode(): over UTF-16 code units, wrapping in 32 bits */
static uint32_t java_hash_n(uint32_t h, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		uint32_t cp = *p++;
		int more = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;

		cp &= more == 3 ? 0x07 : more == 2 ? 0x0F : more ? 0x1F : 0x7F;
		for (; more && p < end && (*p & 0xC0) == 0x80; more--)
			cp = cp << 6 | (*p++ & 0x3F);
		if (cp >= 0x10000) {
			cp -= 0x10000;
			h = 31 * h + (0xD800 | cp >> 10);
			cp = 0xDC00 | (cp & 0x3FF);
		}
		h = 31 * h + cp;
	}
	return h;
}

static uint32_t java_hash(uint32_t h, const char *s)
{
	return java_hash_n(h, s, strlen(s));
}

/* Flyway's quote(): "name", a '"' inside doubled */
static uint32_t java_hash_quoted(uint32_t h, const char *s)
{
	h = java_hash(h, "\"");
	while (*s) {
		size_t n = strcspn(s, "\"");

		h = java_hash_n(h, s, n);
		s += n;
		if (*s) {
			h = java_hash(h, "\"\"");
			s++;
		}
	}
	return java_hash(h, "\"");
}

int64_t lockkey_flyway(const char *schema, const char *table)
{
	const int64_t magic = (0x46LL << 40) + (0x6CLL << 32) + (0x79LL << 24) +
	                      (0x77 << 16) + (0x61 << 8) + 0x79;
	uint32_t h = java_hash_quoted(0, schema);

	h = java_hash(h, ".");
	h = java_hash_quoted(h, table);
	return magic + (int32_t)h;
}

int64_t lockkey_for_database(const char *dbname)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, (const Bytef *)dbname, (uInt)strlen(dbname));
	return (int64_t)0x3d32ad9e * (int64_t)(uint32_t)crc;
}
