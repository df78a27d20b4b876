/* Sqlx's advisory-lock key */
#ifndef STRATA_DRIVERS_LOCKKEY_H
#define STRATA_DRIVERS_LOCKKEY_H

#include "util/common.h"

/* 0x3d32ad9e * crc32(database name), as sqlx's generate_lock_id(). */
int64_t lockkey_for_database(const char *dbname);
/* One schema's of a database (schema per tenant): the same, of
 * "database\0schema", so that each schema has its own. */
int64_t lockkey_for_schema(const char *dbname, const char *schema);
/* golang-migrate's GenerateAdvisoryLockId(database, schema, table): the
 * CRC-32 of "schema\0table\0database" times its salt, as a uint32. */
int64_t lockkey_golang_migrate(const char *dbname, const char *schema,
                               const char *table);
/* Flyway's PostgreSQLAdvisoryLockTemplate: "Flyway" in ASCII plus Java's
 * String.hashCode() of the table as Flyway writes it, "schema"."table". */
int64_t lockkey_flyway(const char *schema, const char *table);

#endif
