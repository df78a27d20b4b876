UPDATE users SET active = true WHERE id BETWEEN 1 AND 10000;
CREATE TABLE flags (id bigint, on_off boolean);
UPDATE flags SET on_off = false;
