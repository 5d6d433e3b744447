# Multi-stage build: compile in the Rust image (SQLite, libpq and OpenSSL are built from
# source by their crates), run in a slim Debian with only CA certificates and curl for the
# health check.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin clientline

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/clientline --create-home clientline
COPY --from=build /src/target/release/clientline /usr/local/bin/clientline
USER clientline
WORKDIR /var/lib/clientline
ENV CLIENTLINE_BIND=0.0.0.0:8080 \
    CLIENTLINE_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["clientline"]
CMD ["serve"]
