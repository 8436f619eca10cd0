package io.lodestone.l4;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import io.lodestone.core.log.AccessLog;
import io.lodestone.core.testing.Await;
import io.lodestone.core.testing.CapturingLogger;
import io.lodestone.core.testing.ManualClock;
import io.lodestone.core.testing.ManualClockLoop;
import io.lodestone.tls.ServerTls;
import io.lodestone.tls.TlsCertificate;
import io.lodestone.tls.TlsProvider;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.ssl.SslProvider;
import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A TLS-terminating TCP frontend passes a client's {@code close_notify} on to the server as a FIN and
 * keeps relaying what the server answers, over TLS, until the server closes; then it sends its own
 * {@code close_notify} and closes. That takes a TLS stack that may send after a {@code close_notify}:
 * TLS 1.3 on the JDK provider. Elsewhere (Netty's OpenSSL engine, TLS 1.2) the stack answers the
 * {@code close_notify} at once and the proxy ends the session on both sides.
 */
class TcpTlsHalfCloseTest {

    private static final String QUESTION = "what is the answer?";
    private static final String ANSWER = "answer to " + QUESTION;
    private static final String LATER = "and one more thing";

    private static X509Bundle ca;
    private static X509Bundle certificate;
    private static EventLoopGroup clientGroup;

    @BeforeAll
    static void setUp() throws Exception {
        ca = TlsTestSupport.ca();
        certificate = TlsTestSupport.server(ca, "proxy.example");
        clientGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterAll
    static void tearDown() {
        clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** How a client ends its sending. */
    enum Client {
        /** A JDK {@link SSLSocket}: {@code shutdownOutput()} sends {@code close_notify}, then a FIN. */
        SSL_SOCKET,
        /** A Netty client: {@link SslHandler#closeOutbound()} sends {@code close_notify} alone, no FIN. */
        NETTY
    }

    @ParameterizedTest
    @EnumSource(Client.class)
    void onTls13WithTheJdkProviderTheAnswerAfterTheClientsCloseNotifyReachesIt(Client client) throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (AnswerAfterEof server = new AnswerAfterEof(true); ServerTls tls = serverTls(TlsProvider.JDK)) {
            Proxy proxy = proxy(tls, server.address(), AccessLog.text(lines), Duration.ofMinutes(5), null);
            try (proxy) {
                Result result = exchange(client, proxy.port(), "TLSv1.3");
                assertThat(server.request.get(5, TimeUnit.SECONDS)).isEqualTo(QUESTION);
                assertThat(result.answer).isEqualTo(ANSWER);
                if (client == Client.NETTY) {
                    assertThat(result.closeNotify).as("the proxy's close_notify after the answer").isTrue();
                }
                assertThat(lines.await(l -> l.contains(" tls "))).contains(" -- ");
                assertThat(proxy.metrics().frontend("tls").traffic().errors().total()).isZero();
            }
        }
    }

    /**
     * Netty's OpenSSL engine answers a {@code close_notify} with its own and sends nothing after it,
     * as TLS 1.2 requires of every implementation: the server still sees the end of the request, and
     * the session ends on both sides at once, normally.
     */
    @ParameterizedTest
    @CsvSource({"OPENSSL, TLSv1.3, NETTY", "OPENSSL, TLSv1.3, SSL_SOCKET", "JDK, TLSv1.2, NETTY", "OPENSSL, TLSv1.2, NETTY"})
    void whereTheTlsStackAnswersACloseNotifyAtOnceTheSessionEndsOnBothSides(TlsProvider provider, String protocol,
            Client client) throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (AnswerAfterEof server = new AnswerAfterEof(true); ServerTls tls = serverTls(provider)) {
            Proxy proxy = proxy(tls, server.address(), AccessLog.text(lines), Duration.ofMinutes(5), null);
            try (proxy) {
                Result result = exchange(client, proxy.port(), protocol);
                assertThat(server.request.get(5, TimeUnit.SECONDS)).isEqualTo(QUESTION);
                assertThat(result.answer).isEmpty();
                if (client == Client.NETTY) {
                    assertThat(result.closeNotify).isTrue();
                }
                assertThat(lines.await(l -> l.contains(" tls "))).contains(" -- ");
                assertThat(proxy.metrics().frontend("tls").traffic().errors().total()).isZero();
            }
        }
    }

    /**
     * A session half-closed by the client's {@code close_notify} is still bounded by an idle timeout
     * (on the proxy's clock): the server read the request to its end and does not answer. The proxy
     * waits on the server alone, so the server timeout applies (the backend's default, 60 s), not the
     * shorter client timeout, and its expiry is the server's ({@code sD}).
     */
    @Test
    void theServerTimeoutClosesASessionHalfClosedByCloseNotify() throws Exception {
        Duration idle = Duration.ofSeconds(40);
        Duration quarter = Duration.ofSeconds(60).dividedBy(4);
        CapturingLogger lines = new CapturingLogger();
        ManualClock clock = new ManualClock();
        ManualClockLoop loop = new ManualClockLoop(clock);
        try (AnswerAfterEof server = new AnswerAfterEof(false); ServerTls tls = serverTls(TlsProvider.JDK)) {
            Proxy proxy = proxy(tls, server.address(), AccessLog.text(lines), idle, Proxy.builder().clock(clock)
                    .eventLoopGroups(loop.group(), loop.group()));
            try (proxy) {
                NettyClient client = NettyClient.connect(proxy.port(), "TLSv1.3");
                assertThat(server.request.get(5, TimeUnit.SECONDS)).isEqualTo(QUESTION);
                loop.awaitDueTimers();
                // the relay looks for traffic every quarter of the timeout and closes at the fourth quiet
                // look in a row; the request may have come before the relay started, or just after
                for (int i = 0; i < 3; i++) {
                    loop.advance(quarter);
                }
                assertThat(proxy.metrics().frontend("tls").traffic().errors().total()).isZero();
                assertThat(client.channel.isActive()).as("open within the idle timeout").isTrue();
                loop.advance(quarter);
                loop.advance(quarter);
                Result result = client.result.get(5, TimeUnit.SECONDS);
                assertThat(result.answer).isEmpty();
                assertThat(lines.await(l -> l.contains(" tls "))).contains(" sD ");
                Await.until("the timeout error", () -> proxy.metrics().backend("a").server("a1").traffic().errors().timeout() == 1);
                assertThat(proxy.metrics().frontend("tls").traffic().errors().total()).isZero();
            }
        } finally {
            loop.close();
        }
    }

    /**
     * The other way round: the server answers and shuts its output. The client gets the answer, then the
     * proxy's {@code close_notify} and a FIN, not a bare FIN (which a TLS client may take for a
     * truncation); on TLS 1.3 what the client sends after that still reaches the server, with either
     * provider, until the client's own {@code close_notify}. A TLS 1.2 client must answer the
     * {@code close_notify} with its own at once and send nothing more: the session ends there.
     */
    @ParameterizedTest
    @CsvSource({"JDK, TLSv1.3", "OPENSSL, TLSv1.3", "JDK, TLSv1.2", "OPENSSL, TLSv1.2"})
    void aServersHalfCloseReachesTheClientAsCloseNotifyAfterTheAnswer(TlsProvider provider, String protocol)
            throws Exception {
        boolean tls13 = protocol.equals("TLSv1.3");
        CapturingLogger lines = new CapturingLogger();
        try (AnswerThenHalfClose server = new AnswerThenHalfClose(); ServerTls tls = serverTls(provider)) {
            Proxy proxy = proxy(tls, server.address(), AccessLog.text(lines), Duration.ofMinutes(5), null);
            try (proxy) {
                HalfCloseClient client = HalfCloseClient.connect(proxy.port(), protocol);
                try {
                    assertThat(client.closeNotify.get(5, TimeUnit.SECONDS)).as("the answer, then close_notify")
                            .isEqualTo(ANSWER);
                    assertThat(server.afterAnswer.get(5, TimeUnit.SECONDS)).isEqualTo(tls13 ? LATER : "");
                    if (tls13) {
                        Await.until("the FIN after the close_notify", () -> client.finSeen);
                    }
                    assertThat(lines.await(l -> l.contains(" tls "))).contains(" tls a/a1 ").contains(" -- ");
                    assertThat(proxy.metrics().frontend("tls").traffic().errors().total()).isZero();
                } finally {
                    client.channel.close();
                }
            }
        }
    }

    /**
     * The same with a JDK {@link SSLSocket} on TLS 1.3: its read ends normally after the answer, and
     * what it sends after that reaches the server. (By default the JDK also takes a bare FIN for the
     * end of the stream; the Netty client above tells a {@code close_notify} from a FIN.)
     */
    @ParameterizedTest
    @EnumSource(names = {"JDK", "OPENSSL"})
    void anSslSocketOnTls13ReadsTheAnswerToItsEndAndCanGoOnSending(TlsProvider provider) throws Exception {
        CapturingLogger lines = new CapturingLogger();
        try (AnswerThenHalfClose server = new AnswerThenHalfClose(); ServerTls tls = serverTls(provider)) {
            Proxy proxy = proxy(tls, server.address(), AccessLog.text(lines), Duration.ofMinutes(5), null);
            try (proxy; SSLSocket s = TlsTestSupport.connect(TlsTestSupport.clientContext(ca), proxy.port(),
                    "proxy.example", "TLSv1.3")) {
                s.getOutputStream().write(QUESTION.getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo(ANSWER);
                s.getOutputStream().write(LATER.getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput();
                assertThat(server.afterAnswer.get(5, TimeUnit.SECONDS)).isEqualTo(LATER);
                assertThat(lines.await(l -> l.contains(" tls "))).contains(" -- ");
                assertThat(proxy.metrics().frontend("tls").traffic().errors().total()).isZero();
            }
        }
    }

    private static ServerTls serverTls(TlsProvider provider) {
        return ServerTls.builder().provider(provider)
                .certificate(TlsCertificate.of(certificate.getKeyPair().getPrivate(),
                        Arrays.asList(certificate.getCertificatePath())))
                .build();
    }

    private static Proxy proxy(ServerTls tls, String server, AccessLog accessLog, Duration clientTimeout,
            Proxy.Builder builder) {
        Proxy proxy = (builder == null ? Proxy.builder() : builder)
                .accessLog(accessLog)
                .backend(Backend.named("a").server("a1", server))
                .frontend(TcpFrontend.bind("127.0.0.1:0").name("tls").tls(tls).clientTimeout(clientTimeout)
                        .defaultBackend("a"))
                .build();
        proxy.start();
        return proxy;
    }

    private static Result exchange(Client client, int port, String protocol) throws Exception {
        if (client == Client.NETTY) {
            return NettyClient.connect(port, protocol).result.get(10, TimeUnit.SECONDS);
        }
        try (SSLSocket s = TlsTestSupport.connect(TlsTestSupport.clientContext(ca), port, "proxy.example", protocol)) {
            s.getOutputStream().write(QUESTION.getBytes(StandardCharsets.US_ASCII));
            s.shutdownOutput();
            return new Result(new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII), false);
        }
    }

    /** A Netty TLS client connection (JDK provider, {@code protocol} only) to the proxy, {@code client} after its TLS. */
    private static Channel connectTls(int port, String protocol, ChannelHandler client, boolean halfClosure) throws Exception {
        SslContext context = SslContextBuilder.forClient().sslProvider(SslProvider.JDK).protocols(protocol)
                .trustManager(ca.toTrustManagerFactory()).build();
        return new Bootstrap().group(clientGroup).channel(NioSocketChannel.class)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, halfClosure)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(context.newHandler(ch.alloc(), "proxy.example", port), client);
                    }
                })
                .connect("127.0.0.1", port).syncUninterruptibly().channel();
    }

    /** What a client read before the proxy closed, and whether a close_notify came. */
    record Result(String answer, boolean closeNotify) {
    }

    /** A Netty TLS client that sends the question, then close_notify without a FIN, and reads until closed. */
    private static final class NettyClient extends ChannelInboundHandlerAdapter {
        final CompletableFuture<Result> result = new CompletableFuture<>();
        private final StringBuilder answer = new StringBuilder();
        private boolean closeNotify;
        Channel channel;

        static NettyClient connect(int port, String protocol) throws Exception {
            NettyClient client = new NettyClient();
            client.channel = connectTls(port, protocol, client, false);
            return client;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent handshake) {
                if (!handshake.isSuccess()) {
                    result.completeExceptionally(handshake.cause());
                    ctx.close();
                    return;
                }
                ctx.writeAndFlush(Unpooled.copiedBuffer(QUESTION, StandardCharsets.US_ASCII));
                ctx.pipeline().get(SslHandler.class).closeOutbound();
            } else if (evt instanceof SslCloseCompletionEvent close && close.isSuccess()) {
                closeNotify = true;
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            answer.append(buf.toString(StandardCharsets.US_ASCII));
            buf.release();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            result.complete(new Result(answer.toString(), closeNotify));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            result.completeExceptionally(cause);
            ctx.close();
        }
    }

    /**
     * A Netty TLS client that sends the question and completes {@link #closeNotify} with what it read
     * when the proxy's {@code close_notify} comes (exceptionally if the connection ends without one);
     * then it sends {@link #LATER} and its own {@code close_notify}, without a FIN, and notes the
     * proxy's FIN (half-closure allowed).
     */
    private static final class HalfCloseClient extends ChannelInboundHandlerAdapter {
        final CompletableFuture<String> closeNotify = new CompletableFuture<>();
        private final StringBuilder answer = new StringBuilder();
        volatile boolean finSeen;
        Channel channel;

        static HalfCloseClient connect(int port, String protocol) throws Exception {
            HalfCloseClient client = new HalfCloseClient();
            client.channel = connectTls(port, protocol, client, true);
            return client;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent handshake) {
                if (!handshake.isSuccess()) {
                    closeNotify.completeExceptionally(handshake.cause());
                    ctx.close();
                    return;
                }
                ctx.writeAndFlush(Unpooled.copiedBuffer(QUESTION, StandardCharsets.US_ASCII));
            } else if (evt instanceof SslCloseCompletionEvent close && close.isSuccess()) {
                closeNotify.complete(answer.toString());
                // a TLS 1.2 engine has answered with its own close_notify: this write fails, as it must
                ctx.writeAndFlush(Unpooled.copiedBuffer(LATER, StandardCharsets.US_ASCII))
                        .addListener(f -> ctx.pipeline().get(SslHandler.class).closeOutbound());
            } else if (evt instanceof ChannelInputShutdownEvent) {
                finSeen = true;
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            answer.append(buf.toString(StandardCharsets.US_ASCII));
            buf.release();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            closeNotify.completeExceptionally(new IOException("closed without close_notify after " + answer));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            closeNotify.completeExceptionally(cause);
            ctx.close();
        }
    }

    /**
     * A plain server for one connection: reads the question, answers it and shuts its output, then
     * completes {@link #afterAnswer} with what it reads until the proxy's FIN or close.
     */
    private static final class AnswerThenHalfClose implements AutoCloseable {
        final CompletableFuture<String> afterAnswer = new CompletableFuture<>();
        private final ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());

        AnswerThenHalfClose() throws IOException {
            Thread t = new Thread(this::serve, "answer-then-half-close");
            t.setDaemon(true);
            t.start();
        }

        private void serve() {
            try (Socket s = socket.accept()) {
                InputStream in = s.getInputStream();
                String question = new String(in.readNBytes(QUESTION.length()), StandardCharsets.US_ASCII);
                s.getOutputStream().write(("answer to " + question).getBytes(StandardCharsets.US_ASCII));
                s.shutdownOutput();
                afterAnswer.complete(new String(in.readAllBytes(), StandardCharsets.US_ASCII));
            } catch (Exception e) {
                afterAnswer.completeExceptionally(e);
            }
        }

        String address() {
            return "127.0.0.1:" + socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /**
     * A plain server for one connection: reads the request to its end, then writes its answer and
     * closes, or (not answering) holds the connection until closed.
     */
    private static final class AnswerAfterEof implements AutoCloseable {
        final CompletableFuture<String> request = new CompletableFuture<>();
        private final ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        private final CountDownLatch closed = new CountDownLatch(1);

        AnswerAfterEof(boolean answer) throws IOException {
            Thread t = new Thread(() -> serve(answer), "answer-after-eof");
            t.setDaemon(true);
            t.start();
        }

        private void serve(boolean answer) {
            try (Socket s = socket.accept()) {
                InputStream in = s.getInputStream();
                String r = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
                request.complete(r);
                if (answer) {
                    s.getOutputStream().write(("answer to " + r).getBytes(StandardCharsets.US_ASCII));
                } else {
                    closed.await();
                }
            } catch (Exception e) {
                request.completeExceptionally(e);
            }
        }

        String address() {
            return "127.0.0.1:" + socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            closed.countDown();
            socket.close();
        }
    }
}
