/*
 * Fuzzes database URLs: url_parse() and strata_url_redact(). Beyond
 * crashes it checks the promise that matters: a password in the input
 * shows neither in the redacted form nor in url_parse()'s error.
 *
 * The passwords are found here, independently of src/engine/url.c:
 * - in a URL (SCHEME://…), the user's password as libpq reads it (from
 *   the first ':' to the first '@' before any '/') and as RFC 3986 reads
 *   it (the userinfo ends at the last '@' before any of "/?#"), and the
 *   value of every parameter whose name, percent-decoded, is "password"
 *   (libpq splits parameters at '&' alone; any '?' after the user may
 *   begin them, since a host [a?b] hides the first). When libpq takes
 *   the URL, its password must be one of these (check_model());
 * - in anything else, the password libpq's own keyword/value parser
 *   (PQconninfoParse) finds, or when libpq rejects the string, the value of
 *   each password=… pair a scan in libpq's syntax finds.
 * SQLite URLs name files and hold no password.
 *
 * No false alarm: a password is checked in windows of WINDOW bytes (so a
 * partial leak counts too), each only when it cannot show up in the
 * output for any other reason. A window of a password copied from the
 * input must occur once in the input and hold no '*' (the redactor's
 * "***"): the redacted form of a URL is the input with parts replaced by
 * "***", so the window can only come from the password's own place. A
 * window of the password libpq decoded must hold none of " ='\*" and be
 * part of no other keyword or value: libpq's pairs are rebuilt from those.
 * Nor may a window match libpq's own wording in its reason for refusing
 * the input (its "…" quotes of the input left out). Passwords shorter
 * than MIN_LEN are not checked at all.
 */
#include <ctype.h>
#include <string.h>

#include <libpq-fe.h>

#include "util/common.h"
#include "util/xalloc.h"
#include "engine/url.h"
#include "fuzz.h"

#define MIN_LEN     4
#define WINDOW      6
#define MAX_SECRETS 64

struct secret {
	const char *s;
	size_t len;
	bool is_decoded; /* libpq's value, not a span of the input */
};

struct oracle {
	const char *input;
	struct secret v[MAX_SECRETS];
	size_t n;
	PQconninfoOption *opts; /* libpq's parse of a keyword string */
	char *libpq_text;       /* libpq's refusal, its quoted parts blanked */
};

static void add_secret(struct oracle *o, const char *s, size_t len,
                       bool is_decoded)
{
	if (o->n < MAX_SECRETS)
		o->v[o->n++] = (struct secret){ s, len, is_decoded };
}

static const char *find(const char *hay, size_t hay_len, const char *needle,
                        size_t len)
{
	for (size_t i = 0; len <= hay_len && i <= hay_len - len; i++)
		if (memcmp(hay + i, needle, len) == 0)
			return hay + i;
	return NULL;
}

static size_t count(const char *hay, const char *needle, size_t len)
{
	size_t n = 0, hay_len = strlen(hay);

	for (const char *p = hay;
	     (p = find(p, hay_len - (size_t)(p - hay), needle, len)); p++)
		n++;
	return n;
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Whether sec, percent-decoded, is `want`. */
static bool decodes_to(const struct secret *sec, const char *want)
{
	size_t k = 0;

	for (size_t i = 0; i < sec->len; i++, k++) {
		const char *c = sec->s + i;
		char d = *c;

		if (d == '%' && i + 2 < sec->len && hex(c[1]) >= 0 &&
		    hex(c[2]) >= 0) {
			d = (char)(hex(c[1]) * 16 + hex(c[2]));
			i += 2;
		}
		if (!want[k] || want[k] != d)
			return false;
	}
	return !want[k];
}

/*
 * The URL's passwords found here must include the one libpq uses, or this
 * model of libpq (and likely url.c's) has gone stale.
 */
static void check_model(const struct oracle *o, const char *s)
{
	PQconninfoOption *opts = PQconninfoParse(s, NULL);
	bool is_found = false;

	if (!opts)
		return;
	for (PQconninfoOption *opt = opts; opt->keyword; opt++) {
		if (!opt->val || strcmp(opt->keyword, "password") != 0)
			continue;
		for (size_t i = 0; i < o->n && !is_found; i++)
			is_found = decodes_to(&o->v[i], opt->val);
		CHECK(is_found);
	}
	PQconninfoFree(opts);
}

/* SCHEME "://" at the start, RFC 3986's scheme syntax. */
static const char *after_scheme(const char *s)
{
	const char *p = s;

	if (!isalpha((unsigned char)*p))
		return NULL;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' ||
	       *p == '.')
		p++;
	return strncmp(p, "://", 3) == 0 ? p + 3 : NULL;
}

static void url_secrets(struct oracle *o, const char *auth)
{
	size_t rfc_len = strcspn(auth, "/?#");
	const char *at = NULL, *colon, *q;

	/* libpq: the first '@' before any '/' ends user:password */
	q = auth + strcspn(auth, "@/");
	if (*q == '@') {
		at = q;
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon)
			add_secret(o, colon + 1, (size_t)(at - colon - 1),
			           false);
	}
	/* RFC 3986: the last '@' of the authority */
	for (const char *p = auth + rfc_len; p-- > auth;) {
		if (*p == '@') {
			colon = memchr(auth, ':', (size_t)(p - auth));
			if (colon)
				add_secret(o, colon + 1,
				           (size_t)(p - colon - 1), false);
			break;
		}
	}
	/* libpq's parameters, after the user */
	for (q = at ? at : auth; *q; q++) {
		const char *p = q + 1, *eq;
		struct secret name;
		size_t n;

		if (*q != '?' && *q != '&')
			continue;
		n = strcspn(p, "&");
		eq = memchr(p, '=', n);
		name = (struct secret){ p, eq ? (size_t)(eq - p) : 0, false };
		if (eq && decodes_to(&name, "password"))
			add_secret(o, eq + 1, (size_t)(p + n - eq - 1), false);
	}
}

