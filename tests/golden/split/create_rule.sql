-- A rule with several actions: the ';' between them is inside parentheses.
CREATE RULE log_insert AS ON INSERT TO accounts DO ALSO (
	INSERT INTO account_log (id, action) VALUES (NEW.id, 'insert');
	UPDATE account_stats SET inserts = inserts + 1;
	NOTIFY accounts_changed
);
CREATE RULE no_delete AS ON DELETE TO accounts DO INSTEAD NOTHING;
CREATE RULE "_RETURN" AS ON SELECT TO v DO INSTEAD SELECT 1 AS x;
