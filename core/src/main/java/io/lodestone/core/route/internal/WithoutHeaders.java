package io.lodestone.core.route.internal;

import io.lodestone.core.route.ClientCertificate;
import io.lodestone.core.route.RequestView;
import java.net.InetAddress;
import java.util.List;
import java.util.function.Predicate;
import java.util.random.RandomGenerator;

/**
 * A request as the rules read it once an engine has removed some of its header fields before them
 * (an HTTP frontend's {@code headersWithUnderscores(DROP_HEADER)}): a field whose name
 * {@code removed} accepts reads as absent, everything else is {@code request}'s. For
 * {@code Proxy.route}, not the engines, which remove the fields from the request itself.
 */
public final class WithoutHeaders implements RequestView {

    private final RequestView request;
    private final Predicate<String> removed;

    public WithoutHeaders(RequestView request, Predicate<String> removed) {
        this.request = request;
        this.removed = removed;
    }

    /** The request with every field. */
    public RequestView request() {
        return request;
    }

    @Override
    public InetAddress sourceAddress() {
        return request.sourceAddress();
    }

    @Override
    public int sourcePort() {
        return request.sourcePort();
    }

    @Override
    public int localPort() {
        return request.localPort();
    }

    @Override
    public String sni() {
        return request.sni();
    }

    @Override
    public String alpn() {
        return request.alpn();
    }

    @Override
    public ClientCertificate clientCertificate() {
        return request.clientCertificate();
    }

    @Override
    public boolean isHttp() {
        return request.isHttp();
    }

    @Override
    public String method() {
        return request.method();
    }

    @Override
    public String path() {
        return request.path();
    }

    @Override
    public String rawPath() {
        return request.rawPath();
    }

    @Override
    public String query() {
        return request.query();
    }

    @Override
    public String host() {
        return request.host();
    }

    @Override
    public String header(String name) {
        return removed.test(name) ? null : request.header(name);
    }

    @Override
    public List<String> headers(String name) {
        return removed.test(name) ? List.of() : request.headers(name);
    }

    @Override
    public String cookie(String name) {
        return removed.test("cookie") ? null : request.cookie(name);
    }

    @Override
    public String queryParam(String name) {
        return request.queryParam(name);
    }

    @Override
    public RandomGenerator random() {
        return request.random();
    }

    @Override
    public String toString() {
        return request.toString();
    }
}
