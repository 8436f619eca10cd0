package io.lodestone.core.internal;

import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/** Parses {@code host:port} strings into socket addresses, resolving IP literals at once. */
public final class Addresses {

    private Addresses() {
    }

    /**
     * Parses {@code host:port}, {@code [v6]:port} or {@code :port} (all interfaces).
     *
     * @param field the configuration field, named in the error message
     * @throws IllegalArgumentException naming the field and the value when it does not parse
     */
    public static InetSocketAddress parse(String field, String value) {
        if (value == null) {
            throw new IllegalArgumentException(field + ": null (expected: host:port)");
        }
        String s = value.trim();
        int colon = s.lastIndexOf(':');
        if (colon < 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: host:port)");
        }
        String host = s.substring(0, colon);
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: host:port with a numeric port)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: a port in 0..65535)");
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: [ipv6]:port)");
        }
        if (host.isEmpty() || host.equals("*")) {
            return new InetSocketAddress(port);
        }
        return of(field, value, host, port);
    }

    /** Returns a resolved address for IP literals and an unresolved one for host names. */
    public static InetSocketAddress of(String field, String value, String host, int port) {
        byte[] literal = NetUtil.createByteArrayFromIpAddressString(host);
        if (literal != null) {
            try {
                return new InetSocketAddress(InetAddress.getByAddress(host, literal), port);
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException(field + ": " + value + " (" + e.getMessage() + ")", e);
            }
        }
        if (!isHostName(host)) {
            throw new IllegalArgumentException(field + ": " + value + " (expected: a host name or IP address)");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    private static boolean isHostName(String host) {
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_')) {
                return false;
            }
        }
        return true;
    }

    /** Formats an address as {@code host:port} for logs and messages. */
    public static String format(InetSocketAddress address) {
        String host = address.getHostString();
        if (host.indexOf(':') >= 0) {
            host = "[" + host + "]";
        }
        return host + ":" + address.getPort();
    }
}
