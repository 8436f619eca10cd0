package io.lodestone.core.balance;

import io.lodestone.core.Server;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A hand-driven {@link Candidates} for balancer tests: named servers with weights, loads that a test
 * sets (or that {@link #acquire} raises, thread-safely) and availability flags. Changing the set or
 * a weight gives a new {@link #version()}, as the runtime does; loads and availability do not.
 */
final class TestCandidates implements Candidates {

    private static final AtomicLong VERSIONS = new AtomicLong(1000);

    private final List<Server> servers = new ArrayList<>();
    private int[] weights = new int[0];
    private AtomicIntegerArray loads = new AtomicIntegerArray(0);
    private volatile boolean[] unavailable = new boolean[0];
    private long version = VERSIONS.incrementAndGet();
    private volatile boolean retrying;
    private final java.util.concurrent.atomic.AtomicInteger weightReads = new java.util.concurrent.atomic.AtomicInteger();

    /** Servers named s0, s1, ... with these weights. */
    static TestCandidates weights(int... weights) {
        TestCandidates c = new TestCandidates();
        for (int i = 0; i < weights.length; i++) {
            c.add("s" + i, weights[i]);
        }
        return c;
    }

    /** {@code n} servers named s0.. of weight 1. */
    static TestCandidates equal(int n) {
        int[] w = new int[n];
        Arrays.fill(w, 1);
        return weights(w);
    }

    /** Appends a server (a new version); its load is 0 and it is available. */
    TestCandidates add(String name, int weight) {
        int n = servers.size();
        servers.add(Server.builder(name, "10.0.0." + (n % 250 + 1) + ":" + (8000 + n)).weight(weight).build());
        int[] w = Arrays.copyOf(weights, n + 1);
        w[n] = weight;
        weights = w;
        AtomicIntegerArray l = new AtomicIntegerArray(n + 1);
        for (int i = 0; i < n; i++) {
            l.set(i, loads.get(i));
        }
        loads = l;
        unavailable = Arrays.copyOf(unavailable, n + 1);
        version = VERSIONS.incrementAndGet();
        return this;
    }

    /** Removes the server with this name (a new version); the indexes of later servers shift down. */
    TestCandidates remove(String name) {
        int at = indexOf(name);
        int n = servers.size();
        servers.remove(at);
        int[] w = new int[n - 1];
        boolean[] u = new boolean[n - 1];
        AtomicIntegerArray l = new AtomicIntegerArray(n - 1);
        for (int i = 0, j = 0; i < n; i++) {
            if (i != at) {
                w[j] = weights[i];
                u[j] = unavailable[i];
                l.set(j, loads.get(i));
                j++;
            }
        }
        weights = w;
        unavailable = u;
        loads = l;
        version = VERSIONS.incrementAndGet();
        return this;
    }

    /** Sets a weight (a new version). */
    TestCandidates weight(int index, int weight) {
        weights[index] = weight;
        version = VERSIONS.incrementAndGet();
        return this;
    }

    TestCandidates load(int index, int load) {
        loads.set(index, load);
        return this;
    }

    /** Takes one unit of load on {@code index}, as a successful pick does in the runtime. */
    void acquire(int index) {
        loads.incrementAndGet(index);
    }

    TestCandidates available(int index, boolean available) {
        boolean[] u = unavailable.clone();
        u[index] = !available;
        unavailable = u;
        return this;
    }

    int indexOf(String name) {
        for (int i = 0; i < servers.size(); i++) {
            if (servers.get(i).name().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no server " + name);
    }

    String name(int index) {
        return servers.get(index).name();
    }

    @Override
    public int size() {
        return servers.size();
    }

    @Override
    public Server server(int index) {
        return servers.get(index);
    }

    @Override
    public int weight(int index) {
        weightReads.incrementAndGet();
        return weights[index];
    }

    /** How many times {@link #weight} was read: a balancer reads the weights when it builds its schedule or ring. */
    int weightReads() {
        return weightReads.get();
    }

    /** Sets the version as it was (a test of picks that still hold an older version). */
    void version(long version) {
        this.version = version;
    }

    @Override
    public int load(int index) {
        return loads.get(index);
    }

    @Override
    public boolean isAvailable(int index) {
        return !unavailable[index];
    }

    @Override
    public long version() {
        return version;
    }

    /** Makes the next picks retries ({@link #retrying()}) or first attempts. */
    TestCandidates retrying(boolean retrying) {
        this.retrying = retrying;
        return this;
    }

    @Override
    public boolean retrying() {
        return retrying;
    }
}
