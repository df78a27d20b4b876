/*
 * PostgreSQL backups and restores, shared by their files: backup_pg.c
 * (pg_dump, the tools, row counts, locks), pg_child.c (how a child
 * process connects), restore_pg.c (pg_restore, the swap and the restore
 * in place) and restore_pg_safety.c (what a restore checks first, and the
 * audit trail across it). They reach their connection through the driver
 * table (handle()) and speak libpq through pgsession.h.
 */
#ifndef STRATA_BACKUP_BACKUP_PG_H
#define STRATA_BACKUP_BACKUP_PG_H

#include "util/common.h"
#include "util/sbuf.h"
#include "util/spawn.h"
#include "drivers/driver.h"
#include "drivers/pgsession.h"
#include "engine/db.h"
#include "backup/backup.h"

/* The libpq session of a PostgreSQL connection, through the driver table. */
static inline PGconn *session_of(struct strata_conn *c)
{
	return c->drv->handle(c);
}

struct pg_tool {
	char *path;
	char *version; /* "pg_dump (PostgreSQL) 16.2 (Debian ...)" */
	int major;
};

struct child_conn {
	struct child_env env;
	char *dbname_arg; /* "--dbname=dbname='x' ..." */
	int pass_fd;      /* the password file in memory, else -1 */
	int pass_fd_as;   /* its number in the child */
	char *dir;        /* else the password file's private directory */
	char *passfile;
	char *password; /* to scrub from the child's messages */
};

struct counts {
	PGresult *names;
	bool is_sent; /* the count query runs on the session */
};

/* What the restoring role may do with the target database. */
struct target_rights {
	char *role;          /* current_user */
	char *owner;         /* the database's owner */
	bool is_super;       /* a superuser */
	bool can_createdb;   /* CREATEDB (or superuser) */
	bool is_owner;       /* a member of the owner (or superuser) */
	struct sbuf unowned; /* what the role cannot drop, one per line */
	int n_unowned;
};

/* backup_pg.c */
void pgbackup_tool_release(struct pg_tool *t);
/* The major version in "pg_dump (PostgreSQL) 16.2", else 0. */
int pgbackup_version_major(const char *text);
/* A regular file this process may execute. */
bool pgbackup_is_executable(const char *path);
/* The first `name` in PATH's directories that is executable, else NULL. */
char *pgbackup_find_on_path(const char *name);

/*
 * The `name` tool to use: of major version `want` when there is one
 * (0: the newest), refused when older than `min` (what `min_what` is).
 */
int pgbackup_find_tool(struct pg_tool *out, const char *name, int want, int min,
                       const char *min_what, const char *bindir,
                       struct strata_error *err);
/* Lists the tables, and sends the query that counts their rows. */
int pgbackup_counts_send(struct counts *k, PGconn *pg, bool is_schema_only,
                         struct strata_error *err);
/* Reads the counts into b->tables (each 0 when they were not counted). */
int pgbackup_counts_collect(struct strata_backup *b, struct counts *k,
                            PGconn *pg, struct strata_error *err);
/* Stops a count still running and drops its results. */
void pgbackup_counts_release(struct counts *k, PGconn *pg);

/* pg_child.c */
/* Hands the environment and the password file over to the child. */
void pgchild_pass(const struct child_conn *cc, struct child *c);
void pgchild_release(struct child_conn *cc);
/*
 * How a child (`tool`, for messages) reaches what session `pg` reached,
 * in database `dbname` (NULL: the same). See the top of the file.
 */
int pgchild_init(struct child_conn *cc, PGconn *pg, const char *dbname,
                 const char *tool, struct strata_error *err);
/*
 * A failed child (`tool`): `what`, then its first "error:" line, as the
 * message; the rest of what it said and how it ended as the detail. All
 * scrubbed of the password. Returns -1.
 */
int pgchild_tool_failed(struct strata_error *err, enum strata_code code,
                        const char *what, const char *tool,
                        const struct child *c, const char *password);
/* What a child that succeeded said (warnings), as warning events. */
void pgchild_tool_warnings(strata_event_fn fn, void *data,
                           const struct child *c, const char *password);
/*
 * CREATE DATABASE from template0, as pg_restore's documentation advises.
 * `why`, when given, says what it is for: a role without CREATEDB then
 * hears that, and the grant that would let it.
 */
int pgchild_create_database(const struct strata_url *url, const char *why,
                            struct strata_error *err);
/* A keyword string of `base`'s parameters with dbname = `dbname`. */
int pgchild_resolve(struct strata_url *out, const struct strata_url *base,
                    const char *dbname, struct strata_error *err);

/* restore_pg.c */
int pgrestore_op(const struct strata_backup *b, struct backup_target *t,
                 bool is_clean, const struct strata_restore_options *opts,
                 struct strata_error *err);
int pgrestore_test(struct strata_backup *out, const struct strata_backup *b,
                   const struct strata_verify_options *opts,
                   struct strata_error *err);

/* restore_pg_safety.c */
void pgsafety_rights_release(struct target_rights *r);
int pgsafety_read_rights(struct target_rights *r, PGconn *pg,
                         struct strata_error *err);
/*
 * The client sessions connected to database `name` other than ours, as
 * run names a blocker, one sentence each, into `out`; their number.
 */
int pgsafety_other_sessions(int *out, struct sbuf *list, PGconn *pg,
                            const char *name, struct strata_error *err);
/*
 * Closes a session of ours on the target and waits (up to 2 s) until the
 * server has let it go: a backend ends after its client has hung up, and
 * until then it counts as connected, which a rename refuses.
 */
void pgsafety_close_and_await(struct strata_conn *c,
                              const struct strata_url *url);
/* Refuses a swap while sessions are connected to `name` (they would keep
 * the old database, and PostgreSQL refuses to rename it under them). */
int pgsafety_refuse_if_connected(PGconn *pg, const char *name,
                                 struct strata_error *err);
/* `base` + `infix` + `suffix`, cut to PostgreSQL's 63 bytes at a
 * character's start. */
char *pgsafety_side_name(const char *base, const char *infix,
                         const char *suffix);
int pgsafety_drop_named(PGconn *pg, const char *name, struct strata_error *err);
/* Every row of `audit` in `pg`, by id; *out stays NULL without the table. */
int pgsafety_audit_rows(PGresult **out, PGconn *pg, const char *audit,
                        struct strata_error *err);
/*
 * Appends to `audit` in `pg` the rows of `rows` (the target's trail as it
 * was) newer than every row there, with their ids, in one transaction,
 * and moves its id sequence past them: what was recorded after the
 * backup (reverts, repairs) survives the restore, and ids keep growing.
 * *n_out: how many.
 */
int pgsafety_audit_carry(int *n_out, PGconn *pg, const char *audit,
                         const PGresult *rows, struct strata_error *err);
/* Row counts of the restored database against the manifest's. */
int pgsafety_verify_restored(const struct strata_backup *b, PGconn *pg,
                             const char *what, struct strata_error *err);

#endif
