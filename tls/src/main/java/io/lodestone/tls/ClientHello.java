package io.lodestone.tls;

import io.lodestone.tls.internal.ClientHelloPeekHandler;
import io.netty.channel.ChannelHandler;
import java.util.List;
import java.util.Objects;

/**
 * What a TLS client asked for in its ClientHello, read without terminating TLS: the server name
 * (SNI) and the ALPN protocols. The basis of TLS passthrough routing.
 *
 * <pre>{@code
 * // L4 passthrough: peek, route on the event, relay the untouched bytes
 * channel.pipeline().addLast("peek", ClientHello.newPeekHandler());
 * channel.pipeline().addLast("route", new ChannelInboundHandlerAdapter() {
 *     public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
 *         if (evt instanceof ClientHelloEvent) {
 *             ClientHelloEvent e = (ClientHelloEvent) evt;
 *             String sni = e.isSuccess() ? e.clientHello().serverName() : null;
 *             // pick a backend by sni; the ClientHello bytes follow as channelRead(ByteBuf)
 *         }
 *     }
 * });
 * }</pre>
 */
public final class ClientHello {

    /** The most bytes the peek handler buffers by default while waiting for a whole ClientHello. */
    public static final int DEFAULT_MAX_BYTES = 32 * 1024;

    private final String serverName;
    private final List<String> applicationProtocols;

    private ClientHello(String serverName, List<String> applicationProtocols) {
        this.serverName = serverName;
        this.applicationProtocols = applicationProtocols;
    }

    /**
     * A ClientHello with this server name ({@code null}: none) and these ALPN protocols.
     *
     * @param serverName the SNI name, or {@code null}
     * @param applicationProtocols the ALPN protocols offered
     * @return a ClientHello with this server name ({@code null}: none) and these ALPN protocols
     */
    public static ClientHello of(String serverName, List<String> applicationProtocols) {
        return new ClientHello(serverName, List.copyOf(Objects.requireNonNull(applicationProtocols, "applicationProtocols")));
    }

    /**
     * Returns a handler that buffers a new connection's first bytes until they hold a whole
     * ClientHello (which may span several reads and several TLS records), fires a
     * {@link ClientHelloEvent} through the pipeline, then removes itself, passing every byte on
     * untouched as {@code channelRead}. When the bytes are not a ClientHello, grow beyond
     * {@link #DEFAULT_MAX_BYTES}, or the connection ends first, the event is a failure and the bytes
     * still follow. Asks for reads itself when auto-read is off.
     *
     * @return a handler that buffers a new connection's first bytes until they hold a whole ClientHello
     *     (which may span several reads and several TLS records), fires a {@link ClientHelloEvent} through
     *     the pipeline, then removes itself, passing every byte on untouched as {@code channelRead}
     */
    public static ChannelHandler newPeekHandler() {
        return new ClientHelloPeekHandler(DEFAULT_MAX_BYTES);
    }

    /**
     * {@link #newPeekHandler()} buffering at most {@code maxBytes} (at least 512).
     *
     * @param maxBytes the most bytes buffered, at least 512
     * @return the handler
     */
    public static ChannelHandler newPeekHandler(int maxBytes) {
        if (maxBytes < 512) {
            throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected: >= 512)");
        }
        return new ClientHelloPeekHandler(maxBytes);
    }

    /** {@return the host name the client sent in SNI, lower case, or {@code null} when it sent none} */
    public String serverName() {
        return serverName;
    }

    /** {@return the ALPN protocols the client offered, in its order; empty when it sent no ALPN} */
    public List<String> applicationProtocols() {
        return applicationProtocols;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof ClientHello)) {
            return false;
        }
        ClientHello h = (ClientHello) o;
        return Objects.equals(serverName, h.serverName) && applicationProtocols.equals(h.applicationProtocols);
    }

    @Override
    public int hashCode() {
        return Objects.hash(serverName, applicationProtocols);
    }

    @Override
    public String toString() {
        return "ClientHello{sni=" + serverName + ", alpn=" + applicationProtocols + "}";
    }
}
