/*
 * The checksum of a migration: SHA-384 of the up file's bytes, exactly as
 * sqlx computes it (SPEC, History table), so that a database migrated by
 * sqlx-cli is up to date for strata. OpenSSL's libcrypto does the hashing;
 * no normalisation (line endings, BOM) happens here: comparing leniently
 * is the status code's business.
 */
#include "internal.h"

#include <openssl/evp.h>

void strata_checksum(unsigned char out[STRATA_CHECKSUM_LEN], const void *data,
                     size_t len)
{
	unsigned int n = 0;

	/* fails only without memory or a SHA-384 provider: not bad input */
	if (!EVP_Digest(data, len, out, &n, EVP_sha384(), NULL) ||
	    n != STRATA_CHECKSUM_LEN)
		BUG("SHA-384 digest failed");
}
