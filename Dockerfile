# SPDX-License-Identifier: MIT
# taskwired in a container: built on Debian 12, run on bookworm-slim as a non-root user. The
# image also has the `taskwire` CLI: docker exec CONTAINER taskwire scan --hash
# The build packages match scripts/lib/deps.sh (TASKWIRE_BUILD_PACKAGES).
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build libboost1.81-dev nlohmann-json3-dev libssl-dev libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt README.md ./
COPY cmake cmake
COPY client client
COPY config config
COPY docs docs
COPY handlers handlers
COPY packaging packaging
COPY server server
COPY workers workers
COPY tools tools
COPY web web
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTASKWIRE_BUILD_TESTS=OFF \
 && cmake --build build \
 && cmake --install build --prefix /opt/taskwire --strip

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl3 libsqlite3-0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/taskwire --create-home taskwire \
 && mkdir -p /models /var/lib/taskwire/state \
 && chown taskwire:taskwire /models /var/lib/taskwire/state
COPY --from=build /opt/taskwire/bin/taskwired /opt/taskwire/bin/taskwire /usr/local/bin/
COPY --from=build /opt/taskwire/share/taskwire /usr/local/share/taskwire
ENV TASKWIRE_HOST=0.0.0.0 \
    TASKWIRE_PORT=8765 \
    TASKWIRE_ROOTS=models=/models \
    TASKWIRE_STATE_DIR=/var/lib/taskwire/state
USER taskwire
WORKDIR /var/lib/taskwire
VOLUME ["/models", "/var/lib/taskwire/state"]
EXPOSE 8765
# bash's /dev/tcp keeps curl out of the image.
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${TASKWIRE_PORT:-8765} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ' 200 ' <&3"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/taskwired"]
