/* ngx_http_corsd_module: corsd's policy engine in nginx.
 *
 *     load_module modules/ngx_http_corsd_module.so;
 *     location /api/ {
 *         corsd_policy /etc/corsd/api.toml;
 *         proxy_pass http://127.0.0.1:5000;
 *     }
 *
 * The file is a corsd config file: its [[routes]] are the policies, matched
 * on the request's path as corsd matches them, and a mistake in it makes
 * `nginx -t` fail with the same "FILE:LINE: what / fix" as corsd's
 * --check-config. Preflights are answered here, in the rewrite phase: a
 * browser sends them without credentials, so auth must never see them.
 * Every other response of the location, nginx's own errors and an
 * upstream's included, gets exactly the policy's CORS fields: the ones the
 * upstream or add_header set are removed, and Vary is merged. */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "corsd_nginx.h"

typedef struct {
  corsd_ngx_policy *policy; /* NULL: no policy here (or corsd_policy off) */
  ngx_flag_t set;           /* corsd_policy written in this block */
} ngx_http_corsd_loc_conf_t;

typedef struct {
  corsd_ngx_decision preflight; /* the preflight this module answers itself */
} ngx_http_corsd_ctx_t;

static char *ngx_http_corsd_policy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static void *ngx_http_corsd_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_corsd_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static ngx_int_t ngx_http_corsd_init(ngx_conf_t *cf);

static ngx_command_t ngx_http_corsd_commands[] = {
    {ngx_string("corsd_policy"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
     ngx_http_corsd_policy, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    ngx_null_command};

static ngx_http_module_t ngx_http_corsd_module_ctx = {
    NULL,                           /* preconfiguration */
    ngx_http_corsd_init,            /* postconfiguration */
    NULL,                           /* create main configuration */
    NULL,                           /* init main configuration */
    NULL,                           /* create server configuration */
    NULL,                           /* merge server configuration */
    ngx_http_corsd_create_loc_conf, /* create location configuration */
    ngx_http_corsd_merge_loc_conf   /* merge location configuration */
};

ngx_module_t ngx_http_corsd_module = {NGX_MODULE_V1,
                                      &ngx_http_corsd_module_ctx,
                                      ngx_http_corsd_commands,
                                      NGX_HTTP_MODULE,
                                      NULL,
                                      NULL,
                                      NULL,
                                      NULL,
                                      NULL,
                                      NULL,
                                      NULL,
                                      NGX_MODULE_V1_PADDING};

static ngx_http_output_header_filter_pt ngx_http_next_header_filter;

/* --- Configuration ------------------------------------------------------ */

static void ngx_http_corsd_free_policy(void *data) { corsd_ngx_free(data); }

/* corsd_policy FILE | off */
static char *ngx_http_corsd_policy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf) {
  ngx_http_corsd_loc_conf_t *lcf = conf;
  ngx_str_t *value = cf->args->elts;
  ngx_str_t path = value[1];
  char error[2048];
  ngx_pool_cleanup_t *cleanup;
  (void)cmd;

  if (lcf->set) return "is duplicate";
  lcf->set = 1;
  if (path.len == 3 && ngx_strncmp(path.data, "off", 3) == 0) return NGX_CONF_OK;
  if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) return NGX_CONF_ERROR;

  lcf->policy = corsd_ngx_load((const char *)path.data, error, sizeof error);
  if (lcf->policy == NULL) {
    /* nginx appends " in FILE:LINE" of the directive: it gets a line of its own. */
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "corsd_policy: %s\n  (the corsd_policy directive)", error);
    return NGX_CONF_ERROR;
  }
  cleanup = ngx_pool_cleanup_add(cf->pool, 0);
  if (cleanup == NULL) return NGX_CONF_ERROR;
  cleanup->handler = ngx_http_corsd_free_policy;
  cleanup->data = lcf->policy;
  return NGX_CONF_OK;
}

static void *ngx_http_corsd_create_loc_conf(ngx_conf_t *cf) {
  ngx_http_corsd_loc_conf_t *lcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_corsd_loc_conf_t));
  return lcf;
}

static char *ngx_http_corsd_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child) {
  ngx_http_corsd_loc_conf_t *prev = parent;
  ngx_http_corsd_loc_conf_t *lcf = child;
  (void)cf;
  if (!lcf->set) lcf->policy = prev->policy;
  return NGX_CONF_OK;
}

