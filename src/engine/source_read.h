/*
 * What the source reader's files share: the source and its entries as
 * the load builds them (source.c), names and versions (source_names.c),
 * one file's checks and reading (source_files.c) and other tools'
 * layouts (source_layouts.c). Nothing here is public.
 */
#ifndef STRATA_ENGINE_SOURCE_READ_H
#define STRATA_ENGINE_SOURCE_READ_H

#include "util/common.h"
#include "util/arena.h"
#include "util/sbuf.h"
#include "util/strmap.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>

/* Threads reading files: system calls dominate a large source's load. */
#define MAX_READERS 4

struct strata_source {
	struct arena arena; /* everything below, and the migrations' texts */
	/* what the other reader threads allocated (names, texts) */
	struct arena reader_arenas[MAX_READERS - 1];
	const char *dir;
	struct strata_migration *migrations; /* ascending version */
	size_t n;
	bool is_built; /* not read from `dir` (source_new_built()) */
	enum strata_layout layout;
	bool is_layout_asked; /* not detected: the database cannot change it */
	/* A load with is_down_deferred: each migration's down file (by its
	 * index; NULL: none, or read), read when a run applies it
	 * (source_read_downs()), as the load would have read it. */
	struct entry **downs;
	/* Likewise with is_up_deferred: each up file whose text was not
	 * kept, read again when a run applies it (source_read_ups()). */
	struct entry **ups;
	/* of both tables: runs may share a source */
	pthread_mutex_t deferred_lock;
	size_t max_file_size;
	enum strata_layout read_layout;
	struct strata_placeholder *placeholders;
	size_t n_placeholders;
	const char *timestamp;
};

enum kind {
	KIND_SIMPLE, /* V_d.sql */
	KIND_UP,     /* V_d.up.sql */
	KIND_DOWN,   /* V_d.down.sql */
};

/* One directory entry ending in ".sql"; all strings in the arena. */
struct entry {
	const char *name;
	const char *path; /* DIR/NAME */
	bool is_named;    /* the name parsed: version, kind, description hold */
	bool is_regular;  /* readdir() said so: no lstat() needed */
	bool is_sound;    /* read (unless skipped as a down file) and checked */
	enum kind kind;
	int64_t version;
	const char *version_text; /* the name's digits, as written */
	const char *description;
	/* DIR/up.sql or DIR/down.sql of diesel's layout, named from DIR */
	bool is_diesel;
	bool is_diesel_no_transaction; /* DIR/metadata.toml says so */
	bool is_flyway;                /* V1__x.sql, U1__x.sql, R__x.sql */
	bool is_flyway_no_transaction; /* V1__x.sql.conf says so */
	bool has_flyway_conf;          /* V1__x.sql.conf is in the listing */
	bool is_repeatable;            /* R__x.sql: version set once sorted */
	/* named as dbmate names (003.sql), not as sqlx does: a migration
	 * only if its text is dbmate's */
	bool is_dbmate_named;
	/* of an unscanned diesel directory: whether the file is there, and
	 * DIR/metadata.toml, are found when it is read */
	bool is_probe;
	/* of a probed up file: its directory's down file, read with it (by
	 * the same thread, right after it) rather than taken in turn */
	struct entry *partner;
	/* the probe's open descriptor of a regular file, and its size: read
	 * from it, with no second open (`has_fd` false: none) */
	bool has_fd;
	int fd;
	off_t fd_size;
	struct content *content;  /* NULL until read */
	struct strata_error *err; /* what check_entry() found wrong, if any */
};

/* What reading a file learnt (apart: status reads no down file). */
struct content {
	const char *text; /* NULL when not kept */
	size_t len;
	unsigned char checksum[STRATA_CHECKSUM_LEN]; /* of an up file */
	bool is_no_transaction;
	int32_t flyway_checksum;            /* Flyway's, of a Flyway file */
	int32_t flyway_equivalent_checksum; /* a repeatable's, unreplaced */
	/* dbmate's sections: text[0, down_at) is the up (only comments come
	 * before its marker), text[down_at, len) the down */
	bool is_dbmate;
	bool is_down_no_transaction;
	bool has_down_statements; /* more than comments after its marker */
	size_t down_at;
};

