/*
 * A source from migrations compiled into the program (strata embed). The
 * data is checked as the folder was when it was embedded, since it is C
 * source anyone can edit and a binary anything can damage: a text that no
 * longer hashes to its recorded checksum, or a name that no longer says
 * its version, would otherwise run, or be recorded, as something it is
 * not. The texts stay where they are (static data); only the paths that
 * errors show, "DIR/NAME (embedded)", are made here.
 */
#include "engine/checksum.h"
#include "engine/source.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/sbuf.h"
#include "util/text.h"
#include "util/xalloc.h"

#include <inttypes.h>

#define EMBEDDED_SUFFIX " (embedded)"

static const char *embedded_path(struct arena *arena, const char *dir,
                                 const char *name)
{
	size_t n = dir ? strlen(dir) : 0;

	if (!n)
		return arena_strfmt(arena, "%s" EMBEDDED_SUFFIX, name);
	return arena_strfmt(arena, "%s%s%s" EMBEDDED_SUFFIX, dir,
	                    dir[n - 1] == '/' ? "" : "/", name);
}

/* Data that is not what strata embed wrote: `path` names the file. */
static int corrupt_error(struct strata_error *err, const char *path,
                         const char *fmt, ...) STRATA_PRINTF(3, 4);
static int corrupt_error(struct strata_error *err, const char *path,
                         const char *fmt, ...)
{
	struct sbuf why = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&why, fmt, ap);
	va_end(ap);
	strata_error_set(err, STRATA_EVALIDATE,
	                 "embedded migration '%s' is corrupted", path);
	strata_error_detail(err, "%s", why.buf);
	strata_error_hint(
	        err,
	        "The embedded data was changed after strata embed wrote it: write it again from the migration folder with strata embed, and rebuild.");
	error_set_location(err, path, NULL, 0, 0);
	sbuf_release(&why);
	return -1;
}

/*
 * A file's name parsed as the folder's source parses it, to the same
 * version and description as its migration records, with the suffix of
 * its kind.
 */
static int check_name(const struct strata_embedded_migration *em,
                      const char *name, const char *path, const char *suffix,
                      struct arena *arena, struct strata_error *err)
{
	struct source_name nm;

	if (strchr(name, '/'))
		return corrupt_error(err, path,
		                     "The file name holds a '/': it names "
		                     "a file of the folder, not a path.");
	if (source_parse_name(&nm, name, arena, err) < 0) {
		free(err->file);
		err->file = xstrdup(path);
		return -1;
	}
	if (nm.version != em->version)
		return corrupt_error(err, path,
		                     "Its name says version %" PRId64
		                     ", the data %" PRId64 ".",
		                     nm.version, em->version);
	if (!em->description || strcmp(nm.description, em->description))
		return corrupt_error(err, path,
		                     "Its name says description '%s', the data "
		                     "'%s'.",
		                     nm.description,
		                     em->description ? em->description : "");
	if (strcmp(nm.suffix, suffix))
		return corrupt_error(
		        err, path,
		        "Its name ends in '%s' where the data says "
		        "it ends in '%s'.",
		        nm.suffix, suffix);
	return 0;
}

/* A text of the recorded length, UTF-8, its directive as recorded. */
static int check_text(const char *path, const char *text, size_t len,
                      bool is_no_transaction, struct strata_error *err)
{
	size_t bad;

	if (!text)
		return corrupt_error(err, path, "It has no text.");
	if (strlen(text) != len)
		return corrupt_error(err, path,
		                     "Its text is %zu bytes long, the data "
		                     "says %zu.",
		                     strlen(text), len);
	bad = text_utf8_invalid_at(text, len);
	if (bad < len) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "embedded migration '%s' is corrupted", path);
		strata_error_detail(err, "Its text is not valid UTF-8.");
		error_set_location(err, path, text, len, bad);
		return -1;
	}
	if (source_is_no_transaction(text, len) != is_no_transaction)
		return corrupt_error(
		        err, path,
		        "The data says it runs %s a transaction, its text "
		        "says %s.",
		        is_no_transaction ? "outside" : "inside",
		        is_no_transaction ? "inside" : "outside");
	return 0;
}

static int check_checksum(const struct strata_embedded_migration *em,
                          const char *path, struct strata_error *err)
{
	unsigned char sum[STRATA_CHECKSUM_LEN];
	struct sbuf d = SBUF_INIT;

	strata_checksum(sum, em->up_sql, em->up_len);
	if (!memcmp(sum, em->checksum, sizeof(sum)))
		return 0;
	sbuf_adds(&d, "Recorded checksum ");
	sbuf_add_hex(&d, em->checksum, sizeof(em->checksum));
	sbuf_adds(&d, ", text checksum ");
	sbuf_add_hex(&d, sum, sizeof(sum));
	sbuf_addch(&d, '.');
	strata_error_set(err, STRATA_EVALIDATE,
	                 "embedded migration '%s' does not match its checksum",
	                 path);
	strata_error_detail(err, "%s", d.buf);
	strata_error_hint(
	        err,
	        "The embedded data was changed after strata embed wrote it: write it again from the migration folder with strata embed, and rebuild.");
	error_set_location(err, path, NULL, 0, 0);
	sbuf_release(&d);
	return -1;
}

