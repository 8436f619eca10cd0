package io.lodestone.core.metrics;

import io.lodestone.core.ServerState;
import io.lodestone.core.ServerStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * Writes a {@link MetricsSnapshot} in the Prometheus text exposition format, version 0.0.4.
 *
 * <pre>{@code
 * String body = PrometheusFormat.text(proxy.metrics());   // serve with PrometheusFormat.CONTENT_TYPE
 * }</pre>
 *
 * <p>Every name starts with {@code lodestone_frontend_}, {@code lodestone_backend_},
 * {@code lodestone_server_} or {@code lodestone_cache_}, with the labels {@code frontend}, {@code backend},
 * {@code backend} and {@code server}, or {@code frontend} and {@code backend} (a response cache). Counters end in {@code _total}. Latencies are <em>summaries</em> in seconds with
 * the quantiles 0.5, 0.9, 0.99 and 0.999 and their {@code _sum} and {@code _count}: the quantiles are
 * computed in the proxy over its whole life (see {@link LatencySnapshot} for their precision), so
 * they cannot be averaged across instances; {@code rate(_sum) / rate(_count)} gives a mean that can.
 * The full list of names is in the README's Observability section.
 */
public final class PrometheusFormat {

    /** The {@code Content-Type} of the output. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private static final ServerState[] STATES = ServerState.values();

    private PrometheusFormat() {
    }

    /**
     * Returns the snapshot in the text format.
     *
     * @param snapshot the snapshot
     * @return the snapshot in the text format
     */
    public static String text(MetricsSnapshot snapshot) {
        StringBuilder sb = new StringBuilder(8192);
        write(snapshot, sb);
        return sb.toString();
    }

    /**
     * Appends the snapshot in the text format to {@code out}.
     *
     * @param snapshot the snapshot
     * @param out where the text is appended
     */
    public static void write(MetricsSnapshot snapshot, StringBuilder out) {
        List<Labeled> frontends = new ArrayList<>();
        for (FrontendSnapshot f : snapshot.frontends()) {
            frontends.add(new Labeled(label(new StringBuilder(), "frontend", f.name()).toString(), f.traffic(), null, 0,
                    f.refusedConnections()));
        }
        List<Labeled> backends = new ArrayList<>();
        List<Labeled> servers = new ArrayList<>();
        for (BackendSnapshot b : snapshot.backends()) {
            String backendLabel = label(new StringBuilder(), "backend", b.name()).toString();
            backends.add(new Labeled(backendLabel, b.traffic(), null, b.usableServers(), 0));
            for (ServerSnapshot s : b.servers()) {
                StringBuilder l = new StringBuilder(backendLabel).append(',');
                servers.add(new Labeled(label(l, "server", s.name()).toString(), s.traffic(), s.status(), 0, 0));
            }
        }
        traffic(out, "lodestone_frontend_", frontends, false);
        counter(out, "lodestone_frontend_connections_refused_total",
                "Client connections refused by a per-source limit (concurrent or per second) and closed at once.", frontends,
                l -> l.refused);
        traffic(out, "lodestone_backend_", backends, true);
        gauge(out, "lodestone_backend_usable_servers", "Servers that could take a new connection (nbsrv).", backends, l -> l.usable);
        traffic(out, "lodestone_server_", servers, true);
        header(out, "lodestone_server_state", "The server's state: 1 for the current one, 0 for the others.", "gauge");
        for (Labeled l : servers) {
            for (ServerState state : STATES) {
                sample(out, "lodestone_server_state", l.labels, "state", state.name(), l.status.state() == state ? 1 : 0);
            }
        }
        gauge(out, "lodestone_server_weight", "The weight set, configured or changed at run time.", servers, l -> l.status.weight());
        gauge(out, "lodestone_server_effective_weight", "The weight in use now, lower during slow start.", servers, l -> l.status.effectiveWeight());
        gauge(out, "lodestone_server_load", "Open connections (TCP) or requests in flight (HTTP).", servers, l -> l.status.load());
        gauge(out, "lodestone_server_ejected", "1 when outlier detection has ejected the server now, else 0.", servers, l -> l.status.ejected() ? 1 : 0);
        counter(out, "lodestone_server_ejections_total", "Times outlier detection ejected the server.", servers, l -> l.status.ejections());
        header(out, "lodestone_server_check_healthy", "1 when the last health check passed, 0 when it failed; absent before the first.", "gauge");
        for (Labeled l : servers) {
            ServerStatus s = l.status;
            if (s.lastCheck() != null) {
                sample(out, "lodestone_server_check_healthy", l.labels, null, null, s.lastCheck().isHealthy() ? 1 : 0);
            }
        }
        caches(snapshot.caches(), out);
    }

