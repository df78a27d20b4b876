/*
 * strata serve --tls-cert/--tls-key: the certificate (with its chain) and
 * the private key, read and checked before the server starts, so that a
 * wrong file is an error naming it rather than GnuTLS' complaint or a
 * handshake that fails for every client later. libmicrohttpd serves TLS
 * with GnuTLS and takes both as PEM text; OpenSSL (already strata's) only
 * checks them here. An encrypted key is refused: nobody is there to type
 * its passphrase when a service starts.
 */
#include "serve.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/crypto.h"
#include "util/banned.h"

#define MAX_PEM (1024 * 1024)

/* The whole of `path` as a string; NULL with `err` set. */
static char *read_pem(const char *path, const char *what,
                      struct strata_error *err)
{
	FILE *fp = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;

	if (!fp) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "could not read the %s '%s': %s", what, path,
		                 strerror(errno));
		return NULL;
	}
	text = calloc(1, MAX_PEM + 1);
	if (!text)
		abort();
	len = fread(text, 1, MAX_PEM + 1, fp);
	if (ferror(fp) || len > MAX_PEM || memchr(text, '\0', len)) {
		if (ferror(fp))
			strata_error_set(err, STRATA_EUSAGE,
			                 "could not read the %s '%s': %s", what,
			                 path, strerror(errno));
		else
			strata_error_set(err, STRATA_EUSAGE,
			                 "the %s '%s' is not a PEM file", what,
			                 path);
		OPENSSL_cleanse(text, MAX_PEM + 1);
		free(text);
		text = NULL;
	}
	fclose(fp);
	return text;
}

/* No passphrase is ever asked for: an encrypted key fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *data)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)data;
	return -1;
}

int serve_tls_load(struct serve_tls *out, const char *cert_path,
                   const char *key_path, struct strata_error *err)
{
	BIO *bio = NULL;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	/* first: even the clean-up wipes with OPENSSL_cleanse() */
	if (crypto_load("--tls-cert", err) < 0)
		return -1;
	if (!(out->cert = read_pem(cert_path, "TLS certificate", err)) ||
	    !(out->key = read_pem(key_path, "TLS key", err)))
		goto done;
	bio = BIO_new_mem_buf(out->cert, -1);
	if (!bio ||
	    !(cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL))) {
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "the TLS certificate '%s' holds no PEM certificate",
		        cert_path);
		strata_error_hint(
		        err,
		        "--tls-cert takes the server's certificate in PEM (-----BEGIN CERTIFICATE-----), followed by its intermediate certificates.");
		goto done;
	}
	BIO_free(bio);
	bio = BIO_new_mem_buf(out->key, -1);
	if (!bio ||
	    !(key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL))) {
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "the TLS key '%s' holds no unencrypted PEM private key",
		        key_path);
		strata_error_hint(
		        err,
		        "--tls-key takes the certificate's private key in PEM, not encrypted (openssl pkey -in KEY -out PLAIN removes a passphrase).");
		goto done;
	}
	if (X509_check_private_key(cert, key) != 1) {
		strata_error_set(
		        err, STRATA_EUSAGE,
		        "the TLS key '%s' does not match the certificate '%s'",
		        key_path, cert_path);
		strata_error_hint(
		        err,
		        "Give the private key the certificate was issued for (their public keys differ).");
		goto done;
	}
	out->is_expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0 ||
	                  X509_cmp_current_time(X509_get0_notBefore(cert)) > 0;
	rc = 0;
done:
	ERR_clear_error();
	BIO_free(bio);
	X509_free(cert);
	EVP_PKEY_free(key);
	if (rc < 0)
		serve_tls_release(out);
	return rc;
}

void serve_tls_release(struct serve_tls *t)
{
	if (t->key)
		OPENSSL_cleanse(t->key, strlen(t->key));
	free(t->key);
	free(t->cert);
	memset(t, 0, sizeof(*t));
}
