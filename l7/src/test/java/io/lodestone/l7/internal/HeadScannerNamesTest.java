package io.lodestone.l7.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The field names of a scanned head, as its {@link RawHeaders} give them once turned into ordinary
 * headers: reused across connections while their bytes repeat, never confused with a name of other
 * bytes, also when connections on several threads share them.
 */
class HeadScannerNamesTest {

    static HeadScanner scanner() {
        return new HeadScanner(true, 8192, 16384, 100, Long.MAX_VALUE);
    }

    /** The request {@code scanner} reads from {@code head}, which must be one complete, valid head. */
    static HttpRequest scan(HeadScanner scanner, String head) {
        ByteBuf in = Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1);
        try {
            assertThat(scanner.scan(in)).isTrue();
            return scanner.request(DefaultHttpHeadersFactory.headersFactory());
        } finally {
            in.release();
        }
    }

    private static List<CharSequence> names(HttpRequest request) {
        List<CharSequence> names = new ArrayList<>();
        Iterable<Map.Entry<CharSequence, CharSequence>> entries = request.headers()::iteratorCharSequence;
        for (Map.Entry<CharSequence, CharSequence> e : entries) {
            names.add(e.getKey());
        }
        return names;
    }

    @Test
    void twoConnectionsGetTheSameNameInstanceAndCaseIsKept() {
        String head = "GET / HTTP/1.1\r\nHost: a\r\nX-Shared-Name-Test: 1\r\nx-shared-name-test: 2\r\n\r\n";
        List<CharSequence> first = names(scan(scanner(), head));
        List<CharSequence> second = names(scan(scanner(), head));
        assertThat(first).extracting(CharSequence::toString).containsExactly("Host", "X-Shared-Name-Test", "x-shared-name-test");
        assertThat(second.get(1)).isSameAs(first.get(1));
        assertThat(second.get(2)).isSameAs(first.get(2)).isNotSameAs(first.get(1));
    }

    @Test
    void namesStayExactWhenThreadsShareTheTable() throws Exception {
        // more distinct names than the table has slots, so threads keep replacing each other's entries
        int distinct = 3000;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int seed = t;
                results.add(pool.submit(() -> {
                    HeadScanner scanner = scanner();
                    int checked = 0;
                    for (int i = 0; i < 20_000; i++) {
                        String name = "X-N" + ((i * 7 + seed) % distinct);
                        HttpRequest request = scan(scanner, "GET / HTTP/1.1\r\nHost: a\r\n" + name + ": v\r\n\r\n");
                        List<CharSequence> names = names(request);
                        assertThat(names.get(1).toString()).isEqualTo(name);
                        assertThat(request.headers().get(name)).isEqualTo("v");
                        checked++;
                    }
                    return checked;
                }));
            }
            for (Future<Integer> f : results) {
                assertThat(f.get(60, TimeUnit.SECONDS)).isEqualTo(20_000);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
