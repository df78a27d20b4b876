CREATE TABLE customer_subscription_billing_history_entries_archive_for_reporting (id bigint);
CREATE TABLE t (id bigint);
CREATE INDEX "Customer subscription billing history entries archive ""idx"" long" ON t (id);
