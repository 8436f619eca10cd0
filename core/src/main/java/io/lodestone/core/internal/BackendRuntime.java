package io.lodestone.core.internal;

import io.lodestone.core.Backend;
import io.lodestone.core.ProxyProtocol;
import io.lodestone.core.Server;
import io.lodestone.core.balance.Balancer;
import io.lodestone.core.balance.Candidates;
import io.lodestone.core.balance.PickContext;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The runtime side of one backend: its servers' runtime state and its balancer. Picking is
 * lock-free: the usable servers of each tier (primaries, backups) are kept as immutable
 * {@link Candidates} snapshots, rebuilt only when a server's state or weight changes.
 */
public final class BackendRuntime {

    private static final AtomicLong VERSIONS = new AtomicLong();
    private static final int MAX_ACQUIRE_ATTEMPTS = 4;

    private final Backend backend;
    private final ServerRuntime[] servers;
    private final Balancer primaryBalancer;
    private final Balancer backupBalancer;
    private volatile Tier primary;
    private volatile Tier backup;

    /** Creates the runtime of a backend with every server {@code UP} at its configured weight. */
    public BackendRuntime(Backend backend) {
        this.backend = backend;
        List<Server> configured = backend.servers();
        this.servers = new ServerRuntime[configured.size()];
        for (int i = 0; i < servers.length; i++) {
            servers[i] = new ServerRuntime(configured.get(i), this, i);
        }
        // one balancer per tier, so that each keeps its own schedule or ring and cursor, and a
        // backend that alternates between its tiers never rebuilds them
        this.primaryBalancer = backend.balancingStrategy().newBalancer();
        this.backupBalancer = backend.balancingStrategy().newBalancer();
        refresh();
    }

    /** The backend's configuration. */
    public Backend config() {
        return backend;
    }

    /** The backend's name. */
    public String name() {
        return backend.name();
    }

    /** Every server, in configuration order. */
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

    /** The number of servers that could take a new connection now (HAProxy's {@code nbsrv}). */
    public int usableServers() {
        int n = 0;
        for (ServerRuntime s : servers) {
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
     * its connection limit or already tried.
     */
    public ServerRuntime select(PickContext context, Collection<ServerRuntime> tried) {
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
     * Rebuilds the candidate snapshots after a state or weight change. A tier whose servers and
     * weights did not change keeps its snapshot and version, so its balancer keeps its schedule.
     */
    void refresh() {
        synchronized (this) {
            List<ServerRuntime> p = new ArrayList<>();
            List<ServerRuntime> b = new ArrayList<>();
            for (ServerRuntime s : servers) {
                if (s.isCandidate()) {
                    (s.server().isBackup() ? b : p).add(s);
                }
            }
            primary = Tier.of(p, primary);
            backup = Tier.of(b, backup);
        }
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
                if (others.get(i) != members[i] || members[i].weight() != weights[i]) {
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
                weights[i] = members[i].weight();
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
    }
}