/* --- Deciding ----------------------------------------------------------- */

typedef struct {
  ngx_list_part_t *part;
  ngx_uint_t i;
} ngx_http_corsd_fields_t;

/* The request's header fields one by one, for corsd_ngx_decide(). */
static int ngx_http_corsd_next_field(void *state, corsd_ngx_field *out) {
  ngx_http_corsd_fields_t *it = state;
  ngx_table_elt_t *h;
  while (it->i >= it->part->nelts) {
    if (it->part->next == NULL) return 0;
    it->part = it->part->next;
    it->i = 0;
  }
  h = it->part->elts;
  h += it->i++;
  out->name.data = (const char *)h->key.data;
  out->name.len = h->key.len;
  out->value.data = (const char *)h->value.data;
  out->value.len = h->value.len;
  return 1;
}

/* The decision on `r`, or 0 when no policy or route covers it. */
static int ngx_http_corsd_decide(ngx_http_request_t *r, corsd_ngx_decision *d) {
  ngx_http_corsd_loc_conf_t *lcf = ngx_http_get_module_loc_conf(r, ngx_http_corsd_module);
  ngx_http_corsd_fields_t fields;
  corsd_ngx_str method, path;
  if (lcf == NULL || lcf->policy == NULL || r != r->main) return 0;
  fields.part = &r->headers_in.headers.part;
  fields.i = 0;
  method.data = (const char *)r->method_name.data;
  method.len = r->method_name.len;
  path.data = (const char *)r->uri.data; /* nginx's normalized path */
  path.len = r->uri.len;
  return corsd_ngx_decide(lcf->policy, method, path, ngx_http_corsd_next_field, &fields, d);
}

/* --- Response fields ---------------------------------------------------- */

/* A response field whose name and value live as long as the request: the
 * decision's point into the policy (the configuration's) or into the
 * request's own fields. */
static ngx_int_t ngx_http_corsd_add_field(ngx_http_request_t *r, corsd_ngx_str name, corsd_ngx_str value) {
  ngx_table_elt_t *h = ngx_list_push(&r->headers_out.headers);
  if (h == NULL) return NGX_ERROR;
  h->hash = 1;
  h->key.data = (u_char *)name.data;
  h->key.len = name.len;
  h->value.data = (u_char *)value.data;
  h->value.len = value.len;
  h->lowcase_key = NULL;
  return NGX_OK;
}

/* Puts `d` on the response: every Access-Control-* field already there
 * goes, the decision's are added, and its Vary tokens are merged with the
 * response's Vary lines into one. */
static ngx_int_t ngx_http_corsd_apply(ngx_http_request_t *r, const corsd_ngx_decision *d) {
  enum { kVaryLines = 16 };
  corsd_ngx_str vary[kVaryLines], merged;
  ngx_uint_t vary_count = 0, i;
  ngx_list_part_t *part = &r->headers_out.headers.part;
  ngx_table_elt_t *h = part->elts;
  static const corsd_ngx_str kVary = {"Vary", 4};

  for (i = 0;; i++) {
    if (i >= part->nelts) {
      if (part->next == NULL) break;
      part = part->next;
      h = part->elts;
      i = 0;
      if (part->nelts == 0) continue;
    }
    if (h[i].hash == 0) continue;
    {
      corsd_ngx_str name = {(const char *)h[i].key.data, h[i].key.len};
      if (corsd_ngx_is_access_control(name)) {
        h[i].hash = 0; /* nginx skips a field whose hash is 0 */
      } else if (h[i].key.len == 4 && ngx_strncasecmp(h[i].key.data, (u_char *)"Vary", 4) == 0 &&
                 vary_count < kVaryLines) {
        vary[vary_count].data = (const char *)h[i].value.data;
        vary[vary_count++].len = h[i].value.len;
        h[i].hash = 0; /* replaced by the merged line below */
      }
    }
  }
  for (i = 0; i < d->header_count; i++) {
    if (ngx_http_corsd_add_field(r, d->headers[i].name, d->headers[i].value) != NGX_OK) return NGX_ERROR;
  }
  if (vary_count == 0) {  /* the decision's tokens as they are: the policy's */
    return d->vary.len == 0 ? NGX_OK : ngx_http_corsd_add_field(r, kVary, d->vary);
  }
  if (!corsd_ngx_merge_vary(vary, vary_count, d->vary, &merged)) return NGX_OK;
  /* The merged line is the shim's, reused: the request keeps a copy. */
  {
    u_char *copy = ngx_pnalloc(r->pool, merged.len);
    if (copy == NULL) return NGX_ERROR;
    ngx_memcpy(copy, merged.data, merged.len);
    merged.data = (const char *)copy;
  }
  return ngx_http_corsd_add_field(r, kVary, merged);
}

