-- 63 bytes is the longest name PostgreSQL keeps whole
CREATE TABLE customer_subscription_billing_history_entries_archive_reporting (id bigint);
CREATE TABLE t (id bigint);
CREATE INDEX "Customer subscription billing history entries archive ""idx"" l" ON t (id);
