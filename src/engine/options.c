/*
 * The options structs' initialisers, as libgit2's: zero is every field's
 * default, so an initialiser only sets the version, which is checked on
 * use so that a struct of another layout is refused instead of misread.
 */
#include "util/common.h"
#include "util/error.h"

#include <string.h>

/* One initialiser: the version, the rest zero (the defaults). */
#define OPTIONS_INIT_FN(fn, type, known)                \
	int fn(struct type *opts, unsigned int version) \
	{                                               \
		if (!opts || version != (known))        \
			return -1;                      \
		memset(opts, 0, sizeof(*opts));         \
		opts->version = version;                \
		return 0;                               \
	}

OPTIONS_INIT_FN(strata_source_options_init, strata_source_options,
                STRATA_SOURCE_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_new_options_init, strata_new_options,
                STRATA_NEW_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_db_options_init, strata_db_options,
                STRATA_DB_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_run_options_init, strata_run_options,
                STRATA_RUN_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_revert_options_init, strata_revert_options,
                STRATA_REVERT_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_status_options_init, strata_status_options,
                STRATA_STATUS_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_validate_options_init, strata_validate_options,
                STRATA_VALIDATE_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_lint_options_init, strata_lint_options,
                STRATA_LINT_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_lint_file_options_init, strata_lint_file_options,
                STRATA_LINT_FILE_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_backup_options_init, strata_backup_options,
                STRATA_BACKUP_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_verify_options_init, strata_verify_options,
                STRATA_VERIFY_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_retention_init, strata_retention,
                STRATA_RETENTION_VERSION)
OPTIONS_INIT_FN(strata_schema_options_init, strata_schema_options,
                STRATA_SCHEMA_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_drift_options_init, strata_drift_options,
                STRATA_DRIFT_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_proof_options_init, strata_proof_options,
                STRATA_PROOF_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_restore_options_init, strata_restore_options,
                STRATA_RESTORE_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_db_verify_options_init, strata_db_verify_options,
                STRATA_DB_VERIFY_OPTIONS_VERSION)
OPTIONS_INIT_FN(strata_convert_options_init, strata_convert_options,
                STRATA_CONVERT_OPTIONS_VERSION)
