package io.lodestone.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lodestone.tls.internal.ClientHelloParser;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.pkitesting.X509Bundle;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The ClientHello parser and peek handler on ClientHello bytes captured from a real JDK client. */
class ClientHelloPeekTest {

    static byte[] helloWithSniAndAlpn;
    static byte[] helloWithoutExtensions;

    @BeforeAll
    static void capture() throws Exception {
        X509Bundle ca = Pki.ca("Peek CA");
        SSLContext ctx = JdkClient.context(ca, null);
        helloWithSniAndAlpn = captureClientHello(ctx, "Backend.Example.com", "h2", "http/1.1");
        helloWithoutExtensions = captureClientHello(ctx, null);
    }

    /** Lets a JDK client start a handshake against a plain socket and keeps the first TLS record(s) it sends. */
    private static byte[] captureClientHello(SSLContext ctx, String sni, String... alpn) throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> client = CompletableFuture.runAsync(() -> {
                try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", server.getLocalPort())) {
                    s.setSoTimeout(10_000);
                    SSLParameters p = s.getSSLParameters();
                    if (sni != null) {
                        p.setServerNames(List.of(new SNIHostName(sni)));
                    }
                    if (alpn.length > 0) {
                        p.setApplicationProtocols(alpn);
                    }
                    s.setSSLParameters(p);
                    s.startHandshake();
                } catch (Exception expected) {
                    // the capturing server hangs up after the ClientHello
                }
            });
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            try (Socket s = server.accept()) {
                s.setSoTimeout(10_000);
                DataInputStream in = new DataInputStream(s.getInputStream());
                int handshakeBytes = 0;
                int needed = Integer.MAX_VALUE;
                while (handshakeBytes < needed) {
                    byte[] header = in.readNBytes(5);
                    assertThat(header).hasSize(5);
                    assertThat(header[0]).as("record type").isEqualTo((byte) 22);
                    int length = ((header[3] & 0xff) << 8) | (header[4] & 0xff);
                    byte[] body = in.readNBytes(length);
                    captured.writeBytes(header);
                    captured.writeBytes(body);
                    if (handshakeBytes == 0) {
                        needed = 4 + (((body[1] & 0xff) << 16) | ((body[2] & 0xff) << 8) | (body[3] & 0xff));
                    }
                    handshakeBytes += length;
                }
            }
            client.get(10, TimeUnit.SECONDS);
            return captured.toByteArray();
        }
    }

    @Test
    void parsesServerNameAndAlpnWithoutConsuming() throws Exception {
        ByteBuf buf = Unpooled.wrappedBuffer(helloWithSniAndAlpn);
        try {
            ClientHello hello = ClientHelloParser.parse(buf, ClientHello.DEFAULT_MAX_BYTES);
            assertThat(hello.serverName()).isEqualTo("backend.example.com");
            assertThat(hello.applicationProtocols()).containsExactly("h2", "http/1.1");
            assertThat(buf.readerIndex()).isZero();
            assertThat(buf.readableBytes()).isEqualTo(helloWithSniAndAlpn.length);
        } finally {
            buf.release();
        }
    }

    @Test
    void helloWithoutSniOrAlpnHasNeither() throws Exception {
        ByteBuf buf = Unpooled.wrappedBuffer(helloWithoutExtensions);
        try {
            ClientHello hello = ClientHelloParser.parse(buf, ClientHello.DEFAULT_MAX_BYTES);
            assertThat(hello.serverName()).isNull();
            assertThat(hello.applicationProtocols()).isEmpty();
        } finally {
            buf.release();
        }
    }

    @Test
    void everyPrefixNeedsMoreBytes() throws Exception {
        for (int i = 0; i < helloWithSniAndAlpn.length; i++) {
            ByteBuf buf = Unpooled.wrappedBuffer(helloWithSniAndAlpn, 0, i);
            try {
                assertThat(ClientHelloParser.parse(buf, ClientHello.DEFAULT_MAX_BYTES)).as("prefix of %d bytes", i).isNull();
            } finally {
                buf.release();
            }
        }
    }

    @Test
    void peekHandlerSplitAtEveryByteBoundaryFiresOnceAndPassesBytesUntouched() {
        assertSplitsEverywhere(helloWithSniAndAlpn);
    }

    @Test
    void helloSpreadOverManySmallRecordsIsReassembled() throws Exception {
        byte[] reframed = reframe(helloWithSniAndAlpn, 61);
        assertThat(reframed.length).isGreaterThan(helloWithSniAndAlpn.length);
        ByteBuf buf = Unpooled.wrappedBuffer(reframed);
        try {
            ClientHello hello = ClientHelloParser.parse(buf, ClientHello.DEFAULT_MAX_BYTES);
            assertThat(hello).isEqualTo(ClientHello.of("backend.example.com", List.of("h2", "http/1.1")));
        } finally {
            buf.release();
        }
        assertSplitsEverywhere(reframed);
    }

    private static void assertSplitsEverywhere(byte[] bytes) {
        for (int split = 1; split < bytes.length; split++) {
            Recorder recorder = new Recorder();
            EmbeddedChannel ch = new EmbeddedChannel(ClientHello.newPeekHandler(), recorder);
            ch.writeInbound(Unpooled.wrappedBuffer(bytes, 0, split));
            assertThat(recorder.events).as("split at %d, first part only", split).isEmpty();
            assertThat(recorder.bytes.size()).isZero();
            ch.writeInbound(Unpooled.wrappedBuffer(bytes, split, bytes.length - split));
            assertThat(recorder.events).as("split at %d", split).hasSize(1);
            ClientHelloEvent e = recorder.events.get(0);
            assertThat(e.isSuccess()).as("split at %d: %s", split, e).isTrue();
            assertThat(e.clientHello().serverName()).isEqualTo("backend.example.com");
            assertThat(recorder.eventBeforeBytes).isTrue();
            assertThat(recorder.bytes.toByteArray()).isEqualTo(bytes);
            assertThat(ch.pipeline().get(io.lodestone.tls.internal.ClientHelloPeekHandler.class)).isNull();
            assertThat(ch.finishAndReleaseAll()).isFalse();
        }
    }

    @Test
    void bytesAfterTheHelloFollowInOrder() {
        byte[] more = Arrays.copyOf(helloWithSniAndAlpn, helloWithSniAndAlpn.length + 7);
        System.arraycopy(new byte[] {21, 3, 3, 0, 2, 1, 0}, 0, more, helloWithSniAndAlpn.length, 7);
        Recorder recorder = new Recorder();
        EmbeddedChannel ch = new EmbeddedChannel(ClientHello.newPeekHandler(), recorder);
        ch.writeInbound(Unpooled.wrappedBuffer(more));
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {9, 9}));
        assertThat(recorder.events).hasSize(1);
        byte[] expected = Arrays.copyOf(more, more.length + 2);
        expected[more.length] = 9;
        expected[more.length + 1] = 9;
        assertThat(recorder.bytes.toByteArray()).isEqualTo(expected);
        ch.finishAndReleaseAll();
    }

    @Test
    void garbageIsRefusedAndPassedOnUntouched() {
        byte[] http = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        Recorder recorder = new Recorder();
        EmbeddedChannel ch = new EmbeddedChannel(ClientHello.newPeekHandler(), recorder);
        ch.writeInbound(Unpooled.wrappedBuffer(http));
        assertThat(recorder.events).hasSize(1);
        assertThat(recorder.events.get(0).isSuccess()).isFalse();
        assertThat(recorder.events.get(0).cause()).hasMessageContaining("not a TLS handshake");
        assertThat(recorder.bytes.toByteArray()).isEqualTo(http);
        ch.finishAndReleaseAll();
    }

    @Test
    void malformedHellosAreRefused() {
        assertRefused(new byte[] {22, 3, 1, 0, 5, 2, 0, 0, 1, 0}, "not a ClientHello");
        assertRefused(new byte[] {22, 3, 1, 0, 0}, "bad TLS record length");
        assertRefused(new byte[] {22, 9, 1, 0, 5}, "record version");
        assertRefused(new byte[] {22, 3, 1, 0, 4, 1, (byte) 0xff, (byte) 0xff, (byte) 0xff}, "exceeds the bound");
        // a hello whose body claims more cipher suites than it holds
        assertRefused(new byte[] {22, 3, 1, 0, 42, 1, 0, 0, 38, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, 0, 0}, "truncated");
        // the second record of a split hello is not a handshake record
        byte[] reframed = reframe(helloWithSniAndAlpn, 100);
        reframed[105] = 23;
        assertRefused(reframed, "unexpected TLS record type 23");
    }

    private static void assertRefused(byte[] bytes, String why) {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        try {
            assertThatThrownBy(() -> ClientHelloParser.parse(buf, ClientHello.DEFAULT_MAX_BYTES))
                    .isInstanceOf(ClientHelloParser.NotAClientHelloException.class)
                    .hasMessageContaining(why);
            assertThat(buf.readerIndex()).isZero();
        } finally {
            buf.release();
        }
    }

    @Test
    void buffersNoMoreThanTheBound() {
        // records of 1 byte each: the whole hello would need ~6x its size, more than the bound
        byte[] tiny = reframe(helloWithSniAndAlpn, 1);
        Recorder recorder = new Recorder();
        EmbeddedChannel ch = new EmbeddedChannel(ClientHello.newPeekHandler(1024), recorder);
        for (int i = 0; i < tiny.length && recorder.events.isEmpty(); i += 100) {
            ch.writeInbound(Unpooled.wrappedBuffer(tiny, i, Math.min(100, tiny.length - i)));
        }
        assertThat(recorder.events).hasSize(1);
        assertThat(recorder.events.get(0).cause()).hasMessageContaining("within 1024 bytes");
        assertThat(recorder.bytes.size()).isBetween(1024, 1124);
        ch.finishAndReleaseAll();
    }

    @Test
    void connectionEndingBeforeTheHelloIsCompleteIsAFailure() {
        Recorder recorder = new Recorder();
        EmbeddedChannel ch = new EmbeddedChannel(ClientHello.newPeekHandler(), recorder);
        ch.writeInbound(Unpooled.wrappedBuffer(helloWithSniAndAlpn, 0, 40));
        assertThat(recorder.events).isEmpty();
        ch.finishAndReleaseAll();
        assertThat(recorder.events).hasSize(1);
        assertThat(recorder.events.get(0).cause()).hasMessageContaining("input ended");
    }

    @Test
    void boundBelowMinimumIsRefused() {
        assertThatThrownBy(() -> ClientHello.newPeekHandler(100))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxBytes: 100 (expected: >= 512)");
    }

    /** Re-frames the handshake message of {@code records} into records of at most {@code size} bytes. */
    private static byte[] reframe(byte[] records, int size) {
        ByteArrayOutputStream message = new ByteArrayOutputStream();
        int p = 0;
        while (p < records.length) {
            int len = ((records[p + 3] & 0xff) << 8) | (records[p + 4] & 0xff);
            message.write(records, p + 5, len);
            p += 5 + len;
        }
        byte[] m = message.toByteArray();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < m.length; i += size) {
            int n = Math.min(size, m.length - i);
            out.writeBytes(new byte[] {22, 3, 1, (byte) (n >> 8), (byte) n});
            out.write(m, i, n);
        }
        return out.toByteArray();
    }

    /** Records the events and bytes reaching the next handler. */
    private static final class Recorder extends ChannelInboundHandlerAdapter {
        final List<ClientHelloEvent> events = new ArrayList<>();
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        boolean eventBeforeBytes;

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ClientHelloEvent) {
                events.add((ClientHelloEvent) evt);
                eventBeforeBytes = bytes.size() == 0;
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            try {
                byte[] copy = new byte[b.readableBytes()];
                b.readBytes(copy);
                bytes.writeBytes(copy);
            } finally {
                b.release();
            }
        }
    }

}
