/* warden-fdpass.node: what its source files share (argument checks, errors, results). */
#ifndef WARDEN_ADDON_H
#define WARDEN_ADDON_H
#include <node_api.h>
#include <stdint.h>

/* Throws an Error with code WARDEN_FDPASS and `what` as its message; returns NULL. */
napi_value addon_fail(napi_env env, const char *what);
/* The same, with ": strerror(err)" appended. */
napi_value addon_fail_errno(napi_env env, const char *what, int err);
/* A JS array of n numbers (fds, pids, counts: all exact in a double). */
napi_value addon_numbers(napi_env env, const double *v, uint32_t n);

napi_value spawn_helper(napi_env env, napi_callback_info info);
napi_value socket_pair(napi_env env, napi_callback_info info);
napi_value pidfd_signal(napi_env env, napi_callback_info info);
#endif
