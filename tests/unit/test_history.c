/*
 * The history module (src/engine/history.c) over an in-memory SQLite
 * database opened with strata_db_open(): sqlx's table as sqlx creates it,
 * rows written and read back, the fence's changes, the one error for a
 * row that is not there, a transaction sent as one batch, and the checks
 * of a row against its migration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/common.h"
#include "engine/db.h"
#include "engine/history.h"

struct fixture {
	struct strata_db *db;
	struct strata_error err;
};

static int setup(void **state)
{
	struct fixture *f = test_calloc(1, sizeof(*f));

	f->err = (struct strata_error)STRATA_ERROR_INIT;
	if (strata_db_open(&f->db, "sqlite::memory:", NULL, &f->err) < 0)
		fail_msg("open: %s", f->err.message);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	strata_db_close(f->db);
	strata_error_release(&f->err);
	test_free(f);
	return 0;
}

static struct strata_migration migration(int64_t version, const char *sql)
{
	struct strata_migration m = { 0 };

	m.version = version;
	m.description = "create users";
	m.up_path = "migrations/1_create_users.sql";
	m.up_sql = sql;
	m.up_len = strlen(sql);
	strata_checksum(m.checksum, sql, strlen(sql));
	return m;
}

static void test_read_without_table(void **state)
{
	struct fixture *f = *state;
	struct history h = { 0 };

	assert_int_equal(history_read(f->db->conn, &f->db->hist, &h, &f->err),
	                 0);
	assert_false(h.has_table);
	assert_int_equal(h.n, 0);
	history_release(&h);
}

static void test_ensure_is_sqlx_ddl(void **state)
{
	static const char sqlx[] =
	        "CREATE TABLE _sqlx_migrations (\n"
	        "    version BIGINT PRIMARY KEY,\n"
	        "    description TEXT NOT NULL,\n"
	        "    installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
	        "    success BOOLEAN NOT NULL,\n"
	        "    checksum BLOB NOT NULL,\n"
	        "    execution_time BIGINT NOT NULL\n"
	        ")";
	struct fixture *f = *state;
	struct db_rows rows = { 0 };
	struct history h = { 0 };

	assert_int_equal(history_ensure(f->db->conn, &f->db->hist, &f->err), 0);
	/* twice: IF NOT EXISTS */
	assert_int_equal(history_ensure(f->db->conn, &f->db->hist, &f->err), 0);
	assert_int_equal(
	        f->db->drv->query(
	                f->db->conn,
	                "SELECT sql FROM sqlite_master WHERE name = '_sqlx_migrations'",
	                0, NULL, &rows, &f->err),
	        0);
	assert_int_equal(rows.n_rows, 1);
	assert_string_equal(db_rows_get(&rows, 0, 0), sqlx);
	db_rows_release(&rows);
	assert_int_equal(history_read(f->db->conn, &f->db->hist, &h, &f->err),
	                 0);
	assert_true(h.has_table);
	assert_int_equal(h.n, 0);
	history_release(&h);
}

static void test_rows_written_and_read(void **state)
{
	struct fixture *f = *state;
	struct strata_conn *c = f->db->conn;
	const struct history_tables *t = &f->db->hist;
	struct strata_migration m2 = migration(2, "CREATE TABLE b (x int);");
	struct strata_migration m1 = migration(1, "CREATE TABLE a (x int);");
	const struct history_row *row;
	struct history h = { 0 };
	bool has = true;

	assert_int_equal(history_ensure(c, t, &f->err), 0);
	assert_int_equal(history_insert(c, t, &m2, false, -1, &f->err), 0);
	assert_int_equal(history_insert(c, t, &m1, true, 1234, &f->err), 0);
	assert_int_equal(history_read(c, t, &h, &f->err), 0);
	assert_int_equal(h.n, 2);
	/* ascending, whatever the order written */
	assert_int_equal(h.rows[0].version, 1);
	assert_int_equal(h.rows[1].version, 2);
	row = history_find(&h, 1);
	assert_non_null(row);
	assert_true(row->success);
	assert_int_equal(row->execution_time, 1234);
	assert_string_equal(row->description, "create users");
	assert_int_equal(row->checksum_len, STRATA_CHECKSUM_LEN);
	assert_true(history_checksum_matches(row, &m1));
	assert_false(history_checksum_matches(row, &m2));
	/* CURRENT_TIMESTAMP, as ISO 8601 in UTC */
	assert_int_equal(strlen(row->installed_on), 20);
	assert_int_equal(row->installed_on[10], 'T');
	assert_int_equal(row->installed_on[19], 'Z');
	row = history_find(&h, 2);
	assert_false(row->success);
	assert_int_equal(row->execution_time, -1);
	assert_null(history_find(&h, 3));
	history_release(&h);

	assert_int_equal(history_has(&has, c, t, 3, &f->err), 0);
	assert_false(has);
	assert_int_equal(history_has(&has, c, t, 2, &f->err), 0);
	assert_true(has);
}

