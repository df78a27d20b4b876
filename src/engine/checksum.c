/*
 * The checksum of a migration: SHA-384 of the up file's bytes, exactly as
 * sqlx computes it (design.md, History table), so that a database migrated by
 * sqlx-cli is up to date for strata. OpenSSL's libcrypto does the hashing,
 * loaded by checksum_load() (util/crypto.h says why); no normalisation
 * (line endings, BOM) happens here: comparing leniently is the status
 * code's business.
 */
#include "engine/checksum.h"
#include "util/crypto.h"

#include <pthread.h>

#include <openssl/sha.h>

/*
 * OpenSSL's own SHA-384 functions when it still has them (deprecated in
 * 3.0, so looked up rather than required): EVP's first fetch starts the
 * provider machinery, about 0.8 ms and a teardown at exit, which was most
 * of what `status` of 1,000 files spent in libcrypto; their digests are
 * the same.
 */
#ifndef OPENSSL_NO_DEPRECATED_3_0
static int (*sha384_init)(SHA512_CTX *);
static int (*sha384_update)(SHA512_CTX *, const void *, size_t);
static int (*sha384_final)(unsigned char *, SHA512_CTX *);
#endif
/*
 * Otherwise fetched once: with EVP_sha384() OpenSSL 3 looks the algorithm
 * up again for every digest, which was a seventh of `status` on 10,000
 * files.
 */
static EVP_MD *sha384;
static pthread_once_t sha384_once = PTHREAD_ONCE_INIT;

static void find_sha384(void)
{
#ifndef OPENSSL_NO_DEPRECATED_3_0
	*(void **)&sha384_init = crypto_symbol("SHA384_Init");
	*(void **)&sha384_update = crypto_symbol("SHA384_Update");
	*(void **)&sha384_final = crypto_symbol("SHA384_Final");
	if (sha384_init && sha384_update && sha384_final)
		return;
	sha384_init = NULL;
#endif
	sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
}

int checksum_load(struct strata_error *err)
{
	return crypto_load("SHA-384", err);
}

void strata_checksum(unsigned char out[STRATA_CHECKSUM_LEN], const void *data,
                     size_t len)
{
	unsigned int n = 0;

	pthread_once(&sha384_once, find_sha384);
#ifndef OPENSSL_NO_DEPRECATED_3_0
	if (sha384_init) {
		SHA512_CTX ctx;

		if (!sha384_init(&ctx) || !sha384_update(&ctx, data, len) ||
		    !sha384_final(out, &ctx))
			BUG("SHA-384 digest failed");
		return;
	}
#endif
	/* fails only without memory or a SHA-384 provider: not bad input */
	if (!EVP_Digest(data, len, out, &n, sha384 ? sha384 : EVP_sha384(),
	                NULL) ||
	    n != STRATA_CHECKSUM_LEN)
		BUG("SHA-384 digest failed");
}
