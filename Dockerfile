# recado: one image for every role.
#
#   docker build -t recado:local .
#   docker run --rm -e RECADO_DATABASE_URL=postgresql://... recado:local migrate
#   docker run -d -e RECADO_DATABASE_URL=... -e RECADO_INGRESS_API_TOKEN=... -p 8080:8080 recado:local ingress
#   docker run -d -e RECADO_DATABASE_URL=... -e RECADO_INGRESS_API_TOKEN_FILE= recado:local worker
#
# Configuration: /etc/recado/recado.yaml is config/prod.yaml (JSON logs, the ingress on
# 0.0.0.0:8080); mount your own there (tenants are configured in the file), and override
# any key with RECADO_<PATH> (config/recado.example.yaml documents every key). prod.yaml
# names the ingress's token file, /etc/recado/api-token, and every role reads the whole
# file: mount that file, or set RECADO_INGRESS_API_TOKEN (ingress) or an empty
# RECADO_INGRESS_API_TOKEN_FILE (other roles). docker-compose.yml does the latter.
#
# Both stages are Debian bookworm; every dependency is a Debian package, as in
# scripts/bootstrap. The runtime stage carries the shared libraries the binaries link and
# nothing to build with; tests/ops/check_docker_files.sh checks its package list against
# `ldd` of a built recado.

FROM debian:bookworm-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
# What recado and recadoctl need from scripts/bootstrap's list (no test, benchmark or fuzz tools).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libuv1-dev libpqxx-dev libpq-dev libyaml-cpp-dev libspdlog-dev libfmt-dev \
      libcurl4-openssl-dev nlohmann-json3-dev libhttp-parser-dev libssl-dev libcli11-dev \
      libhowardhinnant-date-dev libsystemd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY src/ src/
COPY jobs/ jobs/
# The project's build type (RelWithDebInfo: the optimisation the benchmarks were measured
# with); the debug sections are stripped from what the runtime stage gets, symbols stay for
# readable backtraces.
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
 && ninja -C /build recado recadoctl \
 && strip --strip-debug /build/recado /build/recadoctl \
 && /build/recado version

FROM debian:bookworm-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# The shared libraries of the build stage's -dev packages (checked against `ldd recado`;
# libsystemd0 for sd_notify), tzdata for business hours (date-tz reads /usr/share/zoneinfo),
# ca-certificates for TLS to the providers, curl for HEALTHCHECK.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libuv1 libpqxx-6.4 libpq5 libyaml-cpp0.7 libspdlog1.10 libfmt9 libhttp-parser2.9 libcurl4 libssl3 libdate-tz3 libsystemd0 libstdc++6 tzdata ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 10001 recado \
 && useradd --uid 10001 --gid recado --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin recado
COPY --from=build /build/recado /build/recadoctl /usr/local/bin/
COPY config/prod.yaml /etc/recado/recado.yaml
COPY config/recado.example.yaml /etc/recado/recado.example.yaml
# A worker running alone serves GET /healthz and /metrics on 9464 (the port
# config/prometheus/prometheus.yml scrapes); the ingress serves them on 8080.
ENV RECADO_CONFIG=/etc/recado/recado.yaml \
    RECADO_WORKER_METRICS_HOST=0.0.0.0 \
    RECADO_WORKER_METRICS_PORT=9464
EXPOSE 8080 9464
USER 10001:10001
# Liveness of whichever role runs: the ingress's /healthz, else a worker's. HEALTHCHECK_URL
# names another. (`recado migrate` exits before the first check counts.)
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD if [ -n "${HEALTHCHECK_URL:-}" ]; then curl -fsS --max-time 4 -o /dev/null "$HEALTHCHECK_URL"; \
      else curl -fs --max-time 2 -o /dev/null "http://127.0.0.1:${RECADO_INGRESS_PORT:-8080}/healthz" \
        || curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:${RECADO_WORKER_METRICS_PORT:-9464}/healthz"; fi
# recado stops on SIGTERM: the ingress answers what it has, workers drain for
# worker.shutdown_timeout (25s in prod.yaml): give `docker stop` a longer --time.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/recado"]
CMD ["--help"]
