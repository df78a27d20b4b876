/*
 * Dumps strata did not write, told by their content (plain.c): what a
 * file is (gzip, pg_dump's custom archive, a directory-format dump, an
 * SQLite database, else SQL text), the check of SQL text before anything
 * runs, and the reader that streams it (gunzipped by zlib) to psql or
 * SQLite.
 */
#ifndef STRATA_BACKUP_PLAIN_H
#define STRATA_BACKUP_PLAIN_H

#include "util/common.h"
#include "util/sbuf.h"

#include <sys/types.h>
#include <zlib.h>

/* Fills b->format, b->is_gzip and b->driver ("sqlite" for an SQLite
 * database, else NULL) from the content at b->path. */
int plain_describe(struct strata_backup *b, struct strata_error *err);

/*
 * Reads the SQL text of `b` to its end before anything runs: readable,
 * not truncated (a gzip stream that ends early, a pg_dump without its
 * "dump complete" line, a quote or COPY data never closed), not empty.
 * With is_pg, also refused: what cannot run inside one transaction
 * (CREATE DATABASE, \connect of pg_dumpall and pg_dump --create,
 * transaction control, VACUUM, ... CONCURRENTLY) and psql meta-commands
 * other than pg_dump's \restrict. *out: its statements.
 */
int plain_check(size_t *out, const struct strata_backup *b, bool is_pg,
                struct strata_error *err);

struct plain_reader {
	gzFile gz;
	const char *path;
	struct sbuf failure; /* why feeding stopped, "" when it did not */
};

int plain_reader_open(struct plain_reader *r, const char *path,
                      struct strata_error *err);
/* A child's feed (util/spawn.h): the text, gunzipped. */
ssize_t plain_reader_feed(void *data, char *buf, size_t size);
void plain_reader_close(struct plain_reader *r);

/* The whole text at `path`, gunzipped, into `out`. */
int plain_read_all(struct sbuf *out, const char *path,
                   struct strata_error *err);

#endif
