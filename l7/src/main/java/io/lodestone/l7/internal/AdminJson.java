package io.lodestone.l7.internal;

import io.lodestone.core.ServerStatus;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.EngineContext;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.metrics.BackendSnapshot;
import io.lodestone.core.metrics.CacheSnapshot;
import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.metrics.FrontendSnapshot;
import io.lodestone.core.metrics.MetricsSnapshot;
import io.lodestone.core.metrics.ResponseCounts;
import io.lodestone.core.metrics.ServerSnapshot;
import io.lodestone.core.metrics.TrafficSnapshot;

/**
 * The admin endpoint's JSON, written by hand: every string is escaped, so a name or a health
 * check detail cannot break the document.
 *
 * <pre>
 * {"backends":[{"name":"app","usable_servers":2,"current_queue":0,"servers":[{"backend":"app","name":"web1", ...}]}]}
 * {"frontends":[{"name":"web","current_connections":1,"connections_current":1, ...,
 *   "connections_refused":0,"refused_connections":0,"caches":[{"backend":"app","hits":3, ...}]}]}
 * </pre>
 *
 * <p>Keys are the native metric names without {@code lodestone_<level>_} and, but for
 * {@code connections_total}, without {@code _total}: {@code current_connections}
 * ({@code lodestone_<level>_current_connections}), {@code current_queue} (a backend's
 * {@code lodestone_backend_current_queue}: the queue is the backend's, so servers have none),
 * {@code requests} ({@code ..._requests_total}),
 * {@code connections_refused} ({@code lodestone_frontend_connections_refused_total}). Earlier versions wrote
 * {@code connections_current} and {@code refused_connections}; each still follows its new key with the
 * same value, deprecated and kept for the scripts that read it.
 */
final class AdminJson {

    private AdminJson() {
    }

    /** Every backend with its servers, in configuration order. */
    static String servers(MetricsSnapshot snapshot, EngineContext context) {
        StringBuilder sb = new StringBuilder(1024);
        sb.append("{\"backends\":[");
        boolean firstBackend = true;
        for (BackendSnapshot b : snapshot.backends()) {
            if (!firstBackend) {
                sb.append(',');
            }
            firstBackend = false;
            sb.append("{\"name\":");
            string(sb, b.name());
            sb.append(",\"usable_servers\":").append(b.usableServers());
            sb.append(",\"current_queue\":").append(b.traffic().currentQueue()).append(",\"servers\":[");
            BackendRuntime runtime = context.backends().get(b.name());
            boolean firstServer = true;
            for (ServerSnapshot s : b.servers()) {
                ServerRuntime server = runtime == null ? null : runtime.server(s.name());
                if (server == null) {
                    continue;
                }
                if (!firstServer) {
                    sb.append(',');
                }
                firstServer = false;
                server(sb, server, s.status(), s.traffic());
            }
            sb.append("]}");
        }
        return sb.append("]}\n").toString();
    }

    /** Every frontend with its traffic, its refused connections and its response caches, in configuration order. */
    static String frontends(MetricsSnapshot snapshot) {
        StringBuilder sb = new StringBuilder(512);
        sb.append("{\"frontends\":[");
        boolean first = true;
        for (FrontendSnapshot f : snapshot.frontends()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            sb.append("{\"name\":");
            string(sb, f.name());
            sb.append(',');
            traffic(sb, f.traffic());
            sb.append(",\"connections_refused\":").append(f.refusedConnections());
            sb.append(",\"refused_connections\":").append(f.refusedConnections()).append(",\"caches\":[");
            boolean firstCache = true;
            for (CacheSnapshot c : snapshot.caches()) {
                if (!c.frontend().equals(f.name())) {
                    continue;
                }
                if (!firstCache) {
                    sb.append(',');
                }
                firstCache = false;
                cache(sb, c);
            }
            sb.append("]}");
        }
        return sb.append("]}\n").toString();
    }

