-- strata:batch size=5000 target=200ms
UPDATE users SET email_lower = lower(email)
 WHERE id IN (SELECT id FROM users WHERE email_lower IS NULL LIMIT :batch_size);
