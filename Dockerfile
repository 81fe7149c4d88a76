# syntax=docker/dockerfile:1
# The Edgeflag admin (`edgeflag serve` and its CLI) with the dashboard embedded.
#
#   docker build -t edgeflag-admin .
#   docker run -p 8080:8080 -v edgeflag-data:/data edgeflag-admin
#
# Stage 1 builds the dashboard (the JS SDK's engine as WebAssembly, wasm-bindgen, tsc,
# esbuild: `cargo xtask build-ui`) and then the release binary, which embeds it.
# Stage 2 is distroless: glibc and CA certificates, no shell, user 65532 (nonroot).
# Not built on the development machine (no container daemon there): see README.md,
# "Deployment".

ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS build
# Node for the dashboard's build (npm then installs node 22 itself, as the repository
# pins it); wasm-bindgen at the exact version of Cargo.lock, where `cargo xtask`
# looks for it (~/.cargo/bin).
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add wasm32-unknown-unknown \
 && cargo install --root /root/.cargo wasm-bindgen-cli --version 0.2.130
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo xtask build-ui \
 && cargo build --release -p edgeflag-admin --bin edgeflag \
 && cp target/release/edgeflag /usr/local/bin/edgeflag \
 && mkdir -p /data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/edgeflag /usr/local/bin/edgeflag
# The SQLite default lives in /data (a volume); with PostgreSQL nothing is written here.
COPY --from=build --chown=65532:65532 /data /data
WORKDIR /data
ENV EDGEFLAG_LISTEN=0.0.0.0:8080 \
    EDGEFLAG_DATABASE_URL=sqlite:///data/edgeflag.db
USER 65532:65532
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/edgeflag"]
CMD ["serve"]
