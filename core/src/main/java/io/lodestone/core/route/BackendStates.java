package io.lodestone.core.route;

/**
 * The runtime state a {@link Router} reads: how many servers of a backend could take a new request
 * now (HAProxy's {@code nbsrv}). {@link io.lodestone.core.Proxy} supplies the live one; tests may pass
 * a lambda.
 *
 * <pre>{@code
 * Router router = routing.router(backend -> backend.equals("app") ? 0 : 2);
 * }</pre>
 */
@FunctionalInterface
public interface BackendStates {

    /**
     * Returns how many servers of the backend are usable now; 0 for an unknown backend.
     *
     * @param backend the backend's name
     * @return how many servers of the backend are usable now; 0 for an unknown backend
     */
    int usableServers(String backend);

    /** {@return states in which every backend has one usable server} */
    static BackendStates allUp() {
        return backend -> 1;
    }
}
