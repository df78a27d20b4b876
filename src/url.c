/*
 * Database URLs: which driver, the SQLite path and mode, and the redacted
 * form that is the only one ever shown. PostgreSQL URLs and keyword
 * strings are handed to libpq untouched, so every libpq convention holds;
 * libpq's own parser checks them and rebuilds keyword strings for display.
 */
#include "internal.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#define REDACTED "***"

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_pg_url(const char *s)
{
	return has_prefix(s, "postgres://") || has_prefix(s, "postgresql://");
}

static bool is_sqlite_url(const char *s)
{
	return has_prefix(s, "sqlite:");
}

/* A libpq keyword string: "host=x dbname=y" (no scheme, has '='). */
static bool is_keyword_string(const char *s)
{
	return !strstr(s, "://") && strchr(s, '=');
}

/* Replace the value of each "password=" query parameter. */
static void redact_query(struct sbuf *out, const char *q)
{
	while (*q) {
		size_t n = strcspn(q, "&#");

		if (n >= 9 && strncmp(q, "password=", 9) == 0)
			sbuf_adds(out, "password=" REDACTED);
		else
			sbuf_add(out, q, n);
		q += n;
		if (*q == '#') {
			sbuf_adds(out, q);
			return;
		}
		if (*q)
			sbuf_addch(out, *q++);
	}
}

static char *redact_url(const char *url)
{
	struct sbuf out = SBUF_INIT;
	const char *auth = strstr(url, "://") + 3;
	size_t auth_len = strcspn(auth, "/?#");
	const char *at = NULL, *q;

	for (const char *p = auth; p < auth + auth_len; p++)
		if (*p == '@')
			at = p;
	sbuf_add(&out, url, (size_t)(auth - url));
	if (at) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));

		if (colon) {
			sbuf_add(&out, auth, (size_t)(colon - auth));
			sbuf_adds(&out, ":" REDACTED);
		} else {
			sbuf_add(&out, auth, (size_t)(at - auth));
		}
		sbuf_add(&out, at, (size_t)(auth + auth_len - at));
	} else {
		sbuf_add(&out, auth, auth_len);
	}
	q = auth + auth_len;
	if (*q == '/') {
		size_t n = strcspn(q, "?#");

		sbuf_add(&out, q, n);
		q += n;
	}
	if (*q == '?') {
		sbuf_addch(&out, '?');
		redact_query(&out, q + 1);
	} else {
		sbuf_adds(&out, q);
	}
	return sbuf_detach(&out, NULL);
}

/* Rebuild a keyword string through libpq's parser, password hidden. */
static char *redact_keywords(const char *conninfo)
{
	struct sbuf out = SBUF_INIT;
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);

	if (!opts)
		return xstrdup("(unparsable connection string)");
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		if (out.len)
			sbuf_addch(&out, ' ');
		sbuf_addf(&out, "%s=", o->keyword);
		if (strcmp(o->keyword, "password") == 0)
			sbuf_adds(&out, REDACTED);
		else if (!*o->val || strpbrk(o->val, " '\\"))
			sbuf_add_literal(&out, o->val);
		else
			sbuf_adds(&out, o->val);
	}
	PQconninfoFree(opts);
	return sbuf_detach(&out, NULL);
}

bool url_is_url(const char *s)
{
	return is_pg_url(s) || is_sqlite_url(s) || is_keyword_string(s);
}

char *strata_url_redact(const char *url)
{
	if (!url)
		return xstrdup("");
	if (is_sqlite_url(url))
		return xstrdup(url); /* a file path: nothing secret */
	if (strstr(url, "://") && strchr(url, '@'))
		return redact_url(url);
	if (strstr(url, "://") && strstr(url, "password="))
		return redact_url(url);
	if (is_keyword_string(url))
		return redact_keywords(url);
	return xstrdup(url);
}

static int parse_sqlite(struct strata_url *out, const char *s,
                        struct strata_error *err)
{
	const char *rest = s + strlen("sqlite:");
	const char *query;
	size_t path_len;

	if (strcmp(rest, ":memory:") == 0 || has_prefix(rest, ":memory:?")) {
		out->is_memory = true;
		return 0;
	}
	if (has_prefix(rest, "//"))
		rest += 2;
	query = strchr(rest, '?');
	path_len = query ? (size_t)(query - rest) : strlen(rest);
	if (!path_len)
		return strata_error_set(err, STRATA_EUSAGE,
		                        "'%s' names no SQLite file",
		                        out->redacted);
	out->path = xstrndup(rest, path_len);
	out->is_create = true;
	while (query && *query) {
		const char *p = query + 1;
		size_t n = strcspn(p, "&");

		if (n == 7 && strncmp(p, "mode=ro", n) == 0) {
			out->is_readonly = true;
			out->is_create = false;
		} else if (n == 7 && strncmp(p, "mode=rw", n) == 0) {
			out->is_create = false;
		} else if (n == 8 && strncmp(p, "mode=rwc", n) == 0) {
			out->is_create = true;
		} else if (n == 11 && strncmp(p, "mode=memory", n) == 0) {
			out->is_memory = true;
		} else if (n) {
			strata_error_set(err, STRATA_EUSAGE,
			                 "unknown SQLite URL parameter '%.*s'",
			                 (int)n, p);
			return strata_error_hint(
			        err,
			        "Use mode=ro, mode=rw, mode=rwc or mode=memory.");
		}
		query = p[n] ? p + n : NULL;
	}
	return 0;
}

int url_parse(struct strata_url *out, const char *s, struct strata_error *err)
{
	char *errmsg = NULL;
	PQconninfoOption *opts;

	memset(out, 0, sizeof(*out));
	out->raw = xstrdup(s);
	out->redacted = strata_url_redact(s);
	if (is_sqlite_url(s)) {
		out->kind = URL_SQLITE;
		return parse_sqlite(out, s, err);
	}
	if (!is_pg_url(s) && !is_keyword_string(s)) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "unsupported database URL '%s'",
		                 out->redacted);
		return strata_error_hint(
		        err,
		        "Use postgres://…, a libpq keyword string such as 'host=… dbname=…', sqlite:PATH or sqlite::memory:.");
	}
	out->kind = URL_POSTGRES;
	opts = PQconninfoParse(s, &errmsg);
	if (!opts) {
		char *msg = errmsg ? xstrdup(errmsg) : xstrdup("");
		size_t n = strlen(msg);

		while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
		strata_error_set(err, STRATA_EUSAGE,
		                 "invalid PostgreSQL URL '%s'", out->redacted);
		/* libpq's message quotes the bad part, which may be a secret */
		if (!strstr(s, "password") && !strchr(s, '@'))
			strata_error_detail(err, "%s", msg);
		free(msg);
		PQfreemem(errmsg);
		return -1;
	}
	PQconninfoFree(opts);
	return 0;
}

void url_release(struct strata_url *url)
{
	free(url->raw);
	free(url->redacted);
	free(url->path);
	memset(url, 0, sizeof(*url));
}
