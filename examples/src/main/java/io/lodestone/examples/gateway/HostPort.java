package io.lodestone.examples.gateway;

import io.lodestone.core.internal.Addresses;
import io.netty.util.NetUtil;
import java.util.Objects;

/**
 * A {@code host:port} pair as given on the command line, checked but not resolved. An empty host
 * means every interface (only meaningful for {@code --listen}).
 *
 * @param host a host name, an IPv4 literal, an IPv6 literal without brackets, or empty
 * @param port the port, 0..65535
 */
public record HostPort(String host, int port) {

    /** Checks the fields. */
    public HostPort {
        Objects.requireNonNull(host, "host");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
        }
    }

    /**
     * Parses {@code host:port}, {@code [v6]:port}, {@code *:port} or {@code :port}; returns
     * {@code null} when {@code value} is none of these.
     */
    static HostPort parse(String value) {
        int colon = value.lastIndexOf(':');
        if (colon < 0) {
            return null;
        }
        String host = value.substring(0, colon);
        int port = parsePort(value.substring(colon + 1));
        if (port < 0) {
            return null;
        }
        if (host.equals("*")) {
            return new HostPort("", port);
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            String v6 = host.substring(1, host.length() - 1);
            return isIpv6(v6) ? new HostPort(v6, port) : null;
        }
        return isHostName(host) ? new HostPort(host, port) : null;
    }

    private static int parsePort(String s) {
        if (s.isEmpty() || s.length() > 5) {
            return -1;
        }
        int port = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            port = port * 10 + (c - '0');
        }
        return port <= 65535 ? port : -1;
    }

    /**
     * A host name or an IPv4 literal. Digits and dots alone are an IPv4 address or nothing: no
     * top-level domain is all digits (RFC 1123), so {@code 300.1.1.1} can never resolve, and taken as
     * a name it would only fail at the first connection. The IPv4 forms are those the JDK reads,
     * {@code 127.1} among them: {@link Addresses#shortIpv4(String)}.
     */
    private static boolean isHostName(String host) {
        boolean numeric = true;
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_')) {
                return false;
            }
            numeric &= c >= '0' && c <= '9' || c == '.';
        }
        return !numeric || host.isEmpty() || Addresses.shortIpv4(host) != null;
    }

    /** A whole IPv6 literal ({@code ::1}, {@code 2001:db8::5}, {@code ::ffff:10.0.0.1}), as the proxy reads it; no zone. */
    private static boolean isIpv6(String host) {
        return host.indexOf(':') >= 0 && host.indexOf('%') < 0 && NetUtil.isValidIpV6Address(host);
    }

    /** Whether the host is empty: every interface. */
    public boolean anyHost() {
        return host.isEmpty();
    }

    /** {@code host:port}, with brackets around an IPv6 host and {@code *} for every interface. */
    @Override
    public String toString() {
        String h = host.isEmpty() ? "*" : host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return h + ":" + port;
    }
}
