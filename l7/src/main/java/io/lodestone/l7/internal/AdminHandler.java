package io.lodestone.l7.internal;

import io.lodestone.core.internal.BackendRuntime;
import io.lodestone.core.internal.ServerRuntime;
import io.lodestone.core.metrics.PrometheusFormat;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpContentException;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the admin endpoint's requests: refuses a state change sent from another site's page, checks
 * the token, then serves {@code /metrics}, {@code /stats}, {@code /api/servers} and
 * {@code /api/frontends}, and applies the {@code POST} operations on servers.
 */
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    private static final Logger log = LoggerFactory.getLogger(AdminHandler.class);
    private static final String JSON = "application/json; charset=utf-8";
    private static final String HTML = "text/html; charset=utf-8";
    private static final String SERVERS = "/api/servers";
    private static final AsciiString SEC_FETCH_SITE = AsciiString.cached("sec-fetch-site");

    private final AdminListener listener;
    /** Answers written and not yet sent whole; the next request is read once there is none. */
    private int unsent;

    AdminHandler(AdminListener listener) {
        this.listener = listener;
    }

    /**
     * Auto-read is off: the handler reads the first request, then each next one once the answer
     * before it is sent. A client that sends requests without reading the answers (pipelined, or a
     * stats page it never reads) held no bound before: every request read was answered into the
     * connection's outbound buffer (2,000 pipelined requests for {@code /stats}, 9 MB; the proxy's
     * close waited 2 to 5 s for the loop to get through them).
     */
    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ctx.read();
        ctx.fireChannelActive();
    }

    /** A read that made no whole request for this handler (a part of one, a refused one skipped): reads on. */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (unsent == 0) {
            ctx.read();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        long start = listener.context().clock().nanoTime();
        FullHttpResponse response;
        if (request.decoderResult().cause() instanceof TooLongHttpContentException tooLong) {
            // refused in its turn by the aggregator (AdminListener.InTurnAggregator), which drops its body
            response = text(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, JSON, error(tooLong.getMessage()));
        } else if (request.decoderResult().isFailure()) {
            response = text(HttpResponseStatus.BAD_REQUEST, JSON, error("malformed request"));
            HttpUtil.setKeepAlive(request, false);
        } else if (crossSite(request)) {
            // before the token: a browser holding Basic credentials sends them with another site's form
            response = text(HttpResponseStatus.FORBIDDEN, JSON,
                    error("cross-site request refused (Origin or Sec-Fetch-Site names another site)"));
        } else if (!authorized(request.headers())) {
            response = text(HttpResponseStatus.UNAUTHORIZED, JSON, error("missing or wrong bearer token"));
            response.headers().add(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"lodestone\"");
            response.headers().add(HttpHeaderNames.WWW_AUTHENTICATE, "Basic realm=\"lodestone\", charset=\"UTF-8\"");
        } else {
            try {
                response = route(request);
            } catch (IllegalArgumentException e) {
                // a bad percent-encoding in the path or the query
                response = text(HttpResponseStatus.BAD_REQUEST, JSON, error("malformed request: " + e.getMessage()));
            }
        }
        HttpHeaders h = response.headers();
        h.set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        h.set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        h.set("X-Content-Type-Options", "nosniff");
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        HttpUtil.setKeepAlive(response, keepAlive);
        long elapsed = listener.context().clock().nanoTime() - start;
        // the answer goes out whole: its first byte is its end
        listener.metrics().firstByteTime(elapsed);
        listener.metrics().requestCompleted(response.status().code(), request.content().readableBytes(),
                response.content().readableBytes(), elapsed);
        unsent++;
        if (keepAlive) {
            ctx.writeAndFlush(response).addListener(f -> {
                unsent--;
                if (!f.isSuccess()) {
                    ctx.close();
                } else if (unsent == 0) {
                    ctx.read();
                }
            });
        } else {
            ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * Whether a request that may change state (any method but GET, HEAD and OPTIONS) was sent by a
     * browser for a page of another site: a {@code Sec-Fetch-Site} other than {@code same-origin} or
     * {@code none}, or an {@code Origin} whose host and port are not the request's {@code Host}
     * ({@code Origin: null} included). A request with neither header (curl, scripts) is not.
     */
    private static boolean crossSite(FullHttpRequest request) {
        HttpMethod method = request.method();
        if (method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD) || method.equals(HttpMethod.OPTIONS)) {
            return false;
        }
        HttpHeaders headers = request.headers();
        for (String site : headers.getAll(SEC_FETCH_SITE)) {
            if (!site.equalsIgnoreCase("same-origin") && !site.equalsIgnoreCase("none")) {
                return true;
            }
        }
        String host = headers.get(HttpHeaderNames.HOST);
        for (String origin : headers.getAll(HttpHeaderNames.ORIGIN)) {
            if (!sameAuthority(origin, host)) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code origin} ({@code scheme://host[:port]}) names the authority {@code host}, case aside. */
    private static boolean sameAuthority(String origin, String host) {
        int slashes = origin.indexOf("://");
        if (host == null || slashes <= 0) {
            return false;
        }
        String authority = origin.substring(slashes + 3);
        return !authority.isEmpty() && authority.equalsIgnoreCase(host.trim());
    }

    private boolean authorized(HttpHeaders headers) {
        String auth = headers.get(HttpHeaderNames.AUTHORIZATION);
        if (auth == null) {
            return false;
        }
        byte[] candidate;
        if (auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
            candidate = auth.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        } else if (auth.regionMatches(true, 0, "Basic ", 0, 6)) {
            byte[] decoded;
            try {
                decoded = Base64.getDecoder().decode(auth.substring(6).trim());
            } catch (IllegalArgumentException e) {
                return false;
            }
            int colon = -1;
            for (int i = 0; i < decoded.length; i++) {
                if (decoded[i] == ':') {
                    colon = i;
                    break;
                }
            }
            if (colon < 0) {
                return false;
            }
            candidate = Arrays.copyOfRange(decoded, colon + 1, decoded.length);
        } else {
            return false;
        }
        return listener.acceptsToken(candidate);
    }

    private FullHttpResponse route(FullHttpRequest request) {
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        String path = uri.rawPath();
        HttpMethod method = request.method();
        // HEAD is answered as GET; the server codec sends no body for it
        boolean get = method.equals(HttpMethod.GET) || method.equals(HttpMethod.HEAD);
        switch (path) {
            case "/metrics":
                if (!get) {
                    return notAllowed("GET, HEAD");
                }
                return text(HttpResponseStatus.OK, PrometheusFormat.CONTENT_TYPE,
                        PrometheusFormat.text(listener.context().metrics().snapshot()));
            case "/stats":
            case "/":
                if (!get) {
                    return notAllowed("GET, HEAD");
                }
                AdminListener.Sample[] samples = listener.sample();
                FullHttpResponse page = text(HttpResponseStatus.OK, HTML, StatsPage.render(listener, samples[0], samples[1]));
                page.headers().set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
                return page;
            case SERVERS:
                if (!get) {
                    return notAllowed("GET, HEAD");
                }
                return text(HttpResponseStatus.OK, JSON, AdminJson.servers(listener.context().metrics().snapshot(),
                        listener.context()));
            case "/api/frontends":
                if (!get) {
                    return notAllowed("GET, HEAD");
                }
                return text(HttpResponseStatus.OK, JSON, AdminJson.frontends(listener.context().metrics().snapshot()));
            default:
                if (path.startsWith(SERVERS + "/")) {
                    return serverOperation(request, uri, path.substring(SERVERS.length() + 1));
                }
                return text(HttpResponseStatus.NOT_FOUND, JSON, error("no such resource: " + path));
        }
    }

    /** {@code POST /api/servers/{backend}/{server}/{operation}}. */
    private FullHttpResponse serverOperation(FullHttpRequest request, QueryStringDecoder uri, String rest) {
        String[] parts = rest.split("/", -1);
        if (parts.length != 3) {
            return text(HttpResponseStatus.NOT_FOUND, JSON, error("expected: /api/servers/{backend}/{server}/{operation}"));
        }
        String backendName = QueryStringDecoder.decodeComponent(parts[0]);
        String serverName = QueryStringDecoder.decodeComponent(parts[1]);
        String operation = parts[2];
        if (!operation.equals("drain") && !operation.equals("ready") && !operation.equals("maintain")
                && !operation.equals("weight")) {
            return text(HttpResponseStatus.NOT_FOUND, JSON,
                    error("operation: " + operation + " (expected: drain, ready, maintain or weight)"));
        }
        if (!request.method().equals(HttpMethod.POST)) {
            return notAllowed("POST");
        }
        BackendRuntime backend = listener.context().backends().get(backendName);
        if (backend == null) {
            return text(HttpResponseStatus.NOT_FOUND, JSON, error("backend: " + backendName + " (no such backend)"));
        }
        ServerRuntime server = backend.server(serverName);
        if (server == null || server.isRemoved()) {
            return text(HttpResponseStatus.NOT_FOUND, JSON,
                    error("server: " + serverName + " (no such server in backend " + backendName + ")"));
        }
        switch (operation) {
            case "drain" -> server.drain();
            case "ready" -> server.ready();
            case "maintain" -> server.maintenance();
            default -> {
                List<String> values = weightValues(uri, request);
                int weight = values.size() == 1 ? weight(values.get(0)) : -1;
                if (weight < 0) {
                    return text(HttpResponseStatus.BAD_REQUEST, JSON,
                            error("weight: " + (values.isEmpty() ? "missing" : String.join(", ", values)) + " (expected: one value 0..256)"));
                }
                try {
                    server.weight(weight);
                } catch (IllegalArgumentException e) {
                    return text(HttpResponseStatus.BAD_REQUEST, JSON, error(e.getMessage()));
                }
            }
        }
        log.info("admin: {} on server {}/{}: now {}", operation, backendName, serverName, server.state());
        return text(HttpResponseStatus.OK, JSON, AdminJson.server(server, server.metrics().snapshot()));
    }

    /**
     * Every weight the request gives, from {@code ?value=N}, {@code ?weight=N} and the body ({@code N}
     * or {@code weight=N}, no other key; with {@code Content-Type: application/json}, {@code {"weight": N}} or
     * {@code N}): one is a weight, none or several (which one was meant?) a bad request.
     */
    private static List<String> weightValues(QueryStringDecoder uri, FullHttpRequest request) {
        ByteBuf body = request.content();
        List<String> out = new ArrayList<>(1);
        for (String key : new String[] {"value", "weight"}) {
            List<String> values = uri.parameters().get(key);
            if (values != null) {
                out.addAll(values);
            }
        }
        if (body.isReadable()) {
            String s = body.toString(StandardCharsets.UTF_8).trim();
            if (isJson(request)) {
                out.add(s.startsWith("{") ? jsonWeight(s) : s);
            } else {
                // weight=N or a bare N; another key (foo=5) stays whole, which is then no weight
                out.add(s.startsWith("weight=") ? s.substring("weight=".length()) : s);
            }
        }
        return out;
    }

    private static boolean isJson(FullHttpRequest request) {
        CharSequence type = HttpUtil.getMimeType(request);
        return type != null && AsciiString.contentEqualsIgnoreCase(type, HttpHeaderValues.APPLICATION_JSON);
    }

    /**
     * The number of a JSON object with one member, {@code "weight"}, between JSON whitespace; anything
     * else (other or repeated members, escapes in the name) as it came, which is then no weight.
     */
    private static String jsonWeight(String object) {
        int i = skipWhitespace(object, 1);
        String name = "\"weight\"";
        if (!object.startsWith(name, i)) {
            return object;
        }
        i = skipWhitespace(object, i + name.length());
        if (i >= object.length() || object.charAt(i) != ':') {
            return object;
        }
        int start = skipWhitespace(object, i + 1);
        int end = start;
        while (end < object.length() && object.charAt(end) >= '0' && object.charAt(end) <= '9') {
            end++;
        }
        int close = skipWhitespace(object, end);
        return end > start && close == object.length() - 1 && object.charAt(close) == '}'
                ? object.substring(start, end) : object;
    }

    /** The index of the first character at or after {@code i} that is not JSON whitespace (RFC 8259 2). */
    private static int skipWhitespace(String s, int i) {
        while (i < s.length() && (s.charAt(i) == ' ' || s.charAt(i) == '\t' || s.charAt(i) == '\n' || s.charAt(i) == '\r')) {
            i++;
        }
        return i;
    }

    /** The weight written as 1 to 3 decimal digits, no sign or space, or -1; the range is the server's to check. */
    private static int weight(String value) {
        if (value.isEmpty() || value.length() > 3) {
            return -1;
        }
        int n = 0;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return n;
    }

    private static FullHttpResponse notAllowed(String allow) {
        FullHttpResponse r = text(HttpResponseStatus.METHOD_NOT_ALLOWED, JSON, error("method not allowed (expected: " + allow + ")"));
        r.headers().set(HttpHeaderNames.ALLOW, allow);
        return r;
    }

    private static String error(String message) {
        StringBuilder sb = new StringBuilder("{\"error\":");
        AdminJson.string(sb, message);
        return sb.append("}\n").toString();
    }

    private static FullHttpResponse text(HttpResponseStatus status, String contentType, String body) {
        ByteBuf content = ByteBufUtil.writeUtf8(ByteBufAllocator.DEFAULT, body);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        return r;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            ctx.close();
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (log.isDebugEnabled()) {
            log.debug("admin connection failed: {}", cause.toString());
        }
        ctx.close();
    }
}
