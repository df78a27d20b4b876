-- Multi-byte characters before the error: its position is counted in
-- characters by the parser and must come back as the right column.
CREATE TABLE café ("naïve€" text, 名前 text);
INSERT INTO café VALUES ('déjà vu', '東京') WHERE 名前 = 'x';
