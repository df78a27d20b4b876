/*
 * Database URLs: which driver, the SQLite path and mode, and the redacted
 * form that is the only one ever shown. PostgreSQL URLs and keyword
 * strings are handed to libpq untouched, so every libpq convention holds;
 * libpq's own parser checks them and rebuilds keyword strings for display.
 */
#include "engine/url.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "drivers/pq.h"
#include "util/sqlite_lib.h"

#include <ctype.h>
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
 * Which bytes of the URL are a password, read as libpq reads it:
 * user:password up to the first '@' before any '/', so a password may hold
 * '?' or '#' (hidden up to the last '@' there, in case it holds an '@'
 * too), and parameters after it split at '&' alone, whose names may be
 * percent-encoded. Any other scheme's URL gets the same treatment.
 */
static bool *password_mask(const char *url)
{
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
	return hide;
}

/* The URL with its password replaced by "***". */
static char *redact_url(const char *url)
{
	struct sbuf out = SBUF_INIT;
	size_t n = strlen(url);
	bool *hide = password_mask(url);

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
	PQconninfoOption *opts;

	if (!pq_available())
		return xstrdup("(a connection string: libpq is not installed)");
	opts = PQconninfoParse(conninfo, NULL);
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

/*
 * The passwords of a string libpq refused, as spans of it: of a URL, what
 * password_mask() hides (and percent-decoded); of a keyword string, each
 * password=VALUE.
 */
static void find_secrets(const char *s, struct sbuf *secrets)
{
	size_t n = strlen(s);

	if (strstr(s, "://")) {
		bool *hide = password_mask(s);

		for (size_t i = 0; i < n; i++) {
			size_t k = i;

			while (k < n && hide[k])
				k++;
			if (k > i) {
				sbuf_add(secrets, s + i, k - i);
				sbuf_addch(secrets, '\0');
				url_decode(secrets, s + i, k - i);
				sbuf_addch(secrets, '\0');
				i = k;
			}
		}
		free(hide);
		/* libpq's own reading: user:password up to the FIRST '@'
		 * before any '/', where the mask reads to the last one */
		{
			const char *u = strstr(s, "://") + 3;
			size_t at = strcspn(u, "@/");

			if (u[at] == '@') {
				const char *colon = memchr(u, ':', at);

				if (colon) {
					size_t k = (size_t)(u + at - colon - 1);

					sbuf_add(secrets, colon + 1, k);
					sbuf_addch(secrets, '\0');
					url_decode(secrets, colon + 1, k);
					sbuf_addch(secrets, '\0');
				}
			}
		}
	}
	/* libpq's keyword=value syntax (a string that only looks like a URL
	 * is read so too): a value quoted up to its closing quote, with
	 * backslash escapes, else up to white space */
	for (const char *p = s; *p;) {
		const char *kw, *val;
		size_t kw_len;

		while (isspace((unsigned char)*p))
			p++;
		kw = p;
		while (*p && !isspace((unsigned char)*p) && *p != '=')
			p++;
		kw_len = (size_t)(p - kw);
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=')
			return;
		p++;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\'') {
			val = ++p;
			while (*p && *p != '\'')
				p += p[0] == '\\' && p[1] ? 2 : 1;
		} else {
			val = p;
			while (*p && !isspace((unsigned char)*p))
				p += p[0] == '\\' && p[1] ? 2 : 1;
		}
		if (kw_len == 8 && !memcmp(kw, "password", 8)) {
			sbuf_add(secrets, val, (size_t)(p - val));
			sbuf_addch(secrets, '\0');
		}
		if (*p == '\'')
			p++;
	}
}

/* Whether the `n` bytes at `span` occur in `text`. */
static bool has_span(const char *text, const char *span, size_t n)
{
	for (; *text; text++)
		if (!strncmp(text, span, n))
			return true;
	return false;
}

/* Whether any 6-byte stretch of a password of 4 bytes or more shows in
 * `text` (as the fuzz target checks: a part leaked counts too), but for
 * one the redacted URL shows anyway, found elsewhere in it. */
static bool shows_secret(const char *text, const struct sbuf *secrets,
                         const char *redacted)
{
	for (size_t at = 0; at < secrets->len;) {
		const char *sec = secrets->buf + at;
		size_t len = strlen(sec), w = len < 6 ? len : 6;

		at += len + 1;
		if (len < 4)
			continue;
		for (size_t k = 0; k + w <= len; k++) {
			const char *hay = text;

			for (; (hay = strchr(hay, sec[k])); hay++)
				if (!strncmp(hay, sec + k, w) &&
				    !has_span(redacted, sec + k, w))
					return true;
		}
	}
	return false;
}

/* Each occurrence of `from` in `sb` replaced by `to`. */
static void replace_all(struct sbuf *sb, const char *from, const char *to)
{
	struct sbuf out = SBUF_INIT;
	size_t n = strlen(from);
	const char *p = sb->buf, *hit;

	if (!n)
		return;
	while ((hit = strstr(p, from))) {
		sbuf_add(&out, p, (size_t)(hit - p));
		sbuf_adds(&out, to);
		p = hit + n;
	}
	sbuf_adds(&out, p);
	sbuf_reset(sb);
	sbuf_add(sb, out.buf, out.len);
	sbuf_release(&out);
}

