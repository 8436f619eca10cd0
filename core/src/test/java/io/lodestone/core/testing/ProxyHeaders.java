package io.lodestone.core.testing;

import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;

/**
 * PROXY protocol headers written by hand, byte by byte, as a load balancer sends them at the start of
 * a connection: version 1 (a text line) and version 2 (binary, with optional TLVs), for tests of
 * frontends that accept the protocol.
 *
 * <pre>{@code
 * socket.getOutputStream().write(ProxyHeaders.v1("192.0.2.10", 40000, "198.51.100.1", 443));
 * }</pre>
 */
public final class ProxyHeaders {

    /** The twelve bytes every version 2 header starts with. */
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private ProxyHeaders() {
    }

    /** A version 1 line, {@code PROXY TCP4 src dst sport dport\r\n} (TCP6 for IPv6 addresses). */
    public static byte[] v1(String source, int sourcePort, String destination, int destinationPort) {
        String family = source.contains(":") ? "TCP6" : "TCP4";
        return ascii("PROXY " + family + " " + source + " " + destination + " " + sourcePort + " " + destinationPort + "\r\n");
    }

    /** The version 1 line of an unknown family, {@code PROXY UNKNOWN\r\n}: the connection's own addresses stand. */
    public static byte[] v1Unknown() {
        return ascii("PROXY UNKNOWN\r\n");
    }

    /**
     * A version 2 {@code PROXY} header for TCP over IPv4 or IPv6 (by the addresses), followed by
     * {@code tlvs} (type, length and value, written as given).
     */
    public static byte[] v2(String source, int sourcePort, String destination, int destinationPort, byte[]... tlvs) {
        byte[] src = address(source);
        byte[] dst = address(destination);
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(src);
        body.writeBytes(dst);
        short16(body, sourcePort);
        short16(body, destinationPort);
        for (byte[] tlv : tlvs) {
            body.writeBytes(tlv);
        }
        // 0x11: TCP over IPv4, 0x21: TCP over IPv6
        return v2Header(0x21, src.length == 4 ? 0x11 : 0x21, body.toByteArray());
    }

    /** A version 2 {@code LOCAL} header (a load balancer's own health check): no addresses. */
    public static byte[] v2Local() {
        return v2Header(0x20, 0x00, new byte[0]);
    }

    /** A TLV of a version 2 header: its type, its length on two bytes, its value. */
    public static byte[] tlv(int type, String value) {
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(type);
        short16(out, v.length);
        out.writeBytes(v);
        return out.toByteArray();
    }

    private static byte[] v2Header(int versionAndCommand, int family, byte[] body) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(V2_SIGNATURE);
        out.write(versionAndCommand);
        out.write(family);
        short16(out, body.length);
        out.writeBytes(body);
        return out.toByteArray();
    }

    private static void short16(ByteArrayOutputStream out, int value) {
        out.write(value >>> 8 & 0xff);
        out.write(value & 0xff);
    }

    private static byte[] address(String literal) {
        try {
            return InetAddress.getByName(literal).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }

    /** The bytes of {@code s} in US-ASCII. */
    public static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** {@code first} followed by {@code second}: a header and what the client sends after it, in one write. */
    public static byte[] concat(byte[] first, byte[] second) {
        byte[] out = new byte[first.length + second.length];
        System.arraycopy(first, 0, out, 0, first.length);
        System.arraycopy(second, 0, out, first.length, second.length);
        return out;
    }
}
