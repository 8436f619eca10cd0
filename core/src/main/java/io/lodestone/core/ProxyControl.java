package io.lodestone.core;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Runtime control of a proxy's servers, obtained from {@link Proxy#control()}. Works before and
 * after {@link Proxy#start()}; what it changes is runtime state, never configuration.
 *
 * <pre>{@code
 * ProxyControl control = proxy.control();
 * control.addListener((server, from, to, reason) -> log.info("{} {} -> {}", server.server().name(), from, to));
 * control.addServer("app", Server.builder("web3", "10.0.0.3:8080").weight(10).build());
 * control.removeServer("app", "web1").get(30, TimeUnit.SECONDS);   // once its connections finish
 * control.rollingUpdate(RollingUpdate.builder("app", server -> deploy(server)).build());
 * }</pre>
 */
public interface ProxyControl {

    /**
     * Returns the control of one server.
     *
     * @param backendName the backend's name
     * @param serverName the server's name
     * @return the control of one server
     * @throws IllegalArgumentException naming the backend or server when there is no such one
     */
    ServerControl server(String backendName, String serverName);

    /**
     * Returns the controls of every server of one backend, in configuration order (servers added at
     * run time last).
     *
     * @param backendName the backend's name
     * @return the controls of every server of one backend, in configuration order (servers added at run time
     *     last)
     * @throws IllegalArgumentException naming the backend when there is no such one
     */
    List<ServerControl> servers(String backendName);

    /**
     * Returns how many servers of the backend could take a new connection now (HAProxy's
     * {@code nbsrv}): its primaries in rotation and below their connection limit, or, when no primary
     * is, its backups that are.
     *
     * @param backendName the backend's name
     * @return how many servers of the backend could take a new connection now (HAProxy's {@code nbsrv}): its
     *     primaries in rotation and below their connection limit, or, when no primary is, its backups that
     *     are
     */
    int usableServers(String backendName);

    /**
     * The number of HTTP requests and TCP connections waiting now for a free slot on a server of the
     * backend (see {@link Backend.Builder#queueTimeout}).
     *
     * @param backendName the backend's name
     * @return the number of HTTP requests and TCP connections waiting now for a free slot on a server of the
     *     backend (see {@link Backend.Builder#queueTimeout})
     */
    int queuedRequests(String backendName);

    /** {@return a snapshot of every server of every backend} */
    List<ServerStatus> status();

    /**
     * Adds a server to a backend while traffic flows. It is health-checked like the others (starting
     * in the check's initial state) and slow-starts when the backend has a slow start.
     *
     * @param backendName the backend's name
     * @param server the server to add
     * @return the new server's control
     * @throws IllegalArgumentException when there is no such backend or it already has a server of
     *     that name or of that sticky-cookie value ({@link Server#cookie()}, or the default id), or
     *     when the server asks for a PROXY protocol header ({@link Server#proxyProtocol()}) and an HTTP
     *     frontend sends to the backend, as {@link Proxy.Builder#build()} refuses it there
     */
    ServerControl addServer(String backendName, Server server);

    /**
     * Removes a server while traffic flows: it gets no new traffic at once, is no longer checked, and
     * its open connections and in-flight requests finish. The future completes when they have.
     *
     * @param backendName the backend's name
     * @param serverName the server's name
     * @return a future that completes when the server's traffic has finished
     * @throws IllegalArgumentException when there is no such backend or server
     */
    CompletableFuture<Void> removeServer(String backendName, String serverName);

    /**
     * Registers a listener for server state changes and health check results.
     *
     * @param listener the listener
     */
    void addListener(ServerListener listener);

    /**
     * Unregisters a listener; does nothing when it is not registered.
     *
     * @param listener the listener
     */
    void removeListener(ServerListener listener);

    /**
     * Starts a rolling update of one backend (see {@link RollingUpdate}) and returns its outcome. The
     * future completes normally in both cases; {@link RollingUpdate.Result#succeeded()} tells which.
     * One rolling update runs on a backend at a time: another of the same backend is refused until the
     * running one's future completes (succeeded or not); updates of different backends run together.
     * When the proxy closes, a running update ends where it stands: its future completes, not
     * succeeded, at the server it was handling, with the reason {@code "the proxy closed"}, and no
     * further action runs.
     *
     * @param update the update
     * @return the update's outcome, once it ends
     * @throws IllegalArgumentException when there is no such backend
     * @throws IllegalStateException when a rolling update of the backend is already running, or the
     *     proxy is closed
     */
    CompletableFuture<RollingUpdate.Result> rollingUpdate(RollingUpdate update);

    /**
     * Returns the control of the proxy's HTTP response caches: purges by key or key prefix, applied
     * to every cache of every frontend.
     *
     * @return the control of the proxy's HTTP response caches: purges by key or key prefix, applied to every
     *     cache of every frontend
     */
    CacheControl cache();
}