/* --- Preflights --------------------------------------------------------- */

static const corsd_ngx_str kNosniff[2] = {{"X-Content-Type-Options", 22}, {"nosniff", 7}};

/* Answers the preflight: 204, or 403 with the reason as text/plain. */
static ngx_int_t ngx_http_corsd_answer(ngx_http_request_t *r, const corsd_ngx_decision *d) {
  ngx_http_corsd_ctx_t *ctx;
  ngx_int_t rc;
  ngx_buf_t *b;
  ngx_chain_t out;
  size_t len = 0, i;

  /* The header filter puts its fields on the answer, after add_header's. */
  ctx = ngx_palloc(r->pool, sizeof(ngx_http_corsd_ctx_t));
  if (ctx == NULL) return NGX_HTTP_INTERNAL_SERVER_ERROR;
  ctx->preflight = *d;
  ngx_http_set_ctx(r, ctx, ngx_http_corsd_module);

  rc = ngx_http_discard_request_body(r);
  if (rc != NGX_OK) return rc;
  for (i = 0; i < CORSD_NGX_BODY_PARTS; i++) len += d->body[i].len;
  r->headers_out.status = d->status;
  if (len == 0) {
    r->header_only = 1; /* 204: no body, no Content-Length */
    r->headers_out.content_length_n = -1;
    rc = ngx_http_send_header(r);
    ngx_http_finalize_request(r, rc);
    return NGX_DONE;
  }
  if (ngx_http_corsd_add_field(r, kNosniff[0], kNosniff[1]) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
  ngx_str_set(&r->headers_out.content_type, "text/plain; charset=utf-8");
  r->headers_out.content_type_len = r->headers_out.content_type.len;
  r->headers_out.content_length_n = (off_t)len;
  b = ngx_create_temp_buf(r->pool, len);
  if (b == NULL) return NGX_HTTP_INTERNAL_SERVER_ERROR;
  for (i = 0; i < CORSD_NGX_BODY_PARTS; i++) b->last = ngx_cpymem(b->last, d->body[i].data, d->body[i].len);
  b->last_buf = 1;
  b->last_in_chain = 1;
  out.buf = b;
  out.next = NULL;
  rc = ngx_http_send_header(r);
  if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
    ngx_http_finalize_request(r, rc);
    return NGX_DONE;
  }
  ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));
  return NGX_DONE;
}

/* The rewrite phase, ahead of the rewrite module's `return` and `rewrite`
 * (a handler added later runs first): a preflight is answered before a
 * location's return, auth or content can answer it otherwise. */
static ngx_int_t ngx_http_corsd_handler(ngx_http_request_t *r) {
  corsd_ngx_decision d;
  if (r->method != NGX_HTTP_OPTIONS) return NGX_DECLINED;
  if (!ngx_http_corsd_decide(r, &d) || !d.answer) return NGX_DECLINED;
  return ngx_http_corsd_answer(r, &d);
}

/* Every response of a location with a policy: its CORS fields. */
static ngx_int_t ngx_http_corsd_header_filter(ngx_http_request_t *r) {
  corsd_ngx_decision d;
  ngx_http_corsd_ctx_t *ctx = ngx_http_get_module_ctx(r, ngx_http_corsd_module);
  if (ctx != NULL) {
    if (ngx_http_corsd_apply(r, &ctx->preflight) != NGX_OK) return NGX_ERROR;
  } else if (ngx_http_corsd_decide(r, &d) && ngx_http_corsd_apply(r, &d) != NGX_OK) {
    return NGX_ERROR;
  }
  return ngx_http_next_header_filter(r);
}

static ngx_int_t ngx_http_corsd_init(ngx_conf_t *cf) {
  ngx_http_core_main_conf_t *cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
  ngx_http_handler_pt *h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
  if (h == NULL) return NGX_ERROR;
  *h = ngx_http_corsd_handler;
  ngx_http_next_header_filter = ngx_http_top_header_filter;
  ngx_http_top_header_filter = ngx_http_corsd_header_filter;
  return NGX_OK;
}
