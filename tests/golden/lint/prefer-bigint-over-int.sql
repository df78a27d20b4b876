CREATE TABLE teams (id integer PRIMARY KEY, name text);
CREATE TABLE tags (id smallint, label text, PRIMARY KEY (id));
