package io.lodestone.core.internal;

import io.netty.channel.Channel;
import io.netty.util.Attribute;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;

/**
 * The one place both engines read a client connection's addresses from: the client's address and the
 * address it connected to, as the PROXY protocol header of a frontend that accepts it gave them
 * ({@link ProxyHeaderReader}), or else the socket's own. ACLs on the source, source hashing and
 * stickiness, per-source limits, rate limits keyed by source, the forwarded headers, the access log
 * and the PROXY header sent on to servers all read them here.
 *
 * <p>Read once per connection (an HTTP/2 connection's streams share what their connection read): a
 * channel without the attribute costs a look into its empty attribute table.
 */
public final class ClientAddresses {

    /** Set by {@link ProxyHeaderReader} when a header carried addresses; never set otherwise. */
    static final AttributeKey<ClientAddresses> PROXIED = AttributeKey.valueOf(ClientAddresses.class, "proxied");

    private final InetSocketAddress source;
    private final InetSocketAddress destination;

    ClientAddresses(InetSocketAddress source, InetSocketAddress destination) {
        this.source = source;
        this.destination = destination;
    }

    /**
     * The client's address of connection {@code ch}: the PROXY header's source when one carried
     * addresses, else the socket's remote address ({@code null} when it has no IP address).
     */
    public static InetSocketAddress remote(Channel ch) {
        ClientAddresses proxied = proxied(ch);
        return proxied != null ? proxied.source : ch.remoteAddress() instanceof InetSocketAddress inet ? inet : null;
    }

    /**
     * The address the client connected to on connection {@code ch}: the PROXY header's destination
     * when one carried addresses, else the socket's local address ({@code null} when it has no IP address).
     */
    public static InetSocketAddress local(Channel ch) {
        ClientAddresses proxied = proxied(ch);
        return proxied != null ? proxied.destination : ch.localAddress() instanceof InetSocketAddress inet ? inet : null;
    }

    /** Whether the addresses of {@code ch} came from a PROXY header. */
    public static boolean isProxied(Channel ch) {
        return proxied(ch) != null;
    }

    private static ClientAddresses proxied(Channel ch) {
        if (!ch.hasAttr(PROXIED)) {
            return null;
        }
        Attribute<ClientAddresses> a = ch.attr(PROXIED);
        return a.get();
    }

    @Override
    public String toString() {
        return source + " -> " + destination;
    }
}
