/* TLS for the front door: one process-wide SSL_CTX (TLS 1.2+, modern ciphers, ALPN h2 and
 * http/1.1) built from tls.cert/tls.key, swapped atomically on reload (SIGHUP). */
#ifndef GW_TLS_H
#define GW_TLS_H

#include <stddef.h>

typedef struct gw_tls gw_tls_t;
typedef struct ssl_st SSL;

/* Loads the certificate chain and key. NULL with err filled ("tls.cert /path: ...") on failure. */
gw_tls_t *gw_tls_new(const char *cert_path, const char *key_path, char *err, size_t errlen);

/* Re-reads the same files into a new context and makes it the one new connections get.
 * Connections already open keep theirs. On failure the old context stays: -1 with err filled.
 * Thread-safe (called from the main thread while workers accept). */
int gw_tls_reload(gw_tls_t *t, char *err, size_t errlen);

/* A server SSL for a new connection, from the current context; NULL on OOM. Thread-safe. */
SSL *gw_tls_ssl_new(gw_tls_t *t);

/* Whether the handshake on ssl chose ALPN "h2" (1), "http/1.1" (0), or nothing (-1). */
int gw_tls_alpn(const SSL *ssl);

/* Call after every worker that could use it is gone. NULL is fine. */
void gw_tls_free(gw_tls_t *t);

#endif
