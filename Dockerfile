# The rollcall container image: the static (musl) release binary on distroless/static, which
# holds CA certificates and tzdata and nothing else (no shell, no package manager), run as the
# non-root user 65532. The release workflow builds it for linux/amd64 and linux/arm64 from
# the binaries it has just built and attested:
#   dist/linux-amd64/rollcall, dist/linux-arm64/rollcall
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/OWNER/rollcall:X.Y.Z .
# Use: docker run --rm -v "$PWD:/work" -w /work -e GOTO_PAT ghcr.io/OWNER/rollcall:X.Y.Z plan acme
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETARCH
COPY --chmod=0555 dist/linux-${TARGETARCH}/rollcall /usr/local/bin/rollcall
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/rollcall"]
CMD ["--help"]
