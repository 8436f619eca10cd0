package io.lodestone.core;

/**
 * Runtime control of a proxy's HTTP response caches (see {@code ResponseCache} in lodestone-l7),
 * obtained from {@link ProxyControl#cache()}. It reaches every cache of every frontend at once.
 *
 * <p>A cache key, as purged here, is the request's {@code Host} as forwarded to the backend, lower
 * case, followed by its path and query as forwarded: {@code www.example.com/img/logo.png?v=2}.
 * Purging a key removes the stored responses to {@code GET} and {@code HEAD} of it, every variant
 * that {@code Vary} separated included.
 *
 * <pre>{@code
 * proxy.control().cache().purge("www.example.com/index.html");
 * proxy.control().cache().purgePrefix("www.example.com/img/");
 * }</pre>
 */
public interface CacheControl {

    /**
     * Removes the responses stored under one key, in every cache.
     *
     * @param key the cache key
     * @return how many stored responses were removed
     */
    int purge(String key);

    /**
     * Removes the responses stored under every key that starts with {@code prefix}, in every cache;
     * the empty prefix empties every cache.
     *
     * @param prefix a prefix of cache keys
     * @return how many stored responses were removed
     */
    int purgePrefix(String prefix);
}
