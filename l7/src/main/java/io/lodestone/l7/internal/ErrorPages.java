package io.lodestone.l7.internal;

import io.lodestone.core.route.Decision;
import io.lodestone.l7.ErrorPage;
import io.lodestone.l7.HttpFrontend;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.AsciiString;
import java.util.Map;

/**
 * A frontend's error pages ({@link HttpFrontend#errorPages()}) ready to send: each body is one shared
 * read-only buffer that never goes back to an allocator, of which every answer sends a duplicate (no
 * copy of the bytes, no reference count to keep). Built once per frontend configuration; a frontend
 * without pages has none ({@link #of} returns {@code null}), so its answers are made as before.
 */
final class ErrorPages {

    private static final int FIRST = 400;

    /** One page: its content type and its body. */
    static final class Page {
        final AsciiString contentType;
        private final ByteBuf body;
        final int length;

        Page(ErrorPage page) {
            this.contentType = new AsciiString(page.contentType());
            this.body = Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(page.body()).asReadOnly());
            this.length = page.length();
        }

        /** The body for one answer: a duplicate of the shared buffer with indexes of its own. */
        ByteBuf content() {
            return length == 0 ? Unpooled.EMPTY_BUFFER : body.duplicate();
        }
    }

    /** Pages by status - 400; {@code null} where the status has none. */
    private final Page[] pages = new Page[200];

    private ErrorPages(Map<Integer, ErrorPage> config) {
        for (ErrorPage p : config.values()) {
            pages[p.status() - FIRST] = new Page(p);
        }
    }

    /** The pages of {@code frontend}, or {@code null} when it has none. */
    static ErrorPages of(HttpFrontend frontend) {
        Map<Integer, ErrorPage> config = frontend.errorPages();
        return config.isEmpty() ? null : new ErrorPages(config);
    }

    /**
     * The page that answers {@code deny}: the one of its status when the deny has no body of its own
     * ({@link Decision.Deny#hasDefaultBody()}); {@code null} when the status has none or the rule's
     * own body wins.
     */
    Page forDeny(Decision.Deny deny) {
        Page p = page(deny.status());
        return p != null && deny.hasDefaultBody() ? p : null;
    }

    /** The page for {@code status}, or {@code null}. */
    Page page(int status) {
        int i = status - FIRST;
        return i >= 0 && i < pages.length ? pages[i] : null;
    }
}