    private static void cache(StringBuilder sb, CacheSnapshot c) {
        sb.append("{\"backend\":");
        string(sb, c.backend());
        sb.append(",\"hits\":").append(c.hits());
        sb.append(",\"misses\":").append(c.misses());
        sb.append(",\"revalidations\":").append(c.revalidations());
        sb.append(",\"coalesced\":").append(c.coalesced());
        sb.append(",\"bypasses\":").append(c.bypasses());
        sb.append(",\"stores\":").append(c.stores());
        sb.append(",\"evictions\":").append(c.evictions());
        sb.append(",\"entries\":").append(c.entries());
        sb.append(",\"bytes\":").append(c.bytes());
        sb.append(",\"max_bytes\":").append(c.maxBytes());
        sb.append('}');
    }

    /** One server, as a POST answers it. */
    static String server(ServerRuntime server, TrafficSnapshot traffic) {
        StringBuilder sb = new StringBuilder(512);
        server(sb, server, server.status(), traffic);
        return sb.append('\n').toString();
    }

    private static void server(StringBuilder sb, ServerRuntime server, ServerStatus st, TrafficSnapshot t) {
        sb.append("{\"backend\":");
        string(sb, st.backendName());
        sb.append(",\"name\":");
        string(sb, st.serverName());
        sb.append(",\"address\":");
        string(sb, Addresses.format(server.server().address()));
        sb.append(",\"backup\":").append(server.server().isBackup());
        sb.append(",\"state\":");
        string(sb, st.state().name());
        sb.append(",\"weight\":").append(st.weight());
        sb.append(",\"effective_weight\":").append(st.effectiveWeight());
        sb.append(",\"load\":").append(st.load());
        sb.append(",\"ejected\":").append(st.ejected());
        sb.append(",\"ejections\":").append(st.ejections());
        sb.append(",\"check\":");
        HealthCheckResult check = st.lastCheck();
        if (check == null) {
            sb.append("null");
        } else {
            sb.append("{\"healthy\":").append(check.isHealthy()).append(",\"detail\":");
            string(sb, check.detail());
            sb.append('}');
        }
        sb.append(',');
        traffic(sb, t);
        sb.append(",\"retries\":").append(t.retries());
        sb.append(",\"redispatches\":").append(t.redispatches());
        sb.append('}');
    }

    /** The traffic figures common to frontends and servers, without braces around them. */
    private static void traffic(StringBuilder sb, TrafficSnapshot t) {
        sb.append("\"current_connections\":").append(t.currentConnections());
        sb.append(",\"connections_current\":").append(t.currentConnections());
        sb.append(",\"connections_total\":").append(t.totalConnections());
        sb.append(",\"requests\":").append(t.requests());
        sb.append(",\"responses\":{");
        ResponseCounts r = t.responses();
        for (int i = 0; i < ResponseCounts.CLASSES; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append('"').append(ResponseCounts.label(i)).append("\":").append(r.byClass(i));
        }
        ErrorCounts e = t.errors();
        sb.append("},\"bytes_in\":").append(t.bytesIn());
        sb.append(",\"bytes_out\":").append(t.bytesOut());
        sb.append(",\"errors\":{\"connect\":").append(e.connect()).append(",\"timeout\":").append(e.timeout())
                .append(",\"reset\":").append(e.reset()).append(",\"denied\":").append(e.denied())
                .append(",\"invalid\":").append(e.invalid()).append(",\"response\":").append(e.response()).append('}');
    }

    /** Appends {@code s} as a JSON string, escaping quotes, backslashes, control characters and {@code <>&}. */
    static void string(StringBuilder sb, CharSequence s) {
        if (s == null) {
            sb.append("null");
            return;
        }
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x2028 || c == 0x2029 || c == 0x7f) {
                        sb.append("\\u");
                        String hex = Integer.toHexString(c);
                        for (int pad = hex.length(); pad < 4; pad++) {
                            sb.append('0');
                        }
                        sb.append(hex);
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