/*
 * libpq's reason for refusing `s`, which quotes the part it refused: the
 * whole URL becomes its redacted form, a quoted password "***". When any
 * of a password still shows (it held the quote, say), NULL: no reason
 * rather than a secret.
 */
static char *libpq_reason(const char *s, const char *redacted, const char *msg,
                          const struct sbuf *secrets)
{
	struct sbuf out = SBUF_INIT, q = SBUF_INIT;

	sbuf_adds(&out, msg);
	while (out.len && isspace((unsigned char)out.buf[out.len - 1]))
		out.buf[--out.len] = '\0';
	replace_all(&out, s, redacted);
	for (size_t at = 0; at < secrets->len;
	     at += strlen(secrets->buf + at) + 1) {
		if (!secrets->buf[at])
			continue;
		sbuf_reset(&q);
		sbuf_addf(&q, "\"%s\"", secrets->buf + at);
		replace_all(&out, q.buf, "\"" REDACTED "\"");
	}
	sbuf_release(&q);
	if (shows_secret(out.buf, secrets, redacted))
		sbuf_release(&out);
	return out.len ? sbuf_detach(&out, NULL) : NULL;
}

/* The value of parameter `name` in URL `s` (borrowed span), or NULL. */
static const char *url_param(const char *s, const char *name, size_t *len)
{
	size_t n = strlen(name);

	for (const char *q = strchr(s, '?'); q; q = strchr(q + 1, '&'))
		if (!strncmp(q + 1, name, n) && q[1 + n] == '=') {
			*len = strcspn(q + 2 + n, "&");
			return q + 2 + n;
		}
	return NULL;
}

/* The unquoted value of `name` in keyword string `s` (a borrowed span). */
static const char *keyword_value(const char *s, const char *name, size_t *len)
{
	size_t n = strlen(name);

	if (!n)
		return NULL; /* libpq may quote an empty keyword */
	for (const char *p = strstr(s, name); p; p = strstr(p + 1, name)) {
		const char *v = p + n;

		if (p > s && !isspace((unsigned char)p[-1]))
			continue;
		while (isspace((unsigned char)*v))
			v++;
		if (*v++ != '=')
			continue;
		while (isspace((unsigned char)*v))
			v++;
		*len = strcspn(v, " \t\n'\\");
		return *len ? v : NULL;
	}
	return NULL;
}

/* What to do about what libpq refused, when there is a usual way out. */
static void reason_hint(struct strata_error *err, const char *s,
                        const char *reason)
{
	static const char param[] = "invalid URI query parameter: \"";
	static const char option[] = "invalid connection option \"";
	char name[64];
	const char *p, *value;
	size_t len = 0;
	bool is_url;

	if (strstr(reason, "percent-encoded")) {
		strata_error_hint(
		        err, "%s",
		        "In a URL, % starts an escape such as %40 for '@': write a % of a user name, password or value as %25.");
		return;
	}
	is_url = !strncmp(reason, param, strlen(param));
	if (is_url)
		p = reason + strlen(param);
	else if (!strncmp(reason, option, strlen(option)))
		p = reason + strlen(option);
	else
		return;
	if (strcspn(p, "\"") >= sizeof(name))
		return;
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, "\""), p);
	if (is_url) {
		value = url_param(s, name, &len);
		strata_error_hint(
		        err,
		        "libpq takes no parameter '%s'. A server setting goes in options: ?options=-c%s%%3D%.*s",
		        name, name, value ? (int)len : 5,
		        value ? value : "VALUE");
		return;
	}
	value = keyword_value(s, name, &len);
	strata_error_hint(
	        err,
	        "libpq takes no option '%s'. A server setting goes in options: options='-c %s=%.*s'",
	        name, name, value ? (int)len : 5, value ? value : "VALUE");
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
		if (parse_sqlite(out, s, err) < 0)
			return -1;
		return sqlite_load(err);
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
	if (pq_load(err))
		return -1;
	opts = PQconninfoParse(s, &errmsg);
	if (!opts) {
		struct sbuf secrets = SBUF_INIT;
		char *reason;

		find_secrets(s, &secrets);
		reason = libpq_reason(s, out->redacted, errmsg ? errmsg : "",
		                      &secrets);

		/* a keyword string libpq refused has no redacted form */
		if (reason && !is_url_form(s))
			strata_error_set(
			        err, STRATA_EUSAGE,
			        "invalid PostgreSQL connection string: %s",
			        reason);
		else if (reason)
			strata_error_set(err, STRATA_EUSAGE,
			                 "invalid PostgreSQL URL '%s': %s",
			                 out->redacted, reason);
		/* the reason joined to the rest may spell a password too */
		if (reason &&
		    shows_secret(err->message, &secrets, out->redacted)) {
			strata_error_release(err);
			free(reason);
			reason = NULL;
		}
		if (!reason)
			strata_error_set(err, STRATA_EUSAGE,
			                 "invalid PostgreSQL URL '%s'",
			                 out->redacted);
		if (reason)
			reason_hint(err, s, reason);
		/* the hint quotes a value of the URL: no part of a password */
		if (err->hint &&
		    shows_secret(err->hint, &secrets, out->redacted)) {
			free(err->hint);
			err->hint = NULL;
		}
		sbuf_release(&secrets);
		free(reason);
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
