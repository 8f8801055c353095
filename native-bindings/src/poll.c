/* Event-loop readiness: a uv_poll on a descriptor calls a JS function when it
 * becomes readable. No thread, no promise, no busy loop: the JS handler drains
 * a batch and returns to the loop, which calls again while data is left
 * (libuv polls level-triggered). */
#include "addon.h"

#include <stdlib.h>
#include <uv.h>

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_ref resource;
  napi_async_context context;
} poller_t;

static void on_ready(uv_poll_t* handle, int status, int events) {
  poller_t* p = handle->data;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_value callback, resource, arg, result;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_get_reference_value(env, p->callback, &callback);
  napi_get_reference_value(env, p->resource, &resource);
  napi_create_int32(env, status < 0 ? status : events, &arg);
  /* make_callback, not call_function: promises settled in the handler run now. */
  if (napi_make_callback(env, p->context, resource, callback, 1, &arg, &result) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
}

static void on_closed(uv_handle_t* handle) {
  poller_t* p = handle->data;
  napi_delete_reference(p->env, p->callback);
  napi_delete_reference(p->env, p->resource);
  napi_async_destroy(p->env, p->context);
  free(p);
}

/* pollStart(fd, callback) -> handle (external) */
napi_value tso_poll_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], resource, name, external;
  int32_t fd;
  uv_loop_t* loop;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || !tso_arg_i32(env, argv[0], &fd)) return tso_throw_range(env, "pollStart(fd, callback)");
  TSO_CALL(env, napi_get_uv_event_loop(env, &loop));

  poller_t* p = calloc(1, sizeof *p);
  if (!p) return tso_throw_range(env, "pollStart: out of memory");
  p->env = env;
  TSO_CALL(env, napi_create_object(env, &resource));
  TSO_CALL(env, napi_create_string_utf8(env, "tsoverlay:poll", NAPI_AUTO_LENGTH, &name));
  TSO_CALL(env, napi_async_init(env, resource, name, &p->context));
  TSO_CALL(env, napi_create_reference(env, argv[1], 1, &p->callback));
  TSO_CALL(env, napi_create_reference(env, resource, 1, &p->resource));
  int err = uv_poll_init(loop, &p->handle, fd);
  if (err == 0) {
    p->handle.data = p;
    err = uv_poll_start(&p->handle, UV_READABLE, on_ready);
    if (err != 0) {
      uv_close((uv_handle_t*)&p->handle, on_closed);
      return tso_throw_errno(env, "uv_poll_start", -err);
    }
  } else {
    napi_delete_reference(env, p->callback);
    napi_delete_reference(env, p->resource);
    napi_async_destroy(env, p->context);
    free(p);
    return tso_throw_errno(env, "uv_poll_init", -err);
  }
  TSO_CALL(env, napi_create_external(env, p, NULL, NULL, &external));
  return external;
}

/* pollStop(handle): stops and frees; the handle must not be used again. */
napi_value tso_poll_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  poller_t* p;
  TSO_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_external(env, argv[0], (void**)&p) != napi_ok || !p)
    return tso_throw_range(env, "pollStop(handle)");
  if (uv_is_closing((uv_handle_t*)&p->handle)) return NULL;
  uv_poll_stop(&p->handle);
  uv_close((uv_handle_t*)&p->handle, on_closed);
  return NULL;
}
