/*
 * What the generic half of backups shares among its files: backup.c
 * (create, verify), backup_files.c (names, durable writes, hashes,
 * manifests), backup_prune.c (listing, retention) and backup_restore.c.
 * The drivers' backup operations don't need it: they share backup.h.
 */
#ifndef STRATA_BACKUP_FILES_H
#define STRATA_BACKUP_FILES_H

#include "util/common.h"
#include "util/sbuf.h"
#include "backup/backup.h"

#define MANIFEST_SUFFIX  ".json"
#define MANIFEST_VERSION 1
#define PART_MARK        ".part-"
#define TAG_IN_NAME_MAX  48
#define DAY_SECONDS      86400
#define HASH_CHUNK       (1024 * 1024)

/* ---- backup.c ------------------------------------------------------------ */

/* The backup operations of the manifest's driver; NULL and STRATA_EVALIDATE
 * for a driver this build does not know. */
const struct backup_ops *backup_ops_of(const struct strata_backup *b,
                                       struct strata_error *err);
/* Size and SHA-256 against the manifest: STRATA_EVALIDATE if they differ. */
int backup_check_file(const struct strata_backup *b, struct strata_error *err);

/* ---- backup_files.c ------------------------------------------------------ */

/* `t` (seconds since the epoch) in UTC, through strftime's `fmt`. */
void backup_format_utc(char *out, size_t size, const char *fmt, int64_t t);
bool backup_has_suffix(const char *s, const char *suffix);
/* mkdir -p, new directories 0700: backups hold the whole database. */
int backup_make_dir(const char *dir, struct strata_error *err);
/* An empty DIR/.NAME.part-XXXXXX, mode 0600; `out` holds its path. */
int backup_make_temp(struct sbuf *out, const char *dir, const char *name,
                     struct strata_error *err);
/* Writes `text` to `path` (which exists) and fsyncs it. */
int backup_write_synced(const char *path, const char *text,
                        struct strata_error *err);
/* 0 once backup_hash_file() can run (it needs libcrypto, loaded when first
 * needed); else STRATA_EFAILED saying what to install. */
int backup_hash_load(struct strata_error *err);
/* The SHA-256 (lower-case hex) and size of the file at `path`; with
 * is_sync, the file is fsync'd too. A directory (a directory-format dump)
 * hashes each file's name, size and content in name order, and its size
 * is theirs together. */
int backup_hash_file(char hex[65], uint64_t *size, const char *path,
                     bool is_sync, struct strata_error *err);
/* Removes the backup at `path`: a file, or a directory-format dump (its
 * files, then itself); 0 when it is gone (or never was), else -1 and errno. */
int backup_remove(const char *path);
/* The suffix of a backup of `format` by a driver whose own is `native`. */
const char *backup_suffix(enum strata_backup_format format, const char *native);
/* Makes the directory's entries (a rename) durable. */
int backup_sync_dir(const char *dir, struct strata_error *err);
/* Gives `tmp` the name `path`, never replacing a file that has it; 1 when
 * `path` is taken. */
int backup_publish(const char *tmp, const char *path, struct strata_error *err);
/* DB-YYYYMMDDTHHMMSSZ-KIND[-TAG] */
void backup_file_base(struct sbuf *sb, const struct strata_backup *b);
/* The manifest's JSON text (the caller frees it). */
char *backup_manifest_text(const struct strata_backup *b);
/* Reads the manifest at `path`; *is_foreign set (and -1 returned with no
 * error) when the file is not one of strata's manifests. */
int backup_manifest_load(struct strata_backup **out, const char *path,
                         bool *is_foreign, struct strata_error *err);

#endif