    /** The response caches' families, {@code lodestone_cache_*}, labelled by frontend and backend; none without caches. */
    private static void caches(List<CacheSnapshot> caches, StringBuilder out) {
        if (caches.isEmpty()) {
            return;
        }
        List<String> labels = new ArrayList<>(caches.size());
        for (CacheSnapshot c : caches) {
            StringBuilder l = label(new StringBuilder(), "frontend", c.frontend()).append(',');
            labels.add(label(l, "backend", c.backend()).toString());
        }
        cacheFamily(out, "lodestone_cache_hits_total", "Requests answered from the cache.", "counter", caches, labels, CacheSnapshot::hits);
        cacheFamily(out, "lodestone_cache_misses_total", "Cacheable requests sent to the backend.", "counter", caches, labels, CacheSnapshot::misses);
        cacheFamily(out, "lodestone_cache_revalidations_total", "Stale responses the backend confirmed with 304.", "counter", caches, labels,
                CacheSnapshot::revalidations);
        cacheFamily(out, "lodestone_cache_coalesced_total", "Requests that waited for another request's fill of the same key.", "counter",
                caches, labels, CacheSnapshot::coalesced);
        cacheFamily(out, "lodestone_cache_bypasses_total", "Requests the cache could not answer by rule.", "counter", caches, labels,
                CacheSnapshot::bypasses);
        cacheFamily(out, "lodestone_cache_stores_total", "Responses stored.", "counter", caches, labels, CacheSnapshot::stores);
        cacheFamily(out, "lodestone_cache_evictions_total", "Responses removed to keep the cache within its size.", "counter", caches, labels,
                CacheSnapshot::evictions);
        cacheFamily(out, "lodestone_cache_entries", "Stored responses.", "gauge", caches, labels, CacheSnapshot::entries);
        cacheFamily(out, "lodestone_cache_bytes", "Weight of the stored responses in bytes.", "gauge", caches, labels, CacheSnapshot::bytes);
        cacheFamily(out, "lodestone_cache_max_bytes", "The configured bound on lodestone_cache_bytes.", "gauge", caches, labels,
                CacheSnapshot::maxBytes);
    }

    private static void cacheFamily(StringBuilder out, String name, String help, String type, List<CacheSnapshot> caches,
            List<String> labels, ToLongFunction<CacheSnapshot> value) {
        header(out, name, help, type);
        for (int i = 0; i < caches.size(); i++) {
            sample(out, name, labels.get(i), null, null, value.applyAsLong(caches.get(i)));
        }
    }

    private static void traffic(StringBuilder out, String prefix, List<Labeled> all, boolean serverSide) {
        String side = serverSide ? "server connections" : "client connections";
        gauge(out, prefix + "current_connections", "Open " + side + ".", all, l -> l.traffic.currentConnections());
        counter(out, prefix + "connections_total", (serverSide ? "Server" : "Client") + " connections opened.", all,
                l -> l.traffic.totalConnections());
        counter(out, prefix + "requests_total", "HTTP requests completed.", all, l -> l.traffic.requests());
        String responses = prefix + "responses_total";
        header(out, responses, "HTTP responses by status class.", "counter");
        for (Labeled l : all) {
            for (int c = 0; c < ResponseCounts.CLASSES; c++) {
                sample(out, responses, l.labels, "code", ResponseCounts.label(c), l.traffic.responses().byClass(c));
            }
        }
        counter(out, prefix + "bytes_in_total", "Bytes in the request direction (client to server).", all, l -> l.traffic.bytesIn());
        counter(out, prefix + "bytes_out_total", "Bytes in the response direction (server to client).", all, l -> l.traffic.bytesOut());
        String errors = prefix + "errors_total";
        header(out, errors, "Errors by kind: connect, timeout, reset, denied, invalid, response.", "counter");
        for (Labeled l : all) {
            for (ErrorKind kind : ErrorKind.values()) {
                sample(out, errors, l.labels, "kind", kind.label(), l.traffic.errors().get(kind));
            }
        }
        if (serverSide) {
            counter(out, prefix + "retries_total", "Connection attempts retried on the same server.", all, l -> l.traffic.retries());
            counter(out, prefix + "redispatches_total", "Connections or requests sent to another server after a failure.", all,
                    l -> l.traffic.redispatches());
            gauge(out, prefix + "current_queue", "Connections or requests waiting for a server.", all, l -> l.traffic.currentQueue());
            summary(out, prefix + "connect_time_seconds", "Time to connect to a server.", all, 0);
        }
        summary(out, prefix + "first_byte_time_seconds", "Time from the request to the first byte of the response.", all, 1);
        summary(out, prefix + "total_time_seconds", "Total time of a request (HTTP) or connection (TCP).", all, 2);
    }