static void test_fence_changes(void **state)
{
	struct fixture *f = *state;
	struct strata_conn *c = f->db->conn;
	const struct history_tables *t = &f->db->hist;
	struct strata_migration m = migration(7, "VACUUM;");
	struct history h = { 0 };

	assert_int_equal(history_ensure(c, t, &f->err), 0);
	assert_int_equal(history_insert(c, t, &m, false, -1, &f->err), 0);
	assert_int_equal(history_finish(c, t, 7, NULL, 99, &f->err), 0);
	assert_int_equal(history_read(c, t, &h, &f->err), 0);
	assert_true(h.rows[0].success);
	assert_int_equal(h.rows[0].execution_time, 99);
	history_release(&h);
	assert_int_equal(history_set_failed(c, t, &m, &f->err), 0);
	assert_int_equal(history_read(c, t, &h, &f->err), 0);
	assert_false(h.rows[0].success);
	history_release(&h);
	assert_int_equal(history_delete(c, t, 7, NULL, &f->err), 0);
	assert_int_equal(history_read(c, t, &h, &f->err), 0);
	assert_int_equal(h.n, 0);
	history_release(&h);
}

static void test_missing_row_is_an_error(void **state)
{
	struct fixture *f = *state;
	struct strata_conn *c = f->db->conn;
	const struct history_tables *t = &f->db->hist;
	struct strata_migration m = migration(9, "VACUUM;");

	assert_int_equal(history_ensure(c, t, &f->err), 0);
	assert_int_equal(history_finish(c, t, 9, NULL, 1, &f->err), -1);
	assert_int_equal(f->err.code, STRATA_EFAILED);
	assert_string_equal(
	        f->err.message,
	        "no row for version 9 in history table \"_sqlx_migrations\"");
	strata_error_release(&f->err);
	assert_int_equal(history_set_failed(c, t, &m, &f->err), -1);
	assert_string_equal(
	        f->err.message,
	        "no row for version 9 in history table \"_sqlx_migrations\"");
	strata_error_release(&f->err);
	assert_int_equal(history_delete(c, t, 9, NULL, &f->err), -1);
	assert_string_equal(
	        f->err.message,
	        "no row for version 9 in history table \"_sqlx_migrations\"");
}

/* A migration's transaction as the engine sends it: BEGIN, its rows,
 * COMMIT; the first failure ends the batch and nothing is committed. */
static void test_batch_stops_at_first_failure(void **state)
{
	struct fixture *f = *state;
	struct strata_conn *c = f->db->conn;
	const struct history_tables *t = &f->db->hist;
	struct strata_migration m = migration(1, "SELECT 1;");
	struct batch b = BATCH_INIT;
	struct history h = { 0 };

	assert_int_equal(history_ensure(c, t, &f->err), 0);
	batch_add_begin(&b);
	history_add_insert(&b, t, &m, true, 5);
	history_add_finish(&b, t, 9, NULL, 1);
	batch_add_commit(&b);
	assert_int_equal(b.n, 4);
	assert_int_equal(c->drv->exec_batch(c, &b, &f->err), -1);
	assert_string_equal(
	        f->err.message,
	        "no row for version 9 in history table \"_sqlx_migrations\"");
	assert_int_equal(f->err.statement, 0);
	c->drv->rollback(c);
	batch_reset(&b);
	assert_int_equal(history_read(c, t, &h, &f->err), 0);
	assert_int_equal(h.n, 0);
	history_release(&h);

	strata_error_release(&f->err);
	batch_add_begin(&b);
	history_add_insert(&b, t, &m, true, 5);
	batch_add_commit(&b);
	assert_int_equal(c->drv->exec_batch(c, &b, &f->err), 0);
	batch_release(&b);
	assert_int_equal(history_read(c, t, &h, &f->err), 0);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.rows[0].execution_time, 5);
	history_release(&h);
}

static void test_whitespace_only_change(void **state)
{
	struct strata_migration lf = migration(1, "SELECT 1;\nSELECT 2;\n");
	struct strata_migration crlf =
	        migration(1, "SELECT 1;\r\nSELECT 2;\r\n");
	struct strata_migration bom = migration(1, "\xEF\xBB\xBFSELECT 1;\n");
	struct strata_migration plain = migration(1, "SELECT 1;\n");
	struct strata_migration other = migration(1, "SELECT 3;\n");
	struct history_row row = { .version = 1, .success = true };

	(void)state;
	row.checksum_len = STRATA_CHECKSUM_LEN;
	memcpy(row.checksum, lf.checksum, STRATA_CHECKSUM_LEN);
	assert_true(history_is_whitespace_only_change(&row, &crlf));
	memcpy(row.checksum, plain.checksum, STRATA_CHECKSUM_LEN);
	assert_true(history_is_whitespace_only_change(&row, &bom));
	assert_false(history_is_whitespace_only_change(&row, &other));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_without_table, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_ensure_is_sqlx_ddl, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_rows_written_and_read,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_fence_changes, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_missing_row_is_an_error,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(
		        test_batch_stops_at_first_failure, setup, teardown),
		cmocka_unit_test(test_whitespace_only_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
