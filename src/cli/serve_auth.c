/*
 * strata serve --auth-file: who may read. The file holds one credential a
 * line: `USER:HASH` for HTTP Basic, HASH a bcrypt hash ($2a$, $2b$ or $2y$,
 * as `htpasswd -B` writes it), or `bearer:TOKEN` for `Authorization:
 * Bearer TOKEN`; blank lines and lines starting with # are passed over.
 * Anything else is refused at start with its line, so that a typo never
 * leaves the server open or everyone locked out without a word.
 *
 * Secrets are compared in constant time: tokens as HMACs under a key drawn
 * at start (equal lengths whatever was sent), passwords by libxcrypt's
 * bcrypt, whose output is compared with CRYPTO_memcmp(). bcrypt costs tens
 * of milliseconds by design, too much for a scraper's every request, so a
 * password once verified is remembered as its HMAC, as Prometheus'
 * exporter-toolkit does; a wrong one costs bcrypt each time, also for a
 * user that does not exist (no timing tells which users do). Nothing here
 * prints a credential, or keeps a password in memory after the check.
 */
#include "serve.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/crypto.h"
#include "util/banned.h"

#define MAC_SIZE        32   /* HMAC-SHA-256 */
#define MIN_TOKEN       16   /* a guessable token is no protection */
#define MAX_LINE        4096 /* a credential, not a document */
#define MAX_CREDENTIALS 512  /* of the header, decoded */
#define BCRYPT_LEN      60   /* "$2b$NN$" + 22 salt + 31 hash */

struct auth_user {
	char *name;
	char *hash; /* bcrypt, BCRYPT_LEN characters */
	/* the HMAC of the password last verified (under lock) */
	unsigned char ok[MAC_SIZE];
	bool has_ok;
};

struct serve_auth {
	unsigned char key[MAC_SIZE];
	struct auth_user *users;
	size_t n_users;
	unsigned char (*tokens)[MAC_SIZE]; /* HMACs of the tokens */
	size_t n_tokens;
	pthread_mutex_t lock;
};

static void *checked(void *p)
{
	if (!p)
		abort();
	return p;
}

static void mac(unsigned char out[MAC_SIZE], const struct serve_auth *a,
                const void *data, size_t len)
{
	unsigned int n = MAC_SIZE;

	if (!HMAC(EVP_sha256(), a->key, sizeof(a->key), data, len, out, &n))
		abort();
}

static bool is_b64(char c, const char *extra)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || (c && strchr(extra, c));
}

/* $2a$, $2b$ or $2y$, a cost of 04 to 31, 53 characters of bcrypt's
 * base64: what crypt() checks, and nothing it would take for another
 * (weaker) scheme. */
static bool is_bcrypt(const char *h)
{
	int cost;

	if (strlen(h) != BCRYPT_LEN || h[0] != '$' || h[1] != '2' ||
	    !strchr("aby", h[2]) || h[3] != '$' || h[4] < '0' || h[4] > '9' ||
	    h[5] < '0' || h[5] > '9' || h[6] != '$')
		return false;
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	if (cost < 4 || cost > 31)
		return false;
	for (const char *p = h + 7; *p; p++)
		if (!is_b64(*p, "./"))
			return false;
	return true;
}

/* RFC 6750's b64token: what an Authorization header can carry as is. */
static bool is_token(const char *t)
{
	size_t n = strlen(t), i = 0;

	while (i < n && is_b64(t[i], "-._~+/"))
		i++;
	while (i < n && t[i] == '=')
		i++;
	return i == n && n;
}

static int line_error(struct strata_error *err, const char *path, int line,
                      const char *what)
{
	return strata_error_set(err, STRATA_EUSAGE, "%s at '%s' line %d", what,
	                        path, line);
}

