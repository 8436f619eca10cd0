package io.lodestone.l7.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import org.junit.jupiter.api.Test;

/** The header rules of the response cache, in memory. */
class CachePolicyTest {

    private static CachePolicy.Directives cc(String... values) {
        HttpHeaders h = new DefaultHttpHeaders();
        for (String v : values) {
            h.add("Cache-Control", v);
        }
        return CachePolicy.Directives.of(h);
    }

    @Test
    void directivesParseAcrossValuesCaseAndQuotes() {
        CachePolicy.Directives d = cc("Public, MAX-AGE=60", "s-maxage=\"120\" , must-revalidate");
        assertThat(d.isPublic).isTrue();
        assertThat(d.maxAge).isEqualTo(60);
        assertThat(d.sMaxAge).isEqualTo(120);
        assertThat(d.mustRevalidate).isTrue();
        assertThat(d.noStore).isFalse();
        CachePolicy.Directives q = cc("private=\"set-cookie, x-a\", no-cache=\"x\", no-store");
        assertThat(q.isPrivate).isTrue();
        assertThat(q.noCache).isTrue();
        assertThat(q.noStore).isTrue();
        assertThat(cc("max-age=abc").maxAge).as("an invalid delta is stale at once").isZero();
        assertThat(cc("max-age=99999999999999").maxAge).isEqualTo(Integer.MAX_VALUE);
        assertThat(cc("").maxAge).isEqualTo(-1);
        // a directive given twice counts by its first value (RFC 9111 4.2.1), across lines too
        CachePolicy.Directives twice = cc("max-age=0, s-maxage=5", "max-age=3600, s-maxage=600, min-fresh=1, min-fresh=9");
        assertThat(twice.maxAge).isZero();
        assertThat(twice.sMaxAge).isEqualTo(5);
        assertThat(twice.minFresh).isEqualTo(1);
    }

    @Test
    void requestDirectivesParse() {
        CachePolicy.Directives d = cc("max-stale, Min-Fresh=5", "only-if-cached");
        assertThat(d.maxStale).isEqualTo(CachePolicy.Directives.ANY_STALENESS);
        assertThat(d.minFresh).isEqualTo(5);
        assertThat(d.onlyIfCached).isTrue();
        assertThat(cc("max-stale=\"30\"").maxStale).isEqualTo(30);
        CachePolicy.Directives none = cc("max-age=3");
        assertThat(none.maxStale).isEqualTo(-1);
        assertThat(none.minFresh).isEqualTo(-1);
        assertThat(none.onlyIfCached).isFalse();
    }

    @Test
    void lifetimePrefersSMaxAgeThenMaxAgeThenExpiresThenTheHeuristic() {
        HttpHeaders h = new DefaultHttpHeaders().add("Expires", CachePolicy.formatDate(1_000_000_000_000L + 30_000));
        long date = 1_000_000_000_000L;
        assertThat(CachePolicy.lifetimeMillis(200, cc("s-maxage=5, max-age=10"), h, date)).isEqualTo(5000);
        assertThat(CachePolicy.lifetimeMillis(200, cc("max-age=10"), h, date)).isEqualTo(10_000);
        assertThat(CachePolicy.lifetimeMillis(200, cc(), h, date)).isEqualTo(30_000);
        HttpHeaders bad = new DefaultHttpHeaders().add("Expires", "0");
        assertThat(CachePolicy.lifetimeMillis(200, cc(), bad, date)).isZero();
        HttpHeaders lm = new DefaultHttpHeaders().add("Last-Modified", CachePolicy.formatDate(date - 100_000_000));
        assertThat(CachePolicy.lifetimeMillis(200, cc(), lm, date)).isEqualTo(10_000_000);
        assertThat(CachePolicy.lifetimeMillis(200, cc(), new DefaultHttpHeaders(), date)).isEqualTo(-1);
        // the heuristic only for a heuristically cacheable status or a public response (RFC 9111 4.2.2)
        assertThat(CachePolicy.lifetimeMillis(302, cc(), lm, date)).isEqualTo(-1);
        assertThat(CachePolicy.lifetimeMillis(302, cc("public"), lm, date)).isEqualTo(10_000_000);
        assertThat(CachePolicy.lifetimeMillis(302, cc("max-age=10"), lm, date)).isEqualTo(10_000);
    }

    @Test
    void conditionalRequestsCompareEntityTagsWeaklyAndDates() {
        assertThat(CachePolicy.notModified("\"a\"", null, "\"a\"", Long.MIN_VALUE)).isTrue();
        assertThat(CachePolicy.notModified("W/\"a\"", null, "\"a\"", Long.MIN_VALUE)).isTrue();
        assertThat(CachePolicy.notModified("\"x\", W/\"a\"", null, "W/\"a\"", Long.MIN_VALUE)).isTrue();
        assertThat(CachePolicy.notModified("*", null, "\"a\"", Long.MIN_VALUE)).isTrue();
        assertThat(CachePolicy.notModified("\"b\"", null, "\"a\"", Long.MIN_VALUE)).isFalse();
        assertThat(CachePolicy.notModified("\"a\"", null, null, 0)).isFalse();
        long lm = 1_000_000_000_000L;
        assertThat(CachePolicy.notModified(null, CachePolicy.formatDate(lm), null, lm)).isTrue();
        assertThat(CachePolicy.notModified(null, CachePolicy.formatDate(lm - 1000), null, lm)).isFalse();
        assertThat(CachePolicy.notModified(null, "not a date", null, lm)).isFalse();
    }

    @Test
    void cacheableStatusesByDefault() {
        assertThat(CachePolicy.isHeuristicallyCacheable(200)).isTrue();
        assertThat(CachePolicy.isHeuristicallyCacheable(404)).isTrue();
        assertThat(CachePolicy.isHeuristicallyCacheable(206)).isFalse();
        assertThat(CachePolicy.isHeuristicallyCacheable(302)).isFalse();
        assertThat(CachePolicy.isHeuristicallyCacheable(500)).isFalse();
    }

    @Test
    void understoodStatusesAreTheRegisteredOnesAboutTheResource() {
        for (int code : new int[] {200, 203, 204, 301, 302, 303, 307, 308, 403, 404, 410, 451, 500, 502, 503, 504}) {
            assertThat(CachePolicy.isUnderstoodStatus(code)).as("%d", code).isTrue();
        }
        for (int code : new int[] {100, 101, 103, 206, 299, 304, 306, 407, 412, 418, 429, 431, 499, 511, 599}) {
            assertThat(CachePolicy.isUnderstoodStatus(code)).as("%d", code).isFalse();
        }
        // every heuristically cacheable status is understood
        for (int code = 100; code < 600; code++) {
            if (CachePolicy.isHeuristicallyCacheable(code)) {
                assertThat(CachePolicy.isUnderstoodStatus(code)).as("%d", code).isTrue();
            }
        }
    }
}
