/* .env texts */
#ifndef STRATA_ENGINE_DOTENV_H
#define STRATA_ENGINE_DOTENV_H

#include "util/common.h"

/* Receives one KEY=VALUE of a .env text; returns 0, or -1 with err set. */
typedef int (*dotenv_pair_fn)(const char *key, const char *value, void *data,
                              struct strata_error *err);

/*
 * The pairs of a .env text, in order, to `fn`; `path` names the text in
 * errors. Stops at the first bad line (STRATA_EUSAGE, err->line set) or
 * the first failure of `fn`. strata_dotenv_load() is this over a file.
 */
int dotenv_parse(const char *text, size_t len, const char *path,
                 dotenv_pair_fn fn, void *data, struct strata_error *err);

#endif
