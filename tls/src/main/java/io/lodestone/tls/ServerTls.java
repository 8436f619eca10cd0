package io.lodestone.tls;

import io.lodestone.core.Clock;
import io.lodestone.tls.internal.FileWatcher;
import io.lodestone.tls.internal.KeyMaterial;
import io.lodestone.tls.internal.ServerSniHandler;
import io.lodestone.tls.internal.SniTable;
import io.netty.channel.ChannelHandler;
import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.Mapping;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS termination for a frontend: certificates chosen by SNI, ALPN, protocols and cipher suites,
 * client certificates, and reload without a restart. Built once; {@link #newHandler()} is called
 * for every accepted connection and yields the handler to put first in its pipeline.
 *
 * <pre>{@code
 * ServerTls tls = ServerTls.builder()
 *     .certificate(TlsCertificate.pem(Path.of("default.crt"), Path.of("default.key")))  // the default
 *     .certificate(TlsCertificate.pem(Path.of("shop.crt"), Path.of("shop.key")), "*.shop.example")
 *     .alpn("h2", "http/1.1")
 *     .watchFiles(Duration.ofSeconds(5), scheduler)
 *     .build();
 *
 * channel.pipeline().addLast("tls", tls.newHandler());   // then, after the handshake:
 * TlsInfo info = TlsInfo.of(channel);                     // SNI, ALPN, client identity
 * }</pre>
 *
 * <p>A certificate that is expired or not valid yet on the builder's {@link Builder#clock clock} is
 * served, as HAProxy and nginx serve one, with a warning in the log naming it, at {@link Builder#build()}
 * and at every reload.
 *
 * <p>The first certificate added is the default one, presented when the client sends no server
 * name or one that no certificate covers. Unless names are given, a certificate serves the DNS
 * names of its subject alternative names (or its common name when it has none); a wildcard name
 * {@code *.example.com} matches exactly one label ({@code a.example.com}, not
 * {@code a.b.example.com} nor {@code example.com}); exact names win over wildcards. A name has one
 * certificate, the first added that serves it, whatever signature algorithms the client offers (an RSA
 * and an EC certificate for one name are not chosen between): a certificate other than the default
 * that serves no name of its own fails {@link Builder#build()} and {@link #reload()}.
 *
 * <p>Defaults: TLS 1.3 and 1.2, modern AEAD cipher suites with forward secrecy, no ALPN, no client
 * certificates, {@link TlsProvider#AUTO}, session resumption on (the provider's session cache and,
 * with OpenSSL, session tickets under a random key per certificate, renewed by every reload),
 * 10 second handshake timeout.
 */
public final class ServerTls implements AutoCloseable {

    /** The largest ClientHello accepted before the handshake is refused. */
    public static final int MAX_CLIENT_HELLO_LENGTH = 64 * 1024;

    private static final Logger log = LoggerFactory.getLogger(ServerTls.class);

    private final List<Entry> entries;
    private final TlsOptions options;
    private final ClientAuth clientAuth;
    private final Trust clientTrust;
    private final TlsProvider provider;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final Mapping<String, SslContext> mapping;
    private final long handshakeTimeoutMillis;
    private final FileWatcher watcher;
    private final ScheduledFuture<?> watchTask;

    private volatile Snapshot current;
    private volatile long lastLoadedMillis;

    private ServerTls(Builder b) {
        this.entries = List.copyOf(b.entries);
        this.options = b.options.copy();
        this.clientAuth = b.clientAuth;
        this.clientTrust = b.clientTrust;
        this.clock = b.clock;
        this.provider = options.resolvedProvider();
        options.effectiveCiphers(provider);
        this.handshakeTimeoutMillis = options.handshakeTimeout.toMillis();
        this.current = load();
        this.lastLoadedMillis = clock.currentTimeMillis();
        warnIfNotValid(current, "loaded");
        this.mapping = serverName -> current.table.lookup(serverName);
        if (b.watchInterval != null) {
            this.watcher = new FileWatcher(files());
            long millis = b.watchInterval.toMillis();
            this.watchTask = b.watchScheduler.scheduleWithFixedDelay(this::watchTick, millis, millis,
                    TimeUnit.MILLISECONDS);
        } else {
            this.watcher = null;
            this.watchTask = null;
        }
    }

    /** {@return a new builder} */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the handler for a newly accepted connection; put it first in the pipeline (after a
     * PROXY protocol decoder, if any). It reads the ClientHello, picks the certificate by SNI from
     * the certificates current at that moment, and replaces itself, under the same name, with a
     * Netty {@link io.netty.handler.ssl.SslHandler}; the usual
     * {@link io.netty.handler.ssl.SslHandshakeCompletionEvent} follows, after which
     * {@link TlsInfo#of(io.netty.channel.Channel)} tells what was negotiated.
     *
     * @return the handler for a newly accepted connection; put it first in the pipeline (after a PROXY
     *     protocol decoder, if any)
     */
    public ChannelHandler newHandler() {
        return new ServerSniHandler(mapping, MAX_CLIENT_HELLO_LENGTH, handshakeTimeoutMillis, provider == TlsProvider.JDK);
    }

    /** {@return the provider in use: {@link TlsProvider#OPENSSL} or {@link TlsProvider#JDK}, never AUTO} */
    public TlsProvider provider() {
        return provider;
    }

    /** {@return the ALPN protocols offered, in preference order; empty when ALPN is off} */
    public List<String> applicationProtocols() {
        return options.alpn;
    }

    /** {@return the client certificate policy} */
    public ClientAuth clientAuth() {
        return clientAuth;
    }

    /** {@return the wall time ({@link Clock#currentTimeMillis()}) of the last successful (re)load} */
    public long lastLoadedMillis() {
        return lastLoadedMillis;
    }

    /**
     * The leaf certificate presented for {@code serverName} ({@code null}: the default) now.
     *
     * @param serverName the SNI name, or {@code null}
     * @return the leaf certificate presented for {@code serverName} ({@code null}: the default) now
     */
    public X509Certificate certificateFor(String serverName) {
        Snapshot s = current;
        SslContext ctx = s.table.lookup(serverName);
        for (Loaded l : s.loaded) {
            if (l.context == ctx) {
                return l.material.leaf();
            }
        }
        throw new IllegalStateException("no certificate for context");
    }

    /**
     * Reads every certificate, key and trust file again and, when all of them are valid, makes the
     * new ones current: new handshakes use them, open connections go on with the old ones.
     *
     * @throws IllegalArgumentException when something is invalid; the current certificates stay
     */
    public synchronized void reload() {
        if (watcher != null) {
            watcher.reset();
        }
        this.current = load();
        warnIfNotValid(current, "reloaded");
        this.lastLoadedMillis = clock.currentTimeMillis();
    }

    /**
     * Reloads when a watched file changed since the last look (needs {@link Builder#watchFiles});
     * returns whether new certificates are now current. A failed reload is logged, keeps the
     * current certificates, and is tried again when the files change again.
     *
     * @return whether new certificates are now current
     */
    public synchronized boolean reloadIfChanged() {
        if (watcher == null || !watcher.changed()) {
            return false;
        }
        try {
            this.current = load();
            this.lastLoadedMillis = clock.currentTimeMillis();
            warnIfNotValid(current, "reloaded");
            log.info("TLS certificates reloaded from {}", watcher.files());
            return true;
        } catch (IllegalArgumentException e) {
            log.warn("TLS certificate reload failed, keeping the current certificates: {}", e.getMessage());
            return false;
        }
    }

    /** Stops watching the files; handlers already made keep working. */
    @Override
    public void close() {
        if (watchTask != null) {
            watchTask.cancel(false);
        }
    }

    private void watchTick() {
        try {
            reloadIfChanged();
        } catch (RuntimeException e) {
            log.warn("TLS certificate watch failed", e);
        }
    }

    private List<Path> files() {
        List<Path> files = new ArrayList<>();
        for (Entry e : entries) {
            files.addAll(e.certificate.files());
        }
        if (clientTrust != null) {
            clientTrust.addFiles(files);
        }
        return files;
    }

    private static final class Loaded {
        final KeyMaterial.Loaded material;
        final SslContext context;

        Loaded(KeyMaterial.Loaded material, SslContext context) {
            this.material = material;
            this.context = context;
        }
    }

    private static final class Snapshot {
        final SniTable<SslContext> table;
        final List<Loaded> loaded;

        Snapshot(SniTable<SslContext> table, List<Loaded> loaded) {
            this.table = table;
            this.loaded = loaded;
        }
    }

    private Snapshot load() {
        X509Certificate[] anchors = clientAuth == ClientAuth.NONE ? null : clientTrust.load("clientTrust");
        List<Loaded> loaded = new ArrayList<>(entries.size());
        for (Entry e : entries) {
            KeyMaterial.Loaded m = e.certificate.load();
            loaded.add(new Loaded(m, context(e, m, anchors)));
        }
        SniTable.Builder<SslContext> t = SniTable.builder(loaded.get(0).context);
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            List<String> names = e.serverNames != null ? e.serverNames : KeyMaterial.dnsNames(loaded.get(i).material.leaf());
            boolean served = i == 0;
            for (String n : names) {
                served |= t.add("serverNames", n, loaded.get(i).context);
            }
            if (!served) {
                // a name has one certificate, the first added: this one would never be presented
                throw new IllegalArgumentException("certificate: " + e.certificate.source() + " (serves no name: "
                        + (names.isEmpty() ? "it has no DNS name" : String.join(", ", names)
                                + (names.size() == 1 ? " is" : " are") + " served by a certificate added before it")
                        + "; expected: a name of its own, as a name has one certificate, the first added,"
                        + " whatever the client's signature algorithms)");
            }
        }
        return new Snapshot(t.build(), List.copyOf(loaded));
    }

    /**
     * Warns about a certificate that is expired or not valid yet: it is served all the same, as
     * HAProxy, nginx and Envoy serve one. Refusing it would stop a proxy (or keep a reload's other
     * renewals out) for one certificate of many, and a certificate issued a moment ago on a host whose
     * clock is behind is not valid yet there.
     */
    private void warnIfNotValid(Snapshot s, String how) {
        long now = clock.currentTimeMillis();
        for (int i = 0; i < entries.size(); i++) {
            String problem = KeyMaterial.validityProblem(s.loaded.get(i).material.leaf(), now);
            if (problem != null) {
                log.warn("TLS certificate {} from {}: {}", how, entries.get(i).certificate.source(), problem);
            }
        }
    }

    private SslContext context(Entry e, KeyMaterial.Loaded m, X509Certificate[] anchors) {
        SslContextBuilder b = SslContextBuilder.forServer(m.key(), m.chain());
        options.apply(b, provider);
        switch (clientAuth) {
            case OPTIONAL:
                b.clientAuth(io.netty.handler.ssl.ClientAuth.OPTIONAL).trustManager(anchors);
                break;
            case REQUIRED:
                b.clientAuth(io.netty.handler.ssl.ClientAuth.REQUIRE).trustManager(anchors);
                break;
            default:
                b.clientAuth(io.netty.handler.ssl.ClientAuth.NONE);
                break;
        }
        SslContext ctx;
        try {
            ctx = b.build();
        } catch (SSLException | RuntimeException ex) {
            throw new IllegalArgumentException("certificate: " + e.certificate + " (cannot build a TLS context: "
                    + ex.getMessage() + ")", ex);
        }
        if (ctx.sessionContext() instanceof OpenSslSessionContext) {
            // a key per context: a ticket resumes only under the certificate (and load) that issued it
            byte[] name = new byte[16];
            byte[] hmac = new byte[16];
            byte[] aes = new byte[16];
            random.nextBytes(name);
            random.nextBytes(hmac);
            random.nextBytes(aes);
            ((OpenSslSessionContext) ctx.sessionContext()).setTicketKeys(new OpenSslSessionTicketKey(name, hmac, aes));
        }
        return ctx;
    }

    private static final class Entry {
        final TlsCertificate certificate;
        final List<String> serverNames;

        Entry(TlsCertificate certificate, List<String> serverNames) {
            this.certificate = certificate;
            this.serverNames = serverNames;
        }
    }

    /** Collects the settings of a {@link ServerTls}; setters check their argument, {@link #build()} the whole. */
    public static final class Builder {
        private final List<Entry> entries = new ArrayList<>();
        private final TlsOptions options = new TlsOptions();
        private ClientAuth clientAuth = ClientAuth.NONE;
        private Trust clientTrust;
        private Clock clock = Clock.system();
        private Duration watchInterval;
        private ScheduledExecutorService watchScheduler;

        Builder() {
        }

        /**
         * Adds a certificate serving the DNS names it carries; the first one added is the default.
         *
         * @param certificate the certificate and key
         * @return this builder
         */
        public Builder certificate(TlsCertificate certificate) {
            entries.add(new Entry(Objects.requireNonNull(certificate, "certificate"), null));
            return this;
        }

        /**
         * Adds a certificate serving exactly {@code serverNames} ({@code shop.example},
         * {@code *.shop.example}); the first one added is the default.
         *
         * @param certificate the certificate and key
         * @param serverNames the host names or {@code *.domain} patterns it serves
         * @return this builder
         */
        public Builder certificate(TlsCertificate certificate, String... serverNames) {
            Objects.requireNonNull(serverNames, "serverNames");
            List<String> names = new ArrayList<>();
            for (String n : serverNames) {
                if (n == null || n.isBlank()) {
                    throw new IllegalArgumentException("serverNames: '" + n + "' (expected: a host name or *.domain)");
                }
                SniTable.<Object>builder(null).add("serverNames", n, "");
                names.add(n);
            }
            entries.add(new Entry(Objects.requireNonNull(certificate, "certificate"), List.copyOf(names)));
            return this;
        }

        /**
         * The ALPN protocols to agree on, in preference order, e.g. {@code "h2", "http/1.1"}.
         *
         * @param protocols ALPN protocol ids, in preference order
         * @return this builder
         */
        public Builder alpn(String... protocols) {
            options.alpn = TlsOptions.checkAlpn(protocols);
            return this;
        }

        /**
         * The TLS versions allowed: {@code TLSv1.3}, {@code TLSv1.2}, {@code TLSv1.1}, {@code TLSv1}.
         *
         * @param protocols TLS protocol versions
         * @return this builder
         */
        public Builder protocols(String... protocols) {
            options.protocols = TlsOptions.checkProtocols(protocols);
            return this;
        }

        /**
         * The cipher suites allowed (standard names); checked against the provider at build time.
         *
         * @param ciphers cipher suites
         * @return this builder
         */
        public Builder ciphers(String... ciphers) {
            options.ciphers = TlsOptions.checkCiphers(ciphers);
            return this;
        }

        /**
         * The TLS implementation; {@link TlsProvider#AUTO} by default.
         *
         * @param provider the provider
         * @return this builder
         */
        public Builder provider(TlsProvider provider) {
            options.provider = Objects.requireNonNull(provider, "provider");
            return this;
        }

        /**
         * How long a client has to complete its handshake, from accept (the wait for its ClientHello
         * included); 10 seconds by default.
         *
         * @param timeout the handshake timeout
         * @return this builder
         * @throws IllegalArgumentException when null, zero, negative or longer than 36,500 days
         */
        public Builder handshakeTimeout(Duration timeout) {
            options.handshakeTimeout = TlsOptions.checkTimeout("handshakeTimeout", timeout);
            return this;
        }

        /**
         * Asks for client certificates signed by one of the CA certificates in this PEM file.
         *
         * @param mode whether a client certificate is asked for or required
         * @param trustedCaPem a PEM file of the CA certificates client certificates are verified against
         * @return this builder
         */
        public Builder clientAuth(ClientAuth mode, Path trustedCaPem) {
            this.clientAuth = Objects.requireNonNull(mode, "clientAuth");
            this.clientTrust = Trust.file("clientTrust", trustedCaPem);
            return this;
        }

        /**
         * Asks for client certificates signed by one of these CA certificates.
         *
         * @param mode whether a client certificate is asked for or required
         * @param trustedCas the CA certificates client certificates are verified against
         * @return this builder
         */
        public Builder clientAuth(ClientAuth mode, List<X509Certificate> trustedCas) {
            this.clientAuth = Objects.requireNonNull(mode, "clientAuth");
            this.clientTrust = Trust.certificates("clientTrust", trustedCas);
            return this;
        }

        /**
         * The clock that stamps loads and that the certificates' validity periods are checked against
         * (for a warning); {@link Clock#system()} by default.
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Looks at the certificate, key and trust files every {@code interval} on {@code scheduler} and
         * reloads them when they changed (see {@link ServerTls#reloadIfChanged()}); {@link ServerTls#close()}
         * stops it.
         *
         * @param interval how often to look at the files
         * @param scheduler the scheduler that runs the look
         * @return this builder
         * @throws IllegalArgumentException when {@code interval} is null, zero, negative or longer than
         *     36,500 days
         */
        public Builder watchFiles(Duration interval, ScheduledExecutorService scheduler) {
            this.watchInterval = TlsOptions.checkTimeout("watchFiles interval", interval);
            this.watchScheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Reads and checks every file and returns the TLS configuration.
         *
         * @return the server TLS configuration
         * @throws IllegalArgumentException naming the field and value of the first problem found
         */
        public ServerTls build() {
            if (entries.isEmpty()) {
                throw new IllegalArgumentException("certificate: none (expected: at least one certificate)");
            }
            if (clientAuth != ClientAuth.NONE && clientTrust == null) {
                throw new IllegalArgumentException("clientAuth: " + clientAuth + " (expected: trusted CA certificates)");
            }
            return new ServerTls(this);
        }
    }
}
