package io.lodestone.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.Clock;
import io.lodestone.core.metrics.ErrorKind;
import io.lodestone.core.metrics.internal.FrontendMetrics;
import io.lodestone.core.metrics.internal.MetricsRegistry;
import io.lodestone.core.testing.ProxyHeaders;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The PROXY header reader in memory: what it sets on the channel, what the engine's handlers get
 * after it, and what it closes, with every buffer released (the leak detector runs at paranoid level).
 */
class ProxyHeaderReaderTest {

    private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final FrontendMetrics metrics = new MetricsRegistry(Clock.system(), List.of()).frontend("pp");
    /** The channels the engine's handlers were added to. */
    private final List<Channel> served = new ArrayList<>();
    /** What the engine's handler read after the header. */
    private final StringBuilder after = new StringBuilder();
    private int activations;
    private EmbeddedChannel ch;

    @AfterEach
    void finish() {
        if (ch != null) {
            ch.finishAndReleaseAll();
        }
    }

    /**
     * A channel that waits for its header, the engine adding a handler that records what follows it.
     * The channel is active before the reader is added, on a frozen clock, and is told it started.
     */
    private EmbeddedChannel channel(SourceLimits limits) {
        ch = started(limits, c -> {
            served.add(c);
            c.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelActive(ChannelHandlerContext ctx) {
                    activations++;
                }

                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ByteBuf buf = (ByteBuf) msg;
                    after.append(buf.toString(StandardCharsets.US_ASCII));
                    buf.release();
                }
            });
        });
        return ch;
    }

    private EmbeddedChannel started(SourceLimits limits, ProxyHeaderReader.Next next) {
        EmbeddedChannel c = new EmbeddedChannel();
        // the timeout follows the channel's ticker alone, not the time the test takes
        c.freezeTime();
        ProxyHeaderReader.install(c, "pp", metrics, TIMEOUT_NANOS, limits, next);
        c.pipeline().fireChannelActive();
        return c;
    }

    private static ByteBuf bytes(byte[] b) {
        return Unpooled.wrappedBuffer(b);
    }

    @Test
    void aVersion1HeaderInTwoPiecesSetsTheAddressesAndHandsOnWhatFollows() {
        EmbeddedChannel c = channel(null);
        byte[] header = ProxyHeaders.v1("192.0.2.10", 40000, "198.51.100.1", 443);
        c.writeInbound(bytes(Arrays.copyOf(header, 7)));
        assertThat(served).isEmpty();
        assertThat(activations).isZero();
        c.writeInbound(bytes(ProxyHeaders.concat(Arrays.copyOfRange(header, 7, header.length), ProxyHeaders.ascii("hello"))));
        assertThat(served).containsExactly(c);
        assertThat(activations).as("the engine's handlers see the connection start").isEqualTo(1);
        assertThat(after).hasToString("hello");
        assertThat(ClientAddresses.isProxied(c)).isTrue();
        assertThat(ClientAddresses.remote(c)).isEqualTo(new InetSocketAddress(address("192.0.2.10"), 40000));
        assertThat(ClientAddresses.local(c)).isEqualTo(new InetSocketAddress(address("198.51.100.1"), 443));
        assertThat(c.pipeline().get(PipelineNames.PROXY_HEADER)).as("the reader left").isNull();
        assertThat(c.pipeline().get(PipelineNames.PROXY_HEADER_DECODER)).as("the decoder left").isNull();
        assertThat(c.pipeline().get(PipelineNames.PROXY_HEADER_LINE_LIMIT)).as("the line limit left").isNull();
        c.writeInbound(bytes(ProxyHeaders.ascii(" again")));
        assertThat(after).hasToString("hello again");
        assertThat(c.isActive()).isTrue();
    }

    @Test
    void aVersion2HeaderWithTlvsIsRead() {
        EmbeddedChannel c = channel(null);
        c.writeInbound(bytes(ProxyHeaders.concat(
                ProxyHeaders.v2("2001:db8::7", 51000, "2001:db8::1", 443, ProxyHeaders.tlv(0x02, "example.com"), ProxyHeaders.tlv(0xE0, "x")),
                ProxyHeaders.ascii("data"))));
        assertThat(ClientAddresses.remote(c)).isEqualTo(new InetSocketAddress(address("2001:db8::7"), 51000));
        assertThat(ClientAddresses.local(c)).isEqualTo(new InetSocketAddress(address("2001:db8::1"), 443));
        assertThat(after).hasToString("data");
    }

    @Test
    void aLocalCommandOrAnUnknownFamilyKeepsTheChannelsAddresses() {
        EmbeddedChannel local = channel(null);
        local.writeInbound(bytes(ProxyHeaders.v2Local()));
        assertThat(served).containsExactly(local);
        assertThat(ClientAddresses.isProxied(local)).isFalse();
        local.finishAndReleaseAll();
        served.clear();
        EmbeddedChannel unknown = channel(null);
        unknown.writeInbound(bytes(ProxyHeaders.v1Unknown()));
        assertThat(served).containsExactly(unknown);
        assertThat(ClientAddresses.isProxied(unknown)).isFalse();
    }

    @Test
    void somethingElseIsClosedAndCountedInvalid() {
        EmbeddedChannel c = channel(null);
        c.writeInbound(bytes(ProxyHeaders.ascii("GET / HTTP/1.1\r\nHost: a\r\n\r\n")));
        assertThat(c.isOpen()).isFalse();
        assertThat(served).isEmpty();
        assertThat(metrics.errors(ErrorKind.INVALID)).isEqualTo(1);
        assertThat(c.outboundMessages()).as("nothing written").isEmpty();
    }

    @Test
    void anIncompleteHeaderIsClosedAtTheTimeout() {
        EmbeddedChannel c = channel(null);
        c.writeInbound(bytes(ProxyHeaders.ascii("PROXY TCP4 192.0.2.1 ")));
        c.advanceTimeBy(TIMEOUT_NANOS - 1, TimeUnit.NANOSECONDS);
        c.runScheduledPendingTasks();
        assertThat(c.isOpen()).isTrue();
        c.advanceTimeBy(1, TimeUnit.NANOSECONDS);
        c.runScheduledPendingTasks();
        assertThat(c.isOpen()).isFalse();
        assertThat(served).isEmpty();
        assertThat(metrics.errors(ErrorKind.TIMEOUT)).isEqualTo(1);
        assertThat(metrics.errors(ErrorKind.INVALID)).isZero();
    }

    @Test
    void perSourceLimitsCountTheHeadersSourceAndGiveItBackAtClose() {
        SourceLimits limits = SourceLimits.of(1, 0, Clock.system());
        EmbeddedChannel first = channel(limits);
        first.writeInbound(bytes(ProxyHeaders.v1("192.0.2.10", 1, "127.0.0.1", 2)));
        assertThat(limits.openConnections(address("192.0.2.10"))).isEqualTo(1);
        EmbeddedChannel second = started(limits, c -> served.add(c));
        second.writeInbound(bytes(ProxyHeaders.v1("192.0.2.10", 3, "127.0.0.1", 2)));
        assertThat(second.isOpen()).isFalse();
        assertThat(served).containsExactly(first);
        assertThat(metrics.refusedConnections()).isEqualTo(1);
        second.finishAndReleaseAll();
        first.close();
        first.runPendingTasks();
        assertThat(limits.openConnections(address("192.0.2.10"))).isZero();
    }

    @Test
    void aPolicyWithTrustedSourcesExpectsAHeaderFromThemOnly() {
        assertThat(ProxyHeaderReader.Policy.of(false, List.of())).isNull();
        ProxyHeaderReader.Policy all = ProxyHeaderReader.Policy.of(true, List.of());
        assertThat(all.expectsHeader(new InetSocketAddress(address("203.0.113.1"), 1))).isTrue();
        ProxyHeaderReader.Policy some = ProxyHeaderReader.Policy.of(true, List.of("10.0.0.0/8", "2001:db8::/32"));
        assertThat(some.expectsHeader(new InetSocketAddress(address("10.1.2.3"), 1))).isTrue();
        assertThat(some.expectsHeader(new InetSocketAddress(address("2001:db8::5"), 1))).isTrue();
        assertThat(some.expectsHeader(new InetSocketAddress(address("127.0.0.1"), 1))).isFalse();
        assertThat(some.expectsHeader(null)).isFalse();
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }
}
