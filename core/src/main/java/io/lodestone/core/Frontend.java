package io.lodestone.core;

import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import io.lodestone.core.route.Routing;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;

/**
 * A listener of the proxy: its bind addresses, its mode and its rules. Applications build one with
 * an engine's entry point ({@code TcpFrontend.bind(5432)} in lodestone-l4, {@code HttpFrontend} in
 * lodestone-l7) and hand it to {@link Proxy.Builder#frontend(Frontend)}; the engines implement it.
 */
public interface Frontend {

    /** {@return the frontend's name, unique within a proxy} */
    String name();

    /**
     * {@return every backend the frontend may send traffic to; {@link Proxy.Builder#build()} checks that each
     * exists}
     */
    Set<String> backendNames();

    /**
     * The addresses the frontend binds, as configured (port 0 included). A reconfiguration of the
     * proxy keeps the sockets of a frontend whose new configuration has the same engine and the same
     * bind addresses (or, for an engine whose listener can, some of them). Engines override this.
     *
     * @return the addresses the frontend binds, as configured (port 0 included)
     */
    default List<InetSocketAddress> bindAddresses() {
        return List.of();
    }

    /**
     * Whether the frontend forwards HTTP requests (HAProxy's {@code mode http}) rather than
     * connections ({@code mode tcp}): a backend whose balancing strategy reads the request
     * ({@link io.lodestone.core.balance.HashKey#readsHttp()}) serves only frontends for which this is
     * true, and {@link Proxy.Builder#build()} checks it. The default is false; HTTP engines override it.
     *
     * @return whether the frontend forwards HTTP requests (HAProxy's {@code mode http}) rather than
     *     connections ({@code mode tcp}): a backend whose balancing strategy reads the request ({@link
     *     io.lodestone.core.balance.HashKey#readsHttp()}) serves only frontends for which this is true, and
     *     {@link Proxy.Builder#build()} checks it
     */
    default boolean isHttp() {
        return false;
    }

    /**
     * The frontend's routing rules, or {@code null} when it has none (it only has a default
     * backend). {@link Proxy#route} evaluates them; {@link Proxy.Builder#build()} checks that every
     * backend they name exists. Engines override this.
     *
     * @return the frontend's routing rules, or {@code null} when it has none (it only has a default backend)
     */
    default Routing routing() {
        return null;
    }

    /**
     * Whether the engine removes a request header field of this name from a request before the
     * frontend's rules read it (an {@code HttpFrontend} with {@code headersWithUnderscores(DROP_HEADER)}
     * removes every name with an underscore). {@link Proxy#route} reads the request without such
     * fields, as the rules read it on the wire. The default is false; HTTP engines override it.
     *
     * @param name a header field's name, in any case
     * @return whether the engine removes such a field before the rules
     */
    default boolean removesRequestHeader(String name) {
        return false;
    }

    /**
     * Whether the engine answers a request that has a header field of this name 400 before the
     * frontend's rules read it (an {@code HttpFrontend} with {@code headersWithUnderscores(REJECT_REQUEST)}
     * refuses every name with an underscore). {@link Proxy#route} decides such a
     * {@link io.lodestone.core.route.TestRequest} as that 400. The default is false; HTTP engines
     * override it.
     *
     * @param name a header field's name, in any case
     * @return whether the engine refuses a request with such a field before the rules
     */
    default boolean refusesRequestHeader(String name) {
        return false;
    }

    /**
     * Binds the frontend's sockets and starts serving. Called by {@link Proxy#start()}; for engine
     * implementations only.
     *
     * @param context the proxy's runtime for engines
     * @return the running listener
     * @throws Exception when a socket cannot be bound
     */
    Listener start(EngineContext context) throws Exception;

    /**
     * Takes over {@code running}, the listener of this frontend's previous configuration (same engine,
     * same bind addresses), in a {@linkplain Proxy#reconfigure reconfiguration} of the proxy: keeps
     * its sockets and open connections and applies this configuration from now on; {@code false} when
     * it cannot, and the proxy then retires that listener and binds this frontend afresh. By default
     * the listener takes this frontend itself. For engine implementations only.
     *
     * @param running the listener of the previous configuration
     * @param context the proxy's runtime for engines
     * @return whether it took {@code running} over
     */
    default boolean reconfigure(Listener running, EngineContext context) {
        return running.reconfigure(this, context);
    }

    /** Something that builds a frontend, so that builders can be passed without calling build(). */
    @FunctionalInterface
    interface Builder {
        /** {@return the immutable frontend} */
        Frontend build();
    }
}