/* One thread's reading of the entries; each thread has its own. */
struct reader {
	struct arena *arena;   /* what the source keeps */
	struct arena *scratch; /* what the load needs no longer */
	int dir_fd;
	const char *root; /* realpath() of the directory, found when needed */
	const char *dir;
	size_t max;
	bool is_checksums_only;
	bool is_down_deferred;       /* down files only named, kept for later */
	bool is_up_deferred;         /* up files' texts not kept once hashed */
	bool is_down_lookup_skipped; /* diesel's down.sql not looked for */
	enum strata_layout layout; /* as asked: AUTO reads dbmate's sections */
	const struct strata_placeholder *placeholders; /* Flyway's ${name} */
	size_t n_placeholders;
	const char *timestamp; /* ${flyway:timestamp}, the load's */
	struct sbuf buf;       /* scratch */
	struct entry **entries;
	size_t n;
	atomic_size_t *next; /* the next entry to take, shared */
};

/*
 * A problem found in the source, sorted by `key` (the first file name it
 * concerns) and then by the order it was found in.
 */
struct problem {
	const char *key;
	size_t seq;
	struct strata_error err;
};

struct problems {
	struct problem *v;
	size_t n, alloc;
};

/* Takes over `err` (leaving it empty). */
void source_problems_add(struct problems *p, const char *key,
                         struct strata_error *err);

/* ---- source_names.c ------------------------------------------------------
 */

bool source_has_suffix(const char *s, size_t len, const char *suffix);
/* The same, letters in any case: Flyway's ResourceNameParser strips its
 * ".sql" so ("V1__x.SQL" is a migration). */
bool source_has_suffix_nocase(const char *s, size_t len, const char *suffix);
/* Names `e` (version, kind, description), or fills `err`. */
int source_parse_entry(struct entry *e, struct arena *arena,
                       struct strata_error *err);
/* The files of one version, sorted by kind, checked together; `*key`
 * receives the name a problem is filed under. */
int source_check_version(struct strata_migration *out, struct entry **group,
                         size_t n, const char **key, struct strata_error *err);

/* ---- source_files.c ------------------------------------------------------
 */

/* Everything that can be wrong with one file on its own; reads it. */
int source_check_entry(struct entry *e, struct reader *r,
                       struct strata_error *err);

/* ---- source_layouts.c ----------------------------------------------------
 */

/*
 * Entries that strata does not read but that look like migrations of
 * another layout (design.md, Migration sources and layouts): sqlx passes
 * over them, so a folder of them would be reported up to date, or some of
 * a mixed folder's migrations would never run. Each is an error; a hidden
 * entry, or a directory holding no file named like a migration (shared SQL
 * that migrations link to, seeds), is clearly no migration.
 */
enum alien_kind {
	ALIEN_DIESEL, /* VERSION_NAME/up.sql */
	ALIEN_FLYWAY, /* V1__x.sql, U1__x.sql, R__x.sql */
	ALIEN_DIR,    /* a directory named like a migration or holding one */
	ALIEN_NAME,   /* a file named like a migration, not ending in .sql */
};

/* What a diesel directory holds, seen when it was classified */
enum diesel_files {
	DIESEL_UP = 1 << 0,
	DIESEL_DOWN = 1 << 1,
	DIESEL_METADATA = 1 << 2,
	DIESEL_UP_REGULAR = 1 << 3, /* readdir() said so: no lstat() */
	DIESEL_DOWN_REGULAR = 1 << 4,
	/* not looked into yet: named like diesel's, its files are found
	 * when read (on the reader threads) */
	DIESEL_UNSCANNED = 1 << 5,
};

struct alien {
	enum alien_kind kind;
	const char *name, *path;
	unsigned files; /* enum diesel_files, of an ALIEN_DIESEL */
};

struct aliens {
	struct alien *v;
	size_t n, alloc;
};

/* VERSION_...: digits (and dashes, for diesel's directories) then '_' */
bool source_is_versioned(const char *s, bool is_dash_ok);
/* Flyway's default prefixes: V<ver>__, U<ver>__, R__ */
bool source_is_flyway_name(const char *s);
/* The kind of the unscanned directories of `a`, looked into now (the
 * folder is not diesel's): those no alien leave the list. */
void source_scan_aliens(struct aliens *a, int fd);
/* Whether the entry `de` (not ending in ".sql") is an alien, and which. */
bool source_classify_alien(enum alien_kind *out, unsigned *out_files, int fd,
                           const struct dirent *de);
void source_aliens_add(struct aliens *a, enum alien_kind kind, unsigned files,
                       const char *name, const char *path);