static int build_one(struct strata_migration *m,
                     const struct strata_embedded_migration *em,
                     const char *dir, struct arena *arena,
                     struct strata_error *err)
{
	const char *up_path, *down_path = NULL;

	if (!em->up_name)
		return corrupt_error(err, embedded_path(arena, dir, "?"),
		                     "Migration %" PRId64 " has no file name.",
		                     em->version);
	up_path = embedded_path(arena, dir, em->up_name);
	if (check_name(em, em->up_name, up_path,
	               em->is_reversible_pair ? ".up.sql" : ".sql", arena,
	               err) < 0 ||
	    check_text(up_path, em->up_sql, em->up_len, em->is_no_transaction,
	               err) < 0 ||
	    check_checksum(em, up_path, err) < 0)
		return -1;
	if (em->down_name) {
		down_path = embedded_path(arena, dir, em->down_name);
		if (check_name(em, em->down_name, down_path, ".down.sql", arena,
		               err) < 0 ||
		    check_text(down_path, em->down_sql, em->down_len,
		               em->is_down_no_transaction, err) < 0)
			return -1;
	} else if (em->down_sql) {
		return corrupt_error(err, up_path,
		                     "It has a down text but no down file.");
	}
	memset(m, 0, sizeof(*m));
	m->version = em->version;
	m->version_text = arena_strfmt(arena, "%" PRId64, em->version);
	m->description = em->description;
	m->up_path = up_path;
	m->up_sql = em->up_sql;
	m->up_len = em->up_len;
	m->down_path = down_path;
	m->down_sql = down_path ? em->down_sql : NULL;
	m->down_len = down_path ? em->down_len : 0;
	memcpy(m->checksum, em->checksum, sizeof(m->checksum));
	m->is_no_transaction = em->is_no_transaction;
	m->is_down_no_transaction = down_path && em->is_down_no_transaction;
	m->is_reversible_pair = em->is_reversible_pair;
	return 0;
}

int strata_source_from_embedded(struct strata_source **out,
                                const struct strata_embedded *emb,
                                struct strata_error *err)
{
	struct strata_source *src = NULL;
	struct strata_migration *ms;
	struct arena *arena;
	const char *dir, *shown;
	struct sbuf name = SBUF_INIT;
	int rc = -1;

	*out = NULL;
	if (!emb)
		return strata_error_set(err, STRATA_EUSAGE,
		                        "no embedded migrations were given");
	if (checksum_load(err) < 0)
		return -1;
	dir = emb->dir ? emb->dir : "";
	sbuf_addf(&name, "%s" EMBEDDED_SUFFIX, *dir ? dir : ".");
	src = source_new_built(name.buf, &arena);
	shown = strata_source_dir(src);
	if (emb->version < 1 || emb->version > STRATA_EMBEDDED_VERSION) {
		strata_error_set(
		        err, STRATA_EVALIDATE,
		        "embedded migrations '%s' are of layout version %u, which this library does not read",
		        shown, emb->version);
		strata_error_detail(
		        err,
		        "This library reads layout versions 1 to %u: the data was written by a newer strata, or is damaged.",
		        (unsigned)STRATA_EMBEDDED_VERSION);
		strata_error_hint(
		        err,
		        "Write the data again with the strata embed of the libstrata the program links, or link a newer libstrata.");
		goto done;
	}
	if (!emb->count || !emb->migrations) {
		strata_error_set(err, STRATA_EVALIDATE,
		                 "'%s' holds no migration", shown);
		strata_error_detail(
		        err,
		        "A source without any migration would report any database up to date.");
		goto done;
	}
	ms = arena_alloc(arena, emb->count * sizeof(*ms));
	for (size_t i = 0; i < emb->count; i++) {
		const struct strata_embedded_migration *em =
		        &emb->migrations[i];

		if (build_one(&ms[i], em, dir, arena, err) < 0)
			goto done;
		if (i && em->version == ms[i - 1].version) {
			strata_error_set(
			        err, STRATA_EVALIDATE,
			        "duplicate embedded migration version %" PRId64
			        ": '%s' and '%s'",
			        em->version, ms[i - 1].up_path, ms[i].up_path);
			error_set_location(err, ms[i].up_path, NULL, 0, 0);
			goto done;
		}
		if (i && em->version < ms[i - 1].version) {
			corrupt_error(err, ms[i].up_path,
			              "It comes after version %" PRId64
			              ": the migrations are not in ascending "
			              "version order.",
			              ms[i - 1].version);
			goto done;
		}
	}
	source_set_migrations(src, ms, emb->count);
	*out = src;
	src = NULL;
	rc = 0;
done:
	strata_source_free(src);
	sbuf_release(&name);
	return rc;
}