static int add_line(struct serve_auth *a, char *text, const char *path,
                    int line, struct strata_error *err)
{
	char *colon = strchr(text, ':');
	char *value;
	size_t name_len;

	if (!colon || colon == text) {
		line_error(err, path, line,
		           "not a USER:HASH or bearer:TOKEN line");
		return strata_error_hint(
		        err,
		        "Each line is USER:BCRYPT-HASH (made by htpasswd -B) or bearer:TOKEN; lines starting with # are comments.");
	}
	name_len = (size_t)(colon - text);
	value = colon + 1;
	if (name_len == 6 && !memcmp(text, "bearer", 6)) {
		if (!is_token(value)) {
			line_error(
			        err, path, line,
			        "a bearer token that an Authorization header cannot carry");
			return strata_error_hint(
			        err,
			        "A token is letters, digits and - . _ ~ + / (then = padding), as base64 or a random hex string is.");
		}
		if (strlen(value) < MIN_TOKEN) {
			line_error(err, path, line, "a bearer token too short");
			return strata_error_hint(
			        err,
			        "Use at least %d characters, for example from 'openssl rand -hex 32'.",
			        MIN_TOKEN);
		}
		a->tokens = checked(reallocarray(a->tokens, a->n_tokens + 1,
		                                 sizeof(*a->tokens)));
		mac(a->tokens[a->n_tokens++], a, value, strlen(value));
		return 0;
	}
	*colon = '\0';
	if (!is_bcrypt(value)) {
		/* the user is named, the hash is not: it is a secret too */
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "the password of '%s' is not a bcrypt hash at '%s' line %d",
		        text, path, line);
		return strata_error_hint(
		        err,
		        "Make the line with 'htpasswd -B -n USER' (apache2-utils): MD5 ($apr1$), SHA-1 ({SHA}) and DES hashes are too weak to accept.");
	}
	for (size_t i = 0; i < a->n_users; i++)
		if (!strcmp(a->users[i].name, text))
			return strata_error_set(
			        err, STRATA_EUSAGE,
			        "user '%s' given twice at '%s' line %d", text,
			        path, line);
	a->users = checked(
	        reallocarray(a->users, a->n_users + 1, sizeof(*a->users)));
	memset(&a->users[a->n_users], 0, sizeof(*a->users));
	a->users[a->n_users].name = checked(strdup(text));
	a->users[a->n_users++].hash = checked(strdup(value));
	return 0;
}

int serve_auth_load(struct serve_auth **out, const char *path,
                    struct strata_error *err)
{
	struct serve_auth *a = NULL;
	FILE *fp = NULL;
	char *buf = NULL;
	size_t alloc = 0;
	ssize_t n;
	int line = 0, rc = -1;

	/* first: even the clean-up wipes with OPENSSL_cleanse() */
	if (crypto_load("--auth-file", err) < 0)
		return -1;
	a = checked(calloc(1, sizeof(*a)));
	fp = fopen(path, "r");
	pthread_mutex_init(&a->lock, NULL);
	if (!fp) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "could not read the auth file '%s': %s", path,
		                 strerror(errno));
		goto done;
	}
	if (RAND_bytes(a->key, sizeof(a->key)) != 1) {
		strata_error_set(
		        err, STRATA_EFAILED,
		        "could not draw a random key for the credentials");
		goto done;
	}
	while ((n = getline(&buf, &alloc, fp)) >= 0) {
		line++;
		if (n > MAX_LINE || strlen(buf) != (size_t)n) {
			line_error(err, path, line,
			           "a line too long, or holding a NUL byte");
			goto done;
		}
		/* line ends (CRLF too) and the spaces an editor leaves */
		while (n && strchr("\r\n \t", buf[n - 1]))
			buf[--n] = '\0';
		if (!n || buf[0] == '#')
			continue;
		if (add_line(a, buf, path, line, err) < 0)
			goto done;
	}
	if (ferror(fp)) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "could not read the auth file '%s': %s", path,
		                 strerror(errno));
		goto done;
	}
	if (!a->n_users && !a->n_tokens) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "the auth file '%s' holds no credential",
		                 path);
		strata_error_hint(
		        err,
		        "Add USER:BCRYPT-HASH lines (htpasswd -B -n USER) or a bearer:TOKEN line.");
		goto done;
	}
	*out = a;
	a = NULL;
	rc = 0;
done:
	if (buf)
		OPENSSL_cleanse(buf, alloc);
	free(buf);
	if (fp)
		fclose(fp);
	serve_auth_free(a);
	return rc;
}

