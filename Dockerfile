# qdrant-gateway container image.
#
#   docker build -t qdrant-gateway:local .          (docker compose builds it for you)
#
# Build stage: the same repository scripts CI runs (scripts/install-deps, scripts/build), so
# CI exercises what the image is built with. Runtime stage: the stripped binary, its config
# and the shared libraries it links, on debian:bookworm-slim, as a non-root user.
# Expected size: about 90 MB on disk, 35 MB to download (docs/operations.md, "The image").

FROM debian:bookworm-slim AS build
WORKDIR /src
# Dependencies first: this layer is reused until scripts/install-deps changes.
COPY scripts/install-deps scripts/install-deps
RUN scripts/install-deps build && rm -rf /var/lib/apt/lists/*
COPY . .
# No tests in the image (they need the test group's packages); stripped install into /out,
# through the same install rules the .deb and `cmake --install` use.
RUN BUILD_TYPE=Release scripts/build build -DGW_BUILD_TESTS=OFF \
    && DESTDIR=/out cmake --install build --prefix /usr --strip \
    && rm -rf /out/usr/lib /out/usr/share \
    && /out/usr/bin/qdrant-gateway -t -c /out/etc/qdrant-gateway/gateway.yaml

FROM debian:bookworm-slim
# The runtime libraries the binary links (what `cpack -G DEB` finds with dpkg-shlibdeps), CA
# certificates for an https:// upstream, and curl for the health check.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libevent-2.1-7 libevent-openssl-2.1-7 libevent-pthreads-2.1-7 libcurl4 libjansson4 \
        libyaml-0-2 libssl3 libnghttp2-14 libhiredis0.14 libxxhash0 libprotobuf-c1 ca-certificates \
        curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 qdrant-gateway \
    && useradd --system --uid 10001 --gid qdrant-gateway --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin qdrant-gateway
COPY --from=build /out/ /
USER qdrant-gateway:qdrant-gateway
EXPOSE 8000
# Liveness: the gateway answers /api/v1/health, with 200 (Qdrant reachable) or 503 (Qdrant
# not reachable). A Qdrant outage does not make the gateway unhealthy: restarting it then would
# only throw away the cache that stale-if-error serves from.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD curl -s -o /dev/null -w '%{http_code}' --max-time 2 http://127.0.0.1:8000/api/v1/health \
        | grep -Eq '^(200|503)$'
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/qdrant-gateway"]
CMD ["-c", "/etc/qdrant-gateway/gateway.yaml"]
