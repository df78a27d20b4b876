-- Function bodies hold ';' inside dollar quotes: one statement each.
CREATE FUNCTION add_one(i int) RETURNS int AS $$
BEGIN
	RETURN i + 1; -- a ';' here
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
	msg text := $q$it's; "quoted"$q$;
BEGIN
	INSERT INTO audit_log (note) VALUES ($$nested; $$ || msg);
	RETURN NEW;
END;
$body$;

DO $do$ BEGIN PERFORM 1; PERFORM 2; END $do$;

SELECT $a$ $b$ ; $b$ $a$ AS not_a_nested_tag, $_1$;$_1$ AS digits_in_tag;
