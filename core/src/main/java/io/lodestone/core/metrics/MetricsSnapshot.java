package io.lodestone.core.metrics;

import java.util.List;

/**
 * Every figure of a proxy at one moment, from {@code proxy.metrics()}. Immutable; each counter is
 * read without stopping traffic, so figures taken together may differ by the requests in flight.
 *
 * <pre>{@code
 * MetricsSnapshot m = proxy.metrics();
 * long errors = m.backend("app").server("web1").traffic().responses().serverError();
 * long p99 = m.frontend("web").traffic().totalTime().p99Nanos();
 * String scrape = PrometheusFormat.text(m);
 * }</pre>
 *
 * @param timestampMillis when the snapshot was taken, from the proxy's clock
 * @param frontends every frontend, in configuration order
 * @param backends every backend, in configuration order
 * @param caches every HTTP response cache of a running frontend (one per frontend and cached backend)
 */
public record MetricsSnapshot(long timestampMillis, List<FrontendSnapshot> frontends, List<BackendSnapshot> backends,
        List<CacheSnapshot> caches) {

    /**
     * Makes immutable copies of the lists.
     *
     * @param timestampMillis when the snapshot was taken
     * @param frontends every frontend
     * @param backends every backend
     * @param caches every HTTP response cache of a running frontend
     */
    public MetricsSnapshot {
        frontends = List.copyOf(frontends);
        backends = List.copyOf(backends);
        caches = List.copyOf(caches);
    }

    /**
     * A snapshot without response caches.
     *
     * @param timestampMillis when it was taken, in milliseconds since the epoch
     * @param frontends the frontends' figures
     * @param backends the backends' figures
     */
    public MetricsSnapshot(long timestampMillis, List<FrontendSnapshot> frontends, List<BackendSnapshot> backends) {
        this(timestampMillis, frontends, backends, List.of());
    }

    /**
     * Returns the snapshot of the response cache one frontend keeps for one backend.
     *
     * @param frontend the frontend's name
     * @param backend the backend's name
     * @return the snapshot of the response cache one frontend keeps for one backend
     * @throws IllegalArgumentException when there is no such cache
     */
    public CacheSnapshot cache(String frontend, String backend) {
        for (CacheSnapshot c : caches) {
            if (c.frontend().equals(frontend) && c.backend().equals(backend)) {
                return c;
            }
        }
        throw new IllegalArgumentException("cache: " + frontend + "/" + backend + " (no such cache)");
    }

    /**
     * Returns the snapshot of one frontend.
     *
     * @param name the frontend's name
     * @return the snapshot of one frontend
     * @throws IllegalArgumentException when there is no frontend of that name
     */
    public FrontendSnapshot frontend(String name) {
        for (FrontendSnapshot f : frontends) {
            if (f.name().equals(name)) {
                return f;
            }
        }
        throw new IllegalArgumentException("frontend: " + name + " (no such frontend)");
    }

    /**
     * Returns the snapshot of one backend.
     *
     * @param name the backend's name
     * @return the snapshot of one backend
     * @throws IllegalArgumentException when there is no backend of that name
     */
    public BackendSnapshot backend(String name) {
        for (BackendSnapshot b : backends) {
            if (b.name().equals(name)) {
                return b;
            }
        }
        throw new IllegalArgumentException("backend: " + name + " (no such backend)");
    }
}
