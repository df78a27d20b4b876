/*
 * strata serve's answers: one read of the database (status and audit
 * trail) rendered, once per read, into every body the server gives out
 * (/health, /metrics, /, /history.json), so that a request only copies
 * one. cmd_serve.c reads and serves; serve_render.c writes JSON and
 * Prometheus text; serve_page.c writes the HTML page.
 */
#ifndef STRATA_SERVE_H
#define STRATA_SERVE_H

#include "cli.h"

/* One read of the database, and what the server knows of itself. */
struct serve_read {
	bool is_ok;       /* the read succeeded: st and audit are set */
	char *error;      /* otherwise what failed (printable, no password) */
	int64_t read_at;  /* Unix milliseconds */
	double read_secs; /* how long the read took */
	const char *url;  /* the database, redacted */
	const char *driver;
	struct strata_source *src;
	struct strata_status *st;
	struct strata_audit *audit;
	struct strata_runner runner; /* who holds the migration lock now */
	bool has_backup;
	int64_t backup_at; /* the newest complete backup's time, Unix s */
	bool is_pending_ok;
	uint64_t reads, read_errors; /* since the server started */
	/* run --metrics-file: the run's exit code and end, instead of the
	 * server's own counters */
	bool is_run;
	int run_exit;
};

struct serve_body {
	char *text;
	size_t len;
};

/* Every answer of one read. */
struct serve_pages {
	int health_code; /* 200 or 503 */
	struct serve_body health, metrics, page, history;
	/* /health without credentials (--auth-file): the status alone */
	struct serve_body health_public;
};

/* Status and audit trail of `db` into `r` (cmd_serve.c); the newest
 * backup of the backup folder, when there is one; release. */
int serve_read_state(struct serve_read *r, struct cli *cli,
                     struct strata_db *db, struct strata_error *err);
void serve_read_backups(struct serve_read *r, struct cli *cli);
void serve_read_release(struct serve_read *r);

/*
 * run --metrics-file: the metrics of /metrics after a run that exited
 * `run_exit`, written to `path` atomically (a hidden temporary file in the
 * same folder, synced, renamed over it), as node_exporter's textfile
 * collector reads them. `db` may be NULL (the run could not connect).
 * Returns 0, or 1 with the error printed.
 */
int serve_write_metrics_file(struct cli *cli, const char *path,
                             struct strata_db *db, int run_exit);

/* "ok", "warning" or "error", and the HTTP code /health answers with. */
const char *serve_health_status(const struct serve_read *r, int *code);

/* Fills `out` from `r`; release with serve_pages_release(). */
void serve_render(struct serve_pages *out, const struct serve_read *r);
void serve_pages_release(struct serve_pages *p);

/* The HTML page (serve_page.c), written to `fp`. */
void serve_page_write(FILE *fp, const struct serve_read *r);

/* ISO 8601 UTC ("2025-01-01T12:00:00.123456Z") as Unix seconds; false
 * when `s` is not one. */
bool serve_parse_time(double *out, const char *s);
/* Unix milliseconds as "2025-01-01T12:00:00.123Z". */
void serve_format_time(char *buf, size_t size, int64_t ms);
/* The newest version applied: its entry, NULL when none is. */
const struct strata_status_entry *
serve_latest_version(const struct strata_status *st);
/* An entry's version as a number as its layout writes it (diesel's
 * digits, not their order key); false for one that is no whole number
 * (Flyway's 1.1). */
bool serve_version_number(int64_t *out, const struct strata_status_entry *e);

/*
 * --auth-file (serve_auth.c): credentials read from `path` (USER:BCRYPT
 * lines for HTTP Basic, bearer:TOKEN lines), or -1 with `err` naming the
 * file and line. serve_auth_check() says whether an Authorization header
 * (NULL when none) holds one of them; it may be called from any thread.
 */
struct serve_auth;
int serve_auth_load(struct serve_auth **out, const char *path,
                    struct strata_error *err);
void serve_auth_free(struct serve_auth *a);
bool serve_auth_check(struct serve_auth *a, const char *header);
bool serve_auth_has_basic(const struct serve_auth *a);
bool serve_auth_has_bearer(const struct serve_auth *a);

/* --tls-cert and --tls-key (serve_tls.c): both PEM texts, checked to be a
 * certificate and its unencrypted key, or -1 with `err` naming the file. */
struct serve_tls {
	char *cert, *key;
	bool is_expired; /* or not valid yet: worth a warning */
};
int serve_tls_load(struct serve_tls *out, const char *cert_path,
                   const char *key_path, struct strata_error *err);
void serve_tls_release(struct serve_tls *t);

#endif
