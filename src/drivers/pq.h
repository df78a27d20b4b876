/*
 * libpq, loaded when the first PostgreSQL URL is parsed rather than when
 * strata starts: libpq and what it links (Kerberos, LDAP, SASL, TLS) are
 * most of the process's start-up time, which every command paid, SQLite's
 * and --version included. Files include this header instead of
 * <libpq-fe.h> and call PQ*() as usual: each name reaches the symbol
 * through a table pq_load() fills. Its types and constants still come from
 * <libpq-fe.h>.
 */
#ifndef STRATA_DRIVERS_PQ_H
#define STRATA_DRIVERS_PQ_H

#include "util/common.h"

#include <libpq-fe.h>

/* Every libpq function strata calls; a new one is added here. */
#define PQ_FUNCTIONS(X)         \
	X(PQbackendPID)         \
	X(PQcancel)             \
	X(PQclear)              \
	X(PQcmdStatus)          \
	X(PQcmdTuples)          \
	X(PQconnectPoll)        \
	X(PQconnectStart)       \
	X(PQconnectStartParams) \
	X(PQconnectdbParams)    \
	X(PQconninfo)           \
	X(PQconninfoFree)       \
	X(PQconninfoParse)      \
	X(PQconsumeInput)       \
	X(PQdb)                 \
	X(PQenterPipelineMode)  \
	X(PQerrorMessage)       \
	X(PQescapeLiteral)      \
	X(PQexec)               \
	X(PQexecParams)         \
	X(PQexecPrepared)       \
	X(PQexitPipelineMode)   \
	X(PQfinish)             \
	X(PQfreeCancel)         \
	X(PQfreemem)            \
	X(PQgetCancel)          \
	X(PQgetCopyData)        \
	X(PQgetResult)          \
	X(PQgetisnull)          \
	X(PQgetlength)          \
	X(PQgetvalue)           \
	X(PQhost)               \
	X(PQhostaddr)           \
	X(PQisBusy)             \
	X(PQnfields)            \
	X(PQntuples)            \
	X(PQparameterStatus)    \
	X(PQpass)               \
	X(PQpipelineSync)       \
	X(PQport)               \
	X(PQprepare)            \
	X(PQputCopyEnd)         \
	X(PQresultErrorField)   \
	X(PQresultErrorMessage) \
	X(PQresultStatus)       \
	X(PQsendFlushRequest)   \
	X(PQsendPrepare)        \
	X(PQsendQuery)          \
	X(PQsendQueryParams)    \
	X(PQsendQueryPrepared)  \
	X(PQserverVersion)      \
	X(PQsetNoticeReceiver)  \
	X(PQsetSingleRowMode)   \
	X(PQsocket)             \
	X(PQstatus)             \
	X(PQtransactionStatus)  \
	X(PQuser)

struct pq_api {
#define PQ_MEMBER(name) __typeof__(name) *p_##name;
	PQ_FUNCTIONS(PQ_MEMBER)
#undef PQ_MEMBER
};

/*
 * Loads libpq once (thread-safe); an error says it is missing and how to
 * install it. Called where a PostgreSQL URL is parsed, the gate every
 * PostgreSQL path passes first.
 */
int pq_load(struct strata_error *err);
/* Whether libpq is loaded or can be, for paths that cannot fail. */
bool pq_available(void);
/* The table; loads libpq when needed (a missing libpq is caught earlier). */
const struct pq_api *pq_slow(void);
extern struct pq_api pq_table;
extern bool pq_is_loaded;

/* Inline: every PQ*() call passes here, PQgetvalue() once per cell. */
static inline const struct pq_api *pq(void)
{
	if (__atomic_load_n(&pq_is_loaded, __ATOMIC_ACQUIRE))
		return &pq_table;
	return pq_slow();
}

#ifndef PQ_LOADER
#define PQbackendPID         (pq()->p_PQbackendPID)
#define PQcancel             (pq()->p_PQcancel)
#define PQclear              (pq()->p_PQclear)
#define PQcmdStatus          (pq()->p_PQcmdStatus)
#define PQcmdTuples          (pq()->p_PQcmdTuples)
#define PQconnectPoll        (pq()->p_PQconnectPoll)
#define PQconnectStart       (pq()->p_PQconnectStart)
#define PQconnectStartParams (pq()->p_PQconnectStartParams)
#define PQconnectdbParams    (pq()->p_PQconnectdbParams)
#define PQconninfo           (pq()->p_PQconninfo)
#define PQconninfoFree       (pq()->p_PQconninfoFree)
#define PQconninfoParse      (pq()->p_PQconninfoParse)
#define PQconsumeInput       (pq()->p_PQconsumeInput)
#define PQdb                 (pq()->p_PQdb)
#define PQenterPipelineMode  (pq()->p_PQenterPipelineMode)
#define PQerrorMessage       (pq()->p_PQerrorMessage)
#define PQescapeLiteral      (pq()->p_PQescapeLiteral)
#define PQexec               (pq()->p_PQexec)
#define PQexecParams         (pq()->p_PQexecParams)
#define PQexecPrepared       (pq()->p_PQexecPrepared)
#define PQexitPipelineMode   (pq()->p_PQexitPipelineMode)
#define PQfinish             (pq()->p_PQfinish)
#define PQfreeCancel         (pq()->p_PQfreeCancel)
#define PQfreemem            (pq()->p_PQfreemem)
#define PQgetCancel          (pq()->p_PQgetCancel)
#define PQgetCopyData        (pq()->p_PQgetCopyData)
#define PQgetResult          (pq()->p_PQgetResult)
#define PQgetisnull          (pq()->p_PQgetisnull)
#define PQgetlength          (pq()->p_PQgetlength)
#define PQgetvalue           (pq()->p_PQgetvalue)
#define PQhost               (pq()->p_PQhost)
#define PQhostaddr           (pq()->p_PQhostaddr)
#define PQisBusy             (pq()->p_PQisBusy)
#define PQnfields            (pq()->p_PQnfields)
#define PQntuples            (pq()->p_PQntuples)
#define PQparameterStatus    (pq()->p_PQparameterStatus)
#define PQpass               (pq()->p_PQpass)
#define PQpipelineSync       (pq()->p_PQpipelineSync)
#define PQport               (pq()->p_PQport)
#define PQprepare            (pq()->p_PQprepare)
#define PQputCopyEnd         (pq()->p_PQputCopyEnd)
#define PQresultErrorField   (pq()->p_PQresultErrorField)
#define PQresultErrorMessage (pq()->p_PQresultErrorMessage)
#define PQresultStatus       (pq()->p_PQresultStatus)
#define PQsendFlushRequest   (pq()->p_PQsendFlushRequest)
#define PQsendPrepare        (pq()->p_PQsendPrepare)
#define PQsendQuery          (pq()->p_PQsendQuery)
#define PQsendQueryParams    (pq()->p_PQsendQueryParams)
#define PQsendQueryPrepared  (pq()->p_PQsendQueryPrepared)
#define PQserverVersion      (pq()->p_PQserverVersion)
#define PQsetNoticeReceiver  (pq()->p_PQsetNoticeReceiver)
#define PQsetSingleRowMode   (pq()->p_PQsetSingleRowMode)
#define PQsocket             (pq()->p_PQsocket)
#define PQstatus             (pq()->p_PQstatus)
#define PQtransactionStatus  (pq()->p_PQtransactionStatus)
#define PQuser               (pq()->p_PQuser)
#endif

#endif
