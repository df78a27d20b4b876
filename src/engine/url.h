/* Database URLs */
#ifndef STRATA_ENGINE_URL_H
#define STRATA_ENGINE_URL_H

#include "util/common.h"

enum url_kind {
	URL_POSTGRES,
	URL_SQLITE,
};

struct strata_url {
	enum url_kind kind;
	char *raw;      /* as given (holds the password: never show it) */
	char *redacted; /* safe to show */
	char *path;     /* SQLite: the file path; NULL for memory */
	bool is_memory; /* sqlite::memory: */
	bool is_create; /* SQLite mode allows creating the file */
	bool is_readonly;
	bool is_read_only_command; /* the command only reads: create nothing */
	bool is_lock_ahead; /* the lock follows: its session connects beside */
};

int url_parse(struct strata_url *out, const char *s, struct strata_error *err);
void url_release(struct strata_url *url);
/* Whether `s` is a database URL or keyword string rather than a name. */
bool url_is_url(const char *s);

#endif
