package io.lodestone.core.internal;

import io.lodestone.core.CacheControl;
import io.lodestone.core.metrics.CacheSnapshot;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Every response cache of a proxy, registered by the engine that keeps it while its frontend runs:
 * the proxy's {@link CacheControl} and the source of the metrics' cache figures.
 */
public final class CacheStores implements CacheControl {

    /** One engine's cache, as the proxy sees it. */
    public interface Store {
        /** Its figures now. */
        CacheSnapshot snapshot();

        /** Removes the responses stored under {@code key}; returns how many. */
        int purge(String key);

        /** Removes the responses stored under keys starting with {@code prefix}; returns how many. */
        int purgePrefix(String prefix);
    }

    private final List<Store> stores = new CopyOnWriteArrayList<>();

    /** Registers a cache; it takes part in purges and metrics until {@link #unregister}. */
    public void register(Store store) {
        stores.add(Objects.requireNonNull(store, "store"));
    }

    /** Unregisters a cache; does nothing when it is not registered. */
    public void unregister(Store store) {
        stores.remove(store);
    }

    @Override
    public int purge(String key) {
        Objects.requireNonNull(key, "key");
        int n = 0;
        for (Store s : stores) {
            n += s.purge(key);
        }
        return n;
    }

    @Override
    public int purgePrefix(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        int n = 0;
        for (Store s : stores) {
            n += s.purgePrefix(prefix);
        }
        return n;
    }

    /**
     * Every registered cache's figures, in registration order, one per frontend and backend: a
     * reconfiguration registers a frontend's new cache before it unregisters the old one, and in
     * between the newer stands in the older's place, so no reader sees two caches under one name.
     */
    public List<CacheSnapshot> snapshots() {
        List<CacheSnapshot> out = new ArrayList<>(stores.size());
        for (Store s : stores) {
            CacheSnapshot c = s.snapshot();
            int same = indexOf(out, c.frontend(), c.backend());
            if (same < 0) {
                out.add(c);
            } else {
                out.set(same, c);
            }
        }
        return out;
    }

    private static int indexOf(List<CacheSnapshot> caches, String frontend, String backend) {
        for (int i = 0; i < caches.size(); i++) {
            CacheSnapshot c = caches.get(i);
            if (c.frontend().equals(frontend) && c.backend().equals(backend)) {
                return i;
            }
        }
        return -1;
    }
}
