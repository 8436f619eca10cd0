package io.lodestone.core.internal;

import io.lodestone.core.Backend;
import io.lodestone.core.Clock;
import io.lodestone.core.ProxyProtocol;
import io.lodestone.core.Server;
import io.lodestone.core.ServerState;
import io.lodestone.core.StickyCookie;
import io.lodestone.core.balance.Balancer;
import io.lodestone.core.balance.BalancingStrategy;
import io.lodestone.core.balance.Candidates;
import io.lodestone.core.balance.HashKey;
import io.lodestone.core.balance.PickContext;
import io.lodestone.core.health.HealthCheck;
import io.lodestone.core.health.OutlierDetection;
import io.lodestone.core.metrics.internal.BackendMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runtime side of one backend: its servers' runtime state and its balancer. Picking is
 * lock-free: the usable servers of each tier (primaries, backups) are kept as immutable
 * {@link Candidates} snapshots, rebuilt only when a server's state or weight changes. Servers added
 * or removed at run time replace the server array (copy on write). The servers' states that
 * {@link ServerRuntime#state()} reports are published with the snapshots, after them
 * ({@link #refresh}), so whoever sees a state sees the servers in rotation that follow from it.
 */
public final class BackendRuntime {

    private static final AtomicLong VERSIONS = new AtomicLong();
    private static final int MAX_ACQUIRE_ATTEMPTS = 4;

    private volatile Backend backend;
    private final Clock clock;
    private final Scheduler scheduler;
    private final ServerEvents events;
    private volatile Balancer primaryBalancer;
    private volatile Balancer backupBalancer;
    /** The strategy's {@link BalancingStrategy#hashKey()}, read once per configuration rather than per request. */
    private volatile HashKey hashKey;
    private final AtomicInteger ejected = new AtomicInteger();
    private final BackendMetrics metrics;
    private volatile StickTable stickTable;
    private volatile ServerRuntime[] servers;
    private static final Logger log = LoggerFactory.getLogger(BackendRuntime.class);

    private volatile Tier primary;
    private volatile Tier backup;
    private volatile ServerWatcher watcher;
    private int nextIndex;
    /**
     * Requests waiting for a free slot, oldest first (one woken for a slot it could not take goes back
     * to the head); {@link #queued} counts them so that a release reads one volatile.
     */
    private final ConcurrentLinkedDeque<Waiter> waiting = new ConcurrentLinkedDeque<>();
    private final AtomicInteger queued = new AtomicInteger();
    /** Set once a reconfiguration has removed the backend. */
    private volatile boolean retired;

    /**
     * A request (or TCP connection; both engines wait through {@link QueueWait}) waiting in the
     * backend's queue for a server below its connection limit. Woken at
     * most once per time it is queued, from whatever thread freed a slot, and then goes back to its
     * own event loop. Woken with a server, the slot is already its own: a server that finishes a
     * request hands its slot to the oldest waiter rather than freeing it, so a request that comes
     * later cannot take it first (HAProxy's queue does the same). The waiter uses that server, or,
     * no longer waiting, gives the slot back with {@link ServerRuntime#release()}, which hands it on.
     * Woken without one (a server came back or was given a weight, a slot a pick could take was
     * freed but not handed on, or the backend was retired), it picks again, and either takes a slot,
     * goes back to the head of the queue with {@link #requeue} (it is still the oldest), or (no longer
     * waiting) hands the wake-up on with {@link #slotFreed()}.
     */
    public interface Waiter {
        /**
         * A slot was freed: {@code server}'s, already taken for this waiter, or any ({@code null}).
         * Called on any thread, must not block.
         */
        void wake(ServerRuntime server);

        /**
         * The waiter's client for the source stick table ({@link PickContext#affinityHash()}), or 0:
         * a server out of rotation that still serves the clients stuck to it (draining, of weight 0)
         * hands its slot to the oldest waiter stuck to it.
         */
        default long affinityHash() {
            return 0;
        }
    }

    /**
     * Creates the runtime of a backend with every server at its configured weight, {@code UP} (or in
     * the initial state of the backend's health check), on the system clock and a scheduler that
     * drops tasks: for tests of balancing that need no time.
     */
    public BackendRuntime(Backend backend) {
        this(backend, Clock.system(), (task, delay) -> Scheduler.NONE, new ServerEvents());
    }

    /** Creates the runtime of a backend whose timed work (ejections, slow start) runs on {@code scheduler}. */
    public BackendRuntime(Backend backend, Clock clock, Scheduler scheduler, ServerEvents events) {
        this.backend = backend;
        this.clock = clock;
        this.scheduler = scheduler;
        this.events = events;
        this.metrics = new BackendMetrics(backend.name());
        List<Server> configured = backend.servers();
        ServerRuntime[] initial = new ServerRuntime[configured.size()];
        for (int i = 0; i < initial.length; i++) {
            initial[i] = new ServerRuntime(configured.get(i), this, i, initiallyHealthy());
        }
        this.servers = initial;
        this.nextIndex = initial.length;
        // one balancer per tier, so that each keeps its own schedule or ring and cursor, and a
        // backend that alternates between its tiers never rebuilds them
        this.primaryBalancer = backend.balancingStrategy().newBalancer();
        this.backupBalancer = backend.balancingStrategy().newBalancer();
        this.hashKey = backend.balancingStrategy().hashKey();
        this.stickTable = stickTable(backend, clock);
        refresh();
    }

    private static StickTable stickTable(Backend backend, Clock clock) {
        return backend.stickOnSourceExpiry() == null ? null
                : new StickTable(backend.stickOnSourceExpiry(), backend.stickOnSourceMaxEntries(), clock);
    }

    /**
     * Takes a new configuration of this backend (same name) in place, for a reconfiguration of the
     * proxy: servers with the same name and address keep their runtime state and take their new
     * settings; other servers of the new configuration are added, those missing from it are removed
     * (their open connections and in-flight requests finish); servers added slow-start, as with
     * {@link #addServer}, when the backend has a slow start; a changed slow start applies to the ramps
     * under way, as if they had begun with it. A changed balancing strategy (one not
     * {@code equals} to the previous) or stick table starts afresh. The caller restarts the health checks.
     *
     * @return the servers removed
     */
    public List<ServerRuntime> reconfigure(Backend next) {
        List<ServerRuntime> removed = new ArrayList<>();
        List<ServerRuntime> added = new ArrayList<>();
        Duration previousSlowStart;
        synchronized (this) {
            Backend previous = backend;
            previousSlowStart = previous.slowStart();
            backend = next;
            // by equals: hashOn(key) makes a new strategy each time, equal for an equal key
            if (!next.balancingStrategy().equals(previous.balancingStrategy())) {
                primaryBalancer = next.balancingStrategy().newBalancer();
                backupBalancer = next.balancingStrategy().newBalancer();
                hashKey = next.balancingStrategy().hashKey();
            }
            if (!Objects.equals(next.stickOnSourceExpiry(), previous.stickOnSourceExpiry())
                    || next.stickOnSourceMaxEntries() != previous.stickOnSourceMaxEntries()) {
                stickTable = stickTable(next, clock);
            }
            ServerRuntime[] current = servers;
            ServerRuntime[] updated = new ServerRuntime[next.servers().size()];
            for (int i = 0; i < updated.length; i++) {
                Server s = next.servers().get(i);
                ServerRuntime kept = server(s.name());
                if (kept != null && kept.server().address().equals(s.address())) {
                    kept.reconfigure(s);
                    updated[i] = kept;
                } else {
                    updated[i] = new ServerRuntime(s, this, nextIndex++, initiallyHealthy());
                    added.add(updated[i]);
                }
            }
            for (ServerRuntime old : current) {
                if (!Arrays.asList(updated).contains(old)) {
                    removed.add(old);
                }
            }
            if (!next.slowStart().equals(previousSlowStart)) {
                // before the snapshots read the weights: a ramp past its new end ends there
                for (ServerRuntime s : updated) {
                    s.slowStartChanged();
                }
            }
            // as addServer: a server new to the backend ramps up from its first version on, and can
            // be found only once it is in rotation
            for (ServerRuntime a : added) {
                if (a.state() == ServerState.UP) {
                    a.startSlowStart();
                }
            }
            install(updated, null);
        }
        ServerWatcher w = watcher;
        for (ServerRuntime r : removed) {
            if (w != null) {
                w.unwatch(r);
            }
            r.markRemoved();
        }
        refresh();
        return removed;
    }

    /**
     * Retires the backend after a reconfiguration that removed it: its health checks stop and its
     * servers are marked removed, as servers removed one by one are (their open connections and
     * in-flight requests finish; the engines close their idle pooled connections). The requests
     * waiting in its queue, which no server will ever take now, are all woken: each finds the backend
     * {@linkplain #isRetired() retired} and is answered at once rather than at its queue timeout.
     */
    public void retire() {
        retired = true;
        watcher(null);
        for (ServerRuntime s : servers) {
            s.markRemoved();
        }
        Waiter w;
        while ((w = waiting.poll()) != null) {
            metrics.dequeued();
            queued.decrementAndGet();
            w.wake(null);
        }
    }

    /**
     * Whether a reconfiguration has removed the backend: a request that waits in its queue stops
     * waiting, as no server will take it.
     */
    public boolean isRetired() {
        return retired;
    }

    private boolean initiallyHealthy() {
        HealthCheck check = backend.healthCheck();
        return check == null || check.initialState() == ServerState.UP;
    }

    /** The clock the backend's timed work reads. */
    public Clock clock() {
        return clock;
    }

    /**
     * The backend's traffic counters: its servers' traffic rolls up into them; engines record here
     * directly only what reached no server (no server available).
     */
    public BackendMetrics metrics() {
        return metrics;
    }

    /** The scheduler of the backend's timed work. */
    public Scheduler scheduler() {
        return scheduler;
    }

    /** The proxy's listeners. */
    public ServerEvents events() {
        return events;
    }

    /** The health monitor watching the servers, or {@code null}. */
    public ServerWatcher watcher() {
        return watcher;
    }

    /** Sets the health monitor and has it watch every current server; {@code null} stops watching. */
    public void watcher(ServerWatcher newWatcher) {
        ServerWatcher old = this.watcher;
        this.watcher = newWatcher;
        if (old != null) {
            old.stop();
        }
        if (newWatcher != null) {
            for (ServerRuntime s : servers) {
                newWatcher.watch(s);
            }
        }
    }

    /**
     * Adds a server at run time; it starts in the health check's initial state and slow-starts when
     * the backend has a slow start.
     *
     * @throws IllegalArgumentException when the backend already has a server of that name or of
     *     that sticky-cookie value
     */
    public ServerRuntime addServer(Server server) {
        ServerRuntime added;
        synchronized (this) {
            if (server(server.name()) != null) {
                throw new IllegalArgumentException("backend " + name() + " server name: " + server.name() + " (expected: unique within the backend)");
            }
            StickyCookie cookie = backend.cookie();
            String id = server.cookie() != null ? server.cookie() : cookie != null ? cookie.valueFor(name(), server.name()) : null;
            for (ServerRuntime other : servers) {
                if (id != null && id.equals(cookie != null ? other.cookieValue(cookie) : other.server().cookie())) {
                    throw new IllegalArgumentException("backend " + name() + " server " + server.name() + " cookie: " + id
                            + " (expected: unique within the backend; server " + other.server().name() + " has it)");
                }
            }
            added = new ServerRuntime(server, this, nextIndex++, initiallyHealthy());
            // ramping from the first version that has it
            if (added.state() == ServerState.UP) {
                added.startSlowStart();
            }
            ServerRuntime[] current = servers;
            ServerRuntime[] next = Arrays.copyOf(current, current.length + 1);
            next[current.length] = added;
            // the server array with the rotation: whoever finds the new server finds it in rotation
            install(next, null);
        }
        wakeWaiters();
        ServerWatcher w = watcher;
        if (w != null) {
            w.watch(added);
        }
        return added;
    }

    /**
     * Removes a server at run time: no new traffic, no more checks; the future completes when its
     * open connections and in-flight requests have finished.
     *
     * @throws IllegalArgumentException when there is no server of that name
     */
    public CompletableFuture<Void> removeServer(String serverName) {
        ServerRuntime removed;
        synchronized (this) {
            removed = server(serverName);
            if (removed == null) {
                throw new IllegalArgumentException("server: " + serverName + " (no such server in backend " + name() + ")");
            }
            ServerRuntime[] current = servers;
            ServerRuntime[] next = new ServerRuntime[current.length - 1];
            int j = 0;
            for (ServerRuntime s : current) {
                if (s != removed) {
                    next[j++] = s;
                }
            }
            // out of rotation with the array; its state reads MAINT once it is marked removed below
            install(next, null);
        }
        ServerWatcher w = watcher;
        if (w != null) {
            w.unwatch(removed);
        }
        removed.markRemoved();
        return removed.whenIdle();
    }

    /** Ejects {@code server} unless the backend has as many ejected servers as it may have. */
    void tryEject(ServerRuntime server, OutlierDetection od, FailureKind kind) {
        int limit = od.maxEjected(servers.length);
        int current;
        do {
            current = ejected.get();
            if (current >= limit) {
                return;
            }
        } while (!ejected.compareAndSet(current, current + 1));
        if (!server.eject(od, kind)) {
            ejected.decrementAndGet();
        }
    }

    void ejectionEnded() {
        ejected.decrementAndGet();
    }

    /** How many servers are ejected now. */
    public int ejectedServers() {
        return ejected.get();
    }

    /** The backend's configuration. */
    public Backend config() {
        return backend;
    }

    /**
     * The request key the backend's balancing strategy hashes ({@link BalancingStrategy#hashKey()}),
     * or {@code null} when it reads none; kept with the balancers, so an engine reads it per request
     * without asking the strategy.
     */
    public HashKey hashKey() {
        return hashKey;
    }

    /** The backend's name. */
    public String name() {
        return backend.name();
    }

    /** Every server, in configuration order, servers added at run time last. */
    public List<ServerRuntime> servers() {
        return List.of(servers);
    }

    /** Returns the server with this name, or {@code null}. */
    public ServerRuntime server(String name) {
        for (ServerRuntime s : servers) {
            if (s.server().name().equals(name)) {
                return s;
            }
        }
        return null;
    }

    /** The PROXY protocol header to send to this server. */
    public ProxyProtocol proxyProtocol(ServerRuntime server) {
        ProxyProtocol own = server.server().proxyProtocol();
        return own != null ? own : backend.proxyProtocol();
    }

    /** Queues a waiter at the tail; pair with {@link #leaveQueue} when it stops waiting without a wake-up. */
    public void enqueue(Waiter waiter) {
        waiting.add(waiter);
        // the metrics first, here and where a waiter leaves: whoever reads queued() then the
        // metrics finds them agreeing
        metrics.enqueued();
        queued.incrementAndGet();
    }

    /**
     * Queues a waiter at the tail unless {@code max} (above 0) wait already: then returns
     * {@code false} and the waiter is not queued. One counter read decides when the queue is full;
     * else a compare-and-set takes the place, so that waiters queueing from several event loops at
     * once never pass the bound. (A waiter that goes back to the head with {@link #requeue} was in
     * the queue already and is never refused.) Pair with {@link #leaveQueue} as {@link #enqueue}.
     */
    public boolean enqueue(Waiter waiter, int max) {
        if (max <= 0) {
            enqueue(waiter);
            return true;
        }
        int n = queued.get();
        if (n >= max) {
            return false;
        }
        // the metrics first, as in enqueue: they never show fewer waiting than queued() does
        metrics.enqueued();
        while (!queued.compareAndSet(n, n + 1)) {
            n = queued.get();
            if (n >= max) {
                metrics.dequeued();
                return false;
            }
        }
        // counted before it is in the deque: a release meanwhile that finds nobody frees its slot,
        // which the waiter's pick after queueing takes
        waiting.add(waiter);
        return true;
    }

    /**
     * Queues again, at the head, a waiter that was woken without a server and found no slot it could
     * take (another request took it first, or the slot freed was of a server it may not use): it has
     * waited longest, and queued at the tail it would be served after every request that came later.
     * Pair with {@link #leaveQueue} as {@link #enqueue}.
     */
    public void requeue(Waiter waiter) {
        waiting.addFirst(waiter);
        metrics.enqueued();
        queued.incrementAndGet();
    }

    /** Takes a waiter out of the queue; {@code false} when it was not in it (already woken). */
    public boolean leaveQueue(Waiter waiter) {
        if (waiting.remove(waiter)) {
            metrics.dequeued();
            queued.decrementAndGet();
            return true;
        }
        return false;
    }

    /** The number of requests waiting for a free slot now. */
    public int queued() {
        return queued.get();
    }

    /**
     * A server gave a slot back: wakes the oldest waiter, if any. Without waiters it costs one
     * volatile read, so a release takes no lock.
     */
    public void slotFreed() {
        if (queued.get() > 0) {
            Waiter w = waiting.poll();
            if (w != null) {
                metrics.dequeued();
                queued.decrementAndGet();
                w.wake(null);
            }
        }
    }

    /**
     * {@code server} finished a request: when a request waits and the server may take it (in
     * rotation, the backend not retired), its slot goes to the oldest waiter, still taken, and this
     * returns {@code true}; a server out of rotation that still serves the clients stuck to it hands it
     * to the oldest waiter stuck to it ({@link #handOffToStuck}); else {@code false} and the caller
     * frees the slot. Without waiters it costs one volatile read.
     */
    boolean handOff(ServerRuntime server) {
        if (queued.get() == 0 || retired) {
            return false;
        }
        if (!server.isCandidate()) {
            return handOffToStuck(server);
        }
        Waiter w = waiting.poll();
        if (w == null) {
            return false;
        }
        metrics.dequeued();
        queued.decrementAndGet();
        w.wake(server);
        return true;
    }

    /**
     * A server out of rotation finished a request: when it still serves the clients stuck to it by
     * source (draining, of weight 0), its slot goes to the oldest waiter stuck to it, which a request
     * of that client arriving now would take at once; else {@code false}. Walks the queue only in
     * that case.
     */
    private boolean handOffToStuck(ServerRuntime server) {
        StickTable sticky = stickTable;
        if (sticky == null || !keepsPersistent(server)) {
            return false;
        }
        for (Waiter w : waiting) {
            long client = w.affinityHash();
            // remove fails when another release took it out meanwhile
            if (client != 0 && sticky.get(client) == server && waiting.remove(w)) {
                metrics.dequeued();
                queued.decrementAndGet();
                w.wake(server);
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a waiter woken with {@code server}'s slot may use it: the server is in rotation, or
     * still serves the clients stuck to it and {@code context}'s client is one of them.
     */
    boolean mayUse(PickContext context, ServerRuntime server) {
        if (retired) {
            return false;
        }
        if (server.isCandidate()) {
            return true;
        }
        StickTable sticky = stickTable;
        long client;
        return sticky != null && (client = context.affinityHash()) != 0 && sticky.get(client) == server
                && keepsPersistent(server);
    }

    /**
     * A waiting request uses the slot of {@code server} it was handed ({@link Waiter#wake}): counted in
     * the server's {@link ServerRuntime#totalSelected()}, as a pick is (a waiter that gives the slot
     * back instead counts nothing); with a source stick table, a client not stuck to a server that
     * still serves it is stuck to this one, as a pick would have stuck it.
     */
    public void handedOff(PickContext context, ServerRuntime server) {
        server.handedOffUsed();
        StickTable sticky = stickTable;
        long client;
        if (sticky == null || (client = context.affinityHash()) == 0) {
            return;
        }
        ServerRuntime stuck = sticky.get(client);
        if (stuck == null || !keepsPersistent(stuck)) {
            sticky.put(client, server);
        }
    }

    /**
     * Whether some server is in rotation (up, ready, weight above 0), full or not: a request that
     * finds none free may wait in the queue only then.
     */
    public boolean hasServersInRotation() {
        return primary.members.length > 0 || backup.members.length > 0;
    }

    /**
     * The server whose sticky-cookie id is the first {@code end} characters of {@code value}, with one
     * unit of its load taken, when it still serves its persistent clients (up and healthy, not
     * ejected; draining or of weight 0 is fine, maintenance is not) and is below its limit, and is not
     * a backup while a primary could take the client; else {@code null}, and the request is balanced as
     * if it had no cookie.
     */
    public ServerRuntime acquireByCookie(StickyCookie cookie, String value, int end) {
        ServerRuntime s = byCookie(cookie, value, end);
        return s != null && keepsPersistent(s) && s.tryAcquire() ? s : null;
    }

    /**
     * Whether the server whose sticky-cookie id is the first {@code end} characters of {@code value}
     * would take the client now but for its connection limit: persistent as {@link #acquireByCookie}
     * asks, and at its limit. A client so served by another server keeps its cookie, as a
     * source-stuck client keeps its entry.
     */
    public boolean cookieServerIsOnlyFull(StickyCookie cookie, String value, int end) {
        ServerRuntime s = byCookie(cookie, value, end);
        return s != null && keepsPersistent(s) && !s.hasCapacity();
    }

    private ServerRuntime byCookie(StickyCookie cookie, String value, int end) {
        for (ServerRuntime s : servers) {
            String id = s.cookieValue(cookie);
            if (id.length() == end && value.startsWith(id)) {
                return s;
            }
        }
        return null;
    }

    /**
     * Whether a client persistent to {@code s} goes on to it (HAProxy's persistence): the server
     * serves its persistent clients ({@link ServerRuntime#isPersistable()}, a drain or a weight of 0
     * included), and is not a backup while a primary could take the client (a client kept on a backup
     * goes back once a primary is usable). A backup keeps its clients while every primary in rotation
     * is at its limit, as it takes the overflow then: with the primaries in rotation alone counted, such
     * a client was balanced afresh among the backups at each request and went from one to the other.
     */
    private boolean keepsPersistent(ServerRuntime s) {
        return s.isPersistable() && !(s.server().isBackup() && aPrimaryHasRoom());
    }

    /** Whether a primary in rotation is below its connection limit; read only for a client persistent to a backup. */
    private boolean aPrimaryHasRoom() {
        for (ServerRuntime p : primary.members) {
            if (p.hasCapacity()) {
                return true;
            }
        }
        return false;
    }

    /**
     * The number of servers that could take a new connection now (HAProxy's {@code nbsrv}): the
     * primaries in rotation and below their limit, or, when there is none, such backups (backups take
     * no connection while a primary can).
     */
    public int usableServers() {
        int primaries = usable(primary);
        return primaries > 0 ? primaries : usable(backup);
    }

    /**
     * The servers of {@code tier} that a pick could take now. Counted in the servers in rotation a
     * pick reads, not from the servers' own states: a routing that reads a server usable
     * ({@code usableServersBelow}, a backup backend) then finds it when it picks. Counted from the
     * servers' fields, a server coming back counted before it was in rotation, and a request routed
     * to its backend then found no server (503) where the backup backend would have served it.
     */
    private static int usable(Tier tier) {
        int n = 0;
        for (ServerRuntime s : tier.members) {
            if (s.isCandidate() && s.hasCapacity()) {
                n++;
            }
        }
        return n;
    }

    /**
     * Picks a server and takes one unit of its load, or returns {@code null} when no server is
     * usable. The caller must {@link ServerRuntime#release() release} the server when the
     * connection or request ends.
     */
    public ServerRuntime select(PickContext context) {
        return select(context, List.of());
    }

    /**
     * Picks a server other than those in {@code tried}, for a retry after a failed attempt, and takes
     * one unit of its load; {@code null} when no other server is usable. The backups are asked only
     * when no primary can be chosen: every primary is down, draining, in maintenance, of weight 0, at
     * its connection limit or already tried. With a source stick table, a client stuck to a server
     * that still serves its persistent clients (a draining one or one of weight 0 included) goes to
     * it first; else it is balanced and stuck to the server chosen.
     */
    public ServerRuntime select(PickContext context, Collection<ServerRuntime> tried) {
        StickTable sticky = stickTable;
        long client;
        if (sticky == null || (client = context.affinityHash()) == 0) {
            return pick(context, tried);
        }
        ServerRuntime stuck = sticky.get(client);
        if (stuck != null && keepsPersistent(stuck)) {
            if (!tried.contains(stuck) && stuck.tryAcquire()) {
                return stuck;
            }
            // its server is full or failed this attempt: served elsewhere this time, still stuck to it
            return pick(context, tried);
        }
        ServerRuntime chosen = pick(context, tried);
        if (chosen != null) {
            sticky.put(client, chosen);
        }
        return chosen;
    }

    /**
     * The number of clients the source-address stick table remembers now (expired entries are not
     * counted); 0 when the backend does not stick clients.
     */
    public long stuckClients() {
        return stickTable == null ? 0 : stickTable.size();
    }

    private ServerRuntime pick(PickContext context, Collection<ServerRuntime> tried) {
        ServerRuntime chosen = select(primary, primaryBalancer, context, tried);
        if (chosen == null) {
            chosen = select(backup, backupBalancer, context, tried);
        }
        return chosen;
    }

    private static ServerRuntime select(Tier tier, Balancer balancer, PickContext context, Collection<ServerRuntime> tried) {
        if (tier.members.length == 0) {
            return null;
        }
        Candidates view = tried.isEmpty() ? tier : new Excluding(tier, tried);
        for (int attempt = 0; attempt < MAX_ACQUIRE_ATTEMPTS; attempt++) {
            int index = balancer.pick(view, context);
            if (index < 0) {
                return null;
            }
            ServerRuntime s = tier.members[index];
            if (s.tryAcquire()) {
                return s;
            }
        }
        return null;
    }

    /**
     * Rebuilds the candidate snapshots after a state or weight change, then publishes the servers'
     * states ({@link #install}). A tier whose servers and weights did not change keeps its snapshot
     * and version, so its balancer keeps its schedule. Requests waiting in the queue are woken,
     * oldest first, for the free slots the servers now in rotation have: a server that comes back, is
     * made ready, added or given a weight serves them at once (HAProxy hands a returning server the
     * backend's queue too).
     */
    void refresh() {
        refresh(null);
    }

    /** {@link #refresh()} after a change of {@code changed}, whose state is published even when it is no longer one of the backend's servers. */
    void refresh(ServerRuntime changed) {
        synchronized (this) {
            install(servers, changed);
        }
        wakeWaiters();
    }

    /**
     * Under this object's lock: builds the candidate snapshots of {@code next} (the backend's servers
     * from now on), installs them, then the server array, then publishes each server's state as read
     * for the snapshots (and {@code changed}'s, when not in {@code next}). Each server's fields are
     * read once, so its published state and its place in rotation agree (in rotation exactly when
     * UP and of weight above 0), and the writes are ordered so that whoever reads a server's new
     * state, or finds a new server, reads the snapshots made with it. The state was read from the
     * fields at once until 2026-12-07, while the snapshots followed a moment later: a server seen UP
     * after a passing check, made ready or added could still not be picked (503 on the wire).
     */
    private void install(ServerRuntime[] next, ServerRuntime changed) {
        Tier newPrimary = null;
        Tier newBackup = null;
        ServerState[] states = new ServerState[next.length];
        List<ServerRuntime> p = new ArrayList<>();
        List<ServerRuntime> b = new ArrayList<>();
        for (int i = 0; i < next.length; i++) {
            ServerRuntime s = next[i];
            ServerState state = s.current();
            states[i] = state;
            if (state == ServerState.UP && s.weight() > 0) {
                (s.server().isBackup() ? b : p).add(s);
            }
        }
        Tier tier = Tier.of(p, primary);
        if (tier != primary) {
            newPrimary = tier;
        }
        tier = Tier.of(b, backup);
        if (tier != backup) {
            newBackup = tier;
        }
        // the balancers build the schedule or ring of a new version here, once, on this thread,
        // before any pick sees it: built lazily, it cost the event loop of the next pick up to
        // seconds for large sets, and every loop that picked meanwhile built its own
        if (newPrimary != null) {
            prepare(primaryBalancer, newPrimary);
            primary = newPrimary;
        }
        if (newBackup != null) {
            prepare(backupBalancer, newBackup);
            backup = newBackup;
        }
        if (next != servers) {
            servers = next;
        }
        boolean changedIsHere = changed == null;
        for (int i = 0; i < next.length; i++) {
            next[i].publish(states[i]);
            changedIsHere |= next[i] == changed;
        }
        if (!changedIsHere) {
            changed.publish(changed.current());
        }
    }

    /** Wakes waiting requests for the free slots of the servers in rotation; see {@link #refresh()}. */
    private void wakeWaiters() {
        int waiters = queued.get();
        if (waiters > 0) {
            for (int i = Math.min(waiters, freeSlots(waiters)); i > 0; i--) {
                slotFreed();
            }
        }
    }

    /** A balancer's failure to prepare is left to its picks, which build what they need themselves. */
    private static void prepare(Balancer balancer, Tier tier) {
        if (tier.members.length == 0) {
            return;
        }
        try {
            balancer.prepare(tier);
        } catch (RuntimeException e) {
            log.debug("balancer {} failed to prepare a new version of its candidates", balancer, e);
        }
    }

    /** The free slots of the servers in rotation, counted up to {@code enough}. */
    private int freeSlots(int enough) {
        int free = 0;
        for (Tier tier : new Tier[] {primary, backup}) {
            for (ServerRuntime s : tier.members) {
                int max = s.server().maxConnections();
                if (max == 0) {
                    return enough;
                }
                free += Math.max(0, max - s.load());
                if (free >= enough) {
                    return enough;
                }
            }
        }
        return free;
    }

    /** One tier's usable servers at one version; weights are frozen with the version. */
    static final class Tier implements Candidates {
        final ServerRuntime[] members;
        final int[] weights;
        final long version;

        /** Returns {@code previous} when it has the same servers at the same weights, else a new tier. */
        static Tier of(List<ServerRuntime> members, Tier previous) {
            if (previous != null && previous.sameAs(members)) {
                return previous;
            }
            return new Tier(members.toArray(new ServerRuntime[0]), VERSIONS.incrementAndGet());
        }

        private boolean sameAs(List<ServerRuntime> others) {
            if (others.size() != members.length) {
                return false;
            }
            for (int i = 0; i < members.length; i++) {
                if (others.get(i) != members[i] || members[i].effectiveWeight() != weights[i]) {
                    return false;
                }
            }
            return true;
        }

        Tier(ServerRuntime[] members, long version) {
            this.members = members;
            this.version = version;
            this.weights = new int[members.length];
            for (int i = 0; i < members.length; i++) {
                weights[i] = members[i].effectiveWeight();
            }
        }

        @Override
        public int size() {
            return members.length;
        }

        @Override
        public Server server(int index) {
            return members[index].server();
        }

        @Override
        public int weight(int index) {
            return weights[index];
        }

        @Override
        public int load(int index) {
            return members[index].load();
        }

        @Override
        public boolean isAvailable(int index) {
            ServerRuntime s = members[index];
            return s.hasCapacity() && s.isCandidate();
        }

        @Override
        public long version() {
            return version;
        }
    }

    /** A tier seen without the servers already tried for one connection or request. */
    static final class Excluding implements Candidates {
        private final Tier tier;
        private final Collection<ServerRuntime> tried;

        Excluding(Tier tier, Collection<ServerRuntime> tried) {
            this.tier = tier;
            this.tried = tried;
        }

        @Override
        public int size() {
            return tier.size();
        }

        @Override
        public Server server(int index) {
            return tier.server(index);
        }

        @Override
        public int weight(int index) {
            return tier.weight(index);
        }

        @Override
        public int load(int index) {
            return tier.load(index);
        }

        @Override
        public boolean isAvailable(int index) {
            return tier.isAvailable(index) && !tried.contains(tier.members[index]);
        }

        @Override
        public long version() {
            return tier.version();
        }

        @Override
        public boolean retrying() {
            return true;
        }
    }
}