void serve_auth_free(struct serve_auth *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n_users; i++) {
		free(a->users[i].name);
		free(a->users[i].hash);
	}
	free(a->users);
	free(a->tokens);
	pthread_mutex_destroy(&a->lock);
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

bool serve_auth_has_basic(const struct serve_auth *a)
{
	return a->n_users > 0;
}

bool serve_auth_has_bearer(const struct serve_auth *a)
{
	return a->n_tokens > 0;
}

static bool check_bearer(struct serve_auth *a, const char *token)
{
	unsigned char m[MAC_SIZE];
	int match = 0;

	mac(m, a, token, strlen(token));
	/* every token compared: none is found sooner than another */
	for (size_t i = 0; i < a->n_tokens; i++)
		match |= !CRYPTO_memcmp(m, a->tokens[i], MAC_SIZE);
	OPENSSL_cleanse(m, sizeof(m));
	return match;
}

/* bcrypt of `password` with the setting of `hash`: whether it is `hash`. */
static bool bcrypt_matches(const char *password, const char *hash)
{
	struct crypt_data *data = checked(calloc(1, sizeof(*data)));
	const char *out = crypt_rn(password, hash, data, sizeof(*data));
	bool is_match = out && strlen(out) == BCRYPT_LEN &&
	                !CRYPTO_memcmp(out, hash, BCRYPT_LEN);

	OPENSSL_cleanse(data, sizeof(*data));
	free(data);
	return is_match;
}

static bool check_basic(struct serve_auth *a, const char *b64)
{
	unsigned char plain[MAX_CREDENTIALS + 4];
	size_t len = strlen(b64), pad = 0;
	struct auth_user *u = NULL;
	unsigned char m[MAC_SIZE];
	char *password;
	bool is_ok = false;
	int n;

	if (!a->n_users || !len || len % 4 || len / 4 * 3 > MAX_CREDENTIALS)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_b64(b64[i], i >= len - 2 && b64[i] == '=' ? "=" : "+/"))
			return false;
	if (b64[len - 2] == '=' && b64[len - 1] != '=')
		return false;
	n = EVP_DecodeBlock(plain, (const unsigned char *)b64, (int)len);
	if (n < 0)
		return false;
	/* EVP_DecodeBlock() counts the padding as bytes */
	pad = (b64[len - 1] == '=') + (b64[len - 2] == '=');
	n -= (int)pad;
	plain[n] = '\0';
	password = memchr(plain, ':', (size_t)n);
	if (!password || memchr(plain, '\0', (size_t)n))
		goto done;
	*password++ = '\0';
	for (size_t i = 0; i < a->n_users; i++)
		if (!strcmp(a->users[i].name, (char *)plain))
			u = &a->users[i];
	mac(m, a, password, strlen(password));
	if (u) {
		pthread_mutex_lock(&a->lock);
		is_ok = u->has_ok && !CRYPTO_memcmp(m, u->ok, MAC_SIZE);
		pthread_mutex_unlock(&a->lock);
	}
	if (is_ok)
		goto done;
	/* a user that does not exist costs what a wrong password does */
	is_ok = bcrypt_matches(password, u ? u->hash : a->users[0].hash) && u;
	if (is_ok) {
		pthread_mutex_lock(&a->lock);
		memcpy(u->ok, m, MAC_SIZE);
		u->has_ok = true;
		pthread_mutex_unlock(&a->lock);
	}
done:
	OPENSSL_cleanse(plain, sizeof(plain));
	OPENSSL_cleanse(m, sizeof(m));
	return is_ok;
}

/* "Basic x", "bearer  x": the scheme is case-insensitive (RFC 9110). */
static const char *after_scheme(const char *header, const char *scheme)
{
	size_t n = strlen(scheme);

	if (strncasecmp(header, scheme, n) || header[n] != ' ')
		return NULL;
	header += n;
	while (*header == ' ')
		header++;
	return header;
}

bool serve_auth_check(struct serve_auth *a, const char *header)
{
	const char *rest;

	if (!header)
		return false;
	while (*header == ' ')
		header++;
	if ((rest = after_scheme(header, "Bearer")))
		return a->n_tokens && is_token(rest) && check_bearer(a, rest);
	if ((rest = after_scheme(header, "Basic")))
		return check_basic(a, rest);
	return false;
}
