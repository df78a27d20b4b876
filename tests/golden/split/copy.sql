-- Only COPY ... FROM STDIN needs a data stream.
COPY countries (code, name) FROM STDIN;
COPY countries FROM stdin WITH (FORMAT csv, HEADER true);
COPY countries FROM '/var/lib/postgresql/countries.csv';
COPY countries FROM PROGRAM 'gunzip -c /tmp/countries.csv.gz';
COPY countries TO STDOUT;
COPY (SELECT * FROM countries) TO '/tmp/out.csv';