/* libpq's keyword=value syntax (conninfo_parse), spans of the values. */
static void keyword_secrets(struct oracle *o, const char *s)
{
	const char *p = s;

	while (*p) {
		const char *kw, *val;
		size_t kw_len;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			return;
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
			if (!*p)
				return;
		} else {
			val = p;
			while (*p && !isspace((unsigned char)*p))
				p += p[0] == '\\' && p[1] ? 2 : 1;
		}
		if (kw_len == 8 && !memcmp(kw, "password", 8))
			add_secret(o, val, (size_t)(p - val), false);
		if (*p == '\'')
			p++;
	}
}

/*
 * libpq's refusal of `s` with every "…" it quotes blanked: what is left is
 * libpq's own wording ("key/value separator"), which a password may match.
 */
static void keep_libpq_text(struct oracle *o, const char *s)
{
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(s, &errmsg);
	bool is_quoted = false;

	PQconninfoFree(opts);
	if (!errmsg)
		return;
	o->libpq_text = xstrdup(errmsg);
	PQfreemem(errmsg);
	for (char *p = o->libpq_text; *p; p++) {
		if (*p == '"')
			is_quoted = !is_quoted;
		else if (is_quoted)
			*p = '\x01';
	}
}

static void find_secrets(struct oracle *o, const char *s)
{
	const char *auth;

	keep_libpq_text(o, s);

	if (strncmp(s, "sqlite:", 7) == 0)
		return;
	auth = after_scheme(s);
	if (auth) {
		url_secrets(o, auth);
		check_model(o, s);
		return;
	}
	o->opts = PQconninfoParse(s, NULL);
	if (!o->opts) {
		keyword_secrets(o, s);
		return;
	}
	for (PQconninfoOption *opt = o->opts; opt->keyword; opt++)
		if (opt->val && strcmp(opt->keyword, "password") == 0)
			add_secret(o, opt->val, strlen(opt->val), true);
}

/* Whether `w` may show up in the output for a reason of its own. */
static bool is_innocent(const struct oracle *o, const struct secret *sec,
                        const char *w, size_t len)
{
	static const char *const fixed[] = {
		"(unparsable connection string)",
		"unsupported database URL '",
		"invalid PostgreSQL URL '",
		"invalid PostgreSQL connection string: ",
		"' names no SQLite file",
	};

	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (find(fixed[i], strlen(fixed[i]), w, len))
			return true;
	if (o->libpq_text && find(o->libpq_text, strlen(o->libpq_text), w, len))
		return true;
	if (!sec->is_decoded)
		return memchr(w, '*', len) || count(o->input, w, len) != 1;
	for (size_t i = 0; i < len; i++)
		if (strchr(" ='\\*", w[i]))
			return true;
	for (PQconninfoOption *opt = o->opts; opt->keyword; opt++) {
		bool is_password = strcmp(opt->keyword, "password") == 0;

		if (!opt->val)
			continue;
		if (find(opt->keyword, strlen(opt->keyword), w, len) ||
		    (!is_password && find(opt->val, strlen(opt->val), w, len)))
			return true;
	}
	return false;
}

/* In an error message the output is quoted: a window with a quote may
 * span its end and the message's own quote. */
static void check_hidden(const struct oracle *o, const char *out,
                         bool is_quoted)
{
	if (!out)
		return;
	for (size_t i = 0; i < o->n; i++) {
		const struct secret *sec = &o->v[i];
		size_t w = sec->len < WINDOW ? sec->len : WINDOW;

		if (sec->len < MIN_LEN)
			continue;
		for (size_t k = 0; k + w <= sec->len; k++) {
			const char *win = sec->s + k;

			if (is_quoted && memchr(win, '\'', w))
				continue;
			if (!is_innocent(o, sec, win, w) &&
			    find(out, strlen(out), win, w)) {
				fprintf(stderr,
				        "password bytes '%.*s' shown in: %s\n",
				        (int)w, win, out);
				abort();
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strata_error err = STRATA_ERROR_INIT;
	struct oracle o = { 0 };
	struct strata_url u;
	char *s, *redacted;

	if (memchr(data, '\0', size))
		return 0;
	s = xstrndup((const char *)data, size);
	o.input = s;
	find_secrets(&o, s);

	redacted = strata_url_redact(s);
	check_hidden(&o, redacted, false);
	if (url_parse(&u, s, &err) == 0) {
		CHECK(!err.message);
		CHECK(u.kind == URL_SQLITE || u.kind == URL_POSTGRES);
		CHECK(u.kind != URL_SQLITE || u.is_memory || u.path);
	} else {
		CHECK(err.code == STRATA_EUSAGE && err.message);
		/* libpq's reason, in the message, may quote any part of its
		 * input: url.c hides what is a password */
		check_hidden(&o, err.message, true);
		check_hidden(&o, err.detail, true);
		/* (other hints are fixed text, which a password may match) */
		if (!strncmp(err.message, "invalid PostgreSQL", 18))
			check_hidden(&o, err.hint, true);
	}
	CHECK(strcmp(u.raw, s) == 0 && strcmp(u.redacted, redacted) == 0);
	url_release(&u);
	strata_error_release(&err);
	free(redacted);
	PQconninfoFree(o.opts);
	free(o.libpq_text);
	free(s);
	return 0;
}
