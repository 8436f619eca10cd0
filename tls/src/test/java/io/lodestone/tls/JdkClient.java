package io.lodestone.tls;

import io.netty.pkitesting.X509Bundle;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/** Connects to 127.0.0.1 with the JDK's SSLSocket. */
final class JdkClient {

    private JdkClient() {
    }

    static SSLContext context(X509Bundle trustedCa, X509Bundle clientCert) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        KeyManagerFactory kmf = clientCert == null ? null : clientCert.toKeyManagerFactory();
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), trustedCa.toTrustManagerFactory().getTrustManagers(), null);
        return ctx;
    }

    /** Opens a socket limited to {@code protocol} and completes the handshake; the caller closes it. */
    static SSLSocket connectWithProtocol(SSLContext ctx, int port, String sni, String protocol) throws IOException {
        return open(ctx, port, sni, new String[] {protocol});
    }

    /** Opens a socket and completes the handshake; the caller closes it. */
    static SSLSocket connect(SSLContext ctx, int port, String sni, String... alpn) throws IOException {
        return open(ctx, port, sni, null, alpn);
    }

    private static SSLSocket open(SSLContext ctx, int port, String sni, String[] protocols, String... alpn)
            throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
        if (protocols != null) {
            s.setEnabledProtocols(protocols);
        }
        s.setSoTimeout(10_000);
        SSLParameters p = s.getSSLParameters();
        if (sni != null) {
            p.setServerNames(List.of(new SNIHostName(sni)));
        }
        if (alpn.length > 0) {
            p.setApplicationProtocols(alpn);
        }
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    static X509Certificate peer(SSLSocket s) throws IOException {
        return (X509Certificate) s.getSession().getPeerCertificates()[0];
    }

    /** Writes {@code text} and reads the echo. */
    static String echo(SSLSocket s, String text) throws IOException {
        byte[] out = text.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        s.getOutputStream().write(out);
        s.getOutputStream().flush();
        byte[] in = s.getInputStream().readNBytes(out.length);
        return new String(in, java.nio.charset.StandardCharsets.US_ASCII);
    }
}
