package io.lodestone.core.internal;

import io.lodestone.core.Server;
import io.lodestone.core.ServerControl;
import io.lodestone.core.ServerState;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** The runtime state of one server: state, current weight, load. Lock-free. */
public final class ServerRuntime implements ServerControl {

    private final Server server;
    private final BackendRuntime backend;
    private final int index;
    private final AtomicInteger load = new AtomicInteger();
    private final LongAdder selected = new LongAdder();
    private volatile ServerState state = ServerState.UP;
    private volatile int weight;

    ServerRuntime(Server server, BackendRuntime backend, int index) {
        this.server = server;
        this.backend = backend;
        this.index = index;
        this.weight = server.weight();
    }

    @Override
    public Server server() {
        return server;
    }

    @Override
    public String backendName() {
        return backend.name();
    }

    /** The backend this server belongs to. */
    public BackendRuntime backend() {
        return backend;
    }

    /** The server's position in its backend's configuration. */
    public int index() {
        return index;
    }

    @Override
    public ServerState state() {
        return state;
    }

    @Override
    public void state(ServerState newState) {
        Objects.requireNonNull(newState, "state");
        if (state != newState) {
            state = newState;
            backend.refresh();
        }
    }

    @Override
    public int weight() {
        return weight;
    }

    @Override
    public void weight(int newWeight) {
        if (newWeight < 0 || newWeight > Server.MAX_WEIGHT) {
            throw new IllegalArgumentException("server " + server.name() + " weight: " + newWeight + " (expected: 0.." + Server.MAX_WEIGHT + ")");
        }
        if (weight != newWeight) {
            weight = newWeight;
            backend.refresh();
        }
    }

    @Override
    public int load() {
        return load.get();
    }

    @Override
    public long totalSelected() {
        return selected.sum();
    }

    /** Whether the server may be offered to a balancer: up and of positive weight. */
    boolean isCandidate() {
        return state == ServerState.UP && weight > 0;
    }

    /** Whether the server is below its connection limit. */
    public boolean hasCapacity() {
        int max = server.maxConnections();
        return max == 0 || load.get() < max;
    }

    /** Takes one unit of load if the server is below its limit; pair with {@link #release()}. */
    public boolean tryAcquire() {
        int max = server.maxConnections();
        if (max == 0) {
            load.incrementAndGet();
        } else {
            int current;
            do {
                current = load.get();
                if (current >= max) {
                    return false;
                }
            } while (!load.compareAndSet(current, current + 1));
        }
        selected.increment();
        return true;
    }

    /** Gives back one unit of load taken by {@link #tryAcquire()} or a successful pick. */
    public void release() {
        load.decrementAndGet();
    }

    @Override
    public String toString() {
        return backend.name() + "/" + server.name() + "(" + state + ", weight " + weight + ", load " + load.get() + ")";
    }
}
