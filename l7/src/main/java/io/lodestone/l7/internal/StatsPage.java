package io.lodestone.l7.internal;

import io.lodestone.core.ServerState;
import io.lodestone.core.ServerStatus;
import io.lodestone.core.health.HealthCheckResult;
import io.lodestone.core.internal.Addresses;
import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.metrics.BackendSnapshot;
import io.lodestone.core.metrics.CacheSnapshot;
import io.lodestone.core.metrics.ErrorCounts;
import io.lodestone.core.metrics.FrontendSnapshot;
import io.lodestone.core.metrics.LatencySnapshot;
import io.lodestone.core.metrics.MetricsSnapshot;
import io.lodestone.core.metrics.ResponseCounts;
import io.lodestone.core.metrics.ServerSnapshot;
import io.lodestone.core.metrics.TrafficSnapshot;
import java.time.Instant;
import java.util.Locale;

/**
 * The stats page, in the spirit of HAProxy's: one table per frontend (with its refused connections
 * and a table of its response caches) and per backend, a row per server coloured by its state, and a
 * total row per backend. Self-contained (inline style, no
 * script, no external resource) and reloading itself with a meta refresh. Every name and detail is
 * HTML-escaped. Rates are per second since the previous page (at least a second earlier).
 */
final class StatsPage {

    /** Row colours by state; the test of the page looks for the UP green. */
    static final String UP_COLOUR = "#80e080";
    static final String DOWN_COLOUR = "#f08080";
    static final String DRAIN_COLOUR = "#80b0ff";
    static final String MAINT_COLOUR = "#c8a0e0";

    private StatsPage() {
    }

