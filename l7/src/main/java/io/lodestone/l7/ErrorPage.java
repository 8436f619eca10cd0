package io.lodestone.l7;

import java.util.Arrays;

/**
 * A page that replaces the body of the proxy's own error responses of one status on an
 * {@link HttpFrontend} (HAProxy's {@code errorfile}, nginx's {@code error_page}); set with
 * {@link HttpFrontend.Builder#errorPage(int, String, byte[])}. Immutable: the body is copied when the
 * page is made and again by {@link #body()}.
 */
public final class ErrorPage {

    private final int status;
    private final String contentType;
    private final byte[] body;

    ErrorPage(int status, String contentType, byte[] body) {
        this.status = status;
        this.contentType = contentType;
        this.body = body;
    }

    /** {@return the status whose answers this page replaces, 400..599} */
    public int status() {
        return status;
    }

    /** {@return the {@code Content-Type} the answers carry} */
    public String contentType() {
        return contentType;
    }

    /** {@return a copy of the body} */
    public byte[] body() {
        return Arrays.copyOf(body, body.length);
    }

    /** {@return the body's length in bytes, the {@code Content-Length} of the answers} */
    public int length() {
        return body.length;
    }

    @Override
    public String toString() {
        return "ErrorPage{" + status + " " + contentType + ", " + body.length + " bytes}";
    }
}
