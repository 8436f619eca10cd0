package io.lodestone.tls;

import io.lodestone.core.internal.Durations;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.SSLContext;

/** The settings both sides share (protocols, cipher suites, ALPN, provider), with their checks. */
final class TlsOptions {

    static final List<String> KNOWN_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1");
    static final List<String> DEFAULT_PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");
    /** TLS 1.3 suites, then TLS 1.2 suites with forward secrecy and AEAD only. */
    static final List<String> MODERN_CIPHERS = List.of(
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    List<String> protocols = DEFAULT_PROTOCOLS;
    List<String> ciphers;
    List<String> alpn = List.of();
    TlsProvider provider = TlsProvider.AUTO;
    Duration handshakeTimeout = Duration.ofSeconds(10);

    static List<String> checkProtocols(String... protocols) {
        Objects.requireNonNull(protocols, "protocols");
        if (protocols.length == 0) {
            throw new IllegalArgumentException("protocols: [] (expected: at least one of " + KNOWN_PROTOCOLS + ")");
        }
        for (String p : protocols) {
            if (!KNOWN_PROTOCOLS.contains(p)) {
                throw new IllegalArgumentException("protocols: " + p + " (expected: one of " + KNOWN_PROTOCOLS + ")");
            }
        }
        return List.copyOf(new ArrayList<>(new java.util.LinkedHashSet<>(Arrays.asList(protocols))));
    }

    static List<String> checkCiphers(String... ciphers) {
        Objects.requireNonNull(ciphers, "ciphers");
        if (ciphers.length == 0) {
            throw new IllegalArgumentException("ciphers: [] (expected: at least one cipher suite)");
        }
        for (String c : ciphers) {
            if (c == null || c.isBlank()) {
                throw new IllegalArgumentException("ciphers: '" + c + "' (expected: a cipher suite name)");
            }
        }
        return List.of(ciphers);
    }

    static List<String> checkAlpn(String... protocols) {
        Objects.requireNonNull(protocols, "alpn");
        for (String p : protocols) {
            if (p == null || p.isEmpty() || p.getBytes(StandardCharsets.US_ASCII).length > 255) {
                throw new IllegalArgumentException("alpn: '" + p + "' (expected: a protocol id of 1..255 bytes, e.g. h2)");
            }
        }
        return List.of(protocols);
    }

    static Duration checkTimeout(String field, Duration d) {
        Objects.requireNonNull(d, field);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(field + ": " + d + " (expected: > 0)");
        }
        // past about 292 million years toMillis overflows at build(); the handshake's timer, in
        // nanoseconds from a clock reading, needs the bound every other timeout of the proxy has
        return Durations.atMostMax(field, d);
    }

    /** Resolves AUTO and fails when OpenSSL is forced but does not load. */
    TlsProvider resolvedProvider() {
        switch (provider) {
            case JDK:
                return TlsProvider.JDK;
            case OPENSSL:
                if (!OpenSsl.isAvailable()) {
                    throw new IllegalArgumentException("provider: OPENSSL (not available: "
                            + OpenSsl.unavailabilityCause() + ")");
                }
                return TlsProvider.OPENSSL;
            default:
                return OpenSsl.isAvailable() ? TlsProvider.OPENSSL : TlsProvider.JDK;
        }
    }

    /** Checks explicitly configured ciphers against the provider; returns the list to configure. */
    List<String> effectiveCiphers(TlsProvider resolved) {
        Set<String> supported = supportedCiphers(resolved);
        if (ciphers == null) {
            List<String> out = new ArrayList<>();
            for (String c : MODERN_CIPHERS) {
                if (supported.contains(c)) {
                    out.add(c);
                }
            }
            return out;
        }
        for (String c : ciphers) {
            if (!supported.contains(c)) {
                throw new IllegalArgumentException("ciphers: " + c + " (not supported by the " + resolved + " provider)");
            }
        }
        return ciphers;
    }

    private static Set<String> supportedCiphers(TlsProvider resolved) {
        if (resolved == TlsProvider.OPENSSL) {
            Set<String> out = new HashSet<>(OpenSsl.availableJavaCipherSuites());
            // BoringSSL always enables its TLS 1.3 suites and does not list them as configurable
            out.addAll(MODERN_CIPHERS.subList(0, 3));
            return out;
        }
        try {
            return new HashSet<>(Arrays.asList(SSLContext.getDefault().getSupportedSSLParameters().getCipherSuites()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no default SSLContext", e);
        }
    }

    /** Applies provider, protocols, ciphers and ALPN to a Netty context builder. */
    void apply(SslContextBuilder b, TlsProvider resolved) {
        b.sslProvider(resolved == TlsProvider.OPENSSL ? SslProvider.OPENSSL : SslProvider.JDK);
        b.protocols(protocols);
        b.ciphers(effectiveCiphers(resolved), SupportedCipherSuiteFilter.INSTANCE);
        if (!alpn.isEmpty()) {
            b.applicationProtocolConfig(new ApplicationProtocolConfig(
                    ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                    alpn));
        }
    }

    TlsOptions copy() {
        TlsOptions o = new TlsOptions();
        o.protocols = protocols;
        o.ciphers = ciphers;
        o.alpn = alpn;
        o.provider = provider;
        o.handshakeTimeout = handshakeTimeout;
        return o;
    }
}
