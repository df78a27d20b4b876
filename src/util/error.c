/*
 * The one error type, filled by the library and printed by the CLI. Each
 * layer adds its context once; nothing here formats for display.
 */
#include "util/error.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/text.h"

#include <stdlib.h>
#include <string.h>

void strata_error_release(struct strata_error *err)
{
	if (!err)
		return;
	free(err->message);
	free(err->detail);
	free(err->hint);
	free(err->file);
	free(err->context);
	memset(err, 0, sizeof(*err));
}

static char *vfmt(const char *fmt, va_list ap)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_vaddf(&sb, fmt, ap);
	return sbuf_detach(&sb, NULL);
}

int strata_error_set(struct strata_error *err, enum strata_code code,
                     const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	strata_error_release(err);
	err->code = code;
	va_start(ap, fmt);
	err->message = vfmt(fmt, ap);
	va_end(ap);
	return -1;
}

int strata_error_detail(struct strata_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	free(err->detail);
	va_start(ap, fmt);
	err->detail = vfmt(fmt, ap);
	va_end(ap);
	return -1;
}

int strata_error_hint(struct strata_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	free(err->hint);
	va_start(ap, fmt);
	err->hint = vfmt(fmt, ap);
	va_end(ap);
	return -1;
}

const char *strata_reason_name(enum strata_reason reason)
{
	static const char *const names[] = {
		[STRATA_REASON_LOCK_WAIT] = "lock-wait",
		[STRATA_REASON_LOCK_TIMEOUT] = "lock-timeout",
		[STRATA_REASON_MISSING_APPLIED] = "missing-applied",
		[STRATA_REASON_LINT_GATE] = "lint-gate",
		[STRATA_REASON_STRICT_ORDER] = "strict-order",
		[STRATA_REASON_FILE_TOO_LARGE] = "file-too-large",
		[STRATA_REASON_SOURCE_MISSING] = "source-missing",
		[STRATA_REASON_SOURCE_EMPTY] = "source-empty",
		[STRATA_REASON_HISTORY_TABLE] = "history-table",
		[STRATA_REASON_FAILED_RECORD] = "failed-record",
		[STRATA_REASON_FAILED_APPLY] = "failed-apply",
		[STRATA_REASON_FAILED_REVERT] = "failed-revert",
		[STRATA_REASON_INVALID_INDEX] = "invalid-index",
		[STRATA_REASON_CHECKSUM] = "checksum",
		[STRATA_REASON_UNKNOWN_RULE] = "unknown-rule",
		[STRATA_REASON_NEED_URL] = "need-url",
		[STRATA_REASON_NEED_SCRATCH_URL] = "need-scratch-url",
		[STRATA_REASON_NEED_TARGET] = "need-target",
		[STRATA_REASON_TARGET_NOT_EMPTY] = "target-not-empty",
		[STRATA_REASON_CONFIRM] = "confirm",
		[STRATA_REASON_BACKUP_KIND] = "backup-kind",
		[STRATA_REASON_RESTORE_TEST_KIND] = "restore-test-kind",
		[STRATA_REASON_SEE_STATUS] = "see-status",
		[STRATA_REASON_DUPLICATE_VERSION] = "duplicate-version",
		[STRATA_REASON_NO_DATABASE_FILE] = "no-database-file",
		[STRATA_REASON_SHADOW_CREATEDB] = "shadow-createdb",
		[STRATA_REASON_SHADOW_NOT_EMPTY] = "shadow-not-empty",
	};

	if ((size_t)reason >= ARRAY_SIZE(names))
		return NULL;
	return names[reason];
}

int strata_error_reason(struct strata_error *err, enum strata_reason reason,
                        int64_t version)
{
	if (!err)
		return -1;
	err->reason = reason;
	err->has_version = version >= 0;
	err->version = version >= 0 ? version : 0;
	return -1;
}

int error_options_version(unsigned int version, unsigned int known,
                          const char *name, struct strata_error *err)
{
	if (version == known)
		return 0;
	if (!version) {
		strata_error_set(err, STRATA_EUSAGE,
		                 "struct %s was not initialised (version 0)",
		                 name);
		return strata_error_hint(
		        err,
		        "Start it from its _INIT macro or its _init() function, which set the version.");
	}
	strata_error_set(
	        err, STRATA_EUSAGE,
	        "struct %s has version %u, where this library knows %u", name,
	        version, known);
	return strata_error_hint(
	        err,
	        "Build the program against the strata.h of the library it runs with.");
}

void error_set_location(struct strata_error *err, const char *file,
                        const char *text, size_t len, size_t offset)
{
	if (!err)
		return;
	free(err->file);
	err->file = file ? xstrdup(file) : NULL;
	if (text)
		text_line_col(text, len, offset, &err->line, &err->column);
}

void error_move(struct strata_error *dst, struct strata_error *src)
{
	if (!dst || dst == src)
		return;
	strata_error_release(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

void error_prefix(struct strata_error *err, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	sbuf_adds(&sb, ": ");
	sbuf_adds(&sb, err->message ? err->message : "unknown error");
	free(err->message);
	err->message = sbuf_detach(&sb, NULL);
}
