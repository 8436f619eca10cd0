package io.lodestone.examples.staticcache;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.examples.MainRunner;
import io.lodestone.examples.RawGet;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

class StaticCacheTest {

    private static HttpResponse<String> get(HttpClient client, String url, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theSlowOriginIsAskedOncePerFileAndTheRestAreHits() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (StaticCache g = StaticCache.start(0, null)) {
            HttpResponse<String> first = get(client, g.url() + "/index.html");
            assertThat(first.statusCode()).isEqualTo(200);
            assertThat(first.headers().firstValue("x-cache")).hasValue("MISS");
            assertThat(first.body()).isEqualTo(StaticCache.FILES.get("/index.html"));
            for (int i = 0; i < 9; i++) {
                long start = System.nanoTime();
                HttpResponse<String> again = get(client, g.url() + "/index.html");
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertThat(again.headers().firstValue("x-cache")).hasValue("HIT");
                assertThat(again.body()).isEqualTo(first.body());
                assertThat(again.headers().firstValue("etag")).isEqualTo(first.headers().firstValue("etag"));
                assertThat(millis).as("a hit does not wait for the origin").isLessThan(StaticCache.ORIGIN_DELAY_MILLIS);
            }
            // a browser revalidating its own copy gets 304 from the gateway, without the origin
            String etag = first.headers().firstValue("etag").orElseThrow();
            assertThat(get(client, g.url() + "/index.html", "If-None-Match", etag).statusCode()).isEqualTo(304);
            assertThat(get(client, g.url() + "/missing").statusCode()).isEqualTo(404);
            // the stored copy, compressed for a client that accepts gzip
            HttpResponse<byte[]> gzip = client.send(HttpRequest.newBuilder(URI.create(g.url() + "/index.html"))
                    .header("Accept-Encoding", "gzip").build(), HttpResponse.BodyHandlers.ofByteArray());
            assertThat(gzip.headers().firstValue("content-encoding")).hasValue("gzip");
            assertThat(gzip.headers().firstValue("x-cache")).hasValue("HIT");
            try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gzip.body()))) {
                assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(first.body());
            }
            assertThat(gzip.body().length).isLessThan(first.body().length());
            assertThat(g.origin().requests()).isEqualTo(2);
            assertThat(g.hitRatio()).isEqualTo(11.0 / 13);
            assertThat(g.summary()).contains("11 hits, 2 misses").contains("hit ratio 84.6%");
        }
    }

    @Test
    void runsFromTheExamplesJarCommandLineAndPrintsItsHitRatio() throws Exception {
        try (MainRunner r = MainRunner.start("run", StaticCache.NAME, "--port", "0")) {
            int port = r.awaitPort("static-cache: a gateway on ");
            assertThat(RawGet.get(port, "localhost", "/site.css").body()).isEqualTo(StaticCache.FILES.get("/site.css"));
            assertThat(RawGet.get(port, "localhost", "/site.css").header("x-cache")).isEqualTo("HIT");
            assertThat(r.awaitOut("hit ratio 50.0%")).contains("1 hits, 1 misses");
            assertThat(r.stop()).isZero();
        }
    }
}
