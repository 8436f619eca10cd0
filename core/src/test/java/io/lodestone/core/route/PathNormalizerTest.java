package io.lodestone.core.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.lodestone.core.route.internal.HttpParts;
import io.lodestone.core.route.internal.PathNormalizer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class PathNormalizerTest {

    @ParameterizedTest(name = "{0} reads as /admin")
    @ValueSource(strings = {
        "/admin", "//admin", "///admin", "/./admin", "/x/../admin", "/x/y/../../admin", "/../admin", "/../../admin",
        "/%61dmin", "/%61%64%6d%69%6e", "/%2561dmin", "/%25%36%31dmin", "/admin;x=1", "/admin;", "/;x/admin",
        "/%2e/admin", "/%2E%2E/admin", "/x/%2e%2e/admin", "/x%2F..%2Fadmin", "%2Fadmin", "/x/..%2fadmin",
        "\\admin", "/x\\..\\admin", "/%5cadmin", "admin", "/.;/admin", "/x;y/../admin", "/./././admin",
        "/%252e/admin", "/x/%252e%252e/admin"
    })
    void everySpellingOfAdminNormalisesToAdmin(String raw) {
        assertThat(PathNormalizer.normalize(raw)).isEqualTo("/admin");
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
        "/admin/, /admin/",
        "/admin/., /admin/",
        "/admin/x/.., /admin/",
        "/admin//, /admin/",
        "/, /",
        "'', /",
        "/.., /",
        "/a/b/c, /a/b/c",
        "/ADMIN, /ADMIN",
        "/a%20b, /a b",
        "/100%25, /100%",
        "/bad%zz, /bad%zz",
        "/bad%4, /bad%4",
        "/caf%C3%A9, /café",
        "/..., /...",
        "/.well-known/x, /.well-known/x",
        "*, *",
    })
    void normalisesPaths(String raw, String expected) {
        assertThat(PathNormalizer.normalize(raw)).isEqualTo(expected);
    }

    @Test
    void cleanPathsAreReturnedWithoutCopying() {
        String raw = "/api/v1/users/42";
        assertThat(PathNormalizer.normalize(raw)).isSameAs(raw);
    }

    /** A dot segment as a lenient server reads it, in the path of a request target only. */
    @Test
    void findsDotSegmentsUnderEveryEncodingInThePathOnly() {
        for (String t : new String[] {"/a/../b", "/./a", "/a/.", "/a/..", "/a/%2e%2e/b", "/a/%2E/b", "/a/..;/b",
            "/a/..%2fb", "/a/..%5cb", "/a\\..\\b", "/a/%252e%252e/b", "http://h/a/../b?x", "/a/.;x=1/b"}) {
            assertThat(PathNormalizer.hasDotSegment(t)).as(t).isTrue();
        }
        for (String t : new String[] {"/", "/a..b/.c/c.", "/a/...", "/x?y=/../z", "/x#/../z", "*", "h:443",
            "http://a.b/c", "/%2e%2e%2e", "/a;..", "/api/v1"}) {
            assertThat(PathNormalizer.hasDotSegment(t)).as(t).isFalse();
        }
    }

    @Test
    void encodeEscapesWhatAPathCannotCarry() {
        assertThat(PathNormalizer.encode("/a/b")).isEqualTo("/a/b");
        assertThat(PathNormalizer.encode("/a b?c#d%")).isEqualTo("/a%20b%3Fc%23d%25");
        assertThat(PathNormalizer.encode("/café")).isEqualTo("/caf%C3%A9");
        assertThat(PathNormalizer.normalize(PathNormalizer.encode("/a b/%/é"))).isEqualTo("/a b/%/é");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "/a?b=c, /a, b=c",
        "/a, /a, ",
        "/a?, /a, ''",
        "/a#frag, /a, ",
        "/a?x=1#frag, /a, x=1",
        "http://h.example/p/q?z=1, /p/q, z=1",
        "http://h.example, /, ",
        "https://h.example?z, /, z",
    })
    void splitsRequestTargets(String target, String path, String query) {
        assertThat(HttpParts.rawPath(target)).isEqualTo(path);
        assertThat(HttpParts.query(target)).isEqualTo(query);
    }

    @Test
    void parsesHostsCookiesAndQueryParameters() {
        assertThat(HttpParts.host("Example.COM:8080")).isEqualTo("example.com");
        assertThat(HttpParts.host("example.com.")).isEqualTo("example.com");
        assertThat(HttpParts.host("[::1]:8443")).isEqualTo("[::1]");
        assertThat(HttpParts.host(null)).isNull();
        assertThat(HttpParts.cookie("a=1; session=\"xyz\" ; b=2", "session")).isEqualTo("xyz");
        assertThat(HttpParts.cookie("a=1;b=2", "b")).isEqualTo("2");
        assertThat(HttpParts.cookie("ab=1", "a")).isNull();
        assertThat(HttpParts.queryParam("a=1&b=x+y%21&c", "b")).isEqualTo("x y!");
        assertThat(HttpParts.queryParam("a=1&b=2&c", "c")).isEqualTo("");
        assertThat(HttpParts.queryParam("a=1&b=2", "d")).isNull();
        assertThat(HttpParts.queryParam("us%65r=bob", "user")).isEqualTo("bob");
        assertThat(HttpParts.queryParam("aa=1&a=2", "a")).isEqualTo("2");
    }
}
