/*
 * Database URLs: which driver, the SQLite path and mode, and the redacted
 * form that is the only one ever shown. PostgreSQL URLs and keyword
 * strings are handed to libpq untouched, so every libpq convention holds;
 * libpq's own parser checks them and rebuilds keyword strings for display.
 */
#include "internal.h"

#include <ctype.h>
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

/*
 * SCHEME://…, RFC 3986's scheme syntax: not libpq's keyword=value pairs,
 * where a value may hold "://" (application_name=a://b).
 */
static bool is_url_form(const char *s)
{
	const char *p = s;

	if (!isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
	       *p == '.')
		p++;
	return has_prefix(p, "://");
}

/* A libpq keyword string: "host=x dbname=y" (no scheme, has '='). */
static bool is_keyword_string(const char *s)
{
	return !is_url_form(s) && strchr(s, '=');
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* `s` percent-decoded as libpq decodes URLs (%00 left as it is). */
static void url_decode(struct sbuf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = i + 2 < len ? hex_value(s[i + 1]) : -1;
		int lo = hi >= 0 ? hex_value(s[i + 2]) : -1;

		if (s[i] == '%' && lo >= 0 && (hi || lo)) {
			sbuf_addch(out, (char)(hi * 16 + lo));
			i += 2;
		} else {
			sbuf_addch(out, s[i]);
		}
	}
}

/* Whether `s` says "password", plainly or percent-encoded. */
static bool mentions_password(const char *s)
{
	struct sbuf d = SBUF_INIT;
	bool found;

	url_decode(&d, s, strlen(s));
	found = strstr(d.buf, "password") != NULL;
	sbuf_release(&d);
	return found;
}

static bool is_password_param(const char *name, size_t len)
{
	struct sbuf d = SBUF_INIT;
	bool is_password;

	url_decode(&d, name, len);
	is_password = strcmp(d.buf, "password") == 0;
	sbuf_release(&d);
	return is_password;
}

/*
 * The URL with its password replaced by "***", read as libpq reads it:
 * user:password up to the first '@' before any '/', so a password may hold
 * '?' or '#' (hidden up to the last '@' there, in case it holds an '@'
 * too), and parameters after it split at '&' alone, whose names may be
 * percent-encoded. Any other scheme's URL gets the same treatment.
 */
static char *redact_url(const char *url)
{
	struct sbuf out = SBUF_INIT;
	size_t n = strlen(url);
	bool *hide = xcalloc(n + 1, sizeof(*hide));
	const char *auth = strstr(url, "://") + 3;
	size_t auth_len = strcspn(auth, "/");
	const char *first_at = memchr(auth, '@', auth_len), *last_at = NULL;

	for (const char *p = auth; p < auth + auth_len; p++)
		if (*p == '@')
			last_at = p;
	if (last_at) {
		const char *colon = memchr(auth, ':', (size_t)(last_at - auth));

		for (const char *p = colon ? colon + 1 : last_at; p < last_at;
		     p++)
			hide[p - url] = true;
	}
	/* any '?' may start the parameters: libpq's host may be [a?b] */
	for (const char *q = first_at ? first_at : auth; *q; q++) {
		const char *p = q + 1, *eq;
		size_t len;

		if (*q != '?' && *q != '&')
			continue;
		len = strcspn(p, "&");
		eq = memchr(p, '=', len);
		if (eq && is_password_param(p, (size_t)(eq - p)))
			for (const char *v = eq + 1; v < p + len; v++)
				hide[v - url] = true;
	}
	for (size_t i = 0; i < n; i++) {
		if (!hide[i])
			sbuf_addch(&out, url[i]);
		else if (!i || !hide[i - 1])
			sbuf_adds(&out, REDACTED);
	}
	free(hide);
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
	if (is_url_form(url))
		return redact_url(url);
	if (is_keyword_string(url))
		return redact_keywords(url);
	/* no URL either (" postgres://…"): what would be its password */
	if (strstr(url, "://"))
		return redact_url(url);
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
		if (!mentions_password(s) && !strchr(s, '@'))
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
