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

/*
 * Fetched once: with EVP_sha384() OpenSSL 3 looks the algorithm up again
 * for every digest, which was a seventh of `status` on 10,000 files.
 */
static EVP_MD *sha384;
static pthread_once_t sha384_once = PTHREAD_ONCE_INIT;

static void fetch_sha384(void)
{
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

	pthread_once(&sha384_once, fetch_sha384);
	/* fails only without memory or a SHA-384 provider: not bad input */
	if (!EVP_Digest(data, len, out, &n, sha384 ? sha384 : EVP_sha384(),
	                NULL) ||
	    n != STRATA_CHECKSUM_LEN)
		BUG("SHA-384 digest failed");
}
