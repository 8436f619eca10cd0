package io.lodestone.core;

import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.Listener;
import java.util.Set;

/** A frontend that only names itself and its backends, for building proxies that are never started. */
final class TestFrontend implements Frontend {

    private final String name;
    private final Set<String> backendNames;

    TestFrontend(String name, String... backendNames) {
        this.name = name;
        this.backendNames = Set.of(backendNames);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Set<String> backendNames() {
        return backendNames;
    }

    @Override
    public Listener start(EngineContext context) {
        throw new UnsupportedOperationException("a test frontend does not listen");
    }
}
