/*
 * OpenSSL's libcrypto, loaded when first needed (the first checksum, a
 * backup's hash, serve's credentials and certificate) rather than when
 * strata starts: its relocations, done at every start because it is built
 * with BIND_NOW, were about a third of `strata --version`. Files include this
 * header instead of <openssl/...> and call the OpenSSL functions as usual:
 * each name reaches the symbol through a table crypto_load() fills. Types
 * and constants still come from OpenSSL's headers, all included here
 * first, so that no declaration of theirs meets the macros below.
 */
#ifndef STRATA_UTIL_CRYPTO_H
#define STRATA_UTIL_CRYPTO_H

#include "util/common.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

/* Every libcrypto function strata calls; a new one is added here. */
#define CRYPTO_LOADED_FUNCTIONS(X) \
	X(BIO_free)                \
	X(BIO_new_mem_buf)         \
	X(CRYPTO_memcmp)           \
	X(ERR_clear_error)         \
	X(EVP_DecodeBlock)         \
	X(EVP_Digest)              \
	X(EVP_DigestFinal_ex)      \
	X(EVP_DigestInit_ex)       \
	X(EVP_DigestUpdate)        \
	X(EVP_MD_CTX_free)         \
	X(EVP_MD_CTX_new)          \
	X(EVP_MD_fetch)            \
	X(EVP_PKEY_free)           \
	X(EVP_sha256)              \
	X(EVP_sha384)              \
	X(HMAC)                    \
	X(OPENSSL_cleanse)         \
	X(PEM_read_bio_PrivateKey) \
	X(PEM_read_bio_X509)       \
	X(RAND_bytes)              \
	X(X509_check_private_key)  \
	X(X509_cmp_current_time)   \
	X(X509_free)               \
	X(X509_get0_notAfter)      \
	X(X509_get0_notBefore)

struct crypto_api {
#define CRYPTO_MEMBER(name) __typeof__(name) *p_##name;
	CRYPTO_LOADED_FUNCTIONS(CRYPTO_MEMBER)
#undef CRYPTO_MEMBER
};

/*
 * Loads libcrypto once (thread-safe); on failure, STRATA_EFAILED saying
 * that `what` ("SHA-384") needs it, why it could not be loaded and what to
 * install. Called first by every entry point that hashes, so that the
 * abort() of crypto_slow() is left for a path that forgot to.
 */
int crypto_load(const char *what, struct strata_error *err);
/* The table; loads libcrypto when needed (a missing one is caught earlier). */
const struct crypto_api *crypto_slow(void);
/* A function outside the table, NULL when this libcrypto has none. */
void *crypto_symbol(const char *name);
extern struct crypto_api crypto_table;
extern bool crypto_is_loaded;

/* Inline: strata_checksum() passes here once per migration file. */
static inline const struct crypto_api *crypto(void)
{
	if (__atomic_load_n(&crypto_is_loaded, __ATOMIC_ACQUIRE))
		return &crypto_table;
	return crypto_slow();
}

#ifndef CRYPTO_LOADER
#define BIO_free                (crypto()->p_BIO_free)
#define BIO_new_mem_buf         (crypto()->p_BIO_new_mem_buf)
#define CRYPTO_memcmp           (crypto()->p_CRYPTO_memcmp)
#define ERR_clear_error         (crypto()->p_ERR_clear_error)
#define EVP_DecodeBlock         (crypto()->p_EVP_DecodeBlock)
#define EVP_Digest              (crypto()->p_EVP_Digest)
#define EVP_DigestFinal_ex      (crypto()->p_EVP_DigestFinal_ex)
#define EVP_DigestInit_ex       (crypto()->p_EVP_DigestInit_ex)
#define EVP_DigestUpdate        (crypto()->p_EVP_DigestUpdate)
#define EVP_MD_CTX_free         (crypto()->p_EVP_MD_CTX_free)
#define EVP_MD_CTX_new          (crypto()->p_EVP_MD_CTX_new)
#define EVP_MD_fetch            (crypto()->p_EVP_MD_fetch)
#define EVP_PKEY_free           (crypto()->p_EVP_PKEY_free)
#define EVP_sha256              (crypto()->p_EVP_sha256)
#define EVP_sha384              (crypto()->p_EVP_sha384)
#define HMAC                    (crypto()->p_HMAC)
#define OPENSSL_cleanse         (crypto()->p_OPENSSL_cleanse)
#define PEM_read_bio_PrivateKey (crypto()->p_PEM_read_bio_PrivateKey)
#define PEM_read_bio_X509       (crypto()->p_PEM_read_bio_X509)
#define RAND_bytes              (crypto()->p_RAND_bytes)
#define X509_check_private_key  (crypto()->p_X509_check_private_key)
#define X509_cmp_current_time   (crypto()->p_X509_cmp_current_time)
#define X509_free               (crypto()->p_X509_free)
#define X509_get0_notAfter      (crypto()->p_X509_get0_notAfter)
#define X509_get0_notBefore     (crypto()->p_X509_get0_notBefore)
#endif

#endif
