package io.lodestone.l7;

import io.lodestone.core.Backend;
import io.lodestone.core.Proxy;
import java.util.function.Consumer;

/** Test helper: a started proxy with one HTTP frontend on an ephemeral port of 127.0.0.1 and one backend. */
final class OneBackendProxy {

    private OneBackendProxy() {
    }

    /** Builds and starts the proxy; {@code frontend} adjusts the frontend, whose default backend is {@code backend}. */
    static Proxy start(Backend.Builder backend, Consumer<HttpFrontend.Builder> frontend) {
        HttpFrontend.Builder f = HttpFrontend.bind("127.0.0.1:0").defaultBackend(backend.build().name());
        frontend.accept(f);
        Proxy proxy = Proxy.builder().backend(backend).frontend(f).build();
        proxy.start();
        return proxy;
    }
}