/* The aliens as problems, one per diesel or Flyway folder. */
void source_report_aliens(struct problems *problems, const struct aliens *a,
                          const char *dir, enum strata_layout layout);

/* ---- source_dbmate.c / source_diesel.c -----------------------------------
 */

/* Whether `text` holds a "-- migrate:up" or "-- migrate:down" marker. */
bool source_has_dbmate_marker(const char *text, size_t len);
/* dbmate's parse of a name sqlx refuses (VERSION.sql, VERSION-name.sql:
 * any name of leading digits ending in .sql), for a file that proves to
 * be dbmate's; -1 for a name dbmate passes over too. */
int source_parse_dbmate_name(struct entry *e, struct arena *arena);
/* dbmate's sections of an entry's text into `c`, checked as dbmate checks
 * them (migration.go), or fills `err`. */
int source_read_dbmate(struct content *c, const struct entry *e,
                       const char *text, size_t len, struct strata_error *err);
/* The up and down texts of a dbmate file's content, into `m`. */
void source_fill_dbmate(struct strata_migration *m, const struct content *c,
                        struct arena *arena);
/*
 * The entries of diesel's directories (aliens of kind ALIEN_DIESEL):
 * DIR/up.sql and DIR/down.sql, named from DIR as diesel names them, with
 * DIR/metadata.toml read; what is wrong with a directory becomes a
 * problem. Appends to `*v`.
 */
void source_add_diesel(struct entry ***v, size_t *n, size_t *alloc,
                       struct problems *problems, const struct aliens *a,
                       int dir_fd, struct arena *scratch, struct arena *keep);
/*
 * A probed entry of an unscanned diesel directory, before it is read:
 * its up file's metadata.toml; 1 when the (down) file is not there, so
 * the entry is no file at all; -1 with `err`.
 */
int source_probe_diesel(struct entry *e, struct reader *r,
                        struct strata_error *err);

/* ---- source_flyway.c ----------------------------------------------------
 */

/* Names a Flyway entry (V, U or R file) as Flyway does, or fills `err`. */
int source_parse_flyway(struct entry *e, struct arena *arena,
                        struct strata_error *err);
/* A Flyway file's text with its ${placeholders} replaced as Flyway
 * replaces them, into `*out` (`text` itself when it has none). */
int source_replace_flyway_placeholders(const char **out, size_t *out_len,
                                       const struct entry *e,
                                       const struct reader *r, const char *text,
                                       size_t len, struct strata_error *err);
/* The migration's executeInTransaction from NAME.conf beside it, if any. */
int source_read_flyway_conf(bool *out_no_transaction, const struct entry *e,
                            struct strata_error *err);

/* ---- source_flyway_dirs.c -----------------------------------------------
 */

/* What the folder's listing holds besides its .sql files, for Flyway. */
struct listing {
	/* its NAME.sql.conf files, seen there rather than looked for beside
	 * each file */
	struct strmap confs;
	/* its subdirectories (and links, and names of no known type), which
	 * Flyway reads too */
	const char **dirs;
	size_t n_dirs, dirs_alloc;
	/* Flyway's script migrations (V1__x.sh...), which strata does not run:
	 * paths, as listed */
	const char **scripts;
	size_t n_scripts, scripts_alloc;
};

/* Whether a file name is one of Flyway's script migrations (V1__x.sh,
 * R__x.py...), which Flyway runs as a program. */
bool source_is_flyway_script(const char *file);
/* Each script migration the listing holds, as a problem. */
void source_flyway_script_problems(struct problems *problems,
                                   const struct listing *l);

/* The Flyway callback event a file name (afterMigrate.sql,
 * beforeMigrate__x.sql) names, or NULL. */
const char *source_flyway_callback(const char *file);
/* An entry's file name, without the subdirectories it is in. */
const char *source_entry_file(const struct entry *e);
/* The .sql files below the listing's directories, at any depth but hidden
 * ones, appended to *v named SUBDIR/FILE, their SUBDIR/FILE.sql.conf put in
 * its confs and script migrations in its scripts; a directory that cannot
 * be read, or a link to one, fills `err`. */
int source_walk_flyway(struct entry ***v, size_t *n, size_t *alloc,
                       struct listing *l, int dir_fd, const char *dir,
                       struct arena *scratch, struct arena *keep,
                       struct strata_error *err);

#endif
