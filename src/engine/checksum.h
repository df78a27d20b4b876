/*
 * What strata_checksum() (strata.h) needs before it runs: OpenSSL's
 * libcrypto, loaded when first needed (util/crypto.h). strata_checksum()
 * cannot fail, so every public entry point that hashes calls
 * checksum_load() first and reports a missing libcrypto as its error.
 */
#ifndef STRATA_ENGINE_CHECKSUM_H
#define STRATA_ENGINE_CHECKSUM_H

#include "util/common.h"

/* 0 once libcrypto is loaded; else STRATA_EFAILED saying what to install. */
int checksum_load(struct strata_error *err);

#endif
