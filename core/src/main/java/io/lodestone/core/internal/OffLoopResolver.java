package io.lodestone.core.internal;

import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.InetNameResolver;
import io.netty.resolver.InetSocketAddressResolver;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Resolves the host names of servers with the system resolver (the JDK's {@link InetAddress}, so
 * {@code /etc/hosts}, the search domains and the JDK's cache of 30 s behave as everywhere else in the
 * JVM), but on threads of its own, never on an event loop. Netty's default resolver looks a name up
 * on the loop that connects: a lookup that waits on a slow or unreachable DNS server (5 s per try
 * with the usual {@code resolv.conf}) then stops every connection of that loop, not only the one
 * being made. Here only the connections to that server wait; the result comes back to the
 * connecting loop as a completed promise.
 *
 * <p>The lookups run on at most {@value #THREADS} daemon threads ({@code lodestone-resolver-N}),
 * shared by every proxy in the JVM and ended after a minute without work. A lookup is needed only
 * when the JDK's cache has no answer (every 30 s per name by default), so a few threads are plenty;
 * further lookups queue.
 */
public final class OffLoopResolver extends AddressResolverGroup<InetSocketAddress> {

    /** Lookups at once; more wait for a thread. */
    static final int THREADS = 4;

    /** The resolver every bootstrap of the engines and health checks uses. */
    public static final OffLoopResolver INSTANCE = new OffLoopResolver(InetAddress::getAllByName, newLookupThreads());

    /** A blocking lookup of all addresses of a name, as {@link InetAddress#getAllByName}. */
    @FunctionalInterface
    interface Lookup {
        InetAddress[] addresses(String host) throws UnknownHostException;
    }

    private final Lookup lookup;
    private final Executor lookups;

    OffLoopResolver(Lookup lookup, Executor lookups) {
        this.lookup = lookup;
        this.lookups = lookups;
    }

    private static Executor newLookupThreads() {
        AtomicInteger count = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(THREADS, THREADS, 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), task -> {
                    Thread t = new Thread(task, "lodestone-resolver-" + count.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    @Override
    protected AddressResolver<InetSocketAddress> newResolver(EventExecutor executor) {
        return new InetSocketAddressResolver(executor, new Names(executor));
    }

    /** Looks names up for one event loop; its promises notify their listeners on that loop. */
    private final class Names extends InetNameResolver {

        Names(EventExecutor executor) {
            super(executor);
        }

        @Override
        protected void doResolve(String host, Promise<InetAddress> promise) {
            lookups.execute(() -> {
                try {
                    promise.trySuccess(lookup.addresses(host)[0]);
                } catch (Throwable t) {
                    promise.tryFailure(t);
                }
            });
        }

        @Override
        protected void doResolveAll(String host, Promise<List<InetAddress>> promise) {
            lookups.execute(() -> {
                try {
                    promise.trySuccess(Arrays.asList(lookup.addresses(host)));
                } catch (Throwable t) {
                    promise.tryFailure(t);
                }
            });
        }
    }
}