    static String render(AdminListener listener, AdminListener.Sample now, AdminListener.Sample before) {
        MetricsSnapshot m = now.snapshot();
        double seconds = before == null ? 0 : (now.nanos() - before.nanos()) / 1e9;
        MetricsSnapshot prev = seconds > 0 ? before.snapshot() : null;
        StringBuilder sb = new StringBuilder(8192);
        sb.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta http-equiv=\"refresh\" content=\"").append(listener.refresh().getSeconds()).append("\">")
                .append("<title>Lodestone statistics</title><style>")
                .append("body{font-family:sans-serif;font-size:12px;margin:16px;color:#222;background:#fff}")
                .append("h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 4px}")
                .append("table{border-collapse:collapse;margin-bottom:8px}")
                .append("th,td{border:1px solid #999;padding:1px 5px;text-align:right;white-space:nowrap}")
                .append("th{background:#34495e;color:#fff;font-weight:normal;text-align:center}")
                .append("td.n{text-align:left;font-weight:bold}")
                .append("tr.total td{background:#d8d8d8;font-weight:bold}tr.frontend td{background:#e8eef5}")
                .append("tr.UP td{background:").append(UP_COLOUR).append("}")
                .append("tr.DOWN td{background:").append(DOWN_COLOUR).append("}")
                .append("tr.DRAIN td{background:").append(DRAIN_COLOUR).append("}")
                .append("tr.MAINT td{background:").append(MAINT_COLOUR).append("}")
                .append(".legend span{display:inline-block;padding:2px 8px;margin-right:6px;border:1px solid #999}")
                .append("p.info{color:#555;margin:0 0 10px}")
                .append("</style></head><body>\n<h1>Lodestone statistics</h1>\n<p class=\"info\">");
        html(sb, Instant.ofEpochMilli(m.timestampMillis()).toString());
        sb.append(" &middot; refreshes every ").append(listener.refresh().getSeconds()).append(" s &middot; ")
                .append(seconds > 0 ? "rates over the last " + format(seconds) + " s" : "rates from the next refresh on")
                .append("</p>\n<p class=\"legend\">")
                .append("<span style=\"background:").append(UP_COLOUR).append("\">UP</span>")
                .append("<span style=\"background:").append(DOWN_COLOUR).append("\">DOWN</span>")
                .append("<span style=\"background:").append(DRAIN_COLOUR).append("\">DRAIN</span>")
                .append("<span style=\"background:").append(MAINT_COLOUR).append("\">MAINT</span></p>\n");
        for (FrontendSnapshot f : m.frontends()) {
            FrontendSnapshot pf = prev == null ? null : prev.frontend(f.name());
            sb.append("<h2>Frontend ");
            html(sb, f.name());
            sb.append("</h2>\n<table class=\"frontend\" id=\"frontend-");
            html(sb, f.name());
            sb.append("\"><tr><th rowspan=\"2\">Name</th>");
            trafficHeaders(sb);
            sb.append("</tr>\n");
            trafficSubHeaders(sb);
            sb.append("<tr class=\"frontend\"><td class=\"n\">");
            html(sb, f.name());
            sb.append("</td>");
            trafficCells(sb, f.traffic(), pf == null ? null : pf.traffic(), seconds);
            sb.append("</tr></table>\n<p class=\"info\">Refused connections (per-source limits): <span class=\"refused\">")
                    .append(f.refusedConnections()).append("</span></p>\n");
            caches(sb, m, f.name());
        }
        for (BackendSnapshot b : m.backends()) {
            BackendSnapshot pb = prev == null ? null : prev.backend(b.name());
            BackendRuntime runtime = listener.context().backends().get(b.name());
            sb.append("<h2>Backend ");
            html(sb, b.name());
            sb.append(" <small>(").append(b.usableServers()).append(" usable of ").append(b.servers().size())
                    .append(")</small></h2>\n<table class=\"backend\" id=\"backend-");
            html(sb, b.name());
            sb.append("\"><tr><th rowspan=\"2\">Server</th><th rowspan=\"2\">Address</th><th rowspan=\"2\">State</th>")
                    .append("<th rowspan=\"2\">Weight</th><th rowspan=\"2\">Load</th><th rowspan=\"2\">Check</th>");
            trafficHeaders(sb);
            sb.append("</tr>\n");
            trafficSubHeaders(sb);
            for (ServerSnapshot s : b.servers()) {
                ServerStatus st = s.status();
                ServerRuntime server = runtime == null ? null : runtime.server(s.name());
                ServerSnapshot ps = pb == null ? null : serverOf(pb, s.name());
                sb.append("<tr class=\"").append(st.state().name()).append("\" data-server=\"");
                html(sb, s.name());
                sb.append("\"><td class=\"n\">");
                html(sb, s.name());
                if (server != null && server.server().isBackup()) {
                    sb.append(" (backup)");
                }
                sb.append("</td><td>");
                html(sb, server == null ? "-" : Addresses.format(server.server().address()));
                sb.append("</td><td class=\"state\">").append(stateLabel(st)).append("</td><td>");
                sb.append(st.effectiveWeight());
                if (st.effectiveWeight() != st.weight()) {
                    sb.append('/').append(st.weight());
                }
                sb.append("</td><td>").append(st.load()).append("</td><td>");
                HealthCheckResult check = st.lastCheck();
                if (check == null) {
                    sb.append("-");
                } else {
                    sb.append(check.isHealthy() ? "L7OK " : "FAIL ");
                    html(sb, check.detail());
                }
                sb.append("</td>");
                trafficCells(sb, s.traffic(), ps == null ? null : ps.traffic(), seconds);
                sb.append("</tr>\n");
            }
            sb.append("<tr class=\"total\"><td class=\"n\">Backend</td><td></td><td>")
                    .append(b.usableServers() > 0 ? "UP" : "DOWN").append("</td><td></td><td></td><td></td>");
            trafficCells(sb, b.traffic(), pb == null ? null : pb.traffic(), seconds);
            sb.append("</tr></table>\n");
        }
        return sb.append("</body></html>\n").toString();
    }

    /** The response caches of one frontend, a row per cached backend; nothing when it has none. */
    private static void caches(StringBuilder sb, MetricsSnapshot m, String frontend) {
        boolean any = false;
        for (CacheSnapshot c : m.caches()) {
            if (!c.frontend().equals(frontend)) {
                continue;
            }
            if (!any) {
                any = true;
                sb.append("<table class=\"cache\" id=\"cache-");
                html(sb, frontend);
                sb.append("\"><tr><th>Cache of backend</th><th>Hits</th><th>Misses</th><th>Hit %</th><th>Revalidated</th>")
                        .append("<th>Coalesced</th><th>Bypasses</th><th>Stores</th><th>Evictions</th><th>Entries</th>")
                        .append("<th>Bytes</th><th>Max bytes</th></tr>\n");
            }
            sb.append("<tr data-backend=\"");
            html(sb, c.backend());
            sb.append("\"><td class=\"n\">");
            html(sb, c.backend());
            sb.append("</td>");
            cell(sb, c.hits());
            cell(sb, c.misses());
            long lookups = c.hits() + c.misses();
            sb.append("<td>").append(lookups == 0 ? "-" : format(100.0 * c.hits() / lookups)).append("</td>");
            cell(sb, c.revalidations());
            cell(sb, c.coalesced());
            cell(sb, c.bypasses());
            cell(sb, c.stores());
            cell(sb, c.evictions());
            cell(sb, c.entries());
            cell(sb, c.bytes());
            cell(sb, c.maxBytes());
            sb.append("</tr>\n");
        }
        if (any) {
            sb.append("</table>\n");
        }
    }

    private static ServerSnapshot serverOf(BackendSnapshot b, String name) {
        for (ServerSnapshot s : b.servers()) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        return null;
    }

    private static String stateLabel(ServerStatus st) {
        if (st.state() == ServerState.DOWN && st.ejected()) {
            return "DOWN (ejected)";
        }
        return st.state().name();
    }

    /** The first header row's traffic groups; {@link #trafficSubHeaders} is the second row. */
    private static void trafficHeaders(StringBuilder sb) {
        sb.append("<th colspan=\"3\">Sessions</th><th colspan=\"2\">Requests</th><th colspan=\"5\">Responses</th>")
                .append("<th colspan=\"2\">Bytes</th><th colspan=\"6\">Errors</th><th colspan=\"2\">Warnings</th>")
                .append("<th colspan=\"2\">Time (ms)</th>");
    }

    private static void trafficSubHeaders(StringBuilder sb) {
        sb.append("<tr><th>Cur</th><th>Total</th><th>Rate</th><th>Total</th><th>Rate</th>")
                .append("<th>1xx</th><th>2xx</th><th>3xx</th><th>4xx</th><th>5xx</th><th>In</th><th>Out</th>")
                .append("<th>Conn</th><th>Timeout</th><th>Reset</th><th>Denied</th><th>Invalid</th><th>Resp</th><th>Retr</th><th>Redis</th>")
                .append("<th>p50</th><th>p99</th></tr>\n");
    }

    private static void trafficCells(StringBuilder sb, TrafficSnapshot t, TrafficSnapshot p, double seconds) {
        ResponseCounts r = t.responses();
        ErrorCounts e = t.errors();
        cell(sb, t.currentConnections());
        cell(sb, t.totalConnections());
        rate(sb, t.totalConnections(), p == null ? -1 : p.totalConnections(), seconds);
        cell(sb, t.requests());
        rate(sb, t.requests(), p == null ? -1 : p.requests(), seconds);
        cell(sb, r.informational());
        cell(sb, r.success());
        cell(sb, r.redirection());
        cell(sb, r.clientError());
        cell(sb, r.serverError());
        cell(sb, t.bytesIn());
        cell(sb, t.bytesOut());
        cell(sb, e.connect());
        cell(sb, e.timeout());
        cell(sb, e.reset());
        cell(sb, e.denied());
        cell(sb, e.invalid());
        cell(sb, e.response());
        cell(sb, t.retries());
        cell(sb, t.redispatches());
        millis(sb, t.totalTime(), t.totalTime().p50Nanos());
        millis(sb, t.totalTime(), t.totalTime().p99Nanos());
    }

    private static void cell(StringBuilder sb, long value) {
        sb.append("<td>").append(value).append("</td>");
    }

    private static void rate(StringBuilder sb, long now, long before, double seconds) {
        sb.append("<td>");
        if (before < 0 || seconds <= 0) {
            sb.append('-');
        } else {
            sb.append(format(Math.max(0, now - before) / seconds));
        }
        sb.append("</td>");
    }

    private static void millis(StringBuilder sb, LatencySnapshot latency, long nanos) {
        sb.append("<td>");
        if (latency.count() == 0) {
            sb.append('-');
        } else {
            sb.append(format(nanos / 1e6));
        }
        sb.append("</td>");
    }

    private static String format(double value) {
        return String.format(Locale.ROOT, "%.1f", value);
    }

    /** Appends {@code s} with {@code & < > " '} escaped. */
    static void html(StringBuilder sb, CharSequence s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
    }
}
