package io.lodestone.core;

/**
 * Whether and how the original client address is announced to a server with the PROXY protocol
 * (HAProxy's {@code send-proxy} and {@code send-proxy-v2}).
 */
public enum ProxyProtocol {
    /** Send nothing before the client's bytes. */
    NONE,
    /** The human-readable version 1 header; IPv6 addresses in their RFC 5952 text ({@code ::1}), as HAProxy writes them. */
    V1,
    /** The binary version 2 header. */
    V2
}
