/* corsd's policy engine behind a C interface, for the nginx module (nginx
 * modules are C, and nginx's headers are made by its configure step, so
 * the engine's C++ stays on this side and the module's C on the other).
 * Nothing here allocates per request but the Vary merge's reused buffer. */
#ifndef CORSD_NGINX_H
#define CORSD_NGINX_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct corsd_ngx_policy corsd_ngx_policy; /* the routes of one file */

typedef struct {
  const char *data;
  size_t len;
} corsd_ngx_str;

typedef struct {
  corsd_ngx_str name;
  corsd_ngx_str value;
} corsd_ngx_field;

/* Gives the request's next header field to `out`; 0 when there is none. */
typedef int (*corsd_ngx_next_field)(void *state, corsd_ngx_field *out);

enum { CORSD_NGX_MAX_FIELDS = 8, CORSD_NGX_BODY_PARTS = 5 };

typedef struct {
  int answer;      /* 1: answer here (a preflight), with `status` and `body` */
  unsigned status; /* 204 or 403 */
  corsd_ngx_field headers[CORSD_NGX_MAX_FIELDS]; /* the policy's CORS fields */
  size_t header_count;
  corsd_ngx_str vary; /* tokens to merge into Vary; empty: none */
  corsd_ngx_str body[CORSD_NGX_BODY_PARTS]; /* a rejected preflight's text */
} corsd_ngx_decision;

/* The policies of the corsd config file at `path` (its [[routes]]), or NULL
 * with the message ("FILE:LINE: what\n  fix: how") in `error`. */
corsd_ngx_policy *corsd_ngx_load(const char *path, char *error, size_t error_size);
void corsd_ngx_free(corsd_ngx_policy *policy);

/* Decides the request with `method` on `path`; its fields come from `next`.
 * Returns 0 when no route of the file covers the path (no CORS handling),
 * else 1 with `out` filled. The views point into the policy and the
 * request's fields. */
int corsd_ngx_decide(const corsd_ngx_policy *policy, corsd_ngx_str method, corsd_ngx_str path,
                     corsd_ngx_next_field next, void *state, corsd_ngx_decision *out);

/* Whether a response field is one the policy replaces (Access-Control-*). */
int corsd_ngx_is_access_control(corsd_ngx_str name);

/* The response's Vary lines with the decision's tokens merged into one
 * value, valid until the next call. Returns 0 when there is none to send. */
int corsd_ngx_merge_vary(const corsd_ngx_str *lines, size_t count, corsd_ngx_str extra, corsd_ngx_str *out);

#ifdef __cplusplus
}
#endif

#endif
