package io.lodestone.l7.internal;

import io.lodestone.tls.ClientIdentity;
import io.lodestone.tls.TlsInfo;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import java.util.List;
import java.util.Map;

/**
 * The client-certificate headers of requests forwarded by the HTTP engine: every copy a client sent
 * is removed from every request, before the rules read it, whether or not the frontend forwards the
 * identity (a client must never be able to claim one); a frontend with
 * {@code clientCertificateHeaders(true)} then sets {@code X-Client-Verify: SUCCESS} and the
 * {@link ClientIdentity#toHeaders() identity headers}, or {@code X-Client-Verify: NONE}.
 */
final class ClientCertHeaders {

    private static final AsciiString[] NAMES;
    private static final AsciiString VERIFY = AsciiString.cached(ClientIdentity.HEADER_VERIFY);
    private static final AsciiString SUCCESS = AsciiString.cached("SUCCESS");
    private static final AsciiString NONE = AsciiString.cached("NONE");

    static {
        List<String> names = ClientIdentity.HEADER_NAMES;
        NAMES = new AsciiString[names.size()];
        for (int i = 0; i < NAMES.length; i++) {
            NAMES[i] = AsciiString.cached(names.get(i));
        }
    }

    private ClientCertHeaders() {
    }

    /** Removes every client-certificate header the client sent. */
    static void strip(HttpHeaders h) {
        for (AsciiString name : NAMES) {
            h.remove(name);
        }
    }

    /** Sets the verification result and, when the client presented a verified certificate, its identity. */
    static void set(HttpHeaders h, TlsInfo tls) {
        ClientIdentity id = tls == null ? null : tls.clientIdentity().orElse(null);
        if (id == null) {
            h.set(VERIFY, NONE);
            return;
        }
        h.set(VERIFY, SUCCESS);
        for (Map.Entry<String, String> e : id.toHeaders().entrySet()) {
            h.set(e.getKey(), e.getValue());
        }
    }
}
