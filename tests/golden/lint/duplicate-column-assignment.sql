UPDATE users SET name = 'a', email = 'x@example.com', name = 'b' WHERE id = 1;
INSERT INTO users (id, email, id) VALUES (1, 'x@example.com', 2);
INSERT INTO users (id, email) VALUES (1, 'x@example.com')
ON CONFLICT (id) DO UPDATE SET email = excluded.email, email = 'y@example.com';
