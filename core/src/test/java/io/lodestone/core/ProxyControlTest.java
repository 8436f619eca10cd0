package io.lodestone.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Runtime control through {@link Proxy#control()}, on a proxy that is built but not started. */
class ProxyControlTest {

    private final Proxy proxy = Proxy.builder()
            .backend(Backend.named("app")
                    .server("web1", "10.0.0.1:80", s -> s.weight(80))
                    .server("web2", "10.0.0.2:80", s -> s.weight(20).maxConnections(100))
                    .server("spare", "10.0.0.3:80", s -> s.backup()))
            .backend(Backend.named("admin").server("adm", "10.0.1.1:80"))
            .frontend(new TestFrontend("web", "app", "admin"))
            .build();

    @AfterEach
    void close() {
        proxy.close();
    }

    @Test
    void findsAServerByBackendAndName() {
        ServerControl web2 = proxy.control().server("app", "web2");

        assertThat(web2.server().name()).isEqualTo("web2");
        assertThat(web2.server().maxConnections()).isEqualTo(100);
        assertThat(web2.backendName()).isEqualTo("app");
        assertThat(web2.state()).isEqualTo(ServerState.UP);
        assertThat(web2.weight()).isEqualTo(20);
        assertThat(web2.load()).isZero();
        assertThat(web2.totalSelected()).isZero();
        assertThat(proxy.control().server("app", "web2")).as("the same control each time").isSameAs(web2);
    }

    @Test
    void listsAllServersOfABackendInOrder() {
        assertThat(proxy.control().servers("app")).extracting(s -> s.server().name()).containsExactly("web1", "web2", "spare");
        assertThat(proxy.control().servers("admin")).extracting(s -> s.server().name()).containsExactly("adm");
    }

    @Test
    void countsUsableServersAsStatesChange() {
        ProxyControl control = proxy.control();
        assertThat(control.usableServers("app")).as("web1 and web2; not the spare while they are usable").isEqualTo(2);

        control.server("app", "web1").drain();
        assertThat(control.server("app", "web1").state()).isEqualTo(ServerState.DRAIN);
        control.server("app", "web2").maintenance();
        assertThat(control.server("app", "web2").state()).isEqualTo(ServerState.MAINT);
        assertThat(control.usableServers("app")).isEqualTo(1);
        control.server("app", "spare").weight(0);
        assertThat(control.usableServers("app")).isZero();
        assertThat(control.usableServers("admin")).as("another backend is untouched").isEqualTo(1);

        control.server("app", "web1").ready();
        assertThat(control.server("app", "web1").state()).isEqualTo(ServerState.UP);
        assertThat(control.usableServers("app")).isEqualTo(1);
    }

    @Test
    void changesRuntimeStateButNeverConfiguration() {
        ServerControl web1 = proxy.control().server("app", "web1");
        web1.weight(5);
        web1.state(ServerState.DOWN);

        assertThat(web1.weight()).isEqualTo(5);
        assertThat(web1.state()).isEqualTo(ServerState.DOWN);
        assertThat(web1.server().weight()).isEqualTo(80);
        assertThat(proxy.backends().get("app").server("web1").weight()).isEqualTo(80);
    }

    @Test
    void rejectsABadWeightNamingTheServer() {
        ServerControl web1 = proxy.control().server("app", "web1");
        assertThatIllegalArgumentException().isThrownBy(() -> web1.weight(300))
                .withMessage("server web1 weight: 300 (expected: 0..256)");
        assertThat(web1.weight()).isEqualTo(80);
    }

    @Test
    void rejectsUnknownBackendsAndServersByName() {
        ProxyControl control = proxy.control();

        assertThatIllegalArgumentException().isThrownBy(() -> control.server("nope", "web1"))
                .withMessage("backend: nope (no such backend)");
        assertThatIllegalArgumentException().isThrownBy(() -> control.server("app", "web9"))
                .withMessage("server: web9 (no such server in backend app)");
        assertThatIllegalArgumentException().isThrownBy(() -> control.server("admin", "web1"))
                .withMessage("server: web1 (no such server in backend admin)");
        assertThatIllegalArgumentException().isThrownBy(() -> control.servers("nope"))
                .withMessage("backend: nope (no such backend)");
        assertThatIllegalArgumentException().isThrownBy(() -> control.usableServers("nope"))
                .withMessage("backend: nope (no such backend)");
    }
}
