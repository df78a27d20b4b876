/* The parts of the source's reading tests call alone */
#ifndef STRATA_ENGINE_SOURCE_H
#define STRATA_ENGINE_SOURCE_H

#include "util/common.h"
#include "util/arena.h"

struct source_name {
	int64_t version;
	const char *description; /* '_' read as ' ', in the arena */
	const char *suffix;      /* ".sql", ".up.sql" or ".down.sql" */
};

/* A file name read as the source reads it: STRATA_EVALIDATE when it names
 * no migration. `name` also stands for the path in the error. */
int source_parse_name(struct source_name *out, const char *name,
                      struct arena *arena, struct strata_error *err);
/* The version as the migration's layout shows it (diesel's text, not the
 * number that orders it). */
const char *migration_version(const struct strata_migration *m);
/* Whether the layout was asked for rather than detected from the folder. */
bool source_is_layout_asked(const struct strata_source *src);
/* Whether every migration is an .up.sql (and .down.sql) pair, as
 * golang-migrate names them. */
bool source_is_all_pairs(const struct strata_source *src);
/* err's version shown as the source's layout shows it (version_text). */
void source_name_version(const struct strata_source *src,
                         struct strata_error *err);
/* diesel's version text as the number that orders as the text does (see
 * strata_source_version_key()); -1 for more than 18 digits. */
int64_t source_diesel_key(const char *digits, size_t len);
/* A Flyway version ("1.2", "1_2") as the number that orders as Flyway
 * orders versions, equal for equal versions ("1" and "1.0"); -1 when it is
 * no version, -2 when it has too many digits to order. */
int64_t source_flyway_key(const char *text, size_t len);
/* Flyway's checksum of a file's text (ChecksumCalculator). */
int32_t source_flyway_checksum(const char *text, size_t len);
/* The offset of the first "-- migrate:KIND" marker at or after `from`, as
 * dbmate's regexp finds it (convert drops it); `len` when there is none. */
size_t source_find_dbmate_marker(const char *text, size_t len, size_t from,
                                 const char *kind);
/* Whether a file's text starts with STRATA_NO_TRANSACTION_DIRECTIVE. */
bool source_is_no_transaction(const char *text, size_t len);
/* STRATA_EVALIDATE naming the file when `text` starts with a UTF-8
 * byte-order mark (refused where the file is to run). */
int source_check_bom(const char *path, const char *text, size_t len,
                     struct strata_error *err);

/*
 * A source whose migrations were read elsewhere (source_embed.c): what
 * they need lives in `*out_arena`, the source's, or outlives it. The
 * migrations are set once, in ascending version order.
 */
struct strata_source *source_new_built(const char *dir,
                                       struct arena **out_arena);
void source_set_migrations(struct strata_source *src,
                           struct strata_migration *ms, size_t n);
/*
 * A source of `src`'s migrations whose versions `keep` says (in `src`'s
 * order), read in `layout` as if asked: drift's shadow applies what the
 * database has applied. It borrows from `src`, which must outlive it, and
 * reads first the texts of those a load deferred (source_read_ups()):
 * the copies must hold them. -1 naming a file that fails.
 */
int source_subset(struct strata_source **out, const struct strata_source *src,
                  const bool *keep, enum strata_layout layout,
                  struct strata_error *err);
/*
 * Reads the down files of `ms` (migrations of `src`) that a load with
 * is_down_deferred left unread, with the checks the load makes, and
 * fills their down_sql: a run calls it for what it is about to apply.
 * The source is const to its users as its texts are a cache filled here,
 * under its lock. `ms` NULL: every migration's. -1 with `err` naming the
 * first file that fails.
 */
int source_read_downs(const struct strata_source *src,
                      const struct strata_migration *const *ms, size_t n,
                      struct strata_error *err);
/* Likewise the up files' texts a load with is_up_deferred did not keep,
 * each checked to be what the load hashed: -1 naming one that changed. */
int source_read_ups(const struct strata_source *src,
                    const struct strata_migration *const *ms, size_t n,
                    struct strata_error *err);
/* The folder the files were read from, for the audit trail's git commit;
 * NULL for a built source (its folder is not there to ask). */
const char *source_folder(const struct strata_source *src);

#endif
