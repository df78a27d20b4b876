/*
 * libmicrohttpd, loaded when `strata serve` starts rather than with every
 * command: it and the TLS stack it links are a large share of a process's
 * start-up, which only serve needs. cmd_serve.c includes this instead of
 * <microhttpd.h> and calls MHD_*() as usual (as src/drivers/pq.h does for
 * libpq).
 */
#ifndef STRATA_CLI_SERVE_MHD_H
#define STRATA_CLI_SERVE_MHD_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <microhttpd.h>

#define MHD_FUNCTIONS(X)                   \
	X(MHD_add_response_header)         \
	X(MHD_create_response_from_buffer) \
	X(MHD_destroy_response)            \
	X(MHD_get_connection_info)         \
	X(MHD_is_feature_supported)        \
	X(MHD_lookup_connection_value)     \
	X(MHD_queue_response)              \
	X(MHD_start_daemon)                \
	X(MHD_stop_daemon)

struct mhd_api {
#define MHD_MEMBER(name) __typeof__(name) *p_##name;
	MHD_FUNCTIONS(MHD_MEMBER)
#undef MHD_MEMBER
};

extern struct mhd_api serve_mhd;

/* Loads libmicrohttpd; NULL, or what went wrong (a static string). */
const char *serve_mhd_load(void);

#ifndef SERVE_MHD_LOADER
#define MHD_add_response_header (serve_mhd.p_MHD_add_response_header)
#define MHD_create_response_from_buffer \
	(serve_mhd.p_MHD_create_response_from_buffer)
#define MHD_destroy_response        (serve_mhd.p_MHD_destroy_response)
#define MHD_get_connection_info     (serve_mhd.p_MHD_get_connection_info)
#define MHD_is_feature_supported    (serve_mhd.p_MHD_is_feature_supported)
#define MHD_lookup_connection_value (serve_mhd.p_MHD_lookup_connection_value)
#define MHD_queue_response          (serve_mhd.p_MHD_queue_response)
#define MHD_start_daemon            (serve_mhd.p_MHD_start_daemon)
#define MHD_stop_daemon             (serve_mhd.p_MHD_stop_daemon)
#endif

#endif
