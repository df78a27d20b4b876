-- 20250127120000_billing.sql: the billing schema.
-- Written by hand; reviewed in PR #412.

CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA IF NOT EXISTS billing AUTHORIZATION app;
SET search_path = billing, public;

CREATE TYPE billing.invoice_status AS ENUM ('draft', 'open', 'paid', 'void');
CREATE DOMAIN billing.money_cents AS bigint CHECK (VALUE >= 0);

CREATE TABLE billing.customers (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	email text NOT NULL UNIQUE CHECK (email ~ '^[^@;]+@[^@;]+$'),
	name text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE billing.invoices (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	customer_id uuid NOT NULL REFERENCES billing.customers (id) ON DELETE CASCADE,
	status billing.invoice_status NOT NULL DEFAULT 'draft',
	total billing.money_cents NOT NULL DEFAULT 0,
	issued_on date,
	notes text DEFAULT 'n/a; see CRM',
	CONSTRAINT issued_when_open CHECK (status = 'draft' OR issued_on IS NOT NULL)
) PARTITION BY RANGE (issued_on);

CREATE TABLE billing.invoices_2025 PARTITION OF billing.invoices
	FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');

CREATE INDEX invoices_customer_idx ON billing.invoices (customer_id);
CREATE INDEX invoices_open_idx ON billing.invoices (issued_on) WHERE status = 'open';

COMMENT ON TABLE billing.invoices IS 'One row per invoice; totals in cents.';
COMMENT ON COLUMN billing.invoices.total IS E'Sum of the lines\nin cents.';

CREATE FUNCTION billing.touch() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
	IF NEW.status = 'paid' AND OLD.status <> 'paid' THEN
		RAISE NOTICE 'invoice % paid; total %', NEW.id, NEW.total;
	END IF;
	RETURN NEW;
END;
$fn$;

CREATE TRIGGER invoices_touch BEFORE UPDATE ON billing.invoices
	FOR EACH ROW EXECUTE FUNCTION billing.touch();

CREATE VIEW billing.open_invoices AS
	SELECT i.id, c.email, i.total
	FROM billing.invoices i JOIN billing.customers c ON c.id = i.customer_id
	WHERE i.status = 'open';

CREATE MATERIALIZED VIEW billing.revenue_by_month AS
	SELECT date_trunc('month', issued_on) AS month, sum(total) AS total
	FROM billing.invoices WHERE status = 'paid' GROUP BY 1
WITH NO DATA;

ALTER TABLE billing.customers
	ADD COLUMN country char(2),
	ADD COLUMN vat_id text,
	ALTER COLUMN name SET DEFAULT '';

INSERT INTO billing.customers (email, name, country)
VALUES ('ada@example.com', 'Ada; Countess', 'GB'),
       ('linus@example.org', 'Linus', 'FI')
ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name;

WITH moved AS (
	UPDATE billing.invoices SET status = 'void'
	WHERE status = 'draft' AND issued_on < now() - interval '1 year'
	RETURNING id
)
SELECT count(*) FROM moved;

DO $$
DECLARE r record;
BEGIN
	FOR r IN SELECT id FROM billing.customers WHERE country IS NULL LOOP
		UPDATE billing.customers SET country = 'US' WHERE id = r.id;
	END LOOP;
END
$$;

GRANT USAGE ON SCHEMA billing TO reporting;
GRANT SELECT ON ALL TABLES IN SCHEMA billing TO reporting;
REVOKE ALL ON billing.customers FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA billing GRANT SELECT ON TABLES TO reporting;

CREATE POLICY customer_owner ON billing.customers
	USING (email = current_setting('app.email', true));
ALTER TABLE billing.customers ENABLE ROW LEVEL SECURITY;

ANALYZE billing.customers;
RESET search_path;
