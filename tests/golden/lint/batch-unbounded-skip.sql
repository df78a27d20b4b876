-- strata:batch
UPDATE users SET email_lower = lower(email)
 WHERE id IN (SELECT id FROM users LIMIT :batch_size);
DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expired LIMIT :batch_size);