    private static void summary(StringBuilder out, String name, String help, List<Labeled> all, int which) {
        header(out, name, help + " Quantiles over the proxy's life.", "summary");
        for (Labeled l : all) {
            LatencySnapshot h = switch (which) {
                case 0 -> l.traffic.connectTime();
                case 1 -> l.traffic.firstByteTime();
                default -> l.traffic.totalTime();
            };
            for (int q = 0; q < LatencySnapshot.QUANTILE_COUNT; q++) {
                out.append(name).append('{').append(l.labels).append(",quantile=\"").append(LatencySnapshot.quantileAt(q)).append("\"} ");
                seconds(out, h.quantile(q));
                out.append('\n');
            }
            out.append(name).append("_sum{").append(l.labels).append("} ");
            seconds(out, h.sumNanos());
            out.append('\n');
            out.append(name).append("_count{").append(l.labels).append("} ").append(h.count()).append('\n');
        }
    }

    private static void counter(StringBuilder out, String name, String help, List<Labeled> all, ToLongFunction<Labeled> value) {
        header(out, name, help, "counter");
        for (Labeled l : all) {
            sample(out, name, l.labels, null, null, value.applyAsLong(l));
        }
    }

    private static void gauge(StringBuilder out, String name, String help, List<Labeled> all, ToLongFunction<Labeled> value) {
        header(out, name, help, "gauge");
        for (Labeled l : all) {
            sample(out, name, l.labels, null, null, value.applyAsLong(l));
        }
    }

    private static void header(StringBuilder out, String name, String help, String type) {
        out.append("# HELP ").append(name).append(' ');
        for (int i = 0; i < help.length(); i++) {
            char c = help.charAt(i);
            if (c == '\\') {
                out.append("\\\\");
            } else if (c == '\n') {
                out.append("\\n");
            } else {
                out.append(c);
            }
        }
        out.append('\n').append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String name, String labels, String extraName, String extraValue, long value) {
        out.append(name).append('{').append(labels);
        if (extraName != null) {
            out.append(',');
            label(out, extraName, extraValue);
        }
        out.append("} ").append(value).append('\n');
    }

    /** Appends {@code name="value"} with the value escaped as the format asks. */
    private static StringBuilder label(StringBuilder out, String name, String value) {
        out.append(name).append("=\"");
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> out.append("\\\\");
                case '"' -> out.append("\\\"");
                case '\n' -> out.append("\\n");
                default -> out.append(c);
            }
        }
        return out.append('"');
    }

    /** Appends nanoseconds as seconds with microsecond digits, exactly: {@code 0.001250}. */
    private static void seconds(StringBuilder out, long nanos) {
        long micros = nanos / 1000;
        long fraction = micros % 1_000_000;
        out.append(micros / 1_000_000).append('.');
        for (long limit = 100_000; limit > 1 && fraction < limit; limit /= 10) {
            out.append('0');
        }
        out.append(fraction);
    }

    /** One frontend, backend or server: its label set (escaped) and its figures. */
    private record Labeled(String labels, TrafficSnapshot traffic, ServerStatus status, int usable, long refused) {
    }
}
