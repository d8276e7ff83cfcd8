/* TLS context management: building an SSL_CTX from PEM files with our protocol and cipher policy,
 * ALPN selection (h2 first, then http/1.1), and the swap on certificate reload. */
#include "gateway/conn/tls.h"

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TLS 1.2 suites: forward secret AEADs only (Mozilla "intermediate" minus DHE, which needs
 * parameters we would have to ship); all of them are allowed by HTTP/2 (RFC 9113 9.2.2).
 * TLS 1.3 keeps OpenSSL's default suites, which are all AEADs. */
#define TLS12_CIPHERS                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

struct gw_tls {
    pthread_mutex_t mu; /* guards ctx: workers take it for SSL_new, reload swaps it */
    SSL_CTX *ctx;
    char *cert_path;
    char *key_path;
};

/* OpenSSL's error queue as one line, appended to what: "what: reason". Clears the queue. */
static void tls_error(char *err, size_t errlen, const char *what, const char *path)
{
    char reason[256] = "";
    unsigned long e = ERR_get_error();
    if (e) ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    snprintf(err, errlen, "%s %s: %s", what, path, reason[0] ? reason : "unknown error");
}

static int tls_on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    /* nghttp2 picks "h2" when offered, else "http/1.1"; anything else: no ALPN, and the
     * connection sniffs the first bytes like a cleartext one. */
    unsigned char *sel = NULL;
    if (nghttp2_select_next_protocol(&sel, outlen, in, inlen) < 0) return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *tls_build(const char *cert, const char *key, char *err, size_t errlen)
{
    static const unsigned char sid_ctx[] = "qdrant-gateway";
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        tls_error(err, errlen, "cannot create a TLS context for", cert);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) {
        tls_error(err, errlen, "cannot set the TLS 1.2 ciphers for", cert);
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        tls_error(err, errlen, "tls.cert", cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        tls_error(err, errlen, "tls.key", key);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        tls_error(err, errlen, "tls.key does not match tls.cert", key);
        goto fail;
    }
    SSL_CTX_set_alpn_select_cb(ctx, tls_on_alpn, NULL);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

gw_tls_t *gw_tls_new(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
    gw_tls_t *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    t->cert_path = strdup(cert_path);
    t->key_path = strdup(key_path);
    if (!t->cert_path || !t->key_path) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    t->ctx = tls_build(cert_path, key_path, err, errlen);
    if (!t->ctx) goto fail;
    return t;
fail:
    gw_tls_free(t);
    return NULL;
}

int gw_tls_reload(gw_tls_t *t, char *err, size_t errlen)
{
    SSL_CTX *fresh = tls_build(t->cert_path, t->key_path, err, errlen);
    if (!fresh) return -1;
    pthread_mutex_lock(&t->mu);
    SSL_CTX *old = t->ctx;
    t->ctx = fresh;
    pthread_mutex_unlock(&t->mu);
    SSL_CTX_free(old); /* connections made from it hold their own references */
    return 0;
}

SSL *gw_tls_ssl_new(gw_tls_t *t)
{
    pthread_mutex_lock(&t->mu);
    SSL *ssl = SSL_new(t->ctx);
    pthread_mutex_unlock(&t->mu);
    return ssl;
}

int gw_tls_alpn(const SSL *ssl)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(ssl, &p, &n);
    if (n == 2 && memcmp(p, "h2", 2) == 0) return 1;
    if (n == 8 && memcmp(p, "http/1.1", 8) == 0) return 0;
    return -1;
}

void gw_tls_free(gw_tls_t *t)
{
    if (!t) return;
    SSL_CTX_free(t->ctx);
    free(t->cert_path);
    free(t->key_path);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
