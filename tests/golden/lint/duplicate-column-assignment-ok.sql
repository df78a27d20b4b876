UPDATE users SET tags[1] = 'a', tags[2] = 'b' WHERE id = 1;
UPDATE users SET (name, email) = ('a', 'x@example.com') WHERE id = 2;
INSERT INTO users (id, email) VALUES (1, 'x@example.com')
ON CONFLICT (id) DO UPDATE SET email = excluded.email;
