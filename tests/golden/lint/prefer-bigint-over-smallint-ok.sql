-- a smallint key is prefer-bigint-over-int's alone
CREATE TABLE kinds (id smallint PRIMARY KEY, level integer, total bigint);
